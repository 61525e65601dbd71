//! `osimg catalog plan/apply` against the stack's two Glances (`local`, sha512, and
//! `local-plain`, sha256), with image sources on a loopback HTTP server of the test
//! (tests/live/source_server.rs: `application/octet-stream`, Range, counters; the sources
//! are not OpenStack, so a server of our own is the real thing here). Images are real
//! qcow2 files made by `qemu-img`, some served xz- or gzip-compressed. Every catalog image
//! has a name of its own test, so tests run side by side.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use openstack_images::{Client, Image, ImageListQuery};
use serde_json::Value;

use crate::harness::{admin, clouds_yaml, osimg_command, unique};
use crate::source_server::SourceServer;

/// `osimg ARGS` with the stack's clouds.yaml, run to its end.
pub(crate) fn osimg(args: &[&str]) -> Output {
    osimg_command(&clouds_yaml(), args)
        .stdin(Stdio::null())
        .output()
        .expect("osimg runs")
}

pub(crate) fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn qemu_img(args: &[&str]) {
    let out = Command::new("qemu-img")
        .args(args)
        .output()
        .expect("qemu-img runs");
    assert!(
        out.status.success(),
        "qemu-img {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A real qcow2 of `virtual_mib` MiB with `data_mib` MiB of random data written into it.
pub(crate) fn qcow2(dir: &Path, name: &str, virtual_mib: u32, data_mib: u32) -> PathBuf {
    let raw = dir.join(format!("{name}.raw"));
    let mut data = vec![0u8; (virtual_mib as usize) << 20];
    for b in data.iter_mut().take((data_mib as usize) << 20) {
        *b = fastrand::u8(..);
    }
    std::fs::write(&raw, &data).unwrap();
    let path = dir.join(name);
    qemu_img(&[
        "convert",
        "-f",
        "raw",
        "-O",
        "qcow2",
        raw.to_str().unwrap(),
        path.to_str().unwrap(),
    ]);
    std::fs::remove_file(raw).unwrap();
    path
}

fn sha256_hex(path: &Path) -> String {
    let mut h = openstack_images::Hasher::new("sha256").unwrap();
    h.update(&std::fs::read(path).unwrap()).unwrap();
    h.hex().unwrap()
}

/// `path` compressed with xz (`xz -k -1`, xz-utils, on every Debian), as `path.xz`.
fn xz(path: &Path) -> PathBuf {
    let out = Command::new("xz")
        .args(["-k", "-1", "-f", "-T1"])
        .arg(path)
        .output()
        .expect("xz runs (xz-utils)");
    assert!(
        out.status.success(),
        "xz: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    path.with_extension("qcow2.xz")
}

/// One catalog image, `multi`, with the given versions (`(version, file name)`), checksums
/// from the server's SHA256SUMS.
pub(crate) fn catalog_yaml(
    name: &str,
    min_ram: u32,
    versions: &[(&str, String)],
    server: &SourceServer,
) -> String {
    let mut y = format!(
        "images:\n  - name: {name}\n    enable: true\n    format: qcow2\n    login: ubuntu\n    min_ram: {min_ram}\n    status: active\n    visibility: public\n    multi: true\n    meta:\n      architecture: x86_64\n      hw_disk_bus: scsi\n      hypervisor_type: qemu\n      os_distro: ubuntu\n      os_purpose: generic\n      replace_frequency: never\n      uuid_validity: last-3\n      provided_until: none\n      hw_qemu_guest_agent: true\n    tags: [catalog-test]\n    versions:\n"
    );
    for (version, file) in versions {
        y.push_str(&format!(
            "      - version: '{version}'\n        url: {}\n        checksums_url: {}\n        build_date: 2026-01-0{}\n",
            server.url(file),
            server.url("SHA256SUMS"),
            version.len() % 9 + 1
        ));
    }
    y
}

pub(crate) struct Fixture {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) server: SourceServer,
    pub(crate) name: String,
    pub(crate) images: PathBuf,
}

impl Fixture {
    pub(crate) async fn new(prefix: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let server = SourceServer::start(dir.path()).await;
        let images = dir.path().join("images");
        std::fs::create_dir(&images).unwrap();
        Fixture {
            name: unique(prefix),
            dir,
            server,
            images,
        }
    }

    fn path(&self, f: &str) -> PathBuf {
        self.dir.path().join(f)
    }

    /// Writes SHA256SUMS for `files` (or a wrong digest for `wrong`).
    pub(crate) fn checksums(&self, files: &[&str], wrong: Option<&str>) {
        let mut s = String::new();
        for f in files {
            let hex = if Some(*f) == wrong {
                "0".repeat(64)
            } else {
                sha256_hex(&self.path(f))
            };
            s.push_str(&format!("{hex}  {f}\n"));
        }
        std::fs::write(self.path("SHA256SUMS"), s).unwrap();
    }

    pub(crate) fn write_catalog(&self, yaml: &str) {
        std::fs::write(self.images.join("catalog.yml"), yaml).unwrap();
    }

    pub(crate) fn args<'a>(
        &'a self,
        cmd: &'a str,
        clouds: &[&'a str],
        extra: &[&'a str],
    ) -> Vec<&'a str> {
        let mut a = vec!["catalog", cmd, "--images", self.images.to_str().unwrap()];
        for c in clouds {
            a.extend(["--cloud", c]);
        }
        a.extend(extra);
        a
    }

    pub(crate) fn plan_json(&self, clouds: &[&str]) -> Vec<Value> {
        let out = osimg(&self.args("plan", clouds, &["-f", "json"]));
        assert!(out.status.success(), "{}", text(&out));
        serde_json::from_slice::<Value>(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", text(&out)))
            .as_array()
            .cloned()
            .expect("an array")
    }
}

/// Every image of `cloud` whose name starts with `prefix`, hidden and incoming ones too.
pub(crate) async fn images_named(client: &Client, prefix: &str) -> Vec<Image> {
    let base = ImageListQuery::new().all_visibilities();
    let mut all = client.images().list_all(base.clone()).await.unwrap();
    for h in client
        .images()
        .list_all(base.os_hidden(true))
        .await
        .unwrap()
    {
        if !all.iter().any(|i| i.id == h.id) {
            all.push(h);
        }
    }
    all.retain(|i| i.name.as_deref().is_some_and(|n| n.starts_with(prefix)));
    all.sort_by(|a, b| a.name.cmp(&b.name));
    all
}

fn plain() -> Client {
    Client::from_cloud("local-plain").expect("cloud local-plain")
}

/// Asserts that neither cloud has an image whose name starts with `prefix`.
async fn assert_nothing_left(prefix: &str) {
    for client in [admin(), plain()] {
        let left = images_named(&client, prefix).await;
        assert!(
            left.is_empty(),
            "left behind: {:?}",
            left.iter()
                .map(|i| (&i.name, &i.status))
                .collect::<Vec<_>>()
        );
    }
}

pub(crate) async fn delete_all(prefix: &str) {
    for client in [admin(), plain()] {
        for i in images_named(&client, prefix).await {
            let _ = client.images().delete(&i.id).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_to_two_clouds_reads_once_verifies_and_then_plans_nothing() {
    let f = Fixture::new("cat-two").await;
    qcow2(f.dir.path(), "v1.qcow2", 64, 2);
    let v2 = qcow2(f.dir.path(), "v2.qcow2", 96, 3);
    let v2xz = xz(&v2);
    f.checksums(&["v1.qcow2", "v2.qcow2.xz"], None);
    let yaml = catalog_yaml(
        &f.name,
        128,
        &[("1", "v1.qcow2".into()), ("2", "v2.qcow2.xz".into())],
        &f.server,
    );
    f.write_catalog(&yaml);
    let clouds = ["local", "local-plain"];

    let plan = f.plan_json(&clouds);
    let mut kinds: Vec<(String, String, String)> = plan
        .iter()
        .map(|a| {
            (
                a["cloud"].as_str().unwrap().into(),
                a["action"].as_str().unwrap().into(),
                a["name"].as_str().unwrap().into(),
            )
        })
        .collect();
    kinds.sort();
    let newest = f.name.clone();
    let older = format!("{} (1)", f.name);
    assert_eq!(
        kinds,
        [
            ("local".into(), "create".into(), newest.clone()),
            ("local".into(), "create".into(), older.clone()),
            ("local-plain".into(), "create".into(), newest.clone()),
            ("local-plain".into(), "create".into(), older.clone()),
        ]
    );
    // --exit-code: 5 while changes are pending.
    let out = osimg(&f.args("plan", &clouds, &["--exit-code"]));
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));

    let out = osimg(&f.args("apply", &clouds, &[]));
    assert!(out.status.success(), "{}", text(&out));
    // One read of each source for both clouds.
    assert_eq!(f.server.requests("v2.qcow2.xz"), 1, "{}", text(&out));
    assert_eq!(
        f.server.bytes_served("v2.qcow2.xz"),
        std::fs::metadata(&v2xz).unwrap().len()
    );
    assert_eq!(f.server.requests("v1.qcow2"), 1);

    let v2_bytes = std::fs::read(&v2).unwrap();
    for client in [admin(), plain()] {
        let images = images_named(&client, &f.name).await;
        let names: Vec<&str> = images.iter().filter_map(|i| i.name.as_deref()).collect();
        assert_eq!(names, [newest.as_str(), older.as_str()]);
        let top = &images[0];
        assert_eq!(
            top.status.as_ref().map(ToString::to_string).as_deref(),
            Some("active")
        );
        assert_eq!(
            top.visibility.as_ref().map(ToString::to_string).as_deref(),
            Some("public")
        );
        assert_eq!(
            top.size_bytes(),
            Some(v2_bytes.len() as u64),
            "stored decompressed"
        );
        assert_eq!(top.custom_property_str("internal_version"), Some("2"));
        assert_eq!(top.custom_property_str("hw_qemu_guest_agent"), Some("True"));
        assert_eq!(
            top.custom_property_str("image_original_user"),
            Some("ubuntu")
        );
        assert_eq!(top.min_ram, Some(128));
        assert_eq!(top.min_disk, Some(1), "raised to the virtual size");
        let mut tags = top.tags.clone();
        tags.sort();
        assert_eq!(tags, ["catalog-test", "managed_by_osism", "os:ubuntu"]);
        // What Glance stored is the decompressed source, byte for byte.
        let data = crate::harness::download_all(&client, top).await.unwrap();
        assert!(data == v2_bytes, "the stored data differs from the source");
    }

    assert!(
        f.plan_json(&clouds).is_empty(),
        "an applied catalog plans nothing"
    );
    let out = osimg(&f.args("plan", &clouds, &["--exit-code"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let before: Vec<Option<String>> = images_named(&admin(), &f.name)
        .await
        .into_iter()
        .map(|i| i.updated_at)
        .collect();
    let out = osimg(&f.args("apply", &clouds, &[]));
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("nothing to do"),
        "{}",
        text(&out)
    );
    let after: Vec<Option<String>> = images_named(&admin(), &f.name)
        .await
        .into_iter()
        .map(|i| i.updated_at)
        .collect();
    assert_eq!(before, after, "a second apply wrote nothing");
    delete_all(&f.name).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_definition_updates_in_place_and_a_new_version_rotates_names() {
    let f = Fixture::new("cat-rot").await;
    qcow2(f.dir.path(), "v1.qcow2", 64, 1);
    qcow2(f.dir.path(), "v2.qcow2", 64, 1);
    f.checksums(&["v1.qcow2", "v2.qcow2"], None);
    f.write_catalog(&catalog_yaml(
        &f.name,
        64,
        &[("1", "v1.qcow2".into())],
        &f.server,
    ));
    let out = osimg(&f.args("apply", &["local"], &[]));
    assert!(out.status.success(), "{}", text(&out));
    let first = images_named(&admin(), &f.name).await;
    assert_eq!(first.len(), 1);

    // A property change: an update of the same image, no upload.
    f.write_catalog(&catalog_yaml(
        &f.name,
        512,
        &[("1", "v1.qcow2".into())],
        &f.server,
    ));
    let plan = f.plan_json(&["local"]);
    assert_eq!(plan.len(), 1, "{plan:?}");
    assert_eq!(plan[0]["action"], "update");
    assert_eq!(plan[0]["id"], first[0].id.as_str());
    assert_eq!(plan[0]["changes"][0]["field"], "min_ram");
    assert_eq!(plan[0]["changes"][0]["to"], 512);
    let out = osimg(&f.args("apply", &["local"], &[]));
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(f.server.requests("v1.qcow2"), 1, "no second download");
    let now = images_named(&admin(), &f.name).await;
    assert_eq!(
        (now.len(), now[0].id.as_str(), now[0].min_ram),
        (1, first[0].id.as_str(), Some(512))
    );

    // A new version: created as NAME, the old one renamed NAME (1).
    f.write_catalog(&catalog_yaml(
        &f.name,
        512,
        &[("1", "v1.qcow2".into()), ("2", "v2.qcow2".into())],
        &f.server,
    ));
    let plan = f.plan_json(&["local"]);
    assert_eq!(plan.len(), 1, "{plan:?}");
    assert_eq!(
        (plan[0]["action"].as_str(), plan[0]["name"].as_str()),
        (Some("create"), Some(f.name.as_str()))
    );
    let out = osimg(&f.args("apply", &["local"], &[]));
    assert!(out.status.success(), "{}", text(&out));
    let now = images_named(&admin(), &f.name).await;
    let old = now
        .iter()
        .find(|i| i.id == first[0].id)
        .expect("the old image is kept");
    assert_eq!(
        old.name.as_deref(),
        Some(format!("{} (1)", f.name).as_str())
    );
    assert_eq!(
        old.custom_property_str("os_purpose"),
        Some("oldgeneric"),
        "demoted as openstack-image-manager does"
    );
    let new = now
        .iter()
        .find(|i| i.id != first[0].id)
        .expect("the new image");
    assert_eq!(new.name.as_deref(), Some(f.name.as_str()));
    assert_eq!(new.custom_property_str("internal_version"), Some("2"));
    assert!(f.plan_json(&["local"]).is_empty());
    delete_all(&f.name).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_checksum_or_an_unsafe_image_leaves_nothing_behind() {
    let f = Fixture::new("cat-bad").await;
    qcow2(f.dir.path(), "v1.qcow2", 64, 2);
    // A qcow2 with a backing file: unsafe, refused before any byte is sent.
    let base = f.path("base.qcow2");
    qemu_img(&["create", "-f", "qcow2", base.to_str().unwrap(), "64M"]);
    qemu_img(&[
        "create",
        "-f",
        "qcow2",
        "-F",
        "qcow2",
        "-b",
        base.to_str().unwrap(),
        f.path("v2.qcow2").to_str().unwrap(),
    ]);
    f.checksums(&["v1.qcow2", "v2.qcow2"], Some("v1.qcow2"));
    let mut yaml = catalog_yaml(&f.name, 64, &[("1", "v1.qcow2".into())], &f.server);
    let second = yaml
        .replace(
            &format!("name: {}", f.name),
            &format!("name: {}-unsafe", f.name),
        )
        .replace("v1.qcow2", "v2.qcow2");
    yaml.push_str(second.trim_start_matches("images:\n"));
    f.write_catalog(&yaml);
    let out = osimg(&f.args("apply", &["local", "local-plain"], &[]));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("mismatch") || err.contains("checksum"),
        "{}",
        text(&out)
    );
    assert!(
        err.contains("unsafe") && err.contains("backing"),
        "{}",
        text(&out)
    );
    assert_nothing_left(&f.name).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_apply_leaves_nothing_visible_and_the_next_one_converges() {
    let (f, mut child) = slow_apply("cat-kill", 256, 160, 16 << 20, &["local"], 20 << 20).await;
    // Killed (SIGKILL: no cleanup at all) once the upload is under way.
    child.kill().unwrap();
    child.wait().unwrap();
    let left = images_named(&admin(), &f.name).await;
    assert_eq!(left.len(), 1, "the incoming image is there");
    assert_ne!(
        left[0].name.as_deref(),
        Some(f.name.as_str()),
        "never under its catalog name"
    );
    assert_eq!(
        left[0]
            .visibility
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some("private")
    );
    assert_eq!(left[0].os_hidden, Some(true));

    f.server.set_rate("big.qcow2", None);
    let plan = f.plan_json(&["local"]);
    let kinds: Vec<&str> = plan.iter().filter_map(|a| a["action"].as_str()).collect();
    assert_eq!(kinds, ["cleanup", "create"], "{plan:?}");
    let out = osimg(&f.args("apply", &["local"], &[]));
    assert!(out.status.success(), "{}", text(&out));
    let now = images_named(&admin(), &f.name).await;
    assert_eq!(now.len(), 1, "exactly one image per version");
    assert_eq!(now[0].name.as_deref(), Some(f.name.as_str()));
    assert!(f.plan_json(&["local"]).is_empty());
    delete_all(&f.name).await;
}

/// A catalog of one `big.qcow2` version served at `rate` bytes/s, and `osimg catalog apply`
/// to `clouds` started on it, returned once `started` bytes of it were served.
async fn slow_apply(
    prefix: &str,
    virtual_mib: u32,
    data_mib: u32,
    rate: u64,
    clouds: &[&str],
    started: u64,
) -> (Fixture, std::process::Child) {
    let f = big_fixture(prefix, virtual_mib, data_mib, rate).await;
    let child = osimg_command(&clouds_yaml(), &f.args("apply", clouds, &[]))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while f.server.bytes_served("big.qcow2") < started {
        assert!(Instant::now() < deadline, "the upload never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (f, child)
}

#[test]
fn bad_catalogs_are_refused_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.yml"),
        "images:\n  - name: x\n    enable: maybe\n",
    )
    .unwrap();
    // The cloud does not exist: the catalog is checked first, so the error is the catalog's.
    let out = Command::new(env!("CARGO_BIN_EXE_osimg"))
        .args([
            "catalog",
            "plan",
            "--images",
            dir.path().to_str().unwrap(),
            "--cloud",
            "no-such-cloud",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.yml:3:13: images.0.enable: 'maybe' is not a bool."),
        "{}",
        text(&out)
    );
    assert!(!err.contains("no-such-cloud"), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_download_is_verified_before_publishing_and_refuses_compressed_sources() {
    let f = Fixture::new("cat-wd").await;
    qcow2(f.dir.path(), "v1.qcow2", 64, 2);
    let v2 = qcow2(f.dir.path(), "v2.qcow2", 64, 2);
    xz(&v2);
    f.checksums(&["v1.qcow2", "v2.qcow2.xz"], None);
    f.write_catalog(&catalog_yaml(
        &f.name,
        64,
        &[("1", "v1.qcow2".into())],
        &f.server,
    ));
    let clouds = ["local", "local-plain"];
    let out = osimg(&f.args("apply", &clouds, &["--import", "web-download"]));
    assert!(out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    // local hashes with sha512: read back; local-plain with sha256, the publisher's: compared.
    assert!(
        err.contains("local: ") && err.contains("reading the image back"),
        "{}",
        text(&out)
    );
    assert!(
        err.contains("local-plain: ") && err.contains("verified without a read-back"),
        "{}",
        text(&out)
    );
    for client in [admin(), plain()] {
        let images = images_named(&client, &f.name).await;
        assert_eq!(images.len(), 1);
        assert_eq!(images[0].name.as_deref(), Some(f.name.as_str()));
    }
    assert!(f.plan_json(&clouds).is_empty());

    // A compressed source: refused before any import, nothing left.
    let other = format!("{}-xz", f.name);
    let yaml = catalog_yaml(&other, 64, &[("1", "v2.qcow2.xz".into())], &f.server);
    std::fs::write(f.images.join("catalog.yml"), yaml).unwrap();
    let out = osimg(&f.args("apply", &["local"], &["--import", "web-download"]));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("xz-compressed"),
        "{}",
        text(&out)
    );
    assert!(images_named(&admin(), &other).await.is_empty());
    delete_all(&f.name).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_during_an_apply_deletes_the_incoming_images_and_exits_130() {
    let (f, child) = slow_apply(
        "cat-int",
        128,
        96,
        8 << 20,
        &["local", "local-plain"],
        8 << 20,
    )
    .await;
    // Both incoming images exist now; SIGINT as Ctrl-C sends it.
    assert_eq!(images_named(&admin(), &f.name).await.len(), 1);
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert_nothing_left(&f.name).await;
}

/// A catalog of one version, `big.qcow2` (`data_mib` of random data in `virtual_mib`),
/// served at `rate` bytes/s.
async fn big_fixture(prefix: &str, virtual_mib: u32, data_mib: u32, rate: u64) -> Fixture {
    let f = Fixture::new(prefix).await;
    qcow2(f.dir.path(), "big.qcow2", virtual_mib, data_mib);
    f.checksums(&["big.qcow2"], None);
    f.write_catalog(&catalog_yaml(
        &f.name,
        64,
        &[("1", "big.qcow2".into())],
        &f.server,
    ));
    f.server.set_rate("big.qcow2", Some(rate));
    f
}

/// A shell word for `script -c`: `s` in single quotes.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_is_a_bar_per_upload_on_a_terminal_and_plain_lines_otherwise() {
    // About three seconds of upload: bars are drawn at most 20 times a second.
    let f = big_fixture("cat-bar", 64, 24, 8 << 20).await;

    // On a terminal: osimg under a pseudo-terminal of script(1) (util-linux), whose
    // output is everything osimg drew there.
    let mut cmd = vec![sh_quote(env!("CARGO_BIN_EXE_osimg"))];
    cmd.extend(
        f.args("apply", &["local"], &["--parallel", "1"])
            .iter()
            .map(|a| sh_quote(a)),
    );
    let out = Command::new("script")
        .args(["-qefc", &cmd.join(" "), "/dev/null"])
        .env("OS_CLIENT_CONFIG_FILE", clouds_yaml())
        .env("XDG_CACHE_HOME", env!("CARGO_TARGET_TMPDIR"))
        .env("TERM", "xterm")
        .env("COLUMNS", "120")
        .stdin(Stdio::null())
        .output()
        .expect("script(1) runs (util-linux: bsdutils on Debian)");
    let tty = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", text(&out));
    let bar = format!("local: {}", f.name);
    // A bar: the label, the bar itself, bytes of the total and a rate, redrawn in place.
    let frames: Vec<&str> = tty
        .split(['\r', '\n'])
        .filter(|l| l.contains(&bar) && l.contains("] ") && l.contains("MiB/s"))
        .collect();
    assert!(frames.len() >= 2, "no bar redrawn: {tty:?}");
    assert!(
        frames.iter().any(|l| l.contains("=>")),
        "a bar part-way: {frames:?}"
    );
    assert!(
        tty.contains("\x1b["),
        "cursor control on a terminal: {tty:?}"
    );
    assert!(tty.contains("applied: 1 create; failed: 0"), "{tty:?}");

    // Otherwise: one line per event and no control sequence at all.
    let out = osimg(&f.args("apply", &["local-plain"], &[]));
    assert!(out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains('\x1b') && !err.contains('\r'), "{err:?}");
    for line in [
        format!("local-plain: create {}...", f.name),
        format!("local-plain: {}: verified (sha256), publishing", f.name),
        format!("local-plain: create {}: done", f.name),
        "applied: 1 create; failed: 0".to_string(),
    ] {
        assert!(err.lines().any(|l| l == line), "no line {line:?} in {err}");
    }
    delete_all(&f.name).await;
}
