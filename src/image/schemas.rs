//! The schema endpoints (`/v2/schemas/*`).

use std::collections::BTreeMap;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::{Req, ServiceType};
use crate::error::Result;
use crate::image::images::ImagesApi;

/// Which schema to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SchemaKind {
    /// `/v2/schemas/image`.
    Image,
    /// `/v2/schemas/images`.
    Images,
    /// `/v2/schemas/member`.
    Member,
    /// `/v2/schemas/members`.
    Members,
    /// `/v2/schemas/task`.
    Task,
    /// `/v2/schemas/tasks`.
    Tasks,
    /// `/v2/schemas/metadefs/namespace`.
    MetadefNamespace,
    /// `/v2/schemas/metadefs/namespaces`.
    MetadefNamespaces,
    /// `/v2/schemas/metadefs/object`.
    MetadefObject,
    /// `/v2/schemas/metadefs/objects`.
    MetadefObjects,
    /// `/v2/schemas/metadefs/property`.
    MetadefProperty,
    /// `/v2/schemas/metadefs/properties`.
    MetadefProperties,
    /// `/v2/schemas/metadefs/tag`.
    MetadefTag,
    /// `/v2/schemas/metadefs/tags`.
    MetadefTags,
    /// `/v2/schemas/metadefs/resource_type`.
    MetadefResourceType,
    /// `/v2/schemas/metadefs/resource_types`.
    MetadefResourceTypes,
}

impl SchemaKind {
    /// Every schema Glance serves: the image API's and the metadata definitions'.
    pub const ALL: [SchemaKind; 16] = [
        SchemaKind::Image,
        SchemaKind::Images,
        SchemaKind::Member,
        SchemaKind::Members,
        SchemaKind::Task,
        SchemaKind::Tasks,
        SchemaKind::MetadefNamespace,
        SchemaKind::MetadefNamespaces,
        SchemaKind::MetadefObject,
        SchemaKind::MetadefObjects,
        SchemaKind::MetadefProperty,
        SchemaKind::MetadefProperties,
        SchemaKind::MetadefTag,
        SchemaKind::MetadefTags,
        SchemaKind::MetadefResourceType,
        SchemaKind::MetadefResourceTypes,
    ];

    /// The schema's path under `/v2/schemas/` (`members`, `metadefs/namespace`), which is
    /// also where it is committed under `schemas/image/v2/`.
    ///
    /// ```
    /// use openstack_images::SchemaKind;
    /// assert_eq!(SchemaKind::Members.as_str(), "members");
    /// assert_eq!(SchemaKind::MetadefResourceType.as_str(), "metadefs/resource_type");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            SchemaKind::Image => "image",
            SchemaKind::Images => "images",
            SchemaKind::Member => "member",
            SchemaKind::Members => "members",
            SchemaKind::Task => "task",
            SchemaKind::Tasks => "tasks",
            SchemaKind::MetadefNamespace => "metadefs/namespace",
            SchemaKind::MetadefNamespaces => "metadefs/namespaces",
            SchemaKind::MetadefObject => "metadefs/object",
            SchemaKind::MetadefObjects => "metadefs/objects",
            SchemaKind::MetadefProperty => "metadefs/property",
            SchemaKind::MetadefProperties => "metadefs/properties",
            SchemaKind::MetadefTag => "metadefs/tag",
            SchemaKind::MetadefTags => "metadefs/tags",
            SchemaKind::MetadefResourceType => "metadefs/resource_type",
            SchemaKind::MetadefResourceTypes => "metadefs/resource_types",
        }
    }
}

impl std::fmt::Display for SchemaKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Serialized as its path (`"metadefs/tag"`), as [`SchemaKind::as_str`] gives it.
impl Serialize for SchemaKind {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl std::str::FromStr for SchemaKind {
    type Err = crate::error::Error;

    /// Parses a schema path (`image`, `members`, `metadefs/tags`, ...).
    ///
    /// ```
    /// use openstack_images::SchemaKind;
    /// assert_eq!("tasks".parse::<SchemaKind>().unwrap(), SchemaKind::Tasks);
    /// assert_eq!("metadefs/tags".parse::<SchemaKind>().unwrap(), SchemaKind::MetadefTags);
    /// assert!("bogus".parse::<SchemaKind>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self> {
        SchemaKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                crate::error::Error::invalid("schema", format!("`{s}` is not a Glance schema"))
            })
    }
}

/// The text a schema is committed in (by `osimg schema pull` and `cargo xtask schema pull`):
/// keys sorted (serde_json's map is ordered), two-space indent, trailing newline. Pulling
/// the same schema again gives the same bytes, so drift shows as a diff.
///
/// ```
/// let v = serde_json::json!({"b": 1, "a": [true]});
/// assert_eq!(openstack_images::canonical_json(&v), "{\n  \"a\": [\n    true\n  ],\n  \"b\": 1\n}\n");
/// ```
pub fn canonical_json(value: &Value) -> String {
    let mut text = value.to_string();
    if let Ok(pretty) = serde_json::to_string_pretty(value) {
        text = pretty;
    }
    text.push('\n');
    text
}

/// A JSON schema as Glance serves it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JsonSchema {
    /// The schema's name (`image`, `images`, `namespace`, ...).
    #[serde(default)]
    pub name: String,
    /// Link templates (`{self}`, `{file}`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<BTreeMap<String, Value>>,
    /// The properties and their definitions.
    #[serde(default)]
    pub properties: BTreeMap<String, Value>,
    /// What the schema allows beyond `properties` (`{"type": "string"}` for images).
    #[serde(
        rename = "additionalProperties",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub additional_properties: Option<Value>,
    /// Every other keyword, as served.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl ImagesApi {
    /// Fetches one of Glance's schemas.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use openstack_images::SchemaKind;
    /// let schema = client.images().schema(SchemaKind::Image).await?;
    /// println!("{} properties", schema.properties.len());
    /// # Ok(()) }
    /// ```
    pub async fn schema(&self, kind: SchemaKind) -> Result<JsonSchema> {
        let req = Req::new(
            ServiceType::Image,
            Method::GET,
            format!("schemas/{}", kind.as_str()),
        );
        self.client.send_json(req).await
    }

    /// Fetches a schema as raw JSON, exactly as served.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let raw = client.images().schema_json(openstack_images::SchemaKind::Image).await?;
    /// # Ok(()) }
    /// ```
    pub async fn schema_json(&self, kind: SchemaKind) -> Result<Value> {
        let req = Req::new(
            ServiceType::Image,
            Method::GET,
            format!("schemas/{}", kind.as_str()),
        );
        self.client.send_json(req).await
    }
}
