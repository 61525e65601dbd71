//! Unit tests of the paging engine, against a fake page source (no server).

use super::*;
use crate::error::Error;
use futures_util::future::BoxFuture;
use url::Url;

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
