//! Bounded-concurrency bulk operations: many requests in flight at once, but never more than
//! the caller allows, with one result per input reported in input order.
//!
//! A failure of one item does not stop the others: every item gets its own `Result`, so a
//! caller can retry or report exactly the ones that failed. Each request still goes through
//! the client's pipeline (retries of idempotent requests, re-authentication).

use std::future::Future;

use futures_util::StreamExt;

use crate::error::Result;
use crate::image::images::ImagesApi;

/// The outcome of a bulk operation: `(id, result)` for every id given, in the order given.
pub type BulkResults<T = ()> = Vec<(String, Result<T>)>;

/// Maps every item through the async `f` with at most `concurrency` futures in flight (0
/// counts as 1), and returns the outputs in the order of the items (not the order they
/// finished in).
///
/// ```
/// # tokio_test_block_on(async {
/// use openstack_images::map_bounded;
/// let doubled = map_bounded(1..=5, 2, |n| async move { n * 2 }).await;
/// assert_eq!(doubled, vec![2, 4, 6, 8, 10]);
/// # });
/// # fn tokio_test_block_on(f: impl std::future::Future<Output = ()>) {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
pub async fn map_bounded<T, R, F, Fut>(
    items: impl IntoIterator<Item = T>,
    concurrency: usize,
    mut f: F,
) -> Vec<R>
where
    F: FnMut(T) -> Fut,
    Fut: Future<Output = R>,
{
    let mut out: Vec<(usize, R)> = futures_util::stream::iter(items.into_iter().enumerate())
        .map(|(i, item)| {
            let fut = f(item);
            async move { (i, fut.await) }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    out.sort_unstable_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

impl ImagesApi {
    /// Deletes many images, at most `concurrency` at a time; one result per id, in order.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) {
    /// let ids = ["1bea47ed-f6a9-463b-b423-14b9cca9ad27", "781b3762-9469-4cec-b58d-3349e5de4e9c"];
    /// for (id, result) in client.images().delete_many(ids, 8).await {
    ///     if let Err(e) = result {
    ///         eprintln!("{id}: {e}");
    ///     }
    /// }
    /// # }
    /// ```
    pub async fn delete_many<S: AsRef<str>>(
        &self,
        ids: impl IntoIterator<Item = S>,
        concurrency: usize,
    ) -> BulkResults {
        let ids: Vec<String> = ids.into_iter().map(|id| id.as_ref().to_owned()).collect();
        let results = map_bounded(ids.iter(), concurrency, |id| self.delete(id)).await;
        ids.into_iter().zip(results).collect()
    }

    /// Adds `tag` to many images, at most `concurrency` at a time; one result per id, in
    /// order. An invalid tag fails every item before any request (see [`ImagesApi::add_tag`]).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) {
    /// let ids = ["1bea47ed-f6a9-463b-b423-14b9cca9ad27", "781b3762-9469-4cec-b58d-3349e5de4e9c"];
    /// let failed = client
    ///     .images()
    ///     .tag_many(ids, "golden", 8)
    ///     .await
    ///     .into_iter()
    ///     .filter(|(_, r)| r.is_err())
    ///     .count();
    /// # }
    /// ```
    pub async fn tag_many<S: AsRef<str>>(
        &self,
        ids: impl IntoIterator<Item = S>,
        tag: &str,
        concurrency: usize,
    ) -> BulkResults {
        let ids: Vec<String> = ids.into_iter().map(|id| id.as_ref().to_owned()).collect();
        let results = map_bounded(ids.iter(), concurrency, |id| self.add_tag(id, tag)).await;
        ids.into_iter().zip(results).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn bounded_and_in_input_order() {
        let now = AtomicUsize::new(0);
        let max = AtomicUsize::new(0);
        let out = map_bounded(0..40u64, 4, |i| {
            let (now, max) = (&now, &max);
            async move {
                let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(n, Ordering::SeqCst);
                // Later items finish first.
                tokio::time::sleep(Duration::from_millis(40 - i)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                i
            }
        })
        .await;
        assert_eq!(out, (0..40).collect::<Vec<_>>());
        assert_eq!(max.load(Ordering::SeqCst), 4);
        assert_eq!(map_bounded(0..3, 0, |i| async move { i }).await, [0, 1, 2]);
    }
}
