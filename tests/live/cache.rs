//! The image cache API against the stack's Glance (`image_cache_dir` set, the default
//! `centralized_db` driver), and feature discovery against the second Glance of cloud
//! `local-plain` (one store, no cache).

use std::time::{Duration, Instant};

use openstack_images::{CacheClear, Client, DataSource, Error, ImageFeature};

use crate::harness::{
    Cleanup, admin, cloud, empty_image, has_api_2_18, has_locations_api, image_with_data,
    patterned, release, service_role_is_enough,
};
use crate::proxy::{Fault, Proxy};

/// The cache is one per Glance node: tests that queue or clear take this first, so that
/// one's `clear` does not empty what another waits for.
pub static CACHE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Waits until `id` is in the node's cache (`cached`) or is not; returns its entry.
pub async fn wait_cache(
    client: &Client,
    id: &str,
    cached: bool,
) -> Option<openstack_images::CachedImage> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let state = client.images().cache_state().await.expect("cache state");
        let found = state.cached.iter().find(|c| c.image_id == id).cloned();
        if found.is_some() == cached {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "image {id} cached={cached} never happened: {state:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn cache_queue_list_nodes_delete_clear_prune_clean() {
    let client = admin();
    let images = client.images();
    let features = images.features().await.expect("features");
    assert_eq!(features.offers(ImageFeature::Cache), Some(true));
    // Clean and prune (2.18) came with 2026.2.
    assert_eq!(
        features.offers(ImageFeature::CacheMaintenance),
        Some(has_api_2_18())
    );
    let _cache = CACHE.lock().await;
    let mut cleanup = Cleanup(vec![]);
    let data = patterned(70_001, 251);
    let image = image_with_data(
        &client,
        &mut cleanup,
        "cache",
        DataSource::bytes(data.clone()),
    )
    .await;

    images.cache_queue(&image.id).await.expect("queue");
    let cached = wait_cache(&client, &image.id, true).await.unwrap();
    assert_eq!(cached.size, Some(data.len() as u64));
    assert_eq!(cached.hits, Some(0));
    let accessed = cached
        .last_accessed_time()
        .expect("last_accessed is a time");
    let age = std::time::SystemTime::now()
        .duration_since(accessed)
        .unwrap_or_default();
    assert!(age < Duration::from_secs(300), "cached {age:?} ago");

    // centralized_db knows which node holds it: this one (worker_self_reference_url).
    // The nodes API came with 2.18 (2026.2).
    if has_api_2_18() {
        let nodes = images.cache_nodes(&image.id).await.expect("cache nodes");
        let base = client
            .endpoint(openstack_images::ServiceType::Image)
            .await
            .unwrap();
        let node = base.as_str().trim_end_matches('/').trim_end_matches("/v2");
        assert_eq!(nodes, [node]);
    } else {
        assert_unsupported(
            &images.cache_nodes(&image.id).await.unwrap_err(),
            ImageFeature::CacheNodes,
        );
    }

    // Clearing the queue leaves what is cached.
    images
        .cache_clear(CacheClear::Queued)
        .await
        .expect("clear queue");
    wait_cache(&client, &image.id, true).await;
    if has_api_2_18() {
        // Under its size limit (10 GiB by default), prune removes nothing; clean succeeds.
        let pruned = images.cache_prune().await.expect("prune");
        assert_eq!(pruned.total_files_pruned, 0, "{pruned:?}");
        images.cache_clean().await.expect("clean");
    } else {
        assert_unsupported(
            &images.cache_prune().await.unwrap_err(),
            ImageFeature::CacheMaintenance,
        );
        assert_unsupported(
            &images.cache_clean().await.unwrap_err(),
            ImageFeature::CacheMaintenance,
        );
    }
    wait_cache(&client, &image.id, true).await;

    images.cache_delete(&image.id).await.expect("delete");
    wait_cache(&client, &image.id, false).await;

    images.cache_queue(&image.id).await.expect("queue again");
    wait_cache(&client, &image.id, true).await;
    images
        .cache_clear(CacheClear::Cached)
        .await
        .expect("clear cache");
    wait_cache(&client, &image.id, false).await;
    images
        .cache_clear(CacheClear::All)
        .await
        .expect("clear all");
    let state = images.cache_state().await.unwrap();
    assert!(
        state.cached.is_empty() && state.queued.is_empty(),
        "{state:?}"
    );

    // Only active images can be queued: the server's 400 comes through as it is.
    let queued = empty_image(&client, &mut cleanup, "cache-queued").await;
    let err = images.cache_queue(&queued.id).await.unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    // The cache API is the admin's (policy `manage_image_cache`).
    let demo = Client::from_cloud("local-demo").unwrap();
    let err = demo.images().cache_state().await.unwrap_err();
    assert_eq!(err.status(), Some(403), "{err}");
}

