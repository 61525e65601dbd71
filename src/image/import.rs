//! Interoperable image import (`POST /v2/images/{id}/import`) and the discovery calls that go
//! with it (`/v2/info/import`, `/v2/info/stores`, `/v2/info/usage`). Waiting for a status and
//! the create-upload-wait convenience are in `image::wait`.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::client::{Req, ServiceType};
use crate::error::{Error, Result};
use crate::image::features::{ImageFeature, unsupported_on_404};
use crate::image::images::{ImagesApi, image_path};

/// How Glance obtains the data of an import.
///
/// ```
/// use openstack_images::ImportMethod;
/// let m = ImportMethod::WebDownload { uri: "https://example.com/disk.raw".into() };
/// assert_eq!(m.name(), "web-download");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImportMethod {
    /// Data staged before with [`ImagesApi::stage`].
    GlanceDirect,
    /// Glance downloads the data from a URL (subject to the operator's
    /// `[import_filtering_opts]`).
    WebDownload {
        /// The URL Glance fetches.
        uri: String,
    },
    /// Copies an active image's data into more stores (multi-store clouds).
    CopyImage,
    /// Glance downloads an image from the Glance of another region.
    GlanceDownload {
        /// The other region's name.
        remote_region: String,
        /// The image's id in that region.
        remote_image_id: String,
        /// The catalog interface to reach it by (the server defaults to `public`).
        remote_service_interface: Option<String>,
    },
}

impl ImportMethod {
    /// The method's name as the API spells it.
    ///
    /// ```
    /// assert_eq!(openstack_images::ImportMethod::GlanceDirect.name(), "glance-direct");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            ImportMethod::GlanceDirect => "glance-direct",
            ImportMethod::WebDownload { .. } => "web-download",
            ImportMethod::CopyImage => "copy-image",
            ImportMethod::GlanceDownload { .. } => "glance-download",
        }
    }

    /// The `method` object of the request body.
    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), self.name().into());
        match self {
            ImportMethod::WebDownload { uri } => {
                m.insert("uri".into(), uri.clone().into());
            }
            ImportMethod::GlanceDownload {
                remote_region,
                remote_image_id,
                remote_service_interface,
            } => {
                m.insert("glance_region".into(), remote_region.clone().into());
                m.insert("glance_image_id".into(), remote_image_id.clone().into());
                if let Some(i) = remote_service_interface {
                    m.insert("glance_service_interface".into(), i.clone().into());
                }
            }
            ImportMethod::GlanceDirect | ImportMethod::CopyImage => {}
        }
        Value::Object(m)
    }
}

/// An import request, built by [`ImagesApi::import`] and sent by [`Import::send`].
///
/// ```no_run
/// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
/// use openstack_images::ImportMethod;
/// client
///     .images()
///     .import("1bea47ed-f6a9-463b-b423-14b9cca9ad27", ImportMethod::CopyImage)
///     .stores(["ceph-2"])
///     .all_stores_must_succeed(false)
///     .send()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "an import does nothing until `.send().await`"]
pub struct Import {
    images: ImagesApi,
    id: String,
    method: ImportMethod,
    stores: Option<Vec<String>>,
    all_stores: Option<bool>,
    all_stores_must_succeed: Option<bool>,
}

