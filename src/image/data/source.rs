//! Where the data of an upload comes from.

use super::*;

/// Where the data of an upload comes from. Nothing is buffered: the source is read as the
/// request body is sent.
///
/// ```no_run
/// # async fn run() -> openstack_images::Result<()> {
/// use openstack_images::DataSource;
/// let from_file = DataSource::file("disk.raw");
/// let from_reader = DataSource::reader(tokio::io::empty()).size(0);
/// let from_memory = DataSource::bytes(vec![0u8; 16]);
/// # Ok(()) }
/// ```
pub struct DataSource {
    kind: SourceKind,
    size: Option<u64>,
}

enum SourceKind {
    File(PathBuf),
    Reader(Pin<Box<dyn AsyncRead + Send>>),
    Stream(ByteStream),
    Bytes(Bytes),
}

impl std::fmt::Debug for DataSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.kind {
            SourceKind::File(p) => format!("file {}", p.display()),
            SourceKind::Reader(_) => "reader".into(),
            SourceKind::Stream(_) => "stream".into(),
            SourceKind::Bytes(b) => format!("{} bytes in memory", b.len()),
        };
        f.debug_struct("DataSource")
            .field("kind", &kind)
            .field("size", &self.size)
            .finish()
    }
}

impl DataSource {
    /// A local file; its size is read from the file system when the upload starts.
    ///
    /// ```
    /// let source = openstack_images::DataSource::file("/var/tmp/disk.raw");
    /// ```
    pub fn file(path: impl Into<PathBuf>) -> Self {
        DataSource {
            kind: SourceKind::File(path.into()),
            size: None,
        }
    }

    /// Any async reader (a pipe, a decompressor, a socket). Give [`DataSource::size`] when
    /// it is known so Glance can check it.
    ///
    /// ```
    /// let source = openstack_images::DataSource::reader(tokio::io::empty()).size(0);
    /// ```
    pub fn reader(reader: impl AsyncRead + Send + 'static) -> Self {
        DataSource {
            kind: SourceKind::Reader(Box::pin(reader)),
            size: None,
        }
    }

    /// A stream of chunks, for example another download.
    ///
    /// ```
    /// use bytes::Bytes;
    /// let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"abc"))]);
    /// let source = openstack_images::DataSource::stream(chunks).size(3);
    /// ```
    pub fn stream<S, E>(stream: S) -> Self
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Send + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
    {
        DataSource {
            kind: SourceKind::Stream(Box::pin(stream.map_err(io::Error::other))),
            size: None,
        }
    }

    /// Bytes already in memory (small images, tests). The size is known.
    ///
    /// ```
    /// let source = openstack_images::DataSource::bytes(&b"hello"[..]);
    /// ```
    pub fn bytes(data: impl Into<Bytes>) -> Self {
        let data = data.into();
        DataSource {
            size: Some(data.len() as u64),
            kind: SourceKind::Bytes(data),
        }
    }

    /// Declares the number of bytes the source yields: sent to Glance as
    /// `x-openstack-image-size`, and checked while sending (a source that yields more or
    /// less fails the upload).
    ///
    /// ```
    /// let source = openstack_images::DataSource::reader(tokio::io::empty()).size(0);
    /// ```
    pub fn size(mut self, bytes: u64) -> Self {
        self.size = Some(bytes);
        self
    }

    /// Opens the source: a chunk stream and its size, if known.
    pub(super) async fn open(self) -> Result<(ByteStream, Option<u64>)> {
        Ok(match self.kind {
            SourceKind::File(path) => {
                let file = tokio::fs::File::open(&path).await.map_err(|e| {
                    Error::Io(io::Error::new(e.kind(), format!("{}: {e}", path.display())))
                })?;
                let len = file.metadata().await?.len();
                let s = tokio_util::io::ReaderStream::with_capacity(file, CHUNK);
                (Box::pin(s), Some(self.size.unwrap_or(len)))
            }
            SourceKind::Reader(r) => (
                Box::pin(tokio_util::io::ReaderStream::with_capacity(r, CHUNK)),
                self.size,
            ),
            SourceKind::Stream(s) => (Box::pin(s.flat_map(split_chunk)), self.size),
            SourceKind::Bytes(b) => (Box::pin(stream::once(async move { Ok(b) })), self.size),
        })
    }
}

/// Splits a chunk into pieces of at most [`CHUNK`] bytes, sharing its memory.
fn split_chunk(item: io::Result<Bytes>) -> stream::Iter<std::vec::IntoIter<io::Result<Bytes>>> {
    let pieces = match item {
        Ok(mut b) if b.len() > CHUNK => {
            let mut v = Vec::with_capacity(b.len().div_ceil(CHUNK));
            while !b.is_empty() {
                v.push(Ok(b.split_to(b.len().min(CHUNK))));
            }
            v
        }
        other => vec![other],
    };
    stream::iter(pieces)
}
