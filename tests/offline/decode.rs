//! Decoding real server responses into the generated types, offline.
//!
//! `tests/fixtures/*.json` were saved from the local stack's Glance (`cargo xtask stack up`):
//! an image list page, one image, a member list, task lists. `tests/fixtures/nova/*.tpl` are
//! Nova's own API samples (shipped in the nova wheel under
//! `nova/tests/functional/api_sample_tests/api_samples/images/`), with their template
//! placeholders filled in here. Mutated variants check the lenient decoding: unknown enum
//! values, wrongly typed fields and odd custom properties are kept, never dropped.

use openstack_images::{
    ComputeImage, ComputeImageStatus, ContainerFormat, DiskFormat, Image, ImageStatus,
    ImageVisibility, Member, MemberStatus, Task, TaskStatus, TaskType,
};
use serde::Deserialize;
use serde_json::{Value, json};
use std::fs;
use std::path::PathBuf;

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn fixture(name: &str) -> Vec<u8> {
    let path = fixture_path(name);
    fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn fixture_value(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).unwrap()
}

fn image_from(v: &Value) -> Image {
    serde_json::from_value(v.clone()).unwrap()
}

#[derive(Deserialize)]
struct ImagesPage {
    images: Vec<Image>,
    next: Option<String>,
}

#[derive(Deserialize)]
struct Members {
    members: Vec<Member>,
}

#[derive(Deserialize)]
struct Tasks {
    tasks: Vec<Task>,
}

// ------------------------------------------------------------------------------------------
// Glance, as served.

#[test]
fn image_page_decodes() {
    let page: ImagesPage = serde_json::from_slice(&fixture("images_page.json")).unwrap();
    assert_eq!(page.images.len(), 3);
    assert!(page.next.as_deref().unwrap().starts_with("/v2/images?"));
    for image in &page.images {
        assert!(!image.id.is_empty());
        assert!(image.name.as_deref().unwrap().starts_with("fixture-"));
        assert!(image.created_at.is_some() && image.updated_at.is_some());
        assert!(image.status.as_ref().unwrap().is_known());
        assert!(image.visibility.as_ref().unwrap().is_known());
    }
    let queued = page
        .images
        .iter()
        .find(|i| i.name.as_deref() == Some("fixture-queued"))
        .unwrap();
    assert_eq!(queued.status, Some(ImageStatus::Queued));
    // Glance sends `null` for the unset ones.
    assert_eq!(queued.disk_format, None);
    assert_eq!(queued.size, None);
    assert_eq!(queued.checksum, None);
    assert!(queued.extra.is_empty(), "{:?}", queued.extra);
}

#[test]
fn image_decodes_with_operator_and_custom_properties() {
    let image: Image = serde_json::from_slice(&fixture("image.json")).unwrap();
    assert_eq!(image.name.as_deref(), Some("fixture-cirros"));
    assert_eq!(image.status, Some(ImageStatus::Active));
    assert_eq!(image.visibility, Some(ImageVisibility::Private));
    assert_eq!(image.disk_format, Some(DiskFormat::Raw));
    assert_eq!(image.container_format, Some(ContainerFormat::Bare));
    assert_eq!(image.size, Some(1900));
    assert_eq!(image.min_disk, Some(1));
    assert_eq!(image.min_ram, Some(64));
    assert_eq!(image.protected, Some(false));
    assert_eq!(image.os_hash_algo.as_deref(), Some("sha512"));
    assert_eq!(image.tags, ["tiny", "base"]);
    // Operator-defined properties (xtask/stack/schema-image.json) are typed fields.
    assert_eq!(image.os_distro.as_deref(), Some("cirros"));
    assert_eq!(image.os_version.as_deref(), Some("0.6.2"));
    assert_eq!(
        image.architecture.as_ref().map(|a| a.as_str()),
        Some("x86_64")
    );
    assert_eq!(image.os_type.as_ref().map(|a| a.as_str()), Some("linux"));
    assert_eq!(
        image.hw_disk_bus.as_ref().map(|a| a.as_str()),
        Some("virtio")
    );
    assert_eq!(
        image.hw_firmware_type.as_ref().map(|a| a.as_str()),
        Some("uefi")
    );
    assert_eq!(image.description.as_deref(), Some("a fixture image"));
    // Properties no schema names stay in `extra`, as sent.
    assert_eq!(image.extra.len(), 2, "{:?}", image.extra);
    assert_eq!(image.extra["site_custom"], "blue");
    assert_eq!(image.extra["owner_specified.openstack.md5"], "");
}

