//! Reliability and hostile input against the real Glance and Keystone, with the faults the
//! real servers cannot be made to produce injected by [`crate::proxy`]: retries and their
//! budget, timeouts, response size caps, pagination loops, corrupt bodies, input rejected
//! before any request, odd characters round-tripping, bulk operations, and no secret in any
//! log line or error.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryStreamExt};
use openstack_images::{
    Client, CloudConfig, DataSource, Error, ImageListQuery, ImagePatch, ImageStatus, RetryPolicy,
    Secret, ServiceType, TransportKind,
};
use serde_json::{Value, json};

use crate::harness::{
    Cleanup, admin, cloud, download_all, empty_image, glance_proxy, glance_proxy_with,
    image_with_data, patterned, raw, stack_secrets, unique,
};
use crate::proxy::{Fault, Proxy};

/// Retries fast enough for tests, with the default budget of 4.
fn fast() -> RetryPolicy {
    RetryPolicy::default()
        .base_delay(Duration::from_millis(20))
        .max_delay(Duration::from_secs(2))
}

/// The error of listing a page of 5 images, which the test has made fail.
async fn first_page_error(client: &Client) -> Error {
    client
        .images()
        .list_page(&ImageListQuery::new().page_size(5))
        .await
        .map(|p| p.items.len())
        .unwrap_err()
}

fn status(err: &Error) -> Option<u16> {
    err.status()
}

// ------------------------------------------------------------------------------------------
// Retries.

#[tokio::test]
async fn get_is_retried_on_503_and_honours_retry_after() {
    let (proxy, client) = glance_proxy(fast()).await;
    let mut cleanup = Cleanup(vec![]);
    let id = empty_image(&admin(), &mut cleanup, "fault-ra").await.id;
    proxy.on("GET", &id, 2, Fault::status_retry_after(503, "1"));
    let started = Instant::now();
    let image = client
        .images()
        .get(&id)
        .await
        .expect("third attempt passes");
    assert_eq!(image.id, id);
    assert_eq!(proxy.count_of("GET", &id), 3, "{:?}", proxy.seen());
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "Retry-After: 1 was honoured twice: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn retry_after_is_capped_by_max_delay_and_429_is_retried() {
    let policy = fast().max_delay(Duration::from_millis(200));
    let (proxy, client) = glance_proxy(policy).await;
    proxy.on(
        "GET",
        "/v2/images?",
        2,
        Fault::status_retry_after(429, "3600"),
    );
    let started = Instant::now();
    client
        .images()
        .list_page(&ImageListQuery::new().page_size(1))
        .await
        .expect("passes after two 429s");
    // Two honoured `Retry-After: 3600` would take two hours; capped, the three requests take
    // seconds even on a loaded machine.
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(proxy.count_of("GET", "/v2/images?"), 3);
}

#[tokio::test]
async fn the_retry_budget_ends_with_the_last_error() {
    let (proxy, client) = glance_proxy(fast().max_retries(2)).await;
    proxy.on("GET", "/v2/images?", usize::MAX, Fault::status(503));
    let err = first_page_error(&client).await;
    assert_eq!(status(&err), Some(503), "{err}");
    assert_eq!(err.request_id(), Some("req-proxy-503"));
    assert!(err.is_retryable());
    assert_eq!(proxy.count(), 3, "1 attempt + 2 retries");

    // RetryPolicy::none: exactly one attempt.
    let (proxy, client) = glance_proxy(RetryPolicy::none()).await;
    proxy.on("GET", "/v2/images?", usize::MAX, Fault::Html(502));
    let err = first_page_error(&client).await;
    assert_eq!(status(&err), Some(502));
    assert_eq!(proxy.count(), 1);
}

