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

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use crate::error::Result;

mod engine;
mod links;
#[cfg(test)]
mod tests;

use engine::PageEngine;
pub(crate) use engine::PageSource;
pub(crate) use links::{marker_of, next_marker_from_link, resolve_link};

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
