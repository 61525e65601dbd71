//! Cloud configuration: clouds.yaml (+ secure.yaml) and `OS_*` variables, read the way
//! openstacksdk and the `openstack` CLI read them, or built in code.
//!
//! Where clouds.yaml is looked for, first match wins (see [`SearchPath::standard`]):
//! `$OS_CLIENT_CONFIG_FILE`, `./clouds.yaml`, `<config dir>/openstack/clouds.yaml`
//! (`~/.config` on Linux), `/etc/openstack/clouds.yaml`. secure.yaml is looked for in the same
//! directories (and `$OS_SECURE_FILE` first) and merged key by key over clouds.yaml, so
//! passwords can live in a file of their own.
//!
//! `OS_*` variables are not merged into a cloud read from clouds.yaml (openstacksdk does the
//! same): either `OS_CLOUD` names a cloud, or the variables describe the whole cloud.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::secret::Secret;

/// How the client proves who it is to Keystone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AuthType {
    /// User name (or id) and password (`password`, `v3password`).
    #[default]
    Password,
    /// An existing token (`token`, `v3token`).
    Token,
    /// An application credential (`v3applicationcredential`, `application_credential`).
    ApplicationCredential,
    /// No Keystone at all: requests carry no token and go to configured endpoints (`none`).
    None,
}

impl AuthType {
    /// Parses a clouds.yaml / `OS_AUTH_TYPE` name.
    ///
    /// ```
    /// use openstack_images::clouds::AuthType;
    /// assert_eq!(AuthType::parse("v3password").unwrap(), AuthType::Password);
    /// assert_eq!(AuthType::parse("v3applicationcredential").unwrap(), AuthType::ApplicationCredential);
    /// assert!(AuthType::parse("saml2").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<AuthType> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "password" | "v3password" => Ok(AuthType::Password),
            "token" | "v3token" => Ok(AuthType::Token),
            "v3applicationcredential"
            | "application_credential"
            | "applicationcredential"
            | "v3_application_credential" => Ok(AuthType::ApplicationCredential),
            "none" | "noauth" => Ok(AuthType::None),
            other => Err(Error::Config(format!(
                "unsupported auth_type `{other}` (supported: password, v3password, token, v3token, \
                 v3applicationcredential, application_credential, none)"
            ))),
        }
    }

    /// The canonical name (`password`, `token`, `v3applicationcredential`, `none`).
    ///
    /// ```
    /// assert_eq!(openstack_images::clouds::AuthType::Token.as_str(), "token");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            AuthType::Password => "password",
            AuthType::Token => "token",
            AuthType::ApplicationCredential => "v3applicationcredential",
            AuthType::None => "none",
        }
    }
}

/// Which of a service's catalog endpoints to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Interface {
    /// The endpoint for everyone (the default).
    #[default]
    Public,
    /// The endpoint inside the cloud's network.
    Internal,
    /// The operators' endpoint.
    Admin,
}

impl Interface {
    /// Parses `public`, `internal`, `admin`, also in the old `publicURL` / `internalURL`
    /// / `adminURL` spelling.
    ///
    /// ```
    /// use openstack_images::clouds::Interface;
    /// assert_eq!(Interface::parse("publicURL").unwrap(), Interface::Public);
    /// assert_eq!(Interface::parse("Internal").unwrap(), Interface::Internal);
    /// assert!(Interface::parse("private").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Interface> {
        let lower = s.trim().to_ascii_lowercase();
        let name = lower
            .strip_suffix("_url")
            .or_else(|| lower.strip_suffix("url"))
            .unwrap_or(&lower);
        match name {
            "public" => Ok(Interface::Public),
            "internal" => Ok(Interface::Internal),
            "admin" => Ok(Interface::Admin),
            _ => Err(Error::Config(format!(
                "unknown interface `{s}` (expected public, internal or admin)"
            ))),
        }
    }

    /// The catalog name (`public`, `internal`, `admin`).
    ///
    /// ```
    /// assert_eq!(openstack_images::clouds::Interface::Admin.as_str(), "admin");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Interface::Public => "public",
            Interface::Internal => "internal",
            Interface::Admin => "admin",
        }
    }
}

