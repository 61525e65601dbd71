//! The locations API (Image API 2.17): where an image's data lives, and adding a location
//! to a queued image (Glance then checks the data and activates the image). Glance's
//! default policy gives both to service users (role `service`, the identity Nova and
//! Cinder talk to Glance as); others may add only `http` store URLs and list nothing.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::client::{Req, ServiceType};
use crate::error::{Error, Result};
use crate::image::features::ImageFeature;
use crate::image::images::{ImagesApi, image_path};

/// One location of an image's data.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct ImageLocation {
    /// The store URL (`file:///...`, `rbd://...`, `https://...`).
    pub url: String,
    /// The location's metadata; on multi-store clouds `store` names its store.
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

impl ImageLocation {
    /// The store the location belongs to (`metadata.store`), on multi-store clouds.
    ///
    /// ```
    /// let l: openstack_images::ImageLocation = serde_json::from_str(
    ///     r#"{"url": "file:///d/i", "metadata": {"store": "fs"}}"#).unwrap();
    /// assert_eq!(l.store(), Some("fs"));
    /// ```
    pub fn store(&self) -> Option<&str> {
        self.metadata.get("store").and_then(Value::as_str)
    }
}

/// Adds a location to a queued image, built by [`ImagesApi::add_location`] and sent by
/// [`AddLocation::send`].
///
/// ```no_run
/// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
/// client
///     .images()
///     .add_location("1bea47ed-f6a9-463b-b423-14b9cca9ad27", "rbd://fsid/pool/image/snap")
///     .validation_data("sha512", "b1a5...")
///     .send()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a location is added only by `.send().await`"]
pub struct AddLocation {
    images: ImagesApi,
    id: String,
    url: String,
    validation: Option<(String, String)>,
}

impl AddLocation {
    /// The data's hash, which Glance checks against what it reads from the location (it
    /// computes the hash itself when none is given, if the operator enabled that).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.images().add_location("1bea47ed-f6a9-463b-b423-14b9cca9ad27", "file:///srv/disk.raw")
    ///     .validation_data("sha512", "b1a5...").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn validation_data(
        mut self,
        os_hash_algo: impl Into<String>,
        os_hash_value: impl Into<String>,
    ) -> Self {
        self.validation = Some((os_hash_algo.into(), os_hash_value.into()));
        self
    }

    fn body(&self) -> Value {
        let mut body = json!({ "url": self.url });
        if let Some((algo, value)) = &self.validation {
            body["validation_data"] = json!({ "os_hash_algo": algo, "os_hash_value": value });
        }
        body
    }

    /// Sends it. Glance answers 202 and imports the location in the background: the image
    /// becomes `active` (follow it with [`ImagesApi::wait_for_status`]), or stays `queued`
    /// when the data does not match.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.images().add_location("1bea47ed-f6a9-463b-b423-14b9cca9ad27", "file:///srv/disk.raw").send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<()> {
        url::Url::parse(&self.url)
            .map_err(|e| Error::invalid("url", format!("{}: {e}", self.url)))?;
        self.images.require(ImageFeature::Locations).await?;
        let path = format!("{}/locations", image_path(&self.id)?);
        // Not retried: a second add while the first is imported is refused (409).
        let req = Req::new(ServiceType::Image, Method::POST, path).json(&self.body())?;
        self.images.client.send(req).await.map(drop)
    }
}

impl ImagesApi {
    /// A request to add a location to a queued image (`POST /v2/images/{id}/locations`);
    /// see [`AddLocation`].
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.images().add_location("1bea47ed-f6a9-463b-b423-14b9cca9ad27", "file:///srv/disk.raw").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn add_location(&self, image_id: &str, url: impl Into<String>) -> AddLocation {
        AddLocation {
            images: self.clone(),
            id: image_id.to_owned(),
            url: url.into(),
            validation: None,
        }
    }

    /// The locations of an image's data (`GET /v2/images/{id}/locations`). Glance answers
    /// in one response, so it is a `Vec`.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// for l in client.images().locations("1bea47ed-f6a9-463b-b423-14b9cca9ad27").await? {
    ///     println!("{} {:?}", l.url, l.store());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn locations(&self, image_id: &str) -> Result<Vec<ImageLocation>> {
        self.require(ImageFeature::Locations).await?;
        let path = format!("{}/locations", image_path(image_id)?);
        self.client
            .send_json(Req::new(ServiceType::Image, Method::GET, path))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_carries_validation_data_only_when_given() {
        let images = crate::Client::builder()
            .cloud(crate::CloudConfig::no_auth("http://127.0.0.1:1/v2"))
            .build()
            .unwrap()
            .images();
        let add = images.add_location("i", "file:///d/x");
        assert_eq!(add.body(), json!({"url": "file:///d/x"}));
        let add = add.validation_data("sha512", "ab");
        assert_eq!(
            add.body(),
            json!({"url": "file:///d/x",
                   "validation_data": {"os_hash_algo": "sha512", "os_hash_value": "ab"}})
        );
    }
}
