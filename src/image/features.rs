//! What a cloud's Glance offers beyond images: read from its version document (`GET /` of
//! the image endpoint), never guessed from the highest version. Glance lists 2.8-2.13 only
//! when multiple stores are configured and 2.14, 2.16 and 2.18 only with the image cache on,
//! so the list itself says which optional APIs answer. The document is fetched once per
//! client (a server error in its place is not kept: the next call asks again); a cloud that
//! does not serve one is probed by the calls themselves (their 404 is mapped to
//! [`Error::Unsupported`]).

use serde_json::Value;

use crate::error::{Error, Result};

/// An optional part of the Image API.
///
/// ```
/// use openstack_images::ImageFeature;
/// assert_eq!(ImageFeature::Cache.name(), "the image cache API");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ImageFeature {
    /// Several stores (`enabled_backends`): `/v2/info/stores`, import to stores (2.8),
    /// deleting an image from one store (2.10), the `prefer` store order of downloads.
    MultipleStores,
    /// Store details with their type and properties (2.15, admin; needs multiple stores).
    StoresDetail,
    /// The image cache API: list, queue, delete, clear (2.14, 2.16).
    Cache,
    /// Cache maintenance: clean and prune (2.18).
    CacheMaintenance,
    /// Which nodes cache an image, `GET /v2/cache/nodes/{id}` (2.18, Glance 33: OpenStack
    /// 2026.2; older Glances answer 404 as for a missing image).
    CacheNodes,
    /// The locations API: add a location to a queued image, list locations (2.17).
    Locations,
    /// `?prefer=` on downloads (Glance 33, OpenStack 2026.2, with multiple stores). No
    /// version number names it: a document that lists the cache without 2.18, or nothing
    /// newer than 2.16, proves an older Glance; a cache-less one listing 2.17 may be either,
    /// and is let through (an older Glance ignores the parameter).
    PreferStores,
}

impl ImageFeature {
    /// The feature as error messages name it.
    ///
    /// ```
    /// assert_eq!(openstack_images::ImageFeature::Locations.name(), "the locations API");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            ImageFeature::MultipleStores => "multiple stores",
            ImageFeature::StoresDetail => "store details",
            ImageFeature::Cache => "the image cache API",
            ImageFeature::CacheMaintenance => "image cache maintenance (clean, prune)",
            ImageFeature::CacheNodes => "the cache nodes API",
            ImageFeature::Locations => "the locations API",
            ImageFeature::PreferStores => "preferred stores for downloads (?prefer=)",
        }
    }

    /// The versions whose presence in the document shows the feature, all required, and
    /// what their absence means.
    fn needs(self) -> (&'static [(u32, u32)], &'static str) {
        match self {
            ImageFeature::MultipleStores => (&[(2, 10)], "multiple stores are not configured"),
            ImageFeature::StoresDetail => {
                (&[(2, 10), (2, 15)], "it needs API 2.15 and multiple stores")
            }
            ImageFeature::Cache => (&[(2, 14)], "the image cache is not enabled"),
            ImageFeature::CacheMaintenance | ImageFeature::CacheNodes => (
                &[(2, 14), (2, 18)],
                "it needs API 2.18 with the image cache enabled",
            ),
            ImageFeature::Locations => (&[(2, 17)], "it needs API 2.17"),
            ImageFeature::PreferStores => (
                &[(2, 10)],
                "it needs multiple stores and Glance 33 (OpenStack 2026.2; API 2.18 where the \
                 cache is on)",
            ),
        }
    }
}

/// The Image API versions a cloud lists, and what they say it offers
/// ([`ImagesApi::features`](crate::ImagesApi::features)).
///
/// ```
/// use openstack_images::{ImageFeature, ImageFeatures};
/// let doc = serde_json::json!({"versions": [
///     {"id": "v2.17", "status": "CURRENT"}, {"id": "v2.15", "status": "SUPPORTED"},
///     {"id": "v2.9", "status": "SUPPORTED"}, {"id": "v2.0", "status": "SUPPORTED"}]});
/// let f = ImageFeatures::from_versions_document(&doc);
/// assert_eq!(f.offers(ImageFeature::Locations), Some(true));
/// assert_eq!(f.offers(ImageFeature::Cache), Some(false));
/// assert_eq!(f.offers(ImageFeature::MultipleStores), Some(false));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ImageFeatures {
    /// The v2 versions listed, as `(major, minor)`, sorted; `None` when the cloud served no
    /// readable version document (then nothing is known before a call is tried).
    pub versions: Option<Vec<(u32, u32)>>,
}

