//! `cargo xtask fuzz [--seconds N]`: runs every cargo-fuzz target of `fuzz/` for a fixed
//! time and prints the executions of each.
//!
//! cargo-fuzz wants a nightly compiler for its `-Z` flags; this project builds on stable, so
//! it runs with `RUSTC_BOOTSTRAP=1` and without a sanitizer (`-s none`: the crate has no
//! unsafe code, and a panic is what the targets look for). Install it with
//! `cargo install cargo-fuzz`. Not part of `cargo xtask test` (minutes, not seconds); each
//! finding is kept as a regression test in `tests/offline/hostile.rs`, which is.

use std::process::Command;

use anyhow::{Context, Result, bail};

/// The targets under fuzz/fuzz_targets/, in the order they run.
const TARGETS: &[&str] = &["decode", "query", "patch"];

pub fn run(seconds: u64) -> Result<()> {
    let dir = crate::workspace_root().join("fuzz");
    let installed = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        bail!("cargo-fuzz is not installed: `cargo install cargo-fuzz`");
    }
    let mut report = Vec::new();
    for target in TARGETS {
        let corpus = dir.join("corpus").join(target);
        std::fs::create_dir_all(&corpus)?;
        eprintln!("fuzz: {target} for {seconds} s");
        let out = Command::new("cargo")
            .current_dir(&dir)
            .env("RUSTC_BOOTSTRAP", "1")
            .args(["fuzz", "run", "-s", "none", target])
            .arg(&corpus)
            .args([
                "--",
                &format!("-max_total_time={seconds}"),
                "-print_final_stats=1",
                "-max_len=65536",
            ])
            .output()
            .with_context(|| format!("running cargo fuzz for {target}"))?;
        let log = String::from_utf8_lossy(&out.stderr);
        let execs = stat(&log, "stat::number_of_executed_units:");
        let rate = stat(&log, "stat::average_exec_per_sec:");
        if !out.status.success() {
            eprintln!("{log}");
            bail!(
                "fuzz target {target} failed: see the crash input under fuzz/artifacts/{target}/"
            );
        }
        report.push((target, execs, rate));
    }
    println!("{:<8} {:>14} {:>12}", "target", "executions", "exec/s");
    for (t, e, r) in report {
        println!(
            "{t:<8} {:>14} {:>12}",
            e.map_or("?".into(), |n| n.to_string()),
            r.map_or("?".into(), |n| n.to_string())
        );
    }
    Ok(())
}

/// A number from libFuzzer's final stats (`stat::number_of_executed_units: 12345`).
fn stat(log: &str, key: &str) -> Option<u64> {
    log.lines()
        .find_map(|l| l.trim().strip_prefix(key))
        .and_then(|v| v.trim().parse().ok())
}
