//! Image catalogs: `osimg catalog apply` (release build) against the same apply to one
//! cloud, against openstack-image-manager (which imports with web-download: Glance fetches
//! the source itself) and, for an `.xz` source, against `xz -dc FILE | curl -T -`; with peak
//! RSS, and the bytes the source server sent (a two-cloud apply must read its source once).
//!
//! The image is raw, with the mix of a real disk: random regions, zero regions and
//! low-entropy ones; it is made once under target/bench (with its `.xz`, `xz -T1 -1`) and
//! served by [`FileServer`], which answers `application/octet-stream` as mirrors do. Each
//! run applies a catalog with a name of its own, starting from a cloud without it; the
//! images are checked (active, every byte) and deleted, untimed, after each run.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use openstack_images::{Client, ContainerFormat, DiskFormat, ImageCreate, ImageListQuery};

use super::file_server::FileServer;
use super::proc::{self, Proc};
use super::{Ctx, Row};

/// Every image the section makes is named `PREFIX-...`, so leftovers are found by name
/// (incoming images are hidden and carry no catalog tag yet).
const PREFIX: &str = "bench-catalog";
/// Size of each of the versions in the several-images run.
const MULTI_BYTES: u64 = 256 << 20;
const MULTI_VERSIONS: usize = 4;

pub const TWO: &str = "osimg catalog apply, 2 clouds (local, local-plain)";
pub const ONE: &str = "osimg catalog apply, 1 cloud";
pub const OIM: &str = "openstack-image-manager (web-download), 1 cloud";
pub const XZ: &str = "osimg catalog apply, .xz source, 1 cloud";
pub const XZ_CURL: &str = "xz -dc FILE | curl -T - (image created first, token untimed)";
/// The machine's own cost of a second cloud: the same bytes by curl, unverified, to one
/// Glance and to both at once (the Glances hash what they store, and share the CPUs).
pub const CURL_ONE: &str = "curl -T - FILE, 1 cloud (image created first, unverified)";
pub const CURL_TWO: &str =
    "tee FILE into two curl -T -, 2 clouds at once (images created first, unverified)";
pub const MULTI: &str = "osimg catalog apply, 4 versions of 256 MiB, --parallel 2, 2 clouds";

const PEERS: [&str; 7] = [TWO, ONE, OIM, XZ, XZ_CURL, CURL_ONE, CURL_TWO];

/// The clouds the section writes to, each with an admin client to check and delete.
struct Clouds {
    local: Client,
    plain: Client,
}

