//! `--only cli`: repeated short `osimg` runs, where authentication was most of the time, with
//! the token cache (warmed by one run first) and without it, against the raw HTTP loop
//! (listing) and the Rust `osc` CLI (showing one image), which caches its token too.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use super::list::{Peer, UA_CRATE, UA_RAW, measure};
use super::{Ctx, Row, proc, seed};

/// Where `cargo install openstack_cli --version 0.13.8 --root ...` puts `osc` (the bench
/// does not build it: that takes many minutes; the report says when it is missing).
pub fn osc_binary() -> Option<PathBuf> {
    let path = std::env::var_os("BENCH_OSC")
        .map(PathBuf::from)
        .or_else(|| dirs::cache_dir().map(|d| d.join("openstack-images/osc-cli/bin/osc")))?;
    path.is_file().then_some(path)
}

/// The id of one image of the seeded set tagged `tag`.
fn first_seeded(ctx: &Ctx, tag: &str) -> Result<String> {
    let client = ctx.client()?;
    let first = ctx.rt.block_on(async {
        use futures_util::TryStreamExt;
        let q = openstack_images::ImageListQuery::new().tag(tag);
        client.images().list(q).max_items(1).try_next().await
    })?;
    Ok(first.context("no seeded image")?.id)
}

fn osimg_argv(ctx: &Ctx, cached: bool, args: &[&str]) -> Vec<String> {
    let mut v = vec![ctx.osimg().display().to_string()];
    if !cached {
        v.push("--no-token-cache".into());
    }
    v.extend(args.iter().map(|a| (*a).to_owned()));
    v
}

/// `osimg image list` of the 2,000 set, repeated, with and without the token cache.
pub fn list(ctx: &Ctx) -> Result<Vec<Row>> {
    let n = 2000;
    let tag = seed::set_tag(n);
    let limit = n.to_string();
    let args = [
        "image",
        "list",
        "--tag",
        &tag,
        "--max-items",
        &limit,
        "-f",
        "value",
    ];
    // One run fills the cache, as any earlier command of the user's would have.
    proc::run(&osimg_argv(ctx, true, &args), None, &ctx.out)?;
    let peers = [
        Peer {
            name: "raw loop (python http.client, limit=1000)".into(),
            timed: "in-process",
            ua: (UA_RAW, UA_RAW),
            argv: ctx.peer(&["list", "--client", "raw", "--tag", &tag]),
            lines: false,
        },
        Peer {
            name: format!("osimg image list --max-items {n} -f value (token cache)"),
            timed: "whole process",
            ua: (UA_CRATE, UA_CRATE),
            argv: osimg_argv(ctx, true, &args),
            lines: true,
        },
        Peer {
            name: format!("osimg --no-token-cache image list --max-items {n} -f value"),
            timed: "whole process",
            ua: (UA_CRATE, UA_CRATE),
            argv: osimg_argv(ctx, false, &args),
            lines: true,
        },
    ];
    measure(ctx, "cli list 2000", n, &peers, &format!("tag={tag}"), None)
}

