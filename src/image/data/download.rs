//! Verified downloads that resume after a dropped connection, and range reads.

use super::fetch::{ImageData, open};
use super::verify::{Expected, content_md5, expected_of};
use super::worker::{SyncedFile, Worker};
use super::*;
use crate::hash::Hasher;

/// A download of image data, built by [`ImagesApi::download`]: as a stream, an
/// [`AsyncRead`], or into a file.
///
/// The data is checked against the image's `os_hash_value` (with its `os_hash_algo`), or its
/// md5 `checksum` (or the `Content-MD5` header) when that is all there is, and against its
/// `size`; one hash only (never md5 as well as the multihash), computed on a thread of its
/// own while the next chunks arrive. A mismatch is the stream's last item, an [`Error::Integrity`]: the data before
/// it has already been handed out, so only [`Download::to_file`] guarantees that nothing
/// unverified is kept.
///
/// ```no_run
/// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
/// let written = client
///     .images()
///     .download("1bea47ed-f6a9-463b-b423-14b9cca9ad27")
///     .to_file("disk.raw")
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "a download does nothing until it is turned into a stream, a reader or a file"]
pub struct Download {
    images: ImagesApi,
    id: String,
    image: Option<Image>,
    max_resumes: u32,
    verify: bool,
    progress: Option<Progress>,
    /// Store ids for `?prefer=` (multi-store clouds).
    prefer: Vec<String>,
    /// Ranged requests in flight (see [`Download::parallel`]; fetched by `ranged`).
    parallel: usize,
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("id", &self.id)
            .field("max_resumes", &self.max_resumes)
            .field("verify", &self.verify)
            .field("prefer", &self.prefer)
            .field("parallel", &self.parallel)
            .finish_non_exhaustive()
    }
}

impl Download {
    /// Uses this image record for the expected hash and size instead of fetching it.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let image = client.images().find("cirros").await?;
    /// let data = client.images().download(&image.id).image(image.clone()).stream().await?;
    /// # Ok(()) }
    /// ```
    pub fn image(mut self, image: Image) -> Self {
        self.image = Some(image);
        self
    }

    /// How many times to resume with a `Range` request after the connection broke
    /// (default [`DEFAULT_MAX_RESUMES`]; 0 disables resuming). A resume that brings no new
    /// byte before breaking again ends the download at once: a server that keeps failing at
    /// the same place does not get every remaining resume.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let data = client.images().download("1bea47ed-f6a9-463b-b423-14b9cca9ad27").max_resumes(0).stream().await?;
    /// # Ok(()) }
    /// ```
    pub fn max_resumes(mut self, n: u32) -> Self {
        self.max_resumes = n;
        self
    }

    /// Whether an image without any checksum may be downloaded unverified (default: no, it
    /// fails with [`Error::Protocol`] before any data is read). A checksum that is present is
    /// always verified.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let data = client.images().download("1bea47ed-f6a9-463b-b423-14b9cca9ad27").allow_unverified(true).stream().await?;
    /// # Ok(()) }
    /// ```
    pub fn allow_unverified(mut self, yes: bool) -> Self {
        self.verify = !yes;
        self
    }

