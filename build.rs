//! Generates the crate's types from the schemas the servers publish, with the generator in
//! `codegen/` (`openstack-images-codegen`).
//!
//! Input: `schemas/` (or `$OPENSTACK_IMAGES_SCHEMA_DIR`): `image/v2/{image,member,task}.json`
//! and `image/v2/metadefs/{namespace,object,property,tag,resource_type}.json` as served by
//! Glance's `/v2/schemas/*`, and `compute/v2.1/image.json` written from Nova's responses.
//! Output: `$OUT_DIR/image_v2.rs`, `metadefs_v2.rs` and `compute_v2_1.rs`, reached only
//! through `src/generated.rs`; `$OUT_DIR/build_schemas.rs`, the exact text of every schema
//! file of the directory (the sixteen Glance ones it holds and Nova's), which
//! `openstack_images::build_schemas` serves for drift checks; and `$OUT_DIR/codegen_ms.txt`,
//! the time generation took (read by `cargo xtask bench`).
//!
//! `SOURCE` in the schema directory names the servers the schemas were pulled from (one
//! line, `Glance 33.0.0, Nova 34.0.0, OpenStack 2026.2`); it becomes
//! `openstack_images::SCHEMA_SOURCE` and part of `osimg --version`. A directory without one
//! (an operator's own pull) is "unrecorded".

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::Value;

fn main() {
    // One line that names the schema file and property, never a panic nor a rustc error
    // inside OUT_DIR: cargo shows it as `error: ...` and fails the build.
    if let Err(e) = run() {
        let line = e.replace(['\n', '\r'], " ");
        println!(
            "cargo::error=openstack-images: schemas in {}: {line}",
            schema_dir().display()
        );
    }
}

fn schema_dir() -> PathBuf {
    match env::var_os("OPENSTACK_IMAGES_SCHEMA_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap_or_default()).join("schemas"),
    }
}

fn run() -> Result<(), String> {
    let started = Instant::now();
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=OPENSTACK_IMAGES_SCHEMA_DIR");
    let dir = schema_dir();
    let out = PathBuf::from(env::var("OUT_DIR").map_err(|e| e.to_string())?);

    let image = load(&dir, "image/v2/image.json")?;
    let member = load(&dir, "image/v2/member.json")?;
    let task = load(&dir, "image/v2/task.json")?;
    let compute = load(&dir, "compute/v2.1/image.json")?;
    let source_path = dir.join("SOURCE");
    println!("cargo:rerun-if-changed={}", source_path.display());
    let source = fs::read_to_string(&source_path).unwrap_or_default();
    let source = match source.trim() {
        "" => "unrecorded",
        line => line,
    };
    println!("cargo:rustc-env=OPENSTACK_IMAGES_SCHEMA_SOURCE={source}");

    let image_code = openstack_images_codegen::image_v2(&image, &member, &task)?;
    write(
        &out.join("image_v2.rs"),
        &openstack_images_codegen::render(image_code)?,
    )?;
    let metadef = |name: &str| load(&dir, &format!("image/v2/metadefs/{name}.json"));
    let (namespace, object, property, tag, resource_type) = (
        metadef("namespace")?,
        metadef("object")?,
        metadef("property")?,
        metadef("tag")?,
        metadef("resource_type")?,
    );
    let metadefs_code = openstack_images_codegen::metadefs::metadefs_v2(
        &openstack_images_codegen::metadefs::MetadefSchemas {
            namespace: &namespace,
            object: &object,
            property: &property,
            tag: &tag,
            resource_type: &resource_type,
        },
    )?;
    write(
        &out.join("metadefs_v2.rs"),
        &openstack_images_codegen::render(metadefs_code)?,
    )?;
    let compute_code = openstack_images_codegen::compute_v2_1(&compute)?;
    write(
        &out.join("compute_v2_1.rs"),
        &openstack_images_codegen::render(compute_code)?,
    )?;
    write(&out.join("build_schemas.rs"), &embedded_schemas(&dir)?)?;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    fs::write(out.join("codegen_ms.txt"), format!("{elapsed_ms:.1}\n")).map_err(|e| e.to_string())
}

fn load(dir: &Path, relative: &str) -> Result<Value, String> {
    let path = dir.join(relative);
    println!("cargo:rerun-if-changed={}", path.display());
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Every schema Glance serves, by its path under `/v2/schemas/` (`SchemaKind::as_str`).
const GLANCE_SCHEMAS: [&str; 16] = [
    "image",
    "images",
    "member",
    "members",
    "task",
    "tasks",
    "metadefs/namespace",
    "metadefs/namespaces",
    "metadefs/object",
    "metadefs/objects",
    "metadefs/property",
    "metadefs/properties",
    "metadefs/tag",
    "metadefs/tags",
    "metadefs/resource_type",
    "metadefs/resource_types",
];

/// The schema files' exact text as Rust string literals: `GLANCE`, the Glance schemas the
/// directory holds (the ones types are generated from always, the lists when pulled too),
/// and `COMPUTE_IMAGE`. Written in the source, not `include_str!`ed, so no path of the
/// machine ends up in the code.
fn embedded_schemas(dir: &Path) -> Result<String, String> {
    println!("cargo:rerun-if-changed={}", dir.join("image/v2").display());
    let mut code = String::from("pub(crate) const GLANCE: &[(&str, &str)] = &[\n");
    for name in GLANCE_SCHEMAS {
        let path = dir.join(format!("image/v2/{name}.json"));
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        serde_json::from_str::<Value>(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        code.push_str(&format!("    ({name:?}, {text:?}),\n"));
    }
    let compute = dir.join("compute/v2.1/image.json");
    let compute =
        fs::read_to_string(&compute).map_err(|e| format!("{}: {e}", compute.display()))?;
    code.push_str(&format!(
        "];\npub(crate) const COMPUTE_IMAGE: &str = {compute:?};\n"
    ));
    Ok(code)
}

/// Writes only when the text changes, so dependants are not rebuilt for nothing.
fn write(path: &Path, text: &str) -> Result<(), String> {
    if fs::read_to_string(path).ok().as_deref() != Some(text) {
        fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}
