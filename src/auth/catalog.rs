//! The service catalog: which endpoint a service is at, and the versioned base below it.

use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CatalogService {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    endpoints: Vec<CatalogEndpoint>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CatalogEndpoint {
    interface: String,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    region_id: Option<String>,
    url: String,
}

/// Picks a service's endpoint URL from a catalog by interface and (optional) region.
pub(crate) fn select_endpoint(
    catalog: &[CatalogService],
    service: &str,
    interface: &str,
    region: Option<&str>,
) -> Result<String> {
    let services: Vec<&CatalogService> = catalog.iter().filter(|s| s.kind == service).collect();
    if services.is_empty() {
        let mut types: Vec<&str> = catalog.iter().map(|s| s.kind.as_str()).collect();
        types.sort_unstable();
        types.dedup();
        return Err(Error::Config(format!(
            "the service catalog has no `{service}` service (services: {})",
            if types.is_empty() {
                "none".into()
            } else {
                types.join(", ")
            }
        )));
    }
    let endpoints = || services.iter().flat_map(|s| s.endpoints.iter());
    let in_region = |e: &CatalogEndpoint| match region {
        None => true,
        Some(r) => e.region.as_deref() == Some(r) || e.region_id.as_deref() == Some(r),
    };
    if let Some(e) = endpoints().find(|e| e.interface == interface && in_region(e)) {
        return Ok(e.url.clone());
    }
    let available: Vec<String> = endpoints()
        .map(|e| {
            format!(
                "{}/{}",
                e.region_id
                    .as_deref()
                    .or(e.region.as_deref())
                    .unwrap_or("(no region)"),
                e.interface
            )
        })
        .collect();
    Err(Error::Config(match region {
        Some(r) => format!(
            "no `{service}` endpoint with interface `{interface}` in region `{r}` (available: {})",
            available.join(", ")
        ),
        None => format!(
            "no `{service}` endpoint with interface `{interface}` (available: {})",
            available.join(", ")
        ),
    }))
}

/// Parses an endpoint: an `http` or `https` URL (anything else, `mailto:x` or `file:///`,
/// cannot carry an API and would not join paths).
pub(crate) fn http_url(raw: &str, what: &str) -> Result<Url> {
    let url = Url::parse(raw.trim())
        .map_err(|e| Error::Config(format!("{what} `{raw}` is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(Error::Config(format!(
            "{what} `{raw}` is not an http or https URL"
        )));
    }
    Ok(url)
}

/// A URL whose path ends with `/`, so relative paths join below it.
pub(crate) fn with_slash(mut url: Url) -> Url {
    if !url.path().ends_with('/') {
        let p = format!("{}/", url.path());
        url.set_path(&p);
    }
    url
}

pub(crate) fn is_version_segment(seg: &str, major: &str) -> bool {
    seg.strip_prefix('v').is_some_and(|rest| {
        rest == major
            || rest
                .strip_prefix(major)
                .and_then(|r| r.strip_prefix('.'))
                .is_some_and(|minor| !minor.is_empty() && minor.chars().all(|c| c.is_ascii_digit()))
    })
}

pub(crate) fn last_segment(url: &Url) -> &str {
    url.path()
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("")
}

/// The Compute base: the URL itself when a path segment is a version (`/v2.1`,
/// `/v2.1/<project>`), else with `v2.1/` appended.
pub(crate) fn compute_base(url: Url) -> Url {
    let versioned = url
        .path_segments()
        .is_some_and(|mut segs| segs.any(|s| is_version_segment(s, "2")));
    let url = with_slash(url);
    if versioned {
        url
    } else {
        url.join("v2.1/").expect("a relative path joins")
    }
}

/// Picks the Image API v2 from a version document: true when the document lists a v2
/// (CURRENT, or any SUPPORTED/other status), false when it lists versions but no v2.
pub(crate) fn versions_offer_v2(doc: &Value) -> Option<bool> {
    let list = match doc.get("versions") {
        Some(Value::Array(l)) => l,
        Some(Value::Object(o)) => match o.get("values") {
            Some(Value::Array(l)) => l,
            _ => return None,
        },
        _ => return None,
    };
    Some(list.iter().any(|v| {
        let id = v.get("id").and_then(Value::as_str).unwrap_or("");
        let status = v
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_uppercase();
        is_version_segment(id, "2") && status != "DEPRECATED" && status != "DELETED"
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn catalog() -> Vec<CatalogService> {
        serde_json::from_value(json!([
            {"type": "identity", "endpoints": []},
            {"type": "image", "endpoints": [
                {"interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": "http://img-pub"},
                {"interface": "internal", "region": "RegionOne", "region_id": "RegionOne", "url": "http://img-int"},
                {"interface": "public", "region": "RegionTwo", "region_id": "RegionTwo", "url": "http://img-two"}
            ]}
        ]))
        .unwrap()
    }

    #[test]
    fn endpoint_selection() {
        let c = catalog();
        assert_eq!(
            select_endpoint(&c, "image", "public", None).unwrap(),
            "http://img-pub"
        );
        assert_eq!(
            select_endpoint(&c, "image", "internal", Some("RegionOne")).unwrap(),
            "http://img-int"
        );
        assert_eq!(
            select_endpoint(&c, "image", "public", Some("RegionTwo")).unwrap(),
            "http://img-two"
        );
        let e = select_endpoint(&c, "image", "public", Some("Nowhere"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("region `Nowhere`") && e.contains("RegionOne/public"),
            "{e}"
        );
        let e = select_endpoint(&c, "compute", "public", None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no `compute` service") && e.contains("identity, image"),
            "{e}"
        );
    }

    #[test]
    fn endpoints_must_be_http_urls() {
        assert!(http_url("https://h/image", "image endpoint").is_ok());
        for bad in ["mailto:x", "file:///etc", "data:,x", "not a url"] {
            assert!(
                matches!(http_url(bad, "image endpoint"), Err(Error::Config(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn compute_bases() {
        let b = |s: &str| compute_base(Url::parse(s).unwrap()).to_string();
        assert_eq!(b("http://n:8774/v2.1"), "http://n:8774/v2.1/");
        assert_eq!(b("http://n:8774/v2.1/abc123"), "http://n:8774/v2.1/abc123/");
        assert_eq!(b("http://n:8774/v2/abc123"), "http://n:8774/v2/abc123/");
        assert_eq!(b("https://h/compute"), "https://h/compute/v2.1/");
        assert_eq!(b("http://n:8774"), "http://n:8774/v2.1/");
    }

    #[test]
    fn version_documents() {
        let glance = json!({"versions": [
            {"id": "v2.17", "status": "CURRENT", "links": [{"rel": "self", "href": "http://x/v2/"}]},
            {"id": "v2.0", "status": "SUPPORTED", "links": []}
        ]});
        assert_eq!(versions_offer_v2(&glance), Some(true));
        assert_eq!(
            versions_offer_v2(&json!({"versions": [{"id": "v1.1", "status": "CURRENT"}]})),
            Some(false)
        );
        assert_eq!(
            versions_offer_v2(
                &json!({"versions": {"values": [{"id": "v2.1", "status": "stable"}]}})
            ),
            Some(true)
        );
        assert_eq!(versions_offer_v2(&json!({"message": "hi"})), None);
        assert!(is_version_segment("v2", "2") && is_version_segment("v2.1", "2"));
        assert!(!is_version_segment("v21", "2") && !is_version_segment("v2.", "2"));
    }
}
