//! Uploads and verified downloads of the generated data file, with each client's peak RSS.
//!
//! Every download reads the same image (the one curl uploaded) after an untimed warm-up
//! read, so no client gets a page cache the others did not; clients run in a rotating order
//! and the crate's example alternates between first and last.

use anyhow::{Context, Result, bail};
use futures_util::TryStreamExt;
use openstack_images::{ContainerFormat, DiskFormat, ImageCreate, ImageListQuery, ImageStatus};

use super::proc::{self, Proc};
use super::{Ctx, Row, seed};

/// Tag of every data image (they are deleted after measuring, and on the next run if a
/// failure left one behind).
const DATA_TAG: &str = "bench-data";

const PEERS: [&str; 4] = ["curl", "osimg", "sdk", "glanceclient"];

fn names(dir: &str) -> [(&'static str, String, &'static str); 5] {
    let (curl, osimg) = if dir == "upload" {
        (
            "curl -T - (Transfer-Encoding: chunked)",
            "osimg image create --file",
        )
    } else {
        (
            "curl -o /dev/null (not verified)",
            "osimg image save --file",
        )
    };
    [
        (
            "crate",
            "crate (examples/transfer, verified download)".into(),
            "in-process",
        ),
        ("curl", curl.into(), "whole process"),
        ("osimg", osimg.into(), "whole process"),
        ("sdk", "openstacksdk".into(), "in-process"),
        ("glanceclient", "python-glanceclient".into(), "in-process"),
    ]
}

pub fn run(ctx: &Ctx) -> Result<Vec<Row>> {
    let file = ctx.out.join("data.bin");
    seed::data_file(&file, ctx.data_bytes)?;
    let bytes = ctx.data_bytes as f64;
    let client = ctx.client()?;
    delete_tagged(ctx, &client)?;
    let mut up: Vec<Row> = names("upload")
        .iter()
        .map(|(_, n, t)| Row::new("upload", n, t, bytes, "bytes"))
        .collect();
    let mut down: Vec<Row> = names("download")
        .iter()
        .map(|(_, n, t)| Row::new("download", n, t, bytes, "bytes"))
        .collect();
    let token = curl_token(ctx)?;
    for r in 0..ctx.repeats {
        let crate_first = r % 2 == 0;
        if crate_first {
            transfer(ctx, &mut up[0], &mut down[0])?;
        }
        let mut ids = [String::new(), String::new(), String::new(), String::new()];
        let result = (|| -> Result<()> {
            for k in 0..PEERS.len() {
                let i = (k + r) % PEERS.len();
                let (secs, id, p) = upload(ctx, &client, &token, PEERS[i], r)?;
                ids[i] = id;
                println!(
                    "upload [{}/{}] {:<40} {:>7.1} MB/s  rss {:?} KiB",
                    r + 1,
                    ctx.repeats,
                    PEERS[i],
                    bytes / secs / 1e6,
                    p.rss_kib
                );
                up[i + 1].push(secs, p.rss_kib, None);
            }
            for id in &ids {
                check_active(ctx, &client, id)?;
            }
            // Warm-up: the image's file is read once before any timed download.
            curl_download(ctx, &token, &ids[0])?;
            for k in 0..PEERS.len() {
                let i = (k + r) % PEERS.len();
                let (secs, p) = download(ctx, &token, PEERS[i], &ids[0])?;
                println!(
                    "download [{}/{}] {:<38} {:>7.1} MB/s  rss {:?} KiB",
                    r + 1,
                    ctx.repeats,
                    PEERS[i],
                    bytes / secs / 1e6,
                    p.rss_kib
                );
                down[i + 1].push(secs, p.rss_kib, None);
            }
            Ok(())
        })();
        for id in ids.iter().filter(|i| !i.is_empty()) {
            ctx.rt.block_on(client.images().delete(id))?;
        }
        result?;
        if !crate_first {
            transfer(ctx, &mut up[0], &mut down[0])?;
        }
    }
    let _ = std::fs::remove_file(ctx.out.join("save.bin"));
    up.extend(down);
    Ok(up)
}

/// examples/transfer: upload from memory, then a streamed, hash-verified download; one
/// process, so one RSS for both.
fn transfer(ctx: &Ctx, up: &mut Row, down: &mut Row) -> Result<()> {
    let mib = (ctx.data_bytes >> 20).to_string();
    let p = proc::run(
        &[ctx.example("transfer").display().to_string(), mib],
        None,
        &ctx.out,
    )?;
    let rate = |prefix: &str| -> Result<f64> {
        let line = p
            .stdout
            .lines()
            .find(|l| l.starts_with(prefix))
            .with_context(|| format!("no `{prefix}` line from examples/transfer"))?;
        let mbs = line
            .rsplit('=')
            .next()
            .and_then(|s| s.split_whitespace().next())
            .and_then(|s| s.parse::<f64>().ok())
            .with_context(|| format!("parsing `{line}`"))?;
        Ok(ctx.data_bytes as f64 / (mbs * 1e6))
    };
    let (u, d) = (rate("upload:")?, rate("download:")?);
    println!(
        "transfer: up {:.1} MB/s, down {:.1} MB/s, rss {:?} KiB",
        ctx.data_bytes as f64 / u / 1e6,
        ctx.data_bytes as f64 / d / 1e6,
        p.rss_kib
    );
    up.push(u, p.rss_kib, None);
    down.push(d, p.rss_kib, None);
    Ok(())
}