#[test]
fn members_decode() {
    let body: Members = serde_json::from_slice(&fixture("members.json")).unwrap();
    assert_eq!(body.members.len(), 1);
    let m = &body.members[0];
    assert!(!m.member_id.is_empty());
    assert!(m.image_id.is_some() && m.created_at.is_some());
    assert_eq!(m.status, Some(MemberStatus::Pending));
    assert!(m.extra.is_empty(), "{:?}", m.extra);
    let one: Member = serde_json::from_slice(&fixture("image_member.json")).unwrap();
    assert_eq!(&one, m);
}

#[test]
fn tasks_decode() {
    let body: Tasks = serde_json::from_slice(&fixture("tasks.json")).unwrap();
    assert!(!body.tasks.is_empty());
    for t in &body.tasks {
        assert_eq!(t.status, Some(TaskStatus::Success));
        assert_eq!(t.type_, Some(TaskType::ApiImageImport));
        assert!(t.expires_at.is_some() && t.self_.is_some());
    }
    let task: Task = serde_json::from_slice(&fixture("task.json")).unwrap();
    assert!(task.input.is_some() && task.result.is_some() && task.message.is_some());

    // GET /v2/images/{id}/tasks adds database columns the task schema does not list.
    let body: Tasks = serde_json::from_slice(&fixture("image_tasks.json")).unwrap();
    let t = &body.tasks[0];
    assert_eq!(
        t.input.as_ref().unwrap()["import_req"]["method"]["name"],
        "glance-direct"
    );
    assert!(t.image_id.is_some() && t.request_id.is_some() && t.user_id.is_some());
    assert_eq!(t.extra["deleted"], false);
    assert_eq!(t.extra["deleted_at"], Value::Null);
}

// ------------------------------------------------------------------------------------------
// Mutated variants of a served image.

/// Every door into an open enum (parse, both `From`s, serde) turns each value the schema
/// lists into its own variant: `Unknown` only ever holds an unlisted value.
macro_rules! listed_values_are_never_unknown {
    ($($ty:ident),*) => {$(
        assert!(!$ty::VALUES.is_empty());
        for &value in $ty::VALUES {
            let parsed: $ty = value.parse().unwrap();
            assert!(parsed.is_known(), "{}::{value} parsed as {parsed:?}", stringify!($ty));
            assert!(!matches!(parsed, $ty::Unknown(_)));
            assert_eq!(parsed.as_str(), value);
            assert_eq!(parsed.to_string(), value);
            assert_eq!($ty::from(value.to_owned()), parsed);
            let decoded: $ty = serde_json::from_value(json!(value)).unwrap();
            assert_eq!(decoded, parsed);
            assert_eq!(serde_json::to_value(&decoded).unwrap(), json!(value));
        }
        let unlisted = $ty::from("not-a-listed-value");
        assert!(matches!(&unlisted, $ty::Unknown(v) if v.as_str() == "not-a-listed-value"));
    )*};
}

#[test]
fn a_listed_enum_value_never_lands_in_unknown() {
    listed_values_are_never_unknown!(
        ImageStatus,
        ImageVisibility,
        DiskFormat,
        ContainerFormat,
        MemberStatus,
        TaskStatus,
        TaskType,
        ComputeImageStatus
    );
    // And through the lenient decode of a whole image.
    for &value in ImageStatus::VALUES {
        let image = image_from(&json!({"id": "1", "status": value}));
        assert_eq!(image.status, Some(ImageStatus::from(value)));
        assert!(image.status.as_ref().unwrap().is_known());
    }
}

