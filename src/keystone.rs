//! Keystone v3 authentication, the service catalog and endpoint discovery.
//!
//! A session holds one token per client (shared by all clones): it authenticates lazily,
//! reuses the token until shortly before it expires, and re-authenticates once, whatever the
//! number of tasks that saw a `401`. Endpoints come from the token's catalog (or the
//! configured overrides) and are resolved once per session; the Image endpoint's version is
//! discovered with one `GET` when the catalog gives it unversioned.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{Mutex, OnceCell};
use url::Url;

use crate::client::{
    Req, ServiceType, Settings, api_error, decode_bytes, parse_error_body, read_body_capped,
    transport_error,
};
use crate::clouds::{AuthType, CloudConfig};
use crate::error::{Error, Result};
use crate::secret::Secret;

/// Longest time before expiry at which a token is replaced.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// The HTTP client for a cloud: rustls with the ring provider, the platform's roots plus
/// `cacert`, an optional client certificate, and no verification when `verify` is false.
pub(crate) fn http_client(
    cloud: &CloudConfig,
    connect_timeout: Duration,
) -> Result<reqwest::Client> {
    let tls = tls_config(cloud)?;
    reqwest::Client::builder()
        .user_agent(concat!("openstack-images/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(connect_timeout)
        .pool_idle_timeout(Duration::from_secs(60))
        .tcp_nodelay(true)
        .tls_backend_preconfigured(tls)
        .build()
        .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))
}

fn tls_config(cloud: &CloudConfig) -> Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls_err = |what: &str, e: &dyn std::fmt::Display| Error::Config(format!("TLS {what}: {e}"));
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err("versions", &e))?;
    let builder = if cloud.verify {
        let extra = match &cloud.cacert {
            Some(path) => read_certs(path)?,
            None => Vec::new(),
        };
        let verifier = if extra.is_empty() {
            rustls_platform_verifier::Verifier::new(provider)
        } else {
            rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider)
        }
        .map_err(|e| tls_err("verifier", &e))?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
    } else {
        tracing::warn!(
            cloud = cloud.cloud_name.as_deref().unwrap_or("(unnamed)"),
            "TLS certificate verification is disabled (verify: false / OS_INSECURE)"
        );
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerifier(provider)))
    };
    let mut config = match &cloud.cert {
        Some(cert) => {
            let certs = read_certs(cert)?;
            let key = read_key(cloud.key.as_deref().unwrap_or(cert))?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| tls_err("client certificate", &e))?
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

fn read_certs(path: &std::path::Path) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Config(format!("{}: bad PEM certificate: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(Error::Config(format!(
            "{}: no PEM certificate found",
            path.display()
        )));
    }
    Ok(certs)
}

fn read_key(path: &std::path::Path) -> Result<rustls::pki_types::PrivateKeyDer<'static>> {
    use rustls::pki_types::{PrivateKeyDer, pem::PemObject};
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
    // The error names the file only: a key must never end up in a message.
    PrivateKeyDer::from_pem_slice(&bytes)
        .map_err(|_| Error::Config(format!("{}: no PEM private key found", path.display())))
}

