//! The code generated from `schemas/` (see `build.rs`), offline:
//!
//! - snapshots: the generated files equal `tests/snapshots/*.rs.txt`, so any change to the
//!   generator or the schemas shows up as a reviewable diff (bless with
//!   `OPENSTACK_IMAGES_BLESS=1 cargo test --test codegen`);
//! - a schema variant: a throwaway crate built against a modified schema directory
//!   (`OPENSTACK_IMAGES_SCHEMA_DIR`) can use a new property and a new enum value with no
//!   hand-written code at all, compiles and round-trips every hostile property of
//!   `tests/fixtures/hostile-schemas/combined/` (one build for all of them), and, lacking a
//!   property and an enum value of the committed schema, reports that drift (and the new
//!   ones) against the committed files with the crate's own comparison.

use serde_json::{Value, json};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const BLESS_ENV: &str = "OPENSTACK_IMAGES_BLESS";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Compares `actual` with the snapshot file, or rewrites it when blessing.
fn snapshot(name: &str, actual: &str) {
    let path = root().join("tests/snapshots").join(name);
    if std::env::var_os(BLESS_ENV).is_some_and(|v| !v.is_empty() && v != "0") {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        if fs::read_to_string(&path).ok().as_deref() != Some(actual) {
            fs::write(&path, actual).unwrap();
            eprintln!("blessed {}", path.display());
        }
        return;
    }
    let expected = fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}\nrun `{BLESS_ENV}=1 cargo test --test codegen` to create it",
            path.display()
        )
    });
    if expected == actual {
        return;
    }
    panic!(
        "the generated code differs from {}:\n{}\nIf the change is intended (new schemas, a \
         generator change), review it and run `{BLESS_ENV}=1 cargo test --test codegen`.",
        path.display(),
        first_difference(&expected, actual)
    );
}

/// The first differing line, with a little context from both sides.
fn first_difference(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let i = e
        .iter()
        .zip(&a)
        .position(|(x, y)| x != y)
        .unwrap_or(e.len().min(a.len()));
    let from = i.saturating_sub(2);
    let show = |lines: &[&str]| {
        lines
            .iter()
            .enumerate()
            .skip(from)
            .take(i - from + 6)
            .map(|(n, l)| format!("{}{:>6} | {l}", if n == i { ">" } else { " " }, n + 1))
            .collect::<Vec<_>>()
            .join("\n")
    };
    format!(
        "first difference at line {} (snapshot {} lines, generated {} lines)\n--- snapshot\n{}\n+++ generated\n{}",
        i + 1,
        e.len(),
        a.len(),
        show(&e),
        show(&a)
    )
}

#[test]
fn generated_image_v2_matches_snapshot() {
    snapshot(
        "image_v2.rs.txt",
        include_str!(concat!(env!("OUT_DIR"), "/image_v2.rs")),
    );
}

#[test]
fn generated_metadefs_v2_matches_snapshot() {
    snapshot(
        "metadefs_v2.rs.txt",
        include_str!(concat!(env!("OUT_DIR"), "/metadefs_v2.rs")),
    );
}

#[test]
fn generated_compute_v2_1_matches_snapshot() {
    snapshot(
        "compute_v2_1.rs.txt",
        include_str!(concat!(env!("OUT_DIR"), "/compute_v2_1.rs")),
    );
}

#[test]
fn first_difference_points_at_the_line() {
    let msg = first_difference("a\nb\nc\n", "a\nB\nc\n");
    assert!(msg.contains("first difference at line 2"), "{msg}");
    assert!(
        msg.contains(">     2 | b") && msg.contains(">     2 | B"),
        "{msg}"
    );
}

// ------------------------------------------------------------------------------------------
// A crate built against a modified schema directory.

/// Writes `text` unless the file already holds it, so mtimes (and cargo's fingerprints of
/// the build script's inputs) only move when the content does.
fn write_if_changed(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    if fs::read_to_string(path).ok().as_deref() != Some(text) {
        fs::write(path, text).unwrap();
    }
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if src.is_dir() {
            copy_tree(&src, &dst);
        } else {
            write_if_changed(&dst, &fs::read_to_string(&src).unwrap());
        }
    }
}

/// The committed schemas with the hostile corpus's image schema, plus a new operator
/// property and a new `disk_format` value, less `os_version` and the `container_format`
/// value `ova`.
fn variant_schemas(dir: &Path) {
    copy_tree(&root().join("schemas"), dir);
    copy_tree(&root().join("tests/fixtures/hostile-schemas/combined"), dir);
    let path = dir.join("image/v2/image.json");
    let mut image: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    image["properties"]["hw_new_feature"] = json!({
        "type": "string",
        "enum": ["on", "off"],
        "description": "x",
        "is_base": false
    });
    image["properties"]["disk_format"]["enum"]
        .as_array_mut()
        .expect("disk_format has an enum")
        .push(json!("vhdz"));
    let props = image["properties"].as_object_mut().unwrap();
    assert!(props.remove("os_version").is_some());
    let formats = props["container_format"]["enum"].as_array_mut().unwrap();
    let before = formats.len();
    formats.retain(|v| v != "ova");
    assert_eq!(formats.len(), before - 1);
    let mut text = serde_json::to_string_pretty(&image).unwrap();
    text.push('\n');
    write_if_changed(&path, &text);
}

