//! `cargo xtask bench [--quick]`: the crate and `osimg` side by side with their peers
//! (a raw HTTP loop or curl, openstacksdk, python-glanceclient, openstack-image-manager)
//! against the local stack, in one run; writes `target/bench/report.md` and `report.json`.
//!
//! The stack is shared and timings are noisy, so every figure is a ratio against a peer
//! measured in the same run, from the min and the median of repeated runs; peers are run in
//! a rotating order so none always goes first.

mod build;
mod catalog;
mod cli;
mod copy;
mod data;
mod file_server;
mod list;
mod proc;
mod ranged;
mod readme;
mod report;
mod seed;
mod throttle;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::stack::StackInfo;
use proc::Requests;

/// The sections of a run, in order.
pub const SECTIONS: [&str; 9] = [
    "list", "decode", "data", "ranged", "copy", "catalog", "nova", "cli", "build",
];

/// What a run measures and where it writes.
pub struct Ctx {
    pub info: StackInfo,
    pub root: PathBuf,
    /// target/bench: reports, the fetched page, the generated data file, scratch files.
    pub out: PathBuf,
    /// Release builds of osimg and the examples.
    pub release: PathBuf,
    pub repeats: usize,
    /// Image counts listed (the 2,000 set also feeds the decode and Nova sections).
    pub list_sizes: Vec<usize>,
    /// Bytes moved by each upload and download.
    pub data_bytes: u64,
    pub quick: bool,
    pub logs: proc::Logs,
    pub rt: tokio::runtime::Runtime,
}

impl Ctx {
    pub fn osimg(&self) -> PathBuf {
        self.release.join("osimg")
    }

    pub fn example(&self, name: &str) -> PathBuf {
        self.release.join("examples").join(name)
    }

    /// `python peers.py --clouds ... <args>` as an argv.
    pub fn peer(&self, args: &[&str]) -> Vec<String> {
        let mut v = vec![
            self.info.python().display().to_string(),
            self.root.join("xtask/bench/peers.py").display().to_string(),
            "--clouds".into(),
            self.info.clouds_yaml.display().to_string(),
        ];
        v.extend(args.iter().map(|a| (*a).to_owned()));
        v
    }

    /// Writes the body of a Keystone token request for curl (`-d @FILE`, removed by the
    /// caller); returns it with the token URL.
    pub fn auth_body(&self) -> Result<(PathBuf, String)> {
        let path = self.out.join("auth-body.json");
        let p = proc::run(
            &self.peer(&["auth-body", "--out", &path.display().to_string()]),
            None,
            &self.out,
        )?;
        let auth_url = proc::last_json(&p.stdout)?["auth_url"]
            .as_str()
            .context("auth_url")?
            .trim_end_matches('/')
            .to_owned();
        Ok((path, format!("{auth_url}/auth/tokens")))
    }

    pub fn client(&self) -> Result<openstack_images::Client> {
        Ok(openstack_images::Client::from_cloud("local")?)
    }
}

/// One peer's figures in one section.
#[derive(Serialize, Clone, Debug)]
pub struct Row {
    pub section: String,
    pub peer: String,
    /// How it was timed: "in-process" or "whole process".
    pub timed: &'static str,
    /// Images or bytes handled by one run.
    pub work: f64,
    pub unit: &'static str,
    pub min: f64,
    pub median: f64,
    pub samples: Vec<f64>,
    /// Highest peak RSS over the runs, KiB.
    pub rss_kib: Option<u64>,
    pub requests: Option<Requests>,
    /// Images in the decoded page (decode rows).
    pub items: Option<usize>,
    /// Body bytes a source server sent over the size of what it served, highest over the
    /// runs (catalog rows: 1.00 = read once).
    pub source_read: Option<f64>,
}

impl Row {
    pub fn new(
        section: &str,
        peer: &str,
        timed: &'static str,
        work: f64,
        unit: &'static str,
    ) -> Row {
        Row {
            section: section.into(),
            peer: peer.into(),
            timed,
            work,
            unit,
            min: f64::NAN,
            median: f64::NAN,
            samples: Vec::new(),
            rss_kib: None,
            requests: None,
            items: None,
            source_read: None,
        }
    }

    /// Adds one run.
    pub fn push(&mut self, secs: f64, rss_kib: Option<u64>, req: Option<Requests>) {
        self.samples.push(secs);
        self.rss_kib = self.rss_kib.max(rss_kib);
        self.requests = match (self.requests, req) {
            (Some(a), Some(b)) => Requests::min([a, b]),
            (a, b) => a.or(b),
        };
        let mut s = self.samples.clone();
        s.sort_by(f64::total_cmp);
        self.min = s[0];
        let n = s.len();
        self.median = if n % 2 == 1 {
            s[n / 2]
        } else {
            (s[n / 2 - 1] + s[n / 2]) / 2.0
        };
    }

    /// Figures measured elsewhere as min and median (the decode loops).
    pub fn stats(mut self, min: f64, median: f64) -> Row {
        self.min = min;
        self.median = median;
        self
    }

    /// Work per second at the median.
    pub fn rate(&self) -> f64 {
        self.work / self.median
    }
}

