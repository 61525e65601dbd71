//! Copies of an image: to another cloud, streamed from one Glance's download into the other's
//! upload in constant memory and verified on both sides; or, within one cloud, into more
//! stores with Glance's own `copy-image` import (the data never leaves the cloud).

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::mpsc;

use super::*;
use crate::generated::{ImageCreate, ImageStatus};
use crate::hash::Hasher;
use crate::image::import::ImportMethod;

/// The properties of an image that [`CopyImage`] does not carry to the copy: what the
/// target Glance sets itself (id, status, owner, size, checksums, timestamps, locations,
/// stores, links), what it reserves (`os_glance_*`, by prefix), what names things of the
/// source cloud only (`cinder_encryption_key_*`: a key in the source's key manager), and
/// what is a decision for the target (`visibility`: private unless the caller changes it,
/// as public needs admin there; `protected`: a protected copy could not be cleaned up after a
/// failed copy). Everything else, custom properties and tags included, is carried.
pub const COPY_SKIPPED_PROPERTIES: &[&str] = &[
    "id",
    "status",
    "owner",
    "size",
    "virtual_size",
    "checksum",
    "os_hash_algo",
    "os_hash_value",
    "created_at",
    "updated_at",
    "file",
    "self",
    "schema",
    "direct_url",
    "locations",
    "stores",
    "visibility",
    "protected",
    "cinder_encryption_key_id",
    "cinder_encryption_key_deletion_policy",
];

/// The prefix Glance reserves for its own properties (`os_glance_importing_to_stores`, ...).
const RESERVED_PREFIX: &str = "os_glance_";
/// Chunks in flight between the download and the upload (a few MiB at most),
/// enough for each side to keep going while the other pauses.
const IN_FLIGHT_CHUNKS: usize = 16;
/// How long [`CopyImage::send`] waits for the copy to become active, by default.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// A copy of an image into another cloud, built by [`ImagesApi::copy_to`] and run by
/// [`CopyImage::send`].
///
/// ```no_run
/// # async fn run(source: openstack_images::Client, target: openstack_images::Client) -> openstack_images::Result<()> {
/// let copy = source
///     .images()
///     .copy_to("1bea47ed-f6a9-463b-b423-14b9cca9ad27", &target)
///     .name("cirros-copy")
///     .send()
///     .await?;
/// println!("copied as {}", copy.id);
/// # Ok(()) }
/// ```
#[must_use = "nothing is copied until `.send().await`"]
pub struct CopyImage {
    source: ImagesApi,
    target: ImagesApi,
    id: String,
    name: Option<String>,
    max_resumes: u32,
    timeout: Duration,
    progress: Option<Progress>,
    target_algorithm: Option<String>,
}

impl std::fmt::Debug for CopyImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CopyImage")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("max_resumes", &self.max_resumes)
            .field("timeout", &self.timeout)
            .field("target_algorithm", &self.target_algorithm)
            .finish_non_exhaustive()
    }
}

