//! A catalog version's data, read from where the catalog says it is: an http(s) download
//! that resumes with `Range` when the connection breaks, or a local file; decompressed by the
//! magic numbers of its first bytes (never by `Content-Type` or the file name, which mirrors
//! get wrong); the upstream checksum checked on the bytes as published.
//!
//! The work (download, hash, decompression) runs on a blocking thread of the Tokio runtime
//! that hands decompressed chunks over a bounded channel, so liblzma never stalls the
//! runtime's workers and download and decompression overlap with the upload that reads
//! the stream. The last chunk is held back until the raw data is verified: a consumer that
//! uploads the stream sees an error instead of the end of a wrong or short file, so its
//! upload fails rather than completes.

use std::fmt;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use async_compression::tokio::bufread::{BzDecoder, GzipDecoder, XzDecoder, ZstdDecoder};
use bytes::Bytes;
use futures_core::Stream;
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_util::io::{ReaderStream, StreamReader};

use super::source_http::{HttpRaw, redact};
use super::{Checksum, ChecksumAlgorithm, ImageSource};
use crate::error::Error;
use crate::hash::Hasher;
use crate::image::data::Worker;

/// How [`open_source`] reads: resumes, timeouts, chunk size. `Default` suits public mirrors.
///
/// ```
/// use std::time::Duration;
/// let options = openstack_images::SourceOptions::default()
///     .max_resumes(10)
///     .idle_timeout(Duration::from_secs(120));
/// assert_eq!(options.max_resumes, 10);
/// assert_eq!(options.chunk_size, 1 << 20);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SourceOptions {
    /// How many times a broken download is resumed (`Range: bytes=N-`) before it fails;
    /// also how many times the first request is tried again after a connection failure or
    /// a 5xx/429 answer. Default 5.
    pub max_resumes: u32,
    /// How long connecting to the server may take. Default 30 s.
    pub connect_timeout: Duration,
    /// How long the server may send nothing (headers or body) before the connection is
    /// given up and the download resumed. Default 60 s.
    pub idle_timeout: Duration,
    /// The largest chunk the stream yields. Default 1 MiB.
    pub chunk_size: usize,
    /// The wait before the first resume; doubled for each next one, at most 8 s.
    /// Default 500 ms.
    pub resume_delay: Duration,
}

impl Default for SourceOptions {
    fn default() -> Self {
        SourceOptions {
            max_resumes: crate::DEFAULT_MAX_RESUMES,
            connect_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            chunk_size: 1 << 20,
            resume_delay: Duration::from_millis(500),
        }
    }
}

impl SourceOptions {
    /// Sets [`SourceOptions::max_resumes`].
    ///
    /// ```
    /// let o = openstack_images::SourceOptions::default().max_resumes(0);
    /// assert_eq!(o.max_resumes, 0);
    /// ```
    #[must_use]
    pub fn max_resumes(mut self, n: u32) -> Self {
        self.max_resumes = n;
        self
    }

    /// Sets [`SourceOptions::connect_timeout`].
    ///
    /// ```
    /// # use std::time::Duration;
    /// let o = openstack_images::SourceOptions::default().connect_timeout(Duration::from_secs(5));
    /// assert_eq!(o.connect_timeout, Duration::from_secs(5));
    /// ```
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets [`SourceOptions::idle_timeout`].
    ///
    /// ```
    /// # use std::time::Duration;
    /// let o = openstack_images::SourceOptions::default().idle_timeout(Duration::from_secs(5));
    /// assert_eq!(o.idle_timeout, Duration::from_secs(5));
    /// ```
    #[must_use]
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets [`SourceOptions::chunk_size`] (at least 4 KiB).
    ///
    /// ```
    /// let o = openstack_images::SourceOptions::default().chunk_size(64 << 10);
    /// assert_eq!(o.chunk_size, 64 << 10);
    /// ```
    #[must_use]
    pub fn chunk_size(mut self, bytes: usize) -> Self {
        self.chunk_size = bytes.max(4096);
        self
    }

