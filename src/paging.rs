//! Pagination: one engine behind every list of the crate.
//!
//! Each list (Glance images, typed or as raw JSON; Glance tasks; Nova images) says only how
//! to fetch one page after a marker (a crate-internal `PageSource`). [`Paginator`] does the
//! rest, the same way for all of them:
//!
//! - it is a named, [`Unpin`] stream of items: `while let Some(x) = list.try_next().await?`
//!   works without `pin!`;
//! - [`Paginator::pages`] gives the same listing page by page ([`Page`] is `IntoIterator`);
//! - [`Paginator::page_size`] is how many items each request asks for (the API's `limit`);
//!   [`Paginator::max_items`] is a cap on the total: no page is requested once it is reached,
//!   and no more items are ever yielded;
//! - the next request is built from the caller's own query and the marker (never from the
//!   server's `next` link, which drops repeated parameters);
//! - a marker the server already handed out ends the listing with [`Error::Protocol`] instead
//!   of looping, and an empty page ends it too;
//! - one page is held in memory at a time.
//!
//! Lists that Glance serves in one response without paging (an image's members, an image's
//! tasks) return a `Vec` instead: there is no second page to ask for.

use std::collections::HashSet;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_util::future::BoxFuture;
use url::Url;

use crate::error::{Error, Result};

/// One page of a list, and how to ask for the next.
///
/// Iterating a page (owned or by reference) goes over its items:
///
/// ```
/// use openstack_images::Page;
/// let page = Page::new(vec![1, 2, 3], Some("3".to_string()));
/// let doubled: Vec<i32> = (&page).into_iter().map(|n| n * 2).collect();
/// assert_eq!(doubled, [2, 4, 6]);
/// let owned: Vec<i32> = page.into_iter().collect();
/// assert_eq!(owned, [1, 2, 3]);
/// ```
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

    /// The items of this page by reference.
    ///
    /// ```
    /// let p = openstack_images::Page::new(vec!["a", "b"], None);
    /// assert_eq!(p.iter().count(), 2);
    /// ```
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }
}

impl<T> IntoIterator for Page<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a Page<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

/// How one list fetches a page: the only part that differs between lists.
pub(crate) trait PageSource: Send + Sync + 'static {
    /// What the list holds.
    type Item: Send + 'static;

    /// The page after `marker` (the first page when `None`), asking for `page_size` items
    /// (the server's default when `None`). The request is built from the list's own query.
    fn fetch_page(
        &self,
        marker: Option<String>,
        page_size: Option<u64>,
    ) -> BoxFuture<'static, Result<Page<Self::Item>>>;

    /// The marker that resumes a listing right after `item` (its id).
    fn marker_after(&self, item: &Self::Item) -> Option<String>;
}

/// Where the engine goes next.
enum Cursor {
    /// Request the page after this marker (`None`: the first page).
    Fetch(Option<String>),
    /// The listing is over (last page, cap reached, or an error was yielded).
    Done,
}

/// The paging loop shared by [`Paginator`] and [`Pages`]: one request in flight at most,
/// markers remembered to stop a loop, the total cap applied.
struct PageEngine<T> {
    source: Box<dyn PageSource<Item = T>>,
    page_size: Option<u64>,
    max_items: Option<u64>,
    yielded: u64,
    cursor: Cursor,
    /// The `next_marker` of the last page fetched: where that page's unyielded rest ends.
    last_next_marker: Option<String>,
    seen_markers: HashSet<String>,
    in_flight: Option<BoxFuture<'static, Result<Page<T>>>>,
}

