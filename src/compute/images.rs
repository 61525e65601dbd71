//! Images through the Compute API: `/v2.1/images`, `/images/detail`, `/images/{id}/metadata`.

use std::collections::BTreeMap;
use std::time::SystemTime;

use futures_util::TryStreamExt;
use futures_util::future::BoxFuture;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::client::{Client, Req, ServiceType, seg};
use crate::error::{Error, Result, exactly_one};
use crate::generated::{ComputeImage, ComputeLink};
use crate::paging::{Page, PageSource, Pages, Paginator, marker_of, resolve_link};
use crate::timestamp::field_time;
use crate::validate::{check_lookup, check_path_value};

/// The Compute service's images API (deprecated by Nova; pinned to microversion 2.35).
///
/// ```no_run
/// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
/// let image = client.compute_images().get("1bea47ed-f6a9-463b-b423-14b9cca9ad27").await?;
/// println!("{:?} {:?}", image.name, image.status);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ComputeImagesApi {
    client: Client,
}

impl Client {
    /// The Compute service's images API.
    ///
    /// ```no_run
    /// # fn run(client: openstack_images::Client) {
    /// let images = client.compute_images();
    /// # }
    /// ```
    pub fn compute_images(&self) -> ComputeImagesApi {
        ComputeImagesApi {
            client: self.clone(),
        }
    }
}

/// Filters of `GET /images/detail` (the seed's ListOpts, plus minRam/minDisk).
///
/// ```
/// use openstack_images::ComputeImageQuery;
/// let q = ComputeImageQuery::new().name("cirros").image_type("snapshot").page_size(2);
/// assert_eq!(q.to_pairs().len(), 3);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[must_use]
pub struct ComputeImageQuery {
    pairs: Vec<(String, String)>,
    page_size: Option<u64>,
    marker: Option<String>,
}

impl ComputeImageQuery {
    /// No filters.
    pub fn new() -> Self {
        Self::default()
    }

    fn set(mut self, k: &str, v: String) -> Self {
        self.pairs.retain(|(key, _)| key != k);
        self.pairs.push((k.to_owned(), v));
        self
    }

    /// Only images changed since this time (ISO 8601), deleted ones included.
    pub fn changes_since(self, time: impl Into<String>) -> Self {
        self.set("changes-since", time.into())
    }

    /// Images per request, Nova's `limit`. The total is capped with
    /// [`Paginator::max_items`].
    ///
    /// ```
    /// let q = openstack_images::ComputeImageQuery::new().page_size(200);
    /// assert_eq!(q.to_pairs(), [("limit".to_owned(), "200".to_owned())]);
    /// ```
    pub fn page_size(mut self, images: u64) -> Self {
        self.page_size = Some(images);
        self
    }

    /// Start after this image id.
    ///
    /// ```
    /// let q = openstack_images::ComputeImageQuery::new().marker("1bea47ed-f6a9-463b-b423-14b9cca9ad27");
    /// assert_eq!(q.to_pairs()[0].0, "marker");
    /// ```
    pub fn marker(mut self, image_id: &str) -> Self {
        self.marker = Some(image_id.to_owned());
        self
    }

    /// Only images with this name.
    pub fn name(self, name: impl Into<String>) -> Self {
        self.set("name", name.into())
    }

    /// Only snapshots of this server (its id or URL).
    pub fn server(self, server: impl Into<String>) -> Self {
        self.set("server", server.into())
    }

    /// Only images in this status (Nova's names: ACTIVE, SAVING, ...).
    pub fn status(self, status: impl Into<String>) -> Self {
        self.set("status", status.into())
    }

    /// Only images of this type (`snapshot` or `backup`, from the `image_type` property).
    pub fn image_type(self, t: impl Into<String>) -> Self {
        self.set("type", t.into())
    }

    /// Only images needing at least this much RAM (MB).
    pub fn min_ram(self, mb: u64) -> Self {
        self.set("minRam", mb.to_string())
    }

    /// Only images needing at least this much disk (GB).
    pub fn min_disk(self, gb: u64) -> Self {
        self.set("minDisk", gb.to_string())
    }

    /// The query as `key=value` pairs.
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        let mut out = self.pairs.clone();
        if let Some(n) = self.page_size {
            out.push(("limit".into(), n.to_string()));
        }
        if let Some(m) = &self.marker {
            out.push(("marker".into(), m.clone()));
        }
        out
    }
}

#[derive(Deserialize)]
struct DetailBody {
    images: Vec<ComputeImage>,
    #[serde(default)]
    images_links: Vec<ComputeLink>,
}

#[derive(Deserialize)]
struct ImageBody {
    image: ComputeImage,
}

#[derive(Deserialize)]
struct MetadataBody {
    metadata: BTreeMap<String, Value>,
}

#[derive(Deserialize)]
struct MetaBody {
    meta: BTreeMap<String, Value>,
}

/// Explains a 404/406 on the images API when the cloud cannot serve microversion 2.35.
fn explain(e: Error) -> Error {
    match &e {
        Error::Api(a) if a.status == 406 => Error::Config(format!(
            "this cloud's Compute API does not accept microversion {} (its minimum is higher); \
             the images API was removed in 2.36, so use the Image service (Client::images) \
             instead: {}",
            crate::service::COMPUTE_MICROVERSION,
            a.message
        )),
        _ => e,
    }
}

