//! Images: list, get, create, update, delete, tags, actions, lookups.

use std::marker::PhantomData;
use std::time::SystemTime;

use futures_util::TryStreamExt;
use futures_util::future::BoxFuture;
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use crate::client::{Client, Req, ServiceType, seg};
use crate::error::{Error, Result, exactly_one};
use crate::generated::{Image, ImageCreate};
use crate::image::patch::{ImagePatch, PATCH_MEDIA_TYPE};
use crate::image::query::ImageListQuery;
use crate::paging::{Page, PageSource, Pages, Paginator, next_marker_from_link};
use crate::timestamp::field_time;
use crate::validate::{check_lookup, check_path_value, check_tag};

/// The Image service (Glance v2) of a [`Client`].
///
/// ```no_run
/// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
/// let images = client.images();
/// let image = images.get("1bea47ed-f6a9-463b-b423-14b9cca9ad27").await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ImagesApi {
    pub(crate) client: Client,
}

impl Client {
    /// The Image service (Glance v2).
    ///
    /// ```no_run
    /// # fn run(client: openstack_images::Client) {
    /// let images = client.images();
    /// # }
    /// ```
    pub fn images(&self) -> ImagesApi {
        ImagesApi {
            client: self.clone(),
        }
    }
}

/// The images of a listing, one page at a time (from [`ImagesApi::list`]).
pub type ImagePaginator = Paginator<Image>;

#[derive(Deserialize)]
struct ImagesBody<T> {
    images: Vec<T>,
    #[serde(default)]
    next: Option<String>,
}

/// What a listing can page over: the typed [`Image`], or the image as raw JSON
/// (`image::raw`). The id is the fallback marker when Glance's `next` link has none.
pub(crate) trait ListItem: serde::de::DeserializeOwned + Send + 'static {
    fn marker_id(&self) -> Option<String>;
}

impl ListItem for Image {
    fn marker_id(&self) -> Option<String> {
        Some(self.id.clone())
    }
}

/// `GET /v2/images` as a page source: the query is the caller's, only marker and page
/// size change from page to page.
struct ImagePages<T> {
    api: ImagesApi,
    query: ImageListQuery,
    item: PhantomData<fn() -> T>,
}

impl<T: ListItem> PageSource for ImagePages<T> {
    type Item = T;

    fn fetch_page(
        &self,
        marker: Option<String>,
        page_size: Option<u64>,
    ) -> BoxFuture<'static, Result<Page<T>>> {
        let api = self.api.clone();
        let mut query = self.query.clone();
        query.page_size = page_size;
        query.marker = marker;
        Box::pin(async move { api.list_page_of::<T>(&query).await })
    }

    fn marker_after(&self, item: &T) -> Option<String> {
        item.marker_id()
    }
}

pub(crate) fn image_path(id: &str) -> Result<String> {
    check_path_value("image id", id)?;
    Ok(format!("images/{}", seg(id)))
}

impl ImagesApi {
    /// One page of images. `next_marker` is set when Glance says there may be more.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use openstack_images::ImageListQuery;
    /// let page = client.images().list_page(&ImageListQuery::new().page_size(10)).await?;
    /// println!("{} images, more: {}", page.items.len(), !page.is_last());
    /// # Ok(()) }
    /// ```
    pub async fn list_page(&self, query: &ImageListQuery) -> Result<Page<Image>> {
        self.list_page_of(query).await
    }

    pub(crate) async fn list_page_of<T: ListItem>(
        &self,
        query: &ImageListQuery,
    ) -> Result<Page<T>> {
        let pairs = query.to_pairs()?;
        let base = self.client.endpoint(ServiceType::Image).await?;
        let req = Req::new(ServiceType::Image, Method::GET, "images").query(pairs);
        let body: ImagesBody<T> = self.client.send_json(req).await?;
        // Glance's `next` keeps only the last value of repeated parameters, so only its
        // marker is used; the request for the next page is built from our own query.
        let next_marker =
            next_marker_from_link(&base, body.next.as_deref(), &body.images, T::marker_id);
        Ok(Page::new(body.images, next_marker))
    }

