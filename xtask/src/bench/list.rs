//! Listing every seeded image through Glance and through Nova, and decoding one page.

use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use super::proc::{self, Requests};
use super::{Ctx, Row, seed};

/// User-Agent fragments that attribute access-log lines to a client.
pub const UA_CRATE: &str = "openstack-images/";
pub const UA_RAW: &str = "bench-raw-http";
const UA_SDK: &str = "openstacksdk";
const UA_GLANCECLIENT: &str = "python-glanceclient";
/// keystoneauth's own User-Agent: glanceclient authenticates through a plain session.
const UA_KEYSTONEAUTH: &str = "keystoneauth1";
const UA_CURL: &str = "curl/";

/// One contender of a listing.
pub struct Peer {
    pub name: String,
    pub timed: &'static str,
    /// User-Agent fragments of its requests to the service, and to Keystone.
    pub ua: (&'static str, &'static str),
    pub argv: Vec<String>,
    /// Items are counted as output lines (`-f value`) rather than read from a JSON line.
    pub lines: bool,
}

/// Runs every peer `ctx.repeats` times in a rotating order; `filter` marks the listing's
/// own requests in the access log (`nova`: of Nova, with Nova's calls to Glance marked by
/// the second filter).
pub fn measure(
    ctx: &Ctx,
    section: &str,
    n: usize,
    peers: &[Peer],
    filter: &str,
    nova: Option<&str>,
) -> Result<Vec<Row>> {
    let mut rows: Vec<Row> = peers
        .iter()
        .map(|p| Row::new(section, &p.name, p.timed, n as f64, "images"))
        .collect();
    for r in 0..ctx.repeats {
        for k in 0..peers.len() {
            let i = (k + r) % peers.len();
            let p = &peers[i];
            let mark = ctx.logs.mark();
            let run = proc::run(&p.argv, None, &ctx.out)?;
            let (secs, items) = if p.lines {
                (run.secs, run.stdout.lines().count())
            } else {
                let v = proc::last_json(&run.stdout)?;
                (
                    v["secs"].as_f64().context("secs")?,
                    v["items"].as_u64().context("items")? as usize,
                )
            };
            if items != n {
                bail!("{section}: {} listed {items} images, expected {n}", p.name);
            }
            let req = ctx.logs.count(&mark, p.ua.0, p.ua.1, filter, nova);
            println!(
                "{section} [{}/{}] {:<48} {secs:>7.3}s  {req:?}",
                r + 1,
                ctx.repeats,
                p.name
            );
            rows[i].push(secs, run.rss_kib, Some(req));
        }
    }
    Ok(rows)
}

/// Every image of the `n` set (by tag) through Glance.
pub fn glance(ctx: &Ctx, n: usize) -> Result<Vec<Row>> {
    let tag = seed::set_tag(n);
    let bench_list = ctx.example("bench_list").display().to_string();
    let mut peers = vec![
        Peer {
            name: "raw loop (python http.client, limit=1000)".into(),
            timed: "in-process",
            ua: (UA_RAW, UA_RAW),
            argv: ctx.peer(&["list", "--client", "raw", "--tag", &tag]),
            lines: false,
        },
        Peer {
            name: "crate (examples/bench_list, limit=1000)".into(),
            timed: "in-process",
            ua: (UA_CRATE, UA_CRATE),
            argv: vec![
                bench_list.clone(),
                "image".into(),
                tag.clone(),
                "1000".into(),
            ],
            lines: false,
        },
        Peer {
            // `--limit` is one page as in openstack (Glance caps it at 1000): --max-items
            // pages through all n.
            name: format!("osimg image list --max-items {n} -f value"),
            timed: "whole process",
            ua: (UA_CRATE, UA_CRATE),
            argv: vec![
                ctx.osimg().display().to_string(),
                "image".into(),
                "list".into(),
                "--tag".into(),
                tag.clone(),
                "--max-items".into(),
                n.to_string(),
                "-f".into(),
                "value".into(),
            ],
            lines: true,
        },
        Peer {
            name: "openstacksdk (conn.image.images(), default)".into(),
            timed: "in-process",
            ua: (UA_SDK, UA_SDK),
            argv: ctx.peer(&["list", "--client", "sdk", "--tag", &tag]),
            lines: false,
        },
        Peer {
            name: "python-glanceclient (page_size=1000)".into(),
            timed: "in-process",
            ua: (UA_GLANCECLIENT, UA_KEYSTONEAUTH),
            argv: ctx.peer(&["list", "--client", "glanceclient", "--tag", &tag]),
            lines: false,
        },
    ];
    if n == 2000 {
        // What osimg gets today: the library leaves the page size to the server.
        peers.push(Peer {
            name: "crate (examples/bench_list, server's default page size)".into(),
            timed: "in-process",
            ua: (UA_CRATE, UA_CRATE),
            argv: vec![bench_list, "image".into(), tag.clone(), "0".into()],
            lines: false,
        });
    }
    measure(
        ctx,
        &format!("list {n}"),
        n,
        &peers,
        &format!("tag={tag}"),
        None,
    )
}

