//! The parameters of an image list, and the one method the generated `*_eq` filters need.
//! The hand-written filters, sorting and paging methods of [`ImageListQuery`] are in
//! `crate::image::query`.

/// Query parameters of an image list: filters, sorting and the page size.
///
/// ```
/// use openstack_images::{Cmp, ImageListQuery, ImageStatus, SortDir};
/// let q = ImageListQuery::new()
///     .status(ImageStatus::Active)
///     .tag("base")
///     .tag("linux")
///     .created_at(Cmp::Gte, "2026-01-01T00:00:00Z")
///     .sort("name", SortDir::Asc)
///     .page_size(100);
/// let pairs = q.to_pairs().unwrap();
/// assert!(pairs.contains(&("tag".into(), "linux".into())));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[must_use]
pub struct ImageListQuery {
    pub(crate) pairs: Vec<(String, String)>,
    pub(crate) sort: Vec<String>,
    pub(crate) sort_keys: Vec<String>,
    pub(crate) sort_dirs: Vec<String>,
    pub(crate) page_size: Option<u64>,
    pub(crate) marker: Option<String>,
}

impl ImageListQuery {
    /// Adds a `key=value` pair: the generated exact-match filters go through this.
    pub(crate) fn push_pair(mut self, key: &str, value: String) -> Self {
        self.pairs.push((key.to_owned(), value));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HwDiskBus;

    #[test]
    fn generated_filters_add_exact_match_pairs_in_order() {
        let query = ImageListQuery::new()
            .os_distro_eq("cirros")
            .hw_disk_bus_eq(HwDiskBus::Virtio)
            .os_distro_eq("ubuntu");
        assert_eq!(
            query.pairs,
            [
                ("os_distro".to_owned(), "cirros".to_owned()),
                ("hw_disk_bus".to_owned(), "virtio".to_owned()),
                ("os_distro".to_owned(), "ubuntu".to_owned()),
            ]
        );
    }
}
