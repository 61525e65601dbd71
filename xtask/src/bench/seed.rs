//! Reproducible bench data: images `bench-list-00000`.. with tags and custom properties
//! (reused across runs: only the missing ones are created), and a generated data file.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use futures_util::TryStreamExt;
use openstack_images::{
    Client, ContainerFormat, DiskFormat, ImageCreate, ImageListQuery, map_bounded,
};

/// Tag on every seeded list image; the listing that finds what already exists.
pub const SEED_TAG: &str = "bench-list";
/// Every set of seeded images, whatever a run measures: an image's tags never depend on
/// which run created it.
pub const SETS: [usize; 2] = [2000, 10_000];
/// Images created at once while seeding (Glance runs 4 threads).
const CONCURRENCY: usize = 8;

/// The tag of the first `n` seeded images (`bench-2k`, `bench-10k`).
pub fn set_tag(n: usize) -> String {
    format!("bench-{}k", n / 1000)
}

/// The sets an image belongs to: index `i` is in every set of at least `i + 1` images.
fn tags(i: usize) -> Vec<String> {
    let mut tags = vec![SEED_TAG.to_owned(), format!("bench-group-{}", i % 10)];
    tags.extend(SETS.iter().filter(|n| i < **n).map(|n| set_tag(*n)));
    tags
}

/// The image record of index `i`: the same every run.
fn image(i: usize) -> ImageCreate {
    let distros = [("ubuntu", "24.04"), ("cirros", "0.6.2"), ("fedora", "41")];
    let (distro, version) = distros[i % distros.len()];
    // Nova's `type` filter is the `image_type` property: the smallest set holding `i`.
    let smallest = SETS.iter().copied().filter(|n| i < *n).min().unwrap_or(0);
    ImageCreate::new(format!("{SEED_TAG}-{i:05}"))
        .disk_format(DiskFormat::Raw)
        .container_format(ContainerFormat::Bare)
        .min_disk(1 + (i % 20) as i64)
        .tags(tags(i))
        .property("os_distro", distro)
        .property("os_version", version)
        .property("hw_disk_bus", "virtio")
        .property("image_type", set_tag(smallest))
        .property("bench_index", i.to_string())
        .property("bench_team", format!("team-{}", i % 7))
        .property(
            "description",
            format!("bench image {i}: listed, never downloaded"),
        )
}

/// Makes sure images `0..want` exist, each once; returns how many were created.
///
/// Creates are not retried by the client (POST), and a loaded server drops some: missing
/// images are created again on the next pass, and a create that reached the server anyway
/// leaves a duplicate name, which is deleted (only seeded images carry the tag).
pub async fn images(client: &Client, want: usize) -> Result<usize> {
    let started = Instant::now();
    let mut created = 0;
    for pass in 1..=3 {
        let existing = by_name(client).await?;
        let extra: Vec<String> = existing
            .values()
            .flat_map(|ids| ids.iter().skip(1).cloned())
            .collect();
        if !extra.is_empty() {
            println!("seed: deleting {} duplicates", extra.len());
            for (id, r) in client.images().delete_many(extra, CONCURRENCY).await {
                r.with_context(|| format!("deleting duplicate {id}"))?;
            }
        }
        let missing: Vec<usize> = (0..want)
            .filter(|i| !existing.contains_key(&format!("{SEED_TAG}-{i:05}")))
            .collect();
        if missing.is_empty() {
            println!("seed: {want} list images present");
            return Ok(created);
        }
        println!(
            "seed: pass {pass}: creating {} of {want} list images",
            missing.len()
        );
        let images = client.images();
        let results = map_bounded(missing.iter().copied(), CONCURRENCY, |i| {
            let images = images.clone();
            let record = image(i);
            async move { images.create(record).await.map(drop) }
        })
        .await;
        let failed: Vec<String> = results
            .into_iter()
            .filter_map(|r| r.err().map(|e| e.to_string()))
            .collect();
        created += missing.len() - failed.len();
        if let Some(first) = failed.first() {
            println!("seed: {} creates failed, the first: {first}", failed.len());
        }
        println!(
            "seed: {created} images created in {:.1}s",
            started.elapsed().as_secs_f64()
        );
    }
    bail!("seeding: images still missing after 3 passes")
}

/// Seeded images by name: their ids.
async fn by_name(client: &Client) -> Result<HashMap<String, Vec<String>>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    let all: Vec<(String, String)> = client
        .images()
        .list_json(ImageListQuery::new().tag(SEED_TAG).page_size(1000))
        .try_filter_map(|v| async move {
            Ok(v["name"]
                .as_str()
                .zip(v["id"].as_str())
                .map(|(n, i)| (n.to_owned(), i.to_owned())))
        })
        .try_collect()
        .await
        .context("listing the seeded images")?;
    for (name, id) in all {
        out.entry(name).or_default().push(id);
    }
    Ok(out)
}

/// A file of `len` generated bytes (the 1 MiB block of examples/transfer.rs, repeated);
/// kept under target/bench between runs, rewritten when its size differs.
pub fn data_file(path: &Path, len: u64) -> Result<()> {
    if std::fs::metadata(path).is_ok_and(|m| m.len() == len) {
        return Ok(());
    }
    let block: Vec<u8> = (0..1u32 << 20).map(|i| (i * 7 + i / 4096) as u8).collect();
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut left = len;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        f.write_all(&block[..n])?;
        left -= n as u64;
    }
    f.flush()?;
    Ok(())
}
