//! Shared helpers of the live tests.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// Panics with directions unless `OPENSTACK_IMAGES_LIVE` is set (to anything but `0`).
pub fn require_stack() {
    let set = std::env::var("OPENSTACK_IMAGES_LIVE").is_ok_and(|v| !v.is_empty() && v != "0");
    if !set {
        panic!(
            "live tests need the local OpenStack: run `cargo xtask test`, or `cargo xtask stack \
             up` and `eval \"$(cargo xtask stack env)\"` then `OPENSTACK_IMAGES_LIVE=1 cargo \
             test --test live`"
        );
    }
}

/// A name no other test (in this run or another) uses: `prefix-pid-counter-random`.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}-{}-{}-{:08x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        fastrand::u32(..)
    )
}

/// The clouds.yaml named by `OS_CLIENT_CONFIG_FILE` (set by `cargo xtask stack env`).
pub fn clouds_yaml() -> PathBuf {
    require_stack();
    let path = std::env::var_os("OS_CLIENT_CONFIG_FILE")
        .map(PathBuf::from)
        .expect("OS_CLIENT_CONFIG_FILE is not set: `eval \"$(cargo xtask stack env)\"`");
    assert!(path.exists(), "{} does not exist", path.display());
    path
}
