//! Image data: streamed uploads and staging, verified downloads that resume after a dropped
//! connection, range reads, and atomic downloads to a file.
//!
//! Memory stays constant whatever the image size: uploads are sent chunked from the source
//! as it is read, downloads are handed out chunk by chunk while their hash is computed.
//!
//! `source` (where upload data comes from), `upload`, `verify` (hashes and checksums) and
//! `download` (verified, resumable; to a stream, a reader or a file), `worker` (hashing and
//! file writes on threads of their own), `copy` (to another cloud, streamed; to another store,
//! by import), `ranged` (parallel range requests for one download), `reuse` (finding an image
//! that already holds a file's bytes).

mod copy;
mod copy_check;
mod download;
mod fetch;
mod ranged;
mod reuse;
mod source;
mod upload;
mod verify;
mod worker;

pub use copy::{COPY_SKIPPED_PROPERTIES, CopyImage};
pub use download::Download;
pub use fetch::ImageData;
pub use source::DataSource;
#[cfg(feature = "catalog")]
pub(crate) use source::inspect_chunks;
pub use upload::{DEFAULT_UPLOAD_HASH, Upload};
#[cfg(feature = "catalog")]
pub(crate) use worker::Worker;

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use futures_util::{StreamExt, TryStreamExt, stream};
use reqwest::header::HeaderValue;
use reqwest::{Method, StatusCode};
use tokio::io::AsyncRead;

use crate::client::{Client, Req, ReqBody, ServiceType, idle_timeout, transport_error};
use crate::error::{Error, Result};
use crate::generated::Image;
use crate::image::images::{ImagesApi, image_path};

/// Largest chunk of an upload body. Glance under gunicorn took chunked bodies faster in
/// 64 KiB chunks than in 1 MiB ones (one 1 GiB run: 118 vs 60 MB/s; noisy on 2 shared
/// cores), so larger chunks from a source are split (without copying).
const CHUNK: usize = 64 * 1024;
/// Default number of times a download resumes after the connection broke.
pub const DEFAULT_MAX_RESUMES: u32 = 5;

/// A progress callback: bytes transferred so far, and the total when it is known.
pub type Progress = Arc<dyn Fn(u64, Option<u64>) + Send + Sync>;

type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// Aborts a spawned task when dropped: a download or copy that fails or is cancelled stops
/// the task that feeds it.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
