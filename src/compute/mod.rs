//! The Compute (Nova) images API, a deprecated proxy to Glance kept for clouds and tools
//! that still use it.

/// The compute microversion every request pins: the last one that still has `/images`
/// (it was removed in 2.36).
pub const MICROVERSION: &str = "2.35";

/// `OpenStack-API-Version` header value for [`MICROVERSION`].
pub const MICROVERSION_HEADER: &str = "compute 2.35";

pub mod images;
