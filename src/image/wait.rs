//! Waiting for an image to reach a status, and the create-upload-wait convenience
//! ([`ImagesApi::create_with_data`]) built on it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::generated::{Image, ImageCreate, ImageStatus};
use crate::image::cleanup::DeleteOnDrop;
use crate::image::data::{DataSource, Progress};
use crate::image::images::ImagesApi;
use crate::image::import::ImportMethod;

/// Options of [`ImagesApi::create_with_data`], sent by [`CreateWithData::send`].
///
/// ```no_run
/// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
/// use openstack_images::{DataSource, ImageCreate};
/// let image = client
///     .images()
///     .create_with_data(
///         ImageCreate::new("disk").disk_format("raw").container_format("bare"),
///         DataSource::file("disk.raw"),
///     )
///     .via_import(true)
///     .send()
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "nothing is created until `.send().await`"]
pub struct CreateWithData {
    images: ImagesApi,
    create: ImageCreate,
    source: DataSource,
    via_import: bool,
    keep_on_failure: bool,
    timeout: Duration,
    progress: Option<Progress>,
}

impl std::fmt::Debug for CreateWithData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateWithData")
            .field("source", &self.source)
            .field("via_import", &self.via_import)
            .field("keep_on_failure", &self.keep_on_failure)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl CreateWithData {
    /// Stages the data and imports it with `glance-direct` instead of uploading it directly
    /// (clouds that apply import plugins, or disable direct upload).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// # use openstack_images::{DataSource, ImageCreate};
    /// client.images().create_with_data(ImageCreate::new("d"), DataSource::file("d.raw")).via_import(true).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn via_import(mut self, yes: bool) -> Self {
        self.via_import = yes;
        self
    }

    /// Keeps the half-made image when a step fails (by default it is deleted).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// # use openstack_images::{DataSource, ImageCreate};
    /// client.images().create_with_data(ImageCreate::new("d"), DataSource::file("d.raw")).keep_on_failure(true).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn keep_on_failure(mut self, yes: bool) -> Self {
        self.keep_on_failure = yes;
        self
    }

    /// How long to wait for the image to become active after the data is sent (default
    /// 10 minutes).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// # use openstack_images::{DataSource, ImageCreate};
    /// client.images().create_with_data(ImageCreate::new("d"), DataSource::file("d.raw"))
    ///     .timeout(std::time::Duration::from_secs(60)).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// Reports upload progress (see [`crate::Upload::progress`]).
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// # use openstack_images::{DataSource, ImageCreate};
    /// client.images().create_with_data(ImageCreate::new("d"), DataSource::file("d.raw"))
    ///     .progress(|sent, total| eprintln!("{sent}/{total:?}")).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn progress(mut self, f: impl Fn(u64, Option<u64>) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    /// Creates the image, sends the data, waits for `active`; returns the active image.
    /// On failure the image is deleted (unless [`CreateWithData::keep_on_failure`]) and the
    /// step's error is returned.
    ///
    /// Dropped before it finishes (a timeout, a `select!`, Ctrl-C), the future leaves no
    /// image either: a [`crate::DeleteOnDrop`] spawns the delete onto the runtime
    /// ([`crate::finish_cleanups`] waits for it). The source is dropped with it.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// # use openstack_images::{DataSource, ImageCreate};
    /// let image = client.images().create_with_data(ImageCreate::new("d"), DataSource::file("d.raw")).send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<Image> {
        let images = self.images;
        // The guard covers the create request itself (see `create_guarded`).
        let (image, guard) = if self.keep_on_failure {
            (images.create(self.create).await?, None)
        } else {
            let (image, guard) = images.create_guarded(self.create).await?;
            (image, Some(guard))
        };
        let id = image.id.clone();
        let result = async {
            let upload = if self.via_import {
                images.stage(&id, self.source)
            } else {
                images.upload(&id, self.source)
            };
            let upload = match self.progress {
                Some(p) => upload.progress(move |a, b| p(a, b)),
                None => upload,
            };
            upload.send().await?;
            if self.via_import {
                images
                    .import(&id, ImportMethod::GlanceDirect)
                    .send()
                    .await?;
            }
            images
                .wait_for_status(&id, &[ImageStatus::Active], self.timeout)
                .await
        }
        .await;
        match (result, guard) {
            (Err(e), Some(guard)) => {
                tracing::debug!(image = %id, error = %e, "create_with_data failed: deleting the image");
                if let Err(d) = guard.delete_now().await {
                    tracing::warn!(image = %id, error = %d, "could not delete the half-made image");
                }
                Err(e)
            }
            (result, guard) => {
                guard.map(DeleteOnDrop::keep);
                result
            }
        }
    }
}

// The properties Glance uses to report import progress and failures.
const FAILED_IMPORT: &str = "os_glance_failed_import";
const IMPORTING_TO: &str = "os_glance_importing_to_stores";

fn prop_str(image: &Image, key: &str) -> String {
    match image.extra.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(v) => v.to_string(),
    }
}

