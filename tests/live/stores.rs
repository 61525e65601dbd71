//! Stores and locations against the stack's multi-store Glance (`fs`, `fs2`: file stores;
//! `web`: the read-only http store): store details, deleting from one store, the `prefer`
//! store order of downloads, and the locations API as the glance service user.

use std::time::{Duration, Instant};

use openstack_images::{
    Client, DataSource, Error, Image, ImageFeature, ImageStatus, ImportMethod, StoreDetail,
};
use sha2::{Digest, Sha512};

use crate::data::serve_bytes;
use crate::harness::{
    Cleanup, admin, download_all, empty_image, has_api_2_18, has_locations_api, image_with_data,
    patterned, service_role_is_enough,
};

/// `e` is the crate's [`Error::Unsupported`] for `feature`.
fn assert_unsupported(e: &Error, feature: ImageFeature) {
    match e {
        Error::Unsupported { feature: f, .. } => assert_eq!(*f, feature.name(), "{e}"),
        other => panic!("expected Unsupported({feature:?}), got {other}"),
    }
}

fn store<'a>(stores: &'a [StoreDetail], id: &str) -> &'a StoreDetail {
    stores
        .iter()
        .find(|s| s.id == id)
        .unwrap_or_else(|| panic!("no store {id}: {stores:?}"))
}

#[tokio::test]
async fn stores_detail_shows_types_weights_and_data_dirs() {
    let client = admin();
    let stores = client
        .images()
        .stores_detail()
        .await
        .expect("stores detail");
    let mut ids: Vec<&str> = stores.iter().map(|s| s.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["fs", "fs2", "web"]);
    for id in ["fs", "fs2"] {
        let s = store(&stores, id);
        assert_eq!(s.store_type.as_deref(), Some("file"));
        assert_eq!(s.weight, Some(0));
        let dir = s.properties["data_dir"].as_str().expect("data_dir");
        assert!(std::path::Path::new(dir).is_dir(), "{dir}");
    }
    assert!(store(&stores, "fs").default && !store(&stores, "fs2").default);
    let web = store(&stores, "web");
    assert_eq!(web.store_type.as_deref(), Some("http"));
    assert!(web.read_only && web.properties.is_empty(), "{web:?}");
    // Details are for admins and services (policy `stores_info_detail`).
    let demo = Client::from_cloud("local-demo").unwrap();
    let err = demo.images().stores_detail().await.unwrap_err();
    assert_eq!(err.status(), Some(403), "{err}");
}

/// Waits until the image's `stores` is exactly `want` (sorted).
async fn wait_stores(client: &Client, id: &str, want: &[&str]) -> Image {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let image = client.images().get(id).await.unwrap();
        let mut have: Vec<String> = image
            .stores
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        have.sort_unstable();
        // `stores` shows a copy before its import task has finished with the image.
        let busy = ["os_glance_import_task", "os_glance_importing_to_stores"]
            .iter()
            .any(|k| image.extra.get(*k).is_some_and(|v| v != ""));
        if have == want && !busy {
            return image;
        }
        assert!(Instant::now() < deadline, "stores {have:?}, want {want:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn prefer_picks_the_store_and_delete_from_store_keeps_the_image() {
    let client = admin();
    let images = client.images();
    let mut cleanup = Cleanup(vec![]);
    let data = patterned(50_021, 241);
    let image = image_with_data(
        &client,
        &mut cleanup,
        "prefer",
        DataSource::bytes(data.clone()),
    )
    .await;
    images
        .import(&image.id, ImportMethod::CopyImage)
        .stores(["fs2"])
        .send()
        .await
        .expect("copy-image to fs2");
    let image = wait_stores(&client, &image.id, &["fs", "fs2"]).await;
    if !has_api_2_18() {
        // Before Glance 33 (2026.2) there is no `?prefer=`: the crate says so before any
        // request, and deleting from one store (2.10) works all the same.
        let features = images.features().await.unwrap();
        assert_eq!(features.offers(ImageFeature::PreferStores), Some(false));
        let err = images
            .download(&image.id)
            .image(image.clone())
            .prefer_stores(["fs2"])
            .stream()
            .await
            .unwrap_err();
        assert_unsupported(&err, ImageFeature::PreferStores);
        images
            .delete_from_store("fs", &image.id)
            .await
            .expect("delete from fs");
        let image = wait_stores(&client, &image.id, &["fs2"]).await;
        assert_eq!(download_all(&client, &image).await.unwrap(), data);
        let err = images
            .delete_from_store("fs2", &image.id)
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(403), "{err}");
        return;
    }

    // Spoil the copy in fs on disk (same length): which store served a download shows in
    // whether it verifies.
    let locations = images.locations(&image.id).await.expect("locations");
    let fs = locations
        .iter()
        .find(|l| l.store() == Some("fs"))
        .unwrap_or_else(|| panic!("no fs location: {locations:?}"));
    assert!(
        locations.iter().any(|l| l.store() == Some("fs2")),
        "{locations:?}"
    );
    let path = fs.url.strip_prefix("file://").expect("a file URL");
    let mut spoiled = data.clone();
    spoiled[0] ^= 0xff;
    std::fs::write(path, &spoiled).unwrap();

    let from = |stores: &'static [&'static str]| {
        let images = images.clone();
        let image = image.clone();
        async move {
            use futures_util::TryStreamExt;
            let chunks: Vec<bytes::Bytes> = images
                .download(&image.id)
                .image(image.clone())
                .prefer_stores(stores.iter().copied())
                .stream()
                .await?
                .try_collect()
                .await?;
            Ok::<_, Error>(chunks.concat())
        }
    };
    assert_eq!(from(&["fs2"]).await.expect("from fs2"), data);
    let err = from(&["fs"]).await.unwrap_err();
    assert!(matches!(err, Error::Integrity { .. }), "{err}");
    // A store the cloud lacks: Glance refuses the preference (400).
    let err = from(&["nosuch"]).await.unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");

    // Deleting the spoiled copy leaves the image and the good one.
    images
        .delete_from_store("fs", &image.id)
        .await
        .expect("delete from fs");
    let image = wait_stores(&client, &image.id, &["fs2"]).await;
    assert!(!std::path::Path::new(path).exists(), "{path} still there");
    assert_eq!(download_all(&client, &image).await.unwrap(), data);
    // The last copy cannot go (403), nor can a store the cloud lacks (409).
    let err = images
        .delete_from_store("fs2", &image.id)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403), "{err}");
    let err = images
        .delete_from_store("nosuch", &image.id)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(409), "{err}");
}

