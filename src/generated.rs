//! The one door to the code `build.rs` generates from `schemas/`.
//!
//! Everything here is re-exported at the crate root where it is the right public type.

#![allow(clippy::all, clippy::pedantic)]

mod image_v2 {
    include!(concat!(env!("OUT_DIR"), "/image_v2.rs"));
}

mod compute_v2_1 {
    include!(concat!(env!("OUT_DIR"), "/compute_v2_1.rs"));
}

pub use compute_v2_1::{ComputeImage, ComputeImageServer, ComputeImageStatus, ComputeLink};
pub use image_v2::*;
