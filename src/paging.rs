//! Pagination: a page-level type and a `Stream` of items that holds one page at a time.

use url::Url;

/// One page of a list, and how to ask for the next.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Page<T> {
    /// The items of this page, in server order.
    pub items: Vec<T>,
    /// The marker for the next page, or `None` on the last page.
    pub next_marker: Option<String>,
}

impl<T> Page<T> {
    /// True when this is the last page.
    ///
    /// ```
    /// use openstack_images::Page;
    /// let p: Page<u8> = Page::new(vec![], None);
    /// assert!(p.is_last());
    /// ```
    pub fn is_last(&self) -> bool {
        self.next_marker.is_none()
    }

    /// A page of items with an optional next marker.
    ///
    /// ```
    /// let p = openstack_images::Page::new(vec![1, 2], Some("m".to_string()));
    /// assert_eq!(p.items.len(), 2);
    /// ```
    pub fn new(items: Vec<T>, next_marker: Option<String>) -> Self {
        Page { items, next_marker }
    }
}

/// Resolves a pagination link against a service endpoint.
///
/// Links may be absolute, or relative to the host (`/v2/images?marker=x`) while the endpoint
/// has a path prefix (`https://host/image/v2/`): the prefix is kept.
pub(crate) fn resolve_link(endpoint: &Url, href: &str) -> Option<Url> {
    if let Ok(abs) = Url::parse(href) {
        return Some(abs);
    }
    let (path, query) = href.split_once('?').unwrap_or((href, ""));
    let ep_path = endpoint.path().trim_end_matches('/');
    // The link's first segment (`/v2`) is where the endpoint's versioned path ends.
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    let prefix = match ep_path.rfind(&format!("/{first}")) {
        Some(i) if !first.is_empty() && !path.starts_with(ep_path) => &ep_path[..i],
        _ => "",
    };
    let mut url = endpoint.clone();
    url.set_path(&format!("{prefix}{path}"));
    url.set_query((!query.is_empty()).then_some(query));
    Some(url)
}

/// The value of `marker` in a link, if it has one.
pub(crate) fn marker_of(url: &Url) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == "marker")
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_links_keep_the_endpoint_prefix() {
        let ep = Url::parse("https://cloud.example/image/v2/").unwrap();
        let u = resolve_link(&ep, "/v2/images?limit=2&marker=abc").unwrap();
        assert_eq!(
            u.as_str(),
            "https://cloud.example/image/v2/images?limit=2&marker=abc"
        );
        assert_eq!(marker_of(&u).as_deref(), Some("abc"));
        let ep = Url::parse("http://127.0.0.1:9292/v2/").unwrap();
        let u = resolve_link(&ep, "/v2/images?marker=x").unwrap();
        assert_eq!(u.as_str(), "http://127.0.0.1:9292/v2/images?marker=x");
        let u = resolve_link(&ep, "http://other/v2/images").unwrap();
        assert_eq!(u.as_str(), "http://other/v2/images");
        let ep = Url::parse("https://h/compute/v2.1/").unwrap();
        let u = resolve_link(&ep, "/compute/v2.1/images/detail?marker=m").unwrap();
        assert_eq!(u.as_str(), "https://h/compute/v2.1/images/detail?marker=m");
    }
}