    /// Sets [`SourceOptions::resume_delay`].
    ///
    /// ```
    /// # use std::time::Duration;
    /// let o = openstack_images::SourceOptions::default().resume_delay(Duration::ZERO);
    /// assert_eq!(o.resume_delay, Duration::ZERO);
    /// ```
    #[must_use]
    pub fn resume_delay(mut self, delay: Duration) -> Self {
        self.resume_delay = delay;
        self
    }
}

/// A compression format, told by the magic number at the start of the data.
///
/// ```
/// use openstack_images::Compression;
/// assert_eq!(Compression::detect(&[0xfd, b'7', b'z', b'X', b'Z', 0]), Some(Compression::Xz));
/// assert_eq!(Compression::detect(b"QFI\xfb"), None); // qcow2 passes through
/// assert_eq!(Compression::Zstd.to_string(), "zstd");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Compression {
    /// xz (`FD 37 7A 58 5A 00`); concatenated streams are read as `xz -dc` reads them.
    Xz,
    /// gzip (`1F 8B 08`: deflate, its only method); several members are read as `gzip -dc` reads them.
    Gzip,
    /// bzip2 (`BZh` and a block size digit); several streams are read as `bzip2 -dc` reads them.
    Bzip2,
    /// Zstandard (`28 B5 2F FD`); several frames are read as `zstd -dc` reads them.
    Zstd,
}

impl Compression {
    /// The longest magic number: how many bytes [`Compression::detect`] needs to decide.
    pub const MAGIC_LEN: usize = 6;

    /// The format whose magic number starts `prefix`; `None` for anything else (raw,
    /// qcow2, vmdk, iso, ...), which is read as it is.
    ///
    /// ```
    /// use openstack_images::Compression;
    /// assert_eq!(Compression::detect(&[0x1f, 0x8b, 8]), Some(Compression::Gzip));
    /// assert_eq!(Compression::detect(b"BZh0"), None);
    /// assert_eq!(Compression::detect(b"BZh9"), Some(Compression::Bzip2));
    /// assert_eq!(Compression::detect(&[]), None);
    /// ```
    pub fn detect(prefix: &[u8]) -> Option<Compression> {
        if prefix.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
            Some(Compression::Xz)
        } else if prefix.starts_with(&[0x1f, 0x8b, 8]) {
            Some(Compression::Gzip)
        } else if prefix.starts_with(b"BZh") && matches!(prefix.get(3), Some(b'1'..=b'9')) {
            Some(Compression::Bzip2)
        } else if prefix.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Compression::Zstd)
        } else {
            None
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compression::Xz => "xz",
            Compression::Gzip => "gzip",
            Compression::Bzip2 => "bzip2",
            Compression::Zstd => "zstd",
        })
    }
}

/// Progress of a [`SourceStream`], shared with it: clone it before handing the stream to an
/// upload, and read it from a progress display.
///
/// ```no_run
/// # async fn run() -> openstack_images::Result<()> {
/// use openstack_images::{ImageSource, SourceOptions, open_source};
/// let source = ImageSource::parse("https://example.com/disk.qcow2.xz").unwrap();
/// let stream = open_source(&source, None, &SourceOptions::default()).await?;
/// let stats = stream.stats();
/// // ... upload `stream` ...
/// println!("{} of {:?} bytes read, {} resumes", stats.raw_bytes(), stats.content_length(), stats.resumes());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct SourceStats(Arc<StatsInner>);

#[derive(Debug, Default)]
struct StatsInner {
    raw_bytes: AtomicU64,
    bytes: AtomicU64,
    resumes: AtomicU32,
    content_length: OnceLock<u64>,
    raw_digest: OnceLock<Checksum>,
}

