//! List filters for `GET /v2/images`.
//!
//! Glance's filters: the base ones below (typed with the generated enums), `*_eq` exact-match
//! filters generated for every operator-defined property of the schema, `huawei_*` filters
//! for Huawei Cloud IMS extensions (never a schema name: those are `*_eq`), and
//! [`ImageListQuery::filter`] for anything else.

use crate::error::{Error, Result};
use crate::generated::{ContainerFormat, DiskFormat, ImageStatus, ImageVisibility, MemberStatus};

/// A comparison for `created_at` / `updated_at` filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cmp {
    /// Strictly after.
    Gt,
    /// At or after.
    Gte,
    /// Strictly before.
    Lt,
    /// At or before.
    Lte,
    /// Exactly at.
    Eq,
    /// Not at.
    Neq,
}

impl Cmp {
    /// The operator as Glance spells it.
    ///
    /// ```
    /// assert_eq!(openstack_images::Cmp::Gte.as_str(), "gte");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Cmp::Gt => "gt",
            Cmp::Gte => "gte",
            Cmp::Lt => "lt",
            Cmp::Lte => "lte",
            Cmp::Eq => "eq",
            Cmp::Neq => "neq",
        }
    }
}

/// A sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SortDir {
    /// Ascending.
    Asc,
    /// Descending.
    Desc,
}

impl SortDir {
    /// `asc` or `desc`.
    ///
    /// ```
    /// assert_eq!(openstack_images::SortDir::Desc.as_str(), "desc");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            SortDir::Asc => "asc",
            SortDir::Desc => "desc",
        }
    }
}

pub use crate::runtime::ImageListQuery;

/// Quotes one value of an `in:` list: values with a comma or a quote are wrapped in double
/// quotes (Glance's rule), with inner quotes escaped.
fn in_value(v: &str) -> String {
    if v.contains(',') || v.contains('"') {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        v.to_owned()
    }
}

fn in_list<I, S>(values: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let items: Vec<String> = values.into_iter().map(|v| in_value(v.as_ref())).collect();
    format!("in:{}", items.join(","))
}

impl ImageListQuery {
    /// No filters: what `GET /v2/images` shows by default.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds any `key=value` filter (an exact match on a property, or a vendor filter).
    /// Repeating a key sends it repeatedly.
    ///
    /// ```
    /// let q = openstack_images::ImageListQuery::new().filter("os_distro", "cirros");
    /// assert_eq!(q.to_pairs().unwrap(), [("os_distro".to_owned(), "cirros".to_owned())]);
    /// ```
    pub fn filter(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.pairs.push((key.into(), value.into()));
        self
    }

    /// Adds several `key=value` filters, in order (see [`filter`](Self::filter)).
    ///
    /// ```
    /// let q = openstack_images::ImageListQuery::new().filters([("os_distro", "cirros"), ("os_version", "0.6")]);
    /// assert_eq!(q.to_pairs().unwrap().len(), 2);
    /// ```
    pub fn filters<K, V>(self, filters: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        filters
            .into_iter()
            .fold(self, |query, (key, value)| query.filter(key, value))
    }

    /// Images per request, Glance's `limit` (it caps it at its `api_limit_max`, 1000 by
    /// default). The total is capped with [`Paginator::max_items`](crate::Paginator::max_items).
    ///
    /// ```
    /// let q = openstack_images::ImageListQuery::new().page_size(500);
    /// assert_eq!(q.to_pairs().unwrap(), [("limit".to_owned(), "500".to_owned())]);
    /// ```
    pub fn page_size(mut self, images: u64) -> Self {
        self.page_size = Some(images);
        self
    }

    /// Start after this image id.
    ///
    /// ```
    /// let q = openstack_images::ImageListQuery::new().marker("1bea47ed-f6a9-463b-b423-14b9cca9ad27");
    /// assert_eq!(q.to_pairs().unwrap()[0].0, "marker");
    /// ```
    pub fn marker(mut self, image_id: &str) -> Self {
        self.marker = Some(image_id.to_owned());
        self
    }