pub fn run(ctx: &Ctx) -> Result<Vec<Row>> {
    let size = ctx.data_bytes;
    let dir = ctx.out.join("catalog-src");
    std::fs::create_dir_all(&dir)?;
    let raw = disk_file(&dir, size)?;
    let xz = xz_file(&raw)?;
    let multi = disk_file(&dir, size.min(MULTI_BYTES))?;
    let sums = [&raw, &xz, &multi]
        .map(|f| sha256(f))
        .into_iter()
        .collect::<Result<Vec<_>>>()?;
    let server = FileServer::start(&dir)?;
    let clouds = Clouds {
        local: ctx.client()?,
        plain: Client::from_cloud("local-plain")?,
    };
    delete_ours(ctx, &clouds, PREFIX)?;
    let (auth_body, token_url) = ctx.auth_body()?;
    let token = proc::run(
        &super::curl_token_argv(&auth_body, &token_url),
        None,
        &ctx.out,
    );
    let _ = std::fs::remove_file(&auth_body);
    let token = super::subject_token(&token?.stdout)?;

    let mut rows: Vec<Row> = PEERS
        .iter()
        .map(|p| Row::new("catalog", p, "whole process", size as f64, "bytes"))
        .collect();
    let src = |file: &Path, sum: &str| (server.url(&name_of(file)), sum.to_owned());
    let raw_src = src(&raw, &sums[0]);
    let xz_src = src(&xz, &sums[1]);
    for r in 0..ctx.repeats {
        for k in 0..PEERS.len() {
            let i = (k + r) % PEERS.len();
            let short = ["two", "one", "oim", "xz", "xzcurl", "curl1", "curl2"][i];
            let name = format!("{PREFIX}-{short}-{r}");
            let is_xz = matches!(PEERS[i], XZ | XZ_CURL);
            let source = if is_xz { &xz_src } else { &raw_src };
            server.take_served();
            let p = match PEERS[i] {
                XZ_CURL => curl_up(ctx, &clouds, &token, &xz, &name, Feed::Xz)?,
                CURL_ONE => curl_up(ctx, &clouds, &token, &raw, &name, Feed::One)?,
                CURL_TWO => curl_up(ctx, &clouds, &token, &raw, &name, Feed::Two)?,
                peer => {
                    let images = write_catalog(ctx, &name, &[("1", source)])?;
                    let argv = match peer {
                        OIM => oim_argv(ctx, &images),
                        TWO => osimg_argv(ctx, &images, &["local", "local-plain"], 1),
                        _ => osimg_argv(ctx, &images, &["local"], 1),
                    };
                    proc::run(&argv, None, &ctx.out)?
                }
            };
            let served = server.take_served();
            let in_plain = matches!(PEERS[i], TWO | CURL_TWO);
            check_and_delete(ctx, &clouds, &name, 1, size, in_plain)?;
            let read =
                served as f64 / std::fs::metadata(if i >= 3 { &xz } else { &raw })?.len() as f64;
            println!(
                "catalog [{}/{}] {:<66} {:>7.1} MB/s  rss {:?} KiB  source read {read:.2}x",
                r + 1,
                ctx.repeats,
                PEERS[i],
                size as f64 / p.secs / 1e6,
                p.rss_kib,
            );
            rows[i].push(p.secs, p.rss_kib, None);
            if !matches!(PEERS[i], XZ_CURL | CURL_ONE | CURL_TWO) {
                rows[i].source_read = Some(rows[i].source_read.map_or(read, |w| w.max(read)));
            }
        }
    }

    // Several images at once, for memory: run once, not a ratio.
    let multi_bytes = std::fs::metadata(&multi)?.len();
    let multi_src = src(&multi, &sums[2]);
    let versions: Vec<(String, (String, String))> = (1..=MULTI_VERSIONS)
        .map(|v| {
            let (url, sum) = multi_src.clone();
            (v.to_string(), (format!("{url}?v={v}"), sum))
        })
        .collect();
    let refs: Vec<(&str, &(String, String))> =
        versions.iter().map(|(v, s)| (v.as_str(), s)).collect();
    let name = format!("{PREFIX}-multi");
    let images = write_catalog(ctx, &name, &refs)?;
    server.take_served();
    let p = proc::run(
        &osimg_argv(ctx, &images, &["local", "local-plain"], 2),
        None,
        &ctx.out,
    )?;
    let served = server.take_served();
    check_and_delete(ctx, &clouds, &name, MULTI_VERSIONS, multi_bytes, true)?;
    let work = (multi_bytes * MULTI_VERSIONS as u64) as f64;
    let mut row = Row::new("catalog", MULTI, "whole process", work, "bytes");
    row.push(p.secs, p.rss_kib, None);
    row.source_read = Some(served as f64 / work);
    println!(
        "catalog {MULTI}: {:.1} s, rss {:?} KiB, source read {:.2}x",
        p.secs,
        p.rss_kib,
        served as f64 / work
    );
    rows.push(row);
    let _ = std::fs::remove_dir_all(ctx.out.join("catalog-images"));
    Ok(rows)
}

