//! Keystone v3 tokens: the request body for each kind of credential, the parts of the
//! token body the client uses, and when a token is replaced.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use super::catalog::CatalogService;
use crate::clouds::{AuthType, CloudConfig};
use crate::error::{Error, Result};
use crate::secret::Secret;

/// Longest time before expiry at which a token is replaced.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// Keystone's v3 root (ending with `/`): `auth_url` as given when it names v3, otherwise with
/// `v3/` appended (a `v2.0` suffix is replaced).
pub(crate) fn auth_url_v3(auth_url: &str) -> Result<Url> {
    let mut url = super::catalog::http_url(auth_url, "auth_url")?;
    let path = url.path().trim_end_matches('/').to_owned();
    let last = path.rsplit('/').next().unwrap_or("");
    let new_path = if last == "v3" || last.starts_with("v3.") {
        format!("{path}/")
    } else if last == "v2.0" {
        format!("{}/v3/", &path[..path.len() - last.len() - 1])
    } else {
        format!("{path}/v3/")
    };
    url.set_path(&new_path);
    url.set_query(None);
    Ok(url)
}

fn name_or_id(name: &Option<String>, id: &Option<String>) -> Option<Value> {
    match (id, name) {
        (Some(id), _) => Some(json!({ "id": id })),
        (None, Some(name)) => Some(json!({ "name": name })),
        (None, None) => None,
    }
}

/// The user object of a password or application-credential request.
fn user_object(
    c: &CloudConfig,
    user_domain: Option<Value>,
) -> Result<serde_json::Map<String, Value>> {
    let mut user = serde_json::Map::new();
    if let Some(id) = &c.user_id {
        user.insert("id".into(), json!(id));
    } else if let Some(name) = &c.username {
        user.insert("name".into(), json!(name));
        let domain = user_domain.ok_or_else(|| {
            Error::Config(format!(
                "user_domain_name (or user_domain_id) is missing for user `{name}` of cloud `{}`",
                c.cloud_name.as_deref().unwrap_or("(unnamed)")
            ))
        })?;
        user.insert("domain".into(), domain);
    } else {
        return Err(Error::Config("username or user_id is missing".into()));
    }
    Ok(user)
}

/// The JSON body of `POST /v3/auth/tokens` for a cloud. It holds credentials: never log it.
pub(crate) fn auth_body(c: &CloudConfig) -> Result<Value> {
    // openstacksdk: with a project scope, `domain_*` is the default user/project domain.
    let project_scoped = c.project_id.is_some() || c.project_name.is_some();
    let fallback_domain = name_or_id(&c.domain_name, &c.domain_id);
    let user_domain = name_or_id(&c.user_domain_name, &c.user_domain_id).or_else(|| {
        if project_scoped || c.auth_type == AuthType::ApplicationCredential {
            fallback_domain.clone()
        } else {
            None
        }
    });
    let identity = match c.auth_type {
        AuthType::Password => {
            let mut user = user_object(c, user_domain)?;
            let password = c
                .password
                .as_ref()
                .ok_or_else(|| Error::Config("password is missing".into()))?;
            user.insert("password".into(), json!(password.expose()));
            json!({ "methods": ["password"], "password": { "user": user } })
        }
        AuthType::Token => {
            let token = c
                .token
                .as_ref()
                .ok_or_else(|| Error::Config("token is missing".into()))?;
            json!({ "methods": ["token"], "token": { "id": token.expose() } })
        }
        AuthType::ApplicationCredential => {
            let secret = c
                .application_credential_secret
                .as_ref()
                .ok_or_else(|| Error::Config("application_credential_secret is missing".into()))?;
            let mut cred = serde_json::Map::new();
            if let Some(id) = &c.application_credential_id {
                cred.insert("id".into(), json!(id));
            } else if let Some(name) = &c.application_credential_name {
                cred.insert("name".into(), json!(name));
                cred.insert("user".into(), Value::Object(user_object(c, user_domain)?));
            } else {
                return Err(Error::Config(
                    "application_credential_id (or _name) is missing".into(),
                ));
            }
            cred.insert("secret".into(), json!(secret.expose()));
            // An application credential carries its own scope: Keystone refuses another.
            return Ok(json!({ "auth": { "identity": {
                "methods": ["application_credential"],
                "application_credential": cred,
            } } }));
        }
        AuthType::None => {
            return Err(Error::Config("auth_type none does not authenticate".into()));
        }
    };
    let scope = if project_scoped {
        let mut project = serde_json::Map::new();
        if let Some(id) = &c.project_id {
            project.insert("id".into(), json!(id));
        } else if let Some(name) = &c.project_name {
            project.insert("name".into(), json!(name));
            let domain = name_or_id(&c.project_domain_name, &c.project_domain_id)
                .or(fallback_domain)
                .ok_or_else(|| {
                    Error::Config(format!(
                        "project_domain_name (or project_domain_id) is missing for project `{name}` of cloud `{}`",
                        c.cloud_name.as_deref().unwrap_or("(unnamed)")
                    ))
                })?;
            project.insert("domain".into(), domain);
        }
        Some(json!({ "project": project }))
    } else if let Some(domain) = fallback_domain {
        Some(json!({ "domain": domain }))
    } else {
        c.system_scope.as_ref().map(|s| {
            if s == "all" {
                json!({ "system": { "all": true } })
            } else {
                json!({ "system": { s.as_str(): true } })
            }
        })
    };
    let mut auth = json!({ "identity": identity });
    if let Some(scope) = scope {
        auth["scope"] = scope;
    }
    Ok(json!({ "auth": auth }))
}