#[test]
fn unknown_status_and_disk_format_are_kept() {
    let mut v = fixture_value("image.json");
    v["status"] = json!("exploding");
    v["disk_format"] = json!("qcow3");
    let image = image_from(&v);
    assert_eq!(image.status, Some(ImageStatus::from("exploding")));
    assert!(
        matches!(&image.status, Some(ImageStatus::Unknown(v)) if v.as_str() == "exploding"),
        "{:?}",
        image.status
    );
    assert_eq!(image.status.as_ref().unwrap().as_str(), "exploding");
    assert!(!image.status.as_ref().unwrap().is_known());
    assert!(
        matches!(&image.disk_format, Some(DiskFormat::Unknown(v)) if v.as_str() == "qcow3"),
        "{:?}",
        image.disk_format
    );
    assert_eq!(image.disk_format.as_ref().unwrap().as_str(), "qcow3");
    // And they go back out as they came in.
    let out = serde_json::to_value(&image).unwrap();
    assert_eq!(out["status"], "exploding");
    assert_eq!(out["disk_format"], "qcow3");
}

#[test]
fn non_string_custom_values_are_kept_in_extra() {
    let mut v = fixture_value("image.json");
    let odd = [
        ("c_true", json!(true)),
        ("c_five", json!(5)),
        ("c_null", json!(null)),
        ("c_object", json!({"a": 1})),
        ("c_array", json!([1])),
        ("c_float", json!(1.5)),
        ("c_negative", json!(-3)),
    ];
    for (k, val) in &odd {
        v[*k] = val.clone();
    }
    let image = image_from(&v);
    for (k, val) in &odd {
        assert_eq!(&image.extra[*k], val, "{k}");
    }
}

#[test]
fn a_property_named_properties_is_kept_as_is() {
    let mut v = fixture_value("image.json");
    v["properties"] = json!({"nested": "x", "n": 1});
    let image = image_from(&v);
    assert_eq!(image.extra["properties"], json!({"nested": "x", "n": 1}));
    let out = serde_json::to_value(&image).unwrap();
    assert_eq!(out["properties"], json!({"nested": "x", "n": 1}));
}

#[test]
fn wrongly_typed_base_fields_land_in_extra() {
    let mut v = fixture_value("image.json");
    v["min_disk"] = json!("ten");
    v["protected"] = json!("yes");
    v["tags"] = json!("not-a-list");
    v["size"] = json!(-1);
    v["os_distro"] = json!(7);
    v["architecture"] = json!(["x86_64"]);
    let image = image_from(&v);
    assert_eq!(image.min_disk, None);
    assert_eq!(image.extra["min_disk"], "ten");
    assert_eq!(image.protected, None);
    assert_eq!(image.extra["protected"], "yes");
    assert!(image.tags.is_empty());
    assert_eq!(image.extra["tags"], "not-a-list");
    // A negative size is still an integer: the field is i64.
    assert_eq!(image.size, Some(-1));
    assert_eq!(image.os_distro, None);
    assert_eq!(image.extra["os_distro"], 7);
    assert_eq!(image.architecture, None);
    assert_eq!(image.extra["architecture"], json!(["x86_64"]));
    // The rest is untouched.
    assert_eq!(image.min_ram, Some(64));
    // Re-serialised, every value is where the server put it.
    let out = serde_json::to_value(&image).unwrap();
    assert_eq!(out["min_disk"], "ten");
    assert_eq!(out["os_distro"], 7);
}