    /// Every page of a listing, fetched one after the other as the stream is polled
    /// (the same as `list(query).pages()`).
    ///
    /// Fails with [`Error::Protocol`] instead of looping if the server hands back a marker
    /// it was already given.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use futures_util::TryStreamExt;
    /// use openstack_images::ImageListQuery;
    /// let pages: Vec<_> = client.images().pages(ImageListQuery::new().page_size(100)).try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn pages(&self, query: ImageListQuery) -> Pages<Image> {
        self.list(query).pages()
    }

    pub(crate) fn paginator_of<T: ListItem>(&self, query: ImageListQuery) -> Paginator<T> {
        let start = query.marker.clone();
        let page_size = query.page_size;
        let source = ImagePages {
            api: self.clone(),
            query: query.without_marker(),
            item: PhantomData,
        };
        Paginator::new(source, start, page_size)
    }

    /// Every image matching the query, as a stream that holds one page in memory at a time.
    /// Cap the total with [`Paginator::max_items`]; see [`Paginator`] for the rest.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use futures_util::TryStreamExt;
    /// use openstack_images::ImageListQuery;
    /// let mut images = client.images().list(ImageListQuery::new().owner("a7509e1a"));
    /// while let Some(image) = images.try_next().await? {
    ///     println!("{} {:?}", image.id, image.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list(&self, query: ImageListQuery) -> ImagePaginator {
        self.paginator_of(query)
    }

    /// Every image matching the query, collected.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let all = client.images().list_all(Default::default()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn list_all(&self, query: ImageListQuery) -> Result<Vec<Image>> {
        self.list(query).try_collect().await
    }

    /// One image by id.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let image = client.images().get("1bea47ed-f6a9-463b-b423-14b9cca9ad27").await?;
    /// # Ok(()) }
    /// ```
    pub async fn get(&self, id: &str) -> Result<Image> {
        let req = Req::new(ServiceType::Image, Method::GET, image_path(id)?);
        self.client.send_json(req).await
    }

    /// Creates an image record (no data yet: status `queued`). The request is validated
    /// against the schema first.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use openstack_images::{ImageCreate, ImageVisibility};
    /// let image = client
    ///     .images()
    ///     .create(ImageCreate::new("image_name").visibility(ImageVisibility::Private))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn create(&self, image: ImageCreate) -> Result<Image> {
        image.validate()?;
        // Creating twice would make two images: POST is not retried.
        let req = Req::new(ServiceType::Image, Method::POST, "images").json(image.properties())?;
        self.client.send_json(req).await
    }

    /// Deletes an image (protected images answer 403).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.images().delete("1bea47ed-f6a9-463b-b423-14b9cca9ad27").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete(&self, id: &str) -> Result<()> {
        let req = Req::new(ServiceType::Image, Method::DELETE, image_path(id)?);
        self.client.send(req).await.map(drop)
    }

    /// Applies a JSON patch and returns the updated image.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use openstack_images::ImagePatch;
    /// let image = client
    ///     .images()
    ///     .update("1bea47ed-f6a9-463b-b423-14b9cca9ad27", ImagePatch::new().replace_name("new_name"))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn update(&self, id: &str, patch: ImagePatch) -> Result<Image> {
        patch.validate()?;
        if patch.is_empty() {
            return self.get(id).await;
        }
        let body =
            serde_json::to_vec(&patch.ops).map_err(|e| Error::invalid("patch", e.to_string()))?;
        // Not retried: a repeated `remove` fails, and `add` to a list is not idempotent.
        let req = Req::new(ServiceType::Image, Method::PATCH, image_path(id)?)
            .body_bytes(body.into(), PATCH_MEDIA_TYPE);
        self.client.send_json(req).await
    }

    /// Brings an image to a desired state with the smallest patch: fetches it, computes
    /// add/replace/remove operations with [`ImagePatch::to_reach`], and sends them.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let image = client
    ///     .images()
    ///     .update_to("1bea47ed-f6a9-463b-b423-14b9cca9ad27", [("os_distro", "cirros".into())], [])
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn update_to<'a>(
        &self,
        id: &str,
        set: impl IntoIterator<Item = (&'a str, Value)>,
        remove: impl IntoIterator<Item = &'a str>,
    ) -> Result<Image> {
        let current = self.get(id).await?;
        let patch = ImagePatch::to_reach(&current, set, remove);
        if patch.is_empty() {
            return Ok(current);
        }
        self.update(id, patch).await
    }

    /// Adds a tag (any characters; it is percent-encoded in the path).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.images().add_tag("1bea47ed-f6a9-463b-b423-14b9cca9ad27", "ubuntu/24.04").await?;
    /// # Ok(()) }
    /// ```
    pub async fn add_tag(&self, id: &str, tag: &str) -> Result<()> {
        self.tag_request(Method::PUT, id, tag).await
    }

    /// Removes a tag (404 if the image does not have it).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.images().remove_tag("1bea47ed-f6a9-463b-b423-14b9cca9ad27", "old").await?;
    /// # Ok(()) }
    /// ```
    pub async fn remove_tag(&self, id: &str, tag: &str) -> Result<()> {
        self.tag_request(Method::DELETE, id, tag).await
    }

    /// Adds several tags, one request each (Glance has no call for several); stops at the
    /// first failure. Every tag is checked before the first request. The image keeps its
    /// other tags; to set the whole list in one request, send
    /// [`ImagePatch::replace_tags`](crate::ImagePatch::replace_tags) to [`ImagesApi::update`].
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.images().add_tags("1bea47ed-f6a9-463b-b423-14b9cca9ad27", ["base", "linux"]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn add_tags<S: AsRef<str>>(
        &self,
        id: &str,
        tags: impl IntoIterator<Item = S>,
    ) -> Result<()> {
        self.tag_requests(Method::PUT, id, tags).await
    }

    /// Removes several tags, one request each; stops at the first failure (404 for a tag
    /// the image does not have). Every tag is checked before the first request.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.images().remove_tags("1bea47ed-f6a9-463b-b423-14b9cca9ad27", ["old", "stale"]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn remove_tags<S: AsRef<str>>(
        &self,
        id: &str,
        tags: impl IntoIterator<Item = S>,
    ) -> Result<()> {
        self.tag_requests(Method::DELETE, id, tags).await
    }

    /// `PUT` (add) or `DELETE` (remove) of one tag.
    async fn tag_request(&self, method: Method, id: &str, tag: &str) -> Result<()> {
        check_tag(tag)?;
        let path = format!("{}/tags/{}", image_path(id)?, seg(tag));
        self.client
            .send(Req::new(ServiceType::Image, method, path))
            .await
            .map(drop)
    }

    /// One [`tag_request`](Self::tag_request) per tag, in order, stopping at the first
    /// failure; every tag is checked before the first request.
    async fn tag_requests<S: AsRef<str>>(
        &self,
        method: Method,
        id: &str,
        tags: impl IntoIterator<Item = S>,
    ) -> Result<()> {
        let tags: Vec<S> = tags.into_iter().collect();
        tags.iter().try_for_each(|tag| check_tag(tag.as_ref()))?;
        for tag in &tags {
            self.tag_request(method.clone(), id, tag.as_ref()).await?;
        }
        Ok(())
    }

    /// Deactivates an image: its data cannot be downloaded until it is reactivated.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.images().deactivate("1bea47ed-f6a9-463b-b423-14b9cca9ad27").await?;
    /// # Ok(()) }
    /// ```
    pub async fn deactivate(&self, id: &str) -> Result<()> {
        self.action(id, "deactivate").await
    }

    /// Reactivates a deactivated image.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.images().reactivate("1bea47ed-f6a9-463b-b423-14b9cca9ad27").await?;
    /// # Ok(()) }
    /// ```
    pub async fn reactivate(&self, id: &str) -> Result<()> {
        self.action(id, "reactivate").await
    }

    async fn action(&self, id: &str, action: &str) -> Result<()> {
        let path = format!("{}/actions/{action}", image_path(id)?);
        // Both actions are idempotent on the server: safe to repeat.
        let req = Req::new(ServiceType::Image, Method::POST, path).idempotent(true);
        self.client.send(req).await.map(drop)
    }

    /// Finds an image by id or by name, hidden and community images included.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let image = client.images().find("cirros").await?;
    /// # Ok(()) }
    /// ```
    pub async fn find(&self, name_or_id: &str) -> Result<Image> {
        check_lookup("image", name_or_id)?;
        if looks_like_uuid(name_or_id) {
            match self.get(name_or_id).await {
                Err(e) if e.is_not_found() => {}
                other => return other,
            }
        }
        let found = self.by_name(name_or_id).await?;
        exactly_one("image", name_or_id, found, |i| i.id.as_str())
    }

    /// The id of the one image with this name; an error names the problem when there is
    /// none or several.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let id = client.images().id_from_name("cirros").await?;
    /// # Ok(()) }
    /// ```
    pub async fn id_from_name(&self, name: &str) -> Result<String> {
        check_lookup("name", name)?;
        let found = self.by_name(name).await?;
        exactly_one("image", name, found, |i| i.id.as_str()).map(|i| i.id)
    }

    async fn by_name(&self, name: &str) -> Result<Vec<Image>> {
        let base = ImageListQuery::new().name(name).all_visibilities();
        // Hidden images are left out of default listings: ask for them separately.
        let (visible, hidden) = tokio::try_join!(
            self.list_all(base.clone()),
            self.list_all(base.os_hidden(true))
        )?;
        let mut all = visible;
        for h in hidden {
            if !all.iter().any(|i| i.id == h.id) {
                all.push(h);
            }
        }
        Ok(all)
    }
}