fn image_path(id: &str) -> Result<String> {
    check_path_value("image id", id)?;
    Ok(format!("images/{}", seg(id)))
}

/// The images of a Nova listing, one page at a time (from [`ComputeImagesApi::list`]).
pub type ComputeImagePaginator = Paginator<ComputeImage>;

/// `GET /images/detail` as a page source: the caller's filters, with the marker and page
/// size of each page.
struct ComputeImagePages {
    api: ComputeImagesApi,
    query: ComputeImageQuery,
}

impl PageSource for ComputeImagePages {
    type Item = ComputeImage;

    fn fetch_page(
        &self,
        marker: Option<String>,
        page_size: Option<u64>,
    ) -> BoxFuture<'static, Result<Page<ComputeImage>>> {
        let api = self.api.clone();
        let query = ComputeImageQuery {
            marker,
            page_size,
            ..self.query.clone()
        };
        Box::pin(async move { api.list_page(&query).await })
    }

    fn marker_after(&self, image: &ComputeImage) -> Option<String> {
        Some(image.id.clone())
    }
}

impl ComputeImagesApi {
    async fn json<T: serde::de::DeserializeOwned>(&self, req: Req) -> Result<T> {
        self.client.send_json(req).await.map_err(explain)
    }

    /// One page of `GET /images/detail`.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use openstack_images::ComputeImageQuery;
    /// let page = client.compute_images().list_page(&ComputeImageQuery::new().page_size(2)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn list_page(&self, query: &ComputeImageQuery) -> Result<Page<ComputeImage>> {
        let base = self.client.endpoint(ServiceType::Compute).await?;
        let req =
            Req::new(ServiceType::Compute, Method::GET, "images/detail").query(query.to_pairs());
        let body: DetailBody = self.json(req).await?;
        let next = body
            .images_links
            .iter()
            .find(|l| l.rel == "next")
            .filter(|_| !body.images.is_empty())
            .and_then(|l| resolve_link(&base, &l.href))
            .and_then(|u| marker_of(&u));
        Ok(Page::new(body.images, next))
    }

    /// Every image, following `images_links` (rel `next`), one page in memory at a time.
    /// The next request is built from the query and the link's marker.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use futures_util::TryStreamExt;
    /// use openstack_images::ComputeImageQuery;
    /// let mut images = client.compute_images().list(ComputeImageQuery::new().page_size(2));
    /// while let Some(image) = images.try_next().await? {
    ///     println!("{} {:?}", image.id, image.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list(&self, query: ComputeImageQuery) -> ComputeImagePaginator {
        let start = query.marker.clone();
        let page_size = query.page_size;
        let source = ComputeImagePages {
            api: self.clone(),
            query,
        };
        Paginator::new(source, start, page_size)
    }

    /// Every page of a listing (the same as `list(query).pages()`).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use futures_util::TryStreamExt;
    /// use openstack_images::ComputeImageQuery;
    /// let pages: Vec<_> = client.compute_images().pages(ComputeImageQuery::new().page_size(2)).try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn pages(&self, query: ComputeImageQuery) -> Pages<ComputeImage> {
        self.list(query).pages()
    }

    /// Every image, collected.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let all = client.compute_images().list_all(Default::default()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn list_all(&self, query: ComputeImageQuery) -> Result<Vec<ComputeImage>> {
        self.list(query).try_collect().await
    }

    /// One image.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let image = client.compute_images().get("1bea47ed-f6a9-463b-b423-14b9cca9ad27").await?;
    /// # Ok(()) }
    /// ```
    pub async fn get(&self, id: &str) -> Result<ComputeImage> {
        let body: ImageBody = self
            .json(Req::new(ServiceType::Compute, Method::GET, image_path(id)?))
            .await?;
        Ok(body.image)
    }

    /// Deletes an image (Nova deletes it in Glance).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.compute_images().delete("1bea47ed-f6a9-463b-b423-14b9cca9ad27").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete(&self, id: &str) -> Result<()> {
        let req = Req::new(ServiceType::Compute, Method::DELETE, image_path(id)?);
        self.client.send(req).await.map(drop).map_err(explain)
    }

    /// The id of the one image with this name; clear errors for none and several.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let id = client.compute_images().id_from_name("cirros").await?;
    /// # Ok(()) }
    /// ```
    pub async fn id_from_name(&self, name: &str) -> Result<String> {
        check_lookup("name", name)?;
        let found: Vec<ComputeImage> = self
            .list_all(ComputeImageQuery::new().name(name))
            .await?
            .into_iter()
            .filter(|i| i.name.as_deref() == Some(name))
            .collect();
        exactly_one("compute image", name, found, |i| i.id.as_str()).map(|i| i.id)
    }

    /// All metadata (custom properties) of an image.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let meta = client.compute_images().metadata("1bea47ed-f6a9-463b-b423-14b9cca9ad27").await?;
    /// # Ok(()) }
    /// ```
    pub async fn metadata(&self, id: &str) -> Result<BTreeMap<String, Value>> {
        let path = format!("{}/metadata", image_path(id)?);
        let body: MetadataBody = self
            .json(Req::new(ServiceType::Compute, Method::GET, path))
            .await?;
        Ok(body.metadata)
    }

    /// Merges keys into the metadata (`POST /metadata`); returns the whole metadata.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let meta = client.compute_images().update_metadata("1bea47ed-f6a9-463b-b423-14b9cca9ad27", [("k", "v")]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn update_metadata<'a>(
        &self,
        id: &str,
        items: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<BTreeMap<String, Value>> {
        self.write_metadata(Method::POST, id, items).await
    }

    /// Replaces the whole metadata (`PUT /metadata`): keys not given are removed.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.compute_images().set_metadata("1bea47ed-f6a9-463b-b423-14b9cca9ad27", [("k", "v")]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_metadata<'a>(
        &self,
        id: &str,
        items: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<BTreeMap<String, Value>> {
        self.write_metadata(Method::PUT, id, items).await
    }

    /// POST merges, PUT replaces: both send `{"metadata": {...}}` and return the result.
    async fn write_metadata<'a>(
        &self,
        method: Method,
        id: &str,
        items: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<BTreeMap<String, Value>> {
        let path = format!("{}/metadata", image_path(id)?);
        let meta: BTreeMap<&str, &str> = items.into_iter().collect();
        let req =
            Req::new(ServiceType::Compute, method, path).json(&json!({ "metadata": meta }))?;
        let body: MetadataBody = self.json(req).await?;
        Ok(body.metadata)
    }

    /// One metadata key.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let v = client.compute_images().metadata_item("1bea47ed-f6a9-463b-b423-14b9cca9ad27", "os_distro").await?;
    /// # Ok(()) }
    /// ```
    pub async fn metadata_item(&self, id: &str, key: &str) -> Result<Value> {
        check_path_value("key", key)?;
        let path = format!("{}/metadata/{}", image_path(id)?, seg(key));
        let body: MetaBody = self
            .json(Req::new(ServiceType::Compute, Method::GET, path))
            .await?;
        body.meta
            .into_values()
            .next()
            .ok_or_else(|| Error::Protocol(format!("no value for metadata key {key}")))
    }

    /// Sets one metadata key (`PUT /metadata/{key}`).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.compute_images().set_metadata_item("1bea47ed-f6a9-463b-b423-14b9cca9ad27", "k", "v").await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_metadata_item(&self, id: &str, key: &str, value: &str) -> Result<()> {
        check_path_value("key", key)?;
        let path = format!("{}/metadata/{}", image_path(id)?, seg(key));
        let req = Req::new(ServiceType::Compute, Method::PUT, path)
            .json(&json!({ "meta": { key: value } }))?;
        let _: MetaBody = self.json(req).await?;
        Ok(())
    }

    /// Deletes one metadata key.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.compute_images().delete_metadata_item("1bea47ed-f6a9-463b-b423-14b9cca9ad27", "k").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_metadata_item(&self, id: &str, key: &str) -> Result<()> {
        check_path_value("key", key)?;
        let path = format!("{}/metadata/{}", image_path(id)?, seg(key));
        self.client
            .send(Req::new(ServiceType::Compute, Method::DELETE, path))
            .await
            .map(drop)
            .map_err(explain)
    }
}

