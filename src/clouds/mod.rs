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

mod env;
mod files;

pub use files::SearchPath;
use files::{cloud_from_value, with_context};

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

impl std::str::FromStr for Interface {
    type Err = Error;

    /// [`Interface::parse`].
    fn from_str(s: &str) -> Result<Self> {
        Interface::parse(s)
    }
}

impl fmt::Display for AuthType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AuthType {
    type Err = Error;

    /// [`AuthType::parse`].
    ///
    /// ```
    /// use openstack_images::clouds::AuthType;
    /// let t: AuthType = "v3token".parse().unwrap();
    /// assert_eq!(t.to_string(), "token");
    /// ```
    fn from_str(s: &str) -> Result<Self> {
        AuthType::parse(s)
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
}