fn name_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `target/bench/catalog-src/disk-<MiB>M.raw`, made once: per MiB, 3 of 8 random, 3 zero,
/// 2 from a 16-symbol alphabet (about half compresses, as in a real cloud image).
fn disk_file(dir: &Path, len: u64) -> Result<PathBuf> {
    let path = dir.join(format!("disk-{}M.raw", len >> 20));
    if std::fs::metadata(&path).is_ok_and(|m| m.len() == len) {
        return Ok(path);
    }
    println!("catalog: making {}", path.display());
    let tmp = path.with_extension("tmp");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut block = vec![0u8; 1 << 20];
    let mut left = len;
    let mut i = 0u64;
    while left > 0 {
        match i % 8 {
            0..=2 => block
                .chunks_exact_mut(8)
                .for_each(|c| c.copy_from_slice(&next().to_le_bytes())),
            3..=5 => block.fill(0),
            _ => block.chunks_exact_mut(8).for_each(|c| {
                let v = next();
                for (k, b) in c.iter_mut().enumerate() {
                    *b = b"abcdefghij \n/._-"[((v >> (k * 4)) & 15) as usize];
                }
            }),
        }
        let n = left.min(block.len() as u64) as usize;
        f.write_all(&block[..n])?;
        left -= n as u64;
        i += 1;
    }
    f.into_inner()?.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

/// `FILE.xz` by `xz -T1 -1` (made once, about two minutes for 1 GiB on one core: -6 takes three times as long, for a file of about the same size since most of it is random).
fn xz_file(raw: &Path) -> Result<PathBuf> {
    let path = PathBuf::from(format!("{}.xz", raw.display()));
    if path.exists() {
        return Ok(path);
    }
    println!("catalog: compressing {} (xz -T1 -1, once)", raw.display());
    let tmp = path.with_extension("xz-tmp");
    let out = std::fs::File::create(&tmp)?;
    let status = Command::new("xz")
        .args(["-T1", "-1", "-c"])
        .arg(raw)
        .stdout(out)
        .status()
        .context("running xz")?;
    if !status.success() {
        bail!("xz failed ({status})");
    }
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

/// The file's sha256 (hex), cached beside it in `FILE.sha256`.
fn sha256(file: &Path) -> Result<String> {
    let cache = PathBuf::from(format!("{}.sha256", file.display()));
    let stale = |c: &Path| {
        let (Ok(c), Ok(f)) = (std::fs::metadata(c), std::fs::metadata(file)) else {
            return true;
        };
        c.modified().ok() < f.modified().ok()
    };
    if !stale(&cache) {
        return Ok(std::fs::read_to_string(&cache)?.trim().to_owned());
    }
    let out = Command::new("sha256sum").arg(file).output()?;
    let hex = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .context("sha256sum printed nothing")?
        .to_owned();
    std::fs::write(&cache, &hex)?;
    Ok(hex)
}

/// A folder with one catalog file (`--images DIR`): image `name`, not `multi`, its
/// versions (version, (url, sha256)).
fn write_catalog(ctx: &Ctx, name: &str, versions: &[(&str, &(String, String))]) -> Result<PathBuf> {
    let dir = ctx.out.join("catalog-images").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let mut y = format!(
        "images:\n  - name: {name}\n    enable: true\n    format: raw\n    login: ubuntu\n    \
         min_disk: 1\n    min_ram: 512\n    status: active\n    visibility: private\n    \
         multi: false\n    meta:\n      architecture: x86_64\n      hw_disk_bus: scsi\n      \
         hypervisor_type: qemu\n      os_distro: ubuntu\n      os_purpose: generic\n      replace_frequency: never\n      \
         uuid_validity: none\n      provided_until: none\n    \
         tags: [{PREFIX}]\n    versions:\n"
    );
    for (version, (url, sum)) in versions {
        let _ = write!(
            y,
            "      - version: '{version}'\n        url: {url}\n        checksum: sha256:{sum}\n        build_date: 2026-01-01\n"
        );
    }
    std::fs::write(dir.join("bench.yml"), y)?;
    Ok(dir)
}

fn osimg_argv(ctx: &Ctx, images: &Path, clouds: &[&str], parallel: usize) -> Vec<String> {
    let mut argv = vec![
        ctx.osimg().display().to_string(),
        "catalog".into(),
        "apply".into(),
        "--images".into(),
        images.display().to_string(),
        "--parallel".into(),
        parallel.to_string(),
    ];
    for c in clouds {
        argv.extend(["--cloud".into(), (*c).to_owned()]);
    }
    argv
}

/// openstack-image-manager ignores `--cloud` when `OS_AUTH_URL` is set; `env` execs it, so
/// `/usr/bin/time` still measures its process.
fn oim_argv(ctx: &Ctx, images: &Path) -> Vec<String> {
    [
        "env",
        "-u",
        "OS_AUTH_URL",
        "-u",
        "OS_CLOUD",
        &ctx.info.openstack_image_manager().display().to_string(),
        "--cloud",
        "local",
        "--images",
        &images.display().to_string(),
    ]
    .map(String::from)
    .to_vec()
}

/// What a curl peer sends.
#[derive(Clone, Copy, PartialEq)]
enum Feed {
    /// `xz -dc FILE | curl -T -` to `local`.
    Xz,
    /// `curl -T - < FILE` to `local`.
    One,
    /// `tee` of FILE into a `curl -T -` to each of `local` and `local-plain`.
    Two,
}

/// A curl peer uploading `file` into images named `name 1` it created first (untimed, as
/// its token).
fn curl_up(
    ctx: &Ctx,
    clouds: &Clouds,
    token: &str,
    file: &Path,
    name: &str,
    feed: Feed,
) -> Result<Proc> {
    let mut urls = Vec::new();
    let targets = [
        (&clouds.local, &ctx.info.glance_url),
        (&clouds.plain, &ctx.info.glance_plain_url),
    ];
    for (client, glance) in &targets[..if feed == Feed::Two { 2 } else { 1 }] {
        let image = ctx.rt.block_on(
            client.images().create(
                ImageCreate::new(format!("{name} 1"))
                    .disk_format(DiskFormat::Raw)
                    .container_format(ContainerFormat::Bare)
                    .tags([PREFIX]),
            ),
        )?;
        urls.push(format!("{glance}/v2/images/{}/file", image.id));
    }
    let put = |url: &str| {
        format!(
            "curl -sS -f -X PUT -T - -H 'Transfer-Encoding: chunked' -H 'Expect:' \
             -H 'Content-Type: application/octet-stream' -H \"X-Auth-Token: $TOKEN\" '{url}'"
        )
    };
    let f = file.display();
    let script = match feed {
        Feed::Xz => format!("xz -dc '{f}' | {}", put(&urls[0])),
        Feed::One => format!("{} < '{f}'", put(&urls[0])),
        // The second curl reads a fifo `tee` writes; the script fails if either curl does.
        Feed::Two => format!(
            "set -e; d=$(mktemp -d); trap 'rm -r \"$d\"' EXIT; mkfifo \"$d/p\"; \
             {} < \"$d/p\" & a=$!; tee \"$d/p\" < '{f}' | {}; wait $a",
            put(&urls[1]),
            put(&urls[0])
        ),
    };
    let argv = [
        "env".to_owned(),
        format!("TOKEN={token}"),
        "sh".into(),
        "-c".into(),
        script,
    ];
    proc::run(&argv, None, &ctx.out)
}

/// Images named `prefix...` in both clouds, any visibility, hidden or not.
fn ours(ctx: &Ctx, client: &Client, prefix: &str) -> Result<Vec<openstack_images::Image>> {
    let mut all = Vec::new();
    for hidden in [false, true] {
        let q = ImageListQuery::new().all_visibilities().os_hidden(hidden);
        all.extend(ctx.rt.block_on(client.images().list_all(q))?);
    }
    all.retain(|i| i.name.as_deref().is_some_and(|n| n.starts_with(prefix)));
    Ok(all)
}

/// Deletes what a failed run left behind.
fn delete_ours(ctx: &Ctx, clouds: &Clouds, prefix: &str) -> Result<()> {
    for client in [&clouds.local, &clouds.plain] {
        for image in ours(ctx, client, prefix)? {
            println!("catalog: deleting leftover {} {:?}", image.id, image.name);
            ctx.rt.block_on(client.images().delete(&image.id))?;
        }
    }
    Ok(())
}

/// Fails unless the run left `count` active images of `size` bytes named `name ...` in
/// `local` (and `local-plain` when `plain`); deletes them.
fn check_and_delete(
    ctx: &Ctx,
    clouds: &Clouds,
    name: &str,
    count: usize,
    size: u64,
    plain: bool,
) -> Result<()> {
    let prefix = format!("{name} ");
    let mut problems = Vec::new();
    for (cloud, client, want) in [
        ("local", &clouds.local, count),
        ("local-plain", &clouds.plain, if plain { count } else { 0 }),
    ] {
        let found = ours(ctx, client, &prefix)?;
        let good = found
            .iter()
            .filter(|i| {
                i.status == Some(openstack_images::ImageStatus::Active)
                    && i.size == Some(size as i64)
            })
            .count();
        if good != want || found.len() != want {
            problems.push(format!(
                "{cloud}: {} images named {prefix:?}..., {good} active with {size} bytes, \
                 want {want}",
                found.len()
            ));
        }
        for image in found {
            ctx.rt.block_on(client.images().delete(&image.id))?;
        }
    }
    if !problems.is_empty() {
        bail!("catalog: {}", problems.join("; "));
    }
    Ok(())
}

fn find<'a>(rows: &'a [Row], peer: &str) -> Option<&'a Row> {
    rows.iter()
        .find(|r| r.section == "catalog" && r.peer == peer)
}