    /// The stores to read from first (`?prefer=`, Glance 33, OpenStack 2026.2, on multi-store
    /// clouds): a hint, so Glance falls back to the image's other stores. The api-ref says
    /// the list is tried in order, but Glance 33 treats it as a set: among the stores named,
    /// the image's own location order applies, so name one store to be sure of it. A cloud
    /// without multiple stores, or whose version document shows an older Glance (see
    /// [`ImageFeature::PreferStores`](crate::ImageFeature::PreferStores)), fails with
    /// [`Error::Unsupported`] before any request; older Glances would ignore the parameter.
    /// Resumed parts keep the preference.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.images().download("1bea47ed-f6a9-463b-b423-14b9cca9ad27")
    ///     .prefer_stores(["local-ceph", "backup"])
    ///     .to_file("disk.raw")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn prefer_stores<I, S>(mut self, stores: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.prefer = stores.into_iter().map(Into::into).collect();
        self
    }

    /// Fetches the data with up to `n` ranged requests at once (at most 16) where the store
    /// serves ranges (Glance's `file` and `cinder` stores do; `rbd`, `swift`, `s3` and `http`
    /// answer 400, and the download is then one stream, as it also is for images of at most
    /// 4 MiB). Segments of 2 MiB are handed out and hashed in order, so the data and
    /// its verification are the single stream's; up to `(n + 4) * 2 MiB` is held in memory.
    /// It helps where one connection is slower than the path (a per-connection limit, a long
    /// fat pipe), and it ramps so as not to hurt elsewhere: the first request asks for all
    /// but the last two 2 MiB segments and, after its first 4 MiB, waits while those two come
    /// at once; unless they came 1.3x as fast, the first request goes on to its end (one
    /// stream, no further request), else the rest comes `n` at once. A broken range is
    /// re-requested from where it broke. Default 1.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.images().download("1bea47ed-f6a9-463b-b423-14b9cca9ad27").parallel(4).to_file("disk.raw").await?;
    /// # Ok(()) }
    /// ```
    pub fn parallel(mut self, n: usize) -> Self {
        self.parallel = n;
        self
    }

    /// Calls `f(bytes_received, total)` as chunks arrive.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.images().download("1bea47ed-f6a9-463b-b423-14b9cca9ad27")
    ///     .progress(|got, total| eprintln!("{got}/{total:?}"))
    ///     .to_file("disk.raw")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn progress(mut self, f: impl Fn(u64, Option<u64>) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    /// Starts the download: the image's data as a stream of chunks, verified as they pass;
    /// a mismatch is the last item, an [`Error::Integrity`]. An image without data (status
    /// `queued`, or its data gone from the store) fails with [`Error::NotFound`] of kind
    /// `image data`.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use futures_util::TryStreamExt;
    /// let mut data = client.images().download("1bea47ed-f6a9-463b-b423-14b9cca9ad27").stream().await?;
    /// while let Some(chunk) = data.try_next().await? {
    ///     // use chunk; an Err at the end means the data was corrupt
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn stream(self) -> Result<ImageData> {
        let image = match self.image {
            Some(i) => i,
            None => self.images.get(&self.id).await?,
        };
        let mut path = format!("{}/file", image_path(&self.id)?);
        if !self.prefer.is_empty() {
            self.images
                .require(crate::image::features::ImageFeature::PreferStores)
                .await?;
            // In the path, so that every resume carries it too.
            let stores = self.prefer.join(",");
            path.push_str("?prefer=");
            path.extend(url::form_urlencoded::byte_serialize(stores.as_bytes()));
        }
        if self.parallel > 1 {
            let client = &self.images.client;
            let progress = self.progress.clone();
            let ranged = super::ranged::parallel(
                client,
                &image,
                &path,
                self.parallel,
                self.max_resumes,
                progress,
            );
            if let Some(data) = ranged.await? {
                return Ok(data);
            }
        }
        let resp = open(&self.images.client, &self.id, &path, None).await?;
        let mut expected = expected_of(&image);
        if expected.is_none() {
            expected = content_md5(&resp).map(|hex| Expected {
                algorithm: "md5".into(),
                hex,
            });
        }
        if expected.is_none() && self.verify {
            return Err(Error::Protocol(format!(
                "image {} has no checksum to verify its data against (use \
                 `allow_unverified(true)` to download it anyway)",
                self.id
            )));
        }
        let total = image
            .size
            .and_then(|s| u64::try_from(s).ok())
            .or_else(|| resp.content_length());
        let hasher = match expected.as_ref().and_then(|e| Hasher::new(&e.algorithm)) {
            Some(h) => Some(Worker::start("image-hash", h)?),
            None => None,
        };
        tracing::debug!(image = %self.id, size = total, algorithm = expected.as_ref().map(|e| e.algorithm.as_str()), "download starting");
        let state = DownloadState {
            client: self.images.client.clone(),
            image_id: self.id,
            path,
            url: resp.url().clone(),
            body: Some(Box::pin(resp.bytes_stream())),
            received: 0,
            skip: 0,
            total,
            size_expected: image.size.and_then(|s| u64::try_from(s).ok()),
            hasher,
            expected,
            resumes_left: self.max_resumes,
            resumed_at: None,
            progress: self.progress,
            started: std::time::Instant::now(),
            done: false,
        };
        Ok(ImageData {
            inner: Box::pin(stream::unfold(state, |mut st| async move {
                st.next_chunk().await.map(|item| (item, st))
            })),
            size: total,
        })
    }

    /// The verified data as an [`AsyncRead`]. Errors come out as [`std::io::Error`]s that
    /// wrap this crate's [`Error`] (`e.get_ref()` then `downcast_ref::<Error>()`); an
    /// integrity failure is an error of the last read, after the data was read.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let mut reader = client.images().download("1bea47ed-f6a9-463b-b423-14b9cca9ad27").reader().await?;
    /// let mut out = tokio::io::sink();
    /// tokio::io::copy(&mut reader, &mut out).await?;
    /// # Ok(()) }
    /// ```
    pub async fn reader(self) -> Result<impl AsyncRead + Send + Unpin + 'static> {
        let data = self.stream().await?;
        Ok(tokio_util::io::StreamReader::new(
            data.map_err(io::Error::other),
        ))
    }

    /// Downloads into `path` safely: the data goes to a temporary file beside it
    /// (`.{name}.part-{random}`), is verified, synced to disk and renamed over `path`. The
    /// file is written on a thread of its own (and, on Linux, handed to the disk in 8 MiB
    /// windows as they fill, so the final sync has little left to do). On any
    /// failure (integrity, a broken connection beyond the resumes, the future dropped) the
    /// temporary file is removed and `path` is left as it was. Returns the number of bytes.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let n = client.images().download("1bea47ed-f6a9-463b-b423-14b9cca9ad27").to_file("disk.raw").await?;
    /// # Ok(()) }
    /// ```
    pub async fn to_file(self, path: impl AsRef<Path>) -> Result<u64> {
        let target = path.as_ref();
        let name = target
            .file_name()
            .ok_or_else(|| Error::invalid("path", format!("{} names no file", target.display())))?
            .to_string_lossy()
            .into_owned();
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let (file, part) = create_part_file(&dir, &name).await?;
        let guard = RemoveOnDrop(Some(part.clone()));
        // Written and synced on a thread of its own, beside the hashing thread.
        let mut out = Worker::start("image-write", SyncedFile::new(file.into_std().await))?;
        let mut data = self.stream().await?;
        let mut written = 0u64;
        while let Some(chunk) = data.next().await {
            let chunk = chunk?;
            written += chunk.len() as u64;
            if out.push(chunk).await.is_err() {
                break;
            }
        }
        out.finish().await?;
        tokio::fs::rename(&part, target).await?;
        guard.disarm();
        // Make the rename itself durable; not every platform can sync a directory.
        let _ = tokio::task::spawn_blocking(move || std::fs::File::open(&dir)?.sync_all()).await;
        Ok(written)
    }
}

