//! Pagination links: resolving a server's `next` against the endpoint, and its marker.

use url::Url;

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

/// The marker of a page's `next` link: the link's own `marker`, or else the marker after the
/// page's last item. `None` when there is no link or the page is empty (no next page then).
pub(crate) fn next_marker_from_link<T>(
    endpoint: &Url,
    next_link: Option<&str>,
    items: &[T],
    marker_after: impl Fn(&T) -> Option<String>,
) -> Option<String> {
    let href = next_link?;
    let last = items.last()?;
    resolve_link(endpoint, href)
        .and_then(|u| marker_of(&u))
        .or_else(|| marker_after(last))
}
