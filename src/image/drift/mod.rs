//! Schema drift: the schemas this build's types were generated from, embedded, compared
//! with the ones a cloud serves.
//!
//! The comparison reads like `git diff BUILT SERVED`: "added" is what the cloud serves and
//! the build lacks, "removed" what the build has and the cloud no longer serves.

use std::collections::{BTreeSet, HashSet};

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::generated::build_schemas;
use crate::image::images::ImagesApi;
use crate::image::schemas::SchemaKind;

#[cfg(test)]
mod tests;

/// The Glance schemas this build's types were generated from, as the exact text of the
/// files in `schemas/` (or `$OPENSTACK_IMAGES_SCHEMA_DIR`): the eight the types come from
/// (`image`, `member`, `task` and five `metadefs/*`) always, the list schemas (`images`,
/// `metadefs/tags`, ...) when the directory holds them.
///
/// ```
/// use openstack_images::{SchemaKind, build_schemas};
/// let kinds: Vec<SchemaKind> = build_schemas().map(|(kind, _)| kind).collect();
/// assert!(kinds.contains(&SchemaKind::Image));
/// ```
pub fn build_schemas() -> impl Iterator<Item = (SchemaKind, &'static str)> {
    build_schemas::GLANCE
        .iter()
        .filter_map(|(name, text)| Some((name.parse().ok()?, *text)))
}

/// The text of one schema this build was generated from (see [`build_schemas`]); `None`
/// when the build's schema directory did not hold it.
///
/// ```
/// use openstack_images::{SchemaKind, build_schema};
/// let image: serde_json::Value = serde_json::from_str(build_schema(SchemaKind::Image).unwrap()).unwrap();
/// assert!(image["properties"]["disk_format"].is_object());
/// ```
pub fn build_schema(kind: SchemaKind) -> Option<&'static str> {
    build_schemas()
        .find(|(k, _)| *k == kind)
        .map(|(_, text)| text)
}

/// The text of `compute/v2.1/image.json`, the schema of Nova's image this build was
/// generated from. Nova serves no schema: the file is written from its responses, so it
/// has no drift to check, but a schema directory to build from needs it.
///
/// ```
/// let schema: serde_json::Value = serde_json::from_str(openstack_images::BUILD_COMPUTE_IMAGE_SCHEMA).unwrap();
/// assert_eq!(schema["name"], "image");
/// ```
pub const BUILD_COMPUTE_IMAGE_SCHEMA: &str = build_schemas::COMPUTE_IMAGE;

/// One difference between a schema this build was generated from and the one the cloud
/// serves. Properties are named by their path: `hw_topology.inner` for a nested object's,
/// `locations[].url` for one of an array's items.
///
/// Serialized as one flat object, `{"change", "property", "keyword", "built", "served"}`
/// (the fields a change lacks are null), so a list of them is a table.
///
/// ```
/// use openstack_images::{SchemaChange, compare_schemas};
/// use serde_json::json;
/// let built = json!({"properties": {"os_type": {"type": "string", "enum": ["linux"]}}});
/// let served = json!({"properties": {"os_type": {"type": "string", "enum": ["linux", "bsd"]}}});
/// let changes = compare_schemas(&built, &served);
/// assert_eq!(changes, vec![SchemaChange::EnumValueAdded { property: "os_type".into(), value: json!("bsd") }]);
/// assert_eq!(
///     serde_json::to_value(&changes[0]).unwrap(),
///     json!({"change": "enum_value_added", "property": "os_type", "keyword": "enum",
///            "built": null, "served": "bsd"})
/// );
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SchemaChange {
    /// The cloud does not serve this schema at all (404: an older Glance, or metadata
    /// definitions turned off).
    NotServed,
    /// The cloud serves a property the build does not know: its values land in `extra`.
    PropertyAdded {
        /// The property's path.
        property: String,
        /// Its definition as served.
        served: Value,
    },
    /// The build has a property the cloud does not serve.
    PropertyRemoved {
        /// The property's path.
        property: String,
        /// Its definition in the build.
        built: Value,
    },
    /// One keyword of a property's definition differs (`type`, `pattern`, `maxLength`,
    /// `minLength`, `readOnly`, `description`, ...; `enum` when only one side has one).
    /// `None` when that side lacks the keyword.
    PropertyChanged {
        /// The property's path.
        property: String,
        /// The JSON Schema keyword; empty when one definition is not an object at all.
        keyword: String,
        /// The keyword's value in the build.
        built: Option<Value>,
        /// The keyword's value as served.
        served: Option<Value>,
    },
    /// The cloud allows a value of a property's `enum` the build does not list.
    EnumValueAdded {
        /// The property's path.
        property: String,
        /// The value (`null` for the nullable enums).
        value: Value,
    },
    /// The build lists a value of a property's `enum` the cloud no longer allows.
    EnumValueRemoved {
        /// The property's path.
        property: String,
        /// The value.
        value: Value,
    },
    /// A keyword of the schema itself differs (`additionalProperties`, `required`,
    /// `links`, `definitions`, ...). `None` when that side lacks it.
    KeywordChanged {
        /// The JSON Schema keyword; empty when one schema is not an object at all.
        keyword: String,
        /// Its value in the build.
        built: Option<Value>,
        /// Its value as served.
        served: Option<Value>,
    },
}

