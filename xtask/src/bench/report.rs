//! target/bench/report.md and report.json: tables per section, then the targets met or
//! missed, all as ratios within the run.

use std::fmt::Write;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::build::Builds;
use super::data;
use super::list::{only_pages, pages_needed};
use super::{Ctx, Row};

#[derive(Serialize, Deserialize)]
pub struct Target {
    target: String,
    measured: String,
    met: bool,
}

#[derive(Serialize)]
struct Report<'a> {
    quick: bool,
    repeats: usize,
    data_bytes: u64,
    rows: &'a [Row],
    builds: Option<&'a Builds>,
    targets: Vec<Target>,
    notes: &'a [String],
}

fn find<'a>(rows: &'a [Row], section: &str, peer: &str) -> Option<&'a Row> {
    rows.iter()
        .find(|r| r.section == section && r.peer.starts_with(peer))
}

/// `a` over `b` in time, median and min: "1.02x (min 0.98x)".
fn ratio(a: &Row, b: &Row) -> (f64, String) {
    let med = a.median / b.median;
    (med, format!("{med:.2}x (min {:.2}x)", a.min / b.min))
}

fn targets(rows: &[Row], builds: Option<&Builds>) -> Vec<Target> {
    let mut t = Vec::new();
    let mut add = |target: String, measured: String, met: bool| {
        t.push(Target {
            target,
            measured,
            met,
        })
    };
    for n in [2000, 10_000] {
        let s = format!("list {n}");
        let raw = find(rows, &s, "raw loop");
        let krate = find(rows, &s, "crate (examples/bench_list, limit");
        let osimg = find(rows, &s, "osimg");
        let sdk = find(rows, &s, "openstacksdk");
        if let (Some(raw), Some(c)) = (raw, krate) {
            let (r, m) = ratio(c, raw);
            add(format!("{s}: crate <= 1.05x raw loop"), m, r <= 1.05);
        }
        if let (Some(raw), Some(o)) = (raw, osimg) {
            let (r, m) = ratio(o, raw);
            add(
                format!("{s}: osimg (whole process, auth) <= 1.15x raw loop"),
                m,
                r <= 1.15,
            );
        }
        if let (Some(o), Some(sdk)) = (osimg, sdk) {
            let (r, m) = ratio(sdk, o);
            add(
                format!("{s}: osimg >= 2.5x faster than openstacksdk"),
                m,
                r >= 2.5,
            );
        }
        for row in [krate, osimg].into_iter().flatten() {
            if let Some(req) = row.requests {
                add(
                    format!(
                        "{s}: {} requests = pages only (<= {} + 1 discovery)",
                        row.peer.split(' ').next().unwrap_or(""),
                        pages_needed(n)
                    ),
                    format!("{} pages, {} other", req.pages, req.other),
                    only_pages(&req, n),
                );
            }
        }
    }
    let d = |p| find(rows, "decode", p);
    if let (Some(typed), Some(value), Some(sdk)) = (
        d("crate: typed Image, the crate's path"),
        d("serde_json::Value"),
        d("openstacksdk"),
    ) {
        let (r, m) = ratio(value, typed);
        add(
            "decode: typed >= 1.0x serde_json::Value".into(),
            m,
            r >= 1.0,
        );
        let (r, m) = ratio(sdk, typed);
        add("decode: typed >= 300x openstacksdk".into(), m, r >= 300.0);
    }
    // Speed as `other time / our time`: >= 1.0 means ours is at least as fast.
    let up = |p| find(rows, "upload", p);
    let down = |p| find(rows, "download", p);
    if let (Some(c), Some(plain)) = (up("crate"), up(data::CRATE_PLAIN_UPLOAD)) {
        let (r, m) = ratio(plain, c);
        add(
            "upload: crate hashed and checked >= 0.95x the same upload without hashing".into(),
            m,
            r >= 0.95,
        );
    }
    if let (Some(c), Some(curl)) = (up("crate"), up("curl")) {
        let (r, m) = ratio(curl, c);
        add(
            "upload: crate hashed and checked >= 1.0x curl -T -".into(),
            m,
            r >= 1.0,
        );
    }
    if let (Some(limit), Some(hash)) = (down(data::MACHINE_LIMIT), down(data::HASH_ONLY)) {
        let (r, m) = ratio(limit, hash);
        add(
            "hash: the crate's sha512 >= 0.95x the machine's limit (openssl speed)".into(),
            m,
            r >= 0.95,
        );
    }
    if let (Some(c), Some(limit)) = (down("crate"), down(data::MACHINE_LIMIT)) {
        let (r, m) = ratio(limit, c);
        add(
            "download: crate verified >= 0.9x the machine's limit (openssl speed -evp sha512)"
                .into(),
            m,
            r >= 0.9,
        );
    }
    if let (Some(c), Some(glance)) = (down("crate"), down("python-glanceclient")) {
        let (r, m) = ratio(glance, c);
        add(
            "download: crate verified >= 1.1x python-glanceclient's verified download".into(),
            m,
            r >= 1.1,
        );
    }
    let tee_sync = rows
        .iter()
        .find(|r| r.section == "download" && r.peer.contains("then sync FILE"));
    if let (Some(o), Some(peer)) = (down("osimg"), tee_sync) {
        let (r, m) = ratio(o, peer);
        add(
            "download: osimg image save (auth, verify, write, fsync) <= 1.0x the time of \
             token + curl | tee FILE | openssl dgst -sha512, then sync FILE"
                .into(),
            m,
            r <= 1.0,
        );
    }
    if let (Some(o), Some(peer)) = (down("osimg"), down("token + curl | tee FILE")) {
        let (r, m) = ratio(o, peer);
        add(
            "download: osimg image save <= 1.1x the same peer without sync".into(),
            m,
            r <= 1.1,
        );
    }
    for (dir, what) in [
        ("upload", "osimg image create"),
        ("download", "osimg image save"),
        ("upload", "osimg image inspect"),
    ] {
        if let Some(kib) = find(rows, dir, what).and_then(|o| o.rss_kib) {
            let mib = kib as f64 / 1024.0;
            add(
                format!("{what}: peak RSS <= 24 MiB"),
                format!("{mib:.1} MiB"),
                mib <= 24.0,
            );
        }
    }
    for (target, measured, met) in super::copy::targets(rows)
        .into_iter()
        .chain(super::ranged::targets(rows))
        .chain(super::catalog::targets(rows))
    {
        add(target, measured, met);
    }
    if let (Some(raw), Some(o)) = (
        find(rows, "cli list 2000", "raw loop"),
        find(rows, "cli list 2000", "osimg image list"),
    ) {
        let (r, m) = ratio(o, raw);
        add(
            "cli list 2000: repeated osimg (token cache) <= 1.05x raw loop".into(),
            m,
            r <= 1.05,
        );
    }
    if let (Some(osc), Some(o)) = (
        find(rows, "cli show", "osc "),
        find(rows, "cli show", "osimg image show"),
    ) {
        let (r, m) = ratio(o, osc);
        add(
            "cli show: repeated osimg (token cache) <= 1.0x osc".into(),
            m,
            r <= 1.0,
        );
    }
    if let (Some(o), Some(curl)) = (
        find(rows, "nova 2000", "osimg"),
        find(rows, "nova 2000", "curl loop"),
    ) {
        let (r, m) = ratio(o, curl);
        add("nova 2000: osimg <= 1.1x curl loop".into(), m, r <= 1.1);
    }
    if let Some(b) = builds {
        add(
            "codegen < 200 ms".into(),
            format!(
                "{:.0} ms (after the edit: {:.0} ms)",
                b.codegen_ms, b.schema_edit_codegen_ms
            ),
            b.codegen_ms < 200.0,
        );
        add(
            "schema-edit rebuild < 5 s".into(),
            format!("{:.1} s", b.schema_edit_secs),
            b.schema_edit_secs < 5.0,
        );
        add(
            "cold dev build <= 75 s".into(),
            format!("{:.1} s", b.cold_secs),
            b.cold_secs <= 75.0,
        );
    }
    t
}

