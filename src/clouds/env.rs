//! A cloud from `OS_*` variables, or the one `OS_CLOUD` names.

use super::*;

impl CloudConfig {
    /// Loads the cloud named by `OS_CLOUD` from clouds.yaml, or builds one from `OS_*`
    /// variables, as the `openstack` CLI does:
    ///
    /// 1. `OS_CLOUD` set: that cloud of the first clouds.yaml found (secure.yaml merged),
    ///    with the other `OS_*` variables of [`CloudConfig::from_env_vars`] over it, as
    ///    `openstack` applies them (its `--os-*` options default to them, and options win over
    ///    clouds.yaml): `OS_CLOUD=prod OS_PASSWORD=... osimg ...` uses that password.
    /// 2. Otherwise, `OS_AUTH_URL`, `OS_TOKEN`, `OS_AUTH_TYPE` or `OS_ENDPOINT` set: the
    ///    `OS_*` variables ([`CloudConfig::from_env_vars`]).
    /// 3. Otherwise, a clouds.yaml that holds exactly one cloud: that cloud.
    ///
    /// ```no_run
    /// let cloud = openstack_images::CloudConfig::from_env()?;
    /// # Ok::<(), openstack_images::Error>(())
    /// ```
    pub fn from_env() -> Result<Self> {
        Self::from_env_with(std::env::vars(), &SearchPath::standard())
    }

    /// [`CloudConfig::from_env`] with explicit variables and search path (for tests and for
    /// programs that keep their own environment).
    ///
    /// ```
    /// use openstack_images::{CloudConfig, SearchPath};
    /// let vars = [("OS_AUTH_URL", "http://k:5000"), ("OS_TOKEN", "t"), ("OS_AUTH_TYPE", "token")];
    /// let c = CloudConfig::from_env_with(vars, &SearchPath::files(None, None)).unwrap();
    /// assert_eq!(c.auth_url.as_deref(), Some("http://k:5000"));
    /// ```
    pub fn from_env_with<K, V>(
        vars: impl IntoIterator<Item = (K, V)>,
        search: &SearchPath,
    ) -> Result<Self>
    where
        K: Into<String>,
        V: Into<String>,
    {
        let vars: BTreeMap<String, String> = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        if let Some(name) = vars.get("OS_CLOUD") {
            let (auth, top) = env_layers(vars.clone());
            return match search.load()? {
                Some(files) => files.cloud_with(name, &auth, &top),
                None => Self::from_cloud_in(name, search),
            };
        }
        let selects_env = ["OS_AUTH_URL", "OS_TOKEN", "OS_AUTH_TYPE", "OS_ENDPOINT"]
            .iter()
            .any(|k| vars.contains_key(*k));
        if selects_env {
            return Self::from_env_vars(vars);
        }
        match search.load()? {
            Some(files) => {
                let names = files.cloud_names();
                if let [only] = names.as_slice() {
                    files.cloud(only)
                } else {
                    Err(Error::Config(format!(
                        "OS_CLOUD is not set and {} has {} clouds ({}): set OS_CLOUD to one of them",
                        files.clouds_path.display(),
                        names.len(),
                        names.join(", ")
                    )))
                }
            }
            None => Err(Error::Config(format!(
                "no cloud configured: set OS_CLOUD to a cloud of clouds.yaml (searched {}), \
                 or OS_AUTH_URL and credentials",
                search.describe()
            ))),
        }
    }