/// What one poll of [`ImagesApi::wait_for_status`] concludes.
#[derive(Debug, PartialEq)]
enum Poll {
    Done,
    Wait,
    Failed,
}

/// Judges one observation; `busy` is whether the image was seen in a transitional state
/// (saving, uploading, importing) before.
fn wait_verdict(image: &Image, wanted: &[ImageStatus], busy: bool) -> Poll {
    let status = image.status.clone().unwrap_or(ImageStatus::from(""));
    if !prop_str(image, FAILED_IMPORT).is_empty() {
        return Poll::Failed;
    }
    if wanted.contains(&status) {
        return Poll::Done;
    }
    match status {
        ImageStatus::Killed | ImageStatus::Deleted | ImageStatus::PendingDelete => Poll::Failed,
        // Glance puts an image whose import failed back to `queued`.
        ImageStatus::Queued if busy => Poll::Failed,
        _ => Poll::Wait,
    }
}

impl ImagesApi {
    /// Polls the image until its status is one of `wanted` (200 ms between polls, doubling
    /// up to 2 s), and returns it. Fails with [`Error::WaitTimeout`] after `timeout`, and
    /// with [`Error::ImageFailed`] as soon as the image is killed or deleted, or an import
    /// failed: `os_glance_failed_import` is not empty, or the image went back to `queued`
    /// after being seen saving, uploading or importing.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use std::time::Duration;
    /// use openstack_images::ImageStatus;
    /// let image = client
    ///     .images()
    ///     .wait_for_status("1bea47ed-f6a9-463b-b423-14b9cca9ad27", &[ImageStatus::Active], Duration::from_secs(300))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn wait_for_status(
        &self,
        id: &str,
        wanted: &[ImageStatus],
        timeout: Duration,
    ) -> Result<Image> {
        let started = Instant::now();
        let mut delay = Duration::from_millis(200);
        let mut busy = false;
        loop {
            let image = self.get(id).await?;
            let verdict = wait_verdict(&image, wanted, busy);
            let status = image
                .status
                .as_ref()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default();
            tracing::debug!(image = %id, status = %status, verdict = ?verdict, "wait_for_status");
            match verdict {
                Poll::Done => return Ok(image),
                Poll::Failed => {
                    return Err(Error::ImageFailed {
                        image_id: id.to_owned(),
                        status,
                        failed_stores: prop_str(&image, FAILED_IMPORT),
                        importing_stores: prop_str(&image, IMPORTING_TO),
                    });
                }
                Poll::Wait => {}
            }
            busy |= matches!(
                image.status,
                Some(ImageStatus::Saving | ImageStatus::Uploading | ImageStatus::Importing)
            );
            let elapsed = started.elapsed();
            if elapsed >= timeout {
                let names: Vec<&str> = wanted.iter().map(ImageStatus::as_str).collect();
                return Err(Error::WaitTimeout {
                    what: format!(
                        "image {id} to become {} (last status {status})",
                        names.join(" or ")
                    ),
                    seconds: elapsed.as_secs_f64(),
                });
            }
            tokio::time::sleep(delay.min(timeout - elapsed)).await;
            delay = (delay * 2).min(Duration::from_secs(2));
        }
    }

    /// Creates an image and gives it data in one call: create, upload (or stage and import
    /// with `glance-direct`), wait for `active`; see [`CreateWithData`].
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
    /// use openstack_images::{DataSource, ImageCreate};
    /// let image = client
    ///     .images()
    ///     .create_with_data(
    ///         ImageCreate::new("disk").disk_format("raw").container_format("bare"),
    ///         DataSource::file("disk.raw"),
    ///     )
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn create_with_data(&self, create: ImageCreate, source: DataSource) -> CreateWithData {
        CreateWithData {
            images: self.clone(),
            create,
            source,
            via_import: false,
            keep_on_failure: false,
            timeout: Duration::from_secs(600),
            progress: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn image(status: &str, failed: Option<&str>) -> Image {
        let mut v = json!({"id": "x", "status": status});
        if let Some(f) = failed {
            v["os_glance_failed_import"] = json!(f);
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn judging_import_progress() {
        let active = [ImageStatus::Active];
        assert_eq!(
            wait_verdict(&image("active", None), &active, false),
            Poll::Done
        );
        assert_eq!(
            wait_verdict(&image("importing", None), &active, false),
            Poll::Wait
        );
        assert_eq!(
            wait_verdict(&image("queued", None), &active, false),
            Poll::Wait
        );
        assert_eq!(
            wait_verdict(&image("queued", None), &active, true),
            Poll::Failed
        );
        assert_eq!(
            wait_verdict(&image("killed", None), &active, false),
            Poll::Failed
        );
        assert_eq!(
            wait_verdict(&image("importing", Some("fs")), &active, false),
            Poll::Failed
        );
        assert_eq!(
            wait_verdict(&image("importing", Some("")), &active, false),
            Poll::Wait
        );
    }
}
