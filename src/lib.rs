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
//!
//! ## Conventions
//!
//! - An id that names a resource to act on or to filter by is `&str` everywhere: service
//!   methods, operation builders and queries alike (`get(id)`, `download(id)`,
//!   `import(id, ..)`, `ImageListQuery::marker(id)`, `owner(project_id)`). The crate only
//!   copies it into a URL, so taking ownership would buy nothing, and one type means no
//!   guessing. Values that become data of a request or a configuration (an image's name, a
//!   tag, a property value, a `clouds.yaml` field) take `impl Into<String>`. Methods over
//!   many ids take any `IntoIterator` of `AsRef<str>`.
//! - Sizes and counts are `u64`: `size_bytes()`, `page_size`, `max_items`, `min_ram`.
//! - Every list is a [`Paginator`]: `page_size` is the server's `limit` (items per request),
//!   `max_items` the total cap.
//! - Timestamps stay the server's text in fields, for lossless output; `*_time()` accessors
//!   give a [`SystemTime`](std::time::SystemTime) (see [`parse_rfc3339`]).
//! - Vendor (Huawei Cloud IMS) filters and fields are `huawei_*`, never a schema name.
//! - The optional parts of Glance (the image cache, multiple stores, the locations API) are
//!   checked against what the cloud's version document lists ([`ImagesApi::features`]):
//!   one it lacks is [`Error::Unsupported`] before any request.

#![cfg_attr(docsrs, feature(doc_cfg))]

// Every public item has one path: the crate root. The modules are the crate's own layout.
mod auth;
mod bulk;
mod catalog;
mod client;
mod clouds;
mod compute;
mod error;
mod generated;
mod hash;
mod http;
mod identity;
mod image;
mod paging;
mod runtime;
mod secret;
mod service;
mod timestamp;
mod tls;
mod validate;

pub use auth::cache::TokenCache;
pub use bulk::{BulkResults, map_bounded};
pub use catalog::{
    Action, ActionKind, Catalog, CatalogError, CatalogErrors, CatalogImage, Change, Checksum,
    ChecksumAlgorithm, CloudImages, DEFAULT_MANAGED_TAG, FanOutBranch, INCOMING_PROPERTY,
    INCOMING_TAG, ImageSource, ImageVersion, LatestInfo, Plan, PlanOptions, PlanProblem,
    cloud_images, fan_out, find_checksum, parse_checksums,
};
#[cfg(feature = "catalog")]
pub use catalog::{
    ApplyEvent, ApplyOptions, ApplyReport, CatalogImport, Compression, EventSink, Outcome,
    SourceOptions, SourceStats, SourceStream, open_source,
};
pub use client::{Client, ClientBuilder, DEFAULT_MAX_JSON_BYTES};
pub use clouds::{AuthType, CloudConfig, Interface, SearchPath};
pub use compute::images::{ComputeImagePaginator, ComputeImageQuery, ComputeImagesApi};
pub use error::{ApiError, Error, RedirectRefusal, Result, TransportKind};
pub use generated::*;
pub use hash::{HASH_BACKEND, Hasher};
pub use http::RetryPolicy;
pub use identity::ProjectRef;
pub use image::cache::{CacheClear, CachePruned, CacheState, CachedImage};
pub use image::cleanup::{CleanupFailure, DeleteOnDrop, finish_cleanups, new_image_id};
pub use image::data::{
    COPY_SKIPPED_PROPERTIES, CopyImage, DEFAULT_MAX_RESUMES, DEFAULT_UPLOAD_HASH, DataSource,
    Download, ImageData, Progress, Upload,
};
pub use image::drift::{
    BUILD_COMPUTE_IMAGE_SCHEMA, SchemaChange, SchemaDrift, build_schema, build_schemas,
    compare_schemas,
};
pub use image::features::{ImageFeature, ImageFeatures};
pub use image::images::{ImagePaginator, ImagesApi};
pub use image::import::{Import, ImportInfo, ImportMethod, QuotaUsage, StoreInfo};
pub use image::inspect::{
    INSPECT_PREFIX, Inspection, PartitionTable, UnsafeReason, inspect_file, inspect_prefix,
    inspect_reader,
};
pub use image::locations::{AddLocation, ImageLocation};
pub use image::metadefs::{
    IMAGE_RESOURCE_TYPE, MetadefImageRules, MetadefNamespacePaginator, MetadefNamespaceQuery,
    MetadefTagPaginator, MetadefsApi,
};
pub use image::patch::{ImagePatch, PATCH_MEDIA_TYPE, PatchOp};
pub use image::query::{Cmp, ImageListQuery, SortDir};
pub use image::raw::ImageJsonPaginator;
pub use image::schemas::{JsonSchema, SchemaKind, canonical_json};
pub use image::stores::StoreDetail;
pub use image::tasks::TaskPaginator;
pub use image::wait::CreateWithData;
pub use paging::{Page, Pages, Paginator};
pub use runtime::{PropertyRules, SchemaRules, UnknownValue, ValueKind};
pub use secret::Secret;
pub use service::{COMPUTE_MICROVERSION, COMPUTE_MICROVERSION_HEADER, ServiceType};
pub use timestamp::parse_rfc3339;

/// The servers the crate's schemas were pulled from, as recorded in `schemas/SOURCE`
/// (`"Glance 33.0.0, Nova 34.0.0, OpenStack 2026.2"`); `"unrecorded"` when the build used an
/// `OPENSTACK_IMAGES_SCHEMA_DIR` without that file.
///
/// ```
/// assert!(!openstack_images::SCHEMA_SOURCE.is_empty());
/// ```
pub const SCHEMA_SOURCE: &str = env!("OPENSTACK_IMAGES_SCHEMA_SOURCE");

/// The README's Rust example, compiled (and its other blocks checked) as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