impl fmt::Display for Interface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything needed to reach and authenticate to one cloud.
///
/// Credentials are [`Secret`]s, so `Debug` never shows them. Build one from clouds.yaml
/// ([`CloudConfig::from_cloud`]), from the environment ([`CloudConfig::from_env`]), or in code:
///
/// ```
/// use openstack_images::CloudConfig;
/// let cloud = CloudConfig::password("https://keystone.example.com", "alice", "s3cret", "demo")
///     .user_domain_name("Default")
///     .project_domain_name("Default")
///     .region_name("RegionOne");
/// assert!(!format!("{cloud:?}").contains("s3cret"));
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CloudConfig {
    /// The cloud's name in clouds.yaml, if it came from there (used in messages).
    pub cloud_name: Option<String>,
    /// How to authenticate.
    pub auth_type: AuthType,
    /// Keystone's URL, with or without `/v3`.
    pub auth_url: Option<String>,
    /// User name (needs a user domain).
    pub username: Option<String>,
    /// User id (instead of name + domain).
    pub user_id: Option<String>,
    /// Password for [`AuthType::Password`].
    pub password: Option<Secret>,
    /// Domain of the user, by name.
    pub user_domain_name: Option<String>,
    /// Domain of the user, by id.
    pub user_domain_id: Option<String>,
    /// Project scope, by name (needs a project domain).
    pub project_name: Option<String>,
    /// Project scope, by id.
    pub project_id: Option<String>,
    /// Domain of the project, by name.
    pub project_domain_name: Option<String>,
    /// Domain of the project, by id.
    pub project_domain_id: Option<String>,
    /// Domain scope, by name. With a project scope it serves as the default user and project
    /// domain instead, as in openstacksdk.
    pub domain_name: Option<String>,
    /// Domain scope, by id (same rule as `domain_name`).
    pub domain_id: Option<String>,
    /// System scope (`all`).
    pub system_scope: Option<String>,
    /// Token for [`AuthType::Token`].
    pub token: Option<Secret>,
    /// Application credential id.
    pub application_credential_id: Option<String>,
    /// Application credential name (needs the user, by id or name + domain).
    pub application_credential_name: Option<String>,
    /// Application credential secret.
    pub application_credential_secret: Option<Secret>,
    /// For [`AuthType::None`]: the Image service endpoint.
    pub endpoint: Option<String>,
    /// Region of the catalog endpoints; the first region found when unset.
    pub region_name: Option<String>,
    /// Catalog interface (default public).
    pub interface: Interface,
    /// Image endpoint to use instead of the catalog's (versioned or not).
    pub image_endpoint_override: Option<String>,
    /// Compute endpoint to use instead of the catalog's.
    pub compute_endpoint_override: Option<String>,
    /// A PEM bundle of extra CA certificates to trust.
    pub cacert: Option<PathBuf>,
    /// A PEM client certificate (may also hold the key).
    pub cert: Option<PathBuf>,
    /// The PEM private key of `cert`.
    pub key: Option<PathBuf>,
    /// Whether to verify server certificates (default true).
    pub verify: bool,
    /// Requested Image API version; only `2` is supported.
    pub image_api_version: Option<String>,
}

impl CloudConfig {
    fn blank(auth_type: AuthType) -> Self {
        CloudConfig {
            auth_type,
            verify: true,
            ..CloudConfig::default()
        }
    }

    /// A password-authenticated cloud scoped to a project by name. Set the domains with
    /// [`CloudConfig::user_domain_name`] and [`CloudConfig::project_domain_name`] (or ids).
    ///
    /// ```
    /// let c = openstack_images::CloudConfig::password("http://127.0.0.1:5000", "admin", "pw", "admin");
    /// assert_eq!(c.project_name.as_deref(), Some("admin"));
    /// ```
    pub fn password(
        auth_url: impl Into<String>,
        username: impl Into<String>,
        password: impl Into<Secret>,
        project_name: impl Into<String>,
    ) -> Self {
        CloudConfig {
            auth_url: Some(auth_url.into()),
            username: Some(username.into()),
            password: Some(password.into()),
            project_name: Some(project_name.into()),
            ..Self::blank(AuthType::Password)
        }
    }

