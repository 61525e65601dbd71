//! Live tests against a real Keystone + Glance + Nova API.
//!
//! They need the local OpenStack: `cargo xtask test` starts it, runs them and stops it.
//! By hand: `cargo xtask stack up`, `eval "$(cargo xtask stack env)"`, then
//! `OPENSTACK_IMAGES_LIVE=1 cargo test --test live`.

mod auth;
mod cache;
mod catalog;
mod catalog_oim;
mod cli;
mod cli_cache_stores;
mod cli_metadefs;
mod compute;
mod copy;
mod data;
mod faults;
mod harness;
mod images;
mod interrupt;
mod metadefs;
mod oim;
mod osc_compat;
mod osc_compat_glance;
mod osc_compat_properties;
mod projects;
mod proxy;
mod ranged;
mod reuse;
mod roundtrip;
mod schema_drift;
mod smoke;
mod source_server;
mod stores;
mod token_cache;
mod upload_integrity;
