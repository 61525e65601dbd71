//! Cross-cloud copy: `osimg image copy --to-cloud` (streamed, verified on both sides) against
//! curl piped into `curl -T -` (streamed, unverified) and a save to a file then a create from
//! it (what `openstack image save` + `openstack image create` do), with peak RSS. The stack
//! is one cloud: its `local-demo` project stands in for the other cloud.

use std::fmt::Write;

use anyhow::{Result, bail};
use openstack_images::{ContainerFormat, DataSource, DiskFormat, ImageCreate, ImageListQuery};

use super::proc::{self, Proc};
use super::{Ctx, Row, seed};

/// Tag of the source image; copies carry it, so leftovers are found by it.
const COPY_TAG: &str = "bench-copy";
/// Largest image the section moves (each run moves it three times, twice through Glance's
/// upload).
const MAX_BYTES: u64 = 512 << 20;

pub const OSIMG: &str = "osimg image copy --to-cloud (verified both sides)";
pub const CURL_PIPE: &str = "curl piped into curl -T -, own 2 tokens (not verified)";
pub const SAVE_CREATE: &str = "osimg image save, then image create --file (via disk)";

pub fn run(ctx: &Ctx) -> Result<Vec<Row>> {
    let bytes = ctx.data_bytes.min(MAX_BYTES);
    let file = ctx.out.join("copy.bin");
    seed::data_file(&file, bytes)?;
    let admin = ctx.client()?;
    delete_tagged(ctx, &admin)?;
    let source = ctx.rt.block_on(
        admin
            .images()
            .create_with_data(
                ImageCreate::new(COPY_TAG)
                    .disk_format(DiskFormat::Raw)
                    .container_format(ContainerFormat::Bare)
                    .tags([COPY_TAG]),
                DataSource::file(&file),
            )
            .send(),
    )?;
    // The curl pipe fetches its own two tokens, as osimg authenticates to both clouds.
    let auth = ctx.auth_body()?;
    let peers = [OSIMG, CURL_PIPE, SAVE_CREATE];
    let mut rows: Vec<Row> = peers
        .iter()
        .map(|p| Row::new("copy", p, "whole process", bytes as f64, "bytes"))
        .collect();
    let result = (|| -> Result<()> {
        for r in 0..ctx.repeats {
            for k in 0..peers.len() {
                let i = (k + r) % peers.len();
                let (p, copy_id) = copy(ctx, &admin, &auth, peers[i], &source.id)?;
                let copied = ctx.rt.block_on(admin.images().get(&copy_id));
                ctx.rt.block_on(admin.images().delete(&copy_id))?;
                if copied?.os_hash_value != source.os_hash_value {
                    bail!(
                        "{}: the copy's os_hash_value differs from the source's",
                        peers[i]
                    );
                }
                println!(
                    "copy [{}/{}] {:<55} {:>7.1} MB/s  rss {:?} KiB",
                    r + 1,
                    ctx.repeats,
                    peers[i],
                    bytes as f64 / p.secs / 1e6,
                    p.rss_kib
                );
                rows[i].push(p.secs, p.rss_kib, None);
            }
        }
        Ok(())
    })();
    ctx.rt.block_on(admin.images().delete(&source.id))?;
    let _ = std::fs::remove_file(ctx.out.join("copy-save.bin"));
    let _ = std::fs::remove_file(&auth.0);
    result?;
    Ok(rows)
}