impl SourceStats {
    pub(super) fn add_resume(&self) {
        self.0.resumes.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn set_content_length(&self, bytes: u64) {
        let _ = self.0.content_length.set(bytes);
    }

    /// Bytes read from the source so far, as published (compressed), resumes not counted twice.
    ///
    /// ```
    /// assert_eq!(openstack_images::SourceStats::default().raw_bytes(), 0);
    /// ```
    pub fn raw_bytes(&self) -> u64 {
        self.0.raw_bytes.load(Ordering::Relaxed)
    }

    /// Bytes the stream has yielded so far (decompressed).
    ///
    /// ```
    /// assert_eq!(openstack_images::SourceStats::default().bytes(), 0);
    /// ```
    pub fn bytes(&self) -> u64 {
        self.0.bytes.load(Ordering::Relaxed)
    }

    /// How many times the download was resumed (or its first request tried again).
    ///
    /// ```
    /// assert_eq!(openstack_images::SourceStats::default().resumes(), 0);
    /// ```
    pub fn resumes(&self) -> u32 {
        self.0.resumes.load(Ordering::Relaxed)
    }

    /// The size of the source as published (its `Content-Length`, a file's length), when
    /// known: the total for [`SourceStats::raw_bytes`].
    ///
    /// ```
    /// assert_eq!(openstack_images::SourceStats::default().content_length(), None);
    /// ```
    pub fn content_length(&self) -> Option<u64> {
        self.0.content_length.get().copied()
    }

    /// The digest of the raw bytes once all were read: in the expected checksum's
    /// algorithm, or sha256 when none was given.
    ///
    /// ```
    /// assert!(openstack_images::SourceStats::default().raw_digest().is_none());
    /// ```
    pub fn raw_digest(&self) -> Option<Checksum> {
        self.0.raw_digest.get().cloned()
    }
}

/// The decompressed data of an image source, verified as it is read: see [`open_source`].
/// It yields at most [`SourceOptions::chunk_size`] bytes per item; an error ends it.
///
/// Dropping it stops the download (the worker thread sees the channel closed and ends).
///
/// ```no_run
/// # async fn run() -> openstack_images::Result<()> {
/// use openstack_images::{DataSource, ImageSource, SourceOptions, open_source};
/// let source = ImageSource::parse("file:disk.qcow2.xz").unwrap();
/// let stream = open_source(&source, None, &SourceOptions::default()).await?;
/// let (inspection, data) = DataSource::stream(stream).inspect().await?;
/// assert!(inspection.is_safe());
/// # Ok(()) }
/// ```
pub struct SourceStream {
    chunks: Chunks,
    compression: Option<Compression>,
    stats: SourceStats,
}

type Chunks = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

impl fmt::Debug for SourceStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceStream")
            .field("compression", &self.compression)
            .field("stats", &self.stats)
            .finish()
    }
}

impl SourceStream {
    /// The compression the data was found to have (`None`: read as it is).
    ///
    /// ```no_run
    /// # async fn run() -> openstack_images::Result<()> {
    /// use openstack_images::{ImageSource, SourceOptions, open_source};
    /// let source = ImageSource::parse("file:disk.raw.xz").unwrap();
    /// let stream = open_source(&source, None, &SourceOptions::default()).await?;
    /// if let Some(c) = stream.compression() {
    ///     println!("decompressing {c}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn compression(&self) -> Option<Compression> {
        self.compression
    }

    /// The stream's progress, a handle that stays valid after the stream is moved.
    ///
    /// ```no_run
    /// # async fn run() -> openstack_images::Result<()> {
    /// use openstack_images::{ImageSource, SourceOptions, open_source};
    /// let source = ImageSource::parse("file:disk.raw").unwrap();
    /// let stream = open_source(&source, None, &SourceOptions::default()).await?;
    /// let stats = stream.stats();
    /// drop(stream);
    /// println!("{} bytes", stats.bytes());
    /// # Ok(()) }
    /// ```
    pub fn stats(&self) -> SourceStats {
        self.stats.clone()
    }
}

impl Stream for SourceStream {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let item = std::task::ready!(self.chunks.as_mut().poll_next(cx));
        if let Some(Ok(chunk)) = &item {
            let n = chunk.len() as u64;
            self.stats.0.bytes.fetch_add(n, Ordering::Relaxed);
        }
        Poll::Ready(item)
    }
}