    /// A cloud that authenticates with an existing token (re-scoped as configured).
    ///
    /// ```
    /// let c = openstack_images::CloudConfig::token("http://127.0.0.1:5000/v3", "gAAAA...")
    ///     .project_id("0123");
    /// assert_eq!(c.auth_type, openstack_images::clouds::AuthType::Token);
    /// ```
    pub fn token(auth_url: impl Into<String>, token: impl Into<Secret>) -> Self {
        CloudConfig {
            auth_url: Some(auth_url.into()),
            token: Some(token.into()),
            ..Self::blank(AuthType::Token)
        }
    }

    /// A cloud that authenticates with an application credential id and secret.
    ///
    /// ```
    /// let c = openstack_images::CloudConfig::application_credential("https://k.example/v3", "id", "secret");
    /// assert!(!format!("{c:?}").contains("\"secret\""));
    /// ```
    pub fn application_credential(
        auth_url: impl Into<String>,
        id: impl Into<String>,
        secret: impl Into<Secret>,
    ) -> Self {
        CloudConfig {
            auth_url: Some(auth_url.into()),
            application_credential_id: Some(id.into()),
            application_credential_secret: Some(secret.into()),
            ..Self::blank(AuthType::ApplicationCredential)
        }
    }

    /// No authentication: requests go, without a token, to this Image endpoint (and to a
    /// compute endpoint set with [`CloudConfig::compute_endpoint_override`]).
    ///
    /// ```
    /// let c = openstack_images::CloudConfig::no_auth("http://127.0.0.1:9292");
    /// assert_eq!(c.endpoint.as_deref(), Some("http://127.0.0.1:9292"));
    /// ```
    pub fn no_auth(image_endpoint: impl Into<String>) -> Self {
        CloudConfig {
            endpoint: Some(image_endpoint.into()),
            ..Self::blank(AuthType::None)
        }
    }

    /// Sets the user's domain by name.
    ///
    /// ```
    /// let c = openstack_images::CloudConfig::password("u", "n", "p", "x").user_domain_name("Default");
    /// assert_eq!(c.user_domain_name.as_deref(), Some("Default"));
    /// ```
    pub fn user_domain_name(mut self, v: impl Into<String>) -> Self {
        self.user_domain_name = Some(v.into());
        self
    }

    /// Sets the user's domain by id.
    ///
    /// ```
    /// let c = openstack_images::CloudConfig::password("u", "n", "p", "x").user_domain_id("default");
    /// assert_eq!(c.user_domain_id.as_deref(), Some("default"));
    /// ```
    pub fn user_domain_id(mut self, v: impl Into<String>) -> Self {
        self.user_domain_id = Some(v.into());
        self
    }

    /// Sets the user by id (replacing the user name).
    ///
    /// ```
    /// let c = openstack_images::CloudConfig::password("u", "n", "p", "x").user_id("abc");
    /// assert_eq!(c.username, None);
    /// ```
    pub fn user_id(mut self, v: impl Into<String>) -> Self {
        self.user_id = Some(v.into());
        self.username = None;
        self
    }

    /// Sets the project scope by name.
    ///
    /// ```
    /// let c = openstack_images::CloudConfig::token("u", "t").project_name("demo");
    /// assert_eq!(c.project_name.as_deref(), Some("demo"));
    /// ```
    pub fn project_name(mut self, v: impl Into<String>) -> Self {
        self.project_name = Some(v.into());
        self
    }

    /// Sets the project scope by id (replacing a project name).
    ///
    /// ```
    /// let c = openstack_images::CloudConfig::password("u", "n", "p", "x").project_id("123");
    /// assert_eq!(c.project_name, None);
    /// ```
    pub fn project_id(mut self, v: impl Into<String>) -> Self {
        self.project_id = Some(v.into());
        self.project_name = None;
        self
    }

    /// Sets the project's domain by name.
    ///
    /// ```
    /// let c = openstack_images::CloudConfig::password("u", "n", "p", "x").project_domain_name("Default");
    /// assert_eq!(c.project_domain_name.as_deref(), Some("Default"));
    /// ```
    pub fn project_domain_name(mut self, v: impl Into<String>) -> Self {
        self.project_domain_name = Some(v.into());
        self
    }

