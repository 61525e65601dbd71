//! Build costs: a cold dev build of the crate (default features) in its own target dir,
//! build.rs codegen time, and the rebuild after a schema edit.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use serde_json::Value;

use super::Ctx;

#[derive(Serialize, Debug)]
pub struct Builds {
    pub cold_secs: f64,
    /// The three longest units of the cold build: (unit, seconds).
    pub top_units: Vec<(String, f64)>,
    /// build.rs codegen of the cold build, from `$OUT_DIR/codegen_ms.txt`.
    pub codegen_ms: f64,
    /// Rebuild after editing one description in a copy of `schemas/`.
    pub schema_edit_secs: f64,
    pub schema_edit_codegen_ms: f64,
}

pub fn run(ctx: &Ctx) -> Result<Builds> {
    let dir = ctx.out.join("coldbuild");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    println!("build: cold cargo build --timings into {}", dir.display());
    let cold_secs = cargo_build(ctx, &dir, None, true)?;
    let top_units = top_units(&dir.join("cargo-timings/cargo-timing.html"))?;
    let codegen_ms = read_codegen_ms(&dir)?;

    let schemas = ctx.out.join("schemas-edit");
    if schemas.exists() {
        std::fs::remove_dir_all(&schemas)?;
    }
    copy_dir(&ctx.root.join("schemas"), &schemas)?;
    // Untimed: switching to the copy; then only the edit is measured.
    cargo_build(ctx, &dir, Some(&schemas), false)?;
    let image = schemas.join("image/v2/image.json");
    let text = std::fs::read_to_string(&image)?;
    let edited = text.replacen("\"description\": \"", "\"description\": \"Edited: ", 1);
    if edited == text {
        bail!("no description to edit in {}", image.display());
    }
    std::fs::write(&image, edited)?;
    let schema_edit_secs = cargo_build(ctx, &dir, Some(&schemas), false)?;
    let schema_edit_codegen_ms = read_codegen_ms(&dir)?;
    let b = Builds {
        cold_secs,
        top_units,
        codegen_ms,
        schema_edit_secs,
        schema_edit_codegen_ms,
    };
    println!("build: {b:?}");
    Ok(b)
}

/// `cargo build -p openstack-images` into `target_dir`; its wall time.
fn cargo_build(ctx: &Ctx, target_dir: &Path, schemas: Option<&Path>, timings: bool) -> Result<f64> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&ctx.root)
        .env("CARGO_TARGET_DIR", target_dir)
        .args(["build", "-p", "openstack-images"]);
    if timings {
        cmd.arg("--timings");
    }
    match schemas {
        Some(s) => cmd.env("OPENSTACK_IMAGES_SCHEMA_DIR", s),
        None => cmd.env_remove("OPENSTACK_IMAGES_SCHEMA_DIR"),
    };
    let started = Instant::now();
    let status = cmd.status().context("running cargo build")?;
    if !status.success() {
        bail!("cargo build into {} failed", target_dir.display());
    }
    Ok(started.elapsed().as_secs_f64())
}

/// The longest units of a `--timings` report (its `UNIT_DATA` array).
fn top_units(html: &Path) -> Result<Vec<(String, f64)>> {
    let text = std::fs::read_to_string(html).with_context(|| format!("{}", html.display()))?;
    let start = text
        .find("const UNIT_DATA = ")
        .context("no UNIT_DATA in the timings report")?
        + "const UNIT_DATA = ".len();
    let end = start + text[start..].find("];").context("UNIT_DATA end")? + 1;
    let units: Vec<Value> = serde_json::from_str(&text[start..end])?;
    let mut all: Vec<(String, f64)> = units
        .iter()
        .map(|u| {
            let target = u["target"].as_str().unwrap_or("").trim();
            let name = format!(
                "{} {}{}",
                u["name"].as_str().unwrap_or("?"),
                u["version"].as_str().unwrap_or(""),
                if target.is_empty() {
                    String::new()
                } else {
                    format!(" ({target})")
                }
            );
            (name, u["duration"].as_f64().unwrap_or(0.0))
        })
        .collect();
    all.sort_by(|a, b| b.1.total_cmp(&a.1));
    all.truncate(3);
    Ok(all)
}

/// codegen_ms.txt of the most recently written build-script output dir.
fn read_codegen_ms(target_dir: &Path) -> Result<f64> {
    let build = target_dir.join("debug/build");
    let mut newest: Option<(std::time::SystemTime, PathBuf)> = None;
    for entry in std::fs::read_dir(&build)? {
        let p = entry?.path().join("out/codegen_ms.txt");
        if let Ok(m) = std::fs::metadata(&p).and_then(|m| m.modified())
            && newest.as_ref().is_none_or(|(t, _)| m > *t)
        {
            newest = Some((m, p));
        }
    }
    let (_, p) = newest.context("no codegen_ms.txt under the build dir")?;
    let text = std::fs::read_to_string(&p)?;
    text.trim()
        .parse()
        .with_context(|| format!("{}: `{}`", p.display(), text.trim()))
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &dest)?;
        } else {
            std::fs::copy(entry.path(), &dest)?;
        }
    }
    Ok(())
}
