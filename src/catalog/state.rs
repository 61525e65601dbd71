//! The state openstack-image-manager keeps in a cloud, computed from a catalog: for every
//! version of every image, the name, properties, tags and settings the image must have, as
//! that tool sets them (its `process_image`, `set_properties` and `rename_images`), so that
//! a cloud either tool manages is read the same way by the other.

use serde_json::{Map, Value};
use std::cmp::Ordering;

use super::model::{CatalogImage, ImageSource, ImageVersion};

/// The version text openstack-image-manager treats as "whatever the URL serves now".
pub(crate) const LATEST: &str = "latest";

/// What a `latest` version resolved to when the plan was made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LatestInfo {
    /// The checksum found in the version's `checksums_url` or `checksum_url`, as written
    /// there (the `upstream_checksum` property).
    pub upstream_checksum: String,
    /// The source's `Last-Modified` day, `YYYYMMDD` (the `internal_version` property);
    /// `None` when the server sends none.
    pub last_modified: Option<String>,
}

/// One version as it must be in a cloud.
#[derive(Debug, Clone)]
pub(crate) struct Desired<'c> {
    pub image: &'c CatalogImage,
    pub version: &'c ImageVersion,
    /// Whether it is the newest version (after natural sorting).
    pub newest: bool,
    /// Its name in the cloud.
    pub name: String,
    /// Every property it carries, as Glance stores them (strings).
    pub properties: Map<String, Value>,
    /// The exact tag set.
    pub tags: Vec<String>,
    pub visibility: String,
    /// `Some` only with `--use-os-hidden`.
    pub os_hidden: Option<bool>,
    /// The `upstream_checksum` a `latest` version must carry.
    pub upstream_checksum: Option<String>,
}

/// Options of the state model (a subset of [`super::PlanOptions`]).
pub(crate) struct ModelOptions<'a> {
    pub tag: &'a str,
    pub use_os_hidden: bool,
}

/// The name of a version: `multi` images call the newest `NAME` and older ones
/// `NAME{sep}(VERSION)`; others `NAME{sep}VERSION`.
pub(crate) fn version_name(image: &CatalogImage, version: &str, newest: bool) -> String {
    if image.multi {
        if newest {
            image.name.clone()
        } else {
            rotated_name(image, version)
        }
    } else {
        format!("{}{}{}", image.name, image.separator, version)
    }
}

/// `NAME{sep}(VERSION)`: the name an older version of a `multi` image carries.
pub(crate) fn rotated_name(image: &CatalogImage, version: &str) -> String {
    format!("{}{}({})", image.name, image.separator, version)
}

/// The versions in natsort's order (Python's `natsorted`, which openstack-image-manager
/// uses: digit runs compare as numbers).
pub(crate) fn sorted_versions(image: &CatalogImage) -> Vec<&ImageVersion> {
    let mut v: Vec<&ImageVersion> = image.versions.iter().collect();
    v.sort_by(|a, b| natural_cmp(&a.version, &b.version));
    // openstack-image-manager keys versions by their text: a repeated version counts once,
    // its last entry winning.
    let mut out: Vec<&ImageVersion> = Vec::new();
    for version in v {
        match out.iter().position(|o| o.version == version.version) {
            Some(i) => out[i] = version,
            None => out.push(version),
        }
    }
    out
}