/// Deletes images of the plain Glance (its own database: [`Cleanup`] asks the main one)
/// when dropped, whether the test passed or not.
pub struct PlainCleanup(pub Vec<String>);

impl Drop for PlainCleanup {
    fn drop(&mut self) {
        let ids = std::mem::take(&mut self.0);
        // As harness::Cleanup: a fresh client on a fresh runtime, the test's being blocked.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the cleanup");
            rt.block_on(async {
                let plain = Client::from_cloud("local-plain").expect("cloud local-plain");
                plain.images().delete_many(ids, 4).await;
            });
        })
        .join();
    }
}

/// A client of cloud `local-plain` (the second Glance) whose image endpoint is `proxy`
/// at `path` (`""`: the root, so the client reads the version document there).
fn plain_through(proxy: &Proxy, path: &str) -> Client {
    let cloud = cloud("local-plain").image_endpoint_override(proxy.url(path));
    Client::builder().cloud(cloud).build().unwrap()
}

async fn plain_proxy() -> Proxy {
    let plain = cloud("local-plain");
    let url = url::Url::parse(plain.image_endpoint_override.as_deref().unwrap()).unwrap();
    Proxy::start(&url).await
}

fn assert_unsupported(e: &Error, feature: ImageFeature) {
    match e {
        Error::Unsupported { feature: f, reason } => {
            assert_eq!(*f, feature.name(), "{e}");
            assert!(!reason.is_empty());
        }
        other => panic!("expected Unsupported({feature:?}), got {other}"),
    }
}

