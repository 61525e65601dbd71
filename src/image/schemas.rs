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
}

impl SchemaKind {
    /// Every schema Glance serves.
    pub const ALL: [SchemaKind; 6] = [
        SchemaKind::Image,
        SchemaKind::Images,
        SchemaKind::Member,
        SchemaKind::Members,
        SchemaKind::Task,
        SchemaKind::Tasks,
    ];

    /// The schema's name (the last path segment).
    ///
    /// ```
    /// assert_eq!(openstack_images::SchemaKind::Members.as_str(), "members");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            SchemaKind::Image => "image",
            SchemaKind::Images => "images",
            SchemaKind::Member => "member",
            SchemaKind::Members => "members",
            SchemaKind::Task => "task",
            SchemaKind::Tasks => "tasks",
        }
    }
}

/// A JSON schema as Glance serves it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JsonSchema {
    /// The schema's name (`image`, `images`, ...).
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