/// Nova's timestamps as times, and its size as bytes.
impl ComputeImage {
    /// `created` as a time (the field keeps the server's text); an error names the field if
    /// it is not a timestamp.
    ///
    /// ```
    /// let image: openstack_images::ComputeImage =
    ///     serde_json::from_str(r#"{"id": "x", "created": "2026-11-23T12:57:41Z"}"#).unwrap();
    /// assert!(image.created_time()?.is_some());
    /// # Ok::<(), openstack_images::Error>(())
    /// ```
    pub fn created_time(&self) -> Result<Option<SystemTime>> {
        field_time("created", self.created.as_deref())
    }

    /// `updated` as a time (the field keeps the server's text).
    ///
    /// ```
    /// let image: openstack_images::ComputeImage =
    ///     serde_json::from_str(r#"{"id": "x", "updated": "2026-11-23T12:57:41Z"}"#).unwrap();
    /// assert!(image.updated_time()?.is_some());
    /// # Ok::<(), openstack_images::Error>(())
    /// ```
    pub fn updated_time(&self) -> Result<Option<SystemTime>> {
        field_time("updated", self.updated.as_deref())
    }

    /// The data size in bytes, from `OS-EXT-IMG-SIZE:size` (`None` if absent or negative).
    ///
    /// ```
    /// let image: openstack_images::ComputeImage =
    ///     serde_json::from_str(r#"{"id": "x", "OS-EXT-IMG-SIZE:size": 74185822}"#).unwrap();
    /// assert_eq!(image.size_bytes(), Some(74_185_822u64));
    /// ```
    pub fn size_bytes(&self) -> Option<u64> {
        self.os_ext_img_size_size
            .and_then(|n| u64::try_from(n).ok())
    }
}
