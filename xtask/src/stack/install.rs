//! The stack's Python virtualenv, cached in the user cache dir and keyed by the hash of the
//! pinned requirements.

use super::procs;
use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::fs;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

/// Marker written into a venv only after pip succeeded: a venv without it is broken.
const COMPLETE: &str = ".complete";

/// `<cache>/openstack-images/venv-<first 16 hex of sha256(constraints + requirements)>`.
pub fn venv_dir() -> Result<PathBuf> {
    let assets = crate::workspace_root().join("xtask/stack");
    let mut hasher = Sha256::new();
    for file in ["constraints.txt", "requirements.txt"] {
        let path = assets.join(file);
        hasher.update(fs::read(&path).with_context(|| format!("reading {}", path.display()))?);
    }
    let hex: String = hasher.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let cache = dirs::cache_dir().context("no user cache directory (is $HOME set?)")?;
    Ok(cache.join("openstack-images").join(format!("venv-{hex}")))
}

/// Returns the venv, installing it first unless a complete one is already there.
pub fn ensure_venv() -> Result<PathBuf> {
    let venv = venv_dir()?;
    if venv.join(COMPLETE).exists() {
        return Ok(venv);
    }
    fs::create_dir_all(venv.parent().expect("venv has a parent"))?;
    let _lock = procs::PidLock::acquire(&venv.with_extension("lock"), "another install")?;
    if venv.join(COMPLETE).exists() {
        return Ok(venv); // installed by whoever held the lock
    }
    check_python()?;
    if venv.exists() {
        println!("removing incomplete venv {}", venv.display());
        fs::remove_dir_all(&venv)?;
    }
    let started = Instant::now();
    println!(
        "installing Keystone, Glance, Nova API and PostgreSQL into {} (about 2 minutes, once)",
        venv.display()
    );
    let status = Command::new("python3")
        .arg("-m")
        .arg("venv")
        .arg(&venv)
        .status()
        .context("running python3 -m venv")?;
    if !status.success() {
        bail!("`python3 -m venv {}` failed ({status})", venv.display());
    }
    let assets = crate::workspace_root().join("xtask/stack");
    let log_path = venv.with_extension("pip.log");
    let log = fs::File::create(&log_path)?;
    println!(
        "  pip install (pinned: xtask/stack/constraints.txt; full log: {})",
        log_path.display()
    );
    let mut child = Command::new(venv.join("bin/pip"))
        .args(["install", "--progress-bar", "off", "-c"])
        .arg(assets.join("constraints.txt"))
        .arg("-r")
        .arg(assets.join("requirements.txt"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log.try_clone()?)
        .spawn()
        .context("running pip")?;
    let stdout = child.stdout.take().expect("piped stdout");
    let mut progress = PipProgress::new(started);
    let mut log = log;
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line?;
        writeln!(log, "{line}")?;
        if let Some(update) = progress.line(&line) {
            println!("{update}");
        }
    }
    let status = child.wait().context("waiting for pip")?;
    if !status.success() {
        bail!(
            "pip install failed ({status}); last lines of {}:\n{}",
            log_path.display(),
            procs::tail(&log_path, 20)
        );
    }
    fs::write(
        venv.join(COMPLETE),
        format!("installed in {:.0}s\n", started.elapsed().as_secs_f64()),
    )?;
    println!(
        "  install: {:.1}s (log: {})",
        started.elapsed().as_secs_f64(),
        log_path.display()
    );
    Ok(venv)
}

/// pip's output condensed to a few lines with elapsed times: how many packages are resolved
/// (every 25), when installing starts (the long, silent part) and when it is done.
struct PipProgress {
    started: Instant,
    collected: usize,
}

impl PipProgress {
    fn new(started: Instant) -> Self {
        PipProgress {
            started,
            collected: 0,
        }
    }

    /// The line to print for this line of pip's output, if any.
    fn line(&mut self, line: &str) -> Option<String> {
        let secs = self.started.elapsed().as_secs_f64();
        if line.starts_with("Collecting ") {
            self.collected += 1;
            return self
                .collected
                .is_multiple_of(25)
                .then(|| format!("    {} packages resolved ({secs:.0}s)", self.collected));
        }
        if let Some(list) = line.strip_prefix("Installing collected packages: ") {
            let n = list.split(", ").count();
            return Some(format!(
                "    {} packages resolved; installing {n} packages ({secs:.0}s; this takes a while)",
                self.collected
            ));
        }
        if let Some(list) = line.strip_prefix("Successfully installed ") {
            let n = list.split_whitespace().count();
            return Some(format!("    installed {n} packages ({secs:.0}s)"));
        }
        line.starts_with("ERROR").then(|| format!("    {line}"))
    }
}

/// Fails with the missing prerequisite named when python3 or its venv module is unusable.
pub(super) fn check_python() -> Result<()> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys, venv, ensurepip; print('%d.%d' % sys.version_info[:2]); \
             sys.exit(sys.version_info < (3, 10))",
        ])
        .output();
    let out = match out {
        Ok(out) => out,
        Err(e) => bail!(
            "python3 not found ({e}): the local stack needs Python >= 3.10 with venv \
             (Debian/Ubuntu: apt-get install python3 python3-venv)"
        ),
    };
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("ensurepip") || stderr.contains("No module named 'venv'") {
        bail!(
            "`python3 -m venv` is unusable (no ensurepip): install your distribution's venv \
             package (Debian/Ubuntu: apt-get install python3-venv)"
        );
    }
    bail!(
        "python3 {} is too old or broken: the local stack needs Python >= 3.10 with venv\n{}",
        String::from_utf8_lossy(&out.stdout).trim(),
        stderr.trim()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pip_output_is_condensed_to_milestones() {
        let mut p = PipProgress::new(Instant::now());
        let mut printed = Vec::new();
        for i in 0..60 {
            printed.extend(p.line(&format!("Collecting pkg{i}==1.0 (from -r req.txt)")));
            printed.extend(p.line("  Using cached pkg-1.0-py3-none-any.whl (10 kB)"));
        }
        printed.extend(p.line("Installing collected packages: a, b, c"));
        printed.extend(p.line("Successfully installed a-1 b-2 c-3"));
        printed.extend(p.line("ERROR: No matching distribution found for zzz"));
        let printed: Vec<String> = printed
            .iter()
            .map(|l| l.split(" (").next().unwrap().to_owned())
            .collect();
        assert_eq!(
            printed,
            [
                "    25 packages resolved",
                "    50 packages resolved",
                "    60 packages resolved; installing 3 packages",
                "    installed 3 packages",
                "    ERROR: No matching distribution found for zzz",
            ]
        );
    }
}
