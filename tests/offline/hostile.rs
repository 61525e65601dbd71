//! Hostile and odd data, offline: what `tests/decode.rs` does not already cover of lenient
//! decoding (nulls everywhere, deep nesting, huge numbers, duplicate keys), decode errors as
//! the client reports them (typed, with the JSON path), input rejected before any request,
//! and the regression inputs of the fuzz targets (`cargo xtask fuzz`).
//!
//! The "server" here is the loopback mock (`mock.rs`) answering every request with one
//! canned response and counting connections: it stands in for a cloud that sends garbage,
//! which the real Glance does not do on demand.

use openstack_images::{
    Client, ComputeImage, Error, Image, ImageCreate, ImageListQuery, ImagePatch, ImageStatus,
    Member, SortDir, Task,
};
use serde_json::{Value, json};

use crate::mock::{Mock, Reply};

/// Serves `status` + `body` (labelled JSON) to every request; returns a client (no auth) and
/// the mock, which counts connections.
fn canned(status: u16, body: &'static [u8]) -> (Client, Mock) {
    let mock = Mock::start(move |_| Reply::body(status, "application/json", body));
    (mock.no_auth_client(), mock)
}

/// The error of listing the first page, which the canned answer makes fail.
async fn first_page_error(client: &Client) -> Error {
    client
        .images()
        .list_page(&ImageListQuery::new())
        .await
        .map(|p| p.items.len())
        .unwrap_err()
}

fn decode_err(err: Error) -> (String, String) {
    match err {
        Error::Decode { path, message, .. } => (path, message),
        other => panic!("expected a decode error, got {other:?}"),
    }
}

// ------------------------------------------------------------------------------------------
// Decode errors through the client: typed, with the path of the failing field.

#[tokio::test]
async fn a_numeric_id_in_a_page_names_the_image() {
    let (client, _) = canned(
        200,
        br#"{"images": [{"id": "a"}, {"id": "b"}, {"id": "c"}, {"id": 4, "name": "x"}]}"#,
    );
    let err = first_page_error(&client).await;
    let (path, message) = decode_err(err);
    assert_eq!(path, "images[3].id");
    assert!(message.contains("expected a string"), "{message}");
}

