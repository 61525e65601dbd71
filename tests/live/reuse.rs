//! Reuse instead of re-upload, against the real Glance: an image is found by the
//! `os_hash_value` Glance computed when it stored the data, through the server's own filter.

use openstack_images::{Client, DataSource, ImageListQuery};

use crate::cli::{json, run};
use crate::harness::{Cleanup, admin, cloud, image_with_data, unique};

/// Data no other image holds: the test's unique name, then a pattern.
fn unique_data(name: &str) -> Vec<u8> {
    let mut data = name.as_bytes().to_vec();
    data.extend((0..200_000u32).map(|i| (i % 251) as u8));
    data
}

/// How many images of any visibility the admin sees with this `os_hash_value`.
async fn images_with_hash(client: &Client, hex: &str) -> usize {
    let query = ImageListQuery::new()
        .filter("os_hash_value", hex)
        .all_visibilities();
    client.images().list_all(query).await.unwrap().len()
}

#[tokio::test]
async fn find_by_file_finds_the_image_holding_the_same_bytes_and_only_that() {
    let client = admin();
    let mut cleanup = Cleanup(Vec::new());
    let data = unique_data(&unique("reuse"));
    let image = image_with_data(
        &client,
        &mut cleanup,
        "reuse",
        DataSource::bytes(data.clone()),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let same = dir.path().join("same.raw");
    std::fs::write(&same, &data).unwrap();
    let mut other = data.clone();
    *other.last_mut().unwrap() ^= 1;
    let differs = dir.path().join("differs.raw");
    std::fs::write(&differs, &other).unwrap();

    assert_eq!(client.images().hash_algorithm().await.unwrap(), "sha512");
    let found = client.images().find_by_file(&same).await.unwrap();
    assert_eq!(found.map(|i| i.id), Some(image.id.clone()));
    assert!(
        client
            .images()
            .find_by_file(&differs)
            .await
            .unwrap()
            .is_none()
    );
    let hex = image.os_hash_value.clone().unwrap();
    let by_hash = client
        .images()
        .find_by_hash("SHA512", &hex.to_uppercase())
        .await
        .unwrap();
    assert_eq!(by_hash.map(|i| i.id), Some(image.id.clone()));
    // Another algorithm's digest of the same length is not this image's.
    assert!(
        client
            .images()
            .find_by_hash("sha256", &hex)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        client
            .images()
            .find_by_hash("sha512", "not-hex")
            .await
            .is_err()
    );

    // Visible to the caller only: the demo project does not see admin's private image.
    let demo = Client::builder()
        .cloud(cloud("local-demo"))
        .build()
        .unwrap();
    assert!(demo.images().find_by_file(&same).await.unwrap().is_none());
}

#[tokio::test]
async fn image_create_reuse_existing_shows_the_existing_image_without_uploading() {
    let client = admin();
    let mut cleanup = Cleanup(Vec::new());
    let data = unique_data(&unique("reuse-cli"));
    let image = image_with_data(
        &client,
        &mut cleanup,
        "reuse-cli",
        DataSource::bytes(data.clone()),
    )
    .await;
    let hex = image.os_hash_value.clone().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("disk.raw");
    std::fs::write(&file, &data).unwrap();
    let path = file.to_str().unwrap();

    let out = run(&[
        "image",
        "create",
        "copy-of-it",
        "--file",
        path,
        "--reuse-existing",
        "-f",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["id"], image.id.as_str());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("reused image {}", image.id)), "{err}");
    assert!(err.contains("nothing was uploaded"), "{err}");
    assert_eq!(
        images_with_hash(&client, &hex).await,
        1,
        "no second image was made"
    );

    // A file that is not there yet is uploaded as usual.
    let mut fresh = data.clone();
    fresh[0] ^= 0xff;
    std::fs::write(&file, &fresh).unwrap();
    let name = unique("reuse-cli-new");
    let made = json(&["image", "create", &name, "--file", path, "--reuse-existing"]);
    let id = made["id"].as_str().unwrap().to_owned();
    cleanup.0.push(id.clone());
    assert_ne!(id, image.id);
    assert_eq!(made["name"], name.as_str());
    assert_eq!(made["size"], fresh.len() as u64);

    // --reuse-existing is about a file: without one it is a usage error.
    let out = run(&["image", "create", "x", "--reuse-existing"]);
    assert_eq!(out.status.code(), Some(2));
}