    /// Sets the project's domain by id.
    ///
    /// ```
    /// let c = openstack_images::CloudConfig::password("u", "n", "p", "x").project_domain_id("default");
    /// assert_eq!(c.project_domain_id.as_deref(), Some("default"));
    /// ```
    pub fn project_domain_id(mut self, v: impl Into<String>) -> Self {
        self.project_domain_id = Some(v.into());
        self
    }

    /// Scopes to a domain by name instead of a project.
    ///
    /// ```
    /// let c = openstack_images::CloudConfig::token("u", "t").domain_name("Default");
    /// assert_eq!(c.domain_name.as_deref(), Some("Default"));
    /// ```
    pub fn domain_name(mut self, v: impl Into<String>) -> Self {
        self.domain_name = Some(v.into());
        self
    }

    /// Scopes to the whole system (`all`) instead of a project.
    ///
    /// ```
    /// let c = openstack_images::CloudConfig::token("u", "t").system_scope("all");
    /// assert_eq!(c.system_scope.as_deref(), Some("all"));
    /// ```
    pub fn system_scope(mut self, v: impl Into<String>) -> Self {
        self.system_scope = Some(v.into());
        self
    }

    /// Picks catalog endpoints of this region.
    ///
    /// ```
    /// let c = openstack_images::CloudConfig::token("u", "t").region_name("RegionOne");
    /// assert_eq!(c.region_name.as_deref(), Some("RegionOne"));
    /// ```
    pub fn region_name(mut self, v: impl Into<String>) -> Self {
        self.region_name = Some(v.into());
        self
    }

    /// Picks catalog endpoints of this interface.
    ///
    /// ```
    /// use openstack_images::clouds::Interface;
    /// let c = openstack_images::CloudConfig::token("u", "t").interface(Interface::Internal);
    /// assert_eq!(c.interface, Interface::Internal);
    /// ```
    pub fn interface(mut self, v: Interface) -> Self {
        self.interface = v;
        self
    }

    /// Uses this Image endpoint instead of the catalog's. It may be versioned (`…/v2`) or
    /// not, and may carry a path prefix (`https://host/image`).
    ///
    /// ```
    /// let c = openstack_images::CloudConfig::token("u", "t").image_endpoint_override("https://h/image");
    /// assert_eq!(c.image_endpoint_override.as_deref(), Some("https://h/image"));
    /// ```
    pub fn image_endpoint_override(mut self, v: impl Into<String>) -> Self {
        self.image_endpoint_override = Some(v.into());
        self
    }

    /// Uses this Compute endpoint instead of the catalog's.
    ///
    /// ```
    /// let c = openstack_images::CloudConfig::token("u", "t").compute_endpoint_override("https://h/compute/v2.1");
    /// assert!(c.compute_endpoint_override.is_some());
    /// ```
    pub fn compute_endpoint_override(mut self, v: impl Into<String>) -> Self {
        self.compute_endpoint_override = Some(v.into());
        self
    }

    /// Trusts the CA certificates of this PEM file in addition to the system's.
    ///
    /// ```
    /// let c = openstack_images::CloudConfig::token("u", "t").cacert("/etc/ssl/my-ca.pem");
    /// assert!(c.cacert.is_some());
    /// ```
    pub fn cacert(mut self, path: impl Into<PathBuf>) -> Self {
        self.cacert = Some(path.into());
        self
    }

    /// Presents this client certificate and key (PEM files; `key` may be `None` when the
    /// certificate file holds the key too).
    ///
    /// ```
    /// let c = openstack_images::CloudConfig::token("u", "t").client_cert("/c.pem", Some("/k.pem".into()));
    /// assert!(c.cert.is_some() && c.key.is_some());
    /// ```
    pub fn client_cert(mut self, cert: impl Into<PathBuf>, key: Option<PathBuf>) -> Self {
        self.cert = Some(cert.into());
        self.key = key;
        self
    }

    /// Turns server certificate verification on or off. Off is for test clouds only.
    ///
    /// ```
    /// let c = openstack_images::CloudConfig::token("u", "t").verify(false);
    /// assert!(!c.verify);
    /// ```
    pub fn verify(mut self, yes: bool) -> Self {
        self.verify = yes;
        self
    }

    /// The name used in messages: the clouds.yaml name, or `(unnamed)`.
    fn label(&self) -> &str {
        self.cloud_name.as_deref().unwrap_or("(unnamed)")
    }