/// The line at the top of the report every data ratio is read against: the machine's SHA-512
/// limit, the crate's own hash beside it, and what the fsync of a saved file costs here.
fn machine_limit(rows: &[Row]) -> Option<String> {
    let down = |p| find(rows, "download", p);
    let limit = down(data::MACHINE_LIMIT)?;
    let mut line = format!(
        "Machine limit for verified data: `openssl speed -seconds 2 -bytes 1048576 -evp sha512` \
         hashes {:.0} MB/s on one core (median of the run).",
        limit.rate() / 1e6
    );
    if let Some(ours) = down(data::HASH_ONLY) {
        let _ = write!(
            line,
            " The crate's sha512 (`Hasher`, default features): {:.0} MB/s, {:.2}x of it.",
            ours.rate() / 1e6,
            ours.rate() / limit.rate()
        );
    }
    let tee = down("token + curl | tee FILE");
    let tee_sync = rows
        .iter()
        .find(|r| r.section == "download" && r.peer.contains("then sync FILE"));
    if let (Some(a), Some(b)) = (tee, tee_sync) {
        let _ = write!(
            line,
            " Syncing the {:.0} MiB file costs {:.2} s here (tee + sync minus tee, medians). \
             Every timed run starts after `sync`, so no run's write-back lands in the next.",
            a.work / f64::from(1 << 20),
            b.median - a.median
        );
    }
    Some(line)
}