/// natsort's default ordering: runs of ASCII digits compare as numbers, the rest as text.
pub(crate) fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (ka, kb) = (natural_key(a), natural_key(b));
    for (x, y) in ka.iter().zip(kb.iter()) {
        let o = match (x, y) {
            (Part::Num(x), Part::Num(y)) => {
                let (x, y) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
                x.len().cmp(&y.len()).then_with(|| x.cmp(y))
            }
            (Part::Text(x), Part::Text(y)) => x.cmp(y),
            // natsort puts numbers before text at the same position.
            (Part::Num(_), Part::Text(_)) => Ordering::Less,
            (Part::Text(_), Part::Num(_)) => Ordering::Greater,
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    ka.len().cmp(&kb.len()).then_with(|| a.cmp(b))
}

enum Part<'a> {
    Num(&'a str),
    Text(&'a str),
}

fn natural_key(s: &str) -> Vec<Part<'_>> {
    let mut parts = Vec::new();
    let mut start = 0;
    let bytes = s.as_bytes();
    while start < bytes.len() {
        let digit = bytes[start].is_ascii_digit();
        let mut end = start;
        while end < bytes.len() && bytes[end].is_ascii_digit() == digit {
            end += 1;
        }
        let piece = &s[start..end];
        parts.push(if digit {
            Part::Num(piece)
        } else {
            Part::Text(piece)
        });
        start = end;
    }
    parts
}

/// A catalog value as openstack-image-manager writes it into Glance: Python's `str()`.
pub(crate) fn glance_string(value: &Value) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// Whether a property already has the wanted value, compared as Glance stores them
/// (`True` and `true` alike), as openstack-image-manager compares.
pub(crate) fn same_value(current: Option<&Value>, wanted: &Value) -> bool {
    let normalise = |v: &Value| {
        let text = glance_string(v);
        match text.to_ascii_lowercase().as_str() {
            "true" | "false" => text.to_ascii_lowercase(),
            _ => text,
        }
    };
    match current {
        None | Some(Value::Null) => wanted.is_null(),
        Some(c) => normalise(c) == normalise(wanted),
    }
}

/// `image_source`: the URL, a `file:` one cut to its file name (openstack-image-manager
/// keeps local paths out of the cloud).
pub(crate) fn image_source(url: &ImageSource) -> String {
    let text = url.to_string();
    if text.starts_with("file:")
        && let Some((_, file)) = text.rsplit_once('/')
    {
        return format!("file:{file}");
    }
    text
}

/// Every version of `image` as it must be in a cloud.
pub(crate) fn desired<'c>(
    image: &'c CatalogImage,
    latest: Option<&LatestInfo>,
    options: &ModelOptions<'_>,
) -> Vec<Desired<'c>> {
    let versions = sorted_versions(image);
    let count = versions.len();
    let mut tags = image.tags.clone();
    tags.push(options.tag.to_owned());
    if let Some(distro) = image.meta.get("os_distro").filter(|d| !d.is_null()) {
        tags.push(format!("os:{}", glance_string(distro)));
    }
    let mut meta = image.meta.clone();
    meta.entry("image_description")
        .or_insert_with(|| Value::String(image.name.clone()));
    meta.entry("image_name")
        .or_insert_with(|| Value::String(image.name.clone()));

    versions
        .into_iter()
        .enumerate()
        .map(|(i, version)| {
            let newest = i + 1 == count;
            let mut props = meta.clone();
            let is_latest = version.version == LATEST;
            let mut upstream = None;
            if is_latest {
                let info = latest.cloned().unwrap_or_default();
                match &info.last_modified {
                    Some(day) => {
                        props.insert("internal_version".into(), Value::String(day.clone()));
                        props.insert(
                            "image_build_date".into(),
                            Value::String(format!("{}-{}-{}", &day[..4], &day[4..6], &day[6..])),
                        );
                    }
                    None => {
                        props.insert("internal_version".into(), Value::String(LATEST.into()));
                    }
                }
                if !info.upstream_checksum.is_empty() {
                    props.insert(
                        "upstream_checksum".into(),
                        Value::String(info.upstream_checksum.clone()),
                    );
                    upstream = Some(info.upstream_checksum);
                }
            } else {
                props.insert(
                    "internal_version".into(),
                    Value::String(version.version.clone()),
                );
            }
            props.insert(
                "image_original_user".into(),
                Value::String(image.login.clone()),
            );
            if image.multi {
                if let Some(os_version) = &version.os_version {
                    props.insert("os_version".into(), Value::String(os_version.clone()));
                }
            } else {
                props.insert("os_version".into(), Value::String(version.version.clone()));
            }
            // The version's own meta (image_source and image_build_date among it) last.
            for (k, v) in &version.meta {
                props.insert(k.clone(), v.clone());
            }
            props.insert(
                "image_source".into(),
                Value::String(image_source(&version.url)),
            );
            if let Some(day) = &version.build_date {
                props.insert("image_build_date".into(), Value::String(day.clone()));
            }
            // `null` is not written (openstack-image-manager compares None with a missing
            // property and finds them equal), and never removed.
            let properties = props
                .into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, Value::String(glance_string(&v))))
                .collect();
            let os_hidden = options
                .use_os_hidden
                .then(|| version.hidden.unwrap_or(!newest));
            Desired {
                image,
                version,
                newest,
                name: version_name(image, &version.version, newest),
                properties,
                tags: tags.clone(),
                visibility: version
                    .visibility
                    .clone()
                    .unwrap_or_else(|| image.visibility.clone()),
                os_hidden,
                upstream_checksum: upstream,
            }
        })
        .collect()
}

