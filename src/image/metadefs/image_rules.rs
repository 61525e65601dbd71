//! Opt-in checks of an image's properties against the metadef namespaces associated with
//! `OS::Glance::Image`: Glance stores any string there, and Nova finds out at boot that
//! `hw_disk_bus=sideways` means nothing. None of openstacksdk, glanceclient or OSC checks.

use std::collections::BTreeMap;

use futures_util::TryStreamExt;
use serde_json::Value;

use super::{MetadefNamespaceQuery, MetadefsApi};
use crate::error::{Error, Result};
use crate::generated::{ImageCreate, MetadefNamespace, MetadefProperty, MetadefPropertyType};
use crate::runtime::{ImagePatch, PatchOp};

/// The resource type images are.
pub const IMAGE_RESOURCE_TYPE: &str = "OS::Glance::Image";

/// What the metadef namespaces say image properties may hold: each property definition
/// under the name images use (the association's prefix applied), with its namespace.
///
/// A value passes when one of its definitions accepts it (two namespaces may define the
/// same name); a property no namespace defines always passes. Checked: the type (image
/// property values are strings, so `integer` means a string that parses as one, `boolean`
/// one of Glance's spellings of true/false), `enum`, `minimum`/`maximum`,
/// `minLength`/`maxLength` and `pattern`. Array and object definitions are not checked:
/// their metadef `operators` (`<or>`, `<all-in>`) match flavors and aggregates, not images.
///
/// ```
/// use openstack_images::{MetadefImageRules, MetadefNamespace, MetadefProperty, MetadefPropertyType};
/// let mut ns = MetadefNamespace::new("Example");
/// let mut bus = MetadefProperty::default();
/// bus.type_ = Some(MetadefPropertyType::String);
/// bus.enum_ = vec!["virtio".into(), "scsi".into()];
/// ns.properties.insert("hw_disk_bus".into(), bus);
/// let rules = MetadefImageRules::from_namespaces([ns]);
/// assert!(rules.check("hw_disk_bus", &"virtio".into()).is_ok());
/// assert!(rules.check("hw_disk_bus", &"sideways".into()).is_err());
/// assert!(rules.check("anything_else", &"x".into()).is_ok());
/// ```
#[derive(Debug, Clone, Default)]
pub struct MetadefImageRules {
    by_name: BTreeMap<String, Vec<(String, MetadefProperty)>>,
}

impl MetadefsApi {
    /// Reads the rules for image properties: every namespace associated with
    /// `OS::Glance::Image`, as seen for that resource type (names prefixed), its own
    /// properties and its objects'.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use openstack_images::ImageCreate;
    /// let rules = client.metadefs().image_rules().await?;
    /// let create = ImageCreate::new("vm").property("hw_disk_bus", "virtio");
    /// rules.check_create(&create)?;
    /// client.images().create(create).await?;
    /// # Ok(()) }
    /// ```
    pub async fn image_rules(&self) -> Result<MetadefImageRules> {
        let query = MetadefNamespaceQuery::default().resource_type(IMAGE_RESOURCE_TYPE);
        let names: Vec<String> = self
            .namespaces(query)
            .map_ok(|n| n.namespace)
            .try_collect()
            .await?;
        let mut namespaces = Vec::with_capacity(names.len());
        for name in names {
            namespaces.push(self.namespace_for(&name, IMAGE_RESOURCE_TYPE).await?);
        }
        Ok(MetadefImageRules::from_namespaces(namespaces))
    }
}

impl MetadefImageRules {
    /// Rules from namespaces as read for `OS::Glance::Image` (property names already
    /// prefixed): their own properties and their objects'.
    pub fn from_namespaces(namespaces: impl IntoIterator<Item = MetadefNamespace>) -> Self {
        let mut by_name: BTreeMap<String, Vec<(String, MetadefProperty)>> = BTreeMap::new();
        for ns in namespaces {
            let objects = ns.objects.into_iter().flat_map(|o| o.properties);
            for (name, p) in ns.properties.into_iter().chain(objects) {
                by_name
                    .entry(name)
                    .or_default()
                    .push((ns.namespace.clone(), p));
            }
        }
        MetadefImageRules { by_name }
    }

