//! What a dropped operation leaves behind, and how it is cleaned up.
//!
//! A future that is dropped before it finishes (a `tokio::select!` that took another branch,
//! a timeout, a program stopping on Ctrl-C) runs no more code of its own: whatever it had
//! created on the server stays there unless something else removes it. The operations that
//! create an image on the way to their result ([`crate::CreateWithData::send`],
//! [`crate::CopyImage::send`]) hold a [`DeleteOnDrop`] for it: when they are dropped, the
//! image is deleted by a task spawned onto the runtime they ran on. [`finish_cleanups`]
//! waits for those tasks, so a program can let them finish before it exits.

use std::sync::Mutex;
use std::time::Duration;

use crate::error::Error;
use crate::image::images::ImagesApi;

/// The cleanup tasks dropped guards started, not yet waited for.
static PENDING: Mutex<Vec<tokio::task::JoinHandle<Option<CleanupFailure>>>> =
    Mutex::new(Vec::new());

/// An image a dropped operation left behind and could not delete.
///
/// ```
/// # fn show(failure: &openstack_images::CleanupFailure) {
/// eprintln!("image {} is left behind: {}", failure.image_id, failure.error);
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct CleanupFailure {
    /// The image that is left.
    pub image_id: String,
    /// Why deleting it failed.
    pub error: Error,
}

impl std::fmt::Display for CleanupFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "could not delete the half-made image {}: {}",
            self.image_id, self.error
        )
    }
}

/// Waits until the cleanups started by dropped operations have finished, at most `limit`
/// in all, and returns what they could not delete. Call it before a program exits after
/// dropping an operation (a Ctrl-C handler does): the tasks run on the runtime, which
/// stops them when it shuts down. A cleanup still running after `limit` is reported as a
/// failure with [`Error::WaitTimeout`].
///
/// ```no_run
/// # async fn run() {
/// for failure in openstack_images::finish_cleanups(std::time::Duration::from_secs(30)).await {
///     eprintln!("{failure}");
/// }
/// # }
/// ```
pub async fn finish_cleanups(limit: Duration) -> Vec<CleanupFailure> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut failures = Vec::new();
    loop {
        let pending: Vec<_> = match PENDING.lock() {
            Ok(mut p) => p.drain(..).collect(),
            Err(poisoned) => poisoned.into_inner().drain(..).collect(),
        };
        if pending.is_empty() {
            return failures;
        }
        for task in pending {
            let abort = task.abort_handle();
            match tokio::time::timeout_at(deadline, task).await {
                Ok(Ok(None)) => {}
                Ok(Ok(Some(failure))) => failures.push(failure),
                Ok(Err(e)) => tracing::warn!(error = %e, "a cleanup task failed"),
                Err(_) => {
                    abort.abort();
                    failures.push(CleanupFailure {
                        image_id: "(unknown)".into(),
                        error: Error::WaitTimeout {
                            what: "a cleanup".into(),
                            seconds: limit.as_secs_f64(),
                        },
                    });
                }
            }
        }
    }
}

/// A new random image id (a version 4 UUID), for [`crate::ImageCreate::id`]: an image whose
/// id the client chose before the create request can be deleted even when the request's
/// answer never came (the program was interrupted while Glance was creating it).
///
/// ```
/// let id = openstack_images::new_image_id();
/// assert_eq!(id.len(), 36);
/// assert_eq!(&id[14..15], "4");
/// ```
pub fn new_image_id() -> String {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&fastrand::u64(..).to_le_bytes());
    b[8..].copy_from_slice(&fastrand::u64(..).to_le_bytes());
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = crate::hash::hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// Deletes an image when dropped, unless [`kept`](DeleteOnDrop::keep): the guard of an
/// operation that creates an image on the way to its result, so that an error, a panic or a
/// dropped future leaves no half-made image. From [`ImagesApi::delete_on_drop`].
///
/// Dropped inside a tokio runtime, it spawns the delete onto it ([`finish_cleanups`] waits
/// for it); dropped outside one, it can only log that the image is left.
///
/// ```no_run
/// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
/// use openstack_images::{DataSource, ImageCreate};
/// let images = client.images();
/// let image = images.create(ImageCreate::new("disk").disk_format("raw").container_format("bare")).await?;
/// let guard = images.delete_on_drop(&image.id);
/// images.upload(&image.id, DataSource::file("disk.raw")).send().await?; // `?` drops the guard
/// let id = guard.keep();
/// # Ok(()) }
/// ```
#[must_use = "dropping the guard deletes the image at once"]
#[derive(Debug)]
pub struct DeleteOnDrop {
    images: Option<ImagesApi>,
    id: String,
}

