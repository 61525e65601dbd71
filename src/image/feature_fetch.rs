//! Fetching the version document that [`ImageFeatures`] reads, once per client: above the
//! client (which only keeps the answer) and the feature types, so neither depends on this.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::client::{Req, ServiceType};
use crate::error::{Error, Result};
use crate::http::Anonymous;
use crate::image::features::{ImageFeature, ImageFeatures};
use crate::image::images::ImagesApi;

/// Where the version document of an image endpoint is: the base is `<root>/v2/` (with any
/// path prefix of the cloud's in `<root>`).
fn versions_root(base: &url::Url) -> Result<url::Url> {
    base.join("../")
        .map_err(|e| Error::Protocol(format!("image endpoint {base}: {e}")))
}

/// Why [`ImagesApi::features`] keeps no answer: the document is unknown for now (the server
/// failed in a way that may pass), or the call failed.
enum NotCached {
    Unknown,
    Failed(Error),
}

impl From<Error> for NotCached {
    fn from(e: Error) -> Self {
        NotCached::Failed(e)
    }
}

/// A status that says the server could not answer now, not that it has no document.
fn is_passing_failure(status: u16) -> bool {
    status >= 500 || matches!(status, 408 | 429)
}

impl ImagesApi {
    /// What the cloud offers, from its version document (fetched once per client, without
    /// a token, and not again when finding an unversioned endpoint already read it; its
    /// clones share it). A server error or 429 in place of the document gives unknown
    /// features for this call only: the next call asks again.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use openstack_images::ImageFeature;
    /// if client.images().features().await?.offers(ImageFeature::Cache) == Some(true) {
    ///     println!("{} images cached", client.images().cache_state().await?.cached.len());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn features(&self) -> Result<ImageFeatures> {
        let inner = &self.client.inner;
        let fetched = inner
            .image_features
            .get_or_try_init(|| async {
                let base = self.client.endpoint(ServiceType::Image).await?;
                if let Some(doc) = inner.session.image_versions() {
                    return Ok(ImageFeatures::from_versions_document(doc));
                }
                let root = versions_root(&base)?;
                let mut req = Req::new(ServiceType::Image, Method::GET, "");
                req.also_ok = Some(StatusCode::MULTIPLE_CHOICES);
                match inner.pipeline.json::<Value>(req, &root, &Anonymous).await {
                    Ok(doc) => Ok(ImageFeatures::from_versions_document(&doc)),
                    // A server in trouble (5xx, 429, 408 after the retries) says nothing about
                    // the document: unknown this time, asked again next time.
                    Err(Error::Api(api)) if is_passing_failure(api.status) => {
                        tracing::debug!(url = %root, status = api.status, "no version document this time; asking again on the next call");
                        Err(NotCached::Unknown)
                    }
                    // No document (a proxy that serves only /v2, a non-JSON page): the calls
                    // find out for themselves.
                    Err(Error::Api(_) | Error::Decode { .. }) => Ok(ImageFeatures::default()),
                    Err(e) => Err(NotCached::Failed(e)),
                }
            })
            .await;
        match fetched {
            Ok(features) => Ok(features.clone()),
            Err(NotCached::Unknown) => Ok(ImageFeatures::default()),
            Err(NotCached::Failed(e)) => Err(e),
        }
    }

    /// Fails with [`Error::Unsupported`], before any request, when the version document
    /// shows `feature` missing.
    pub(crate) async fn require(&self, feature: ImageFeature) -> Result<()> {
        self.features().await?.require(feature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_at_the_root_of_the_endpoint() {
        let root = |b: &str| {
            versions_root(&url::Url::parse(b).unwrap())
                .unwrap()
                .to_string()
        };
        assert_eq!(root("http://h:9292/v2/"), "http://h:9292/");
        assert_eq!(root("https://h/image/v2/"), "https://h/image/");
    }
}