impl CopyImage {
    /// The hash algorithm the target Glance is configured with (its `hashing_algorithm`),
    /// when the caller knows it: the data is hashed with it on the way (when it is not the
    /// source's). By default it is taken from the target's newest active image (sha512 when
    /// it has none). Either way it is only a plan: the copy is checked in the algorithm its
    /// own record names, and read back when that one was not computed (see
    /// [`CopyImage::send`]).
    ///
    /// ```no_run
    /// # async fn run(source: openstack_images::Client, target: openstack_images::Client) -> openstack_images::Result<()> {
    /// source.images().copy_to("1bea47ed-f6a9-463b-b423-14b9cca9ad27", &target)
    ///     .target_hash_algorithm("sha256").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn target_hash_algorithm(mut self, algorithm: impl Into<String>) -> Self {
        self.target_algorithm = Some(algorithm.into().to_ascii_lowercase());
        self
    }

    /// The copy's name (default: the source image's).
    ///
    /// ```no_run
    /// # async fn run(source: openstack_images::Client, target: openstack_images::Client) -> openstack_images::Result<()> {
    /// source.images().copy_to("1bea47ed-f6a9-463b-b423-14b9cca9ad27", &target).name("copy").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// How many times the source download resumes with a `Range` request after its
    /// connection broke (default [`DEFAULT_MAX_RESUMES`]; see [`Download::max_resumes`]).
    /// The upload cannot resume: Glance takes an image's data in one request.
    ///
    /// ```no_run
    /// # async fn run(source: openstack_images::Client, target: openstack_images::Client) -> openstack_images::Result<()> {
    /// source.images().copy_to("1bea47ed-f6a9-463b-b423-14b9cca9ad27", &target).max_resumes(10).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn max_resumes(mut self, n: u32) -> Self {
        self.max_resumes = n;
        self
    }

    /// How long to wait for the copy to become active once its data is sent (default
    /// 10 minutes).
    ///
    /// ```no_run
    /// # async fn run(source: openstack_images::Client, target: openstack_images::Client) -> openstack_images::Result<()> {
    /// source.images().copy_to("1bea47ed-f6a9-463b-b423-14b9cca9ad27", &target)
    ///     .timeout(std::time::Duration::from_secs(60)).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// Calls `f(bytes_sent_to_the_target, total)` as the data moves.
    ///
    /// ```no_run
    /// # async fn run(source: openstack_images::Client, target: openstack_images::Client) -> openstack_images::Result<()> {
    /// source.images().copy_to("1bea47ed-f6a9-463b-b423-14b9cca9ad27", &target)
    ///     .progress(|sent, total| eprintln!("{sent}/{total:?}")).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn progress(mut self, f: impl Fn(u64, Option<u64>) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    /// Copies: creates the image in the target cloud with the source's properties and tags
    /// (minus [`COPY_SKIPPED_PROPERTIES`]), streams the source's verified download into its
    /// upload, waits for it to become active and checks what the target stored: its size,
    /// and its `os_hash_value` in the algorithm the copy reports (`os_hash_algo`, set by the
    /// target's configuration): against the source's value when the algorithms are the same,
    /// else against the hash of the bytes sent (computed on the way in the algorithm of the
    /// target's newest image). When the copy reports an algorithm that was not computed (a
    /// target with no image to tell, or configured otherwise since), the copy is read back
    /// from the target and hashed with the source's algorithm: a good copy is never taken
    /// for a bad one. Returns the active copy. Nothing is written to disk and memory stays
    /// constant (16 chunks of the download in flight; a 256 MiB copy peaked at 13 MiB RSS in
    /// `cargo xtask bench --only copy`).
    ///
    /// On any failure (the source's data fails its checksum, a connection breaks beyond the
    /// resumes, the target stored something else) the copy is deleted and the error
    /// returned: [`Error::Integrity`] for a mismatch on either side. Dropped before it
    /// finishes, the future deletes the copy too (see [`crate::DeleteOnDrop`]).
    ///
    /// ```no_run
    /// # async fn run(source: openstack_images::Client, target: openstack_images::Client) -> openstack_images::Result<()> {
    /// let copy = source.images().copy_to("1bea47ed-f6a9-463b-b423-14b9cca9ad27", &target).send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<Image> {
        let image = self.source.get(&self.id).await?;
        if image.status != Some(ImageStatus::Active) {
            let status = image.status.as_ref().map_or("unknown", |s| s.as_str());
            return Err(Error::invalid(
                "image",
                format!(
                    "image {} is {status}: only an active image has data to copy",
                    self.id
                ),
            ));
        }
        let create = copy_request(&image, self.name.as_deref())?;
        let size = image.size_bytes();
        // A plan: the caller's word or the target's newest image's algorithm. The copy's own
        // record decides.
        let guessed = match &self.target_algorithm {
            Some(algorithm) => algorithm.clone(),
            None => self.target.hash_algorithm().await?,
        };
        let source_algorithm = image.os_hash_algo.as_deref().map(str::to_ascii_lowercase);
        // The download verifies the source's own hash; the target's is computed on the way
        // only when it differs.
        let sent_hash = (source_algorithm.as_deref() != Some(guessed.as_str()))
            .then(|| Hasher::new(&guessed))
            .flatten()
            .map(|h| Arc::new(Mutex::new(h)));
        let download = self
            .source
            .download(&self.id)
            .image(image.clone())
            .max_resumes(self.max_resumes)
            .stream()
            .await?;
        let (tx, rx) = mpsc::channel::<Result<Bytes>>(IN_FLIGHT_CHUNKS);
        let pump = AbortOnDrop(tokio::spawn(pump(download, tx, sent_hash.clone())));
        let chunks = stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
        let mut source = DataSource::stream(chunks);
        if let Some(n) = size {
            source = source.size(n);
        }
        let mut upload = self
            .target
            .create_with_data(create, source)
            .timeout(self.timeout);
        if let Some(p) = self.progress.clone() {
            upload = upload.progress(move |a, b| p(a, b));
        }
        tracing::debug!(image = %self.id, size, guessed_target_algorithm = %guessed, "copy starting");
        let copy = upload.send().await;
        drop(pump);
        let copy = copy.map_err(source_error)?;
        let guard = self.target.delete_on_drop(&copy.id);
        let sent = match sent_hash {
            Some(h) => {
                let mut h = h
                    .lock()
                    .map_err(|_| Error::Protocol("hash state lost".into()))?;
                Some((guessed, h.hex()?))
            }
            None => None,
        };
        match super::copy_check::verify(&self.target, self.max_resumes, &image, &copy, size, sent)
            .await
        {
            Ok(()) => {
                guard.keep();
                Ok(copy)
            }
            Err(e) => {
                tracing::debug!(copy = %copy.id, error = %e, "the target stored other data: deleting the copy");
                if let Err(d) = guard.delete_now().await {
                    tracing::warn!(copy = %copy.id, error = %d, "could not delete the bad copy");
                }
                Err(e)
            }
        }
    }
}

