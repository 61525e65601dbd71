//! # openstack-images
//!
//! An async client for the OpenStack Image service API v2 (Glance) and the Compute (Nova)
//! images API. Its types, request builders and list filters are generated at build time from
//! the JSON schemas Glance publishes (see `schemas/` and `build.rs`); a hand-written layer
//! adds authentication, pagination, JSON-patch updates and streamed, verified image data.
//!
//! ```no_run
//! # async fn run() -> openstack_images::Result<()> {
//! use openstack_images::Client;
//! let client = Client::from_env()?; // OS_CLOUD + clouds.yaml, or OS_* variables
//! # Ok(()) }
//! ```

mod auth;
pub mod bulk;
pub mod client;
pub mod clouds;
pub mod compute;
pub mod error;
mod generated;
mod http;
pub mod image;
pub mod paging;
mod runtime;
mod secret;
mod service;
mod tls;
mod validate;

pub use bulk::{BulkResults, for_each_bounded};
pub use client::{Client, ClientBuilder, DEFAULT_MAX_JSON_BYTES};
pub use clouds::CloudConfig;
pub use compute::images::{ComputeImageQuery, ComputeImages};
pub use error::{ApiError, Error, RedirectRefusal, Result, TransportKind};
pub use generated::*;
pub use http::RetryPolicy;
pub use image::data::{DataSource, Download, ImageData, Upload};
pub use image::images::Images;
pub use image::import::{Import, ImportInfo, ImportMethod, QuotaUsage, StoreInfo};
pub use image::inspect::{Inspection, PartitionTable, UnsafeReason, inspect_file, inspect_reader};
pub use image::patch::{ImagePatch, PatchOp};
pub use image::query::{Cmp, ImageListQuery, SortDir};
pub use image::schemas::{JsonSchema, SchemaKind, canonical_json};
pub use image::wait::CreateWithData;
pub use paging::Page;
pub use runtime::{PropertyRules, SchemaRules, UnknownValue, ValueKind};
pub use secret::Secret;
pub use service::ServiceType;