#[test]
fn missing_fields_are_none() {
    let image: Image = serde_json::from_str(r#"{"id": "only-an-id"}"#).unwrap();
    assert_eq!(image.id, "only-an-id");
    assert_eq!(image.name, None);
    assert_eq!(image.status, None);
    assert_eq!(image.os_distro, None);
    assert!(image.tags.is_empty() && image.locations.is_empty() && image.extra.is_empty());
}

#[test]
fn missing_id_is_a_clear_error() {
    let mut v = fixture_value("image.json");
    v.as_object_mut().unwrap().remove("id");
    let err = serde_json::from_value::<Image>(v).unwrap_err().to_string();
    assert!(err.contains("missing field `id`"), "{err}");
    let err = serde_json::from_slice::<Image>(br#"{"name": "x"}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing field `id`"), "{err}");
    // A non-string id is not an id either: the error says what was there.
    let err = serde_json::from_slice::<Image>(br#"{"id": 5}"#)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("invalid type: integer `5`, expected a string"),
        "{err}"
    );
    // Not an object at all.
    let err = serde_json::from_slice::<Image>(b"[]")
        .unwrap_err()
        .to_string();
    assert!(err.contains("Image"), "{err}");
}

#[test]
fn round_trip_keeps_extras_at_the_top_level() {
    let mut v = fixture_value("image.json");
    v["c_object"] = json!({"a": 1});
    let image = image_from(&v);
    let out = serde_json::to_value(&image).unwrap();
    // Everything the server sent comes back, at the same place (no `extra` wrapper).
    assert_eq!(out, v);
    assert!(out.get("extra").is_none());
    let again: Image = serde_json::from_value(out).unwrap();
    assert_eq!(again, image);
}

// ------------------------------------------------------------------------------------------
// Nova's API samples.

/// Fills Nova's sample placeholders (`%(name)s`) with plausible values.
fn nova_sample(name: &str) -> Value {
    let text = String::from_utf8(fixture(&format!("nova/{name}"))).unwrap();
    let subs = [
        (
            "%(versioned_compute_endpoint)s",
            "http://openstack.example.com/v2.1/6f70656e737461636b20342065766572",
        ),
        (
            "%(compute_endpoint)s",
            "http://openstack.example.com/6f70656e737461636b20342065766572",
        ),
        ("%(glance_host)s", "http://glance.openstack.example.com"),
        ("%(isotime)s", "2011-01-01T01:02:03Z"),
        ("%(int)s", "74185822"),
        ("%(uuid)s", "a2459075-d96c-40d5-893e-577ff92e721c"),
        (
            "%(eph_encryption_id)s",
            "a440c04b-79fa-479c-bed1-0b816eaec379",
        ),
        (
            "%(eph_encryption_disabled_id)s",
            "b440c04b-79fa-479c-bed1-0b816eaec379",
        ),
        (
            "%(eph_encryption_luks_id)s",
            "c440c04b-79fa-479c-bed1-0b816eaec379",
        ),
        (
            "%(eph_encryption_plain_id)s",
            "d440c04b-79fa-479c-bed1-0b816eaec379",
        ),
    ];
    let mut filled = text;
    for (from, to) in subs {
        filled = filled.replace(from, to);
    }
    assert!(
        !filled.contains("%("),
        "{name}: a placeholder is not substituted:\n{filled}"
    );
    serde_json::from_str(&filled).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Every field the sample has is populated in the decoded image, nothing lands in `extra`.
fn assert_compute_image(sample: &Value, image: &ComputeImage) {
    assert_eq!(image.id, sample["id"].as_str().unwrap());
    assert!(image.extra.is_empty(), "{}: {:?}", image.id, image.extra);
    let has = |k: &str| sample.get(k).is_some();
    assert_eq!(image.name.as_deref(), sample["name"].as_str());
    assert_eq!(image.created.is_some(), has("created"));
    assert_eq!(image.updated.is_some(), has("updated"));
    assert_eq!(image.status.is_some(), has("status"));
    assert_eq!(image.progress, sample["progress"].as_i64());
    assert_eq!(image.min_disk, sample["minDisk"].as_i64());
    assert_eq!(image.min_ram, sample["minRam"].as_i64());
    assert_eq!(
        image.os_ext_img_size_size,
        sample["OS-EXT-IMG-SIZE:size"].as_i64()
    );
    assert_eq!(
        image.os_dcf_disk_config.as_deref(),
        sample["OS-DCF:diskConfig"].as_str()
    );
    assert_eq!(image.server.is_some(), has("server"));
    let metadata = sample["metadata"].as_object().cloned().unwrap_or_default();
    assert_eq!(image.metadata, metadata);
    let links = sample["links"].as_array().unwrap();
    assert_eq!(image.links.len(), links.len());
    for (l, s) in image.links.iter().zip(links) {
        assert_eq!(l.href, s["href"].as_str().unwrap());
        assert_eq!(l.rel, s["rel"].as_str().unwrap());
        assert_eq!(l.type_.as_deref(), s["type"].as_str());
    }
    assert!(!image.links.iter().any(|l| l.href.contains("%(")));
    // Round trip: the same JSON comes back.
    assert_eq!(&serde_json::to_value(image).unwrap(), sample);
}

#[test]
fn nova_image_get_sample_decodes() {
    let sample = nova_sample("image-get-resp.json.tpl");
    let image: ComputeImage = serde_json::from_value(sample["image"].clone()).unwrap();
    assert_compute_image(&sample["image"], &image);
    assert_eq!(image.id, "70a599e0-31e7-49b7-b260-868f441e862b");
    assert_eq!(image.status, Some(ComputeImageStatus::Active));
    assert_eq!(image.progress, Some(100));
    assert_eq!(image.min_disk, Some(0));
    assert_eq!(image.os_ext_img_size_size, Some(74185822));
    assert_eq!(image.metadata["architecture"], "x86_64");
    assert_eq!(
        image.links[2].type_.as_deref(),
        Some("application/vnd.openstack.image")
    );
}

#[test]
fn nova_images_detail_sample_decodes() {
    #[derive(Deserialize)]
    struct Detail {
        images: Vec<ComputeImage>,
    }
    let sample = nova_sample("images-details-get-resp.json.tpl");
    let body: Detail = serde_json::from_value(sample.clone()).unwrap();
    let samples = sample["images"].as_array().unwrap();
    assert_eq!(body.images.len(), samples.len());
    assert!(body.images.len() >= 5);
    for (image, s) in body.images.iter().zip(samples) {
        assert_compute_image(s, image);
        assert!(image.created.is_some() && image.updated.is_some());
    }
}

#[test]
fn nova_images_list_sample_decodes() {
    #[derive(Deserialize)]
    struct List {
        images: Vec<ComputeImage>,
    }
    // The short list has only id, name and links: everything else is None.
    let sample = nova_sample("images-list-get-resp.json.tpl");
    let body: List = serde_json::from_value(sample.clone()).unwrap();
    for (image, s) in body.images.iter().zip(sample["images"].as_array().unwrap()) {
        assert_compute_image(s, image);
        assert!(image.status.is_none() && image.created.is_none());
    }
}

#[test]
fn nova_snapshot_with_server_and_odd_values() {
    // Nova's samples have no snapshot; the api-ref shows `server` on one.
    let mut v = nova_sample("image-get-resp.json.tpl")["image"].clone();
    v["server"] = json!({
        "id": "b4e2dc4e-3fb6-4a0b-9b7c-3d6e0b1d7b0e",
        "links": [{"href": "http://openstack.example.com/servers/b4e2", "rel": "bookmark"}]
    });
    v["status"] = json!("SHELVED");
    v["progress"] = json!("half");
    let image: ComputeImage = serde_json::from_value(v).unwrap();
    let server = image.server.as_ref().unwrap();
    assert_eq!(server.id, "b4e2dc4e-3fb6-4a0b-9b7c-3d6e0b1d7b0e");
    assert_eq!(server.links[0].rel, "bookmark");
    assert_eq!(image.status.as_ref().unwrap().as_str(), "SHELVED");
    assert_eq!(image.progress, None);
    assert_eq!(image.extra["progress"], "half");
}
