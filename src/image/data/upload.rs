//! Uploads and staging: the body is streamed from its source, counted, checked and hashed,
//! and the hash Glance stores for an upload is compared with the hash of what was sent.

use super::worker::Worker;
use super::*;
use crate::hash::Hasher;

/// The algorithm an upload is hashed with unless told otherwise: Glance's documented default
/// for `hashing_algorithm`, the option it fills `os_hash_algo` from (Glance publishes the
/// option nowhere before an image has data, so it cannot be discovered first).
pub const DEFAULT_UPLOAD_HASH: &str = "sha512";

/// Which data call an [`Upload`] makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum UploadTarget {
    /// `PUT /v2/images/{id}/file`: the image becomes active.
    File,
    /// `PUT /v2/images/{id}/stage`: the data waits for an import.
    Stage,
}

/// An upload of image data, built by [`ImagesApi::upload`] or [`ImagesApi::stage`] and sent by
/// [`Upload::send`].
///
/// ```no_run
/// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
/// use openstack_images::DataSource;
/// client
///     .images()
///     .upload("1bea47ed-f6a9-463b-b423-14b9cca9ad27", DataSource::file("disk.raw"))
///     .progress(|sent, total| eprintln!("{sent} of {total:?} bytes"))
///     .send()
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "an upload does nothing until `.send().await`"]
pub struct Upload {
    images: ImagesApi,
    id: String,
    target: UploadTarget,
    source: DataSource,
    progress: Option<Progress>,
    /// The algorithm the bytes sent are hashed with; `None`: not hashed.
    hash: Option<String>,
    /// The data's hash, known beforehand (`(algorithm, hex)`): compared instead of hashing.
    known: Option<(String, String)>,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upload")
            .field("id", &self.id)
            .field("target", &self.target)
            .field("source", &self.source)
            .field("hash", &self.hash)
            .field("known", &self.known)
            .finish_non_exhaustive()
    }
}