    /// Checks that the configuration is complete for its auth type.
    ///
    /// ```
    /// use openstack_images::CloudConfig;
    /// assert!(CloudConfig::password("http://k", "u", "p", "x").validate().is_ok());
    /// let mut c = CloudConfig::token("http://k", "t");
    /// c.auth_url = None;
    /// assert!(c.validate().unwrap_err().to_string().contains("auth_url is missing"));
    /// ```
    pub fn validate(&self) -> Result<()> {
        let cloud = self.label();
        let missing = |what: &str| {
            Err(Error::Config(format!(
                "{what} is missing for cloud `{cloud}` (auth_type {})",
                self.auth_type.as_str()
            )))
        };
        if let Some(v) = &self.image_api_version {
            let major = v.trim().trim_start_matches(['v', 'V']);
            if major.split('.').next() != Some("2") {
                return Err(Error::Config(format!(
                    "image_api_version `{v}` of cloud `{cloud}` is not supported (only 2)"
                )));
            }
        }
        if self.auth_type == AuthType::None {
            if self.endpoint.is_none() && self.image_endpoint_override.is_none() {
                return missing("endpoint (or image_endpoint_override)");
            }
            return Ok(());
        }
        if self.auth_url.as_deref().is_none_or(str::is_empty) {
            return missing("auth_url");
        }
        match self.auth_type {
            AuthType::Password => {
                if self.username.is_none() && self.user_id.is_none() {
                    return missing("username (or user_id)");
                }
                if self.password.is_none() {
                    return missing("password");
                }
            }
            AuthType::Token => {
                if self.token.is_none() {
                    return missing("token");
                }
            }
            AuthType::ApplicationCredential => {
                if self.application_credential_secret.is_none() {
                    return missing("application_credential_secret");
                }
                if self.application_credential_id.is_none() {
                    if self.application_credential_name.is_none() {
                        return missing("application_credential_id (or _name)");
                    }
                    if self.username.is_none() && self.user_id.is_none() {
                        return missing(
                            "username or user_id (needed with application_credential_name)",
                        );
                    }
                }
            }
            AuthType::None => {}
        }
        Ok(())
    }

    /// Loads the cloud named by `OS_CLOUD` from clouds.yaml, or builds one from `OS_*`
    /// variables, as the `openstack` CLI does:
    ///
    /// 1. `OS_CLOUD` set: that cloud of the first clouds.yaml found (secure.yaml merged).
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
    /// use openstack_images::{CloudConfig, clouds::SearchPath};
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
            return Self::from_cloud_in(name, search);
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

    /// Loads the named cloud from the first clouds.yaml found (secure.yaml merged over it).
    ///
    /// ```no_run
    /// let cloud = openstack_images::CloudConfig::from_cloud("mycloud")?;
    /// # Ok::<(), openstack_images::Error>(())
    /// ```
    pub fn from_cloud(name: &str) -> Result<Self> {
        Self::from_cloud_in(name, &SearchPath::standard())
    }

    /// Loads the named cloud using an explicit [`SearchPath`].
    ///
    /// ```no_run
    /// use openstack_images::{CloudConfig, clouds::SearchPath};
    /// let search = SearchPath::files(Some("/srv/clouds.yaml".into()), None);
    /// let cloud = CloudConfig::from_cloud_in("prod", &search)?;
    /// # Ok::<(), openstack_images::Error>(())
    /// ```
    pub fn from_cloud_in(name: &str, search: &SearchPath) -> Result<Self> {
        match search.load()? {
            Some(files) => files.cloud(name),
            None => Err(Error::Config(format!(
                "cloud `{name}` requested but no clouds.yaml found (searched {})",
                search.describe()
            ))),
        }
    }