/// What the worker thread sends.
enum Message {
    Chunk(Bytes),
    Failed(io::Error),
    End,
}

/// How many decompressed chunks wait in the channel between the worker and the consumer.
const CHANNEL_CHUNKS: usize = 4;

/// Opens an image source for reading: the data decompressed, the raw bytes checked against
/// `expected` (the upstream checksum, over the file as published).
///
/// - `http`/`https`: a GET by a client of its own (no credentials; user agent
///   `osimg/<version>`; redirects followed). When the connection breaks or stalls for
///   [`SourceOptions::idle_timeout`], the download resumes where it stopped with
///   `Range: bytes=N-` and `If-Range` (the strong `ETag`, else `Last-Modified`), up to
///   [`SourceOptions::max_resumes`] times. A server that answers a resume with the whole file
///   (`200`) is read on past the bytes already had only when its validators show the same
///   file (or it has none, and `expected` will verify the result); otherwise the stream fails
///   saying the file changed. A first answer other than 2xx is an [`Error::Api`] naming the
///   URL (without user, password or query).
/// - `file:`: the file, its path as given (relative to the working directory).
/// - `ftp`/`ftps`: not supported ([`Error::Unsupported`]): give an http(s) `mirror_url`.
///
/// The first bytes choose the decompression ([`Compression::detect`]). At the end of the
/// raw data its digest is compared with `expected` and its length with `Content-Length`: on
/// a mismatch the stream yields an error *instead of* its last chunk, so no consumer ever
/// receives the complete data of a wrong file.
///
/// Must be called within a Tokio runtime (it uses one of its blocking threads).
///
/// ```no_run
/// # async fn run() -> openstack_images::Result<()> {
/// use futures_util::StreamExt;
/// use openstack_images::{Checksum, ImageSource, SourceOptions, open_source};
/// let source = ImageSource::parse("https://example.com/disk.qcow2.xz").unwrap();
/// let checksum = Checksum::parse(&format!("sha256:{}", "0".repeat(64))).unwrap();
/// let mut stream = open_source(&source, Some(&checksum), &SourceOptions::default()).await?;
/// while let Some(chunk) = stream.next().await {
///     let chunk = chunk?; // the last one is an error if the checksum is wrong
/// }
/// # Ok(()) }
/// ```
pub async fn open_source(
    source: &ImageSource,
    expected: Option<&Checksum>,
    options: &SourceOptions,
) -> Result<SourceStream, Error> {
    let stats = SourceStats::default();
    let (inner, shown) = match source {
        ImageSource::Http(url) => {
            let http = HttpRaw::open(url, expected.is_some(), options, &stats).await?;
            let shown = http.shown.clone();
            (RawInner::Http(Box::new(http)), shown)
        }
        ImageSource::File(path) => {
            let (file, len) = open_file(path).await?;
            if let Some(len) = len {
                stats.set_content_length(len);
            }
            let reader = ReaderStream::with_capacity(file, options.chunk_size);
            (RawInner::File(reader), format!("file:{}", path.display()))
        }
        ImageSource::Ftp(url) => {
            return Err(Error::Unsupported {
                feature: "ftp image sources",
                reason: format!(
                    "{}: ftp sources are not supported; give an http(s) mirror_url",
                    redact(url)
                ),
            });
        }
    };
    let algorithm = expected.map_or(ChecksumAlgorithm::Sha256, |c| c.algorithm);
    let hasher = Hasher::new(algorithm.as_str()).ok_or_else(|| Error::Unsupported {
        feature: "this checksum algorithm",
        reason: format!("no {algorithm:?} hash in this build"),
    })?;
    let mut raw = Raw {
        inner,
        // On a thread of its own: the reading task also drives every upload's connection.
        hasher: Worker::start("source-hash", hasher)?,
        algorithm,
        expected: expected.map(|c| c.hex.clone()),
        read: 0,
        stats: stats.clone(),
        shown,
        head: Vec::new(),
        done: false,
    };
    // The first bytes tell the compression; they are kept and read again by the decoder.
    let mut prefix = Vec::new();
    while prefix.len() < Compression::MAGIC_LEN {
        match raw.next().await {
            Some(Ok(chunk)) => {
                prefix.extend_from_slice(&chunk[..chunk.len().min(Compression::MAGIC_LEN)]);
                raw.head.push(chunk);
            }
            Some(Err(e)) => return Err(Error::Io(e)),
            None => break,
        }
    }
    raw.head.reverse();
    let compression = Compression::detect(&prefix);
    let raw: Chunks = Box::pin(
        futures_util::stream::unfold(raw, |mut raw| async move {
            raw.next().await.map(|item| (item, raw))
        })
        .fuse(),
    );
    let chunks = match compression {
        // Reading and hashing stay on the runtime: a thread would only add a hop per chunk.
        None => hold_back(raw),
        Some(c) => decompress_on_thread(raw, c, options.chunk_size),
    };
    Ok(SourceStream {
        // Fused: a stream polled again after its end (a decoder's reader, a chain) gets
        // `None` again instead of a panic of the unfold inside.
        chunks: Box::pin(chunks.fuse()),
        compression,
        stats,
    })
}