impl<T: Send + 'static> PageEngine<T> {
    fn new(
        source: impl PageSource<Item = T>,
        start_marker: Option<String>,
        page_size: Option<u64>,
    ) -> Self {
        let seen_markers = start_marker.iter().cloned().collect();
        PageEngine {
            source: Box::new(source),
            page_size,
            max_items: None,
            yielded: 0,
            cursor: Cursor::Fetch(start_marker),
            last_next_marker: None,
            seen_markers,
            in_flight: None,
        }
    }

    fn remaining(&self) -> Option<u64> {
        self.max_items.map(|max| max.saturating_sub(self.yielded))
    }

    fn poll_page(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Page<T>>>> {
        if self.in_flight.is_none() {
            let Cursor::Fetch(marker) = std::mem::replace(&mut self.cursor, Cursor::Done) else {
                return Poll::Ready(None);
            };
            let remaining = self.remaining();
            if remaining == Some(0) {
                return Poll::Ready(None);
            }
            // The page that reaches the cap asks for no more than it will yield.
            let page_size = match (self.page_size, remaining) {
                (Some(size), Some(left)) => Some(size.min(left)),
                (size, _) => size,
            };
            self.in_flight = Some(self.source.fetch_page(marker, page_size));
        }
        let Some(request) = self.in_flight.as_mut() else {
            return Poll::Ready(None);
        };
        let result = match request.as_mut().poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(result) => result,
        };
        self.in_flight = None;
        Poll::Ready(Some(result.and_then(|page| self.accept(page))))
    }

    /// Applies the cap to a fetched page and decides what comes after it. The cursor is
    /// `Done` unless this sets it, so an error ends the listing.
    fn accept(&mut self, mut page: Page<T>) -> Result<Page<T>> {
        if let Some(left) = self.remaining() {
            let left = usize::try_from(left).unwrap_or(usize::MAX);
            if page.items.len() > left {
                page.items.truncate(left);
                // Resume after the last item kept, not after the ones cut.
                page.next_marker = page
                    .items
                    .last()
                    .and_then(|item| self.source.marker_after(item));
            }
        }
        self.yielded = self.yielded.saturating_add(page.items.len() as u64);
        self.last_next_marker.clone_from(&page.next_marker);
        match &page.next_marker {
            Some(_) if page.items.is_empty() || self.remaining() == Some(0) => {}
            Some(marker) if !self.seen_markers.insert(marker.clone()) => {
                return Err(Error::Protocol(format!(
                    "the server returned marker {marker} again: stopping instead of looping"
                )));
            }
            Some(marker) => self.cursor = Cursor::Fetch(Some(marker.clone())),
            None => {}
        }
        Ok(page)
    }
}

/// A listing as a stream of items, fetched a page at a time as it is polled.
///
/// Every list of the crate is one of these (see [`ImagePaginator`](crate::ImagePaginator),
/// [`TaskPaginator`](crate::TaskPaginator),
/// [`ComputeImagePaginator`](crate::ComputeImagePaginator)).
/// It is `Unpin`: `try_next()` works on it directly.
///
/// ```no_run
/// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
/// use futures_util::TryStreamExt;
/// use openstack_images::ImageListQuery;
/// let mut images = client.images().list(ImageListQuery::new().page_size(100)).max_items(250);
/// while let Some(image) = images.try_next().await? {
///     println!("{}", image.id);
/// }
/// # Ok(()) }
/// ```
#[must_use = "a paginator does nothing until it is polled"]
pub struct Paginator<T> {
    engine: PageEngine<T>,
    current: std::vec::IntoIter<T>,
}

// Nothing in a paginator is pinned in place: the request in flight is boxed.
impl<T> Unpin for Paginator<T> {}

impl<T> std::fmt::Debug for Paginator<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Paginator")
            .field("page_size", &self.engine.page_size)
            .field("max_items", &self.engine.max_items)
            .field("yielded", &self.engine.yielded)
            .finish_non_exhaustive()
    }
}

impl<T: Send + 'static> Paginator<T> {
    pub(crate) fn new(
        source: impl PageSource<Item = T>,
        start_marker: Option<String>,
        page_size: Option<u64>,
    ) -> Self {
        Paginator {
            engine: PageEngine::new(source, start_marker, page_size),
            current: Vec::new().into_iter(),
        }
    }

    /// Items per request: what Glance and Nova call `limit` (Glance caps it at its
    /// `api_limit_max`, 1000 by default). Overrides the query's page size.
    ///
    /// ```no_run
    /// # fn run(client: openstack_images::Client) {
    /// let tasks = client.images().tasks().page_size(50);
    /// # }
    /// ```
    pub fn page_size(mut self, items: u64) -> Self {
        self.engine.page_size = Some(items);
        self
    }

    /// At most this many items in total: once they are yielded no further page is
    /// requested, and the page that reaches the cap is cut to it.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use futures_util::TryStreamExt;
    /// let first_ten: Vec<_> = client.images().list(Default::default()).max_items(10).try_collect().await?;
    /// assert!(first_ten.len() <= 10);
    /// # Ok(()) }
    /// ```
    pub fn max_items(mut self, items: u64) -> Self {
        self.engine.max_items = Some(items);
        self
    }

    /// The same listing page by page. Items of the current page that were not yet
    /// yielded come first, as a page of their own.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use futures_util::TryStreamExt;
    /// let mut pages = client.compute_images().list(Default::default()).page_size(2).pages();
    /// while let Some(page) = pages.try_next().await? {
    ///     println!("{} images, last: {}", page.items.len(), page.is_last());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn pages(self) -> Pages<T> {
        let rest: Vec<T> = self.current.collect();
        let leftover =
            (!rest.is_empty()).then(|| Page::new(rest, self.engine.last_next_marker.clone()));
        Pages {
            engine: self.engine,
            leftover,
        }
    }
}

