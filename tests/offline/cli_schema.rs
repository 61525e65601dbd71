//! `osimg schema diff` and `schema pull` against the loopback mock: a Glance that serves the
//! build's own schemas, one of them drifted (a property gone, an enum value more, a hostile
//! property name), and no metadata definitions at all (an older Glance).

use openstack_images::{SchemaKind, build_schema, build_schemas};
use serde_json::{Value, json};

use crate::cli_hostile::{config, osimg, raw_controls};
use crate::mock::{Mock, Reply};

/// Serves the build's schemas; with `drift`, the image schema lacks `os_distro`, allows
/// `vhdz` and has a property whose name holds an escape sequence, and the metadef schemas
/// are not served.
fn glance(drift: bool) -> Mock {
    Mock::start(move |req| {
        let Some(name) = req.path().strip_prefix("/v2/schemas/") else {
            return Reply::json(404, &json!({"message": "no such thing"}));
        };
        let Some(text) = name.parse::<SchemaKind>().ok().and_then(build_schema) else {
            return Reply::json(404, &json!({"message": "no such schema"}));
        };
        let mut schema: Value = serde_json::from_str(text).unwrap();
        if drift && name.starts_with("metadefs/") {
            return Reply::json(404, &json!({"message": "metadefs are off"}));
        }
        // The list schema holds the image schema: a real Glance drifts both.
        let image = match name {
            "image" => Some(&mut schema),
            "images" => Some(&mut schema["properties"]["images"]["items"]),
            _ => None,
        };
        if let Some(image) = image.filter(|_| drift) {
            let props = image["properties"].as_object_mut().unwrap();
            props.remove("os_distro");
            props["disk_format"]["enum"]
                .as_array_mut()
                .unwrap()
                .push(json!("vhdz"));
            props.insert("evil\u{1b}[2J".into(), json!({"type": "string"}));
        }
        Reply::json(200, &schema)
    })
}

#[test]
fn a_cloud_serving_the_builds_schemas_has_no_diff() {
    let mock = glance(false);
    let dir = config(&mock);
    for format in ["table", "json"] {
        let out = osimg(dir.path(), &["schema", "diff", "--exit-code", "-f", format])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let expected = if format == "json" { "[]\n" } else { "" };
        assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
    }
}

#[test]
fn drift_is_listed_typed_and_fails_with_exit_code() {
    let mock = glance(true);
    let dir = config(&mock);
    let out = osimg(dir.path(), &["schema", "diff", "-f", "json"])
        .output()
        .unwrap();
    // Without --exit-code a difference is no failure.
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let row = |change: &str, property: Option<&str>| {
        rows.iter()
            .find(|r| r["change"] == change && r["property"].as_str() == property)
            .unwrap_or_else(|| panic!("no {change} {property:?} in {rows:#?}"))
            .clone()
    };
    let removed = row("property_removed", Some("os_distro"));
    assert_eq!(removed["schema"], "image");
    assert_eq!(removed["built"]["type"], "string");
    assert_eq!(removed["served"], Value::Null);
    let value = row("enum_value_added", Some("disk_format"));
    assert_eq!(
        (value["keyword"].clone(), value["served"].clone()),
        (json!("enum"), json!("vhdz"))
    );
    row("property_added", Some("evil\u{1b}[2J"));
    // In the list schema, by path.
    assert_eq!(
        row("property_removed", Some("images[].os_distro"))["schema"],
        "images"
    );
    let not_served: Vec<&str> = rows
        .iter()
        .filter(|r| r["change"] == "not_served")
        .filter_map(|r| r["schema"].as_str())
        .collect();
    let metadefs = build_schemas()
        .filter(|(kind, _)| kind.as_str().starts_with("metadefs/"))
        .count();
    assert_eq!(not_served.len(), metadefs, "{not_served:?}");

    // The table escapes the hostile name and --exit-code fails with 1 and no message.
    let out = osimg(dir.path(), &["schema", "diff", "--exit-code"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(raw_controls(&out.stdout), Vec::<char>::new());
    let table = String::from_utf8_lossy(&out.stdout);
    for cell in [
        "property_removed",
        "os_distro",
        "evil\\x1b[2J",
        "\"vhdz\"",
        "not_served",
    ] {
        assert!(table.contains(cell), "{cell} in\n{table}");
    }
}

/// `schema pull --out DIR` writes the layout a build reads from
/// (`OPENSTACK_IMAGES_SCHEMA_DIR=DIR`), Nova's schema included.
#[test]
fn pull_writes_a_directory_to_build_from() {
    let mock = glance(false);
    let dir = config(&mock);
    let target = dir.path().join("my-schemas");
    let out = osimg(
        dir.path(),
        &["schema", "pull", "--out", target.to_str().unwrap()],
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (kind, text) in build_schemas() {
        let written =
            std::fs::read_to_string(target.join(format!("image/v2/{kind}.json"))).unwrap();
        let canonical = openstack_images::canonical_json(&serde_json::from_str(text).unwrap());
        assert_eq!(written, canonical, "{kind}");
    }
    assert_eq!(
        std::fs::read_to_string(target.join("compute/v2.1/image.json")).unwrap(),
        openstack_images::BUILD_COMPUTE_IMAGE_SCHEMA
    );
}
