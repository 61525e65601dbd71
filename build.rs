//! Generates the crate's types from the schemas the servers publish, with the generator in
//! `codegen/` (`openstack-images-codegen`).
//!
//! Input: `schemas/` (or `$OPENSTACK_IMAGES_SCHEMA_DIR`): `image/v2/{image,member,task}.json`
//! and `image/v2/metadefs/{namespace,object,property,tag,resource_type}.json` as served by
//! Glance's `/v2/schemas/*`, and `compute/v2.1/image.json` written from Nova's responses.
//! Output: `$OUT_DIR/image_v2.rs`, `metadefs_v2.rs` and `compute_v2_1.rs`, reached only
//! through `src/generated.rs`, and `$OUT_DIR/codegen_ms.txt`, the time generation took (read
//! by `cargo xtask bench`).
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
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    fs::write(out.join("codegen_ms.txt"), format!("{elapsed_ms:.1}\n")).map_err(|e| e.to_string())
}

fn load(dir: &Path, relative: &str) -> Result<Value, String> {
    let path = dir.join(relative);
    println!("cargo:rerun-if-changed={}", path.display());
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Writes only when the text changes, so dependants are not rebuilt for nothing.
fn write(path: &Path, text: &str) -> Result<(), String> {
    if fs::read_to_string(path).ok().as_deref() != Some(text) {
        fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}