#[tokio::test]
async fn invalid_json_is_a_decode_error_with_a_path() {
    for (body, want_path) in [
        (
            &br#"{"images": [{"id": "a"}, {"id": "b", "name": tru"#[..],
            "images[1].name",
        ),
        (br#"{"images": {"id": "a"}}"#, "images"),
        (br#"[]"#, "."),
        (b"<html>502</html>", "."),
        (b"", "."),
    ] {
        let body: &'static [u8] = Box::leak(body.to_vec().into_boxed_slice());
        let (client, _) = canned(200, body);
        let err = first_page_error(&client).await;
        let shown = err.to_string();
        let (path, _) = decode_err(err);
        assert_eq!(path, want_path, "{}", String::from_utf8_lossy(body));
        assert!(shown.contains("cannot decode"), "{shown}");
    }
}

#[tokio::test]
async fn a_missing_or_null_images_list_is_handled() {
    let (client, _) = canned(200, br#"{"images": null}"#);
    let err = client.images().list_page(&ImageListQuery::new()).await;
    // `null` is not a list: a decode error, not a panic and not a silent empty page.
    assert!(
        matches!(err, Err(Error::Decode { .. })),
        "{:?}",
        err.map(|p| p.items)
    );
    let (client, _) = canned(200, br#"{"images": [], "next": null}"#);
    let page = client
        .images()
        .list_page(&ImageListQuery::new())
        .await
        .unwrap();
    assert!(page.items.is_empty() && page.is_last());
}

#[tokio::test]
async fn an_html_error_page_becomes_a_clean_api_error() {
    let (client, mock) = canned(
        503,
        b"<html><body><h1>503 Service Unavailable</h1>No server is available &amp; sorry</body></html>",
    );
    let err = client.images().get("x").await.unwrap_err();
    match &err {
        Error::Api(a) => {
            assert_eq!(a.status, 503);
            assert_eq!(
                a.message,
                "503 Service Unavailable No server is available & sorry"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(err.is_retryable());
    assert_eq!(mock.connections(), 1, "RetryPolicy::none");
}

// ------------------------------------------------------------------------------------------
// Lenient decoding: what decode.rs leaves out.

#[test]
fn every_field_null_decodes() {
    let v = json!({
        "id": "x", "name": null, "status": null, "visibility": null, "size": null,
        "virtual_size": null, "checksum": null, "tags": null, "locations": null,
        "min_disk": null, "min_ram": null, "protected": null, "os_hidden": null,
        "container_format": null, "disk_format": null, "owner": null, "created_at": null,
        "custom": null
    });
    let image: Image = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(image.name, None);
    assert!(image.tags.is_empty());
    assert_eq!(image.custom_property("custom"), Some(&Value::Null));
}

#[test]
fn wrong_types_in_lists_and_nested_objects_are_kept() {
    let v = json!({
        "id": "x",
        "tags": ["a", 1, null],
        "locations": "not-a-list",
        "properties": {"nested": {"deeper": [1, 2, {"x": null}]}},
        "size": "12",
        "min_ram": -1,
        "protected": "yes",
        "status": 7,
        "visibility": ["public"],
    });
    let image: Image = serde_json::from_value(v.clone()).unwrap();
    for key in [
        "tags",
        "locations",
        "size",
        "protected",
        "status",
        "visibility",
    ] {
        assert_eq!(image.extra.get(key), v.get(key), "{key}");
    }
    assert_eq!(image.min_ram, Some(-1));
    assert_eq!(image.custom_property("properties"), v.get("properties"));
    // Nothing was lost: it re-encodes to what came in.
    assert_eq!(serde_json::to_value(&image).unwrap(), v);
}

#[test]
fn huge_and_odd_numbers_do_not_break_decoding() {
    let image: Image = serde_json::from_str(
        r#"{"id": "x", "size": 18446744073709551615, "min_disk": -9223372036854775808,
            "virtual_size": 1.5e300, "min_ram": 1e2, "c": -0.0}"#,
    )
    .unwrap();
    // u64::MAX does not fit the i64 size: kept as sent.
    assert_eq!(image.size, None);
    assert_eq!(image.extra["size"], json!(18446744073709551615u64));
    assert_eq!(image.min_disk, Some(i64::MIN));
    // 1e400 is outside f64: serde_json refuses the document, as an error.
    assert!(serde_json::from_str::<Image>(r#"{"id": "x", "size": 1e400}"#).is_err());
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = format!(
        r#"{{"id": "x", "c": {}{}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let err = serde_json::from_str::<Image>(&deep).unwrap_err();
    assert!(err.to_string().contains("recursion limit"), "{err}");
    let page = format!(r#"{{"images": {}}}"#, "[".repeat(50_000));
    assert!(serde_json::from_str::<Value>(&page).is_err());
}

#[test]
fn duplicate_keys_keep_one_value() {
    let image: Image =
        serde_json::from_str(r#"{"id": "a", "id": "b", "name": "n", "name": 5}"#).unwrap();
    assert_eq!(image.id, "b");
    // The last `name` was a number: it is kept, the earlier string was replaced.
    assert_eq!(image.extra.get("name"), Some(&json!(5)));
}

#[test]
fn odd_keys_and_strings_round_trip() {
    let v = json!({
        "id": "x",
        "": "empty key",
        "a/b?c#d%e&f+g h": "path characters",
        "..": "dots",
        "é日本🦀": "non-ascii \u{0000} nul \u{FFFF}",
        "self": "/v2/images/x",
        "extra": {"not": "the extra map"},
    });
    let image: Image = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(
        image.custom_property_str("é日本🦀"),
        Some("non-ascii \u{0000} nul \u{FFFF}")
    );
    assert_eq!(image.custom_property_str(""), Some("empty key"));
    assert_eq!(serde_json::to_value(&image).unwrap(), v);
}

#[test]
fn unknown_enum_values_in_members_tasks_and_nova_images() {
    let m: Member = serde_json::from_value(json!({
        "member_id": "p", "image_id": "i", "status": "on-hold", "created_at": 5
    }))
    .unwrap();
    assert_eq!(serde_json::to_value(&m).unwrap()["status"], "on-hold");
    let t: Task =
        serde_json::from_value(json!({"id": "t", "status": "paused", "type": 3})).unwrap();
    assert_eq!(serde_json::to_value(&t).unwrap()["type"], 3);
    let c: ComputeImage = serde_json::from_value(json!({
        "id": "c", "status": "QUARANTINED", "progress": "half", "metadata": [1]
    }))
    .unwrap();
    let back = serde_json::to_value(&c).unwrap();
    assert_eq!(back["status"], "QUARANTINED");
    assert_eq!(back["progress"], "half");
    assert_eq!(back["metadata"], json!([1]));
    assert_eq!(ImageStatus::from("").as_str(), "");
}

// ------------------------------------------------------------------------------------------
// Input rejected before any request, with an error naming the problem.

fn invalid(err: Error) -> (String, String) {
    match err {
        Error::InvalidInput { field, reason } => (field, reason),
        other => panic!("expected invalid input, got {other:?}"),
    }
}

#[tokio::test]
async fn bad_input_never_opens_a_connection() {
    let (client, mock) = canned(200, b"{}");
    let images = client.images();
    let cases: Vec<(Error, &str)> = vec![
        (images.get("").await.unwrap_err(), "image id"),
        (images.delete("..").await.unwrap_err(), "image id"),
        (
            images.add_tag("x", &"t".repeat(256)).await.unwrap_err(),
            "tag",
        ),
        (images.add_tag("x", "").await.unwrap_err(), "tag"),
        (images.add_tag("x", "a/b").await.unwrap_err(), "tag"),
        (images.add_tag("x", "naïve").await.unwrap_err(), "tag"),
        (
            images
                .create(ImageCreate::new("x").property_value("os_distro", json!(1)))
                .await
                .unwrap_err(),
            "os_distro",
        ),
        (
            images
                .create(ImageCreate::new("x").property_value("custom", json!(true)))
                .await
                .unwrap_err(),
            "custom",
        ),
        (
            images
                .create(ImageCreate::new("x").property("k".repeat(256), "v"))
                .await
                .unwrap_err(),
            "",
        ),
        (
            images
                .update("x", ImagePatch::new().add("size", 5))
                .await
                .unwrap_err(),
            "size",
        ),
        (
            images
                .list_page(
                    &ImageListQuery::new()
                        .sort("name", SortDir::Asc)
                        .sort_key("size"),
                )
                .await
                .map(|p| p.items.len())
                .unwrap_err(),
            "",
        ),
    ];
    for (err, field) in cases {
        let shown = err.to_string();
        let (f, reason) = invalid(err);
        assert!(!reason.is_empty());
        if !field.is_empty() {
            assert_eq!(f, field, "{shown}");
        }
    }
    let bulk = images.tag_many(["a", "b", "c"], "x/y", 2).await;
    assert!(
        bulk.iter()
            .all(|(_, r)| matches!(r, Err(Error::InvalidInput { .. })))
    );
    assert_eq!(mock.connections(), 0, "no connection was opened");
}

#[tokio::test]
async fn ids_that_would_reach_another_endpoint_never_leave() {
    // Glance decodes `%2F` before routing: `x/members` as an id would list members.
    let (client, mock) = canned(200, b"{}");
    let (images, compute, metadefs) = (client.images(), client.compute_images(), client.metadefs());
    for id in ["x/members", "../tasks", "x\\file"] {
        let errors = [
            images.get(id).await.map(drop).unwrap_err(),
            images.delete(id).await.unwrap_err(),
            images.members(id).await.map(drop).unwrap_err(),
            images.member("x", id).await.map(drop).unwrap_err(),
            images.image_tasks(id).await.map(drop).unwrap_err(),
            images.task(id).await.map(drop).unwrap_err(),
            images.cache_queue(id).await.unwrap_err(),
            images.cache_delete(id).await.unwrap_err(),
            images.cache_nodes(id).await.map(drop).unwrap_err(),
            images.delete_from_store(id, "x").await.unwrap_err(),
            metadefs.namespace(id).await.map(drop).unwrap_err(),
            compute.get(id).await.map(drop).unwrap_err(),
            compute.metadata_item("x", id).await.map(drop).unwrap_err(),
        ];
        for err in errors {
            let shown = err.to_string();
            let (_, reason) = invalid(err);
            assert!(
                reason.contains("path separator") || id.starts_with(".."),
                "{shown}"
            );
        }
    }
    assert_eq!(mock.connections(), 0, "no connection was opened");
}

#[test]
fn every_read_only_attribute_is_refused_in_a_create() {
    for key in [
        "status",
        "checksum",
        "size",
        "virtual_size",
        "self",
        "file",
        "schema",
        "created_at",
        "updated_at",
        "os_hash_algo",
        "os_hash_value",
        "direct_url",
    ] {
        let err = ImageCreate::new("x")
            .property_value(key, json!("v"))
            .validate()
            .unwrap_err();
        let (field, reason) = invalid(err);
        assert_eq!(field, key);
        assert!(reason.contains("read-only"), "{key}: {reason}");
    }
    // Tags at the limit pass, one more character does not.
    let ok = ImageCreate::new("x").tags(["t".repeat(255)]);
    ok.validate().unwrap();
    let long = ImageCreate::new("x").tags(["t".repeat(256)]);
    assert_eq!(invalid(long.validate().unwrap_err()).0, "tags");
}

#[test]
fn patch_paths_and_values_are_checked() {
    for patch in [
        ImagePatch::new().op(openstack_images::PatchOp::Add {
            path: "name".into(),
            value: json!("x"),
        }),
        ImagePatch::new().op(openstack_images::PatchOp::Remove { path: "/".into() }),
        ImagePatch::new().replace("checksum", "x"),
        ImagePatch::new().add("custom", json!([1])),
        ImagePatch::new().add("os_glance_import_task", "x"),
        ImagePatch::new().replace_tags(["".to_string()]),
    ] {
        assert!(
            matches!(patch.validate(), Err(Error::InvalidInput { .. })),
            "{patch:?}"
        );
    }
    // A key with `/` and `~` is escaped, not split.
    let p = ImagePatch::new().add("a/b~c", "v");
    p.validate().unwrap();
    assert_eq!(p.ops()[0].path(), "/a~1b~0c");
}

// ------------------------------------------------------------------------------------------
// Regressions found by `cargo xtask fuzz` (none so far; inputs that once failed go here).

#[test]
fn fuzz_seeds_decode_without_panicking() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let bytes = std::fs::read(&path).unwrap();
            // Truncated at every 97th byte: errors, never panics.
            for cut in (0..bytes.len()).step_by(97) {
                let _ = serde_json::from_slice::<Image>(&bytes[..cut]);
                let _ = serde_json::from_slice::<Vec<Member>>(&bytes[..cut]);
            }
        }
    }
}

/// Glance answers 400 to characters outside the BMP in names, keys and values (seen live with
/// an emoji name): refused before any request, naming the property.
#[test]
fn four_byte_utf8_is_refused_before_sending() {
    use openstack_images::{Error, ImageCreate, ImagePatch};
    for req in [
        ImageCreate::new("crab 🦀"),
        ImageCreate::new("ok").property("key🦀", "v"),
        ImageCreate::new("ok").property("k", "v🦀"),
        ImageCreate::new("ok").tags(["t🦀"]),
    ] {
        match req.validate() {
            Err(Error::InvalidInput { reason, .. }) => {
                assert!(reason.contains("4-byte"), "{reason}")
            }
            other => panic!("{req:?}: {other:?}"),
        }
    }
    assert!(ImagePatch::new().replace_name("🦀").validate().is_err());
    // Three-byte characters are fine.
    assert!(
        ImageCreate::new("日本 €")
            .property("é", "ß")
            .validate()
            .is_ok()
    );
}