impl ImageFeatures {
    /// Reads a version document (`{"versions": [{"id": "v2.17", ...}]}`); deprecated or
    /// deleted versions do not count. A body that is not such a document gives unknown
    /// features.
    ///
    /// ```
    /// let f = openstack_images::ImageFeatures::from_versions_document(&serde_json::json!({}));
    /// assert_eq!(f.versions, None);
    /// ```
    pub fn from_versions_document(doc: &Value) -> Self {
        let Some(list) = doc.get("versions").and_then(Value::as_array) else {
            return ImageFeatures::default();
        };
        let mut versions: Vec<(u32, u32)> = list
            .iter()
            .filter(|v| {
                let status = v.get("status").and_then(Value::as_str).unwrap_or("");
                !status.eq_ignore_ascii_case("deprecated")
                    && !status.eq_ignore_ascii_case("deleted")
            })
            .filter_map(|v| parse_version(v.get("id")?.as_str()?))
            .filter(|(major, _)| *major == 2)
            .collect();
        versions.sort_unstable();
        versions.dedup();
        ImageFeatures {
            versions: Some(versions),
        }
    }

    /// Whether the cloud offers `feature`: `None` when it served no version document.
    ///
    /// ```
    /// use openstack_images::{ImageFeature, ImageFeatures};
    /// assert_eq!(ImageFeatures::default().offers(ImageFeature::Cache), None);
    /// ```
    pub fn offers(&self, feature: ImageFeature) -> Option<bool> {
        let versions = self.versions.as_ref()?;
        let (needs, _) = feature.needs();
        let listed = needs.iter().all(|v| versions.contains(v));
        if feature == ImageFeature::PreferStores {
            let newest = versions.last().copied().unwrap_or((2, 0));
            let older_glance =
                (versions.contains(&(2, 14)) && !versions.contains(&(2, 18))) || newest < (2, 17);
            return Some(listed && !older_glance);
        }
        Some(listed)
    }

    /// `Ok` unless the document shows the feature missing; then the error names the feature
    /// and the versions listed.
    ///
    /// ```
    /// use openstack_images::{Error, ImageFeature, ImageFeatures};
    /// let doc = serde_json::json!({"versions": [{"id": "v2.17", "status": "CURRENT"}]});
    /// let f = ImageFeatures::from_versions_document(&doc);
    /// assert!(matches!(f.require(ImageFeature::Cache), Err(Error::Unsupported { .. })));
    /// ```
    pub fn require(&self, feature: ImageFeature) -> Result<()> {
        match (self.offers(feature), &self.versions) {
            (Some(false), Some(versions)) => {
                let (_, why) = feature.needs();
                let listed: Vec<String> =
                    versions.iter().map(|(a, b)| format!("{a}.{b}")).collect();
                Err(Error::Unsupported {
                    feature: feature.name(),
                    reason: format!("{why} (it lists Image API {})", listed.join(", ")),
                })
            }
            _ => Ok(()),
        }
    }
}