/// One timed copy of `id` by `peer`: the process (summed for two) and the copy's id.
fn copy(
    ctx: &Ctx,
    admin: &openstack_images::Client,
    (auth_body, token_url): &(std::path::PathBuf, String),
    peer: &str,
    id: &str,
) -> Result<(Proc, String)> {
    let osimg = ctx.osimg().display().to_string();
    let value_id = ["-f".to_owned(), "value".into(), "-c".into(), "id".into()];
    Ok(match peer {
        OSIMG => {
            let mut argv = vec![osimg, "image".into(), "copy".into(), id.into()];
            argv.extend(["--to-cloud".into(), "local-demo".into()]);
            argv.extend(value_id);
            let p = proc::run(&argv, None, &ctx.out)?;
            let copy = p.stdout.trim().to_owned();
            (p, copy)
        }
        CURL_PIPE => {
            let target = ctx.rt.block_on(
                admin.images().create(
                    ImageCreate::new(format!("{COPY_TAG}-curl"))
                        .disk_format(DiskFormat::Raw)
                        .container_format(ContainerFormat::Bare)
                        .tags([COPY_TAG]),
                ),
            )?;
            let base = format!("{}/v2/images", ctx.info.glance_url);
            let script = format!(
                "tok() {{ curl -sS -f -i -X POST -H 'Content-Type: application/json' -d @{} {token_url} \
                 | tr -d '\\r' | sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: //p'; }}; A=$(tok); B=$(tok); \
                 curl -sS -f -H \"X-Auth-Token: $A\" {base}/{id}/file | curl -sS -f -X PUT -T - \
                 -H 'Transfer-Encoding: chunked' -H 'Expect:' -H 'Content-Type: \
                 application/octet-stream' -H \"X-Auth-Token: $B\" {base}/{}/file",
                auth_body.display(),
                target.id
            );
            let argv = ["sh".to_owned(), "-c".into(), script];
            let p = proc::run(&argv, None, &ctx.out)?;
            (p, target.id)
        }
        SAVE_CREATE => {
            let to = ctx.out.join("copy-save.bin").display().to_string();
            let save = [
                osimg.clone(),
                "image".into(),
                "save".into(),
                id.into(),
                "--file".into(),
                to.clone(),
            ];
            let a = proc::run(&save, None, &ctx.out)?;
            let mut create = vec![osimg, "--os-cloud".into(), "local-demo".into()];
            create.extend([
                "image".into(),
                "create".into(),
                COPY_TAG.into(),
                "--file".into(),
                to.clone(),
            ]);
            create.extend(["--tag".into(), COPY_TAG.into()]);
            create.extend(value_id);
            let b = proc::run(&create, None, &ctx.out)?;
            std::fs::remove_file(&to)?;
            let copy = b.stdout.trim().to_owned();
            let both = Proc {
                secs: a.secs + b.secs,
                rss_kib: a.rss_kib.max(b.rss_kib),
                stdout: b.stdout,
            };
            (both, copy)
        }
        other => bail!("unknown copy peer {other}"),
    })
}

/// Deletes images a failed run left behind (the source and copies carry COPY_TAG; the
/// admin sees every project's).
fn delete_tagged(ctx: &Ctx, client: &openstack_images::Client) -> Result<()> {
    let query = ImageListQuery::new().tag(COPY_TAG).all_visibilities();
    let left = ctx.rt.block_on(client.images().list_all(query))?;
    for image in left {
        println!("copy: deleting leftover {}", image.id);
        ctx.rt.block_on(client.images().delete(&image.id))?;
    }
    Ok(())
}

/// The copy section's targets: (target, measured, met).
pub fn targets(rows: &[Row]) -> Vec<(String, String, bool)> {
    let mut t = Vec::new();
    let find = |peer: &str| rows.iter().find(|r| r.section == "copy" && r.peer == peer);
    if let Some(kib) = find(OSIMG).and_then(|r| r.rss_kib) {
        let mib = kib as f64 / 1024.0;
        t.push((
            "copy: osimg peak RSS <= 32 MiB".into(),
            format!("{mib:.1} MiB"),
            mib <= 32.0,
        ));
    }
    if let (Some(o), Some(c)) = (find(OSIMG), find(CURL_PIPE)) {
        let med = o.median / c.median;
        t.push((
            "copy: osimg (verified) <= 1.05x the unverified curl pipe".into(),
            format!("{med:.2}x (min {:.2}x)", o.min / c.min),
            med <= 1.05,
        ));
    }
    t
}

/// A table of byte-moving rows (the copy and ranged-download sections), times against the
/// section's first row.
pub fn table(rs: &[&Row]) -> String {
    let mut md = String::new();
    let Some(base) = rs.first() else {
        return md;
    };
    let _ = writeln!(
        md,
        "{:.0} MiB per run. vs = time over `{}`.\n\n| client | timed | min s | median s | MB/s (median) | peak RSS MiB | time vs first row |\n|---|---|---:|---:|---:|---:|---:|",
        base.work / f64::from(1 << 20),
        base.peer
    );
    for r in rs {
        let rss = r
            .rss_kib
            .map_or("-".into(), |k| format!("{:.0}", k as f64 / 1024.0));
        let _ = writeln!(
            md,
            "| {} | {} | {:.2} | {:.2} | {:.1} | {rss} | {:.2}x (min {:.2}x) |",
            r.peer,
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