    /// Parses clouds.yaml text (and optional secure.yaml text merged over it) and returns
    /// the named cloud. Useful for tests and for configurations kept elsewhere.
    ///
    /// ```
    /// use openstack_images::CloudConfig;
    /// let yaml = "clouds:\n  dev:\n    auth:\n      auth_url: http://k:5000\n      username: u\n      project_name: p\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: RegionOne\n";
    /// let secure = "clouds:\n  dev:\n    auth:\n      password: pw\n";
    /// let c = CloudConfig::from_clouds_yaml_str(yaml, Some(secure), "dev").unwrap();
    /// assert_eq!(c.password.unwrap().expose(), "pw");
    /// ```
    pub fn from_clouds_yaml_str(yaml: &str, secure_yaml: Option<&str>, name: &str) -> Result<Self> {
        let files = ConfigFiles::parse(
            PathBuf::from("clouds.yaml"),
            yaml,
            secure_yaml.map(|s| (PathBuf::from("secure.yaml"), s)),
        )?;
        files.cloud(name)
    }
}

/// Where clouds.yaml and secure.yaml are looked for. The first existing file of each list
/// is used.
///
/// ```
/// use openstack_images::clouds::SearchPath;
/// let s = SearchPath::in_dirs(["/etc/openstack"]);
/// assert_eq!(s.clouds[0], std::path::Path::new("/etc/openstack/clouds.yaml"));
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SearchPath {
    /// Candidate clouds.yaml files, in order.
    pub clouds: Vec<PathBuf>,
    /// Candidate secure.yaml files, in order.
    pub secure: Vec<PathBuf>,
}

impl SearchPath {
    /// openstacksdk's order: `$OS_CLIENT_CONFIG_FILE` (and `$OS_SECURE_FILE`), then
    /// `clouds.yaml`/`clouds.yml` (`secure.yaml`/`secure.yml`) in the current directory,
    /// `<config dir>/openstack` (`~/.config/openstack` on Linux) and `/etc/openstack`.
    ///
    /// ```
    /// let s = openstack_images::clouds::SearchPath::standard();
    /// assert!(s.clouds.iter().any(|p| p.ends_with("openstack/clouds.yaml")));
    /// ```
    pub fn standard() -> Self {
        let mut dirs = Vec::new();
        if let Ok(cwd) = std::env::current_dir() {
            dirs.push(cwd);
        }
        if let Some(cfg) = dirs::config_dir() {
            dirs.push(cfg.join("openstack"));
        }
        dirs.push(PathBuf::from("/etc/openstack"));
        let env_path = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let mut s = Self::in_dirs(dirs);
        if let Some(p) = env_path("OS_CLIENT_CONFIG_FILE") {
            s.clouds.insert(0, p);
        }
        if let Some(p) = env_path("OS_SECURE_FILE") {
            s.secure.insert(0, p);
        }
        s
    }

    /// `clouds.yaml`, `clouds.yml`, `secure.yaml` and `secure.yml` in each directory.
    ///
    /// ```
    /// let s = openstack_images::clouds::SearchPath::in_dirs(["/a", "/b"]);
    /// assert_eq!(s.clouds.len(), 4);
    /// ```
    pub fn in_dirs<P: AsRef<Path>>(dirs: impl IntoIterator<Item = P>) -> Self {
        let mut s = SearchPath::default();
        for d in dirs {
            let d = d.as_ref();
            s.clouds.push(d.join("clouds.yaml"));
            s.clouds.push(d.join("clouds.yml"));
            s.secure.push(d.join("secure.yaml"));
            s.secure.push(d.join("secure.yml"));
        }
        s
    }

    /// Exactly these files (either may be `None`).
    ///
    /// ```
    /// let s = openstack_images::clouds::SearchPath::files(Some("/x/clouds.yaml".into()), None);
    /// assert_eq!(s.clouds.len(), 1);
    /// assert!(s.secure.is_empty());
    /// ```
    pub fn files(clouds: Option<PathBuf>, secure: Option<PathBuf>) -> Self {
        SearchPath {
            clouds: clouds.into_iter().collect(),
            secure: secure.into_iter().collect(),
        }
    }

