//! Shared helpers of the live tests.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures_util::TryStreamExt;
use openstack_images::SearchPath;
use openstack_images::{
    Client, ClientBuilder, CloudConfig, ContainerFormat, DataSource, DiskFormat, Image,
    ImageCreate, RetryPolicy, ServiceType,
};

use crate::proxy::Proxy;

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
/// `osimg ARGS` with clouds.yaml `config` and cloud `local` (unless the arguments or a later
/// `env` name another), its token cache under the target dir, not the user's; stdin, stdout
/// and stderr are the caller's to set.
pub fn osimg_command(config: &std::path::Path, args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_osimg"));
    cmd.args(args)
        .env("OS_CLIENT_CONFIG_FILE", config)
        .env("OS_CLOUD", "local")
        .env("XDG_CACHE_HOME", env!("CARGO_TARGET_TMPDIR"));
    cmd
}

pub fn clouds_yaml() -> PathBuf {
    require_stack();
    let path = std::env::var_os("OS_CLIENT_CONFIG_FILE")
        .map(PathBuf::from)
        .expect("OS_CLIENT_CONFIG_FILE is not set: `eval \"$(cargo xtask stack env)\"`");
    assert!(path.exists(), "{} does not exist", path.display());
    path
}

/// The admin client of the stack (`local` in its clouds.yaml).
pub fn admin() -> openstack_images::Client {
    require_stack();
    openstack_images::Client::from_cloud("local").expect("cloud `local` in the stack's clouds.yaml")
}

/// Cloud `name` of the stack's clouds.yaml (`local`, `local-demo`, `local-appcred`).
pub fn cloud(name: &str) -> CloudConfig {
    let search = SearchPath::files(Some(clouds_yaml()), None);
    CloudConfig::from_cloud_in(name, &search).unwrap_or_else(|e| panic!("cloud {name}: {e}"))
}

/// The credentials of the stack's three clouds and `token`: what must never show in a log or
/// an error.
pub fn stack_secrets(token: &str) -> Vec<String> {
    let appcred = cloud("local-appcred");
    vec![
        token.to_owned(),
        cloud("local").password.unwrap().expose().to_owned(),
        cloud("local-demo").password.unwrap().expose().to_owned(),
        appcred
            .application_credential_secret
            .unwrap()
            .expose()
            .to_owned(),
    ]
}

/// A fault-injection proxy in front of the real Glance, and a client of cloud `local` with
/// `retry` whose image endpoint is the proxy (Keystone stays direct).
pub async fn glance_proxy(retry: RetryPolicy) -> (Proxy, Client) {
    glance_proxy_with(retry, |b| b).await
}

/// [`glance_proxy`] with the client's builder tuned by `tune` (timeouts, limits).
pub async fn glance_proxy_with(
    retry: RetryPolicy,
    tune: impl FnOnce(ClientBuilder) -> ClientBuilder,
) -> (Proxy, Client) {
    let real = admin().endpoint(ServiceType::Image).await.unwrap();
    let proxy = Proxy::start(&real).await;
    let cloud = cloud("local").image_endpoint_override(proxy.url("/v2"));
    let client = tune(Client::builder().cloud(cloud).retry(retry))
        .build()
        .unwrap();
    (proxy, client)
}

/// A bare raw image named `name`.
pub fn raw(name: &str) -> ImageCreate {
    ImageCreate::new(name)
        .container_format(ContainerFormat::Bare)
        .disk_format(DiskFormat::Raw)
}

/// `len` bytes counting up modulo `modulus` (a prime, so no power-of-two block repeats).
pub fn patterned(len: u32, modulus: u32) -> Vec<u8> {
    (0..len).map(|i| (i % modulus) as u8).collect()
}

/// Creates a raw image without data (a unique name from `prefix`), for `cleanup` to delete.
pub async fn empty_image(client: &Client, cleanup: &mut Cleanup, prefix: &str) -> Image {
    let image = client
        .images()
        .create(raw(&unique(prefix)))
        .await
        .expect("create");
    cleanup.0.push(image.id.clone());
    image
}

/// Creates a raw image holding `data` (a unique name from `prefix`), for `cleanup` to delete.
pub async fn image_with_data(
    client: &Client,
    cleanup: &mut Cleanup,
    prefix: &str,
    data: DataSource,
) -> Image {
    let image = client
        .images()
        .create_with_data(raw(&unique(prefix)), data)
        .send()
        .await
        .expect("create_with_data");
    cleanup.0.push(image.id.clone());
    image
}

