//! Live tests of `osimg cached image ...`, `osimg image stores list`, `osimg image delete
//! --store` and `osimg image location ...` against the stack (and its plain Glance).

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use openstack_images::{Client, DataSource, ImageStatus, ImportMethod};
use serde_json::Value;

use crate::cache::{CACHE, wait_cache};
use crate::harness::{
    Cleanup, admin, clouds_yaml, empty_image, has_api_2_18, has_locations_api, image_with_data,
    patterned, service_role_is_enough,
};

/// Runs `osimg` against cloud `cloud` of the stack's clouds.yaml.
fn osimg(cloud: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_osimg"))
        .args(args)
        .env("OS_CLIENT_CONFIG_FILE", clouds_yaml())
        .env("OS_CLOUD", cloud)
        .output()
        .expect("osimg runs")
}

fn ok(cloud: &str, args: &[&str]) -> String {
    let out = osimg(cloud, args);
    assert!(
        out.status.success(),
        "osimg {args:?} failed ({:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn json(cloud: &str, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend(["-f", "json"]);
    let text = ok(cloud, &a);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("osimg {args:?}: not JSON ({e}): {text}"))
}

/// Runs `osimg` expecting exit status `code`; returns stderr.
fn fails(cloud: &str, code: i32, args: &[&str]) -> String {
    let out = osimg(cloud, args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "osimg {args:?}: {err}");
    err
}

fn row<'a>(rows: &'a Value, id: &str) -> Option<&'a Value> {
    rows.as_array()
        .expect("a JSON list")
        .iter()
        .find(|r| r["ID"] == id)
}

#[tokio::test]
async fn cached_image_list_queue_delete_clear_in_openstack_words() {
    let client = admin();
    let _cache = CACHE.lock().await;
    let mut cleanup = Cleanup(vec![]);
    let data = patterned(3_001, 251);
    let image = image_with_data(&client, &mut cleanup, "cli-cache", DataSource::bytes(data)).await;
    let name = image.name.clone().unwrap();

    ok("local", &["cached", "image", "queue", &name]);
    wait_cache(&client, &image.id, true).await;
    let rows = json("local", &["cached", "image", "list"]);
    let r = row(&rows, &image.id).unwrap_or_else(|| panic!("{rows}"));
    assert_eq!(r["State"], "cached");
    assert_eq!(r["Size"], 3_001);
    assert_eq!(r["Hits"], 0);
    // Python's utcfromtimestamp().isoformat(), as openstack prints it.
    let accessed = r["Last Accessed (UTC)"].as_str().expect("a time");
    assert!(
        accessed.len() >= 19 && accessed.as_bytes()[10] == b'T' && !accessed.ends_with('Z'),
        "{accessed}"
    );
    let table = ok("local", &["cached", "image", "list"]);
    for header in [
        "ID",
        "State",
        "Last Accessed (UTC)",
        "Last Modified (UTC)",
        "Size",
        "Hits",
    ] {
        assert!(table.contains(header), "{table}");
    }

    ok("local", &["cached", "image", "delete", &image.id]);
    wait_cache(&client, &image.id, false).await;
    ok("local", &["cached", "image", "queue", &image.id]);
    wait_cache(&client, &image.id, true).await;
    ok("local", &["cached", "image", "clear", "--queue"]);
    wait_cache(&client, &image.id, true).await;
    ok("local", &["cached", "image", "clear", "--cache"]);
    wait_cache(&client, &image.id, false).await;
    ok("local", &["cached", "image", "clear"]);
    fails(
        "local",
        2,
        &["cached", "image", "clear", "--cache", "--queue"],
    );
    if has_api_2_18() {
        let pruned = json("local", &["cached", "image", "prune"]);
        assert_eq!(pruned["total_files_pruned"], 0, "{pruned}");
        ok("local", &["cached", "image", "clean"]);
    } else {
        // Clean and prune (2.18) came with 2026.2.
        for cmd in ["prune", "clean"] {
            let err = fails("local", 1, &["cached", "image", cmd]);
            assert!(
                err.contains("does not offer image cache maintenance (clean, prune)"),
                "{err}"
            );
        }
    }

    // Each failure is reported as openstack words it, and the count at the end.
    let err = fails(
        "local",
        1,
        &["cached", "image", "queue", "no-such-image", &image.id],
    );
    assert!(
        err.contains("Failed to queue image with name or ID 'no-such-image'"),
        "{err}"
    );
    assert!(err.contains("Failed to queue 1 of 2 images"), "{err}");
    ok("local", &["cached", "image", "clear"]);

    // A cloud without the cache says so.
    let err = fails("local-plain", 1, &["cached", "image", "list"]);
    assert!(
        err.contains("does not offer the image cache API: the image cache is not enabled"),
        "{err}"
    );
}