    fn describe(&self) -> String {
        if self.clouds.is_empty() {
            return "no files".into();
        }
        self.clouds
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The first clouds.yaml found, with the first secure.yaml merged over it.
    fn load(&self) -> Result<Option<ConfigFiles>> {
        let Some(clouds_path) = self.clouds.iter().find(|p| p.is_file()) else {
            return Ok(None);
        };
        let read = |p: &Path| {
            std::fs::read_to_string(p)
                .map_err(|e| Error::Config(format!("cannot read {}: {e}", p.display())))
        };
        let clouds_text = read(clouds_path)?;
        let secure = match self.secure.iter().find(|p| p.is_file()) {
            Some(p) => Some((p.clone(), read(p)?)),
            None => None,
        };
        ConfigFiles::parse(
            clouds_path.clone(),
            &clouds_text,
            secure.as_ref().map(|(p, t)| (p.clone(), t.as_str())),
        )
        .map(Some)
    }
}

/// A parsed clouds.yaml with secure.yaml merged in.
struct ConfigFiles {
    clouds_path: PathBuf,
    secure_path: Option<PathBuf>,
    clouds: serde_json::Map<String, Value>,
}

impl ConfigFiles {
    fn parse(clouds_path: PathBuf, text: &str, secure: Option<(PathBuf, &str)>) -> Result<Self> {
        let mut doc = parse_yaml(&clouds_path, text)?;
        let mut secure_path = None;
        if let Some((path, text)) = secure {
            let sec = parse_yaml(&path, text)?;
            merge(&mut doc, sec);
            secure_path = Some(path);
        }
        let clouds = match doc.get("clouds") {
            Some(Value::Object(m)) => m.clone(),
            Some(Value::Null) | None => serde_json::Map::new(),
            Some(_) => {
                return Err(Error::Config(format!(
                    "{}: `clouds` must be a mapping of cloud names",
                    clouds_path.display()
                )));
            }
        };
        Ok(ConfigFiles {
            clouds_path,
            secure_path,
            clouds,
        })
    }

    fn cloud_names(&self) -> Vec<String> {
        self.clouds.keys().cloned().collect()
    }

    fn cloud(&self, name: &str) -> Result<CloudConfig> {
        let file = match &self.secure_path {
            Some(s) => format!("{} (+ {})", self.clouds_path.display(), s.display()),
            None => self.clouds_path.display().to_string(),
        };
        let Some(value) = self.clouds.get(name) else {
            return Err(Error::Config(format!(
                "cloud `{name}` not found in {} (clouds: {})",
                self.clouds_path.display(),
                if self.clouds.is_empty() {
                    "none".to_owned()
                } else {
                    self.cloud_names().join(", ")
                }
            )));
        };
        let cloud = cloud_from_value(value, name, &file)?;
        cloud
            .validate()
            .map_err(|e| with_context(e, &format!("in {file}")))?;
        Ok(cloud)
    }
}

fn with_context(e: Error, context: &str) -> Error {
    match e {
        Error::Config(m) => Error::Config(format!("{m} {context}")),
        other => other,
    }
}

fn parse_yaml(path: &Path, text: &str) -> Result<Value> {
    if text.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    // Render without source snippets: the file may hold passwords.
    serde_saphyr::from_str::<Value>(text).map_err(|e| {
        let opts = serde_saphyr::render_options! { snippets: serde_saphyr::SnippetMode::Off };
        Error::Config(format!(
            "cannot parse {}: {}",
            path.display(),
            e.render_with_options(opts)
        ))
    })
}

/// Deep merge: mappings merge key by key, anything else in `over` replaces.
fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

/// A scalar as text (clouds.yaml may hold numbers: `project_id: 123`, `image_api_version: 2`).
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn boolean(v: &Value, what: &str, cloud: &str, file: &str) -> Result<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" | "on" => Ok(true),
            "false" | "no" | "0" | "off" => Ok(false),
            _ => Err(Error::Config(format!(
                "`{what}` of cloud `{cloud}` in {file} must be true or false, not `{s}`"
            ))),
        },
        _ => Err(Error::Config(format!(
            "`{what}` of cloud `{cloud}` in {file} must be true or false"
        ))),
    }
}