pub(crate) fn looks_like_uuid(s: &str) -> bool {
    let hex = s.chars().filter(char::is_ascii_hexdigit).count();
    s.len() == 36 && hex == 32 && s.chars().filter(|c| *c == '-').count() == 4
}

/// Typed access to custom properties (the ones outside the schema, kept in
/// [`Image::extra`]), which Glance stores as strings but other clouds may return as booleans
/// or numbers; vendor fields; timestamps as times.
impl Image {
    /// A custom property (one the schema does not define) as sent; schema properties are
    /// fields (`image.os_distro`), not found here.
    ///
    /// ```
    /// let image: openstack_images::Image =
    ///     serde_json::from_str(r#"{"id": "x", "name": "n", "my_key": "v"}"#).unwrap();
    /// assert_eq!(image.custom_property("my_key"), Some(&serde_json::json!("v")));
    /// assert_eq!(image.custom_property("name"), None);
    /// ```
    pub fn custom_property(&self, key: &str) -> Option<&Value> {
        self.extra.get(key)
    }

    /// A custom property as a string; numbers and booleans are not strings and give `None`.
    ///
    /// ```
    /// let image: openstack_images::Image =
    ///     serde_json::from_str(r#"{"id": "x", "hw_qemu_guest_agent": "yes"}"#).unwrap();
    /// assert_eq!(image.custom_property_str("hw_qemu_guest_agent"), Some("yes"));
    /// ```
    pub fn custom_property_str(&self, key: &str) -> Option<&str> {
        self.extra.get(key).and_then(Value::as_str)
    }

