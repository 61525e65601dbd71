//! The paging loop shared by every list: one request in flight, markers remembered to stop
//! a loop, the total cap applied.

use std::collections::HashSet;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;

use super::Page;
use crate::error::{Error, Result};

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

/// The markers a listing has seen, to stop a server that sends one again (a loop would
/// never end). Bounded memory against a server that pages without end: 64-bit fingerprints
/// of the first [`SeenMarkers::CAPACITY`] markers (about 2 MiB at the most), and the last
/// marker itself; past the capacity a loop back to an unremembered marker is not detected,
/// and `max_items` is what bounds such a listing.
#[derive(Default)]
struct SeenMarkers {
    fingerprints: HashSet<u64>,
    last: Option<String>,
}

impl SeenMarkers {
    const CAPACITY: usize = 100_000;

    /// False when `marker` was seen before.
    fn insert(&mut self, marker: &str) -> bool {
        use std::hash::{Hash, Hasher};
        if self.last.as_deref() == Some(marker) {
            return false;
        }
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        marker.hash(&mut hasher);
        let fingerprint = hasher.finish();
        if self.fingerprints.contains(&fingerprint) {
            return false;
        }
        if self.fingerprints.len() < Self::CAPACITY {
            self.fingerprints.insert(fingerprint);
        }
        self.last = Some(marker.to_owned());
        true
    }
}

/// The paging loop shared by [`Paginator`] and [`Pages`]: one request in flight at most,
/// markers remembered to stop a loop, the total cap applied.
pub(super) struct PageEngine<T> {
    pub(super) source: Box<dyn PageSource<Item = T>>,
    pub(super) page_size: Option<u64>,
    pub(super) max_items: Option<u64>,
    pub(super) yielded: u64,
    cursor: Cursor,
    /// The `next_marker` of the last page fetched: where that page's unyielded rest ends.
    pub(super) last_next_marker: Option<String>,
    seen_markers: SeenMarkers,
    pub(super) in_flight: Option<BoxFuture<'static, Result<Page<T>>>>,
}

impl<T: Send + 'static> PageEngine<T> {
    pub(super) fn new(
        source: impl PageSource<Item = T>,
        start_marker: Option<String>,
        page_size: Option<u64>,
    ) -> Self {
        let mut seen_markers = SeenMarkers::default();
        if let Some(marker) = &start_marker {
            seen_markers.insert(marker);
        }
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

    pub(super) fn remaining(&self) -> Option<u64> {
        self.max_items.map(|max| max.saturating_sub(self.yielded))
    }

    pub(super) fn poll_page(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Page<T>>>> {
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
    pub(super) fn accept(&mut self, mut page: Page<T>) -> Result<Page<T>> {
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
            Some(marker) if !self.seen_markers.insert(marker) => {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_markers_stay_bounded_and_still_catch_repeats() {
        let mut seen = SeenMarkers::default();
        for n in 0..SeenMarkers::CAPACITY + 10 {
            assert!(seen.insert(&format!("marker-{n}")), "{n}");
        }
        assert_eq!(seen.fingerprints.len(), SeenMarkers::CAPACITY);
        let last = format!("marker-{}", SeenMarkers::CAPACITY + 9);
        assert!(
            !seen.insert(&last),
            "the last marker again, past the capacity"
        );
        assert!(!seen.insert("marker-7"), "a remembered marker again");
    }
}
