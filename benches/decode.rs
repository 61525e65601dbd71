//! Decoding one 1,000-image page of `GET /v2/images`: into the crate's typed [`Image`]
//! (plain serde_json, the crate's path; and through serde_path_to_error, which the crate
//! only uses to name the failing field once a decode failed), against `serde_json::Value`,
//! the in-process floor.
//!
//! `cargo bench --bench decode`. The page is `$BENCH_PAGE`, else `target/bench/page1000.json`
//! (fetched from the seeded stack by `cargo xtask bench`), else one generated
//! deterministically from the real page in `tests/fixtures/images_page.json`.
//!
//! A small hand-written timing loop rather than criterion: criterion (even without default
//! features) adds clap, regex, ciborium and plotters to every cold build of the workspace,
//! and `cargo xtask bench` only needs min and median per decode. The last line of output is
//! JSON for the xtask.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use openstack_images::Image;
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct ImagesBody {
    images: Vec<Image>,
}

/// Samples per case, bounded by time.
const MAX_SAMPLES: usize = 200;
const MAX_TIME: Duration = Duration::from_secs(3);

/// Decodes a page and returns how many images it held.
type Decode = dyn Fn(&[u8]) -> usize;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (bytes, source) = page(root);
    let items = serde_json::from_slice::<ImagesBody>(&bytes)
        .expect("the page decodes")
        .images
        .len();

    let cases: [(&str, &Decode); 3] = [
        ("value", &|b| {
            let v: Value = serde_json::from_slice(b).unwrap();
            v["images"].as_array().map_or(0, Vec::len)
        }),
        ("typed", &|b| {
            let body: ImagesBody = serde_json::from_slice(b).unwrap();
            body.images.len()
        }),
        ("typed_path_to_error", &|b| {
            let de = &mut serde_json::Deserializer::from_slice(b);
            let body: ImagesBody = serde_path_to_error::deserialize(de).unwrap();
            body.images.len()
        }),
    ];

    println!("decode: {} ({} bytes, {items} images)", source, bytes.len());
    let mut json = Vec::new();
    for (name, decode) in cases {
        let (min, median) = time(|| black_box(decode(black_box(&bytes))));
        let mbs = |s: f64| bytes.len() as f64 / s / 1e6;
        println!(
            "  {name:<20} min {:>8.3} ms  median {:>8.3} ms  {:>7.1} MB/s  {:>9.0} images/s",
            min * 1e3,
            median * 1e3,
            mbs(median),
            items as f64 / median
        );
        json.push(format!(
            "\"{name}\": {{\"min\": {min:.9}, \"median\": {median:.9}}}"
        ));
    }
    println!(
        "{{\"bytes\": {}, \"items\": {items}, {}}}",
        bytes.len(),
        json.join(", ")
    );
}

/// Min and median seconds of one call, after a warm-up.
fn time(mut f: impl FnMut() -> usize) -> (f64, f64) {
    for _ in 0..3 {
        f();
    }
    let started = Instant::now();
    let mut samples = Vec::new();
    while samples.len() < MAX_SAMPLES && (samples.len() < 10 || started.elapsed() < MAX_TIME) {
        let t = Instant::now();
        f();
        samples.push(t.elapsed().as_secs_f64());
    }
    samples.sort_by(f64::total_cmp);
    (samples[0], samples[samples.len() / 2])
}

/// The page to decode and where it came from.
fn page(root: &Path) -> (Vec<u8>, String) {
    let fetched = std::env::var_os("BENCH_PAGE")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/bench/page1000.json"));
    if let Ok(bytes) = std::fs::read(&fetched) {
        return (bytes, fetched.display().to_string());
    }
    let fixture = root.join("tests/fixtures/images_page.json");
    let text = std::fs::read(&fixture).expect("tests/fixtures/images_page.json");
    (
        generated_page(&text, 1000),
        format!("{n} images generated from {}", fixture.display(), n = 1000),
    )
}

/// A page of `n` images cycling through the fixture's real ones, each with its own id and
/// name, serialized compactly as Glance does.
fn generated_page(fixture: &[u8], n: usize) -> Vec<u8> {
    let page: Value = serde_json::from_slice(fixture).expect("the fixture is JSON");
    let real = page["images"].as_array().expect("the fixture has images");
    let images: Vec<Value> = (0..n)
        .map(|i| {
            let mut image = real[i % real.len()].clone();
            let id = format!("00000000-0000-4000-8000-{i:012x}");
            image["self"] = Value::String(format!("/v2/images/{id}"));
            image["file"] = Value::String(format!("/v2/images/{id}/file"));
            image["id"] = Value::String(id);
            image["name"] = Value::String(format!("bench-generated-{i:05}"));
            image
        })
        .collect();
    let last = images.last().and_then(|i| i["id"].as_str()).unwrap_or("");
    let body = serde_json::json!({
        "images": images,
        "first": "/v2/images?limit=1000",
        "next": format!("/v2/images?limit=1000&marker={last}"),
        "schema": "/v2/schemas/images",
    });
    serde_json::to_vec(&body).expect("serializable")
}