/// `min_disk` as openstack-image-manager sets it: the catalog's, raised to the image's
/// size (the larger of `size` and `virtual_size`) in GiB, rounded up.
pub(crate) fn min_disk(catalog: Option<u64>, size: Option<u64>, virtual_size: Option<u64>) -> u64 {
    let needed = size.unwrap_or(0).max(virtual_size.unwrap_or(0));
    let required = needed.div_ceil(1 << 30);
    catalog.map_or(required, |c| c.max(required))
}

/// openstack-image-manager's `uuid_validity_keep`: how many superseded images to keep
/// (`None`: all of them). `today` is `YYYY-MM-DD`.
pub(crate) fn uuid_validity_keep(value: Option<&str>, today: &str) -> Option<usize> {
    let value = value?;
    match value {
        "none" => Some(0),
        "notice" | "forever" => None,
        v => {
            if let Some(n) = v.strip_prefix("last-")
                && !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_digit())
            {
                return Some(n.parse::<usize>().unwrap_or(usize::MAX).saturating_sub(1));
            }
            if is_day(v) {
                return (today > v).then_some(0);
            }
            None
        }
    }
}

fn is_day(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_as_natsort_does() {
        let mut v = vec![
            "1.10", "1.9", "1.2.3", "20240101", "20231231", "latest", "2",
        ];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            v,
            [
                "1.2.3", "1.9", "1.10", "2", "20231231", "20240101", "latest"
            ]
        );
    }

    #[test]
    fn values_are_written_as_python_prints_them() {
        assert_eq!(glance_string(&Value::Bool(true)), "True");
        assert_eq!(glance_string(&Value::Null), "None");
        assert_eq!(glance_string(&serde_json::json!(42)), "42");
        assert!(same_value(Some(&"true".into()), &Value::Bool(true)));
        assert!(!same_value(Some(&"yes".into()), &Value::Bool(true)));
        assert!(!same_value(None, &"x".into()));
    }

    #[test]
    fn min_disk_is_raised_to_the_image_size() {
        assert_eq!(min_disk(None, Some(1), Some(1 << 30)), 1);
        assert_eq!(min_disk(None, Some(1), Some((1 << 30) + 1)), 2);
        assert_eq!(min_disk(Some(8), Some(1), Some(1 << 30)), 8);
        assert_eq!(min_disk(Some(0), None, None), 0);
    }

    #[test]
    fn uuid_validity_reads_as_the_manager_reads_it() {
        let today = "2026-12-07";
        assert_eq!(uuid_validity_keep(Some("none"), today), Some(0));
        assert_eq!(uuid_validity_keep(Some("last-3"), today), Some(2));
        assert_eq!(uuid_validity_keep(Some("last-0"), today), Some(0));
        assert_eq!(uuid_validity_keep(Some("forever"), today), None);
        assert_eq!(uuid_validity_keep(Some("2026-01-01"), today), Some(0));
        assert_eq!(uuid_validity_keep(Some("2027-01-01"), today), None);
        assert_eq!(uuid_validity_keep(Some("garbage"), today), None);
        assert_eq!(uuid_validity_keep(None, today), None);
    }

    #[test]
    fn file_sources_keep_only_their_file_name() {
        let s = ImageSource::parse("file:///srv/images/x.qcow2").unwrap();
        assert_eq!(image_source(&s), "file:x.qcow2");
        let s = ImageSource::parse("https://example.com/a/b.img").unwrap();
        assert_eq!(image_source(&s), "https://example.com/a/b.img");
    }
}