/// Builds a cloud from its clouds.yaml mapping (keys with `-` read as `_`).
fn cloud_from_value(v: &Value, name: &str, file: &str) -> Result<CloudConfig> {
    let Value::Object(raw) = v else {
        return Err(Error::Config(format!(
            "cloud `{name}` in {file} is not a mapping"
        )));
    };
    let norm = |m: &serde_json::Map<String, Value>| -> BTreeMap<String, Value> {
        m.iter()
            .map(|(k, v)| (k.replace('-', "_"), v.clone()))
            .collect()
    };
    let top = norm(raw);
    let auth = match top.get("auth") {
        Some(Value::Object(a)) => norm(a),
        Some(Value::Null) | None => BTreeMap::new(),
        Some(_) => {
            return Err(Error::Config(format!(
                "`auth` of cloud `{name}` in {file} is not a mapping"
            )));
        }
    };
    if top.contains_key("profile") {
        tracing::warn!(
            cloud = name,
            "clouds.yaml `profile` (vendor defaults) is not supported; set auth_url and region_name in the cloud itself"
        );
    }
    // Auth keys are read from `auth` first, then from the cloud's top level (openstacksdk
    // accepts both for some keys).
    let s = |k: &str| auth.get(k).or_else(|| top.get(k)).and_then(scalar);
    let secret = |k: &str| s(k).map(Secret::new);
    let t = |k: &str| top.get(k).and_then(scalar);

    let mut c = CloudConfig::blank(AuthType::Password);
    c.cloud_name = Some(name.to_owned());
    c.auth_url = s("auth_url");
    c.username = s("username").or_else(|| s("user_name"));
    c.user_id = s("user_id");
    c.password = secret("password");
    c.user_domain_name = s("user_domain_name");
    c.user_domain_id = s("user_domain_id");
    c.project_name = s("project_name").or_else(|| s("tenant_name"));
    c.project_id = s("project_id").or_else(|| s("tenant_id"));
    c.project_domain_name = s("project_domain_name");
    c.project_domain_id = s("project_domain_id");
    c.domain_name = s("domain_name");
    c.domain_id = s("domain_id");
    c.system_scope = s("system_scope");
    c.token = secret("token");
    c.application_credential_id = s("application_credential_id");
    c.application_credential_name = s("application_credential_name");
    c.application_credential_secret = secret("application_credential_secret");
    c.endpoint = s("endpoint");
    c.region_name = t("region_name").or_else(|| match top.get("regions") {
        Some(Value::Array(list)) => list.first().and_then(|r| match r {
            Value::Object(m) => m.get("name").and_then(scalar),
            other => scalar(other),
        }),
        _ => None,
    });
    if let Some(i) = t("interface").or_else(|| t("endpoint_type")) {
        c.interface = Interface::parse(&i)
            .map_err(|e| with_context(e, &format!("for cloud `{name}` in {file}")))?;
    }
    c.image_endpoint_override = t("image_endpoint_override");
    c.compute_endpoint_override = t("compute_endpoint_override");
    c.cacert = t("cacert").map(PathBuf::from);
    c.cert = t("cert").map(PathBuf::from);
    c.key = t("key").map(PathBuf::from);
    if let Some(v) = top.get("verify") {
        c.verify = boolean(v, "verify", name, file)?;
    }
    if let Some(v) = top.get("insecure") {
        c.verify = !boolean(v, "insecure", name, file)?;
    }
    c.image_api_version = t("image_api_version");
    c.auth_type = match t("auth_type") {
        Some(a) => AuthType::parse(&a)
            .map_err(|e| with_context(e, &format!("for cloud `{name}` in {file}")))?,
        None if c.application_credential_secret.is_some() => AuthType::ApplicationCredential,
        None if c.token.is_some() && c.password.is_none() => AuthType::Token,
        None => AuthType::Password,
    };
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_is_deep() {
        let mut a =
            serde_json::json!({"clouds": {"x": {"auth": {"username": "u"}, "region_name": "R"}}});
        merge(
            &mut a,
            serde_json::json!({"clouds": {"x": {"auth": {"password": "p"}}}}),
        );
        assert_eq!(
            a,
            serde_json::json!({"clouds": {"x": {"auth": {"username": "u", "password": "p"}, "region_name": "R"}}})
        );
    }

    #[test]
    fn auth_type_inferred() {
        let v = serde_json::json!({"auth": {"auth_url": "http://k", "application_credential_id": "i", "application_credential_secret": "s"}});
        assert_eq!(
            cloud_from_value(&v, "c", "f").unwrap().auth_type,
            AuthType::ApplicationCredential
        );
        let v = serde_json::json!({"auth": {"auth_url": "http://k", "token": "t"}});
        assert_eq!(
            cloud_from_value(&v, "c", "f").unwrap().auth_type,
            AuthType::Token
        );
    }
}