/// The catalog section's targets: (target, measured, met).
pub fn targets(rows: &[Row]) -> Vec<(String, String, bool)> {
    let mut t = Vec::new();
    let ratio = |a: &Row, b: &Row| (a.median / b.median, a.min / b.min);
    if let (Some(two), Some(one)) = (find(rows, TWO), find(rows, ONE)) {
        let (med, min) = ratio(two, one);
        t.push((
            "catalog: 1 image to 2 clouds <= 1.15x the time of the same apply to 1 cloud".into(),
            format!("{med:.2}x (min {min:.2}x)"),
            med <= 1.15,
        ));
    }
    if let Some(two) = find(rows, TWO)
        && let Some(read) = two.source_read
    {
        t.push((
            "catalog: 2 clouds read the source once (bytes served / file size, worst run = 1.00)"
                .into(),
            format!("{read:.4}"),
            (read - 1.0).abs() < 1e-9,
        ));
    }
    if let (Some(one), Some(oim)) = (find(rows, ONE), find(rows, OIM)) {
        let (med, min) = ratio(one, oim);
        t.push((
            "catalog: osimg (streamed, verified) < 1.0x the time of openstack-image-manager \
             (web-download, unverified), 1 cloud"
                .into(),
            format!("{med:.2}x (min {min:.2}x)"),
            med < 1.0,
        ));
    }
    if let (Some(two), Some(one)) = (find(rows, CURL_TWO), find(rows, CURL_ONE)) {
        let (med, min) = ratio(two, one);
        t.push((
            "catalog, for reference (no target): unverified curl to 2 clouds at once vs 1 cloud, \
             the machine's own cost of a second Glance"
                .into(),
            format!("{med:.2}x (min {min:.2}x)"),
            true,
        ));
    }
    if let (Some(xz), Some(curl)) = (find(rows, XZ), find(rows, XZ_CURL)) {
        // Speed: the pipeline's time over osimg's.
        let (med, min) = ratio(curl, xz);
        t.push((
            "catalog: .xz source, osimg >= 0.9x the speed of xz -dc | curl -T -".into(),
            format!("{med:.2}x (min {min:.2}x)"),
            med >= 0.9,
        ));
    }
    let peak = rows
        .iter()
        .filter(|r| r.section == "catalog" && r.peer.starts_with("osimg"))
        .filter_map(|r| r.rss_kib)
        .max();
    if let Some(kib) = peak {
        let mib = kib as f64 / 1024.0;
        t.push((
            "catalog: osimg peak RSS <= 64 MiB (every apply above, 4 versions x 2 clouds too)"
                .into(),
            format!("{mib:.1} MiB"),
            mib <= 64.0,
        ));
    }
    t
}