    /// A custom property as a boolean: JSON `true`/`false`, or the strings Glance and Nova
    /// treat as booleans (`true`/`false`, `yes`/`no`, `1`/`0`, any case).
    ///
    /// ```
    /// let image: openstack_images::Image =
    ///     serde_json::from_str(r#"{"id": "x", "a": "True", "b": false, "c": "maybe"}"#).unwrap();
    /// assert_eq!(image.custom_property_bool("a"), Some(true));
    /// assert_eq!(image.custom_property_bool("b"), Some(false));
    /// assert_eq!(image.custom_property_bool("c"), None);
    /// ```
    pub fn custom_property_bool(&self, key: &str) -> Option<bool> {
        match self.extra.get(key)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" | "on" => Some(true),
                "false" | "no" | "0" | "off" => Some(false),
                _ => None,
            },
            Value::Number(n) => n.as_i64().map(|n| n != 0),
            _ => None,
        }
    }

    /// A custom property as an integer: a JSON integer or a string holding one.
    ///
    /// ```
    /// let image: openstack_images::Image =
    ///     serde_json::from_str(r#"{"id": "x", "a": "42", "b": 7, "c": "x"}"#).unwrap();
    /// assert_eq!(image.custom_property_i64("a"), Some(42));
    /// assert_eq!(image.custom_property_i64("b"), Some(7));
    /// assert_eq!(image.custom_property_i64("c"), None);
    /// ```
    pub fn custom_property_i64(&self, key: &str) -> Option<i64> {
        match self.extra.get(key)? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// The data size in bytes: Glance's `size`, which is never negative (`None` if it is,
    /// or absent).
    ///
    /// ```
    /// let image: openstack_images::Image =
    ///     serde_json::from_str(r#"{"id": "x", "size": 13267968}"#).unwrap();
    /// assert_eq!(image.size_bytes(), Some(13_267_968u64));
    /// ```
    pub fn size_bytes(&self) -> Option<u64> {
        self.size.and_then(|n| u64::try_from(n).ok())
    }

    /// `created_at` as a time (the field keeps the server's text); an error names the
    /// field if it is not a timestamp.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// let image: openstack_images::Image =
    ///     serde_json::from_str(r#"{"id": "x", "created_at": "2026-11-23T12:57:41Z"}"#).unwrap();
    /// assert_eq!(image.created_at_time()?, Some(UNIX_EPOCH + Duration::from_secs(1_795_438_661)));
    /// # Ok::<(), openstack_images::Error>(())
    /// ```
    pub fn created_at_time(&self) -> Result<Option<SystemTime>> {
        field_time("created_at", self.created_at.as_deref())
    }

    /// `updated_at` as a time (the field keeps the server's text).
    ///
    /// ```
    /// let image: openstack_images::Image =
    ///     serde_json::from_str(r#"{"id": "x", "updated_at": "2026-11-23T12:57:41Z"}"#).unwrap();
    /// assert!(image.updated_at_time()?.is_some());
    /// # Ok::<(), openstack_images::Error>(())
    /// ```
    pub fn updated_at_time(&self) -> Result<Option<SystemTime>> {
        field_time("updated_at", self.updated_at.as_deref())
    }

    /// Huawei Cloud IMS field `virtual_env_type` (FusionCompute, Ironic, DataImage,
    /// IsoImage).
    ///
    /// ```
    /// let image: openstack_images::Image =
    ///     serde_json::from_str(r#"{"id": "x", "virtual_env_type": "FusionCompute"}"#).unwrap();
    /// assert_eq!(image.huawei_virtual_env_type(), Some("FusionCompute"));
    /// ```
    pub fn huawei_virtual_env_type(&self) -> Option<&str> {
        self.custom_property_str("virtual_env_type")
    }

    /// Huawei Cloud IMS field `__os_type` (Linux, Windows, Other); the schema's `os_type`
    /// (`linux`, `windows`) is the field [`Image::os_type`](crate::Image).
    ///
    /// ```
    /// let image: openstack_images::Image =
    ///     serde_json::from_str(r#"{"id": "x", "__os_type": "Linux"}"#).unwrap();
    /// assert_eq!(image.huawei_os_type(), Some("Linux"));
    /// ```
    pub fn huawei_os_type(&self) -> Option<&str> {
        self.custom_property_str("__os_type")
    }

    /// Huawei Cloud IMS field `deleted`.
    ///
    /// ```
    /// let image: openstack_images::Image =
    ///     serde_json::from_str(r#"{"id": "x", "deleted": false}"#).unwrap();
    /// assert_eq!(image.huawei_deleted(), Some(false));
    /// ```
    pub fn huawei_deleted(&self) -> Option<bool> {
        self.custom_property_bool("deleted")
    }

    /// Huawei Cloud IMS field `deleted_at`, as sent.
    ///
    /// ```
    /// let image: openstack_images::Image =
    ///     serde_json::from_str(r#"{"id": "x", "deleted_at": "2026-01-01T00:00:00Z"}"#).unwrap();
    /// assert_eq!(image.huawei_deleted_at(), Some("2026-01-01T00:00:00Z"));
    /// ```
    pub fn huawei_deleted_at(&self) -> Option<&str> {
        self.custom_property_str("deleted_at")
    }

    /// Vendor field `metadata` (an object some clouds add to the image), if present.
    ///
    /// ```
    /// let image: openstack_images::Image =
    ///     serde_json::from_str(r#"{"id": "x", "metadata": {"k": "v"}}"#).unwrap();
    /// assert_eq!(image.vendor_metadata().unwrap()["k"], "v");
    /// ```
    pub fn vendor_metadata(&self) -> Option<&serde_json::Map<String, Value>> {
        self.extra.get("metadata").and_then(Value::as_object)
    }
}
