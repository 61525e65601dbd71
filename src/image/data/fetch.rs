//! Data GETs below both the single-stream and the ranged download: the request that opens
//! the body, the [`ImageData`] stream they hand out, and plain range reads.

use super::*;

/// Sends a data GET (no request timeout: it would cut large images), from byte `from` on.
pub(super) async fn open(
    client: &Client,
    image_id: &str,
    path: &str,
    range: Option<String>,
) -> Result<reqwest::Response> {
    let mut req = Req::new(ServiceType::Image, Method::GET, path.to_owned());
    req.timed = false;
    if let Some(r) = range {
        let v = HeaderValue::from_str(&r).map_err(|_| Error::invalid("range", r.clone()))?;
        req = req.header("range", v);
    }
    let resp = client.send(req).await?;
    if resp.status() == StatusCode::NO_CONTENT {
        return Err(Error::NotFound {
            kind: "image data",
            name: image_id.to_owned(),
        });
    }
    Ok(resp)
}

/// Image data as a stream of chunks, from [`Download::stream`](crate::Download::stream) or [`ImagesApi::download_range`].
///
/// ```no_run
/// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
/// use futures_util::TryStreamExt;
/// let data = client.images().download("1bea47ed-f6a9-463b-b423-14b9cca9ad27").stream().await?;
/// println!("{:?} bytes", data.size());
/// let chunks: Vec<_> = data.try_collect().await?;
/// # Ok(()) }
/// ```
pub struct ImageData {
    pub(super) inner: Pin<Box<dyn Stream<Item = Result<Bytes>> + Send>>,
    pub(super) size: Option<u64>,
}

impl std::fmt::Debug for ImageData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageData")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl ImageData {
    /// The number of bytes this stream yields, when the image record or the server said.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let data = client.images().download_range("1bea47ed-f6a9-463b-b423-14b9cca9ad27", 0..512).await?;
    /// assert_eq!(data.size(), Some(512));
    /// # Ok(()) }
    /// ```
    pub fn size(&self) -> Option<u64> {
        self.size
    }
}

impl Stream for ImageData {
    type Item = Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl ImagesApi {
    /// The bytes of `range` of the image's data (`Range: bytes=first-last`, answered 206).
    /// Partial reads are not verified (the published hashes cover the whole image) and not
    /// resumed. A range outside the data fails with [`Error::InvalidInput`] (the server's
    /// 416).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use futures_util::TryStreamExt;
    /// // The first 512 bytes: a partition table, a qcow2 header...
    /// let head: Vec<_> = client.images().download_range("1bea47ed-f6a9-463b-b423-14b9cca9ad27", 0..512).await?.try_collect().await?;
    /// // Everything from byte 4096 on.
    /// let tail = client.images().download_range("1bea47ed-f6a9-463b-b423-14b9cca9ad27", 4096..).await?;
    /// # Ok(()) }
    /// ```
    pub async fn download_range(
        &self,
        id: &str,
        range: impl std::ops::RangeBounds<u64>,
    ) -> Result<ImageData> {
        let range = range_header(&range)?;
        let path = format!("{}/file", image_path(id)?);
        let resp = match open(&self.client, id, &path, Some(range.clone())).await {
            Err(e) if e.status() == Some(416) => {
                return Err(Error::invalid(
                    "range",
                    format!("{range} is not satisfiable for image {id}: {e}"),
                ));
            }
            other => other?,
        };
        if resp.status() != StatusCode::PARTIAL_CONTENT {
            return Err(Error::Protocol(format!(
                "image {id}: asked for {range}, the server answered {} instead of 206",
                resp.status()
            )));
        }
        let size = resp.content_length();
        let url = resp.url().clone();
        let body = resp
            .bytes_stream()
            .map_err(move |e| transport_error(&Method::GET, &url, e));
        Ok(ImageData {
            inner: Box::pin(body),
            size,
        })
    }
}

/// The `Range` header value of a byte range: `bytes=first-last`, or `bytes=first-` for a
/// range without an end. An empty range is refused.
fn range_header(range: &impl std::ops::RangeBounds<u64>) -> Result<String> {
    use std::ops::Bound;
    let first = match range.start_bound() {
        Bound::Included(&n) => Some(n),
        Bound::Excluded(&n) => n.checked_add(1),
        Bound::Unbounded => Some(0),
    };
    let last = match range.end_bound() {
        Bound::Included(&n) => Some(Some(n)),
        Bound::Excluded(&n) => Some(n.checked_sub(1)),
        Bound::Unbounded => None,
    };
    match (first, last) {
        (Some(first), None) => Ok(format!("bytes={first}-")),
        (Some(first), Some(Some(last))) if first <= last => Ok(format!("bytes={first}-{last}")),
        _ => Err(Error::invalid("range", "the range is empty")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::reversed_empty_ranges)] // on purpose: an empty range is refused
    fn ranges_become_range_headers() {
        assert_eq!(range_header(&(0..512)).unwrap(), "bytes=0-511");
        assert_eq!(range_header(&(100..=199)).unwrap(), "bytes=100-199");
        assert_eq!(range_header(&(4096..)).unwrap(), "bytes=4096-");
        assert_eq!(range_header(&(..10)).unwrap(), "bytes=0-9");
        assert_eq!(range_header(&(..)).unwrap(), "bytes=0-");
        for empty in [
            range_header(&(5..5)),
            range_header(&(..0)),
            range_header(&(9..=3)),
        ] {
            assert!(
                matches!(empty, Err(Error::InvalidInput { .. })),
                "{empty:?}"
            );
        }
    }
}