impl SchemaChange {
    /// What changed, in snake case: `property_added`, `enum_value_removed`, ... (the
    /// `change` of the serialized form).
    ///
    /// ```
    /// assert_eq!(openstack_images::SchemaChange::NotServed.name(), "not_served");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            SchemaChange::NotServed => "not_served",
            SchemaChange::PropertyAdded { .. } => "property_added",
            SchemaChange::PropertyRemoved { .. } => "property_removed",
            SchemaChange::PropertyChanged { .. } => "property_changed",
            SchemaChange::EnumValueAdded { .. } => "enum_value_added",
            SchemaChange::EnumValueRemoved { .. } => "enum_value_removed",
            SchemaChange::KeywordChanged { .. } => "keyword_changed",
        }
    }

    /// The property's path, for the changes of a property.
    ///
    /// ```
    /// use openstack_images::SchemaChange;
    /// let change = SchemaChange::EnumValueRemoved { property: "disk_format".into(), value: "vhdz".into() };
    /// assert_eq!(change.property(), Some("disk_format"));
    /// ```
    pub fn property(&self) -> Option<&str> {
        match self {
            SchemaChange::PropertyAdded { property, .. }
            | SchemaChange::PropertyRemoved { property, .. }
            | SchemaChange::PropertyChanged { property, .. }
            | SchemaChange::EnumValueAdded { property, .. }
            | SchemaChange::EnumValueRemoved { property, .. } => Some(property),
            SchemaChange::NotServed | SchemaChange::KeywordChanged { .. } => None,
        }
    }

    /// The JSON Schema keyword that differs (`enum` for an enum value).
    ///
    /// ```
    /// use openstack_images::SchemaChange;
    /// let change = SchemaChange::EnumValueRemoved { property: "disk_format".into(), value: "vhdz".into() };
    /// assert_eq!(change.keyword(), Some("enum"));
    /// ```
    pub fn keyword(&self) -> Option<&str> {
        match self {
            SchemaChange::PropertyChanged { keyword, .. }
            | SchemaChange::KeywordChanged { keyword, .. } => Some(keyword),
            SchemaChange::EnumValueAdded { .. } | SchemaChange::EnumValueRemoved { .. } => {
                Some("enum")
            }
            _ => None,
        }
    }

    /// The build's side: a removed property's definition or enum value, a changed
    /// keyword's value.
    ///
    /// ```
    /// use openstack_images::SchemaChange;
    /// let change = SchemaChange::EnumValueRemoved { property: "disk_format".into(), value: "vhdz".into() };
    /// assert_eq!(change.built(), Some(&serde_json::json!("vhdz")));
    /// assert_eq!(change.served(), None);
    /// ```
    pub fn built(&self) -> Option<&Value> {
        match self {
            SchemaChange::PropertyRemoved { built, .. } => Some(built),
            SchemaChange::EnumValueRemoved { value, .. } => Some(value),
            SchemaChange::PropertyChanged { built, .. }
            | SchemaChange::KeywordChanged { built, .. } => built.as_ref(),
            _ => None,
        }
    }

    /// The cloud's side: an added property's definition or enum value, a changed
    /// keyword's value.
    ///
    /// ```
    /// use openstack_images::SchemaChange;
    /// let change = SchemaChange::EnumValueAdded { property: "disk_format".into(), value: "vhdz".into() };
    /// assert_eq!(change.served(), Some(&serde_json::json!("vhdz")));
    /// ```
    pub fn served(&self) -> Option<&Value> {
        match self {
            SchemaChange::PropertyAdded { served, .. } => Some(served),
            SchemaChange::EnumValueAdded { value, .. } => Some(value),
            SchemaChange::PropertyChanged { served, .. }
            | SchemaChange::KeywordChanged { served, .. } => served.as_ref(),
            _ => None,
        }
    }
}