/// A table cell: a `|` in a name (the shell pipelines) would end the cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("-".into(), |k| format!("{:.0}", k as f64 / 1024.0))
}

/// The tables, for report.md and the README.
fn tables(rows: &[Row], builds: Option<&Builds>) -> String {
    let mut md = String::new();
    let mut sections: Vec<&str> = Vec::new();
    for r in rows {
        if !sections.contains(&r.section.as_str()) {
            sections.push(&r.section);
        }
    }
    for s in sections {
        let rs: Vec<&Row> = rows.iter().filter(|r| r.section == s).collect();
        let base = rs[0];
        let _ = writeln!(md, "\n### {s}\n");
        match s {
            "decode" => {
                let items = base.items.unwrap_or(0) as f64;
                let _ = writeln!(
                    md,
                    "One real page: {:.2} MB, {items} images. vs = time over the crate's typed decode.\n",
                    base.work / 1e6
                );
                let _ = writeln!(
                    md,
                    "| decoder | min ms | median ms | MB/s | images/s | time vs crate |"
                );
                let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|");
                for r in &rs {
                    let _ = writeln!(
                        md,
                        "| {} | {:.2} | {:.2} | {:.1} | {:.0} | {} |",
                        cell(&r.peer),
                        r.min * 1e3,
                        r.median * 1e3,
                        r.rate() / 1e6,
                        items / r.median,
                        ratio(r, base).1
                    );
                }
            }
            "copy" | "ranged download" => md.push_str(&super::copy::table(&rs)),
            "catalog" => md.push_str(&super::catalog::table(&rs)),
            "upload" | "download" => {
                let _ = writeln!(
                    md,
                    "| client | timed | min s | median s | MB/s (median) | peak RSS MiB | time vs crate |"
                );
                let _ = writeln!(md, "|---|---|---:|---:|---:|---:|---:|");
                for r in &rs {
                    let _ = writeln!(
                        md,
                        "| {} | {} | {:.2} | {:.2} | {:.1} | {} | {} |",
                        cell(&r.peer),
                        r.timed,
                        r.min,
                        r.median,
                        r.rate() / 1e6,
                        mib(r.rss_kib),
                        ratio(r, base).1
                    );
                }
            }
            _ => {
                let nova = s.starts_with("nova");
                let _ = writeln!(
                    md,
                    "| client | timed | min s | median s | images/s | requests: {} / other / Keystone{} | time vs {} |",
                    if nova { "Nova pages" } else { "pages" },
                    if nova { " / Nova->Glance" } else { "" },
                    base.peer.split(" (").next().unwrap_or(&base.peer)
                );
                let _ = writeln!(md, "|---|---|---:|---:|---:|---|---:|");
                for r in &rs {
                    let req = r.requests.map_or("-".into(), |q| {
                        let mut s = format!("{} / {} / {}", q.pages, q.other, q.auth);
                        if nova {
                            let _ = write!(s, " / {}", q.backend);
                        }
                        s
                    });
                    let _ = writeln!(
                        md,
                        "| {} | {} | {:.3} | {:.3} | {:.0} | {req} | {} |",
                        cell(&r.peer),
                        r.timed,
                        r.min,
                        r.median,
                        r.rate(),
                        ratio(r, base).1
                    );
                }
            }
        }
    }
    if let Some(b) = builds {
        let _ = writeln!(md, "\n### build\n");
        let _ = writeln!(md, "| what | figure |\n|---|---:|");
        let _ = writeln!(
            md,
            "| cold `cargo build` (default features, own target dir) | {:.1} s |",
            b.cold_secs
        );
        for (name, secs) in &b.top_units {
            let _ = writeln!(md, "| biggest unit: {name} | {secs:.1} s |");
        }
        let _ = writeln!(md, "| build.rs codegen | {:.0} ms |", b.codegen_ms);
        let _ = writeln!(
            md,
            "| rebuild after a schema description edit | {:.1} s |",
            b.schema_edit_secs
        );
    }
    md
}