impl ImagesApi {
    /// A guard that deletes image `id` when it is dropped (see [`DeleteOnDrop`]).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// let guard = client.images().delete_on_drop("1bea47ed-f6a9-463b-b423-14b9cca9ad27");
    /// guard.delete_now().await?;
    /// # Ok(()) }
    /// ```
    pub fn delete_on_drop(&self, id: impl Into<String>) -> DeleteOnDrop {
        DeleteOnDrop {
            images: Some(self.clone()),
            id: id.into(),
        }
    }
}

impl ImagesApi {
    /// Creates an image and returns it with a [`DeleteOnDrop`] already holding it. Unless
    /// `create` names an id, one is chosen ([`new_image_id`]) before the request, so the guard
    /// covers the request itself: dropped while Glance makes the image, it still knows which
    /// image to delete. A create Glance refused (4xx) made nothing; after any other failure
    /// the image is deleted, as it may have been made.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use openstack_images::{DataSource, ImageCreate};
    /// let images = client.images();
    /// let (image, guard) = images
    ///     .create_guarded(ImageCreate::new("disk").disk_format("raw").container_format("bare"))
    ///     .await?;
    /// images.upload(&image.id, DataSource::file("disk.raw")).send().await?;
    /// guard.keep();
    /// # Ok(()) }
    /// ```
    pub async fn create_guarded(
        &self,
        create: crate::ImageCreate,
    ) -> crate::Result<(crate::Image, DeleteOnDrop)> {
        if create.properties().contains_key("id") {
            let image = self.create(create).await?;
            let guard = self.delete_on_drop(&image.id);
            return Ok((image, guard));
        }
        let id = new_image_id();
        let guard = self.delete_on_drop(&id);
        match self.create(create.id(&id)).await {
            Ok(image) => Ok((image, guard)),
            Err(e) if e.status().is_some_and(|s| (400..500).contains(&s)) => {
                guard.keep();
                Err(e)
            }
            Err(e) => {
                if let Err(d) = guard.delete_now().await
                    && !d.is_not_found()
                {
                    tracing::warn!(image = %id, error = %d, "could not delete an image whose create failed");
                }
                Err(e)
            }
        }
    }
}

impl DeleteOnDrop {
    /// The guarded image's id.
    ///
    /// ```no_run
    /// # fn run(client: openstack_images::Client) {
    /// let guard = client.images().delete_on_drop("1bea47ed-f6a9-463b-b423-14b9cca9ad27");
    /// assert_eq!(guard.id(), "1bea47ed-f6a9-463b-b423-14b9cca9ad27");
    /// # let _ = guard.keep();
    /// # }
    /// ```
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Keeps the image (the operation succeeded); returns its id.
    ///
    /// ```no_run
    /// # fn run(client: openstack_images::Client) {
    /// let id = client.images().delete_on_drop("1bea47ed-f6a9-463b-b423-14b9cca9ad27").keep();
    /// # }
    /// ```
    pub fn keep(mut self) -> String {
        self.images = None;
        std::mem::take(&mut self.id)
    }

    /// Deletes the image now and says how that went (an error path that can wait for it).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// client.images().delete_on_drop("1bea47ed-f6a9-463b-b423-14b9cca9ad27").delete_now().await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_now(mut self) -> crate::Result<()> {
        match self.images.take() {
            Some(images) => images.delete(&self.id).await,
            None => Ok(()),
        }
    }
}

impl Drop for DeleteOnDrop {
    fn drop(&mut self) {
        let Some(images) = self.images.take() else {
            return;
        };
        let id = std::mem::take(&mut self.id);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(image = %id, "dropped outside a tokio runtime: the half-made image is left");
            return;
        };
        tracing::debug!(image = %id, "operation dropped: deleting its half-made image");
        let task = runtime.spawn(async move {
            match images.delete(&id).await {
                Ok(()) => None,
                Err(e) if e.is_not_found() => None,
                Err(error) => {
                    tracing::warn!(image = %id, error = %error, "could not delete the half-made image");
                    Some(CleanupFailure {
                        image_id: id,
                        error,
                    })
                }
            }
        });
        match PENDING.lock() {
            Ok(mut p) => p.push(task),
            Err(poisoned) => poisoned.into_inner().push(task),
        }
    }
}
