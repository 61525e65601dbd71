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
    /// A local file; its size is read from the file system when the upload starts. Any
    /// readable file will do: a regular file, a block device (`/dev/vg/disk`, its size from
    /// the kernel), or a pipe (a FIFO, `/dev/stdin`, a shell's `<(xz -dc disk.raw.xz)`),
    /// which is streamed with chunked transfer encoding, its size unknown.
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

    /// Inspects the data before any of it is sent (see [`crate::inspect_file`]): a regular
    /// file or a block device by its path, any other source (a pipe, a reader, a stream) from
    /// its first [`crate::INSPECT_PREFIX`] bytes, which are read into memory and then sent
    /// ahead of the rest by the source returned. Nothing is read twice.
    ///
    /// ```no_run
    /// # async fn run() -> openstack_images::Result<()> {
    /// let pipe = tokio::fs::File::open("/dev/stdin").await?;
    /// let source = openstack_images::DataSource::reader(pipe);
    /// let (inspection, source) = source.inspect().await?;
    /// if !inspection.is_safe() {
    ///     eprintln!("refusing: {:?}", inspection.unsafe_reasons);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn inspect(self) -> Result<(crate::Inspection, DataSource)> {
        if let SourceKind::File(path) = &self.kind
            && seekable(path).await?
        {
            let path = path.clone();
            let inspection = tokio::task::spawn_blocking(move || crate::inspect_file(&path))
                .await
                .map_err(|e| Error::Io(io::Error::other(format!("inspecting thread: {e}"))))??;
            return Ok((inspection, self));
        }
        let size = self.size;
        let (chunks, opened_size) = self.open().await?;
        let (inspection, rest) = inspect_chunks(chunks).await?;
        let source = DataSource {
            kind: SourceKind::Stream(rest),
            size: size.or(opened_size),
        };
        Ok((inspection, source))
    }

    /// Reads all of the source into memory, as an upload would send it. For tests.
    ///
    /// ```
    /// # async fn run() -> openstack_images::Result<()> {
    /// let data = openstack_images::DataSource::bytes(&b"abc"[..]).read_all().await?;
    /// assert_eq!(data, b"abc");
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "test-util")]
    pub async fn read_all(self) -> Result<Vec<u8>> {
        let (mut chunks, _) = self.open().await?;
        let mut all = Vec::new();
        while let Some(chunk) = chunks.next().await {
            all.extend_from_slice(&chunk.map_err(Error::Io)?);
        }
        Ok(all)
    }

    /// Opens the source: a chunk stream and its size, if known.
    pub(super) async fn open(self) -> Result<(ByteStream, Option<u64>)> {
        Ok(match self.kind {
            SourceKind::File(path) => {
                let with_path =
                    |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
                let mut file = tokio::fs::File::open(&path)
                    .await
                    .map_err(|e| Error::Io(with_path(e)))?;
                let len = file_size(&mut file).await.map_err(with_path)?;
                let s = tokio_util::io::ReaderStream::with_capacity(file, CHUNK);
                (Box::pin(s), self.size.or(len))
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

/// Whether the file at `path` can be read at any offset: a regular file or a block device,
/// not a pipe, a socket or a character device.
async fn seekable(path: &Path) -> Result<bool> {
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|e| Error::Io(io::Error::new(e.kind(), format!("{}: {e}", path.display()))))?;
    Ok(meta.is_file() || is_block_device(&meta.file_type()))
}

#[cfg(unix)]
fn is_block_device(t: &std::fs::FileType) -> bool {
    std::os::unix::fs::FileTypeExt::is_block_device(t)
}

#[cfg(not(unix))]
fn is_block_device(_: &std::fs::FileType) -> bool {
    false
}

/// The bytes an opened file holds: a regular file's length, a block device's size (its
/// `st_size` is 0: the kernel tells it by seeking to the end); `None` for a pipe, a socket
/// or a character device, whose data is streamed until it ends.
async fn file_size(file: &mut tokio::fs::File) -> io::Result<Option<u64>> {
    use tokio::io::AsyncSeekExt;
    let meta = file.metadata().await?;
    if meta.is_file() {
        return Ok(Some(meta.len()));
    }
    if !is_block_device(&meta.file_type()) {
        return Ok(None);
    }
    let len = file.seek(io::SeekFrom::End(0)).await?;
    file.seek(io::SeekFrom::Start(0)).await?;
    Ok(Some(len))
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

/// Inspects a stream from its first [`crate::INSPECT_PREFIX`] bytes, which are read into
/// memory; the stream returned yields them again, then the rest (and is not polled again
/// once it has ended within the prefix).
pub(crate) async fn inspect_chunks(
    mut chunks: impl Stream<Item = io::Result<Bytes>> + Send + Unpin + 'static,
) -> Result<(crate::Inspection, ByteStream)> {
    let mut prefix = Vec::new();
    let mut head = Vec::new();
    let mut complete = true;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(Error::Io)?;
        prefix.extend_from_slice(&chunk);
        head.push(Ok(chunk));
        if prefix.len() >= crate::INSPECT_PREFIX {
            complete = false;
            break;
        }
    }
    let inspection = crate::inspect_prefix(&prefix, complete)?;
    if complete {
        return Ok((inspection, Box::pin(stream::iter(head))));
    }
    Ok((inspection, Box::pin(stream::iter(head).chain(chunks))))
}