/// Every image of the `n` set through Nova's `/images/detail?type=...`.
pub fn nova(ctx: &Ctx, n: usize) -> Result<Vec<Row>> {
    let ty = seed::set_tag(n);
    let section = format!("nova {n}");
    let peers = [
        Peer {
            name: "osimg compute-image list -f value".into(),
            timed: "whole process",
            ua: (UA_CRATE, UA_CRATE),
            argv: vec![
                ctx.osimg().display().to_string(),
                "compute-image".into(),
                "list".into(),
                "--type".into(),
                ty.clone(),
                "-f".into(),
                "value".into(),
            ],
            lines: true,
        },
        Peer {
            name: "crate (examples/bench_list compute, limit=1000)".into(),
            timed: "in-process",
            ua: (UA_CRATE, UA_CRATE),
            argv: vec![
                ctx.example("bench_list").display().to_string(),
                "compute".into(),
                ty.clone(),
                "1000".into(),
            ],
            lines: false,
        },
        Peer {
            name: "openstacksdk (conn.compute.images())".into(),
            timed: "in-process",
            ua: (UA_SDK, UA_SDK),
            argv: ctx.peer(&["nova", "--type", &ty]),
            lines: false,
        },
    ];
    let filter = format!("type={ty}");
    let backend = format!("image_type={ty}");
    let mut rows = measure(ctx, &section, n, &peers, &filter, Some(&backend))?;

    // The curl loop: one process for the token, one per page, all timed.
    let (auth, token_url) = ctx.auth_body()?;
    let mut row = Row::new(
        &section,
        "curl loop (limit=1000, images_links next)",
        "whole processes",
        n as f64,
        "images",
    );
    let result = (|| -> Result<()> {
        for r in 0..ctx.repeats {
            let mark = ctx.logs.mark();
            let (secs, rss, items) = curl_nova(ctx, &token_url, &auth, &ty)?;
            if items != n {
                bail!("{section}: the curl loop listed {items} images, expected {n}");
            }
            let req = ctx
                .logs
                .count(&mark, UA_CURL, UA_CURL, &filter, Some(&backend));
            println!(
                "{section} [{}/{}] {:<48} {secs:>7.3}s  {req:?}",
                r + 1,
                ctx.repeats,
                row.peer
            );
            row.push(secs, rss, Some(req));
        }
        Ok(())
    })();
    let _ = std::fs::remove_file(&auth);
    result?;
    rows.insert(0, row);
    Ok(rows)
}

