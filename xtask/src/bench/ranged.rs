//! Parallel ranged downloads (`osimg image save --parallel 4`) against one stream: through a
//! proxy that limits each connection's rate, where they should help, and direct, where they
//! must not hurt. Same image, same process, same run; rows alternate order.

use anyhow::{Context, Result, bail};
use openstack_images::{ContainerFormat, DataSource, DiskFormat, ImageCreate};

use super::proc::{self, Proc};
use super::{Ctx, Row, seed, throttle};

/// Each proxied connection's rate: well under what one stream reaches direct.
pub const THROTTLE_BYTES_PER_SEC: u64 = 32 << 20;
/// Ranged requests in flight in the parallel rows.
pub const PARALLEL: &str = "4";
/// Largest image the section moves: the throttled single stream takes size / 32 MiB/s.
const MAX_BYTES: u64 = 256 << 20;

pub const SINGLE_DIRECT: &str = "osimg image save, one stream, direct";
pub const PARALLEL_DIRECT: &str = "osimg image save --parallel 4, direct";
pub const SINGLE_THROTTLED: &str = "osimg image save, one stream, 32 MiB/s per connection";
pub const PARALLEL_THROTTLED: &str = "osimg image save --parallel 4, 32 MiB/s per connection";

pub fn run(ctx: &Ctx) -> Result<Vec<Row>> {
    let bytes = ctx.data_bytes.min(MAX_BYTES);
    let file = ctx.out.join("ranged.bin");
    seed::data_file(&file, bytes)?;
    let client = ctx.client()?;
    let image = ctx.rt.block_on(
        client
            .images()
            .create_with_data(
                ImageCreate::new("bench-ranged")
                    .disk_format(DiskFormat::Raw)
                    .container_format(ContainerFormat::Bare),
                DataSource::file(&file),
            )
            .send(),
    )?;
    let result = measure(ctx, &image.id, bytes);
    ctx.rt.block_on(client.images().delete(&image.id))?;
    let _ = std::fs::remove_file(ctx.out.join("ranged-save.bin"));
    result
}

fn measure(ctx: &Ctx, id: &str, bytes: u64) -> Result<Vec<Row>> {
    let glance: std::net::SocketAddr = ctx
        .info
        .glance_url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .context("the stack's Glance address")?;
    let proxy = throttle::start(&ctx.rt, glance, THROTTLE_BYTES_PER_SEC)?;
    let throttled = throttled_clouds_yaml(ctx, &format!("http://{proxy}/v2"))?;
    let direct = ctx.info.clouds_yaml.clone();
    let runs: [(&str, &std::path::Path, &str); 4] = [
        (SINGLE_DIRECT, &direct, "1"),
        (PARALLEL_DIRECT, &direct, PARALLEL),
        (SINGLE_THROTTLED, &throttled, "1"),
        (PARALLEL_THROTTLED, &throttled, PARALLEL),
    ];
    let mut rows: Vec<Row> = runs
        .iter()
        .map(|(name, _, _)| {
            Row::new(
                "ranged download",
                name,
                "whole process",
                bytes as f64,
                "bytes",
            )
        })
        .collect();
    // Warm-up: the image's file is read once before any timed run.
    save(ctx, &direct, id, "1", bytes)?;
    for r in 0..ctx.repeats {
        for k in 0..runs.len() {
            let i = (k + r) % runs.len();
            let (name, yaml, n) = runs[i];
            let p = save(ctx, yaml, id, n, bytes)?;
            println!(
                "ranged [{}/{}] {name:<55} {:>7.1} MB/s  rss {:?} KiB",
                r + 1,
                ctx.repeats,
                bytes as f64 / p.secs / 1e6,
                p.rss_kib
            );
            rows[i].push(p.secs, p.rss_kib, None);
        }
    }
    let _ = std::fs::remove_file(&throttled);
    Ok(rows)
}

/// One `osimg image save --parallel n` with the clouds.yaml given; checks the size written.
fn save(ctx: &Ctx, clouds: &std::path::Path, id: &str, n: &str, bytes: u64) -> Result<Proc> {
    let to = ctx.out.join("ranged-save.bin");
    let argv = [
        "env".into(),
        format!("OS_CLIENT_CONFIG_FILE={}", clouds.display()),
        ctx.osimg().display().to_string(),
        "image".into(),
        "save".into(),
        id.into(),
        "--file".into(),
        to.display().to_string(),
        "--parallel".into(),
        n.into(),
    ];
    let p = proc::run(&argv, None, &ctx.out)?;
    let len = std::fs::metadata(&to)?.len();
    if len != bytes {
        bail!("osimg image save --parallel {n} wrote {len} bytes, expected {bytes}");
    }
    std::fs::remove_file(&to)?;
    Ok(p)
}

/// The stack's clouds.yaml with cloud `local` reaching Glance at `image_url` (the proxy).
fn throttled_clouds_yaml(ctx: &Ctx, image_url: &str) -> Result<std::path::PathBuf> {
    let text = std::fs::read_to_string(&ctx.info.clouds_yaml)?;
    let mut out = String::new();
    for line in text.lines() {
        out.push_str(line);
        out.push('\n');
        if line == "  local:" {
            out.push_str(&format!("    image_endpoint_override: {image_url}\n"));
        }
    }
    if !out.contains("image_endpoint_override") {
        bail!("no cloud `local` in {}", ctx.info.clouds_yaml.display());
    }
    let path = ctx.out.join("clouds-throttled.yaml");
    std::fs::write(&path, out)?;
    Ok(path)
}

/// The ranged section's targets: (target, measured, met).
pub fn targets(rows: &[Row]) -> Vec<(String, String, bool)> {
    let find = |peer: &str| {
        rows.iter()
            .find(|r| r.section == "ranged download" && r.peer == peer)
    };
    let mut t = Vec::new();
    if let (Some(one), Some(par)) = (find(SINGLE_THROTTLED), find(PARALLEL_THROTTLED)) {
        let speedup = one.median / par.median;
        t.push((
            "ranged: --parallel 4 >= 2.5x faster than one stream at 32 MiB/s per connection".into(),
            format!("{speedup:.2}x (min {:.2}x)", one.min / par.min),
            speedup >= 2.5,
        ));
    }
    if let (Some(one), Some(par)) = (find(SINGLE_DIRECT), find(PARALLEL_DIRECT)) {
        let cost = par.median / one.median;
        t.push((
            "ranged: --parallel 4 direct <= 1.05x the time of one stream (never hurts)".into(),
            format!("{cost:.2}x (min {:.2}x)", par.min / one.min),
            cost <= 1.05,
        ));
    }
    if let Some(kib) = find(PARALLEL_DIRECT).and_then(|r| r.rss_kib) {
        let mib = kib as f64 / 1024.0;
        t.push((
            "ranged: --parallel 4 peak RSS <= 32 MiB ((4 + 1) x 2 MiB segments in flight, 2 MiB handed on)".into(),
            format!("{mib:.1} MiB"),
            mib <= 32.0,
        ));
    }
    t
}
