//! Uploads and verified downloads of the generated data file, with each client's peak RSS.
//!
//! Every download reads the same image (the one curl uploaded) after an untimed warm-up
//! read, so no client gets a page cache the others did not; clients run in a rotating order
//! and the crate's example alternates between first and last.
//!
//! Beside the clients, the download section has the verified peers a user would script
//! (curl piped into `openssl dgst -sha512` or `sha512sum`; the whole-process one also fetches
//! its own token from Keystone and writes the file through `tee`, the fixed costs
//! `osimg image save` has), the machine's limit (`openssl speed -evp sha512`: the fastest
//! SHA-512 this CPU runs, on one core) and the crate's own sha512 beside it, with no I/O. No
//! verified download can beat the hash it has to compute, so the download targets are set
//! against the machine's limit and the verified peers, not against unverified curl.

use anyhow::{Context, Result, bail};
use futures_util::TryStreamExt;
use openstack_images::{ContainerFormat, DiskFormat, ImageCreate, ImageListQuery, ImageStatus};

use super::proc::{self, Proc};
use super::{Ctx, Row, seed};

/// Tag of every data image (they are deleted after measuring, and on the next run if a
/// failure left one behind).
const DATA_TAG: &str = "bench-data";

const PEERS: [&str; 4] = ["curl", "osimg", "sdk", "glanceclient"];

/// Verified download peers (shell pipelines), each checked against the image's sha512.
const VERIFIED: [(&str, &str, &str); 4] = [
    (
        "tee",
        "token + curl | tee FILE | openssl dgst -sha512",
        "whole process",
    ),
    (
        "tee-sync",
        "token + curl | tee FILE | openssl dgst -sha512, then sync FILE (as durable as osimg)",
        "whole process",
    ),
    (
        "openssl",
        "curl | openssl dgst -sha512 (token untimed)",
        "whole process",
    ),
    (
        "sha512sum",
        "curl | sha512sum (token untimed)",
        "whole process",
    ),
];

/// Row names the report's targets look rows up by.
pub const CRATE_PLAIN_UPLOAD: &str = "crate (examples/transfer, same upload without hashing)";
pub const HASH_ONLY: &str = "the crate's sha512 alone (one core, no I/O)";
pub const MACHINE_LIMIT: &str = "the machine's limit: openssl speed -evp sha512 (one core, no I/O)";
pub const INSPECT: &str = "osimg image inspect FILE (reads headers only: for its RSS)";

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
            if dir == "upload" {
                "crate (examples/transfer, hashed and checked upload)".into()
            } else {
                "crate (examples/transfer, verified download)".into()
            },
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
    up.push(Row::new(
        "upload",
        CRATE_PLAIN_UPLOAD,
        "in-process",
        bytes,
        "bytes",
    ));
    let mut inspect = Row::new("upload", INSPECT, "whole process", bytes, "bytes");
    let mut down: Vec<Row> = names("download")
        .iter()
        .map(|(_, n, t)| Row::new("download", n, t, bytes, "bytes"))
        .collect();
    down.extend(
        VERIFIED
            .iter()
            .map(|(_, n, t)| Row::new("download", n, t, bytes, "bytes")),
    );
    let mut hash_only = Row::new("download", HASH_ONLY, "in-process", bytes, "bytes");
    let mut limit = Row::new("download", MACHINE_LIMIT, "in-process", bytes, "bytes");
    let token = curl_token(ctx)?;
    // The unhashed and hashed uploads swap order each run (the later one competes with the
    // store writing the earlier back to disk).
    let mut crate_rows = |ctx: &Ctx, r: usize, up: &mut Vec<Row>, down: &mut Vec<Row>| {
        let t = transfer(ctx, r % 2 == 1)?;
        up[0].push(t.up, t.rss_kib, None);
        up[PEERS.len() + 1].push(t.up_plain, t.rss_kib, None);
        down[0].push(t.down, t.rss_kib, None);
        hash_only.push(t.hash, None, None);
        anyhow::Ok(())
    };
    for r in 0..ctx.repeats {
        let rate = openssl_speed(ctx)?;
        println!("openssl speed -evp sha512: {:.1} MB/s", rate / 1e6);
        limit.push(bytes / rate, None, None);
        let crate_first = r % 2 == 0;
        if crate_first {
            crate_rows(ctx, r, &mut up, &mut down)?;
        }
        let p = proc::run(
            &[
                ctx.osimg().display().to_string(),
                "image".into(),
                "inspect".into(),
                file.display().to_string(),
            ],
            None,
            &ctx.out,
        )?;
        inspect.push(p.secs, p.rss_kib, None);
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
            let sha512 = ctx
                .rt
                .block_on(client.images().get(&ids[0]))?
                .os_hash_value
                .context("the image has no os_hash_value")?;
            let all = PEERS.len() + VERIFIED.len();
            for k in 0..all {
                let i = (k + r) % all;
                let (name, secs, p) = if i < PEERS.len() {
                    let (secs, p) = download(ctx, &token, PEERS[i], &ids[0])?;
                    (PEERS[i], secs, p)
                } else {
                    let peer = VERIFIED[i - PEERS.len()].0;
                    let p = verified_download(ctx, &token, peer, &ids[0], &sha512)?;
                    (peer, p.secs, p)
                };
                println!(
                    "download [{}/{}] {:<38} {:>7.1} MB/s  rss {:?} KiB",
                    r + 1,
                    ctx.repeats,
                    name,
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
            crate_rows(ctx, r, &mut up, &mut down)?;
        }
    }
    let _ = std::fs::remove_file(ctx.out.join("save.bin"));
    let _ = std::fs::remove_file(ctx.out.join("tee.bin"));
    up.push(inspect);
    up.extend(down);
    up.push(hash_only);
    up.push(limit);
    Ok(up)
}