/// Moves the verified download into the channel (hashing it for the target when asked); a
/// download error is passed on as the upload's source error, so the upload fails. (Chunks
/// go on as they came: re-chunking them to 64 KiB made no difference to a 256 MiB copy.)
async fn pump(
    mut data: ImageData,
    tx: mpsc::Sender<Result<Bytes>>,
    hash: Option<Arc<Mutex<Hasher>>>,
) {
    while let Some(item) = data.next().await {
        let hashed = match (&item, &hash) {
            (Ok(chunk), Some(h)) => match h.lock() {
                Ok(mut h) => h.update(chunk),
                Err(_) => Err(io::Error::other("hash state lost")),
            },
            _ => Ok(()),
        };
        if let Err(e) = hashed {
            let _ = tx.send(Err(Error::Io(e))).await;
            return;
        }
        let failed = item.is_err();
        if tx.send(item).await.is_err() || failed {
            return;
        }
    }
}

/// The download's own error when that is what failed the upload (it reached the upload as
/// its source's I/O error): an [`Error::Integrity`] of the source stays one.
fn source_error(e: Error) -> Error {
    match e {
        Error::Io(io) if io.get_ref().is_some_and(|inner| inner.is::<Error>()) => {
            match io.into_inner().map(|inner| inner.downcast::<Error>()) {
                Some(Ok(inner)) => *inner,
                Some(Err(other)) => Error::Io(io::Error::other(other)),
                None => Error::Protocol("an upload source error vanished".into()),
            }
        }
        other => other,
    }
}

/// The create request of the copy: the source's properties and tags minus the skipped ones.
fn copy_request(image: &Image, name: Option<&str>) -> Result<ImageCreate> {
    let fields = serde_json::to_value(image)
        .map_err(|e| Error::Protocol(format!("image {}: {e}", image.id)))?;
    let Value::Object(fields) = fields else {
        return Err(Error::Protocol(
            "an image record is not a JSON object".into(),
        ));
    };
    let mut create = ImageCreate::default();
    for (key, value) in fields {
        if value.is_null()
            || COPY_SKIPPED_PROPERTIES.contains(&key.as_str())
            || key.starts_with(RESERVED_PREFIX)
        {
            continue;
        }
        // Glance stores custom properties as strings; another cloud may have sent a number
        // or a boolean, which this Glance would refuse.
        let value = match value {
            v @ Value::Number(_) | v @ Value::Bool(_) if image.extra.contains_key(&key) => {
                Value::String(v.to_string())
            }
            v => v,
        };
        create = create.property_value(key, value);
    }
    if let Some(n) = name {
        create = create.property_value("name", Value::String(n.to_owned()));
    }
    Ok(create)
}