fn sha512_hex(data: &[u8]) -> String {
    Sha512::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn locations_added_by_the_service_user_activate_the_image() {
    static BODY: &[u8] = b"data behind an http location, served on 127.0.0.1";
    let (url, hits) = serve_bytes(BODY).await;
    // Glance gives the locations API to service users (role `service`).
    let service = Client::from_cloud("local-service").unwrap();
    let images = service.images();
    assert_eq!(
        images
            .features()
            .await
            .unwrap()
            .offers(ImageFeature::Locations),
        Some(has_locations_api())
    );
    let mut cleanup = Cleanup(vec![]);
    let image = empty_image(&service, &mut cleanup, "location").await;
    if !has_locations_api() {
        // Before 2024.2 (API 2.17): said before any request, and nothing was read.
        let err = images
            .add_location(&image.id, url.clone())
            .validation_data("sha512", sha512_hex(BODY))
            .send()
            .await
            .unwrap_err();
        assert_unsupported(&err, ImageFeature::Locations);
        let err = images.locations(&image.id).await.unwrap_err();
        assert_unsupported(&err, ImageFeature::Locations);
        assert_eq!(hits.load(std::sync::atomic::Ordering::Relaxed), 0);
        let now = images.get(&image.id).await.unwrap();
        assert_eq!(now.status, Some(ImageStatus::Queued), "{now:?}");
        return;
    }
    images
        .add_location(&image.id, url.clone())
        .validation_data("sha512", sha512_hex(BODY))
        .send()
        .await
        .expect("add location");
    let active = images
        .wait_for_status(&image.id, &[ImageStatus::Active], Duration::from_secs(60))
        .await
        .expect("the location makes the image active");
    assert_eq!(active.size, Some(BODY.len() as i64));
    assert_eq!(
        active.os_hash_value.as_deref(),
        Some(sha512_hex(BODY).as_str())
    );
    if service_role_is_enough() {
        let locations = images.locations(&image.id).await.expect("locations");
        assert_eq!(locations.len(), 1, "{locations:?}");
        assert_eq!(locations[0].url, url);
        assert_eq!(locations[0].store(), Some("web"));
    } else {
        // 2025.2: listing needs a service token's roles; the server's 403 comes through.
        let err = images.locations(&image.id).await.unwrap_err();
        assert_eq!(err.status(), Some(403), "{err}");
    }
    assert!(hits.load(std::sync::atomic::Ordering::Relaxed) > 0);
    // Glance reads the data from the location for a download.
    assert_eq!(download_all(&service, &active).await.unwrap(), BODY);

    // Only a queued image takes a location (409), and a URL must be one (no request).
    let err = images
        .add_location(&image.id, url.clone())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(409), "{err}");
    let err = images
        .add_location(&image.id, "not a url")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    // A project member may not list locations (policy `fetch_image_location`).
    let demo = Client::from_cloud("local-demo").unwrap();
    let mut demo_cleanup = Cleanup(vec![]);
    let own = empty_image(&demo, &mut demo_cleanup, "location-demo").await;
    let err = demo.images().locations(&own.id).await.unwrap_err();
    assert_eq!(err.status(), Some(403), "{err}");
}

#[tokio::test]
async fn a_location_whose_data_does_not_match_leaves_the_image_queued() {
    static BODY: &[u8] = b"these bytes do not hash to the validation data";
    let (url, hits) = serve_bytes(BODY).await;
    let service = Client::from_cloud("local-service").unwrap();
    let images = service.images();
    let mut cleanup = Cleanup(vec![]);
    let image = empty_image(&service, &mut cleanup, "location-bad").await;
    if !has_locations_api() {
        let err = images
            .add_location(&image.id, url)
            .validation_data("sha512", sha512_hex(b"other bytes"))
            .send()
            .await
            .unwrap_err();
        assert_unsupported(&err, ImageFeature::Locations);
        assert_eq!(hits.load(std::sync::atomic::Ordering::Relaxed), 0);
        return;
    }
    images
        .add_location(&image.id, url)
        .validation_data("sha512", sha512_hex(b"other bytes"))
        .send()
        .await
        .expect("accepted: Glance checks in the background");
    // Glance reads the data, finds the mismatch and reverts: the image stays queued,
    // without a hash (the http location itself stays listed: Glance does not delete
    // from the read-only http store when it reverts).
    let deadline = Instant::now() + Duration::from_secs(60);
    while hits.load(std::sync::atomic::Ordering::Relaxed) == 0 {
        assert!(Instant::now() < deadline, "Glance never read the location");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = images.get(&image.id).await.unwrap();
        let task_done = !now.extra.contains_key("os_glance_import_task");
        if task_done {
            assert_eq!(now.status, Some(ImageStatus::Queued), "{now:?}");
            assert_eq!(now.os_hash_value, None, "{now:?}");
            break;
        }
        assert!(Instant::now() < deadline, "the location task never ended");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