impl Import {
    /// The stores to import into (multi-store clouds; see [`ImagesApi::stores_info`]).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// # use openstack_images::ImportMethod;
    /// client.images().import("1bea47ed-f6a9-463b-b423-14b9cca9ad27", ImportMethod::CopyImage).stores(["fast", "cheap"]).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn stores<I, S>(mut self, stores: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.stores = Some(stores.into_iter().map(Into::into).collect());
        self
    }

    /// Imports into every store of the cloud.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// # use openstack_images::ImportMethod;
    /// client.images().import("1bea47ed-f6a9-463b-b423-14b9cca9ad27", ImportMethod::CopyImage).all_stores(true).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn all_stores(mut self, yes: bool) -> Self {
        self.all_stores = Some(yes);
        self
    }

    /// Whether one failed store fails the whole import (the server's default is `true`;
    /// `false` needs a multi-store cloud).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// # use openstack_images::ImportMethod;
    /// client.images().import("1bea47ed-f6a9-463b-b423-14b9cca9ad27", ImportMethod::CopyImage).all_stores(true).all_stores_must_succeed(false).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn all_stores_must_succeed(mut self, yes: bool) -> Self {
        self.all_stores_must_succeed = Some(yes);
        self
    }

    /// The request body, with only the options that were set.
    fn body(&self) -> Value {
        let mut body = json!({ "method": self.method.to_json() });
        if let Some(s) = &self.stores {
            body["stores"] = json!(s);
        }
        if let Some(b) = self.all_stores {
            body["all_stores"] = json!(b);
        }
        if let Some(b) = self.all_stores_must_succeed {
            body["all_stores_must_succeed"] = json!(b);
        }
        body
    }

    /// Starts the import (Glance answers 202 and works in the background; follow it with
    /// [`ImagesApi::wait_for_status`]). Once sent, the import goes on whatever becomes of the
    /// future; dropped before Glance answered, it may or may not have started.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use openstack_images::ImportMethod;
    /// client.images().import("1bea47ed-f6a9-463b-b423-14b9cca9ad27", ImportMethod::GlanceDirect).send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<()> {
        if let ImportMethod::WebDownload { uri } = &self.method {
            url::Url::parse(uri).map_err(|e| Error::invalid("uri", format!("{uri}: {e}")))?;
        }
        let path = format!("{}/import", image_path(&self.id)?);
        tracing::debug!(image = %self.id, method = self.method.name(), "import");
        // Not retried: a second import of the same image is refused while the first runs.
        let req = Req::new(ServiceType::Image, Method::POST, path).json(&self.body())?;
        self.images.client.send(req).await.map(drop)
    }
}

/// The import methods a cloud enables (`GET /v2/info/import`).
///
/// ```no_run
/// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
/// let info = client.images().import_info().await?;
/// assert!(info.supports("glance-direct"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ImportInfo {
    /// The enabled method names (`glance-direct`, `web-download`, `copy-image`, ...).
    pub methods: Vec<String>,
}

impl ImportInfo {
    /// Whether the named method is enabled.
    ///
    /// ```
    /// let info = openstack_images::ImportInfo::default();
    /// assert!(!info.supports("web-download"));
    /// ```
    pub fn supports(&self, method: &str) -> bool {
        self.methods.iter().any(|m| m == method)
    }
}

/// One store of a multi-store cloud (`GET /v2/info/stores`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct StoreInfo {
    /// The store's id, as used in `stores` of an import.
    pub id: String,
    /// The operator's description.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether data goes there when no store is named.
    #[serde(default, deserialize_with = "bool_or_string")]
    pub default: bool,
    /// Whether the store is read-only (the `http` store; Glance writes `read-only`).
    #[serde(default, alias = "read-only", deserialize_with = "bool_or_string")]
    pub read_only: bool,
}

/// Glance writes these flags as JSON booleans or as the strings `"true"`/`"false"`.
pub(crate) fn bool_or_string<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<bool, D::Error> {
    match Value::deserialize(d)? {
        Value::Bool(b) => Ok(b),
        Value::String(s) => Ok(s.eq_ignore_ascii_case("true")),
        Value::Null => Ok(false),
        other => Err(serde::de::Error::custom(format!(
            "expected a boolean, got {other}"
        ))),
    }
}

/// One quota of `GET /v2/info/usage`: the limit and what is used (`-1` is unlimited).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct QuotaUsage {
    /// The limit.
    pub limit: i64,
    /// What is in use.
    pub usage: i64,
}