/// Creates `dir/.{name}.part-{random}` exclusively.
async fn create_part_file(dir: &Path, name: &str) -> Result<(tokio::fs::File, PathBuf)> {
    let mut last = None;
    for _ in 0..8 {
        let part = dir.join(format!(".{name}.part-{:016x}", fastrand::u64(..)));
        match tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&part)
            .await
        {
            Ok(f) => return Ok((f, part)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => {
                return Err(Error::Io(io::Error::new(
                    e.kind(),
                    format!("{}: {e}", part.display()),
                )));
            }
        }
    }
    Err(Error::Io(
        last.unwrap_or_else(|| io::Error::other("no temporary name")),
    ))
}

/// Removes a temporary file unless disarmed: covers errors and cancelled futures alike.
struct RemoveOnDrop(Option<PathBuf>);

impl RemoveOnDrop {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// The state of a download in progress.
struct DownloadState {
    client: Client,
    image_id: String,
    path: String,
    /// The URL of the data, for error messages.
    url: url::Url,
    body: Option<Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>>,
    /// Bytes handed to the caller.
    received: u64,
    /// Bytes of a restarted (200 instead of 206) body still to hash but not hand out again.
    skip: u64,
    total: Option<u64>,
    size_expected: Option<u64>,
    /// The hash, computed on its own thread.
    hasher: Option<Worker<String>>,
    expected: Option<Expected>,
    resumes_left: u32,
    /// Where the last resume started: a resume that delivered nothing before breaking again
    /// ends the download at once instead of spending the remaining resumes.
    resumed_at: Option<u64>,
    progress: Option<Progress>,
    started: std::time::Instant,
    done: bool,
}

impl DownloadState {
    async fn next_chunk(&mut self) -> Option<Result<Bytes>> {
        loop {
            if self.done {
                return None;
            }
            let body = self.body.as_mut()?;
            let idle = self.client.settings().read_timeout;
            // A connection that stays silent is treated like one that broke: resumed.
            let next = match tokio::time::timeout(idle, body.next()).await {
                Ok(next) => {
                    next.map(|r| r.map_err(|e| transport_error(&Method::GET, &self.url, e)))
                }
                Err(_) => Some(Err(idle_timeout(&Method::GET, &self.url, idle))),
            };
            match next {
                Some(Ok(mut chunk)) => {
                    if let Some(h) = &mut self.hasher
                        && h.push(chunk.clone()).await.is_err()
                    {
                        self.done = true;
                        return Some(Err(self.hash_failed().await));
                    }
                    if self.skip > 0 {
                        let n = (self.skip as usize).min(chunk.len());
                        self.skip -= n as u64;
                        let _ = chunk.split_to(n);
                    }
                    if chunk.is_empty() {
                        continue;
                    }
                    self.received += chunk.len() as u64;
                    if let Some(p) = &self.progress {
                        p(self.received, self.total);
                    }
                    return Some(Ok(chunk));
                }
                Some(Err(err)) => {
                    if let Err(e) = self.resume(err).await {
                        self.done = true;
                        return Some(Err(e));
                    }
                }
                None => {
                    let short = self.total.is_some_and(|t| self.received + self.skip < t);
                    if short && self.resumes_left > 0 {
                        let err = Error::Protocol(format!(
                            "the body of image {} ended after {} bytes",
                            self.image_id, self.received
                        ));
                        if let Err(e) = self.resume(err).await {
                            self.done = true;
                            return Some(Err(e));
                        }
                        continue;
                    }
                    self.done = true;
                    self.body = None;
                    return self.finish().await.err().map(Err);
                }
            }
        }
    }

