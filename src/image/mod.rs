//! The Image service (Glance) API v2.

pub mod cache;
pub mod cleanup;
pub mod data;
pub mod drift;
mod feature_fetch;
pub mod features;
pub mod images;
pub mod import;
pub mod inspect;
pub mod locations;
pub mod members;
pub mod metadefs;
pub mod patch;
pub mod query;
pub mod raw;
pub mod schemas;
pub mod stores;
pub mod tasks;
pub mod wait;