impl Serialize for SchemaChange {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Flat<'a> {
            change: &'static str,
            property: Option<&'a str>,
            keyword: Option<&'a str>,
            built: Option<&'a Value>,
            served: Option<&'a Value>,
        }
        Flat {
            change: self.name(),
            property: self.property(),
            keyword: self.keyword(),
            built: self.built(),
            served: self.served(),
        }
        .serialize(serializer)
    }
}

/// The differences of one schema: `{"schema": "image", "changes": [...]}` serialized.
///
/// ```no_run
/// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
/// for drift in client.images().schema_drift().await? {
///     println!("{}: {} changes", drift.kind, drift.changes.len());
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SchemaDrift {
    /// Which schema.
    #[serde(rename = "schema")]
    pub kind: SchemaKind,
    /// What differs, never empty: properties by path, then the schema's own keywords.
    pub changes: Vec<SchemaChange>,
}

/// The differences between a schema this build has (`built`) and the one a cloud serves
/// (`served`), empty when they mean the same: key order, the order of a `type` array and
/// of `enum` values do not count. Pure, and total on any JSON.
///
/// ```
/// use openstack_images::{SchemaChange, compare_schemas};
/// use serde_json::json;
/// let built = json!({"properties": {"name": {"type": "string", "maxLength": 255}, "old": {}}});
/// let served = json!({"properties": {"name": {"type": "string", "maxLength": 64}}});
/// assert_eq!(compare_schemas(&built, &served), vec![
///     SchemaChange::PropertyChanged {
///         property: "name".into(), keyword: "maxLength".into(),
///         built: Some(json!(255)), served: Some(json!(64)),
///     },
///     SchemaChange::PropertyRemoved { property: "old".into(), built: json!({}) },
/// ]);
/// ```
pub fn compare_schemas(built: &Value, served: &Value) -> Vec<SchemaChange> {
    let mut out = Vec::new();
    compare_definition(None, built, served, &mut out);
    out
}

/// Compares two definitions keyword by keyword: a property's (`path`) or, with `None`, the
/// schema's own.
fn compare_definition(
    path: Option<&str>,
    built: &Value,
    served: &Value,
    out: &mut Vec<SchemaChange>,
) {
    let (Some(b), Some(s)) = (built.as_object(), served.as_object()) else {
        if built != served {
            out.push(changed(path, "", Some(built), Some(served)));
        }
        return;
    };
    let keywords: BTreeSet<&String> = b.keys().chain(s.keys()).collect();
    for keyword in keywords {
        let (bv, sv) = (b.get(keyword), s.get(keyword));
        if bv == sv {
            continue;
        }
        match (keyword.as_str(), path, bv, sv) {
            ("properties", _, Some(Value::Object(bp)), Some(Value::Object(sp))) => {
                compare_properties(path, bp, sp, out);
            }
            ("items", Some(p), Some(bi @ Value::Object(_)), Some(si @ Value::Object(_))) => {
                compare_definition(Some(&format!("{p}[]")), bi, si, out);
            }
            ("enum", Some(p), Some(Value::Array(be)), Some(Value::Array(se))) => {
                compare_enum(p, be, se, out);
            }
            ("type", _, Some(Value::Array(bt)), Some(Value::Array(st))) if same_set(bt, st) => {}
            _ => out.push(changed(path, keyword, bv, sv)),
        }
    }
}

