//! Developer tasks for openstack-images: `cargo xtask <task>`.
//!
//! - `stack up|down|status|env`: a real Keystone + Glance + Nova API on 127.0.0.1
//! - `schema pull|check`: fetch the live schemas into `schemas/`, or detect drift
//! - `test`: every check (fmt, clippy, offline tests, live tests against the stack)
//! - `demo`: a narrated tour of the client against the local stack
//! - `bench`: side-by-side benchmarks against peers
//! - `fuzz`: run each cargo-fuzz target of `fuzz/` for a fixed time (not part of `test`)

mod bench;
mod demo;
mod fuzz;
mod schema;
mod stack;
mod test;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Developer tasks for openstack-images")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Manage the local OpenStack (Keystone, Glance, Nova API) under target/stack/.
    Stack {
        #[command(subcommand)]
        cmd: StackCmd,
    },
    /// Fetch Glance's served schemas into schemas/image/v2/, or check them for drift.
    Schema {
        #[command(subcommand)]
        cmd: SchemaCmd,
    },
    /// Run every check: fmt, clippy, offline tests, then schema check and live tests against
    /// the newest release and the oldest (2024.1), one after the other.
    Test {
        /// Run the live tests against this release only (2024.1 ... 2026.2).
        #[arg(long, value_name = "RELEASE", conflicts_with = "all_releases")]
        release: Option<String>,
        /// Run the live tests against every release, newest first.
        #[arg(long)]
        all_releases: bool,
    },
    /// Bring the local stack up and run a narrated tour of the client against it.
    Demo,
    /// Measure the crate and osimg against their peers; writes target/bench/report.md.
    Bench {
        /// Fewer repeats, 2,000 images only, 256 MiB transfers.
        #[arg(long)]
        quick: bool,
        /// Only these sections (list, decode, data, ranged, copy, catalog, nova, cli, build;
        /// comma-separated).
        #[arg(long, value_delimiter = ',', value_name = "SECTION")]
        only: Vec<String>,
        /// MiB per transfer in the data and catalog sections (default 1024, 256 with --quick).
        #[arg(long, value_name = "MIB")]
        data_mib: Option<u64>,
        /// Measure nothing: rewrite README.md's performance table from the latest
        /// target/bench/report.json (whole runs do this themselves).
        #[arg(long, conflicts_with_all = ["quick", "only", "data_mib"])]
        readme: bool,
    },
    /// Run each cargo-fuzz target (fuzz/) for a fixed time; prints executions per target.
    Fuzz {
        /// Seconds per target.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
    },
}

#[derive(Subcommand)]
enum SchemaCmd {
    /// Write GET /v2/schemas/{image,images,member,members,task,tasks}, canonically formatted.
    Pull {
        /// A cloud of your clouds.yaml (default: the local stack, brought up if needed).
        #[arg(long, value_name = "NAME")]
        cloud: Option<String>,
        /// Where to write the files (default: schemas/image/v2/).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Compare the served schemas with schemas/image/v2/; fails with a report on drift.
    Check {
        /// A cloud of your clouds.yaml (default: the local stack, brought up if needed).
        #[arg(long, value_name = "NAME", conflicts_with_all = ["release", "upstream"])]
        cloud: Option<String>,
        /// Compare with this release's Glance (2024.1 ... 2026.2), rendered from its venv
        /// without a server.
        #[arg(long, value_name = "RELEASE", conflicts_with = "upstream")]
        release: Option<String>,
        /// Compare with the newest Glance on PyPI (unpinned, in a scratch venv), rendered
        /// without a server: notices a new Glance release without changing any pin.
        #[arg(long)]
        upstream: bool,
    },
}

#[derive(Subcommand)]
enum StackCmd {
    /// Install (first time), initialise (first time) and start the servers.
    Up {
        /// The OpenStack release to serve: 2024.1, 2024.2, 2025.1, 2025.2, 2026.1 or 2026.2
        /// (the default, the newest). Another release than the one initialised starts over.
        #[arg(long, value_name = "RELEASE")]
        release: Option<String>,
    },
    /// Stop the servers started by `up`.
    Down,
    /// Show whether the servers are running and where.
    Status,
    /// Print the shell exports that point clients at the stack.
    Env,
}

/// The workspace root (the directory holding the top-level Cargo.toml).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Stack { cmd } => match cmd {
            StackCmd::Up { release } => {
                stack::up(stack::Release::or_newest(release.as_deref())?).map(|_| ())
            }
            StackCmd::Down => stack::down(),
            StackCmd::Status => stack::status(),
            StackCmd::Env => stack::print_env(),
        },
        Cmd::Schema { cmd } => match cmd {
            SchemaCmd::Pull { cloud, out } => schema::pull(cloud.as_deref(), out.as_deref()),
            SchemaCmd::Check {
                release: Some(name),
                ..
            } => schema::check_release(stack::Release::find(&name)?),
            SchemaCmd::Check { upstream: true, .. } => schema::check_upstream(),
            SchemaCmd::Check { cloud, .. } => schema::check(cloud.as_deref()),
        },
        Cmd::Test {
            release,
            all_releases,
        } => test::run(&test::releases(release.as_deref(), all_releases)?),
        Cmd::Demo => demo::run(),
        Cmd::Bench { readme: true, .. } => bench::readme_only(),
        Cmd::Bench {
            quick,
            only,
            data_mib,
            ..
        } => bench::run(quick, &only, data_mib),
        Cmd::Fuzz { seconds } => fuzz::run(seconds),
    }
}