/// Yields each chunk of `chunks` only once the next one is there, and the last only once
/// `chunks` has ended without an error: whatever fails at the end (the checksum, the
/// length) replaces the last chunk.
fn hold_back(chunks: Chunks) -> Chunks {
    Box::pin(futures_util::stream::unfold(
        (chunks, None::<Bytes>, false),
        |(mut chunks, mut held, done)| async move {
            if done {
                return None;
            }
            loop {
                match chunks.next().await {
                    Some(Ok(chunk)) if chunk.is_empty() => {}
                    Some(Ok(chunk)) => {
                        if let Some(prev) = held.replace(chunk) {
                            return Some((Ok(prev), (chunks, held, false)));
                        }
                    }
                    Some(Err(e)) => return Some((Err(e), (chunks, None, true))),
                    None => return held.map(|last| (Ok(last), (chunks, None, true))),
                }
            }
        },
    ))
}

/// Decompresses `raw` on a blocking thread of the runtime (liblzma takes ~10 ms per MiB of
/// output: too long for a runtime worker), handing chunks over a bounded channel. The thread
/// ends when the data does or the receiving stream is dropped.
fn decompress_on_thread(raw: Chunks, compression: Compression, chunk_size: usize) -> Chunks {
    let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        handle.block_on(async move {
            tokio::select! {
                () = work(raw, compression, chunk_size, &tx) => {}
                () = tx.closed() => {}
            }
        });
    });
    Box::pin(futures_util::stream::unfold(
        Some(rx),
        |rx: Option<mpsc::Receiver<Message>>| async move {
            let mut rx = rx?;
            match rx.recv().await {
                Some(Message::Chunk(chunk)) => Some((Ok(chunk), Some(rx))),
                Some(Message::Failed(e)) => Some((Err(e), None)),
                Some(Message::End) => None,
                // The worker ended without saying so (a panic, a runtime shutting down):
                // never let that pass for the end of the data.
                None => Some((
                    Err(io::Error::other(
                        "image source: the decompressing thread ended before the data did",
                    )),
                    None,
                )),
            }
        },
    ))
}

/// The worker: decompresses the raw stream and sends its chunks, held back as
/// [`hold_back`] does.
async fn work(
    raw: Chunks,
    compression: Compression,
    chunk_size: usize,
    tx: &mpsc::Sender<Message>,
) {
    let reader = StreamReader::new(raw);
    macro_rules! decoder {
        ($d:ident) => {{
            let mut d = $d::new(reader);
            d.multiple_members(true);
            Box::pin(ReaderStream::with_capacity(d, chunk_size))
        }};
    }
    let decoded: Chunks = match compression {
        Compression::Xz => decoder!(XzDecoder),
        Compression::Gzip => decoder!(GzipDecoder),
        Compression::Bzip2 => decoder!(BzDecoder),
        Compression::Zstd => decoder!(ZstdDecoder),
    };
    let mut chunks = hold_back(decoded);
    while let Some(item) = chunks.next().await {
        let message = match item {
            Ok(chunk) => Message::Chunk(chunk),
            Err(e) if is_ours(&e) => Message::Failed(e),
            Err(e) => Message::Failed(io::Error::new(
                e.kind(),
                format!("{compression} decompression failed: {e}"),
            )),
        };
        let failed = matches!(message, Message::Failed(_));
        if tx.send(message).await.is_err() || failed {
            return;
        }
    }
    let _ = tx.send(Message::End).await;
}