pub fn targets_table(targets: &[Target]) -> String {
    let mut md = String::from("| target | measured (median, min) | met |\n|---|---|---|\n");
    for t in targets {
        let _ = writeln!(
            md,
            "| {} | {} | {} |",
            cell(&t.target),
            t.measured,
            if t.met { "yes" } else { "**no**" }
        );
    }
    md
}

pub fn write(ctx: &Ctx, rows: &[Row], builds: Option<&Builds>, notes: &[String]) -> Result<()> {
    let targets = targets(rows, builds);
    let mut md = String::from("# Benchmarks\n\n");
    let _ = writeln!(
        md,
        "`cargo xtask bench{}`: {} runs per figure, min and median; {} MiB per transfer; \
         {} CPUs; the stack (Keystone, Glance, Nova API on PostgreSQL, gunicorn 1 worker x 4 \
         threads) is shared, so only ratios within this run mean much. In-process times leave \
         out interpreter start and imports (which favours the Python clients); whole-process \
         times include process start and authentication.\n",
        if ctx.quick { " --quick" } else { "" },
        ctx.repeats,
        ctx.data_bytes >> 20,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    if let Some(line) = machine_limit(rows) {
        let _ = writeln!(md, "{line}\n");
    }
    for n in notes {
        let _ = writeln!(md, "{n}\n");
    }
    let _ = writeln!(md, "## Targets\n\n{}", targets_table(&targets));
    let _ = writeln!(md, "## Figures\n{}", tables(rows, builds));
    std::fs::write(ctx.out.join("report.md"), &md)?;
    let json = serde_json::to_string_pretty(&Report {
        quick: ctx.quick,
        repeats: ctx.repeats,
        data_bytes: ctx.data_bytes,
        rows,
        builds,
        targets,
        notes,
    })?;
    std::fs::write(ctx.out.join("report.json"), json)?;
    println!("\n{md}");
    println!(
        "bench: wrote {} and report.json",
        super::rel(ctx, &ctx.out.join("report.md"))
    );
    Ok(())
}
