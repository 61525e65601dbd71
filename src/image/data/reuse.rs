//! Reuse instead of re-upload: find an active image that already holds a local file's bytes,
//! by the multihash Glance computed when it stored them (`os_hash_value`, a list filter).

use std::io::Read;

use super::*;
use crate::generated::ImageStatus;
use crate::hash::Hasher;
use crate::image::query::{ImageListQuery, SortDir};

/// The algorithm Glance hashes with when the cloud gives no sign of another
/// (`hashing_algorithm`'s default since Rocky).
const DEFAULT_HASH_ALGORITHM: &str = "sha512";
/// Read size when hashing a local file.
const HASH_READ: usize = 1 << 20;

impl ImagesApi {
    /// The multihash algorithm this cloud stores images with: the `os_hash_algo` of its newest
    /// active image, or `sha512` (Glance's default) when it has none or names one this crate
    /// cannot compute. Glance does not publish its `hashing_algorithm` setting, so the images
    /// it hashed are the only witness.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let algorithm = client.images().hash_algorithm().await?; // "sha512" on most clouds
    /// # Ok(()) }
    /// ```
    pub async fn hash_algorithm(&self) -> Result<String> {
        let query = ImageListQuery::new()
            .status(ImageStatus::Active)
            .sort("created_at", SortDir::Desc)
            .page_size(1);
        let page = self.list_page(&query).await?;
        Ok(page
            .items
            .iter()
            .filter_map(|i| i.os_hash_algo.as_deref())
            .find(|a| Hasher::new(a).is_some())
            .unwrap_or(DEFAULT_HASH_ALGORITHM)
            .to_ascii_lowercase())
    }

    /// An active image, visible to the caller, whose data hashes to `hex` with `algorithm`
    /// (`os_hash_algo`/`os_hash_value`): the caller's own newest one first, else the newest
    /// of any owner (public, shared, community). `None` when there is none. Hidden images
    /// (`os_hidden`) are not considered, as `image list` does not show them.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let hex = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";
    /// if let Some(image) = client.images().find_by_hash("sha512", hex).await? {
    ///     println!("already there: {}", image.id);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn find_by_hash(&self, algorithm: &str, hex: &str) -> Result<Option<Image>> {
        let hex = hex.to_ascii_lowercase();
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::invalid(
                "hash",
                format!("`{hex}` is not a hex digest"),
            ));
        }
        let query = ImageListQuery::new()
            .filter("os_hash_value", hex.as_str())
            .status(ImageStatus::Active)
            .all_visibilities()
            .sort("created_at", SortDir::Desc);
        let found: Vec<Image> = self
            .list_all(query)
            .await?
            .into_iter()
            // The filter is the server's; the check is ours (an older Glance ignores an
            // unknown filter and would list everything).
            .filter(|i| {
                i.os_hash_value.as_deref().map(str::to_ascii_lowercase) == Some(hex.clone())
                    && i.os_hash_algo
                        .as_deref()
                        .is_some_and(|a| a.eq_ignore_ascii_case(algorithm))
            })
            .collect();
        let own = self.client.project_id().await.ok().flatten();
        let pick = found
            .iter()
            .position(|i| own.is_some() && i.owner == own)
            .unwrap_or(0);
        Ok(found.into_iter().nth(pick))
    }

    /// An active image visible to the caller that holds exactly the bytes of the file at
    /// `path`, found by hashing the file with the cloud's algorithm
    /// ([`ImagesApi::hash_algorithm`]) and looking the digest up
    /// ([`ImagesApi::find_by_hash`]); its size must match too. Reading the file costs one
    /// pass over it; an upload it saves costs the network and the cloud's storage.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// match client.images().find_by_file("disk.raw").await? {
    ///     Some(image) => println!("reuse {}", image.id),
    ///     None => println!("not there yet: upload it"),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn find_by_file(&self, path: impl AsRef<Path>) -> Result<Option<Image>> {
        let algorithm = self.hash_algorithm().await?;
        let (hex, size) = hash_file(path.as_ref().to_path_buf(), algorithm.clone()).await?;
        tracing::debug!(algorithm = %algorithm, size, "local file hashed: looking for an image with its data");
        Ok(self
            .find_by_hash(&algorithm, &hex)
            .await?
            .filter(|i| i.size_bytes() == Some(size)))
    }
}

/// The hex digest of a file with `algorithm`, and its size; read on a blocking thread.
async fn hash_file(path: PathBuf, algorithm: String) -> Result<(String, u64)> {
    let mut hasher = Hasher::new(&algorithm).ok_or_else(|| {
        Error::invalid("hash algorithm", format!("`{algorithm}` is not supported"))
    })?;
    let work = move || -> io::Result<(String, u64)> {
        let with_path = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
        let mut file = std::fs::File::open(&path).map_err(with_path)?;
        let mut buf = vec![0u8; HASH_READ];
        let mut size = 0u64;
        loop {
            let n = match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(with_path(e)),
            };
            hasher.update(&buf[..n]).map_err(with_path)?;
            size += n as u64;
        }
        Ok((hasher.hex()?, size))
    };
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Io(io::Error::other(format!("hashing thread: {e}"))))?
        .map_err(Error::Io)
}