    /// Builds a cloud from `OS_*` variables only (no files): `OS_AUTH_URL`, `OS_AUTH_TYPE`,
    /// `OS_USERNAME`, `OS_USER_ID`, `OS_PASSWORD`, `OS_PROJECT_NAME` (`OS_TENANT_NAME`),
    /// `OS_PROJECT_ID` (`OS_TENANT_ID`), `OS_USER_DOMAIN_NAME/_ID`,
    /// `OS_PROJECT_DOMAIN_NAME/_ID`, `OS_DOMAIN_NAME/_ID`, `OS_SYSTEM_SCOPE`, `OS_TOKEN`,
    /// `OS_APPLICATION_CREDENTIAL_ID/_NAME/_SECRET`, `OS_ENDPOINT`, `OS_REGION_NAME`,
    /// `OS_INTERFACE` (`OS_ENDPOINT_TYPE`), `OS_IMAGE_ENDPOINT_OVERRIDE`,
    /// `OS_COMPUTE_ENDPOINT_OVERRIDE`, `OS_CACERT`, `OS_CERT`, `OS_KEY`, `OS_INSECURE`,
    /// `OS_IMAGE_API_VERSION`. Other variables are ignored.
    ///
    /// ```
    /// use openstack_images::CloudConfig;
    /// let c = CloudConfig::from_env_vars([
    ///     ("OS_AUTH_URL", "http://k:5000/v3"),
    ///     ("OS_USERNAME", "alice"),
    ///     ("OS_PASSWORD", "pw"),
    ///     ("OS_PROJECT_NAME", "demo"),
    ///     ("OS_USER_DOMAIN_NAME", "Default"),
    ///     ("OS_PROJECT_DOMAIN_NAME", "Default"),
    /// ]).unwrap();
    /// assert_eq!(c.username.as_deref(), Some("alice"));
    /// ```
    pub fn from_env_vars<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Result<Self>
    where
        K: Into<String>,
        V: Into<String>,
    {
        let (auth, mut top) = env_layers(vars);
        if auth.is_empty() && top.is_empty() {
            return Err(Error::Config(
                "no OS_* variables set: set OS_CLOUD, or OS_AUTH_URL and credentials".into(),
            ));
        }
        top.insert("auth".into(), Value::Object(auth));
        let mut cloud = cloud_from_value(&Value::Object(top), "envvars", "the environment")?;
        cloud.cloud_name = None;
        cloud
            .validate()
            .map_err(|e| with_context(e, "in the OS_* environment variables"))?;
        Ok(cloud)
    }
}

/// The `OS_*` variables [`CloudConfig::from_env_vars`] reads, as clouds.yaml keys: those
/// under `auth`, and those beside it.
fn env_layers<K, V>(
    vars: impl IntoIterator<Item = (K, V)>,
) -> (
    serde_json::Map<String, Value>,
    serde_json::Map<String, Value>,
)
where
    K: Into<String>,
    V: Into<String>,
{
    {
        let mut auth = serde_json::Map::new();
        let mut top = serde_json::Map::new();
        for (k, v) in vars {
            let (k, v): (String, String) = (k.into(), v.into());
            let Some(key) = k.strip_prefix("OS_") else {
                continue;
            };
            if v.is_empty() {
                continue;
            }
            let key = key.to_ascii_lowercase();
            let (target, name) = match key.as_str() {
                "tenant_name" => (&mut auth, "project_name"),
                "tenant_id" => (&mut auth, "project_id"),
                "auth_url"
                | "username"
                | "user_id"
                | "password"
                | "project_name"
                | "project_id"
                | "user_domain_name"
                | "user_domain_id"
                | "project_domain_name"
                | "project_domain_id"
                | "domain_name"
                | "domain_id"
                | "system_scope"
                | "token"
                | "application_credential_id"
                | "application_credential_name"
                | "application_credential_secret" => (&mut auth, key.as_str()),
                "endpoint" => (&mut auth, "endpoint"),
                "endpoint_type" => (&mut top, "endpoint_type"),
                "auth_type"
                | "region_name"
                | "interface"
                | "image_endpoint_override"
                | "compute_endpoint_override"
                | "cacert"
                | "cert"
                | "key"
                | "insecure"
                | "image_api_version" => (&mut top, key.as_str()),
                _ => continue,
            };
            // OS_PROJECT_NAME wins over OS_TENANT_NAME whatever their order.
            if key.starts_with("tenant_") && target.contains_key(name) {
                continue;
            }
            target.insert(name.to_owned(), Value::String(v));
        }
        (auth, top)
    }
}
