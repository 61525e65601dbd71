//! clouds.yaml and secure.yaml: where they are looked for, how they merge, and how a cloud
//! entry becomes a [`CloudConfig`].

use super::*;

impl CloudConfig {
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
    /// use openstack_images::{CloudConfig, SearchPath};
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
/// use openstack_images::SearchPath;
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
    /// let s = openstack_images::SearchPath::standard();
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
    /// let s = openstack_images::SearchPath::in_dirs(["/a", "/b"]);
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
    /// let s = openstack_images::SearchPath::files(Some("/x/clouds.yaml".into()), None);
    /// assert_eq!(s.clouds.len(), 1);
    /// assert!(s.secure.is_empty());
    /// ```
    pub fn files(clouds: Option<PathBuf>, secure: Option<PathBuf>) -> Self {
        SearchPath {
            clouds: clouds.into_iter().collect(),
            secure: secure.into_iter().collect(),
        }
    }

    pub(super) fn describe(&self) -> String {
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
    pub(super) fn load(&self) -> Result<Option<ConfigFiles>> {
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
pub(super) struct ConfigFiles {
    pub(super) clouds_path: PathBuf,
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

    pub(super) fn cloud_names(&self) -> Vec<String> {
        self.clouds.keys().cloned().collect()
    }

    pub(super) fn cloud(&self, name: &str) -> Result<CloudConfig> {
        let none = serde_json::Map::new();
        self.cloud_with(name, &none, &none)
    }

    /// The named cloud with `auth` keys laid over its `auth` and `top` keys over the rest
    /// (the `OS_*` variables, as `openstack` lays its options over clouds.yaml).
    pub(super) fn cloud_with(
        &self,
        name: &str,
        auth: &serde_json::Map<String, Value>,
        top: &serde_json::Map<String, Value>,
    ) -> Result<CloudConfig> {
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
        let mut value = value.clone();
        if let Value::Object(cloud) = &mut value {
            for (k, v) in top {
                cloud.insert(k.clone(), v.clone());
            }
            if !auth.is_empty() {
                let slot = cloud
                    .entry("auth")
                    .or_insert_with(|| Value::Object(Default::default()));
                if let Value::Object(into) = slot {
                    for (k, v) in auth {
                        into.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        let place = if auth.is_empty() && top.is_empty() {
            file
        } else {
            format!("{file} with the OS_* environment variables")
        };
        let cloud = cloud_from_value(&value, name, &place)?;
        cloud
            .validate()
            .map_err(|e| with_context(e, &format!("in {place}")))?;
        Ok(cloud)
    }
}

pub(super) fn with_context(e: Error, context: &str) -> Error {
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
pub(super) fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub(super) fn boolean(v: &Value, what: &str, cloud: &str, file: &str) -> Result<bool> {
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
pub(super) fn cloud_from_value(v: &Value, name: &str, file: &str) -> Result<CloudConfig> {
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