fn compare_properties(
    parent: Option<&str>,
    built: &Map<String, Value>,
    served: &Map<String, Value>,
    out: &mut Vec<SchemaChange>,
) {
    let names: BTreeSet<&String> = built.keys().chain(served.keys()).collect();
    for name in names {
        let property = match parent {
            Some(parent) => format!("{parent}.{name}"),
            None => name.clone(),
        };
        match (built.get(name), served.get(name)) {
            (Some(b), Some(s)) => compare_definition(Some(&property), b, s, out),
            (Some(b), None) => out.push(SchemaChange::PropertyRemoved {
                property,
                built: b.clone(),
            }),
            (None, Some(s)) => out.push(SchemaChange::PropertyAdded {
                property,
                served: s.clone(),
            }),
            (None, None) => {}
        }
    }
}

/// Values by their compact JSON text (serde_json's maps are sorted, so equal values have
/// equal text): a set lookup per value, however long the served enum.
fn value_keys(values: &[Value]) -> HashSet<String> {
    values.iter().map(Value::to_string).collect()
}

fn same_set(a: &[Value], b: &[Value]) -> bool {
    value_keys(a) == value_keys(b)
}

/// Enum values removed (in the build's order), then added (in the cloud's), each once.
fn compare_enum(property: &str, built: &[Value], served: &[Value], out: &mut Vec<SchemaChange>) {
    let (built_keys, served_keys) = (value_keys(built), value_keys(served));
    let mut seen = HashSet::new();
    for value in built {
        let key = value.to_string();
        if !served_keys.contains(&key) && seen.insert(key) {
            out.push(SchemaChange::EnumValueRemoved {
                property: property.to_owned(),
                value: value.clone(),
            });
        }
    }
    for value in served {
        let key = value.to_string();
        if !built_keys.contains(&key) && seen.insert(key) {
            out.push(SchemaChange::EnumValueAdded {
                property: property.to_owned(),
                value: value.clone(),
            });
        }
    }
}

fn changed(
    path: Option<&str>,
    keyword: &str,
    built: Option<&Value>,
    served: Option<&Value>,
) -> SchemaChange {
    let (keyword, built, served) = (keyword.to_owned(), built.cloned(), served.cloned());
    match path {
        Some(property) => SchemaChange::PropertyChanged {
            property: property.to_owned(),
            keyword,
            built,
            served,
        },
        None => SchemaChange::KeywordChanged {
            keyword,
            built,
            served,
        },
    }
}

impl ImagesApi {
    /// Compares every schema this build was generated from ([`build_schemas`]) with the
    /// one the cloud serves: one [`SchemaDrift`] per schema that differs, so an empty list
    /// means the generated types describe this cloud exactly. A schema the cloud does not
    /// serve (404) is reported as [`SchemaChange::NotServed`], not an error; any other
    /// failure of a request is.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let drift = client.images().schema_drift().await?;
    /// if !drift.is_empty() {
    ///     println!("{}", serde_json::to_string_pretty(&drift).unwrap());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn schema_drift(&self) -> Result<Vec<SchemaDrift>> {
        let mut drift = Vec::new();
        for (kind, text) in build_schemas() {
            let built: Value = serde_json::from_str(text)
                .map_err(|e| Error::invalid("schema", format!("the build's {kind} schema: {e}")))?;
            let changes = match self.schema_json(kind).await {
                Ok(served) => compare_schemas(&built, &served),
                Err(e) if e.is_not_found() => vec![SchemaChange::NotServed],
                Err(e) => return Err(e),
            };
            if !changes.is_empty() {
                drift.push(SchemaDrift { kind, changes });
            }
        }
        Ok(drift)
    }
}