/// Downloads all of `image`'s data (its record given, so no extra GET) into one buffer.
pub async fn download_all(client: &Client, image: &Image) -> openstack_images::Result<Vec<u8>> {
    let chunks: Vec<Bytes> = client
        .images()
        .download(&image.id)
        .image(image.clone())
        .stream()
        .await?
        .try_collect()
        .await?;
    Ok(chunks.concat())
}

/// Deletes the images whose ids it holds when dropped, whether the test passed or not.
pub struct Cleanup(pub Vec<String>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let ids = std::mem::take(&mut self.0);
        if ids.is_empty() {
            return;
        }
        // Drop cannot await, and the test's runtime is blocked while this runs: a fresh
        // client on a fresh runtime (a pooled connection of the test's client would wait on
        // the blocked runtime for ever).
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the cleanup");
            rt.block_on(async {
                admin().images().delete_many(ids, 8).await;
            });
        })
        .join();
    }
}

/// An in-memory writer for a tracing subscriber, shared with the test that reads it.
#[derive(Clone, Default)]
pub struct Capture(pub std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs one test of this binary (`module::name`) in a child process with `env_flag` set, and
/// fails unless it ran and passed. Scenarios that install a global tracing subscriber run
/// this way: a thread-local one could miss events while other tests run in parallel.
pub fn run_in_child(test: &str, env_flag: &str) {
    require_stack();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(env_flag, "1")
        .output()
        .expect("the test binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 passed"),
        "the child ran nothing:\n{stdout}"
    );
}

/// A token for `cloud`'s password credentials straight from Keystone, without the library
/// (to use as a `token` credential, or to search logs for).
pub async fn direct_token(c: &openstack_images::CloudConfig) -> String {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let url = format!(
        "{}/auth/tokens",
        c.auth_url.as_deref().unwrap().trim_end_matches('/')
    );
    let body = serde_json::json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": c.username.as_deref().unwrap(),
        "domain": {"name": c.user_domain_name.as_deref().unwrap()},
        "password": c.password.as_ref().unwrap().expose(),
    }}}}});
    let resp = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .expect("keystone answers");
    assert_eq!(resp.status().as_u16(), 201);
    resp.headers()["x-subject-token"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// Installs a global TRACE subscriber writing into the returned capture (once per process:
/// call it only in a child started by [`run_in_child`]).
pub fn capture_trace() -> Capture {
    use tracing_subscriber::util::SubscriberInitExt;
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish()
        .try_init()
        .expect("the child installs the only global subscriber");
    capture
}

/// The OpenStack release the stack serves, from `OPENSTACK_IMAGES_RELEASE` (set by `cargo
/// xtask test` and `cargo xtask stack env`): tests of what an older Glance lacks assert that
/// the crate says so ([`openstack_images::Error::Unsupported`] before any request) instead of
/// being skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Release(u32, u32);

impl Release {
    /// `2024.2` -> `Release(2024, 2)`.
    pub fn parse(name: &str) -> Release {
        let parsed = name
            .split_once('.')
            .and_then(|(y, n)| Some(Release(y.parse().ok()?, n.parse().ok()?)));
        parsed.unwrap_or_else(|| panic!("OPENSTACK_IMAGES_RELEASE={name:?} is not YYYY.N"))
    }

    /// Whether the stack's release is `name` or newer.
    pub fn at_least(self, name: &str) -> bool {
        self >= Release::parse(name)
    }
}

/// The stack's release; panics with directions when the environment does not say.
pub fn release() -> Release {
    require_stack();
    let name = std::env::var("OPENSTACK_IMAGES_RELEASE").unwrap_or_else(|_| {
        panic!(
            "OPENSTACK_IMAGES_RELEASE is not set: `eval \"$(cargo xtask stack env)\"` sets it \
             to the release the stack serves (`cargo xtask test` does too)"
        )
    });
    Release::parse(&name)
}

/// Image API 2.17, the locations API: OpenStack 2024.2 (Glance 29) and newer.
pub fn has_locations_api() -> bool {
    release().at_least("2024.2")
}

/// Image API 2.18 (cache clean and prune) and `?prefer=`: 2026.2 (Glance 33).
pub fn has_api_2_18() -> bool {
    release().at_least("2026.2")
}

/// Whether the `service` role is enough to list an image's locations (policy
/// `fetch_image_location`, `rule:service_api`): not in 2025.2, whose `service_api` rule is
/// `service_roles:service`, the roles of a service token (`X-Service-Token`) that a user's
/// own token does not carry (adding a location still works there). 2026.1 made it
/// `role:service or role:admin`.
pub fn service_role_is_enough() -> bool {
    release() != Release::parse("2025.2")
}