impl ImagesApi {
    /// An import request for an image (`POST /v2/images/{id}/import`); see [`Import`].
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use openstack_images::ImportMethod;
    /// client
    ///     .images()
    ///     .import(
    ///         "1bea47ed-f6a9-463b-b423-14b9cca9ad27",
    ///         ImportMethod::WebDownload { uri: "https://example.com/disk.raw".into() },
    ///     )
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn import(&self, id: &str, method: ImportMethod) -> Import {
        Import {
            images: self.clone(),
            id: id.to_owned(),
            method,
            stores: None,
            all_stores: None,
            all_stores_must_succeed: None,
        }
    }

    /// The import methods this cloud enables.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// println!("{:?}", client.images().import_info().await?.methods);
    /// # Ok(()) }
    /// ```
    pub async fn import_info(&self) -> Result<ImportInfo> {
        #[derive(Deserialize)]
        struct Body {
            #[serde(rename = "import-methods")]
            import_methods: Methods,
        }
        #[derive(Deserialize)]
        struct Methods {
            #[serde(default)]
            value: Vec<String>,
        }
        let req = Req::new(ServiceType::Image, Method::GET, "info/import");
        let body: Body = self.client.send_json(req).await?;
        Ok(ImportInfo {
            methods: body.import_methods.value,
        })
    }

    /// The stores of a multi-store cloud. A cloud with a single store has none to list:
    /// that is [`Error::Unsupported`], known from its version document without a request
    /// (or from its 404 when it serves no document).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// for store in client.images().stores_info().await? {
    ///     println!("{} default={}", store.id, store.default);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn stores_info(&self) -> Result<Vec<StoreInfo>> {
        #[derive(Deserialize)]
        struct Body {
            stores: Vec<StoreInfo>,
        }
        self.require(ImageFeature::MultipleStores).await?;
        let req = Req::new(ServiceType::Image, Method::GET, "info/stores");
        let body: Body = self
            .client
            .send_json(req)
            .await
            .map_err(|e| unsupported_on_404(ImageFeature::MultipleStores, e))?;
        Ok(body.stores)
    }

    /// The project's quota usage (`GET /v2/info/usage`), by quota name
    /// (`image_size_total`, `image_count_total`, `image_stage_total`, `image_count_uploading`).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let usage = client.images().usage().await?;
    /// if let Some(q) = usage.get("image_count_total") {
    ///     println!("{} of {} images", q.usage, q.limit);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn usage(&self) -> Result<BTreeMap<String, QuotaUsage>> {
        #[derive(Deserialize)]
        struct Body {
            usage: BTreeMap<String, QuotaUsage>,
        }
        let req = Req::new(ServiceType::Image, Method::GET, "info/usage");
        let body: Body = self.client.send_json(req).await?;
        Ok(body.usage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_bodies_use_the_server_spelling() {
        let images = crate::Client::builder()
            .cloud(crate::CloudConfig::no_auth("http://127.0.0.1:1/v2"))
            .build()
            .unwrap()
            .images();
        let b = images
            .import(
                "i",
                ImportMethod::WebDownload {
                    uri: "http://h/x".into(),
                },
            )
            .stores(["a", "b"])
            .all_stores_must_succeed(false)
            .body();
        assert_eq!(
            b,
            json!({"method": {"name": "web-download", "uri": "http://h/x"},
                   "stores": ["a", "b"], "all_stores_must_succeed": false})
        );
        let b = images
            .import(
                "i",
                ImportMethod::GlanceDownload {
                    remote_region: "R2".into(),
                    remote_image_id: "u".into(),
                    remote_service_interface: None,
                },
            )
            .all_stores(true)
            .body();
        assert_eq!(
            b,
            json!({"method": {"name": "glance-download", "glance_region": "R2",
                   "glance_image_id": "u"}, "all_stores": true})
        );
    }

    #[test]
    fn store_flags_as_strings() {
        let s: StoreInfo =
            serde_json::from_value(json!({"id": "fs", "default": "true", "read_only": false}))
                .unwrap();
        assert!(s.default && !s.read_only);
        // What Glance writes for its http store.
        let s: StoreInfo =
            serde_json::from_value(json!({"id": "web", "read-only": "true"})).unwrap();
        assert!(s.read_only && !s.default);
    }
}