#[tokio::test]
async fn image_stores_list_and_delete_from_one_store() {
    let rows = json("local", &["image", "stores", "list"]);
    let ids: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ID"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["fs", "fs2", "web"]);
    assert_eq!(row(&rows, "fs").unwrap()["Default"], true);
    let detail = json("local", &["image", "stores", "list", "--detail"]);
    let fs2 = row(&detail, "fs2").unwrap();
    assert_eq!(fs2["Type"], "file");
    assert!(fs2["Properties"]["data_dir"].is_string(), "{fs2}");
    assert_eq!(row(&detail, "web").unwrap()["Type"], "http");
    let err = fails("local-plain", 1, &["image", "stores", "list"]);
    assert!(err.contains("does not offer multiple stores"), "{err}");

    let client = admin();
    let mut cleanup = Cleanup(vec![]);
    let image = image_with_data(
        &client,
        &mut cleanup,
        "cli-store",
        DataSource::bytes(&b"two stores"[..]),
    )
    .await;
    client
        .images()
        .import(&image.id, ImportMethod::CopyImage)
        .stores(["fs2"])
        .send()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = client.images().get(&image.id).await.unwrap();
        let busy = now.extra.contains_key("os_glance_import_task");
        let mut stores: Vec<&str> = now.stores.as_deref().unwrap_or("").split(',').collect();
        stores.sort_unstable();
        if stores == ["fs", "fs2"] && !busy {
            break;
        }
        assert!(Instant::now() < deadline, "copy never finished: {now:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    ok("local", &["image", "delete", "--store", "fs", &image.id]);
    let now = client.images().get(&image.id).await.unwrap();
    assert_eq!(now.stores.as_deref(), Some("fs2"));
    // The last copy cannot go: reported, exit 1, and the image is still there.
    let err = fails(
        "local",
        1,
        &["image", "delete", "--store", "fs2", &image.id],
    );
    assert!(
        err.contains("1 of 1 images failed to delete from store fs2"),
        "{err}"
    );
    assert_eq!(
        client.images().get(&image.id).await.unwrap().status,
        Some(ImageStatus::Active)
    );
}

#[tokio::test]
async fn image_location_add_and_list_as_the_service_user() {
    static BODY: &[u8] = b"location data for the cli";
    let (url, _hits) = crate::data::serve_bytes(BODY).await;
    let service = Client::from_cloud("local-service").unwrap();
    let mut cleanup = Cleanup(vec![]);
    let image = empty_image(&service, &mut cleanup, "cli-location").await;
    let hash: String = {
        use sha2::Digest;
        sha2::Sha512::digest(BODY)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    if !has_locations_api() {
        // Before 2024.2 (API 2.17) osimg says so, and the image stays queued.
        let err = fails(
            "local-service",
            1,
            &[
                "image",
                "location",
                "add",
                &image.id,
                &url,
                "--hash-algo",
                "sha512",
                "--hash-value",
                &hash,
            ],
        );
        assert!(err.contains("does not offer the locations API"), "{err}");
        let err = fails(
            "local-service",
            1,
            &["image", "location", "list", &image.id],
        );
        assert!(err.contains("does not offer the locations API"), "{err}");
        let now = service.images().get(&image.id).await.unwrap();
        assert_eq!(now.status, Some(ImageStatus::Queued), "{now:?}");
        return;
    }
    ok(
        "local-service",
        &[
            "image",
            "location",
            "add",
            &image.id,
            &url,
            "--hash-algo",
            "sha512",
            "--hash-value",
            &hash,
        ],
    );
    service
        .images()
        .wait_for_status(&image.id, &[ImageStatus::Active], Duration::from_secs(60))
        .await
        .expect("active");
    if service_role_is_enough() {
        let rows = json("local-service", &["image", "location", "list", &image.id]);
        assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
        assert_eq!(rows[0]["URL"], url.as_str());
        assert_eq!(rows[0]["Store"], "web");
    } else {
        // 2025.2: listing needs a service token's roles: the server's 403, exit 1.
        let err = fails(
            "local-service",
            1,
            &["image", "location", "list", &image.id],
        );
        assert!(err.contains("not authorized"), "{err}");
    }
    fails(
        "local-service",
        2,
        &[
            "image",
            "location",
            "add",
            &image.id,
            &url,
            "--hash-algo",
            "sha512",
        ],
    );
}

#[tokio::test]
async fn image_save_prefer_reads_the_named_store() {
    let client = admin();
    let images = client.images();
    let mut cleanup = Cleanup(vec![]);
    let data = patterned(20_011, 239);
    let image = image_with_data(
        &client,
        &mut cleanup,
        "cli-prefer",
        DataSource::bytes(data.clone()),
    )
    .await;
    images
        .import(&image.id, ImportMethod::CopyImage)
        .stores(["fs2"])
        .send()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    if !has_api_2_18() {
        // No `?prefer=` before Glance 33 (2026.2): osimg says so and writes nothing.
        loop {
            let now = images.get(&image.id).await.unwrap();
            let busy = now.extra.contains_key("os_glance_import_task");
            if now.stores.as_deref().is_some_and(|s| s.contains("fs2")) && !busy {
                break;
            }
            assert!(Instant::now() < deadline, "copy never finished: {now:?}");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("prefer.raw");
        let err = fails(
            "local",
            1,
            &[
                "image",
                "save",
                &image.id,
                "--file",
                file.to_str().unwrap(),
                "--prefer",
                "fs2",
            ],
        );
        assert!(err.contains("does not offer preferred stores"), "{err}");
        assert!(!file.exists(), "nothing is written");
        return;
    }
    let locations = loop {
        let locations = images.locations(&image.id).await.unwrap();
        let busy = images
            .get(&image.id)
            .await
            .unwrap()
            .extra
            .contains_key("os_glance_import_task");
        if locations.len() == 2 && !busy {
            break locations;
        }
        assert!(Instant::now() < deadline, "copy never finished");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    // Spoil the fs copy on disk: a save from it fails verification, one from fs2 does not.
    let fs = locations.iter().find(|l| l.store() == Some("fs")).unwrap();
    let mut spoiled = data.clone();
    spoiled[7] ^= 0x55;
    std::fs::write(fs.url.strip_prefix("file://").unwrap(), &spoiled).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.raw");
    let good_arg = good.to_str().unwrap();
    ok(
        "local",
        &[
            "image", "save", &image.id, "--file", good_arg, "--prefer", "fs2",
        ],
    );
    assert_eq!(std::fs::read(&good).unwrap(), data);
    let bad = dir.path().join("bad.raw");
    let err = fails(
        "local",
        1,
        &[
            "image",
            "save",
            &image.id,
            "--file",
            bad.to_str().unwrap(),
            "--prefer",
            "fs",
        ],
    );
    assert!(err.contains("mismatch"), "{err}");
    assert!(!bad.exists(), "nothing unverified is kept");
    // A cloud without multiple stores is told so.
    let plain = Client::from_cloud("local-plain").unwrap();
    let mut created = Cleanup(vec![]);
    let other = image_with_data(
        &plain,
        &mut created,
        "cli-prefer-plain",
        DataSource::bytes(&b"x"[..]),
    )
    .await;
    let _plain_cleanup = crate::cache::PlainCleanup(std::mem::take(&mut created.0));
    let err = fails(
        "local-plain",
        1,
        &[
            "image", "save", &other.id, "--file", good_arg, "--prefer", "fs",
        ],
    );
    assert!(err.contains("does not offer preferred stores"), "{err}");
}