#[tokio::test]
async fn idempotent_methods_survive_resets_502_and_504() {
    let admin = admin();
    let mut cleanup = Cleanup(vec![]);
    let id = empty_image(&admin, &mut cleanup, "fault-idem").await.id;
    let (proxy, client) = glance_proxy(fast()).await;

    // GET: reset before and in the middle of the response header.
    proxy.on("GET", &id, 1, Fault::ResetBeforeResponse);
    proxy.on("GET", &id, 1, Fault::ResetMidHeaders);
    client
        .images()
        .get(&id)
        .await
        .expect("GET after two resets");
    assert_eq!(proxy.count_of("GET", &id), 3);
    let faults: Vec<_> = proxy.seen().iter().filter_map(|s| s.fault).collect();
    assert_eq!(faults, ["reset-before-response", "reset-mid-headers"]);

    // PUT of a tag: 504 then 502.
    proxy.on("PUT", "/tags/", 1, Fault::status(504));
    proxy.on("PUT", "/tags/", 1, Fault::Html(502));
    client
        .images()
        .add_tag(&id, "retried tag?#&+%")
        .await
        .expect("tag after 504 and 502");
    assert_eq!(proxy.count_of("PUT", "/tags/"), 3);

    // DELETE: reset after Glance did the work; the retry finds it gone: a 404, which tells
    // the caller the image is not there (what it wanted).
    proxy.on("DELETE", &id, 1, Fault::ResetBeforeResponse);
    let err = client.images().delete(&id).await.unwrap_err();
    assert_eq!(status(&err), Some(404), "{err}");
    assert_eq!(proxy.count_of("DELETE", &id), 2);
    assert!(admin.images().get(&id).await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn a_body_cut_mid_way_is_a_transport_error_and_retried() {
    let admin = admin();
    let mut cleanup = Cleanup(vec![]);
    let id = empty_image(&admin, &mut cleanup, "fault-midbody").await.id;
    let (proxy, client) = glance_proxy(fast()).await;
    proxy.on("GET", &id, 1, Fault::ResetMidBody(40));
    let image = client
        .images()
        .get(&id)
        .await
        .expect("retried after the cut");
    assert_eq!(image.id, id);
    assert_eq!(proxy.count_of("GET", &id), 2);

    let (proxy, client) = glance_proxy(RetryPolicy::none()).await;
    proxy.on("GET", &id, 1, Fault::ResetMidBody(40));
    let err = client.images().get(&id).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport {
                kind: TransportKind::Body,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn create_and_patch_are_never_retried() {
    let admin = admin();
    let mut cleanup = Cleanup(vec![]);
    let (proxy, client) = glance_proxy(fast()).await;

    // The server created the image, then the connection died: retrying would make a second.
    let name = unique("fault-post");
    proxy.on("POST", "/v2/images", 1, Fault::ResetBeforeResponse);
    let err = client.images().create(raw(&name)).await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_eq!(proxy.count_of("POST", "/v2/images"), 1);
    let made = admin
        .images()
        .list_all(ImageListQuery::new().name(&name))
        .await
        .unwrap();
    cleanup.0.extend(made.iter().map(|i| i.id.clone()));
    assert_eq!(made.len(), 1, "created once, not twice");

    proxy.on("POST", "/v2/images", 1, Fault::status(503));
    let err = client.images().create(raw(&name)).await.unwrap_err();
    assert_eq!(status(&err), Some(503));
    assert_eq!(proxy.count_of("POST", "/v2/images"), 2);

    let id = made[0].id.clone();
    proxy.on("PATCH", &id, 1, Fault::status(503));
    let err = client
        .images()
        .update(&id, ImagePatch::new().add("fault_key", "v"))
        .await
        .unwrap_err();
    assert_eq!(status(&err), Some(503));
    assert_eq!(proxy.count_of("PATCH", &id), 1);
}

#[tokio::test]
async fn image_actions_are_retried() {
    let admin = admin();
    let mut cleanup = Cleanup(vec![]);
    let image = image_with_data(
        &admin,
        &mut cleanup,
        "fault-action",
        DataSource::bytes(&b"x"[..]),
    )
    .await;
    let (proxy, client) = glance_proxy(fast()).await;
    proxy.on("POST", "/actions/deactivate", 1, Fault::ResetBeforeResponse);
    client.images().deactivate(&image.id).await.unwrap();
    proxy.on("POST", "/actions/reactivate", 1, Fault::status(503));
    client.images().reactivate(&image.id).await.unwrap();
    assert_eq!(proxy.count_of("POST", "/actions/"), 4);
    let got = admin.images().get(&image.id).await.unwrap();
    assert_eq!(got.status, Some(ImageStatus::Active));
}

#[tokio::test]
async fn uploads_are_never_replayed() {
    let admin = admin();
    let mut cleanup = Cleanup(vec![]);
    let id = empty_image(&admin, &mut cleanup, "fault-upload").await.id;
    let (proxy, client) = glance_proxy(fast()).await;
    for fault in [Fault::status(503), Fault::status(401)] {
        proxy.on("PUT", "/file", 1, fault);
        let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>(
            bytes::Bytes::from_static(b"non-rewindable"),
        )]);
        let err = client
            .images()
            .upload(&id, DataSource::stream(chunks))
            .send()
            .await
            .unwrap_err();
        assert!(matches!(status(&err), Some(503 | 401)), "{err}");
    }
    assert_eq!(proxy.count_of("PUT", "/file"), 2, "one attempt each");
    // The image never got data from a replay.
    let got = admin.images().get(&id).await.unwrap();
    assert_eq!(got.status, Some(ImageStatus::Queued));
    // A 401 on the upload still makes the next request re-authenticate.
    let before = client.auth_count();
    client.images().get(&id).await.unwrap();
    assert_eq!(client.auth_count(), before + 1);
}

// ------------------------------------------------------------------------------------------
// Timeouts.

#[tokio::test]
async fn a_stalled_response_hits_the_request_timeout() {
    let admin = admin();
    let mut cleanup = Cleanup(vec![]);
    let id = empty_image(&admin, &mut cleanup, "fault-stall").await.id;
    let (proxy, client) =
        glance_proxy_with(RetryPolicy::none(), |b| b.timeout(Duration::from_secs(2))).await;
    warm_up(&client, &id).await;
    proxy.on("GET", &id, 1, Fault::Stall(Duration::from_millis(4000)));
    let started = Instant::now();
    let err = client.images().get(&id).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport {
                kind: TransportKind::Timeout,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_millis(3500));

    // With retries, the stall is survived.
    let (proxy, client) = glance_proxy_with(fast(), |b| b.timeout(Duration::from_secs(2))).await;
    warm_up(&client, &id).await;
    let before = proxy.count_of("GET", &id);
    proxy.on("GET", &id, 1, Fault::Stall(Duration::from_millis(4000)));
    client.images().get(&id).await.expect("a later attempt");
    // Two attempts, unless a busy Glance made the second slower than 2 s as well.
    let attempts = proxy.count_of("GET", &id) - before;
    assert!(attempts >= 2, "{:?}", proxy.seen());
}

/// Glance validates a token it has not seen with Keystone (over a second on a busy stack):
/// a first request with a new token, before a 2 s timeout is put to the test.
async fn warm_up(client: &Client, id: &str) {
    for _ in 0..5 {
        if client.images().get(id).await.is_ok() {
            return;
        }
    }
    panic!("Glance does not answer within the timeout");
}

#[tokio::test]
async fn data_transfers_are_exempt_from_the_request_timeout() {
    let admin = admin();
    let mut cleanup = Cleanup(vec![]);
    let data = patterned(200_000, 251);
    let image = image_with_data(
        &admin,
        &mut cleanup,
        "fault-slowdata",
        DataSource::bytes(data.clone()),
    )
    .await;
    let (proxy, client) =
        glance_proxy_with(RetryPolicy::none(), |b| b.timeout(Duration::from_secs(1))).await;
    // The token request is bound by the 1 s timeout too, and a loaded Keystone can take
    // longer: get the token first, within a few tries, so only the download is under test.
    let mut tries = 0;
    while let Err(e) = client.authenticate().await {
        tries += 1;
        assert!(tries < 10, "Keystone never answered within 1 s: {e}");
    }
    proxy.on(
        "GET",
        "/file",
        1,
        Fault::StallMidBody(50_000, Duration::from_millis(2000)),
    );
    let got = download_all(&client, &image)
        .await
        .expect("a slow download is not cut by the 1 s request timeout");
    assert_eq!(got, data);
}

#[tokio::test]
async fn a_stalled_download_hits_the_read_timeout_and_resumes() {
    let admin = admin();
    let mut cleanup = Cleanup(vec![]);
    let data = patterned(200_000, 241);
    let image = image_with_data(
        &admin,
        &mut cleanup,
        "fault-stalldata",
        DataSource::bytes(data.clone()),
    )
    .await;
    // Silent for 12 s mid-body with a 5 s read timeout (wide margins: under load Glance's
    // 4 threads can be slow to answer the resumed request, which the default policy then
    // retries, as it would for any user): without resumes it is a timeout...
    let (proxy, client) = glance_proxy_with(
        RetryPolicy::default().base_delay(Duration::from_millis(100)),
        |b| b.read_timeout(Duration::from_secs(5)),
    )
    .await;
    let stall = Fault::StallMidBody(50_000, Duration::from_millis(12000));
    proxy.on("GET", "/file", 1, stall.clone());
    let started = Instant::now();
    let err = client
        .images()
        .download(&image.id)
        .image(image.clone())
        .max_resumes(0)
        .stream()
        .await
        .unwrap()
        .try_collect::<Vec<bytes::Bytes>>()
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(11500),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(
            err,
            Error::Transport {
                kind: TransportKind::Timeout | TransportKind::Body,
                ..
            }
        ),
        "{err:?}"
    );
    // ... and by default the download resumes after the stall and completes intact.
    proxy.on("GET", "/file", 1, stall);
    let got = download_all(&client, &image)
        .await
        .expect("resumed after the stall");
    assert_eq!(got, data);
}

/// The read timeout is for downloads: an upload gets its answer only after its whole body,
/// so a slow upload must not be cut by it.
#[tokio::test]
async fn a_slow_upload_is_not_cut_by_the_read_timeout() {
    let admin = admin();
    let mut cleanup = Cleanup(vec![]);
    let client = Client::builder()
        .cloud(cloud("local"))
        .read_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let image = empty_image(&client, &mut cleanup, "fault-slowup").await;
    // 12 chunks of 64 KiB, 250 ms apart: 3 s of uploading.
    let chunks = futures_util::stream::iter(0..12u8).then(|i| async move {
        tokio::time::sleep(Duration::from_millis(250)).await;
        Ok::<_, std::io::Error>(bytes::Bytes::from(vec![i; 65536]))
    });
    let started = Instant::now();
    client
        .images()
        .upload(&image.id, DataSource::stream(chunks).size(12 * 65536))
        .send()
        .await
        .expect("a 3 s upload with a 1 s read timeout");
    assert!(started.elapsed() >= Duration::from_secs(3));
    let got = admin.images().get(&image.id).await.unwrap();
    assert_eq!(got.size, Some(12 * 65536));
}

#[tokio::test]
async fn an_unreachable_endpoint_fails_fast_as_a_connect_error() {
    // A port nobody listens on: bind, note the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::builder()
        .cloud(cloud("local").image_endpoint_override(format!("http://127.0.0.1:{port}/v2")))
        .retry(fast().max_retries(2))
        .connect_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client.images().get("x").await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport {
                kind: TransportKind::Connect,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

// ------------------------------------------------------------------------------------------
// Limits and bad bodies.

#[tokio::test]
async fn an_endless_chunked_body_stops_at_the_cap() {
    let (proxy, client) =
        glance_proxy_with(RetryPolicy::none(), |b| b.max_json_bytes(256 * 1024)).await;
    proxy.on("GET", "/v2/images?", 1, Fault::Endless(200));
    let err = first_page_error(&client).await;
    assert!(
        matches!(err, Error::ResponseTooLarge { limit, .. } if limit == 256 * 1024),
        "{err:?}"
    );
    // An error status with an endless body: its message is read up to 64 KiB only.
    proxy.on("GET", "/v2/images?", 1, Fault::Endless(503));
    let err = first_page_error(&client).await;
    assert_eq!(status(&err), Some(503));
    assert!(err.to_string().len() < 2000, "the message is truncated");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sent = proxy.endless_bytes_sent();
    assert!(
        sent < 64 << 20,
        "the client stopped reading: {sent} bytes sent"
    );
}

#[tokio::test]
async fn truncated_and_corrupt_json_are_decode_errors() {
    let admin = admin();
    let mut cleanup = Cleanup(vec![]);
    let id = empty_image(&admin, &mut cleanup, "fault-json").await.id;
    let (proxy, client) = glance_proxy(fast()).await;

    proxy.on("GET", &id, 1, Fault::TruncateBody);
    let err = client.images().get(&id).await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert_eq!(
        proxy.count_of("GET", &id),
        1,
        "a decode error is not retried"
    );

    proxy.on(
        "GET",
        &id,
        1,
        Fault::ReplaceBody(b"{\"id\": \"x\", \"name\": tru"),
    );
    let err = client.images().get(&id).await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");

    // A page whose fourth image has a numeric id: the error names that image.
    proxy.on(
        "GET",
        "/v2/images?",
        1,
        Fault::RewriteJson(Arc::new(|v: &mut Value| {
            v["images"] = json!([{"id": "a"}, {"id": "b"}, {"id": "c"}, {"id": 4}]);
        })),
    );
    match client
        .images()
        .list_page(&ImageListQuery::new().page_size(4))
        .await
        .map(|p| p.items.len())
        .unwrap_err()
    {
        Error::Decode { path, message, .. } => {
            assert_eq!(path, "images[3].id");
            assert!(message.contains("expected a string"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_html_error_page_is_an_api_error_with_a_clean_message() {
    let (proxy, client) = glance_proxy(fast()).await;
    proxy.on("GET", "/v2/images/", 1, Fault::Html(500));
    let err = client
        .images()
        .get("00000000-0000-0000-0000-000000000000")
        .await
        .unwrap_err();
    match &err {
        Error::Api(a) => {
            assert_eq!(a.status, 500);
            assert!(!a.message.contains('<'), "{}", a.message);
            assert!(a.message.contains("temporarily unable"), "{}", a.message);
            assert!(a.message.contains('&') && !a.message.contains("&amp;"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(proxy.count(), 1, "500 is not retried");
}

#[tokio::test]
async fn a_repeating_marker_stops_pagination() {
    let admin = admin();
    let mut cleanup = Cleanup(vec![]);
    let tag = unique("fault-marker");
    let mut ids = Vec::new();
    for _ in 0..3 {
        let id = empty_image(&admin, &mut cleanup, "fault-marker").await.id;
        admin.images().add_tag(&id, &tag).await.unwrap();
        ids.push(id);
    }
    let (proxy, client) = glance_proxy(fast()).await;
    // Every page says "next: after the first image of the listing", whatever was asked.
    let first = admin
        .images()
        .list_page(&ImageListQuery::new().tag(&tag).page_size(1))
        .await
        .unwrap()
        .items[0]
        .id
        .clone();
    proxy.on(
        "GET",
        "/v2/images?",
        usize::MAX,
        Fault::RewriteJson(Arc::new(move |v: &mut Value| {
            v["next"] = json!(format!("/v2/images?limit=1&marker={first}"));
        })),
    );
    let pages: Vec<_> = client
        .images()
        .pages(ImageListQuery::new().tag(&tag).page_size(1))
        .collect()
        .await;
    match pages.last() {
        Some(Err(Error::Protocol(m))) => assert!(m.contains("again"), "{m}"),
        other => panic!("expected a protocol error, got {other:?}"),
    }
    assert!(pages.len() <= 3, "stopped: {} pages", pages.len());
    assert!(proxy.count() <= 3);

    // Without the fault the same listing ends normally with the 3 images.
    proxy.clear();
    let all = client
        .images()
        .list_all(ImageListQuery::new().tag(&tag).page_size(1))
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
}

#[tokio::test]
async fn a_flipped_byte_of_image_data_is_detected() {
    let admin = admin();
    let mut cleanup = Cleanup(vec![]);
    let image = image_with_data(
        &admin,
        &mut cleanup,
        "fault-flip",
        DataSource::bytes(vec![7u8; 70_000]),
    )
    .await;
    let (proxy, client) = glance_proxy(fast()).await;
    proxy.on("GET", "/file", 1, Fault::FlipByte(65_537));
    let items: Vec<_> = client
        .images()
        .download(&image.id)
        .stream()
        .await
        .unwrap()
        .collect()
        .await;
    assert!(
        matches!(items.last(), Some(Err(Error::Integrity { .. }))),
        "{:?}",
        items.last()
    );
}

// ------------------------------------------------------------------------------------------
// Input checked before any request.

#[tokio::test]
async fn invalid_input_never_reaches_the_server() {
    let (proxy, client) = glance_proxy(fast()).await;
    let images = client.images();
    let long_tag = "t".repeat(256);
    let mut errors: Vec<(&str, Error)> = vec![
        ("empty id", images.get("").await.unwrap_err()),
        ("empty id", images.delete("").await.unwrap_err()),
        ("dot-dot id", images.get("..").await.unwrap_err()),
        (
            "long tag",
            images.add_tag("x", &long_tag).await.unwrap_err(),
        ),
        ("slash tag", images.add_tag("x", "a/b").await.unwrap_err()),
        (
            "non-ascii tag",
            images.add_tag("x", "café").await.unwrap_err(),
        ),
        ("empty tag", images.remove_tag("x", "").await.unwrap_err()),
        (
            "non-string property",
            images
                .create(raw("x").property_value("os_distro", json!(5)))
                .await
                .unwrap_err(),
        ),
        (
            "non-string custom property",
            images
                .create(raw("x").property_value("my_key", json!({"a": 1})))
                .await
                .unwrap_err(),
        ),
        (
            "read-only in create",
            images
                .create(raw("x").property_value("status", json!("active")))
                .await
                .unwrap_err(),
        ),
        (
            "read-only in patch",
            images
                .update("x", ImagePatch::new().replace("checksum", "abc"))
                .await
                .unwrap_err(),
        ),
        (
            "long name",
            images.create(raw(&"n".repeat(256))).await.unwrap_err(),
        ),
        (
            "os_glance key",
            images
                .create(raw("x").property("os_glance_x", "v"))
                .await
                .unwrap_err(),
        ),
    ];
    for (id, result) in images.tag_many(["a", "b"], "a/b", 2).await {
        errors.push(("bulk slash tag", result.unwrap_err()));
        assert!(id == "a" || id == "b");
    }
    for (what, err) in &errors {
        assert!(matches!(err, Error::InvalidInput { .. }), "{what}: {err:?}");
        eprintln!("{what}: {err}");
    }
    assert_eq!(proxy.count(), 0, "nothing was sent: {:?}", proxy.seen());
}

// ------------------------------------------------------------------------------------------
// Odd characters through the real Glance.

#[tokio::test]
async fn odd_names_keys_and_tags_round_trip() {
    let admin = admin();
    let mut cleanup = Cleanup(vec![]);
    let suffix = unique("");
    let odd = [
        "a/b",
        "q?x",
        "h#x",
        "p%20c",
        "a&b=c",
        "plus+sign",
        "sp ace",
        "..",
        "é-日本-ß",
        ".",
    ];
    for s in odd {
        let name = format!("{s}{suffix}");
        let key = format!("k {s}");
        let image = admin
            .images()
            .create(raw(&name).property(key.clone(), s))
            .await
            .unwrap_or_else(|e| panic!("create {name:?}: {e}"));
        cleanup.0.push(image.id.clone());
        assert_eq!(image.name.as_deref(), Some(name.as_str()));
        assert_eq!(image.custom_property_str(&key), Some(s), "{key:?}");
        // Tags with every character go through the body.
        let tags = [s.to_owned(), format!("t-{s}")];
        let patched = admin
            .images()
            .update(&image.id, ImagePatch::new().replace_tags(tags.clone()))
            .await
            .unwrap_or_else(|e| panic!("tags {tags:?}: {e}"));
        let mut got = patched.tags.clone();
        got.sort();
        let mut want = tags.to_vec();
        want.sort();
        assert_eq!(got, want);
        // A property key with the odd characters can be patched and removed.
        let patched = admin
            .images()
            .update(
                &image.id,
                ImagePatch::new()
                    .replace(&key, "v2")
                    .add(&format!("{key}/2"), "w"),
            )
            .await
            .unwrap_or_else(|e| panic!("patch {key:?}: {e}"));
        assert_eq!(patched.custom_property_str(&key), Some("v2"));
        assert_eq!(patched.custom_property_str(&format!("{key}/2")), Some("w"));
        // Lookups by name put it in a query string.
        let found = admin
            .images()
            .list_all(ImageListQuery::new().name(&name))
            .await
            .unwrap();
        assert_eq!(found.len(), 1, "list by name {name:?}");
        // Single-tag endpoints: the ASCII characters Glance's router keeps.
        if s.is_ascii() && !s.contains('/') && s != ".." && s != "." {
            let tag = format!("one {s}");
            admin.images().add_tag(&image.id, &tag).await.unwrap();
            let got = admin.images().get(&image.id).await.unwrap();
            assert!(got.tags.contains(&tag), "{tag:?} in {:?}", got.tags);
            admin.images().remove_tag(&image.id, &tag).await.unwrap();
        }
    }
}

// ------------------------------------------------------------------------------------------
// Bulk operations on the real Glance.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_fifty_images_eight_at_a_time() {
    let admin = admin();
    let mut cleanup = Cleanup(vec![]);
    let prefix = unique("fault-bulk");
    let created = openstack_images::map_bounded(0..50, 8, |i| {
        let admin = admin.clone();
        let name = format!("{prefix}-{i}");
        async move { admin.images().create(raw(&name)).await.map(|i| i.id) }
    })
    .await;
    let ids: Vec<String> = created.into_iter().map(|r| r.unwrap()).collect();
    cleanup.0.extend(ids.iter().cloned());

    let (proxy, client) = glance_proxy(fast()).await;
    // A few transient failures on the way: they are retried per item.
    proxy.on("PUT", "/tags/", 3, Fault::status(503));
    let tagged = client.images().tag_many(ids.clone(), "bulk", 8).await;
    assert!(tagged.iter().all(|(_, r)| r.is_ok()));
    assert_eq!(proxy.count_of("PUT", "/tags/"), 53);

    // One id that does not exist among them: its own error, the others succeed.
    let mut to_delete = ids.clone();
    to_delete.insert(17, "00000000-0000-0000-0000-00000000dead".into());
    let started = Instant::now();
    let results = client.images().delete_many(to_delete.clone(), 8).await;
    eprintln!("deleted 50 images, 8 in flight, in {:?}", started.elapsed());
    assert_eq!(
        results.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>(),
        to_delete,
        "results in input order"
    );
    for (i, (id, r)) in results.iter().enumerate() {
        if i == 17 {
            assert!(r.as_ref().unwrap_err().is_not_found(), "{id}");
        } else {
            assert!(r.is_ok(), "{id}: {r:?}");
        }
    }
    let max = proxy.max_in_flight();
    assert!((2..=8).contains(&max), "in flight at most 8, got {max}");
    let left = admin
        .images()
        .list_all(
            ImageListQuery::new()
                .tag("bulk")
                .name_in(ids.iter().enumerate().map(|(i, _)| format!("{prefix}-{i}"))),
        )
        .await
        .unwrap();
    assert!(left.is_empty(), "{} left", left.len());
}

// ------------------------------------------------------------------------------------------
// Secrets never appear in logs or errors, including through faults and retries.

const SECRETS_CHILD: &str = "OPENSTACK_IMAGES_FAULTS_SECRETS_CHILD";

/// Runs [`secrets_scenario_in_child`] in a child process with a global TRACE subscriber.
#[test]
fn faults_and_retries_never_show_secrets() {
    crate::harness::run_in_child("faults::secrets_scenario_in_child", SECRETS_CHILD);
}

/// Keeps an error's Display and Debug, and those of its sources, for the secrets search.
fn note(errors: &mut Vec<String>, e: &Error) {
    errors.push(e.to_string());
    errors.push(format!("{e:?}"));
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        errors.push(format!("{s} {s:?}"));
        src = s.source();
    }
}

#[tokio::test(flavor = "current_thread")]
async fn secrets_scenario_in_child() {
    if std::env::var_os(SECRETS_CHILD).is_none() {
        return;
    }
    let capture = crate::harness::capture_trace();

    let local = cloud("local");
    let appcred = cloud("local-appcred");
    let token = crate::harness::direct_token(&local).await;
    let mut secrets = stack_secrets(&token);
    let mut errors: Vec<String> = Vec::new();
    // Keystone and Glance both behind proxies.
    let keystone = url::Url::parse(local.auth_url.as_deref().unwrap()).unwrap();
    let kp = Proxy::start(&keystone).await;
    let glance = admin().endpoint(ServiceType::Image).await.unwrap();
    let gp = Proxy::start(&glance).await;
    let via = |c: CloudConfig| {
        let mut c = c.image_endpoint_override(gp.url("/v2"));
        c.auth_url = Some(kp.url(keystone.path()));
        Client::builder().cloud(c).retry(fast()).build().unwrap()
    };

    // A 401 (re-auth), a 503 (retry), a reset (retry), a 404 (error).
    let c = via(local.clone());
    gp.on("GET", "/v2/images", 1, Fault::status(401));
    gp.on("GET", "/v2/images", 1, Fault::status_retry_after(503, "0"));
    gp.on("GET", "/v2/images", 1, Fault::ResetMidHeaders);
    c.images()
        .list_page(&ImageListQuery::new().page_size(1))
        .await
        .unwrap();
    assert_eq!(c.auth_count(), 2, "the 401 caused one re-authentication");
    note(
        &mut errors,
        &c.images()
            .get("00000000-0000-0000-0000-000000000000")
            .await
            .unwrap_err(),
    );
    eprintln!("{c:?}");
    errors.push(format!("{c:?} {local:?}"));

    // Keystone failing: 503s on the token request (one is retried away; a 503 on every
    // attempt is an error), then a wrong password, a wrong secret.
    let before = kp.count_of("POST", "/auth/tokens");
    kp.on("POST", "/auth/tokens", 1, Fault::status(503));
    via(local.clone())
        .authenticate()
        .await
        .expect("a single Keystone 503 is retried");
    assert_eq!(kp.count_of("POST", "/auth/tokens") - before, 2);
    kp.on("POST", "/auth/tokens", 100, Fault::status(503));
    note(
        &mut errors,
        &via(local.clone()).authenticate().await.unwrap_err(),
    );
    kp.clear();
    let mut wrong = local.clone();
    wrong.password = Some(Secret::new("wrong-password-faults-4242"));
    secrets.push("wrong-password-faults-4242".into());
    note(
        &mut errors,
        &via(wrong.clone()).authenticate().await.unwrap_err(),
    );
    errors.push(format!("{wrong:?}"));
    let mut wrong_ac = appcred.clone();
    wrong_ac.application_credential_secret = Some(Secret::new("wrong-appcred-secret-4242"));
    secrets.push("wrong-appcred-secret-4242".into());
    note(
        &mut errors,
        &via(wrong_ac).authenticate().await.unwrap_err(),
    );

    // Application credential and token auth through the proxies, with a retried 502.
    gp.on("GET", "/v2/images", 1, Fault::Html(502));
    via(appcred.clone())
        .images()
        .list_page(&ImageListQuery::new().page_size(1))
        .await
        .unwrap();
    let t = via(
        CloudConfig::token(local.auth_url.clone().unwrap(), token.clone())
            .project_name("admin")
            .project_domain_name("Default"),
    );
    t.images()
        .list_page(&ImageListQuery::new().page_size(1))
        .await
        .unwrap();
    errors.push(format!("{t:?}"));

    // Every token the proxies saw: the sessions' own, which the test never handles.
    let seen = [kp.tokens(), gp.tokens()].concat();
    assert!(
        seen.len() >= 4,
        "the proxies saw the tokens: {}",
        seen.len()
    );
    secrets.extend(seen);

    let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("retrying"), "the capture has the retries");
    assert!(text.contains("authenticating"));
    let errors = errors.join("\n");
    assert!(errors.contains("401") && errors.contains("503"), "{errors}");
    for s in &secrets {
        assert!(
            !text.contains(s.as_str()),
            "a secret leaked into the trace output"
        );
        assert!(
            !errors.contains(s.as_str()),
            "a secret leaked into an error"
        );
    }
    assert!(!text.contains("gAAAAA") && !errors.contains("gAAAAA"));
    eprintln!(
        "searched {} bytes of trace output and {} bytes of errors for {} secrets",
        text.len(),
        errors.len(),
        secrets.len()
    );
}