/// The section's table: times against the one-cloud apply.
pub fn table(rs: &[&Row]) -> String {
    let mut md = String::new();
    let Some(base) = rs.iter().find(|r| r.peer == ONE).or(rs.first()) else {
        return md;
    };
    let _ = writeln!(
        md,
        "{:.0} MiB image (raw: random, zero and low-entropy regions; `.xz` by xz -T1 -1), served \
         from 127.0.0.1 as application/octet-stream. vs = time over `{}`. Source read = body bytes \
         the source server sent / the served file's size (worst run).\n\n| client | timed | min s \
         | median s | MB/s (median, per cloud) | peak RSS MiB | source read | time vs 1 cloud |\n\
         |---|---|---:|---:|---:|---:|---:|---:|",
        base.work / f64::from(1 << 20),
        base.peer
    );
    for r in rs {
        let rss = r
            .rss_kib
            .map_or("-".into(), |k| format!("{:.0}", k as f64 / 1024.0));
        let read = match (r.source_read, r.peer.as_str()) {
            (_, XZ_CURL | CURL_ONE | CURL_TWO) => "local file".into(),
            (Some(x), XZ) => format!("{x:.2} (of the .xz)"),
            (Some(x), _) => format!("{x:.2}"),
            (None, _) => "-".into(),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {:.2} | {:.2} | {:.1} | {rss} | {read} | {:.2}x (min {:.2}x) |",
            r.peer.replace('|', "\\|"),
            r.timed,
            r.min,
            r.median,
            r.rate() / 1e6,
            r.median / base.median,
            r.min / base.min
        );
    }
    md
}
