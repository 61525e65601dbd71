//! The one door to the code `build.rs` generates from `schemas/`.
//!
//! Private: everything public in here is re-exported at the crate root, its one public path
//! (a glob, so a type a new schema brings reaches the API with no hand-written code). The
//! generated code itself depends only on `crate::runtime`.

#![allow(clippy::all, clippy::pedantic)]

mod image_v2 {
    include!(concat!(env!("OUT_DIR"), "/image_v2.rs"));
}

mod metadefs_v2 {
    include!(concat!(env!("OUT_DIR"), "/metadefs_v2.rs"));
}

mod compute_v2_1 {
    include!(concat!(env!("OUT_DIR"), "/compute_v2_1.rs"));
}

/// The exact text of the schema files the build read (see `crate::image::drift`).
pub(crate) mod build_schemas {
    include!(concat!(env!("OUT_DIR"), "/build_schemas.rs"));
}

pub use compute_v2_1::{ComputeImage, ComputeImageServer, ComputeImageStatus, ComputeLink};
pub use image_v2::*;
pub use metadefs_v2::*;
