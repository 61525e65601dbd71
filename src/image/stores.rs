//! Stores of a multi-store cloud beyond the list (`image::import`): their details (Image
//! API 2.15, admin) and deleting an image's data from one store (2.10).

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::client::{Req, ServiceType, seg};
use crate::error::Result;
use crate::image::features::{ImageFeature, unsupported_on_404};
use crate::image::images::ImagesApi;
use crate::validate::check_path_value;

/// One store with its details (`GET /v2/info/stores/detail`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct StoreDetail {
    /// The store's id.
    pub id: String,
    /// The operator's description.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether data goes there when no store is named (Glance writes `"true"`).
    #[serde(default, deserialize_with = "crate::image::import::bool_or_string")]
    pub default: bool,
    /// Whether the store is read-only (the `http` store; Glance writes `read-only`).
    #[serde(
        default,
        alias = "read-only",
        deserialize_with = "crate::image::import::bool_or_string"
    )]
    pub read_only: bool,
    /// The driver (`file`, `rbd`, `swift`, `cinder`, `s3`, `http`).
    #[serde(default, rename = "type")]
    pub store_type: Option<String>,
    /// The store's weight in location ordering.
    #[serde(default)]
    pub weight: Option<i64>,
    /// Driver properties (`data_dir`, `pool`, `chunk_size`, ...).
    #[serde(default)]
    pub properties: Map<String, Value>,
}

impl ImagesApi {
    /// The stores with their type, weight and driver properties (admin only by default).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// for s in client.images().stores_detail().await? {
    ///     println!("{} {:?} {:?}", s.id, s.store_type, s.properties.get("data_dir"));
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn stores_detail(&self) -> Result<Vec<StoreDetail>> {
        #[derive(Deserialize)]
        struct Body {
            stores: Vec<StoreDetail>,
        }
        self.require(ImageFeature::StoresDetail).await?;
        let req = Req::new(ServiceType::Image, Method::GET, "info/stores/detail");
        let body: Body = self
            .client
            .send_json(req)
            .await
            .map_err(|e| unsupported_on_404(ImageFeature::StoresDetail, e))?;
        Ok(body.stores)
    }

    /// Deletes an active image's data from one store, keeping the image and its other
    /// locations (`DELETE /v2/stores/{store}/{image}`). Glance refuses (403) to remove the
    /// last location: delete the image instead.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.images().delete_from_store("fs2", "1bea47ed-f6a9-463b-b423-14b9cca9ad27").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_from_store(&self, store_id: &str, image_id: &str) -> Result<()> {
        check_path_value("store", store_id)?;
        check_path_value("image id", image_id)?;
        self.require(ImageFeature::MultipleStores).await?;
        let path = format!("stores/{}/{}", seg(store_id), seg(image_id));
        let req = Req::new(ServiceType::Image, Method::DELETE, path);
        self.client.send(req).await.map(drop)
    }
}
