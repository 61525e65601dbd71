//! Images as the API returned them, as raw JSON: nulls, empty lists and custom properties
//! kept exactly, for tools that print or diff what the server said. The typed
//! [`Image`](crate::Image) leaves absent and empty values out when it is serialized.

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::client::{Req, ServiceType};
use crate::error::Result;
use crate::image::images::{ImagesApi, ListItem, image_path, looks_like_uuid};
use crate::image::query::ImageListQuery;
use crate::paging::{Page, Paginator};
use crate::validate::check_lookup;

/// The images of a listing as raw JSON objects, one page at a time (from
/// [`ImagesApi::list_json`]).
pub type ImageJsonPaginator = Paginator<Value>;

impl ListItem for Value {
    fn marker_id(&self) -> Option<String> {
        self.get("id").and_then(Value::as_str).map(str::to_owned)
    }
}

impl ImagesApi {
    /// One image by id, as the JSON object the API returned.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let image = client.images().get_json("1bea47ed-f6a9-463b-b423-14b9cca9ad27").await?;
    /// println!("{}", image["status"]);
    /// # Ok(()) }
    /// ```
    pub async fn get_json(&self, id: &str) -> Result<Value> {
        self.get_json_as(id).await
    }

    /// One image by id, decoded into a type of the caller's: a struct of only the fields
    /// it needs, or a map that keeps the keys in the order the server sent them
    /// (serde_json's `Value` sorts them, unless its `preserve_order` feature is on).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// #[derive(serde::Deserialize)]
    /// struct Brief {
    ///     name: Option<String>,
    ///     status: String,
    /// }
    /// let brief: Brief = client.images().get_json_as("1bea47ed-f6a9-463b-b423-14b9cca9ad27").await?;
    /// println!("{:?} {}", brief.name, brief.status);
    /// # Ok(()) }
    /// ```
    pub async fn get_json_as<T: DeserializeOwned>(&self, id: &str) -> Result<T> {
        let req = Req::new(ServiceType::Image, Method::GET, image_path(id)?);
        self.client.send_json(req).await
    }

    /// One image by id or name (as [`ImagesApi::find`]), as the JSON object the API returned.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let image = client.images().find_json("cirros").await?;
    /// # Ok(()) }
    /// ```
    pub async fn find_json(&self, name_or_id: &str) -> Result<Value> {
        self.find_json_as(name_or_id).await
    }

    /// One image by id or name, decoded into a type of the caller's (as
    /// [`ImagesApi::get_json_as`]).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let image: std::collections::BTreeMap<String, serde_json::Value> =
    ///     client.images().find_json_as("cirros").await?;
    /// # Ok(()) }
    /// ```
    pub async fn find_json_as<T: DeserializeOwned>(&self, name_or_id: &str) -> Result<T> {
        // By id in one request (not `find` and then a second GET): `osimg image show ID`.
        check_lookup("image", name_or_id)?;
        if looks_like_uuid(name_or_id) {
            match self.get_json_as(name_or_id).await {
                Err(e) if e.is_not_found() => {}
                other => return other,
            }
        }
        let id = self.id_from_name(name_or_id).await?;
        self.get_json_as(&id).await
    }

    /// One page of images as raw JSON objects; paged exactly like [`ImagesApi::list_page`].
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use openstack_images::ImageListQuery;
    /// let page = client.images().list_page_json(&ImageListQuery::new().page_size(10)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn list_page_json(&self, query: &ImageListQuery) -> Result<Page<Value>> {
        self.list_page_of(query).await
    }

    /// Every image matching the query as raw JSON objects, one page in memory at a time;
    /// the same pagination (and repeated-marker protection) as [`ImagesApi::list`].
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use futures_util::TryStreamExt;
    /// use openstack_images::ImageListQuery;
    /// let all: Vec<serde_json::Value> =
    ///     client.images().list_json(ImageListQuery::new().page_size(50)).try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn list_json(&self, query: ImageListQuery) -> ImageJsonPaginator {
        self.paginator_of(query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_items_page_by_their_id() {
        let v = serde_json::json!({"id": "abc", "name": null, "tags": []});
        assert_eq!(v.marker_id().as_deref(), Some("abc"));
        assert_eq!(serde_json::json!({"name": "x"}).marker_id(), None);
    }
}