impl ImagesApi {
    /// A copy of image `id` into the cloud `target` is a client of (another cloud, region or
    /// project); see [`CopyImage`]. Within one cloud, to put the data in another store, use
    /// [`ImagesApi::copy_to_stores`]: Glance copies it without it leaving the cloud.
    ///
    /// ```no_run
    /// # async fn run() -> openstack_images::Result<()> {
    /// use openstack_images::Client;
    /// let (here, there) = (Client::from_cloud("here")?, Client::from_cloud("there")?);
    /// let copy = here.images().copy_to("1bea47ed-f6a9-463b-b423-14b9cca9ad27", &there).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn copy_to(&self, id: &str, target: &Client) -> CopyImage {
        CopyImage {
            source: self.clone(),
            target: target.images(),
            id: id.to_owned(),
            name: None,
            max_resumes: DEFAULT_MAX_RESUMES,
            timeout: DEFAULT_TIMEOUT,
            progress: None,
            target_algorithm: None,
        }
    }

    /// Copies an active image's data into more stores of its own cloud with Glance's
    /// `copy-image` import, and waits until every store holds it (the image stays active
    /// meanwhile); returns the image. A store that failed (listed in
    /// `os_glance_failed_import`) ends the wait with [`Error::ImageFailed`], `timeout` with
    /// [`Error::WaitTimeout`]. Dropped, the future stops waiting; Glance goes on copying.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let image = client.images()
    ///     .copy_to_stores("1bea47ed-f6a9-463b-b423-14b9cca9ad27", ["fs2"], std::time::Duration::from_secs(300))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn copy_to_stores<I, S>(
        &self,
        id: &str,
        stores: I,
        timeout: Duration,
    ) -> Result<Image>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let stores: Vec<String> = stores.into_iter().map(Into::into).collect();
        if stores.is_empty() {
            return Err(Error::invalid(
                "stores",
                "name at least one store to copy into",
            ));
        }
        self.import(id, ImportMethod::CopyImage)
            .stores(stores.iter().cloned())
            .send()
            .await?;
        let started = Instant::now();
        let mut delay = Duration::from_millis(200);
        loop {
            let image = self.get(id).await?;
            let listed = |key: &str| -> Vec<String> {
                let text = match image.extra.get(key) {
                    Some(Value::String(s)) => s.clone(),
                    _ => String::new(),
                };
                text.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            };
            let failed = listed("os_glance_failed_import");
            let pending = listed("os_glance_importing_to_stores");
            let has: Vec<&str> = image
                .stores
                .as_deref()
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .collect();
            tracing::debug!(image = %id, stores = ?has, pending = ?pending, failed = ?failed, "copy-image");
            if stores.iter().any(|s| failed.contains(s)) {
                return Err(Error::ImageFailed {
                    image_id: id.to_owned(),
                    status: image
                        .status
                        .as_ref()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                    failed_stores: failed.join(","),
                    importing_stores: pending.join(","),
                });
            }
            if stores.iter().all(|s| has.contains(&s.as_str())) && pending.is_empty() {
                return Ok(image);
            }
            let elapsed = started.elapsed();
            if elapsed >= timeout {
                return Err(Error::WaitTimeout {
                    what: format!("image {id} to be copied into {}", stores.join(", ")),
                    seconds: elapsed.as_secs_f64(),
                });
            }
            tokio::time::sleep(delay.min(timeout - elapsed)).await;
            delay = (delay * 2).min(Duration::from_secs(2));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_request_carries_custom_properties_and_tags_but_not_what_the_target_sets() {
        let image: Image = serde_json::from_value(serde_json::json!({
            "id": "x", "name": "cirros", "status": "active", "owner": "p", "size": 3,
            "checksum": "c", "os_hash_algo": "sha512", "os_hash_value": "h",
            "visibility": "public", "protected": true, "disk_format": "qcow2",
            "container_format": "bare", "min_disk": 1, "tags": ["a", "b"],
            "os_distro": "cirros", "my_key": "v", "vendor_flag": true,
            "os_glance_importing_to_stores": "", "stores": "fs", "file": "/v2/images/x/file",
        }))
        .unwrap();
        let body = copy_request(&image, Some("copy")).unwrap();
        let body = serde_json::to_value(body.properties()).unwrap();
        let want = serde_json::json!({
            "name": "copy", "disk_format": "qcow2", "container_format": "bare", "min_disk": 1,
            "tags": ["a", "b"], "os_distro": "cirros", "my_key": "v", "vendor_flag": "true",
        });
        assert_eq!(body, want);
    }
}