/// The seconds of one examples/transfer run, and its peak RSS.
struct Transfer {
    up: f64,
    up_plain: f64,
    down: f64,
    hash: f64,
    rss_kib: Option<u64>,
}

/// examples/transfer: the hash alone, an upload from memory without hashing, the same upload
/// hashed and checked, then a streamed, hash-verified download; one process, so one RSS.
fn transfer(ctx: &Ctx, hashed_first: bool) -> Result<Transfer> {
    let mib = (ctx.data_bytes >> 20).to_string();
    let order = if hashed_first {
        "hashed-first"
    } else {
        "plain-first"
    };
    let p = proc::run(
        &[
            ctx.example("transfer").display().to_string(),
            mib,
            order.into(),
        ],
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
    let t = Transfer {
        up: rate("upload:")?,
        up_plain: rate("upload-unhashed:")?,
        down: rate("download:")?,
        hash: rate("hash-only:")?,
        rss_kib: p.rss_kib,
    };
    let mbs = |secs: f64| ctx.data_bytes as f64 / secs / 1e6;
    println!(
        "transfer: hash-only {:.1} MB/s, up {:.1} MB/s (unhashed {:.1}), down {:.1} MB/s, rss {:?} KiB",
        mbs(t.hash),
        mbs(t.up),
        mbs(t.up_plain),
        mbs(t.down),
        p.rss_kib
    );
    Ok(t)
}

/// Bytes per second of `openssl speed -evp sha512` over 1 MiB blocks on one core: the
/// fastest SHA-512 this CPU runs, which no verified download can beat.
fn openssl_speed(ctx: &Ctx) -> Result<f64> {
    let p = proc::run(
        &[
            "openssl", "speed", "-seconds", "2", "-bytes", "1048576", "-evp", "sha512",
        ],
        None,
        &ctx.out,
    )?;
    // "sha512   734003.20k": thousands of bytes per second.
    let line = p
        .stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("sha512"))
        .with_context(|| format!("no sha512 line from openssl speed:\n{}", p.stdout))?;
    line.split_whitespace()
        .last()
        .and_then(|k| k.strip_suffix('k'))
        .and_then(|k| k.parse::<f64>().ok())
        .map(|k| k * 1000.0)
        .with_context(|| format!("parsing `{line}`"))
}

/// One timed download by a verified shell pipeline; fails unless it printed `sha512`.
fn verified_download(ctx: &Ctx, token: &str, peer: &str, id: &str, sha512: &str) -> Result<Proc> {
    let url = format!("{}/v2/images/{id}/file", ctx.info.glance_url);
    let fetch = |token: &str| format!("curl -sS -f -H \"X-Auth-Token: {token}\" '{url}'");
    let (script, body) = match peer {
        "tee" | "tee-sync" => {
            // The token comes from Keystone inside the timed run, as osimg's does.
            let (body, token_url) = ctx.auth_body()?;
            let tee = ctx.out.join("tee.bin");
            let script = format!(
                "set -eo pipefail\n\
                 tok=$(curl -sS -f -i -X POST -H 'Content-Type: application/json' -d @'{}' '{token_url}' \
                 | tr -d '\\r' | sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: //p')\n\
                 {} | tee '{}' | openssl dgst -sha512 -r\n",
                body.display(),
                fetch("$tok"),
                tee.display()
            );
            let script = if peer == "tee-sync" {
                format!("{script}sync '{}'\n", tee.display())
            } else {
                script
            };
            (script, Some(body))
        }
        "openssl" => (
            format!(
                "set -eo pipefail\n{} | openssl dgst -sha512 -r\n",
                fetch(token)
            ),
            None,
        ),
        _ => (
            format!("set -eo pipefail\n{} | sha512sum\n", fetch(token)),
            None,
        ),
    };
    let p = proc::run(&["bash", "-c", &script], None, &ctx.out);
    if let Some(b) = body {
        let _ = std::fs::remove_file(b);
    }
    let p = p?;
    let got = p.stdout.split_whitespace().next().unwrap_or("");
    if got != sha512 {
        bail!("{peer}: sha512 {got}, the image's is {sha512}");
    }
    if peer.starts_with("tee") {
        let tee = ctx.out.join("tee.bin");
        let len = std::fs::metadata(&tee)?.len();
        std::fs::remove_file(&tee)?;
        if len != ctx.data_bytes {
            bail!("tee wrote {len} bytes, expected {}", ctx.data_bytes);
        }
    }
    Ok(p)
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
