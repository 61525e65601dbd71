//! Images: list, get, create, update, delete, tags, actions, lookups.

use futures_core::Stream;
use futures_util::{TryStreamExt, stream};
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use crate::client::{Client, Req, ServiceType, seg};
use crate::error::{Error, Result, exactly_one};
use crate::generated::{Image, ImageCreate};
use crate::image::patch::{ImagePatch, PATCH_MEDIA_TYPE};
use crate::image::query::ImageListQuery;
use crate::paging::{Page, marker_of, resolve_link};
use crate::validate::{check_path_value, check_tag};

/// The Image service (Glance v2) of a [`Client`].
///
/// ```no_run
/// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
/// let images = client.images();
/// let image = images.get("1bea47ed-f6a9-463b-b423-14b9cca9ad27").await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Images {
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
    pub fn images(&self) -> Images {
        Images {
            client: self.clone(),
        }
    }
}

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

pub(crate) fn image_path(id: &str) -> Result<String> {
    check_path_value("image id", id)?;
    Ok(format!("images/{}", seg(id)))
}

impl Images {
    /// One page of images. `next_marker` is set when Glance says there may be more.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use openstack_images::ImageListQuery;
    /// let page = client.images().list_page(&ImageListQuery::new().limit(10)).await?;
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
        let next_marker = match body.next.as_deref() {
            None => None,
            Some(_) if body.images.is_empty() => None,
            Some(href) => resolve_link(&base, href)
                .and_then(|u| marker_of(&u))
                .or_else(|| body.images.last().and_then(ListItem::marker_id)),
        };
        Ok(Page::new(body.images, next_marker))
    }

    /// Every page of a listing, fetched one after the other as the stream is polled.
    ///
    /// Fails with [`Error::Protocol`] instead of looping if the server hands back a marker
    /// it was already given.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use futures_util::TryStreamExt;
    /// use openstack_images::ImageListQuery;
    /// let pages: Vec<_> = client.images().pages(ImageListQuery::new().limit(100)).try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn pages(
        &self,
        query: ImageListQuery,
    ) -> impl Stream<Item = Result<Page<Image>>> + Send + 'static {
        self.pages_of(query)
    }

    pub(crate) fn pages_of<T: ListItem>(
        &self,
        query: ImageListQuery,
    ) -> impl Stream<Item = Result<Page<T>>> + Send + 'static {
        let images = self.clone();
        let start = query.marker.clone();
        let seen = std::collections::HashSet::<String>::new();
        stream::try_unfold(
            (images, query, Some(start), seen),
            |(images, query, marker, mut seen)| async move {
                let Some(marker) = marker else {
                    return Ok(None);
                };
                let q = match &marker {
                    Some(m) => query.without_marker().marker(m.clone()),
                    None => query.without_marker(),
                };
                let page = images.list_page_of::<T>(&q).await?;
                let next = match &page.next_marker {
                    Some(m) if !seen.insert(m.clone()) || marker.as_deref() == Some(m) => {
                        return Err(Error::Protocol(format!(
                            "the server returned marker {m} again: stopping instead of looping"
                        )));
                    }
                    Some(m) => Some(Some(m.clone())),
                    None => None,
                };
                Ok(Some((page, (images, query, next, seen))))
            },
        )
    }

    /// Every image matching the query, as a stream that holds one page in memory at a time.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use futures_util::TryStreamExt;
    /// use openstack_images::ImageListQuery;
    /// let mut stream = std::pin::pin!(client.images().list(ImageListQuery::new().owner("a7509e1a")));
    /// while let Some(image) = stream.try_next().await? {
    ///     println!("{} {:?}", image.id, image.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list(
        &self,
        query: ImageListQuery,
    ) -> impl Stream<Item = Result<Image>> + Send + 'static {
        self.pages(query)
            .map_ok(|page| stream::iter(page.items.into_iter().map(Ok)))
            .try_flatten()
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
        check_tag(tag)?;
        let path = format!("{}/tags/{}", image_path(id)?, seg(tag));
        self.client
            .send(Req::new(ServiceType::Image, Method::PUT, path))
            .await
            .map(drop)
    }

    /// Removes a tag (404 if the image does not have it).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.images().remove_tag("1bea47ed-f6a9-463b-b423-14b9cca9ad27", "old").await?;
    /// # Ok(()) }
    /// ```
    pub async fn remove_tag(&self, id: &str, tag: &str) -> Result<()> {
        check_tag(tag)?;
        let path = format!("{}/tags/{}", image_path(id)?, seg(tag));
        self.client
            .send(Req::new(ServiceType::Image, Method::DELETE, path))
            .await
            .map(drop)
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
        check_path_value("image", name_or_id)?;
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
        check_path_value("name", name)?;
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

fn looks_like_uuid(s: &str) -> bool {
    let hex = s.chars().filter(char::is_ascii_hexdigit).count();
    s.len() == 36 && hex == 32 && s.chars().filter(|c| *c == '-').count() == 4
}

/// Typed access to custom properties, which Glance stores as strings but other clouds may
/// return as booleans or numbers.
impl Image {
    /// A property by name: a typed field's value as JSON, or a custom property as sent.
    ///
    /// ```
    /// let image: openstack_images::Image =
    ///     serde_json::from_str(r#"{"id": "x", "name": "n", "my_key": "v"}"#).unwrap();
    /// assert_eq!(image.property("my_key"), Some(&serde_json::json!("v")));
    /// ```
    pub fn property(&self, key: &str) -> Option<&Value> {
        self.extra.get(key)
    }

    /// A custom property as a string; numbers and booleans are not strings and give `None`.
    ///
    /// ```
    /// let image: openstack_images::Image =
    ///     serde_json::from_str(r#"{"id": "x", "hw_qemu_guest_agent": "yes"}"#).unwrap();
    /// assert_eq!(image.property_str("hw_qemu_guest_agent"), Some("yes"));
    /// ```
    pub fn property_str(&self, key: &str) -> Option<&str> {
        self.extra.get(key).and_then(Value::as_str)
    }

    /// A custom property as a boolean: JSON `true`/`false`, or the strings Glance and Nova
    /// treat as booleans (`true`/`false`, `yes`/`no`, `1`/`0`, any case).
    ///
    /// ```
    /// let image: openstack_images::Image =
    ///     serde_json::from_str(r#"{"id": "x", "a": "True", "b": false, "c": "maybe"}"#).unwrap();
    /// assert_eq!(image.property_bool("a"), Some(true));
    /// assert_eq!(image.property_bool("b"), Some(false));
    /// assert_eq!(image.property_bool("c"), None);
    /// ```
    pub fn property_bool(&self, key: &str) -> Option<bool> {
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
    /// assert_eq!(image.property_i64("a"), Some(42));
    /// assert_eq!(image.property_i64("b"), Some(7));
    /// assert_eq!(image.property_i64("c"), None);
    /// ```
    pub fn property_i64(&self, key: &str) -> Option<i64> {
        match self.extra.get(key)? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// Vendor field `virtual_env_type` (Huawei Cloud IMS: FusionCompute, Ironic, DataImage,
    /// IsoImage).
    ///
    /// ```
    /// let image: openstack_images::Image =
    ///     serde_json::from_str(r#"{"id": "x", "virtual_env_type": "FusionCompute"}"#).unwrap();
    /// assert_eq!(image.virtual_env_type(), Some("FusionCompute"));
    /// ```
    pub fn virtual_env_type(&self) -> Option<&str> {
        self.property_str("virtual_env_type")
    }

    /// Vendor field `deleted` (Huawei Cloud IMS).
    ///
    /// ```
    /// let image: openstack_images::Image =
    ///     serde_json::from_str(r#"{"id": "x", "deleted": false}"#).unwrap();
    /// assert_eq!(image.deleted(), Some(false));
    /// ```
    pub fn deleted(&self) -> Option<bool> {
        self.property_bool("deleted")
    }

    /// Vendor field `deleted_at` (Huawei Cloud IMS), as sent.
    ///
    /// ```
    /// let image: openstack_images::Image =
    ///     serde_json::from_str(r#"{"id": "x", "deleted_at": "2026-01-01T00:00:00Z"}"#).unwrap();
    /// assert_eq!(image.deleted_at(), Some("2026-01-01T00:00:00Z"));
    /// ```
    pub fn deleted_at(&self) -> Option<&str> {
        self.property_str("deleted_at")
    }

    /// Vendor field `metadata` (an object some clouds return), if present.
    ///
    /// ```
    /// let image: openstack_images::Image =
    ///     serde_json::from_str(r#"{"id": "x", "metadata": {"k": "v"}}"#).unwrap();
    /// assert_eq!(image.metadata().unwrap()["k"], "v");
    /// ```
    pub fn metadata(&self) -> Option<&serde_json::Map<String, Value>> {
        self.extra.get("metadata").and_then(Value::as_object)
    }
}