#[tokio::test]
async fn a_cloud_without_cache_or_stores_is_told_so_without_a_request() {
    let proxy = plain_proxy().await;
    let client = plain_through(&proxy, "");
    let images = client.images();
    let features = images.features().await.expect("features");
    // What Glance lists without image_cache_dir and enabled_backends (2.17 since 2024.2).
    let mut listed = vec![
        (2, 0),
        (2, 1),
        (2, 2),
        (2, 3),
        (2, 4),
        (2, 5),
        (2, 6),
        (2, 7),
        (2, 9),
        (2, 15),
    ];
    if has_locations_api() {
        listed.push((2, 17));
    }
    let listed_text = listed
        .iter()
        .map(|(a, b)| format!("{a}.{b}"))
        .collect::<Vec<_>>()
        .join(", ");
    assert_eq!(features.versions.as_deref(), Some(&listed[..]));
    assert_eq!(
        features.offers(ImageFeature::Locations),
        Some(has_locations_api())
    );
    // Finding the unversioned endpoint read the document: the feature check asked once.
    let roots = proxy.seen().iter().filter(|s| s.target == "/").count();
    assert_eq!(roots, 1, "{:?}", proxy.seen());
    let mut cleanup = Cleanup(vec![]);
    let image = image_with_data(
        &client,
        &mut cleanup,
        "plain",
        DataSource::bytes(&b"plain"[..]),
    )
    .await;
    let _plain_cleanup = PlainCleanup(std::mem::take(&mut cleanup.0));
    let before = proxy.count();

    let e = images.cache_state().await.unwrap_err();
    assert_unsupported(&e, ImageFeature::Cache);
    assert_eq!(
        e.to_string(),
        format!(
            "the cloud does not offer the image cache API: the image cache is not enabled \
             (it lists Image API {listed_text})"
        )
    );
    assert_unsupported(
        &images.cache_queue(&image.id).await.unwrap_err(),
        ImageFeature::Cache,
    );
    assert_unsupported(
        &images.cache_delete(&image.id).await.unwrap_err(),
        ImageFeature::Cache,
    );
    assert_unsupported(
        &images.cache_clear(CacheClear::All).await.unwrap_err(),
        ImageFeature::Cache,
    );
    assert_unsupported(
        &images.cache_nodes(&image.id).await.unwrap_err(),
        ImageFeature::Cache,
    );
    assert_unsupported(
        &images.cache_clean().await.unwrap_err(),
        ImageFeature::CacheMaintenance,
    );
    assert_unsupported(
        &images.cache_prune().await.unwrap_err(),
        ImageFeature::CacheMaintenance,
    );
    assert_unsupported(
        &images.stores_info().await.unwrap_err(),
        ImageFeature::MultipleStores,
    );
    assert_unsupported(
        &images.stores_detail().await.unwrap_err(),
        ImageFeature::StoresDetail,
    );
    assert_unsupported(
        &images.delete_from_store("fs", &image.id).await.unwrap_err(),
        ImageFeature::MultipleStores,
    );
    let prefer = images
        .download(&image.id)
        .image(image.clone())
        .prefer_stores(["fs"])
        .stream()
        .await
        .unwrap_err();
    assert_unsupported(&prefer, ImageFeature::PreferStores);
    if !has_locations_api() {
        assert_unsupported(
            &images.locations(&image.id).await.unwrap_err(),
            ImageFeature::Locations,
        );
    }
    assert_eq!(
        proxy.count(),
        before,
        "no request was sent: {:?}",
        &proxy.seen()[before..]
    );
    if !has_locations_api() {
        return;
    }

    // What this Glance does offer works: its one location (no store: single-store Glance
    // does not name one), listed by the admin. Listing is policy `fetch_image_location`,
    // `rule:service_api`, which let the admin in only from 2026.1 (`role:service or
    // role:admin`; `role:service` before): earlier the admin is refused and the service
    // user lists it.
    let service;
    let images = if release().at_least("2026.1") {
        images
    } else {
        let err = images.locations(&image.id).await.unwrap_err();
        assert_eq!(err.status(), Some(403), "{err}");
        let plain_url = cloud("local-plain").image_endpoint_override.unwrap();
        let config = cloud("local-service").image_endpoint_override(plain_url);
        service = Client::builder().cloud(config).build().unwrap();
        if !service_role_is_enough() {
            let err = service.images().locations(&image.id).await.unwrap_err();
            assert_eq!(err.status(), Some(403), "{err}");
            return;
        }
        service.images()
    };
    let locations = images.locations(&image.id).await.expect("locations");
    assert_eq!(locations.len(), 1, "{locations:?}");
    assert!(locations[0].url.starts_with("file://"), "{locations:?}");
    assert_eq!(locations[0].store(), None);
}

#[tokio::test]
async fn without_a_version_document_the_server_answer_tells() {
    let proxy = plain_proxy().await;
    // The endpoint ends with /v2, so only the feature check asks for the document: the
    // proxy answers it with a 404, as a gateway that serves only /v2 would.
    proxy.on("GET", "", 1, Fault::status(404));
    let client = plain_through(&proxy, "/v2");
    let images = client.images();
    assert_eq!(images.features().await.unwrap().versions, None);
    assert_eq!(proxy.count_of("GET", "/v2/"), 0, "{:?}", proxy.seen());

    // Unknown, so the call is tried; Glance's own 404 says the cache is off.
    let e = images.cache_state().await.unwrap_err();
    assert_unsupported(&e, ImageFeature::Cache);
    assert!(
        e.to_string()
            .contains("Caching via API is not supported at this site"),
        "{e}"
    );
    assert_eq!(proxy.count_of("GET", "/v2/cache"), 1);
    let e = images.stores_info().await.unwrap_err();
    assert_unsupported(&e, ImageFeature::MultipleStores);
    assert!(
        e.to_string().contains("Multi backend is not supported"),
        "{e}"
    );
    // The answer of the document is kept: no second GET of it.
    let roots = proxy
        .seen()
        .iter()
        .filter(|s| s.target == "/" || s.target.is_empty())
        .count();
    assert_eq!(roots, 1, "{:?}", proxy.seen());
}