    /// Only images with this exact name.
    pub fn name(self, name: impl Into<String>) -> Self {
        self.filter("name", name)
    }

    /// Only images whose name is one of these.
    pub fn name_in<I: IntoIterator<Item = S>, S: AsRef<str>>(self, names: I) -> Self {
        self.filter("name", in_list(names))
    }

    /// Only images with one of these ids.
    pub fn id_in<I: IntoIterator<Item = S>, S: AsRef<str>>(self, ids: I) -> Self {
        self.filter("id", in_list(ids))
    }

    /// Only the image with this id.
    pub fn id(self, image_id: &str) -> Self {
        self.filter("id", image_id)
    }

    /// Only images in this status.
    pub fn status(self, status: impl Into<ImageStatus>) -> Self {
        self.filter("status", status.into().as_str())
    }

    /// Only images in one of these statuses.
    pub fn status_in<I: IntoIterator<Item = ImageStatus>>(self, statuses: I) -> Self {
        let v: Vec<ImageStatus> = statuses.into_iter().collect();
        self.filter("status", in_list(v.iter().map(ImageStatus::as_str)))
    }

    /// Only images with this visibility (Glance leaves out community images unless asked).
    pub fn visibility(self, v: impl Into<ImageVisibility>) -> Self {
        self.filter("visibility", v.into().as_str())
    }

    /// Images of every visibility the caller may see (`visibility=all`).
    pub fn all_visibilities(self) -> Self {
        self.filter("visibility", "all")
    }

    /// Only shared images whose membership for the caller's project has this status.
    pub fn member_status(self, s: impl Into<MemberStatus>) -> Self {
        self.filter("member_status", s.into().as_str())
    }

    /// Shared images whatever the membership status (`member_status=all`).
    pub fn all_member_statuses(self) -> Self {
        self.filter("member_status", "all")
    }

    /// Only images owned by this project.
    pub fn owner(self, project_id: &str) -> Self {
        self.filter("owner", project_id)
    }

    /// Only images with this tag; repeat for images having all of them.
    pub fn tag(self, tag: impl Into<String>) -> Self {
        self.filter("tag", tag)
    }

    /// Only images having all of these tags (the same as one [`tag`](Self::tag) each).
    ///
    /// ```
    /// let q = openstack_images::ImageListQuery::new().tags(["base", "linux"]);
    /// assert_eq!(q.to_pairs().unwrap().len(), 2);
    /// ```
    pub fn tags(self, tags: impl IntoIterator<Item = impl Into<String>>) -> Self {
        tags.into_iter().fold(self, |query, tag| query.tag(tag))
    }

    /// Only images of at least this many bytes.
    pub fn size_min(self, bytes: u64) -> Self {
        self.filter("size_min", bytes.to_string())
    }

    /// Only images of at most this many bytes.
    pub fn size_max(self, bytes: u64) -> Self {
        self.filter("size_max", bytes.to_string())
    }

    /// Only protected (or only unprotected) images.
    pub fn protected(self, yes: bool) -> Self {
        self.filter("protected", yes.to_string())
    }

    /// `true`: only hidden images (left out by default); `false`: only visible ones.
    pub fn os_hidden(self, yes: bool) -> Self {
        self.filter("os_hidden", yes.to_string())
    }

    /// Only images with this container format.
    pub fn container_format(self, f: impl Into<ContainerFormat>) -> Self {
        self.filter("container_format", f.into().as_str())
    }

    /// Only images with one of these container formats.
    pub fn container_format_in<I: IntoIterator<Item = ContainerFormat>>(self, fs: I) -> Self {
        let v: Vec<ContainerFormat> = fs.into_iter().collect();
        self.filter(
            "container_format",
            in_list(v.iter().map(ContainerFormat::as_str)),
        )
    }

