//! The Compute (Nova) images API, a deprecated proxy to Glance kept for clouds and tools
//! that still use it.

pub mod images;
