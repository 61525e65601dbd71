//! The Image service (Glance) API v2.

pub mod images;
pub mod members;
pub mod patch;
pub mod query;
pub mod schemas;