/// Whether `e` came from reading the raw data (worded already), not from the decoder.
fn is_ours(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<ReadFailure>())
}

/// A failure to read or verify the raw data, as an `io::Error` payload, so that the
/// decoder's own errors can be told from it.
#[derive(Debug)]
struct ReadFailure(String);

impl fmt::Display for ReadFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ReadFailure {}

fn verification(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, ReadFailure(message))
}

/// `e`, marked as a failure of the raw read.
fn read_failure(e: io::Error) -> io::Error {
    if is_ours(&e) {
        return e;
    }
    io::Error::new(e.kind(), ReadFailure(e.to_string()))
}

/// The raw bytes, counted and hashed; the end is verified.
struct Raw {
    inner: RawInner,
    hasher: Worker<String>,
    algorithm: ChecksumAlgorithm,
    expected: Option<String>,
    read: u64,
    stats: SourceStats,
    shown: String,
    /// Chunks read to detect the compression, to be yielded first (in reverse order).
    head: Vec<Bytes>,
    done: bool,
}

enum RawInner {
    Http(Box<HttpRaw>),
    File(ReaderStream<tokio::fs::File>),
}

impl Raw {
    async fn next(&mut self) -> Option<io::Result<Bytes>> {
        if let Some(chunk) = self.head.pop() {
            return Some(Ok(chunk));
        }
        if self.done {
            return None;
        }
        let item = match &mut self.inner {
            RawInner::Http(http) => http.next().await,
            RawInner::File(file) => file.next().await,
        };
        match item {
            Some(Ok(chunk)) => {
                if self.hasher.push(chunk.clone()).await.is_err() {
                    self.done = true;
                    let e = match self.hasher.finish().await {
                        Err(e) => e,
                        Ok(_) => io::Error::other("the hashing thread stopped early"),
                    };
                    return Some(Err(read_failure(e)));
                }
                self.read += chunk.len() as u64;
                self.stats
                    .0
                    .raw_bytes
                    .fetch_add(chunk.len() as u64, Ordering::Relaxed);
                Some(Ok(chunk))
            }
            Some(Err(e)) => {
                self.done = true;
                Some(Err(read_failure(e)))
            }
            None => {
                self.done = true;
                self.finish().await.err().map(|e| Err(read_failure(e)))
            }
        }
    }

    /// Checks the length and the digest of everything read.
    async fn finish(&mut self) -> io::Result<()> {
        if let Some(total) = self.stats.content_length()
            && self.read != total
        {
            return Err(verification(format!(
                "{}: short read: {} of {total} bytes",
                self.shown, self.read
            )));
        }
        let actual = self.hasher.finish().await?;
        let _ = self.stats.0.raw_digest.set(Checksum {
            algorithm: self.algorithm,
            hex: actual.clone(),
        });
        match &self.expected {
            Some(expected) if *expected != actual => Err(verification(format!(
                "{}: {} mismatch: expected {expected}, got {actual}",
                self.shown,
                self.algorithm.as_str()
            ))),
            _ => Ok(()),
        }
    }
}

async fn open_file(path: &Path) -> Result<(tokio::fs::File, Option<u64>), Error> {
    let with_path =
        |e: io::Error| Error::Io(io::Error::new(e.kind(), format!("{}: {e}", path.display())));
    let file = tokio::fs::File::open(path).await.map_err(with_path)?;
    let meta = file.metadata().await.map_err(with_path)?;
    Ok((file, meta.is_file().then_some(meta.len())))
}