/// The parts of a token body the client uses.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenInfo {
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub issued_at: Option<String>,
    #[serde(default)]
    pub catalog: Option<Vec<CatalogService>>,
    #[serde(default)]
    pub project: Option<IdRef>,
    #[serde(default)]
    pub user: Option<IdRef>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct IdRef {
    pub id: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct TokenBody {
    pub token: TokenInfo,
}

/// A token and what the session knows of it.
pub(crate) struct Token {
    pub value: Secret,
    pub refresh_at: Option<SystemTime>,
    /// Set when a server refused it: the next request authenticates again.
    pub stale: bool,
    pub info: Arc<TokenInfo>,
}

impl Token {
    pub(crate) fn usable(&self, now: SystemTime) -> bool {
        !self.stale && self.refresh_at.is_none_or(|r| now < r)
    }
}

/// A token as Keystone described it in its body (just now, or when it was cached).
pub(crate) fn token_from_body(value: Secret, body: TokenBody, now: SystemTime) -> Token {
    let time = |t: &Option<String>| t.as_deref().and_then(crate::timestamp::parse_rfc3339);
    Token {
        refresh_at: refresh_time(
            time(&body.token.expires_at),
            time(&body.token.issued_at),
            now,
        ),
        value,
        stale: false,
        info: Arc::new(body.token),
    }
}

/// When to replace a token: 60 s before it expires, or a tenth of its lifetime before for
/// short-lived tokens.
pub(crate) fn refresh_time(
    expires: Option<SystemTime>,
    issued: Option<SystemTime>,
    now: SystemTime,
) -> Option<SystemTime> {
    let expires = expires?;
    let lifetime = expires
        .duration_since(issued.unwrap_or(now))
        .unwrap_or(Duration::ZERO);
    Some(expires - REFRESH_MARGIN.min(lifetime / 10))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn pw() -> CloudConfig {
        CloudConfig::password("http://k:5000", "alice", "pw", "demo")
            .user_domain_name("Default")
            .project_domain_name("Default")
    }

    #[test]
    fn password_project_by_name() {
        assert_eq!(
            auth_body(&pw()).unwrap(),
            json!({"auth": {
                "identity": {"methods": ["password"], "password": {"user": {
                    "name": "alice", "domain": {"name": "Default"}, "password": "pw"}}},
                "scope": {"project": {"name": "demo", "domain": {"name": "Default"}}}
            }})
        );
    }

    #[test]
    fn password_ids_and_project_id() {
        let c = pw().user_id("u1").project_id("p1");
        assert_eq!(
            auth_body(&c).unwrap(),
            json!({"auth": {
                "identity": {"methods": ["password"], "password": {"user": {"id": "u1", "password": "pw"}}},
                "scope": {"project": {"id": "p1"}}
            }})
        );
    }

    #[test]
    fn domain_name_is_default_domain_with_project_scope() {
        let mut c = CloudConfig::password("http://k", "alice", "pw", "demo");
        c.domain_id = Some("default".into());
        let body = auth_body(&c).unwrap();
        assert_eq!(
            body["auth"]["identity"]["password"]["user"]["domain"],
            json!({"id": "default"})
        );
        assert_eq!(
            body["auth"]["scope"],
            json!({"project": {"name": "demo", "domain": {"id": "default"}}})
        );
    }

    #[test]
    fn domain_and_system_scope_and_unscoped() {
        let mut c = pw();
        c.project_name = None;
        c.domain_name = Some("Default".into());
        assert_eq!(
            auth_body(&c).unwrap()["auth"]["scope"],
            json!({"domain": {"name": "Default"}})
        );
        c.domain_name = None;
        c.system_scope = Some("all".into());
        assert_eq!(
            auth_body(&c).unwrap()["auth"]["scope"],
            json!({"system": {"all": true}})
        );
        c.system_scope = None;
        assert!(auth_body(&c).unwrap()["auth"].get("scope").is_none());
    }

    #[test]
    fn missing_user_domain_is_a_config_error() {
        let c =
            CloudConfig::password("http://k", "alice", "pw", "demo").project_domain_id("default");
        let e = auth_body(&c).unwrap_err().to_string();
        assert!(e.contains("user_domain_name"), "{e}");
    }

    #[test]
    fn token_method() {
        let c = CloudConfig::token("http://k", "tok").project_id("p");
        assert_eq!(
            auth_body(&c).unwrap(),
            json!({"auth": {"identity": {"methods": ["token"], "token": {"id": "tok"}},
                            "scope": {"project": {"id": "p"}}}})
        );
    }

    #[test]
    fn application_credential_by_id_and_by_name() {
        let c =
            CloudConfig::application_credential("http://k", "ac1", "sec").project_name("ignored");
        assert_eq!(
            auth_body(&c).unwrap(),
            json!({"auth": {"identity": {"methods": ["application_credential"],
                "application_credential": {"id": "ac1", "secret": "sec"}}}})
        );
        let mut c = CloudConfig::application_credential("http://k", "x", "sec");
        c.application_credential_id = None;
        c.application_credential_name = Some("mycred".into());
        c.username = Some("alice".into());
        c.user_domain_name = Some("Default".into());
        assert_eq!(
            auth_body(&c).unwrap(),
            json!({"auth": {"identity": {"methods": ["application_credential"],
                "application_credential": {"name": "mycred",
                    "user": {"name": "alice", "domain": {"name": "Default"}}, "secret": "sec"}}}})
        );
    }

    #[test]
    fn auth_urls_get_v3() {
        for (given, want) in [
            ("http://k:5000", "http://k:5000/v3/"),
            ("http://k:5000/", "http://k:5000/v3/"),
            ("http://k:5000/v3", "http://k:5000/v3/"),
            ("https://h/identity/v3/", "https://h/identity/v3/"),
            ("https://h/identity", "https://h/identity/v3/"),
            ("https://h/identity/v2.0", "https://h/identity/v3/"),
        ] {
            assert_eq!(auth_url_v3(given).unwrap().as_str(), want, "{given}");
        }
        assert_eq!(
            auth_url_v3("http://k:5000/v3")
                .unwrap()
                .join("auth/tokens")
                .unwrap()
                .as_str(),
            "http://k:5000/v3/auth/tokens"
        );
    }

    #[test]
    fn times_and_refresh() {
        let t = crate::timestamp::parse_rfc3339("2026-11-23T12:57:41.000000Z").unwrap();
        assert_eq!(
            t.duration_since(UNIX_EPOCH).unwrap().as_secs(),
            1_795_438_661
        );
        assert_eq!(
            crate::timestamp::parse_rfc3339("2026-11-23T13:57:41+01:00"),
            Some(t)
        );
        assert_eq!(
            crate::timestamp::parse_rfc3339("1970-01-01T00:00:00Z"),
            Some(UNIX_EPOCH)
        );
        assert!(crate::timestamp::parse_rfc3339("yesterday").is_none());
        let issued = UNIX_EPOCH + Duration::from_secs(1000);
        let hour = issued + Duration::from_secs(3600);
        assert_eq!(
            refresh_time(Some(hour), Some(issued), issued),
            Some(hour - Duration::from_secs(60))
        );
        let short = issued + Duration::from_secs(100);
        assert_eq!(
            refresh_time(Some(short), Some(issued), issued),
            Some(short - Duration::from_secs(10))
        );
        assert_eq!(refresh_time(None, None, issued), None);
    }
}