    /// Only images with this disk format.
    pub fn disk_format(self, f: impl Into<DiskFormat>) -> Self {
        self.filter("disk_format", f.into().as_str())
    }

    /// Only images with one of these disk formats.
    pub fn disk_format_in<I: IntoIterator<Item = DiskFormat>>(self, fs: I) -> Self {
        let v: Vec<DiskFormat> = fs.into_iter().collect();
        self.filter("disk_format", in_list(v.iter().map(DiskFormat::as_str)))
    }

    /// Only images needing exactly this much RAM (MB).
    pub fn min_ram(self, mb: u64) -> Self {
        self.filter("min_ram", mb.to_string())
    }

    /// Only images needing exactly this much disk (GB).
    pub fn min_disk(self, gb: u64) -> Self {
        self.filter("min_disk", gb.to_string())
    }

    /// Filters on creation time (`2026-01-01T00:00:00Z`); repeat for a range.
    pub fn created_at(self, cmp: Cmp, time: impl AsRef<str>) -> Self {
        self.filter("created_at", format!("{}:{}", cmp.as_str(), time.as_ref()))
    }

    /// Filters on last update time; repeat for a range.
    pub fn updated_at(self, cmp: Cmp, time: impl AsRef<str>) -> Self {
        self.filter("updated_at", format!("{}:{}", cmp.as_str(), time.as_ref()))
    }

    /// Sorts by `key` (new style, `sort=name:asc,size:desc`); repeat for more keys.
    /// Cannot be mixed with [`sort_key`](Self::sort_key)/[`sort_dir`](Self::sort_dir).
    pub fn sort(mut self, key: impl Into<String>, dir: SortDir) -> Self {
        self.sort.push(format!("{}:{}", key.into(), dir.as_str()));
        self
    }

    /// Sorts by `key` (classic style, repeatable); pair with [`sort_dir`](Self::sort_dir).
    pub fn sort_key(mut self, key: impl Into<String>) -> Self {
        self.sort_keys.push(key.into());
        self
    }

    /// Direction for the classic sort keys (repeatable, one per key).
    pub fn sort_dir(mut self, dir: SortDir) -> Self {
        self.sort_dirs.push(dir.as_str().to_owned());
        self
    }

    /// Vendor filter `__isregistered` (Huawei Cloud IMS).
    pub fn huawei_is_registered(self, yes: bool) -> Self {
        self.filter("__isregistered", yes.to_string())
    }

    /// Vendor filter `__imagetype`: gold, private, shared or market (Huawei Cloud IMS).
    pub fn huawei_image_type(self, t: impl Into<String>) -> Self {
        self.filter("__imagetype", t)
    }

    /// Vendor filter `__os_bit`: 32 or 64 (Huawei Cloud IMS).
    pub fn huawei_os_bit(self, bits: impl Into<String>) -> Self {
        self.filter("__os_bit", bits)
    }

    /// Vendor filter `__platform` (Huawei Cloud IMS).
    pub fn huawei_platform(self, p: impl Into<String>) -> Self {
        self.filter("__platform", p)
    }

    /// Vendor filter `__os_type`: Linux, Windows or Other (Huawei Cloud IMS). The schema's
    /// `os_type` property (`linux`, `windows`) is a different filter: `os_type_eq`.
    ///
    /// ```
    /// let q = openstack_images::ImageListQuery::new().huawei_os_type("Linux");
    /// assert_eq!(q.to_pairs().unwrap()[0].0, "__os_type");
    /// ```
    pub fn huawei_os_type(self, t: impl Into<String>) -> Self {
        self.filter("__os_type", t)
    }

    /// Vendor filter `virtual_env_type`: FusionCompute, Ironic, DataImage or IsoImage
    /// (Huawei Cloud IMS).
    ///
    /// ```
    /// let q = openstack_images::ImageListQuery::new().huawei_virtual_env_type("Ironic");
    /// assert_eq!(q.to_pairs().unwrap()[0].0, "virtual_env_type");
    /// ```
    pub fn huawei_virtual_env_type(self, env: impl Into<String>) -> Self {
        self.filter("virtual_env_type", env)
    }