impl Upload {
    /// Calls `f(bytes_sent, total)` as chunks are handed to the connection.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use openstack_images::DataSource;
    /// client.images().upload("1bea47ed-f6a9-463b-b423-14b9cca9ad27", DataSource::file("disk.raw"))
    ///     .progress(|sent, _| eprintln!("{sent}"))
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn progress(mut self, f: impl Fn(u64, Option<u64>) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    /// The `hashlib` algorithm the bytes sent are hashed with (default
    /// [`DEFAULT_UPLOAD_HASH`], `sha512`): set it to the cloud's `hashing_algorithm` when that
    /// is not Glance's default. `None` sends without hashing (and without checking).
    ///
    /// After an upload of an image's data (not after staging: the stored hash only exists
    /// once the import ran), the image's `os_hash_value` is compared with the hash of what
    /// was sent: a difference is an [`Error::Integrity`] whose `expected` is the hash of
    /// the bytes sent and `actual` the one Glance stored. When the image's `os_hash_algo` is
    /// another algorithm than the one used, nothing can be compared: a warning is logged.
    /// An algorithm this crate cannot compute fails with [`Error::InvalidInput`] before
    /// anything is sent.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use openstack_images::DataSource;
    /// client.images().upload("1bea47ed-f6a9-463b-b423-14b9cca9ad27", DataSource::file("disk.raw"))
    ///     .hash_algorithm(Some("sha256"))
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn hash_algorithm(mut self, algorithm: Option<&str>) -> Self {
        self.hash = algorithm.map(str::to_ascii_lowercase);
        self
    }

    /// Sends the data. It is sent once: a failed upload is not retried (the source is
    /// consumed), and a token is refreshed before the request rather than after a 401.
    ///
    /// Dropped before it finishes, the future cuts the request: the image it uploads to
    /// stays (Glance puts it back to `queued`, or keeps a partial staging file until the
    /// image is deleted); the image is the caller's, so deleting it is the caller's call
    /// ([`ImagesApi::delete_on_drop`] does it for an image made for the upload).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use openstack_images::DataSource;
    /// client.images().stage("1bea47ed-f6a9-463b-b423-14b9cca9ad27", DataSource::file("disk.raw"))
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    /// The data's hash in `algorithm`, known without hashing the bytes again: a digest the
    /// source itself is verified against as it is read (a publisher's checksum that fails the
    /// source's last read when it differs). After the upload the image's `os_hash_value` is
    /// compared with `hex` as [`Upload::hash_algorithm`] compares with the hash of the bytes
    /// sent, and the bytes are not hashed a second time. Only sound when a source that
    /// yields other bytes fails before it ends; otherwise use [`Upload::hash_algorithm`].
    ///
    /// ```no_run
    /// # async fn run(
    /// #     client: openstack_images::Client,
    /// #     verified: openstack_images::DataSource,
    /// # ) -> openstack_images::Result<()> {
    /// // `verified` fails its last read unless its bytes have this sha512, as a catalog
    /// // source opened with its publisher's checksum does (`open_source`).
    /// let published = "ab".repeat(64);
    /// client.images().upload("1bea47ed-f6a9-463b-b423-14b9cca9ad27", verified)
    ///     .known_hash("sha512", &published)
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn known_hash(mut self, algorithm: &str, hex: &str) -> Self {
        self.known = Some((algorithm.to_ascii_lowercase(), hex.to_ascii_lowercase()));
        self
    }

    pub async fn send(self) -> Result<()> {
        let suffix = match self.target {
            UploadTarget::File => "file",
            UploadTarget::Stage => "stage",
        };
        let path = format!("{}/{suffix}", image_path(&self.id)?);
        let hasher = match &self.hash {
            Some(algo) if self.known.is_none() => {
                let h = Hasher::new(algo).ok_or_else(|| {
                    Error::invalid("hash algorithm", format!("{algo} is not supported"))
                })?;
                Some(Worker::start("image-hash", h)?)
            }
            _ => None,
        };
        let (chunks, size) = self.source.open().await?;
        // A failing source surfaces as a broken request body; keep its own error to report.
        let source_error = Arc::new(Mutex::new(None::<io::Error>));
        let sent_hash = Arc::new(Mutex::new(None::<String>));
        let body = counting_body(
            chunks,
            size,
            self.progress,
            source_error.clone(),
            hasher.map(|h| (h, sent_hash.clone())),
        );
        let mut req = Req::new(ServiceType::Image, Method::PUT, path);
        req.body = ReqBody::Stream(
            Some(reqwest::Body::wrap_stream(body)),
            "application/octet-stream",
        );
        req.timed = false;
        if let Some(n) = size {
            req = req.header("x-openstack-image-size", HeaderValue::from(n));
        }
        tracing::debug!(image = %self.id, target = suffix, size, "upload starting");
        let started = std::time::Instant::now();
        let result = self.images.client.send(req).await;
        let failed_source = source_error.lock().ok().and_then(|mut e| e.take());
        match (result, failed_source) {
            (_, Some(e)) => Err(Error::Io(e)),
            (Err(e), None) => Err(e),
            (Ok(_), None) => {
                tracing::debug!(image = %self.id, target = suffix, elapsed_ms = started.elapsed().as_millis() as u64, "upload done");
                let (hash, sent) = match self.known {
                    Some((algo, hex)) => (Some(algo), Some(hex)),
                    None => (self.hash, sent_hash.lock().ok().and_then(|mut h| h.take())),
                };
                match (self.target, hash, sent) {
                    (UploadTarget::File, Some(algo), Some(sent)) => {
                        compare_stored(&self.images, &self.id, &algo, sent).await
                    }
                    _ => Ok(()),
                }
            }
        }
    }
}

/// Compares the hash Glance stored for an upload with the hash of the bytes sent.
async fn compare_stored(images: &ImagesApi, id: &str, algo: &str, sent: String) -> Result<()> {
    let image = images.get(id).await?;
    match (&image.os_hash_algo, &image.os_hash_value) {
        (Some(a), Some(stored)) if a.eq_ignore_ascii_case(algo) => {
            let stored = stored.to_ascii_lowercase();
            if stored != sent {
                return Err(Error::Integrity {
                    image_id: id.to_owned(),
                    algorithm: algo.to_owned(),
                    expected: sent,
                    actual: stored,
                });
            }
            tracing::debug!(image = %id, algorithm = %algo, "the stored hash matches the bytes sent");
            Ok(())
        }
        (stored_algo, _) => {
            tracing::warn!(image = %id, sent = %algo, stored = ?stored_algo, "the upload could not be checked end to end: Glance hashed it with another algorithm (see `Upload::hash_algorithm`)");
            Ok(())
        }
    }
}

/// A hash of the bytes sent, and where it goes once the body has ended.
type SentHash = (Worker<String>, Arc<Mutex<Option<String>>>);

/// Counts the bytes of an upload body: reports progress, checks the declared size, keeps
/// the source's own error, and hashes the bytes (on a thread of their own) when asked.
fn counting_body(
    chunks: ByteStream,
    size: Option<u64>,
    progress: Option<Progress>,
    error_slot: Arc<Mutex<Option<io::Error>>>,
    hash: Option<SentHash>,
) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    let fail = move |slot: &Arc<Mutex<Option<io::Error>>>, e: io::Error| {
        let copy = io::Error::new(e.kind(), e.to_string());
        if let Ok(mut s) = slot.lock() {
            *s = Some(e);
        }
        copy
    };
    stream::try_unfold(
        (chunks, 0u64, false, hash),
        move |(mut chunks, sent, done, mut hash)| {
            let progress = progress.clone();
            let slot = error_slot.clone();
            async move {
                if done {
                    return Ok(None);
                }
                match chunks.next().await {
                    Some(Ok(chunk)) => {
                        if let Some((h, _)) = &mut hash
                            && h.push(chunk.clone()).await.is_err()
                        {
                            let e = h.finish().await.err();
                            let e =
                                e.unwrap_or_else(|| io::Error::other("the hashing thread stopped"));
                            return Err(fail(&slot, e));
                        }
                        let sent = sent + chunk.len() as u64;
                        if let Some(n) = size.filter(|n| sent > *n) {
                            let e = io::Error::new(
                                io::ErrorKind::InvalidData,
                                format!(
                                    "the upload source yields more than its declared {n} bytes"
                                ),
                            );
                            return Err(fail(&slot, e));
                        }
                        if let Some(p) = &progress {
                            p(sent, size);
                        }
                        Ok(Some((chunk, (chunks, sent, false, hash))))
                    }
                    Some(Err(e)) => Err(fail(&slot, e)),
                    None => match size {
                        Some(n) if n != sent => {
                            let e = io::Error::new(
                                io::ErrorKind::UnexpectedEof,
                                format!(
                                    "the upload source ended after {sent} of its declared {n} bytes"
                                ),
                            );
                            Err(fail(&slot, e))
                        }
                        _ => {
                            if let Some((mut h, out)) = hash {
                                let hex = h.finish().await.map_err(|e| fail(&slot, e))?;
                                if let Ok(mut o) = out.lock() {
                                    *o = Some(hex);
                                }
                            }
                            Ok(None)
                        }
                    },
                }
            }
        },
    )
}