    /// How many property names have a definition.
    ///
    /// ```
    /// assert_eq!(openstack_images::MetadefImageRules::default().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// True when no property has a definition.
    ///
    /// ```
    /// assert!(openstack_images::MetadefImageRules::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// The definitions of one property name, with the namespace of each.
    ///
    /// ```
    /// assert!(openstack_images::MetadefImageRules::default().definitions("hw_disk_bus").is_empty());
    /// ```
    pub fn definitions(&self, name: &str) -> &[(String, MetadefProperty)] {
        self.by_name.get(name).map_or(&[], Vec::as_slice)
    }

    /// Checks one property value; the error names the property, what was expected and
    /// the namespace that says so.
    ///
    /// ```
    /// let rules = openstack_images::MetadefImageRules::default();
    /// assert!(rules.check("os_distro", &"cirros".into()).is_ok());
    /// ```
    pub fn check(&self, name: &str, value: &Value) -> Result<()> {
        let defs = self.definitions(name);
        let mut first_failure = None;
        for (namespace, def) in defs {
            match check_value(def, value) {
                Ok(()) => return Ok(()),
                Err(reason) => {
                    first_failure
                        .get_or_insert_with(|| format!("{reason} (metadef namespace {namespace})"));
                }
            }
        }
        match first_failure {
            None => Ok(()),
            Some(reason) => Err(Error::invalid(name, reason)),
        }
    }

    /// Checks every property of a create request.
    ///
    /// ```
    /// use openstack_images::{ImageCreate, MetadefImageRules};
    /// let create = ImageCreate::new("vm").property("hw_disk_bus", "virtio");
    /// assert!(MetadefImageRules::default().check_create(&create).is_ok());
    /// ```
    pub fn check_create(&self, create: &ImageCreate) -> Result<()> {
        for (k, v) in create.properties() {
            self.check(k, v)?;
        }
        Ok(())
    }

    /// Checks the values a patch adds or replaces.
    ///
    /// ```
    /// use openstack_images::{ImagePatch, MetadefImageRules};
    /// let patch = ImagePatch::new().add("hw_disk_bus", "virtio");
    /// assert!(MetadefImageRules::default().check_patch(&patch).is_ok());
    /// ```
    pub fn check_patch(&self, patch: &ImagePatch) -> Result<()> {
        for op in patch.ops() {
            if let PatchOp::Add { path, value } | PatchOp::Replace { path, value } = op {
                self.check(path.trim_start_matches('/'), value)?;
            }
        }
        Ok(())
    }
}

/// The text of a value as Glance stores it.
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Glance's (oslo's) spellings of a boolean.
fn is_boolean(text: &str) -> bool {
    matches!(
        text.to_ascii_lowercase().as_str(),
        "1" | "t" | "true" | "on" | "y" | "yes" | "0" | "f" | "false" | "off" | "n" | "no"
    )
}

fn as_f64(n: &Option<serde_json::Number>) -> Option<f64> {
    n.as_ref().and_then(serde_json::Number::as_f64)
}