    /// Reopens the body from the first byte not received, or gives back `err`.
    async fn resume(&mut self, err: Error) -> Result<()> {
        if self.resumes_left == 0 || self.skip > 0 {
            return Err(err);
        }
        let from = self.received;
        if self.resumed_at == Some(from) {
            tracing::debug!(image = %self.image_id, from, "the last resume brought no data: giving up");
            return Err(Error::Protocol(format!(
                "download of image {} stopped: resuming at byte {from} brought no new data ({err})",
                self.image_id
            )));
        }
        self.resumed_at = Some(from);
        self.resumes_left -= 1;
        self.body = None;
        tracing::debug!(image = %self.image_id, from, error = %err, "download broke: resuming");
        let resp = open(
            &self.client,
            &self.image_id,
            &self.path,
            Some(format!("bytes={from}-")),
        )
        .await?;
        match resp.status() {
            StatusCode::PARTIAL_CONTENT => {
                let cr = resp
                    .headers()
                    .get("content-range")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if !cr.starts_with(&format!("bytes {from}-")) {
                    return Err(Error::Protocol(format!(
                        "resuming image {} at byte {from}: the server answered Content-Range `{cr}`",
                        self.image_id
                    )));
                }
            }
            StatusCode::OK => {
                // The server ignored the range: hash from zero, hand out only what is new.
                if let Some(h) = &mut self.hasher
                    && h.restart().is_err()
                {
                    return Err(self.hash_failed().await);
                }
                self.skip = from;
            }
            s => {
                return Err(Error::Protocol(format!(
                    "resuming image {}: unexpected status {s}",
                    self.image_id
                )));
            }
        }
        self.body = Some(Box::pin(resp.bytes_stream()));
        Ok(())
    }

    /// Why the hashing thread stopped early.
    async fn hash_failed(&mut self) -> Error {
        match &mut self.hasher {
            Some(h) => h.hash_failure().await,
            None => Error::Io(io::Error::other("no hashing thread")),
        }
    }

    /// Checks size and hash once the body is complete.
    async fn finish(&mut self) -> Result<()> {
        if let Some(n) = self.size_expected.filter(|n| *n != self.received) {
            return Err(Error::Integrity {
                image_id: self.image_id.clone(),
                algorithm: "size".into(),
                expected: n.to_string(),
                actual: self.received.to_string(),
            });
        }
        if let (Some(h), Some(exp)) = (&mut self.hasher, &self.expected) {
            let actual = h.finish().await?;
            if actual != exp.hex {
                return Err(Error::Integrity {
                    image_id: self.image_id.clone(),
                    algorithm: exp.algorithm.clone(),
                    expected: exp.hex.clone(),
                    actual,
                });
            }
        }
        let secs = self.started.elapsed().as_secs_f64();
        tracing::debug!(image = %self.image_id, bytes = self.received, elapsed_ms = (secs * 1000.0) as u64, verified = self.expected.is_some(), "download done");
        Ok(())
    }
}

impl ImagesApi {
    /// A verified download of the image's data; see [`Download`].
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let data = client.images().download("1bea47ed-f6a9-463b-b423-14b9cca9ad27").stream().await?;
    /// # Ok(()) }
    /// ```
    pub fn download(&self, id: &str) -> Download {
        Download {
            images: self.clone(),
            id: id.to_owned(),
            image: None,
            max_resumes: DEFAULT_MAX_RESUMES,
            verify: true,
            progress: None,
            prefer: Vec::new(),
            parallel: 1,
        }
    }

    /// Downloads the image's data into `path`, verified, atomically (see
    /// [`Download::to_file`]). Returns the number of bytes written.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.images().download_to_file("1bea47ed-f6a9-463b-b423-14b9cca9ad27", "disk.raw").await?;
    /// # Ok(()) }
    /// ```
    pub async fn download_to_file(&self, id: &str, path: impl AsRef<Path>) -> Result<u64> {
        self.download(id).to_file(path).await
    }
}