impl<T: Send + 'static> Stream for Paginator<T> {
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(item) = this.current.next() {
                return Poll::Ready(Some(Ok(item)));
            }
            match this.engine.poll_page(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Some(Ok(page))) => this.current = page.items.into_iter(),
            }
        }
    }
}

/// A listing page by page, from [`Paginator::pages`] (or `pages` on a service).
///
/// ```no_run
/// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
/// use futures_util::TryStreamExt;
/// use openstack_images::ImageListQuery;
/// let mut pages = client.images().pages(ImageListQuery::new().page_size(100));
/// while let Some(page) = pages.try_next().await? {
///     for image in &page {
///         println!("{}", image.id);
///     }
/// }
/// # Ok(()) }
/// ```
#[must_use = "a page stream does nothing until it is polled"]
pub struct Pages<T> {
    engine: PageEngine<T>,
    leftover: Option<Page<T>>,
}

// As for `Paginator`: the request in flight is boxed, nothing else is pinned.
impl<T> Unpin for Pages<T> {}

impl<T> std::fmt::Debug for Pages<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pages")
            .field("page_size", &self.engine.page_size)
            .field("max_items", &self.engine.max_items)
            .field("yielded", &self.engine.yielded)
            .finish_non_exhaustive()
    }
}

impl<T: Send + 'static> Stream for Pages<T> {
    type Item = Result<Page<T>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(page) = self.leftover.take() {
            return Poll::Ready(Some(Ok(page)));
        }
        self.engine.poll_page(cx)
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

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::{StreamExt, TryStreamExt};
    use std::future::Future;
    use std::sync::{Arc, Mutex};

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

    #[test]
    fn next_links_without_a_marker_fall_back_to_the_last_item() {
        let ep = Url::parse("http://127.0.0.1:9292/v2/").unwrap();
        let id = |n: &u32| Some(n.to_string());
        let link = Some("/v2/images?marker=7");
        assert_eq!(
            next_marker_from_link(&ep, link, &[1, 2], id).as_deref(),
            Some("7")
        );
        let bare = Some("/v2/images?limit=2");
        assert_eq!(
            next_marker_from_link(&ep, bare, &[1, 2], id).as_deref(),
            Some("2")
        );
        assert_eq!(next_marker_from_link(&ep, link, &[], id), None);
        assert_eq!(next_marker_from_link(&ep, None, &[1, 2], id), None);
    }

    /// The `(marker, page_size)` of every request a fake source received.
    type RequestLog = Arc<Mutex<Vec<(Option<String>, Option<u64>)>>>;

    /// A fake list of `total` numbered items (`1..=total`) served `server_max` at a time at
    /// most, whose marker is the last item's number; it records every request.
    #[derive(Clone)]
    struct Numbers {
        total: u32,
        server_max: u32,
        requests: RequestLog,
        /// A marker the server hands out on every page instead of the real one.
        stuck_marker: Option<String>,
    }

    impl Numbers {
        fn new(total: u32) -> Self {
            Numbers {
                total,
                server_max: 3,
                requests: Arc::default(),
                stuck_marker: None,
            }
        }

        fn requests(&self) -> Vec<(Option<String>, Option<u64>)> {
            self.requests.lock().unwrap().clone()
        }
    }

    impl PageSource for Numbers {
        type Item = u32;

        fn fetch_page(
            &self,
            marker: Option<String>,
            page_size: Option<u64>,
        ) -> BoxFuture<'static, Result<Page<u32>>> {
            self.requests
                .lock()
                .unwrap()
                .push((marker.clone(), page_size));
            // A marker that is not a number (a stuck one) starts over, as a broken server might.
            let start = marker.and_then(|m| m.parse::<u32>().ok()).unwrap_or(0);
            let size = page_size.map_or(self.server_max, |n| {
                u32::try_from(n).unwrap().min(self.server_max)
            });
            let items: Vec<u32> = (start + 1..=self.total).take(size as usize).collect();
            // Like Glance: a full page has a next link, so the last page may be empty.
            let next = (items.len() == size as usize)
                .then(|| items.last().map(u32::to_string))
                .flatten();
            let next = self.stuck_marker.clone().or(next);
            Box::pin(async move { Ok(Page::new(items, next)) })
        }

        fn marker_after(&self, item: &u32) -> Option<String> {
            Some(item.to_string())
        }
    }

    fn run<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn paginators_are_unpin_send_streams() {
        fn usable<S: Stream + Unpin + Send + 'static>() {}
        usable::<Paginator<crate::Image>>();
        usable::<Pages<serde_json::Value>>();
    }

    #[test]
    fn items_cross_pages_and_stop_on_an_empty_page() {
        let source = Numbers::new(6);
        let mut list = Paginator::new(source.clone(), None, None);
        let items: Vec<u32> = run(async {
            let mut out = Vec::new();
            // `try_next` straight on the paginator: it is `Unpin`.
            while let Some(n) = list.try_next().await.unwrap() {
                out.push(n);
            }
            out
        });
        assert_eq!(items, [1, 2, 3, 4, 5, 6]);
        // 6 items in pages of 3: the third page comes back empty and ends the listing.
        assert_eq!(
            source.requests(),
            [
                (None, None),
                (Some("3".into()), None),
                (Some("6".into()), None)
            ]
        );
    }

    #[test]
    fn pages_are_yielded_whole_with_their_markers() {
        let source = Numbers::new(5);
        let pages: Vec<Page<u32>> =
            run(Paginator::new(source, None, None).pages().try_collect()).unwrap();
        assert_eq!(
            pages,
            [
                Page::new(vec![1, 2, 3], Some("3".into())),
                Page::new(vec![4, 5], None)
            ]
        );
    }

    #[test]
    fn page_size_is_passed_to_every_request() {
        let source = Numbers::new(5);
        let items: Vec<u32> = run(Paginator::new(source.clone(), None, Some(9))
            .page_size(2)
            .try_collect())
        .unwrap();
        assert_eq!(items, [1, 2, 3, 4, 5]);
        let sizes: Vec<Option<u64>> = source.requests().into_iter().map(|(_, s)| s).collect();
        assert_eq!(sizes, [Some(2), Some(2), Some(2)]);
    }

    #[test]
    fn a_start_marker_is_the_first_request_and_cannot_come_back() {
        let source = Numbers::new(5);
        let items: Vec<u32> =
            run(Paginator::new(source.clone(), Some("2".into()), None).try_collect()).unwrap();
        assert_eq!(items, [3, 4, 5]);
        assert_eq!(source.requests()[0], (Some("2".into()), None));

        let stuck = Numbers {
            stuck_marker: Some("2".into()),
            ..Numbers::new(10)
        };
        let err = run(Paginator::new(stuck, Some("2".into()), None).try_collect::<Vec<u32>>());
        assert!(matches!(err, Err(Error::Protocol(m)) if m.contains("marker 2 again")));
    }

    #[test]
    fn a_repeated_marker_stops_with_a_protocol_error() {
        let stuck = Numbers {
            stuck_marker: Some("same".into()),
            ..Numbers::new(100)
        };
        let requests = stuck.requests.clone();
        let results: Vec<Result<u32>> = run(Paginator::new(stuck, None, None).collect());
        // First page (1, 2, 3) then the second page's repeated marker ends it with an error,
        // and nothing follows the error.
        assert_eq!(results.len(), 4);
        assert_eq!(
            results[..3]
                .iter()
                .map(|r| *r.as_ref().unwrap())
                .collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert!(matches!(&results[3], Err(Error::Protocol(m)) if m.contains("marker same again")));
        assert_eq!(requests.lock().unwrap().len(), 2);
    }

    #[test]
    fn max_items_smaller_than_a_page_cuts_it_and_asks_for_no_more() {
        let source = Numbers::new(100);
        let items: Vec<u32> = run(Paginator::new(source.clone(), None, None)
            .max_items(2)
            .try_collect())
        .unwrap();
        assert_eq!(items, [1, 2]);
        assert_eq!(source.requests().len(), 1);

        // With a page size, the one request asks for only what the cap leaves.
        let source = Numbers::new(100);
        let pages: Vec<Page<u32>> = run(Paginator::new(source.clone(), None, Some(3))
            .max_items(2)
            .pages()
            .try_collect())
        .unwrap();
        assert_eq!(pages, [Page::new(vec![1, 2], Some("2".into()))]);
        assert_eq!(source.requests(), [(None, Some(2))]);
    }

    #[test]
    fn max_items_across_pages_stops_at_the_cap() {
        let source = Numbers::new(100);
        let pages: Vec<Page<u32>> = run(Paginator::new(source.clone(), None, None)
            .max_items(7)
            .pages()
            .try_collect())
        .unwrap();
        let sizes: Vec<usize> = pages.iter().map(|p| p.items.len()).collect();
        assert_eq!(sizes, [3, 3, 1]);
        // The cut page resumes after its last kept item.
        assert_eq!(pages[2], Page::new(vec![7], Some("7".into())));
        assert_eq!(source.requests().len(), 3);

        // Exactly on a page boundary: no request for a page that could not be yielded.
        let source = Numbers::new(100);
        let items: Vec<u32> = run(Paginator::new(source.clone(), None, None)
            .max_items(6)
            .try_collect())
        .unwrap();
        assert_eq!(items, [1, 2, 3, 4, 5, 6]);
        assert_eq!(source.requests().len(), 2);

        let source = Numbers::new(4);
        let none: Vec<u32> = run(Paginator::new(source.clone(), None, None)
            .max_items(0)
            .try_collect())
        .unwrap();
        assert!(none.is_empty());
        assert!(source.requests().is_empty());
    }

    #[test]
    fn max_items_larger_than_the_listing_yields_it_all() {
        let source = Numbers::new(4);
        let items: Vec<u32> = run(Paginator::new(source.clone(), None, Some(2))
            .max_items(50)
            .try_collect())
        .unwrap();
        assert_eq!(items, [1, 2, 3, 4]);
        // Pages of 2: (1, 2), (3, 4), then an empty page ends it.
        assert_eq!(source.requests().len(), 3);
    }

    #[test]
    fn pages_after_some_items_start_with_the_rest_of_the_page() {
        let source = Numbers::new(5);
        let mut list = Paginator::new(source, None, None);
        let first = run(list.try_next()).unwrap();
        assert_eq!(first, Some(1));
        let pages: Vec<Page<u32>> = run(list.pages().try_collect()).unwrap();
        assert_eq!(
            pages,
            [
                Page::new(vec![2, 3], Some("3".into())),
                Page::new(vec![4, 5], None)
            ]
        );
    }

    #[test]
    fn the_rest_of_a_capped_page_keeps_its_resume_marker() {
        let source = Numbers::new(100);
        let mut list = Paginator::new(source, None, None).max_items(2);
        assert_eq!(run(list.try_next()).unwrap(), Some(1));
        let pages: Vec<Page<u32>> = run(list.pages().try_collect()).unwrap();
        assert_eq!(pages, [Page::new(vec![2], Some("2".into()))]);
    }

    #[test]
    fn an_error_ends_the_listing() {
        struct Failing;
        impl PageSource for Failing {
            type Item = u32;
            fn fetch_page(
                &self,
                _: Option<String>,
                _: Option<u64>,
            ) -> BoxFuture<'static, Result<Page<u32>>> {
                Box::pin(async { Err(Error::Protocol("broken".into())) })
            }
            fn marker_after(&self, _: &u32) -> Option<String> {
                None
            }
        }
        let results: Vec<Result<u32>> = run(Paginator::new(Failing, None, None).collect());
        assert_eq!(results.len(), 1);
        assert!(results[0].is_err());
    }
}
