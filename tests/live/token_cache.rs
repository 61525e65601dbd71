//! The on-disk token cache against the real Keystone: a second client (or `osimg` run) with
//! the same auth parameters sends no token request; a revoked cached token meets a 401, is
//! replaced and the file rewritten; a wrong password or application credential secret is
//! refused as it is without a cache; `--no-token-cache` and `OSIMG_NO_TOKEN_CACHE` turn it
//! off.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use futures_util::TryStreamExt;
use openstack_images::{Client, CloudConfig, ImageListQuery, Secret, ServiceType, TokenCache};

use crate::harness::{cloud, clouds_yaml, stack_secrets};

fn cached_client(dir: &Path) -> Client {
    Client::builder()
        .cloud(cloud("local"))
        .token_cache(TokenCache::new(dir))
        .build()
        .unwrap()
}

async fn list_some(client: &Client) {
    let mut images = client
        .images()
        .list(ImageListQuery::new().page_size(5))
        .max_items(5);
    while images.try_next().await.unwrap().is_some() {}
}

/// The entries (`*.json`) in `dir`; the key that names them is beside them.
fn entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect()
}

/// The one cache file in `dir` and the token it holds.
fn cache_file(dir: &Path) -> (PathBuf, String) {
    let files = entries(dir);
    assert_eq!(files.len(), 1, "{files:?}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    (files[0].clone(), v["token"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_second_client_reuses_the_cached_token_and_catalog() {
    let tmp = tempfile::tempdir().unwrap();
    let first = cached_client(tmp.path());
    list_some(&first).await;
    assert_eq!(first.auth_count(), 1);
    let (path, token) = cache_file(tmp.path());
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let second = cached_client(tmp.path());
    list_some(&second).await;
    assert_eq!(second.auth_count(), 0, "the cached token was not used");
    assert_eq!(cache_file(tmp.path()).1, token);

    // Other auth parameters (another user) have their own file: no token is shared.
    let demo = Client::builder()
        .cloud(cloud("local-demo"))
        .token_cache(TokenCache::new(tmp.path()))
        .build()
        .unwrap();
    list_some(&demo).await;
    assert_eq!(demo.auth_count(), 1);
    assert_eq!(entries(tmp.path()).len(), 2);
}

#[tokio::test]
async fn a_revoked_cached_token_is_replaced_and_the_file_rewritten() {
    let tmp = tempfile::tempdir().unwrap();
    // Revoked before Glance ever sees it: its keystonemiddleware caches validated tokens for
    // minutes, so a token it already accepted would stay accepted.
    let first = cached_client(tmp.path());
    first.endpoint(ServiceType::Image).await.unwrap();
    let (_, old) = cache_file(tmp.path());
    first.revoke_token_unnoticed().await.unwrap();

    let second = cached_client(tmp.path());
    list_some(&second).await; // 401 with the cached token, then a fresh one
    assert_eq!(second.auth_count(), 1);
    let (_, new) = cache_file(tmp.path());
    assert_ne!(new, old, "the rejected token is still cached");

    let third = cached_client(tmp.path());
    list_some(&third).await;
    assert_eq!(third.auth_count(), 0);
}

/// Runs `osimg --debug image list` with this cache home; returns stderr.
fn osimg_debug(cache_home: &Path, extra: &[&str], env: Option<(&str, &str)>) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_osimg"));
    cmd.args(["--debug", "image", "list", "--limit", "1"])
        .args(extra)
        .env("OS_CLIENT_CONFIG_FILE", clouds_yaml())
        .env("OS_CLOUD", "local")
        .env("XDG_CACHE_HOME", cache_home)
        .env_remove("OSIMG_NO_TOKEN_CACHE");
    if let Some((k, v)) = env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("osimg runs");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    err
}

#[tokio::test]
async fn osimg_reuses_its_token_unless_told_not_to() {
    let tmp = tempfile::tempdir().unwrap();
    let first = osimg_debug(tmp.path(), &[], None);
    assert!(
        first.contains("POST url=") && first.contains("/auth/tokens"),
        "{first}"
    );
    let dir = tmp.path().join("openstack-images/tokens");
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let (_, token) = cache_file(&dir);

    let second = osimg_debug(tmp.path(), &[], None);
    assert!(!second.contains("/auth/tokens"), "{second}");
    assert!(second.contains("using a cached token"), "{second}");
    // Version discovery was cached too: the only request is the listing.
    assert_eq!(second.matches(" request method=").count(), 1, "{second}");

    for text in [&first, &second] {
        for secret in stack_secrets(&token) {
            assert!(!text.contains(&secret), "a secret in the debug log");
        }
    }

    let flag = osimg_debug(tmp.path(), &["--no-token-cache"], None);
    assert!(flag.contains("/auth/tokens"), "{flag}");
    let env = osimg_debug(tmp.path(), &[], Some(("OSIMG_NO_TOKEN_CACHE", "1")));
    assert!(env.contains("/auth/tokens"), "{env}");
    // Neither touched the cache.
    assert_eq!(cache_file(&dir).1, token);
}