/// Accepts any server certificate (but still checks handshake signatures), for `verify: false`.
#[derive(Debug)]
struct NoVerifier(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerifier {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Keystone's v3 root (ending with `/`): `auth_url` as given when it names v3, otherwise with
/// `v3/` appended (a `v2.0` suffix is replaced).
pub(crate) fn auth_url_v3(auth_url: &str) -> Result<Url> {
    let mut url = Url::parse(auth_url.trim())
        .map_err(|e| Error::Config(format!("auth_url `{auth_url}` is not a URL: {e}")))?;
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
    expires_at: Option<String>,
    #[serde(default)]
    issued_at: Option<String>,
    #[serde(default)]
    catalog: Option<Vec<CatalogService>>,
    #[serde(default)]
    project: Option<IdRef>,
    #[serde(default)]
    user: Option<IdRef>,
}

#[derive(Debug, Deserialize)]
struct IdRef {
    id: String,
}

#[derive(Debug, Deserialize)]
struct TokenBody {
    token: TokenInfo,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CatalogService {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    endpoints: Vec<CatalogEndpoint>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CatalogEndpoint {
    interface: String,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    region_id: Option<String>,
    url: String,
}

/// Picks a service's endpoint URL from a catalog by interface and (optional) region.
pub(crate) fn select_endpoint(
    catalog: &[CatalogService],
    service: &str,
    interface: &str,
    region: Option<&str>,
) -> Result<String> {
    let services: Vec<&CatalogService> = catalog.iter().filter(|s| s.kind == service).collect();
    if services.is_empty() {
        let mut types: Vec<&str> = catalog.iter().map(|s| s.kind.as_str()).collect();
        types.sort_unstable();
        types.dedup();
        return Err(Error::Config(format!(
            "the service catalog has no `{service}` service (services: {})",
            if types.is_empty() {
                "none".into()
            } else {
                types.join(", ")
            }
        )));
    }
    let endpoints = || services.iter().flat_map(|s| s.endpoints.iter());
    let in_region = |e: &CatalogEndpoint| match region {
        None => true,
        Some(r) => e.region.as_deref() == Some(r) || e.region_id.as_deref() == Some(r),
    };
    if let Some(e) = endpoints().find(|e| e.interface == interface && in_region(e)) {
        return Ok(e.url.clone());
    }
    let available: Vec<String> = endpoints()
        .map(|e| {
            format!(
                "{}/{}",
                e.region_id
                    .as_deref()
                    .or(e.region.as_deref())
                    .unwrap_or("(no region)"),
                e.interface
            )
        })
        .collect();
    Err(Error::Config(match region {
        Some(r) => format!(
            "no `{service}` endpoint with interface `{interface}` in region `{r}` (available: {})",
            available.join(", ")
        ),
        None => format!(
            "no `{service}` endpoint with interface `{interface}` (available: {})",
            available.join(", ")
        ),
    }))
}

/// A URL whose path ends with `/`, so relative paths join below it.
fn with_slash(mut url: Url) -> Url {
    if !url.path().ends_with('/') {
        let p = format!("{}/", url.path());
        url.set_path(&p);
    }
    url
}

fn is_version_segment(seg: &str, major: &str) -> bool {
    seg.strip_prefix('v').is_some_and(|rest| {
        rest == major
            || rest
                .strip_prefix(major)
                .and_then(|r| r.strip_prefix('.'))
                .is_some_and(|minor| !minor.is_empty() && minor.chars().all(|c| c.is_ascii_digit()))
    })
}

fn last_segment(url: &Url) -> &str {
    url.path()
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("")
}

/// The Compute base: the URL itself when a path segment is a version (`/v2.1`,
/// `/v2.1/<project>`), else with `v2.1/` appended.
pub(crate) fn compute_base(url: Url) -> Url {
    let versioned = url
        .path_segments()
        .is_some_and(|mut segs| segs.any(|s| is_version_segment(s, "2")));
    let url = with_slash(url);
    if versioned {
        url
    } else {
        url.join("v2.1/").expect("a relative path joins")
    }
}

/// Picks the Image API v2 from a version document: true when the document lists a v2
/// (CURRENT, or any SUPPORTED/other status), false when it lists versions but no v2.
pub(crate) fn versions_offer_v2(doc: &Value) -> Option<bool> {
    let list = match doc.get("versions") {
        Some(Value::Array(l)) => l,
        Some(Value::Object(o)) => match o.get("values") {
            Some(Value::Array(l)) => l,
            _ => return None,
        },
        _ => return None,
    };
    Some(list.iter().any(|v| {
        let id = v.get("id").and_then(Value::as_str).unwrap_or("");
        let status = v
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_uppercase();
        is_version_segment(id, "2") && status != "DEPRECATED" && status != "DELETED"
    }))
}

struct Token {
    value: Secret,
    refresh_at: Option<SystemTime>,
    stale: bool,
    info: Arc<TokenInfo>,
}

impl Token {
    fn usable(&self, now: SystemTime) -> bool {
        !self.stale && self.refresh_at.is_none_or(|r| now < r)
    }
}

/// When to replace a token: 60 s before it expires, or a tenth of its lifetime before for
/// short-lived tokens.
fn refresh_time(
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

/// Parses Keystone's ISO 8601 times (`2026-11-23T12:57:41.000000Z`, or with `+hh:mm`).
pub(crate) fn parse_time(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    let (date, rest) = s.split_once('T')?;
    let mut d = date.splitn(3, '-');
    let (y, m, day): (i64, i64, i64) = (
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
    );
    let (time, offset) = if let Some(t) = rest.strip_suffix('Z').or_else(|| rest.strip_suffix('z'))
    {
        (t, 0i64)
    } else if let Some(pos) = rest.rfind(['+', '-']) {
        let (t, off) = rest.split_at(pos);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let (oh, om) = off[1..].split_once(':').unwrap_or((&off[1..], "0"));
        (
            t,
            sign * (oh.parse::<i64>().ok()? * 3600 + om.parse::<i64>().ok()? * 60),
        )
    } else {
        (rest, 0)
    };
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.splitn(3, ':');
    let (h, mi, sec): (i64, i64, i64) = (
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
    );
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset;
    let nanos: u32 = if frac.is_empty() {
        0
    } else {
        let digits: String = frac.chars().take(9).collect();
        format!("{digits:0<9}").parse().ok()?
    };
    let secs = u64::try_from(secs).ok()?;
    Some(UNIX_EPOCH + Duration::new(secs, nanos))
}

/// The authentication session shared by all clones of a client.
pub(crate) struct Session {
    http: reqwest::Client,
    cloud: CloudConfig,
    auth_url: Option<Url>,
    /// The current token; the lock is held across an authentication so that only one
    /// happens at a time.
    state: Mutex<Option<Token>>,
    image: OnceCell<Url>,
    compute: OnceCell<Url>,
    auth_count: AtomicU64,
    /// Retries, timeout and body cap, as for every other request.
    settings: Settings,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("cloud", &self.cloud.cloud_name)
            .field("auth_type", &self.cloud.auth_type)
            .field("auth_url", &self.auth_url.as_ref().map(Url::as_str))
            .field("image", &self.image.get().map(Url::as_str))
            .field("compute", &self.compute.get().map(Url::as_str))
            .finish_non_exhaustive()
    }
}

impl Session {
    pub(crate) fn new(
        http: reqwest::Client,
        cloud: CloudConfig,
        settings: Settings,
    ) -> Result<Self> {
        cloud.validate()?;
        let auth_url = match cloud.auth_type {
            AuthType::None => None,
            _ => Some(auth_url_v3(cloud.auth_url.as_deref().unwrap_or_default())?),
        };
        Ok(Session {
            http,
            cloud,
            auth_url,
            state: Mutex::new(None),
            image: OnceCell::new(),
            compute: OnceCell::new(),
            auth_count: AtomicU64::new(0),
            settings,
        })
    }

    /// A valid token (authenticating first if needed); `None` for `auth_type: none`.
    pub(crate) async fn token(&self) -> Result<Option<Secret>> {
        Ok(self.current().await?.map(|(t, _)| t))
    }

    /// The token and its body, authenticating first if needed.
    async fn current(&self) -> Result<Option<(Secret, Arc<TokenInfo>)>> {
        let Some(auth_url) = &self.auth_url else {
            return Ok(None);
        };
        let mut state = self.state.lock().await;
        if let Some(t) = state.as_ref().filter(|t| t.usable(SystemTime::now())) {
            return Ok(Some((t.value.clone(), t.info.clone())));
        }
        let token = self.authenticate(auth_url).await?;
        let out = (token.value.clone(), token.info.clone());
        *state = Some(token);
        Ok(Some(out))
    }

    /// Called after a 401 with the token that was rejected: the next `token()` re-authenticates
    /// (once, however many tasks saw the 401).
    pub(crate) async fn invalidate(&self, rejected: &Secret) {
        let mut state = self.state.lock().await;
        if let Some(t) = state.as_mut().filter(|t| &t.value == rejected) {
            tracing::debug!("token rejected; the next request re-authenticates");
            t.stale = true;
        }
    }

    /// How many authentication requests this session has sent.
    pub(crate) fn auth_count(&self) -> u64 {
        self.auth_count.load(Ordering::Relaxed)
    }

    /// Authenticates, retrying what may pass (connection failures, 429, 502-504) like any
    /// idempotent request: a token request has no side effect a repeat could double.
    async fn authenticate(&self, auth_url: &Url) -> Result<Token> {
        let policy = &self.settings.retry;
        let mut attempt = 0;
        loop {
            match self.authenticate_once(auth_url).await {
                Err(e) if e.is_retryable() && attempt < policy.max_retries => {
                    attempt += 1;
                    let retry_after = match &e {
                        Error::Api(a) => a.retry_after,
                        _ => None,
                    };
                    let delay = policy.delay(attempt, retry_after);
                    tracing::warn!(attempt, delay_ms = delay.as_millis() as u64, error = %e, "retrying authentication");
                    tokio::time::sleep(delay).await;
                }
                other => return other,
            }
        }
    }

    async fn authenticate_once(&self, auth_url: &Url) -> Result<Token> {
        let url = auth_url
            .join("auth/tokens")
            .map_err(|e| Error::Config(format!("auth_url: {e}")))?;
        let body = serde_json::to_vec(&auth_body(&self.cloud)?)
            .map_err(|e| Error::Config(format!("cannot encode the auth request: {e}")))?;
        self.auth_count.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(url = %url, auth_type = self.cloud.auth_type.as_str(), "authenticating");
        let method = Method::POST;
        let resp = self
            .http
            .post(url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .body(body)
            .timeout(self.settings.timeout)
            .send()
            .await
            .map_err(|e| transport_error(&method, &url, e))?;
        let status = resp.status();
        if status.is_client_error() {
            let bytes = resp.bytes().await.unwrap_or_default();
            let (_, message) = parse_error_body(&bytes);
            tracing::debug!(url = %url, status = status.as_u16(), "authentication refused");
            return Err(Error::Auth {
                message: if message.is_empty() {
                    status.to_string()
                } else {
                    message
                },
                status: Some(status.as_u16()),
            });
        }
        if !status.is_success() {
            return Err(api_error(&method, &url, resp).await);
        }
        let value = resp
            .headers()
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .map(Secret::new)
            .ok_or_else(|| Error::Protocol("Keystone answered without X-Subject-Token".into()))?;
        let bytes = read_body_capped(&method, resp, self.settings.max_json_bytes).await?;
        let body: TokenBody = decode_bytes(&method, &url, &bytes)?;
        let now = SystemTime::now();
        let expires = body.token.expires_at.as_deref().and_then(parse_time);
        let issued = body.token.issued_at.as_deref().and_then(parse_time);
        tracing::debug!(
            status = status.as_u16(),
            expires_at = body.token.expires_at.as_deref().unwrap_or("?"),
            "authenticated"
        );
        Ok(Token {
            value,
            refresh_at: refresh_time(expires, issued, now),
            stale: false,
            info: Arc::new(body.token),
        })
    }

    /// The versioned base URL of a service, ending with `/`.
    pub(crate) async fn endpoint(&self, service: ServiceType) -> Result<Url> {
        let cell = match service {
            ServiceType::Image => &self.image,
            ServiceType::Compute => &self.compute,
        };
        cell.get_or_try_init(|| self.resolve(service))
            .await
            .cloned()
    }

    async fn resolve(&self, service: ServiceType) -> Result<Url> {
        let configured = match service {
            ServiceType::Image => self.cloud.image_endpoint_override.clone().or_else(|| {
                (self.cloud.auth_type == AuthType::None)
                    .then(|| self.cloud.endpoint.clone())
                    .flatten()
            }),
            ServiceType::Compute => self.cloud.compute_endpoint_override.clone(),
        };
        let raw = match configured {
            Some(u) => u,
            None => {
                let Some((_, info)) = self.current().await? else {
                    return Err(Error::Config(format!(
                        "no {} endpoint: auth_type none needs {}_endpoint_override",
                        service.as_str(),
                        service.as_str()
                    )));
                };
                let catalog = info.catalog.as_deref().ok_or_else(|| {
                    Error::Config(
                        "the token has no service catalog (is the authentication scoped to a project?)"
                            .into(),
                    )
                })?;
                select_endpoint(
                    catalog,
                    service.as_str(),
                    self.cloud.interface.as_str(),
                    self.cloud.region_name.as_deref(),
                )?
            }
        };
        let url = Url::parse(&raw).map_err(|e| {
            Error::Config(format!(
                "{} endpoint `{raw}` is not a URL: {e}",
                service.as_str()
            ))
        })?;
        let base = match service {
            ServiceType::Image => self.discover_image(url).await?,
            ServiceType::Compute => compute_base(url),
        };
        tracing::debug!(service = service.as_str(), endpoint = %base, "endpoint");
        Ok(base)
    }

    /// The Image API v2 base below an endpoint: used directly when it ends with `/v2`,
    /// otherwise confirmed with one `GET` of the version document and built as
    /// `<endpoint>/v2/` (the document's own links may name an internal host).
    async fn discover_image(&self, url: Url) -> Result<Url> {
        let last = last_segment(&url);
        if is_version_segment(last, "2") {
            return Ok(with_slash(url));
        }
        if is_version_segment(last, "1") {
            return Err(Error::Config(format!(
                "image endpoint {url} is the v1 API; only v2 is supported"
            )));
        }
        let root = with_slash(url);
        let v2 = root.join("v2/").expect("a relative path joins");
        let method = Method::GET;
        let resp = self
            .http
            .get(root.clone())
            .header(ACCEPT, "application/json")
            .timeout(self.settings.timeout)
            .send()
            .await
            .map_err(|e| transport_error(&method, &root, e))?;
        let status = resp.status();
        if !(status.is_success() || status == StatusCode::MULTIPLE_CHOICES) {
            tracing::debug!(url = %root, status = status.as_u16(), "no image version document; assuming v2");
            return Ok(v2);
        }
        let bytes = read_body_capped(&method, resp, self.settings.max_json_bytes).await?;
        match serde_json::from_slice::<Value>(&bytes)
            .ok()
            .as_ref()
            .and_then(versions_offer_v2)
        {
            Some(true) => Ok(v2),
            Some(false) => Err(Error::Config(format!(
                "image endpoint {root} offers no v2 API"
            ))),
            None => {
                tracing::debug!(url = %root, "unreadable image version document; assuming v2");
                Ok(v2)
            }
        }
    }
}

impl crate::Client {
    /// Authenticates now, if the client holds no valid token yet (requests do this on their
    /// own; this is for reporting credential problems early). A no-op for `auth_type: none`.
    ///
    /// ```no_run
    /// # async fn run() -> openstack_images::Result<()> {
    /// let client = openstack_images::Client::from_env()?;
    /// client.authenticate().await?;
    /// # Ok(()) }
    /// ```
    pub async fn authenticate(&self) -> Result<()> {
        self.inner.session.current().await.map(|_| ())
    }

    /// The id of the project the token is scoped to (`None` without a project scope or
    /// without authentication).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// if let Some(project) = client.project_id().await? {
    ///     println!("working in project {project}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn project_id(&self) -> Result<Option<String>> {
        Ok(self
            .inner
            .session
            .current()
            .await?
            .and_then(|(_, info)| info.project.as_ref().map(|p| p.id.clone())))
    }

    /// The id of the authenticated user (`None` for `auth_type: none`).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// println!("{:?}", client.user_id().await?);
    /// # Ok(()) }
    /// ```
    pub async fn user_id(&self) -> Result<Option<String>> {
        Ok(self
            .inner
            .session
            .current()
            .await?
            .and_then(|(_, info)| info.user.as_ref().map(|u| u.id.clone())))
    }

    /// How many authentication requests this client (and its clones) has sent. For tests.
    #[doc(hidden)]
    pub fn auth_count(&self) -> u64 {
        self.inner.session.auth_count()
    }

    /// Revokes the client's current token at Keystone without telling the session, so that
    /// the next request meets a `401`. Exists for tests of the re-authentication path.
    #[doc(hidden)]
    pub async fn revoke_token_unnoticed(&self) -> Result<()> {
        let session = &self.inner.session;
        let (Some(auth_url), Some((token, _))) = (&session.auth_url, session.current().await?)
        else {
            return Ok(());
        };
        let url = auth_url
            .join("auth/tokens")
            .map_err(|e| Error::Config(format!("auth_url: {e}")))?;
        let mut value = reqwest::header::HeaderValue::from_str(token.expose())
            .map_err(|_| Error::Protocol("token has invalid characters".into()))?;
        value.set_sensitive(true);
        let method = Method::DELETE;
        let resp = session
            .http
            .delete(url.clone())
            .header("X-Auth-Token", value.clone())
            .header("X-Subject-Token", value)
            .send()
            .await
            .map_err(|e| transport_error(&method, &url, e))?;
        if !resp.status().is_success() {
            return Err(api_error(&method, &url, resp).await);
        }
        Ok(())
    }

    /// GETs a path below a service's endpoint through the full pipeline and returns the JSON.
    /// Exists for tests that need a request before the typed APIs cover it.
    #[doc(hidden)]
    pub async fn raw_get_json(&self, service: ServiceType, path: &str) -> Result<Value> {
        self.send_json(Req::new(service, Method::GET, path)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn catalog() -> Vec<CatalogService> {
        serde_json::from_value(json!([
            {"type": "identity", "endpoints": []},
            {"type": "image", "endpoints": [
                {"interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": "http://img-pub"},
                {"interface": "internal", "region": "RegionOne", "region_id": "RegionOne", "url": "http://img-int"},
                {"interface": "public", "region": "RegionTwo", "region_id": "RegionTwo", "url": "http://img-two"}
            ]}
        ]))
        .unwrap()
    }

    #[test]
    fn endpoint_selection() {
        let c = catalog();
        assert_eq!(
            select_endpoint(&c, "image", "public", None).unwrap(),
            "http://img-pub"
        );
        assert_eq!(
            select_endpoint(&c, "image", "internal", Some("RegionOne")).unwrap(),
            "http://img-int"
        );
        assert_eq!(
            select_endpoint(&c, "image", "public", Some("RegionTwo")).unwrap(),
            "http://img-two"
        );
        let e = select_endpoint(&c, "image", "public", Some("Nowhere"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("region `Nowhere`") && e.contains("RegionOne/public"),
            "{e}"
        );
        let e = select_endpoint(&c, "compute", "public", None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no `compute` service") && e.contains("identity, image"),
            "{e}"
        );
    }

    #[test]
    fn compute_bases() {
        let b = |s: &str| compute_base(Url::parse(s).unwrap()).to_string();
        assert_eq!(b("http://n:8774/v2.1"), "http://n:8774/v2.1/");
        assert_eq!(b("http://n:8774/v2.1/abc123"), "http://n:8774/v2.1/abc123/");
        assert_eq!(b("http://n:8774/v2/abc123"), "http://n:8774/v2/abc123/");
        assert_eq!(b("https://h/compute"), "https://h/compute/v2.1/");
        assert_eq!(b("http://n:8774"), "http://n:8774/v2.1/");
    }

    #[test]
    fn version_documents() {
        let glance = json!({"versions": [
            {"id": "v2.17", "status": "CURRENT", "links": [{"rel": "self", "href": "http://x/v2/"}]},
            {"id": "v2.0", "status": "SUPPORTED", "links": []}
        ]});
        assert_eq!(versions_offer_v2(&glance), Some(true));
        assert_eq!(
            versions_offer_v2(&json!({"versions": [{"id": "v1.1", "status": "CURRENT"}]})),
            Some(false)
        );
        assert_eq!(
            versions_offer_v2(
                &json!({"versions": {"values": [{"id": "v2.1", "status": "stable"}]}})
            ),
            Some(true)
        );
        assert_eq!(versions_offer_v2(&json!({"message": "hi"})), None);
        assert!(is_version_segment("v2", "2") && is_version_segment("v2.1", "2"));
        assert!(!is_version_segment("v21", "2") && !is_version_segment("v2.", "2"));
    }

    #[test]
    fn times_and_refresh() {
        let t = parse_time("2026-11-23T12:57:41.000000Z").unwrap();
        assert_eq!(
            t.duration_since(UNIX_EPOCH).unwrap().as_secs(),
            1_795_438_661
        );
        assert_eq!(parse_time("2026-11-23T13:57:41+01:00"), Some(t));
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(UNIX_EPOCH));
        assert!(parse_time("yesterday").is_none());
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