/// curl: a token, then `/images/detail` pages following `images_links` `next`.
fn curl_nova(
    ctx: &Ctx,
    token_url: &str,
    auth_body: &std::path::Path,
    ty: &str,
) -> Result<(f64, Option<u64>, usize)> {
    let started = Instant::now();
    let t = proc::run(
        &super::curl_token_argv(auth_body, token_url),
        None,
        &ctx.out,
    )?;
    let token = super::subject_token(&t.stdout)?;
    let header = format!("X-Auth-Token: {token}");
    let mut url = Some(format!(
        "{}/images/detail?type={ty}&limit=1000",
        ctx.info.nova_url
    ));
    let (mut items, mut rss) = (0, t.rss_kib);
    while let Some(u) = url.take() {
        let p = proc::run(&["curl", "-sS", "-f", "-H", &header, &u], None, &ctx.out)?;
        rss = rss.max(p.rss_kib);
        let v: Value = serde_json::from_str(&p.stdout).context("a Nova page")?;
        items += v["images"].as_array().map_or(0, Vec::len);
        url = v["images_links"].as_array().and_then(|links| {
            links
                .iter()
                .find(|l| l["rel"] == "next")
                .and_then(|l| l["href"].as_str().map(str::to_owned))
        });
    }
    Ok((started.elapsed().as_secs_f64(), rss, items))
}

/// One real 1,000-image page decoded by each client; the Rust side through
/// `cargo bench --bench decode`, the Python side timed in-process.
pub fn decode(ctx: &Ctx) -> Result<Vec<Row>> {
    let page = ctx.out.join("page1000.json");
    let tag = seed::set_tag(2000);
    proc::run(
        &ctx.peer(&["page", "--tag", &tag, "--out", &page.display().to_string()]),
        None,
        &ctx.out,
    )?;
    let bytes = std::fs::metadata(&page)?.len() as f64;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    println!("decode: cargo bench --bench decode");
    let out = std::process::Command::new(cargo)
        .current_dir(&ctx.root)
        .env("BENCH_PAGE", &page)
        .args(["bench", "-p", "openstack-images", "--bench", "decode"])
        .output()
        .context("running cargo bench")?;
    if !out.status.success() {
        bail!(
            "cargo bench --bench decode failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    print!("{stdout}");
    let rust = proc::last_json(&stdout)?;
    let items = rust["items"].as_u64().unwrap_or(0) as usize;
    let mut rows = Vec::new();
    for (key, name) in [
        (
            "typed",
            "crate: typed Image, the crate's path (serde_json::from_slice)",
        ),
        (
            "typed_path_to_error",
            "typed Image through serde_path_to_error (the crate's re-decode on failure)",
        ),
        ("value", "serde_json::Value (in-process floor)"),
    ] {
        let v = &rust[key];
        let row = Row::new("decode", name, "in-process", bytes, "bytes").stats(
            v["min"].as_f64().context("min")?,
            v["median"].as_f64().context("median")?,
        );
        rows.push(row);
    }
    let schema = ctx.root.join("schemas/image/v2/image.json");
    for (client, name) in [
        ("json", "Python json.loads"),
        ("sdk", "openstacksdk (json.loads + Image.existing)"),
        (
            "glanceclient",
            "python-glanceclient (json.loads + warlock model)",
        ),
    ] {
        let repeat = ctx.repeats.to_string();
        let p = proc::run(
            &ctx.peer(&[
                "decode",
                "--client",
                client,
                "--page",
                &page.display().to_string(),
                "--schema",
                &schema.display().to_string(),
                "--repeat",
                &repeat,
            ]),
            None,
            &ctx.out,
        )?;
        let v = proc::last_json(&p.stdout)?;
        println!("decode {name}: {v}");
        rows.push(
            Row::new("decode", name, "in-process", bytes, "bytes").stats(
                v["min"].as_f64().context("min")?,
                v["median"].as_f64().context("median")?,
            ),
        );
    }
    for r in &mut rows {
        r.items = Some(items);
    }
    Ok(rows)
}

/// The requests a listing of `n` images needs with pages of 1,000: one more than the full
/// pages when `n` is a multiple (Glance only knows the end once a page comes back short).
pub fn pages_needed(n: usize) -> usize {
    n / 1000 + 1
}

/// Whether a run made only page requests plus at most one discovery call.
pub fn only_pages(req: &Requests, n: usize) -> bool {
    req.pages <= pages_needed(n) && req.other <= 1
}