/// The `OS_*` variables of a cloud: how `OS_PASSWORD=... osimg` is used without clouds.yaml.
fn os_vars(c: &CloudConfig) -> Vec<(&'static str, String)> {
    let secret = |s: &Option<Secret>| s.as_ref().map(|s| s.expose().to_owned());
    [
        ("OS_AUTH_URL", c.auth_url.clone()),
        ("OS_AUTH_TYPE", Some(c.auth_type.as_str().to_owned())),
        ("OS_USERNAME", c.username.clone()),
        ("OS_USER_ID", c.user_id.clone()),
        ("OS_PASSWORD", secret(&c.password)),
        ("OS_USER_DOMAIN_NAME", c.user_domain_name.clone()),
        ("OS_USER_DOMAIN_ID", c.user_domain_id.clone()),
        ("OS_PROJECT_NAME", c.project_name.clone()),
        ("OS_PROJECT_ID", c.project_id.clone()),
        ("OS_PROJECT_DOMAIN_NAME", c.project_domain_name.clone()),
        ("OS_PROJECT_DOMAIN_ID", c.project_domain_id.clone()),
        (
            "OS_APPLICATION_CREDENTIAL_ID",
            c.application_credential_id.clone(),
        ),
        (
            "OS_APPLICATION_CREDENTIAL_NAME",
            c.application_credential_name.clone(),
        ),
        (
            "OS_APPLICATION_CREDENTIAL_SECRET",
            secret(&c.application_credential_secret),
        ),
        ("OS_REGION_NAME", c.region_name.clone()),
        ("OS_INTERFACE", Some(c.interface.as_str().to_owned())),
    ]
    .into_iter()
    .filter_map(|(k, v)| Some((k, v?)))
    .collect()
}

/// `osimg --debug image list` with the cloud of `cloud` given only by `OS_*` variables, and
/// this cache home; returns the exit status and stderr.
fn osimg_with_vars(cache_home: &Path, cloud: &CloudConfig) -> (Option<i32>, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_osimg"));
    cmd.args(["--debug", "image", "list", "--limit", "1"])
        .env("XDG_CACHE_HOME", cache_home)
        .env_remove("OSIMG_NO_TOKEN_CACHE");
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("OS_")) {
        cmd.env_remove(k);
    }
    cmd.envs(os_vars(cloud));
    let out = cmd.output().expect("osimg runs");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code(), err)
}

/// A token cached by a good run does not answer for a wrong credential: that run fails at
/// Keystone with exit status 4 (as `openstack image list` does), and leaves the good entry.
fn a_changed_credential_is_refused(name: &str, change: fn(&mut CloudConfig)) {
    let tmp = tempfile::tempdir().unwrap();
    let good = cloud(name);
    let (status, first) = osimg_with_vars(tmp.path(), &good);
    assert_eq!(status, Some(0), "{first}");
    let dir = tmp.path().join("openstack-images/tokens");
    let (_, token) = cache_file(&dir);

    let mut bad = good.clone();
    change(&mut bad);
    let (status, refused) = osimg_with_vars(tmp.path(), &bad);
    assert_eq!(status, Some(4), "{refused}");
    assert!(refused.contains("authentication failed"), "{refused}");
    assert!(!refused.contains("using a cached token"), "{refused}");
    assert!(
        !refused.contains("not-the-"),
        "the wrong credential in the log"
    );

    let (status, again) = osimg_with_vars(tmp.path(), &good);
    assert_eq!(status, Some(0), "{again}");
    assert!(again.contains("using a cached token"), "{again}");
    assert!(!again.contains("/auth/tokens"), "{again}");
    assert_eq!(cache_file(&dir).1, token);
    for text in [&first, &refused, &again] {
        for secret in stack_secrets(&token) {
            assert!(!text.contains(&secret), "a secret in the debug log");
        }
    }
}

#[test]
fn a_wrong_password_is_refused_despite_a_cached_token() {
    a_changed_credential_is_refused("local", |c| {
        c.password = Some(Secret::new("not-the-password"));
    });
}

#[test]
fn a_changed_application_credential_secret_is_refused_despite_a_cached_token() {
    a_changed_credential_is_refused("local-appcred", |c| {
        c.application_credential_secret = Some(Secret::new("not-the-secret"));
    });
}

/// The issue's own command: `OS_PASSWORD=wrong osimg image list` where `OS_CLOUD` names the
/// cloud. The variable is laid over clouds.yaml, as `openstack` lays it, so the wrong password
/// fails (status 4) even with a good token cached for the cloud's own.
#[test]
fn os_password_over_os_cloud_is_used_and_a_wrong_one_refused_despite_a_cached_token() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |password: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_osimg"));
        cmd.args(["--debug", "image", "list", "--limit", "1"])
            .env("XDG_CACHE_HOME", tmp.path())
            .env_remove("OSIMG_NO_TOKEN_CACHE");
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("OS_")) {
            cmd.env_remove(k);
        }
        cmd.env("OS_CLIENT_CONFIG_FILE", clouds_yaml())
            .env("OS_CLOUD", "local");
        if let Some(p) = password {
            cmd.env("OS_PASSWORD", p);
        }
        let out = cmd.output().expect("osimg runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (status, first) = run(None);
    assert_eq!(status, Some(0), "{first}");
    let (status, refused) = run(Some("not-the-password"));
    assert_eq!(status, Some(4), "{refused}");
    assert!(refused.contains("authentication failed"), "{refused}");
    assert!(!refused.contains("not-the-password"), "{refused}");
    // The right password given the same way is the cloud's own: the cached token serves.
    let right = cloud("local").password.unwrap().expose().to_owned();
    let (status, again) = run(Some(&right));
    assert_eq!(status, Some(0), "{again}");
    assert!(again.contains("using a cached token"), "{again}");
    assert!(!again.contains(&right), "the password in the debug log");
}