/// Why `value` does not fit `def`, if it does not.
fn check_value(def: &MetadefProperty, value: &Value) -> std::result::Result<(), String> {
    let Some(text) = text_of(value) else {
        return match def.type_ {
            Some(MetadefPropertyType::Array | MetadefPropertyType::Object) | None => Ok(()),
            _ => Err("expects a single value".into()),
        };
    };
    match &def.type_ {
        Some(MetadefPropertyType::Integer) | Some(MetadefPropertyType::Number) => {
            let number = if def.type_ == Some(MetadefPropertyType::Integer) {
                text.trim()
                    .parse::<i64>()
                    .map(|n| n as f64)
                    .map_err(|_| format!("expects an integer, not `{text}`"))?
            } else {
                text.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite())
                    .ok_or_else(|| format!("expects a number, not `{text}`"))?
            };
            if let Some(min) = as_f64(&def.minimum).filter(|m| number < *m) {
                return Err(format!("is at least {min}, not {text}"));
            }
            if let Some(max) = as_f64(&def.maximum).filter(|m| number > *m) {
                return Err(format!("is at most {max}, not {text}"));
            }
        }
        Some(MetadefPropertyType::Boolean) if !is_boolean(&text) => {
            return Err(format!("expects true or false, not `{text}`"));
        }
        _ => {}
    }
    if def.type_ == Some(MetadefPropertyType::Array) {
        return Ok(());
    }
    let listed: Vec<String> = def.enum_.iter().filter_map(text_of).collect();
    if !listed.is_empty() && !listed.contains(&text) {
        return Err(format!(
            "must be one of {}, not `{text}`",
            listed.join(", ")
        ));
    }
    let chars = text.chars().count() as u64;
    if let Some(min) = def.min_length.filter(|m| chars < *m) {
        return Err(format!("is at least {min} characters long"));
    }
    if let Some(max) = def.max_length.filter(|m| chars > *m) {
        return Err(format!("is at most {max} characters long"));
    }
    if let Some(pattern) = &def.pattern {
        // A pattern that does not compile says nothing about the value.
        if let Ok(re) = regress::Regex::new(pattern)
            && re.find(&text).is_none()
        {
            return Err(format!("must match `{pattern}`"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules() -> MetadefImageRules {
        let ns: MetadefNamespace = serde_json::from_value(json!({
            "namespace": "A",
            "properties": {
                "hw_disk_bus": {"type": "string", "enum": ["virtio", "scsi"]},
                "hw_video_ram": {"type": "integer", "minimum": 0, "maximum": 64},
                "hw_qemu_guest_agent": {"type": "boolean"},
                "os_secure_boot": {"type": "string", "pattern": "^(required|disabled)$"},
                "hw_cpu_policy": {"type": "array", "items": {"type": "string", "enum": ["x"]}}
            },
            "objects": [{"name": "O", "properties": {"ratio": {"type": "number", "maximum": 1.5}}}]
        }))
        .unwrap();
        let other: MetadefNamespace = serde_json::from_value(json!({
            "namespace": "B",
            "properties": {"hw_disk_bus": {"type": "string", "enum": ["ide"]}}
        }))
        .unwrap();
        MetadefImageRules::from_namespaces([ns, other])
    }

    #[test]
    fn typed_values_enums_and_bounds() {
        let r = rules();
        assert!(r.check("hw_disk_bus", &json!("scsi")).is_ok());
        assert!(
            r.check("hw_disk_bus", &json!("ide")).is_ok(),
            "namespace B allows it"
        );
        let e = r.check("hw_disk_bus", &json!("sideways")).unwrap_err();
        assert!(e.to_string().contains("virtio, scsi"), "{e}");
        assert!(e.to_string().contains("metadef namespace A"), "{e}");
        assert!(r.check("hw_video_ram", &json!("64")).is_ok());
        assert!(r.check("hw_video_ram", &json!(8)).is_ok());
        assert!(r.check("hw_video_ram", &json!("65")).is_err());
        assert!(r.check("hw_video_ram", &json!("-1")).is_err());
        assert!(r.check("hw_video_ram", &json!("lots")).is_err());
        assert!(r.check("hw_qemu_guest_agent", &json!("yes")).is_ok());
        assert!(r.check("hw_qemu_guest_agent", &json!("maybe")).is_err());
        assert!(r.check("os_secure_boot", &json!("required")).is_ok());
        assert!(r.check("os_secure_boot", &json!("sometimes")).is_err());
        assert!(
            r.check("ratio", &json!("1.25")).is_ok(),
            "object properties count"
        );
        assert!(r.check("ratio", &json!("2")).is_err());
        // Rust's float parser reads these; no bound can hold them, and nothing reads them as
        // numbers (`NaN < 0` and `NaN > 64` are both false).
        for odd in ["NaN", "nan", "inf", "-inf", "+infinity", "-Infinity"] {
            assert!(r.check("ratio", &json!(odd)).is_err(), "{odd}");
        }
        assert!(
            r.check("hw_cpu_policy", &json!("<or> y")).is_ok(),
            "arrays unchecked"
        );
        assert!(r.check("unknown", &json!("x")).is_ok());
    }

    #[test]
    fn create_and_patch_are_checked_but_removals_are_not() {
        let r = rules();
        let bad = ImageCreate::new("x").property("hw_video_ram", "100");
        assert!(r.check_create(&bad).is_err());
        let good = ImageCreate::new("x").property("hw_video_ram", "10");
        assert!(r.check_create(&good).is_ok());
        let patch = ImagePatch::new().replace("hw_disk_bus", "floppy");
        assert!(r.check_patch(&patch).is_err());
        assert!(
            r.check_patch(&ImagePatch::new().remove("hw_disk_bus"))
                .is_ok()
        );
    }
}
