//! Live tests against a real Keystone + Glance + Nova API.
//!
//! They need the local OpenStack: `cargo xtask test` starts it, runs them and stops it.
//! By hand: `cargo xtask stack up`, `eval "$(cargo xtask stack env)"`, then
//! `OPENSTACK_IMAGES_LIVE=1 cargo test --test live`.

mod auth;
mod cli;
mod compute;
mod data;
mod faults;
mod harness;
mod images;
mod projects;
mod proxy;
mod smoke;
mod token_cache;