/// `image show` of one image, repeated: osc (when installed) first, the base of the ratios.
pub fn show(ctx: &Ctx, notes: &mut Vec<String>) -> Result<Vec<Row>> {
    let tag = seed::set_tag(2000);
    let id = first_seeded(ctx, &tag)?;
    let mut peers: Vec<(String, &str, Vec<String>)> = Vec::new();
    match osc_binary() {
        Some(osc) => peers.push((
            "osc image image show (openstack_cli 0.13.8, token cache)".into(),
            "",
            vec![
                osc.display().to_string(),
                "image".into(),
                "image".into(),
                "show".into(),
                id.clone(),
            ],
        )),
        None => notes.push(
            "cli show: no `osc` binary (openstack_cli 0.13.8: `cargo install openstack_cli \
             --version 0.13.8 --locked --root ~/.cache/openstack-images/osc-cli`, or \
             BENCH_OSC=path); osimg is compared with itself without its cache."
                .into(),
        ),
    }
    let show = ["image", "show", &id, "-f", "json"];
    proc::run(&osimg_argv(ctx, true, &show), None, &ctx.out)?;
    peers.push((
        "osimg image show -f json (token cache)".into(),
        UA_CRATE,
        osimg_argv(ctx, true, &show),
    ));
    peers.push((
        "osimg --no-token-cache image show -f json".into(),
        UA_CRATE,
        osimg_argv(ctx, false, &show),
    ));
    let mut rows: Vec<Row> = peers
        .iter()
        .map(|(name, _, _)| Row::new("cli show", name, "whole process", 1.0, "images"))
        .collect();
    for r in 0..ctx.repeats {
        for k in 0..peers.len() {
            let i = (k + r) % peers.len();
            let (name, ua, argv) = &peers[i];
            let mark = ctx.logs.mark();
            let run = proc::run(argv, None, &ctx.out)?;
            if !run.stdout.contains(&id) {
                bail!("cli show: {name} did not show {id}: {}", run.stdout);
            }
            // osc's User-Agent is not known here: an empty fragment counts every request
            // of the run (nothing else runs against this stack meanwhile).
            let req = ctx.logs.count(&mark, ua, ua, &id, None);
            println!(
                "cli show [{}/{}] {name:<48} {:>7.3}s  {req:?}",
                r + 1,
                ctx.repeats,
                run.secs
            );
            rows[i].push(run.secs, run.rss_kib, Some(req));
        }
    }
    Ok(rows)
}

/// `openstack image ...` (python-openstackclient, pinned in the stack's venv) against the
/// same `osimg image ...`, one short command at a time: what a user switching over sees. Each
/// command is its own section, `openstack` first (the base of the ratios); osimg runs with
/// its token cache warm and without it, so the cache's effect shows beside the difference
/// between the two clients.
pub fn versus_openstack(ctx: &Ctx) -> Result<Vec<Row>> {
    let tag = seed::set_tag(2000);
    let id = first_seeded(ctx, &tag)?;
    let openstack = ctx.info.openstack().display().to_string();
    // (`image unset` is left out: repeated, all but its first run would find nothing to unset.)
    let commands: [&[&str]; 7] = [
        &["image", "show", &id],
        &["image", "show", &id, "-f", "json"],
        &["image", "list", "--tag", &tag, "--limit", "100"],
        &[
            "image", "list", "--tag", &tag, "--limit", "100", "--long", "-f", "json",
        ],
        &["image", "member", "list", &id],
        &["image", "import", "info"],
        &["image", "set", &id, "--property", "bench_cli=1"],
    ];
    // Warm the cache, as any earlier command of the user's would have.
    proc::run(
        &osimg_argv(ctx, true, &["image", "show", &id]),
        None,
        &ctx.out,
    )?;
    let mut rows = Vec::new();
    for args in commands {
        let shown = args.join(" ").replace(&id, "ID").replace(&tag, "TAG");
        let section = format!("cli vs openstack: {shown}");
        let mut openstack_argv = vec![openstack.clone()];
        openstack_argv.extend(args.iter().map(|a| (*a).to_owned()));
        let peers = [
            ("openstack (python-openstackclient 10.5.0)", openstack_argv),
            ("osimg (token cache)", osimg_argv(ctx, true, args)),
            ("osimg --no-token-cache", osimg_argv(ctx, false, args)),
        ];
        let mut group: Vec<Row> = peers
            .iter()
            .map(|(name, _)| Row::new(&section, name, "whole process", 1.0, "commands"))
            .collect();
        for r in 0..ctx.repeats.min(3) {
            for k in 0..peers.len() {
                let i = (k + r) % peers.len();
                let run = proc::run(&peers[i].1, None, &ctx.out)?;
                println!(
                    "{section} [{}] {:<44} {:>7.3}s",
                    r + 1,
                    peers[i].0,
                    run.secs
                );
                group[i].push(run.secs, run.rss_kib, None);
            }
        }
        rows.extend(group);
    }
    Ok(rows)
}
