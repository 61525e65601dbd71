//! The image cache API (`/v2/cache`, Image API 2.14 and 2.16; clean and prune 2.18): what
//! a Glance node keeps in its local cache, and what it is told to fetch. Offered only where
//! the operator enabled the cache; every call checks [`ImagesApi::features`] first, so a
//! cloud without it gets [`Error::Unsupported`](crate::Error::Unsupported) and no request.

use std::time::{Duration, SystemTime};

use reqwest::Method;
use reqwest::header::HeaderValue;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::client::{Req, ServiceType, seg};
use crate::error::Result;
use crate::image::features::{ImageFeature, unsupported_on_404};
use crate::image::images::ImagesApi;
use crate::validate::check_path_value;

/// The cache of a Glance node (`GET /v2/cache`): images cached and images queued.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[non_exhaustive]
pub struct CacheState {
    /// Images whose data the node has cached.
    #[serde(default, rename = "cached_images")]
    pub cached: Vec<CachedImage>,
    /// Ids of images queued for caching (the node fetches them in the background).
    #[serde(default, rename = "queued_images")]
    pub queued: Vec<String>,
}

/// One cached image. Glance gives times as seconds since the epoch (fractions included).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct CachedImage {
    /// The image.
    pub image_id: String,
    /// Bytes cached.
    #[serde(default)]
    pub size: Option<u64>,
    /// How often the cached copy was served.
    #[serde(default)]
    pub hits: Option<u64>,
    /// When the cached copy was last served (seconds since the epoch).
    #[serde(default)]
    pub last_accessed: Option<f64>,
    /// When the cached copy was written (seconds since the epoch).
    #[serde(default)]
    pub last_modified: Option<f64>,
    /// Anything else the server sends (`id`, `checksum`, ...), kept as it came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn epoch_time(seconds: Option<f64>) -> Option<SystemTime> {
    let s = seconds.filter(|s| s.is_finite() && *s >= 0.0)?;
    SystemTime::UNIX_EPOCH.checked_add(Duration::try_from_secs_f64(s).ok()?)
}

impl CachedImage {
    /// `last_accessed` as a time (`None` when absent or not a valid time).
    ///
    /// ```
    /// let c: openstack_images::CachedImage =
    ///     serde_json::from_str(r#"{"image_id": "i", "last_accessed": 1796190793.5}"#).unwrap();
    /// assert!(c.last_accessed_time().is_some());
    /// ```
    pub fn last_accessed_time(&self) -> Option<SystemTime> {
        epoch_time(self.last_accessed)
    }

    /// `last_modified` as a time.
    ///
    /// ```
    /// let c: openstack_images::CachedImage = serde_json::from_str(r#"{"image_id": "i"}"#).unwrap();
    /// assert_eq!(c.last_modified_time(), None);
    /// ```
    pub fn last_modified_time(&self) -> Option<SystemTime> {
        epoch_time(self.last_modified)
    }
}

/// What [`ImagesApi::cache_clear`] empties (`x-image-cache-clear-target`).
///
/// ```
/// assert_eq!(openstack_images::CacheClear::Queued.header(), Some("queue"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CacheClear {
    /// The cached images and the queue.
    #[default]
    All,
    /// The cached images only.
    Cached,
    /// The queue only.
    Queued,
}

impl CacheClear {
    /// The header value; none for [`CacheClear::All`], the server's default.
    ///
    /// ```
    /// assert_eq!(openstack_images::CacheClear::All.header(), None);
    /// ```
    pub fn header(self) -> Option<&'static str> {
        match self {
            CacheClear::All => None,
            CacheClear::Cached => Some("cache"),
            CacheClear::Queued => Some("queue"),
        }
    }
}

/// What [`ImagesApi::cache_prune`] removed to bring the cache under its size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[non_exhaustive]
pub struct CachePruned {
    /// Files removed.
    #[serde(default)]
    pub total_files_pruned: u64,
    /// Bytes freed.
    #[serde(default)]
    pub total_bytes_pruned: u64,
}

fn cache_path(image_id: &str) -> Result<String> {
    check_path_value("image id", image_id)?;
    Ok(format!("cache/{}", seg(image_id)))
}

impl ImagesApi {
    /// The cached and queued images of the node that answers.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let state = client.images().cache_state().await?;
    /// println!("{} cached, {} queued", state.cached.len(), state.queued.len());
    /// # Ok(()) }
    /// ```
    pub async fn cache_state(&self) -> Result<CacheState> {
        self.require(ImageFeature::Cache).await?;
        let req = Req::new(ServiceType::Image, Method::GET, "cache");
        self.client
            .send_json(req)
            .await
            .map_err(|e| unsupported_on_404(ImageFeature::Cache, e))
    }