/// Runs the bench; `only` limits it to some sections, `data_mib` sets the transfer size.
pub fn run(quick: bool, only: &[String], data_mib: Option<u64>) -> Result<()> {
    for s in only {
        if !SECTIONS.contains(&s.as_str()) {
            bail!("unknown section {s}: one of {}", SECTIONS.join(", "));
        }
    }
    let wanted = |s: &str| only.is_empty() || only.iter().any(|o| o == s);
    let info = crate::stack::up(crate::stack::Release::newest())?;
    // SAFETY of set_var: single-threaded here, before any runtime or child starts.
    unsafe {
        std::env::set_var("OS_CLIENT_CONFIG_FILE", &info.clouds_yaml);
        std::env::set_var("OS_CLOUD", "local");
    }
    let root = crate::workspace_root();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let out = root.join("target/bench");
    std::fs::create_dir_all(&out)?;
    let ctx = Ctx {
        logs: proc::Logs::new(&info.dir),
        info,
        release: target.join("release"),
        out,
        repeats: if quick { 2 } else { 5 },
        list_sizes: if quick {
            vec![2000]
        } else {
            seed::SETS.to_vec()
        },
        data_bytes: data_mib.map_or(if quick { 256 << 20 } else { 1 << 30 }, |m| m << 20),
        quick,
        root,
        rt: tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?,
    };

    // `--only build` measures cold builds: it needs neither release binaries nor seeded images
    // (both take minutes and would only add noise).
    let build_only = !only.is_empty() && only.iter().all(|s| s == "build");
    if !build_only {
        let client = ctx.client()?;
        build_release(&ctx)?;
        // The list section lists the larger sets; decode, nova and cli use the 2,000 set;
        // the data sections need none (10,000 take minutes to make).
        let want = if wanted("list") {
            ctx.list_sizes.iter().copied().max().unwrap_or(0)
        } else if ["decode", "nova", "cli"].iter().any(|s| wanted(s)) {
            2000
        } else {
            0
        };
        if want > 0 {
            ctx.rt.block_on(seed::images(&client, want))?;
        }
    }

    let mut rows = Vec::new();
    let mut notes = Vec::new();
    if wanted("list") {
        for &n in &ctx.list_sizes {
            rows.extend(list::glance(&ctx, n)?);
        }
    }
    if wanted("decode") {
        rows.extend(list::decode(&ctx)?);
    }
    if wanted("data") {
        rows.extend(data::run(&ctx)?);
    }
    if wanted("ranged") {
        rows.extend(ranged::run(&ctx)?);
    }
    if wanted("copy") {
        rows.extend(copy::run(&ctx)?);
    }
    if wanted("catalog") {
        rows.extend(catalog::run(&ctx)?);
    }
    if wanted("nova") {
        rows.extend(list::nova(&ctx, 2000)?);
    }
    if wanted("cli") {
        rows.extend(cli::list(&ctx)?);
        rows.extend(cli::show(&ctx, &mut notes)?);
        rows.extend(cli::versus_openstack(&ctx)?);
    }
    let builds = if wanted("build") {
        Some(build::run(&ctx)?)
    } else {
        None
    };
    if !only.is_empty() {
        notes.push(format!("Partial run: sections {}.", only.join(", ")));
    }
    report::write(&ctx, &rows, builds.as_ref(), &notes)?;
    // A partial run would replace the README's full table with a few rows: only whole runs.
    if only.is_empty() {
        readme::update(&ctx.root, &ctx.out.join("report.json"))?;
    }
    Ok(())
}

/// `cargo xtask bench --readme`: the README's table from the latest report, no measuring.
pub fn readme_only() -> Result<()> {
    let root = crate::workspace_root();
    readme::update(&root, &root.join("target/bench/report.json"))
}

/// Release builds of osimg and the two examples, so no figure is debug code.
fn build_release(ctx: &Ctx) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    println!("bench: building osimg, examples bench_list and transfer (release)");
    let status = Command::new(cargo)
        .current_dir(&ctx.root)
        .args([
            "build",
            "--release",
            "-p",
            "openstack-images",
            "--features",
            "cli",
            "--bin",
            "osimg",
            "--example",
            "bench_list",
            "--example",
            "transfer",
        ])
        .status()
        .context("running cargo build --release")?;
    if !status.success() {
        bail!("the release build failed");
    }
    Ok(())
}

/// curl asking Keystone for a token, headers included.
pub fn curl_token_argv(body: &Path, token_url: &str) -> Vec<String> {
    let mut argv: Vec<String> = ["curl", "-sS", "-f", "-i", "-X", "POST", "-H"]
        .map(String::from)
        .to_vec();
    argv.push("Content-Type: application/json".into());
    argv.push("-d".into());
    argv.push(format!("@{}", body.display()));
    argv.push(token_url.into());
    argv
}

/// The token in Keystone's `X-Subject-Token` header of a `curl -i` output.
pub fn subject_token(headers: &str) -> Result<String> {
    headers
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("x-subject-token")
                .then(|| v.trim().to_owned())
        })
        .context("no X-Subject-Token from Keystone")
}

/// `path` relative to the workspace root, for the report.
pub fn rel(ctx: &Ctx, path: &Path) -> String {
    path.strip_prefix(&ctx.root)
        .unwrap_or(path)
        .display()
        .to_string()
}