/// One timed upload of the data file by `peer`: seconds, the image id and the process.
fn upload(
    ctx: &Ctx,
    client: &openstack_images::Client,
    token: &str,
    peer: &str,
    r: usize,
) -> Result<(f64, String, Proc)> {
    let file = ctx.out.join("data.bin");
    let name = format!("{DATA_TAG}-{peer}-{r}");
    Ok(match peer {
        "curl" => {
            let image = ctx.rt.block_on(
                client.images().create(
                    ImageCreate::new(&name)
                        .disk_format(DiskFormat::Raw)
                        .container_format(ContainerFormat::Bare)
                        .tags([DATA_TAG]),
                ),
            )?;
            let url = format!("{}/v2/images/{}/file", ctx.info.glance_url, image.id);
            let p = proc::run(
                &[
                    "curl",
                    "-sS",
                    "-f",
                    "-X",
                    "PUT",
                    "-T",
                    "-",
                    "-H",
                    "Transfer-Encoding: chunked",
                    "-H",
                    "Expect:",
                    "-H",
                    "Content-Type: application/octet-stream",
                    "-H",
                    &format!("X-Auth-Token: {token}"),
                    &url,
                ],
                Some(&file),
                &ctx.out,
            )?;
            (p.secs, image.id, p)
        }
        "osimg" => {
            let p = proc::run(
                &[
                    ctx.osimg().display().to_string(),
                    "image".into(),
                    "create".into(),
                    name,
                    "--file".into(),
                    file.display().to_string(),
                    "--tag".into(),
                    DATA_TAG.into(),
                    "-f".into(),
                    "value".into(),
                    "-c".into(),
                    "id".into(),
                ],
                None,
                &ctx.out,
            )?;
            let id = p.stdout.trim().to_owned();
            (p.secs, id, p)
        }
        client => {
            let p = proc::run(
                &ctx.peer(&[
                    "upload",
                    "--client",
                    client,
                    "--file",
                    &file.display().to_string(),
                    "--name",
                    &name,
                    "--tag",
                    DATA_TAG,
                ]),
                None,
                &ctx.out,
            )?;
            let v = proc::last_json(&p.stdout)?;
            let id = v["id"].as_str().context("id")?.to_owned();
            (v["secs"].as_f64().context("secs")?, id, p)
        }
    })
}

/// One timed download of image `id` by `peer`.
fn download(ctx: &Ctx, token: &str, peer: &str, id: &str) -> Result<(f64, Proc)> {
    Ok(match peer {
        "curl" => {
            let p = curl_download(ctx, token, id)?;
            (p.secs, p)
        }
        "osimg" => {
            let to = ctx.out.join("save.bin");
            let p = proc::run(
                &[
                    ctx.osimg().display().to_string(),
                    "image".into(),
                    "save".into(),
                    id.into(),
                    "--file".into(),
                    to.display().to_string(),
                ],
                None,
                &ctx.out,
            )?;
            let len = std::fs::metadata(&to)?.len();
            if len != ctx.data_bytes {
                bail!(
                    "osimg image save wrote {len} bytes, expected {}",
                    ctx.data_bytes
                );
            }
            std::fs::remove_file(&to)?;
            (p.secs, p)
        }
        client => {
            let p = proc::run(
                &ctx.peer(&["download", "--client", client, "--id", id]),
                None,
                &ctx.out,
            )?;
            let v = proc::last_json(&p.stdout)?;
            if v["bytes"].as_u64() != Some(ctx.data_bytes) {
                bail!("{client} downloaded {} bytes", v["bytes"]);
            }
            (v["secs"].as_f64().context("secs")?, p)
        }
    })
}

/// curl to /dev/null; fails unless every byte came (curl does not check a short body).
fn curl_download(ctx: &Ctx, token: &str, id: &str) -> Result<Proc> {
    let url = format!("{}/v2/images/{id}/file", ctx.info.glance_url);
    let p = proc::run(
        &[
            "curl",
            "-sS",
            "-f",
            "-w",
            "%{size_download}",
            "-o",
            "/dev/null",
            "-H",
            &format!("X-Auth-Token: {token}"),
            &url,
        ],
        None,
        &ctx.out,
    )?;
    if p.stdout.trim() != ctx.data_bytes.to_string() {
        bail!("curl downloaded {} bytes of image {id}", p.stdout.trim());
    }
    Ok(p)
}

/// A token for curl, from Keystone through curl (untimed).
fn curl_token(ctx: &Ctx) -> Result<String> {
    let (body, url) = ctx.auth_body()?;
    let t = proc::run(&super::curl_token_argv(&body, &url), None, &ctx.out);
    let _ = std::fs::remove_file(&body);
    super::subject_token(&t?.stdout)
}

/// Fails unless the upload made the image active with every byte.
fn check_active(ctx: &Ctx, client: &openstack_images::Client, id: &str) -> Result<()> {
    let image = ctx.rt.block_on(client.images().get(id))?;
    if image.status != Some(ImageStatus::Active) || image.size != Some(ctx.data_bytes as i64) {
        bail!(
            "image {id} after upload: status {:?}, size {:?}",
            image.status,
            image.size
        );
    }
    Ok(())
}

/// Deletes data images a failed run left behind (only ours: they carry DATA_TAG).
fn delete_tagged(ctx: &Ctx, client: &openstack_images::Client) -> Result<()> {
    let ids: Vec<String> = ctx.rt.block_on(
        client
            .images()
            .list(ImageListQuery::new().tag(DATA_TAG))
            .map_ok(|i| i.id)
            .try_collect(),
    )?;
    for id in ids {
        println!("data: deleting leftover {id}");
        ctx.rt.block_on(client.images().delete(&id))?;
    }
    Ok(())
}