const VARIANT_MAIN: &str = r##"use openstack_images::{
    DiskFormat, HwNewFeature, HwNicModel, Image, ImageCreate, ImageListQuery, ImagePatch,
};

fn main() {
    let image: Image = serde_json::from_str(
        r#"{"id": "1", "hw_new_feature": "on", "disk_format": "vhdz"}"#,
    )
    .unwrap();
    let feature: Option<HwNewFeature> = image.hw_new_feature.clone();
    assert_eq!(feature, Some(HwNewFeature::On));
    assert_eq!(image.disk_format, Some(DiskFormat::Vhdz));
    assert!(image.extra.is_empty(), "{:?}", image.extra);
    assert!(openstack_images::OPERATOR_PROPERTIES.contains(&"hw_new_feature"));

    let create = ImageCreate::new("x").hw_new_feature(HwNewFeature::On);
    assert_eq!(create.properties()["hw_new_feature"], "on");
    create.validate().unwrap();
    let bad = ImageCreate::new("x").property("hw_new_feature", "sideways");
    assert!(bad.validate().is_err());

    let query = ImageListQuery::new().hw_new_feature_eq("on");
    let shown = format!("{query:?}");
    assert!(shown.contains(r#"("hw_new_feature", "on")"#), "{shown}");
    hostile();
    drift();
    println!("variant ok");
}

/// This build's schema against the committed one (a cloud serving it): what the build
/// lacks is added on the cloud's side, what it has more is removed there.
fn drift() {
    use openstack_images::{SchemaChange, SchemaKind, build_schema, compare_schemas};
    let dir = std::env::var("COMMITTED_SCHEMAS").unwrap();
    let path = format!("{dir}/image/v2/image.json");
    let served: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let built: serde_json::Value =
        serde_json::from_str(build_schema(SchemaKind::Image).unwrap()).unwrap();
    assert!(built["properties"]["hw_new_feature"].is_object(), "the variant's own schema");
    let changes = compare_schemas(&built, &served);
    for expected in [
        SchemaChange::PropertyAdded {
            property: "os_version".into(),
            served: served["properties"]["os_version"].clone(),
        },
        SchemaChange::EnumValueAdded { property: "container_format".into(), value: "ova".into() },
        SchemaChange::PropertyRemoved {
            property: "hw_new_feature".into(),
            built: built["properties"]["hw_new_feature"].clone(),
        },
        SchemaChange::EnumValueRemoved { property: "disk_format".into(), value: "vhdz".into() },
    ] {
        assert!(changes.contains(&expected), "{expected:?} not in {changes:#?}");
    }
    assert!(compare_schemas(&served, &served).is_empty());
}

/// Every hostile property of the corpus lands in a typed field (`extra` stays empty) and
/// comes back as sent.
fn hostile() {
    let sent = serde_json::json!({
        "id": "1", "os_distro": "a", "os-distro": "b", "OS_DISTRO": "c", "gen": "d",
        "type": "e", "self": "f", "Self": "g", "crate": "h", "super": "i", "async": "j",
        "extra": "k", "new": "l", "validate": "m", "properties": "n", "property": "o",
        "default": "p", "member_status": "shared", "task_type": "weekly", "image": "golden",
        "image_status": "broken", "hw_nic_model": "say \"hi\"", "hw_ratio": 0.25,
        "hw_weights": [1, 2.5, -0.125, 1e300],
        "hw_topology": {"a-b": "x", "a_b": 7, "gen": true, "inner": {"ratio": 1.5, "kind": "X"}},
        "größe": "q", "9lives": "r", "": "s", "say \"hi\"": "t", "back\\slash": "u",
        "hw_mixed": 3, "hw_fence": "v"
    });
    let image: Image = serde_json::from_value(sent.clone()).unwrap();
    assert!(image.extra.is_empty(), "{:?}", image.extra);
    assert_eq!(serde_json::to_value(&image).unwrap(), sent);
    // The plain names, and keywords with their `_`.
    assert_eq!(image.os_distro.as_deref(), Some("a"));
    assert_eq!(image.gen_.as_deref(), Some("d"));
    assert_eq!(image.type_.as_deref(), Some("e"));
    assert_eq!(image.crate_.as_deref(), Some("h"));
    assert_eq!(image.hw_ratio, serde_json::Number::from_f64(0.25));
    let nic = image.hw_nic_model.clone().unwrap();
    assert!(nic.is_known() && nic.as_str() == "say \"hi\"");
    assert_eq!(HwNicModel::VALUES.len(), 7);
    for value in HwNicModel::VALUES {
        let parsed: HwNicModel = value.parse().unwrap();
        assert!(parsed.is_known() && parsed.as_str() == *value, "{value}");
    }
    // Glance's own enums keep their names and values.
    let member: openstack_images::Member =
        serde_json::from_str(r#"{"member_id": "p", "status": "accepted"}"#).unwrap();
    assert_eq!(member.status, Some(openstack_images::MemberStatus::Accepted));
    // A float is written and validated as a number.
    let create = ImageCreate::new("x").hw_ratio(0.5).gen_("y").type_("z");
    create.validate().unwrap();
    assert_eq!(create.properties()["hw_ratio"], 0.5);
    assert!(ImageCreate::new("x").property_value("hw_ratio", "0.5".into()).validate().is_err());
    let _ = ImagePatch::new().add_gen("y").replace_hw_ratio(1.5).remove_type();
    let _ = ImageListQuery::new().gen_eq("y").hw_ratio_eq(0.5);
}
"##;

/// The `compiler-artifact` / `build-script-executed` lines of `cargo build
/// --message-format=json`: the variant's binary and the crate's OUT_DIR.
fn artifacts(stdout: &str) -> (Option<PathBuf>, Option<PathBuf>) {
    let (mut exe, mut out_dir) = (None, None);
    for line in stdout.lines() {
        let Ok(msg) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let pkg = msg["package_id"].as_str().unwrap_or_default();
        match msg["reason"].as_str() {
            Some("compiler-artifact") if msg["target"]["name"] == "schema-variant" => {
                exe = msg["executable"].as_str().map(PathBuf::from);
            }
            Some("build-script-executed") if pkg.contains("openstack-images") => {
                out_dir = msg["out_dir"].as_str().map(PathBuf::from);
            }
            _ => {}
        }
    }
    (exe, out_dir)
}

/// One test, so the extra build happens once. Everything lives under
/// `target/schema-variant/` at fixed paths, so a rerun only rebuilds what changed (the first
/// run compiles the dependencies once, a minute or two).
#[test]
fn a_schema_change_reaches_the_api_without_hand_written_code() {
    let base = root().join("target/schema-variant");
    let schemas = base.join("work/schemas");
    let krate = base.join("work/crate");
    variant_schemas(&schemas);

    let manifest = format!(
        "[package]\nname = \"schema-variant\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [dependencies]\nopenstack-images = {{ path = {:?} }}\nserde_json = \"1\"\n\n[workspace]\n",
        root().display().to_string()
    );
    write_if_changed(&krate.join("Cargo.toml"), &manifest);
    write_if_changed(&krate.join("src/main.rs"), VARIANT_MAIN);
    // The workspace's lock file, fresh each run: the same dependency versions as the
    // workspace, resolvable offline (cargo prunes what the variant does not use).
    fs::copy(root().join("Cargo.lock"), krate.join("Cargo.lock")).unwrap();

    let output = Command::new(env!("CARGO"))
        .args(["build", "--offline", "--message-format=json"])
        .current_dir(&krate)
        .env("OPENSTACK_IMAGES_SCHEMA_DIR", &schemas)
        .env("CARGO_TARGET_DIR", &base)
        .output()
        .expect("running cargo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "building the variant crate failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr),
        stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|m| m["message"]["rendered"].as_str().map(str::to_owned))
            .collect::<String>()
    );

    let (exe, out_dir) = artifacts(&stdout);
    // Not vacuous: the generated code of this build carries the new property and value,
    // and the committed schemas do not.
    let out_dir = out_dir.expect("cargo reported the crate's OUT_DIR");
    let generated = fs::read_to_string(out_dir.join("image_v2.rs")).unwrap();
    assert!(generated.contains("pub hw_new_feature: ::std::option::Option<HwNewFeature>"));
    assert!(generated.contains("\"vhdz\" => DiskFormat::Vhdz"));
    assert!(generated.contains("pub fn hw_new_feature_eq("));
    let ours = include_str!(concat!(env!("OUT_DIR"), "/image_v2.rs"));
    assert!(!ours.contains("hw_new_feature") && !ours.contains("Vhdz"));
    // And what it lacks is gone from it.
    for gone in ["pub os_version: ", "\"ova\" => ContainerFormat::Ova"] {
        assert!(ours.contains(gone) && !generated.contains(gone), "{gone}");
    }
    // The hostile corpus: suffixed names for what folds or is reserved, with renames.
    for part in [
        "pub gen_: ::std::option::Option<::std::string::String>",
        "pub hw_ratio: ::std::option::Option<::serde_json::Number>",
        "rename = \"os-distro\"",
        "rename = \"extra\"",
        "pub enum HwNicModel {",
        "pub struct ImageHwTopology {",
        "kind: crate::runtime::ValueKind::Number",
    ] {
        assert!(
            generated.contains(part),
            "{part} missing from the hostile build"
        );
    }
    assert!(generated.contains("pub enum MemberStatusX") && generated.contains("pub enum ImageX"));

    // And the program using them runs: decoding, the create builder, validation.
    let exe = exe.expect("cargo reported the variant's executable");
    let run = Command::new(&exe)
        .env("COMMITTED_SCHEMAS", root().join("schemas"))
        .output()
        .expect("running the variant");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&run.stdout).trim(), "variant ok");
}