    /// Queues an active image for caching (Glance answers 202 and fetches it in the
    /// background; [`cache_state`](Self::cache_state) shows when it is cached).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.images().cache_queue("1bea47ed-f6a9-463b-b423-14b9cca9ad27").await?;
    /// # Ok(()) }
    /// ```
    pub async fn cache_queue(&self, image_id: &str) -> Result<()> {
        let path = cache_path(image_id)?;
        self.require(ImageFeature::Cache).await?;
        let req = Req::new(ServiceType::Image, Method::PUT, path);
        self.client.send(req).await.map(drop)
    }

    /// Removes an image from the cache and from the queue.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.images().cache_delete("1bea47ed-f6a9-463b-b423-14b9cca9ad27").await?;
    /// # Ok(()) }
    /// ```
    pub async fn cache_delete(&self, image_id: &str) -> Result<()> {
        let path = cache_path(image_id)?;
        self.require(ImageFeature::Cache).await?;
        let req = Req::new(ServiceType::Image, Method::DELETE, path);
        self.client.send(req).await.map(drop)
    }

    /// Empties the cache, the queue, or both.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use openstack_images::CacheClear;
    /// client.images().cache_clear(CacheClear::Queued).await?;
    /// # Ok(()) }
    /// ```
    pub async fn cache_clear(&self, what: CacheClear) -> Result<()> {
        self.require(ImageFeature::Cache).await?;
        let mut req = Req::new(ServiceType::Image, Method::DELETE, "cache");
        if let Some(target) = what.header() {
            req = req.header(
                "x-image-cache-clear-target",
                HeaderValue::from_static(target),
            );
        }
        self.client
            .send(req)
            .await
            .map(drop)
            .map_err(|e| unsupported_on_404(ImageFeature::Cache, e))
    }

    /// The URLs of the Glance nodes that hold an image in their cache (Glance's
    /// `centralized_db` cache driver; other drivers answer 409). API 2.18 (OpenStack
    /// 2026.2): an older Glance is [`Error::Unsupported`](crate::Error::Unsupported) before
    /// any request.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// for node in client.images().cache_nodes("1bea47ed-f6a9-463b-b423-14b9cca9ad27").await? {
    ///     println!("{node}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn cache_nodes(&self, image_id: &str) -> Result<Vec<String>> {
        check_path_value("image id", image_id)?;
        self.require(ImageFeature::Cache).await?;
        self.require(ImageFeature::CacheNodes).await?;
        let path = format!("cache/nodes/{}", seg(image_id));
        self.client
            .send_json(Req::new(ServiceType::Image, Method::GET, path))
            .await
    }

    /// Removes invalid cache entries and downloads stalled longer than the operator allows
    /// (API 2.18).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.images().cache_clean().await?;
    /// # Ok(()) }
    /// ```
    pub async fn cache_clean(&self) -> Result<()> {
        self.require(ImageFeature::CacheMaintenance).await?;
        // Doing it twice does no harm.
        let req = Req::new(ServiceType::Image, Method::POST, "cache/clean").idempotent(true);
        self.client
            .send(req)
            .await
            .map(drop)
            .map_err(|e| unsupported_on_404(ImageFeature::CacheMaintenance, e))
    }

    /// Removes cached images, least recently used first, until the cache is below its
    /// configured size (API 2.18).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let pruned = client.images().cache_prune().await?;
    /// println!("{} bytes freed", pruned.total_bytes_pruned);
    /// # Ok(()) }
    /// ```
    pub async fn cache_prune(&self) -> Result<CachePruned> {
        self.require(ImageFeature::CacheMaintenance).await?;
        let req = Req::new(ServiceType::Image, Method::POST, "cache/prune").idempotent(true);
        self.client
            .send_json(req)
            .await
            .map_err(|e| unsupported_on_404(ImageFeature::CacheMaintenance, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn glance_cache_state_decodes_with_extras_kept() {
        let s: CacheState = serde_json::from_value(json!({
            "cached_images": [{"id": 1, "image_id": "ea2e", "last_accessed": 1796190793.103937,
                "last_modified": 1796190793.103947, "size": 10000, "hits": 0, "checksum": null}],
            "queued_images": ["q1"]}))
        .unwrap();
        assert_eq!(s.queued, ["q1"]);
        let c = &s.cached[0];
        assert_eq!((c.size, c.hits), (Some(10000), Some(0)));
        assert_eq!(c.extra["id"], 1);
        let t = c.last_accessed_time().unwrap();
        let secs = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
        assert_eq!(secs, 1796190793);
        assert_eq!(epoch_time(Some(f64::NAN)), None);
        assert_eq!(epoch_time(Some(-1.0)), None);
    }
}