impl ImagesApi {
    /// An upload of the image's data (`PUT /v2/images/{id}/file`); the image must be
    /// `queued` and becomes `active`. Finish with [`Upload::send`].
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use openstack_images::DataSource;
    /// client.images().upload("1bea47ed-f6a9-463b-b423-14b9cca9ad27", DataSource::file("disk.raw")).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn upload(&self, id: &str, source: DataSource) -> Upload {
        self.upload_to(id.to_owned(), UploadTarget::File, source)
    }

    /// Stages data for an interoperable import (`PUT /v2/images/{id}/stage`): the image
    /// goes to `uploading`; then [`ImagesApi::import`] with `ImportMethod::GlanceDirect`.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use openstack_images::{DataSource, ImportMethod};
    /// let images = client.images();
    /// images.stage("1bea47ed-f6a9-463b-b423-14b9cca9ad27", DataSource::file("disk.raw")).send().await?;
    /// images.import("1bea47ed-f6a9-463b-b423-14b9cca9ad27", ImportMethod::GlanceDirect).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn stage(&self, id: &str, source: DataSource) -> Upload {
        self.upload_to(id.to_owned(), UploadTarget::Stage, source)
    }

    fn upload_to(&self, id: String, target: UploadTarget, source: DataSource) -> Upload {
        Upload {
            images: self.clone(),
            id,
            target,
            source,
            progress: None,
            hash: Some(DEFAULT_UPLOAD_HASH.to_owned()),
            known: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn upload_body_checks_declared_size() {
        let src = DataSource::bytes(&b"12345"[..]).size(4);
        let (chunks, size) = src.open().await.unwrap();
        let slot = Arc::new(Mutex::new(None));
        let out: Vec<_> = counting_body(chunks, size, None, slot.clone(), None)
            .collect()
            .await;
        assert!(out.iter().any(|r| r.is_err()));
        assert!(slot.lock().unwrap().is_some());

        let src = DataSource::stream(stream::iter([
            Ok::<_, io::Error>(Bytes::from_static(b"ab")),
            Ok(Bytes::from_static(b"c")),
        ]))
        .size(3);
        let (chunks, size) = src.open().await.unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        let progress: Progress = Arc::new(move |n, t| s2.lock().unwrap().push((n, t)));
        let out: Vec<_> = counting_body(
            chunks,
            size,
            Some(progress),
            Arc::new(Mutex::new(None)),
            None,
        )
        .try_collect()
        .await
        .unwrap();
        assert_eq!(out.concat(), b"abc");
        assert_eq!(*seen.lock().unwrap(), vec![(2, Some(3)), (3, Some(3))]);

        // Hashed on the way, the hash lands in its slot once the body has ended.
        let src = DataSource::stream(stream::iter([
            Ok::<_, io::Error>(Bytes::from_static(b"ab")),
            Ok(Bytes::from_static(b"c")),
        ]));
        let (chunks, size) = src.open().await.unwrap();
        let hasher = Worker::start("test-hash", Hasher::new("sha256").unwrap()).unwrap();
        let out_hash = Arc::new(Mutex::new(None));
        let body = counting_body(
            chunks,
            size,
            None,
            Arc::new(Mutex::new(None)),
            Some((hasher, out_hash.clone())),
        );
        let out: Vec<_> = body.try_collect().await.unwrap();
        assert_eq!(out.concat(), b"abc");
        assert_eq!(
            out_hash.lock().unwrap().as_deref(),
            Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );

        let big = DataSource::stream(stream::iter([Ok::<_, io::Error>(Bytes::from(vec![
            1u8;
            CHUNK
                * 2
                + 1
        ]))]));
        let (chunks, _) = big.open().await.unwrap();
        let lens: Vec<usize> = chunks.map(|c| c.unwrap().len()).collect().await;
        assert_eq!(lens, vec![CHUNK, CHUNK, 1]);
    }
}