    /// Vendor filter `__support_kvm` (Huawei Cloud IMS).
    pub fn huawei_support_kvm(self, v: impl Into<String>) -> Self {
        self.filter("__support_kvm", v)
    }

    /// Vendor filter `__support_xen` (Huawei Cloud IMS).
    pub fn huawei_support_xen(self, v: impl Into<String>) -> Self {
        self.filter("__support_xen", v)
    }

    /// Vendor filter `__support_diskintensive` (Huawei Cloud IMS).
    pub fn huawei_support_diskintensive(self, v: impl Into<String>) -> Self {
        self.filter("__support_diskintensive", v)
    }

    /// Vendor filter `__support_highperformance` (Huawei Cloud IMS).
    pub fn huawei_support_highperformance(self, v: impl Into<String>) -> Self {
        self.filter("__support_highperformance", v)
    }

    /// Vendor filter `__support_xen_gpu_type` (Huawei Cloud IMS).
    pub fn huawei_support_xen_gpu_type(self, v: impl Into<String>) -> Self {
        self.filter("__support_xen_gpu_type", v)
    }

    /// The query as `key=value` pairs, checked: the two sort styles cannot be mixed, and
    /// `sort_dir` needs a `sort_key`.
    pub fn to_pairs(&self) -> Result<Vec<(String, String)>> {
        let classic = !self.sort_keys.is_empty() || !self.sort_dirs.is_empty();
        if !self.sort.is_empty() && classic {
            return Err(Error::invalid(
                "sort",
                "`sort` cannot be combined with `sort_key`/`sort_dir` (Glance answers 400)",
            ));
        }
        if self.sort_dirs.len() > self.sort_keys.len() {
            return Err(Error::invalid("sort_dir", "each sort_dir needs a sort_key"));
        }
        for (k, v) in &self.pairs {
            if k.is_empty() {
                return Err(Error::invalid(
                    "filter",
                    format!("empty filter name (value `{v}`)"),
                ));
            }
        }
        let mut out = self.pairs.clone();
        if !self.sort.is_empty() {
            out.push(("sort".into(), self.sort.join(",")));
        }
        out.extend(
            self.sort_keys
                .iter()
                .map(|k| ("sort_key".to_owned(), k.clone())),
        );
        out.extend(
            self.sort_dirs
                .iter()
                .map(|d| ("sort_dir".to_owned(), d.clone())),
        );
        if let Some(n) = self.page_size {
            out.push(("limit".into(), n.to_string()));
        }
        if let Some(m) = &self.marker {
            out.push(("marker".into(), m.clone()));
        }
        Ok(out)
    }

    /// The query without its marker, for building the next page's request.
    pub(crate) fn without_marker(&self) -> Self {
        ImageListQuery {
            marker: None,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_lists_quote_commas() {
        let q = ImageListQuery::new().name_in(["a", "b,c", "d\"e"]);
        assert_eq!(
            q.to_pairs().unwrap(),
            vec![("name".to_owned(), r#"in:a,"b,c","d\"e""#.to_owned())]
        );
    }

    #[test]
    fn sort_styles_cannot_mix() {
        let q = ImageListQuery::new()
            .sort("name", SortDir::Asc)
            .sort_key("size");
        assert!(matches!(q.to_pairs(), Err(Error::InvalidInput { .. })));
        let q = ImageListQuery::new()
            .sort_key("name")
            .sort_key("size")
            .sort_dir(SortDir::Desc);
        assert_eq!(q.to_pairs().unwrap().len(), 3);
    }

    #[test]
    fn repeated_tags_are_repeated() {
        let q = ImageListQuery::new().tag("a").tag("b").page_size(5);
        let p = q.to_pairs().unwrap();
        assert_eq!(p.iter().filter(|(k, _)| k == "tag").count(), 2);
    }
}