/// `v2.17` -> `(2, 17)`; `v2` -> `(2, 0)`.
fn parse_version(id: &str) -> Option<(u32, u32)> {
    let rest = id.strip_prefix('v')?;
    let (major, minor) = rest.split_once('.').unwrap_or((rest, "0"));
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// Maps a call's error when the document did not tell: the server's 404 for an optional
/// API becomes [`Error::Unsupported`] naming it (an image that does not exist answers 404
/// as well, so only calls without an image id, or whose 404 message says so, come here).
pub(crate) fn unsupported_on_404(feature: ImageFeature, e: Error) -> Error {
    match e {
        // The whole answer (method, URL, message, request id) stays in the reason.
        Error::Api(api) if api.status == 404 => Error::Unsupported {
            feature: feature.name(),
            reason: format!("the server answered {api}"),
        },
        e => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(ids: &[&str]) -> Value {
        json!({"versions": ids.iter().map(|id| json!({"id": id, "status": "SUPPORTED"})).collect::<Vec<_>>()})
    }

    #[test]
    fn glance_with_cache_and_stores_offers_everything() {
        let f = ImageFeatures::from_versions_document(&doc(&[
            "v2.18", "v2.17", "v2.16", "v2.15", "v2.14", "v2.13", "v2.12", "v2.11", "v2.10",
            "v2.9", "v2.8", "v2.7", "v2.0",
        ]));
        for feature in [
            ImageFeature::MultipleStores,
            ImageFeature::StoresDetail,
            ImageFeature::Cache,
            ImageFeature::CacheMaintenance,
            ImageFeature::CacheNodes,
            ImageFeature::Locations,
            ImageFeature::PreferStores,
        ] {
            assert_eq!(f.offers(feature), Some(true), "{feature:?}");
            f.require(feature).unwrap();
        }
    }

    #[test]
    fn plain_glance_offers_locations_only() {
        // What Glance lists without image_cache_dir and enabled_backends.
        let f = ImageFeatures::from_versions_document(&doc(&[
            "v2.15", "v2.9", "v2.17", "v2.7", "v2.6", "v2.0",
        ]));
        assert_eq!(f.offers(ImageFeature::Locations), Some(true));
        for feature in [
            ImageFeature::MultipleStores,
            ImageFeature::StoresDetail,
            ImageFeature::Cache,
            ImageFeature::CacheMaintenance,
            ImageFeature::CacheNodes,
            ImageFeature::PreferStores,
        ] {
            assert_eq!(f.offers(feature), Some(false), "{feature:?}");
        }
        let e = f.require(ImageFeature::Cache).unwrap_err().to_string();
        assert_eq!(
            e,
            "the cloud does not offer the image cache API: the image cache is not enabled \
             (it lists Image API 2.0, 2.6, 2.7, 2.9, 2.15, 2.17)"
        );
    }

    #[test]
    fn prefer_stores_is_refused_where_the_document_proves_an_older_glance() {
        let multi = ["v2.13", "v2.12", "v2.11", "v2.10", "v2.9", "v2.8", "v2.0"];
        let with = |extra: &[&'static str]| {
            ImageFeatures::from_versions_document(&doc(&[&multi[..], extra].concat()))
                .offers(ImageFeature::PreferStores)
        };
        // Glance 33 with the cache; 2024.2-2026.1 with it; 2024.1 (up to 2.16).
        assert_eq!(
            with(&["v2.18", "v2.17", "v2.16", "v2.15", "v2.14"]),
            Some(true)
        );
        assert_eq!(with(&["v2.17", "v2.16", "v2.15", "v2.14"]), Some(false));
        assert_eq!(with(&["v2.16", "v2.15", "v2.14"]), Some(false));
        assert_eq!(with(&["v2.15"]), Some(false));
        // Without the cache, Glance 33 and 2024.2-2026.1 list the same: let through.
        assert_eq!(with(&["v2.15", "v2.17"]), Some(true));
        // Without multiple stores, never.
        let plain = ImageFeatures::from_versions_document(&doc(&["v2.18", "v2.17", "v2.14"]));
        assert_eq!(plain.offers(ImageFeature::PreferStores), Some(false));
    }

    #[test]
    fn a_high_version_alone_proves_nothing() {
        // 2.18 without 2.14: not taken as a cache.
        let f = ImageFeatures::from_versions_document(&doc(&["v2.18", "v2.0"]));
        assert_eq!(f.offers(ImageFeature::CacheMaintenance), Some(false));
        assert_eq!(f.offers(ImageFeature::Cache), Some(false));
    }

    #[test]
    fn deprecated_and_foreign_versions_do_not_count() {
        let f = ImageFeatures::from_versions_document(&json!({"versions": [
            {"id": "v2.14", "status": "DEPRECATED"}, {"id": "v3.14", "status": "CURRENT"},
            {"id": "x", "status": "CURRENT"}, {"id": "v2.17", "status": "CURRENT"}]}));
        assert_eq!(f.versions, Some(vec![(2, 17)]));
        assert_eq!(parse_version("v2"), Some((2, 0)));
        assert_eq!(parse_version("v2.x"), None);
    }

    #[test]
    fn unknown_features_are_not_refused() {
        let f = ImageFeatures::from_versions_document(&json!({"message": "hi"}));
        assert_eq!(f.offers(ImageFeature::Cache), None);
        f.require(ImageFeature::Cache).unwrap();
    }
}
