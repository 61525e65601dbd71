//! The stack's Python virtualenvs, one per release, cached in the user cache dir and keyed by
//! the hash of the release's pinned requirements.

use super::procs;
use super::release::Release;
use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::fs;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

/// Marker written into a venv only after pip succeeded: a venv without it is broken.
const COMPLETE: &str = ".complete";

/// `<cache>/openstack-images/venv-<first 16 hex of sha256(constraints + requirements)>`
/// (the newest release's key is what it was before there were releases: its venv is kept).
pub fn venv_dir(release: &Release) -> Result<PathBuf> {
    let mut hasher = Sha256::new();
    let path = release.constraints();
    hasher.update(fs::read(&path).with_context(|| format!("reading {}", path.display()))?);
    hasher.update(release.requirements_text()?);
    let hex: String = hasher.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let cache = dirs::cache_dir().context("no user cache directory (is $HOME set?)")?;
    Ok(cache.join("openstack-images").join(format!("venv-{hex}")))
}

/// Returns the release's venv, installing it first unless a complete one is already there.
pub fn ensure_venv(release: &Release) -> Result<PathBuf> {
    let venv = venv_dir(release)?;
    if venv.join(COMPLETE).exists() {
        return Ok(venv);
    }
    fs::create_dir_all(venv.parent().expect("venv has a parent"))?;
    let _lock = procs::PidLock::acquire(&venv.with_extension("lock"), "another install")?;
    if venv.join(COMPLETE).exists() {
        return Ok(venv); // installed by whoever held the lock
    }
    let python = find_python(release)?;
    if venv.exists() {
        println!("removing incomplete venv {}", venv.display());
        fs::remove_dir_all(&venv)?;
    }
    let started = Instant::now();
    println!(
        "installing OpenStack {}'s Keystone, Glance, Nova API and PostgreSQL with {python} \
         into {} (about 2 minutes, once)",
        release.name,
        venv.display()
    );
    let status = Command::new(&python)
        .arg("-m")
        .arg("venv")
        .arg(&venv)
        .status()
        .with_context(|| format!("running {python} -m venv"))?;
    if !status.success() {
        bail!("`{python} -m venv {}` failed ({status})", venv.display());
    }
    let log_path = venv.with_extension("pip.log");
    let log = fs::File::create(&log_path)?;
    println!(
        "  pip install (pinned: xtask/stack/releases/{}.txt; full log: {})",
        release.name,
        log_path.display()
    );
    let mut child = Command::new(venv.join("bin/pip"))
        .args(["install", "--progress-bar", "off", "-c"])
        .arg(release.constraints())
        .args(release.requirements())
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

/// A throwaway venv under `<cache>/openstack-images/upstream` with the newest Glance on PyPI,
/// unpinned (what a new Glance release changes is the point): its Python and Glance's version.
pub fn upstream_glance() -> Result<(PathBuf, String)> {
    let cache = dirs::cache_dir().context("no user cache directory (is $HOME set?)")?;
    let venv = cache.join("openstack-images/upstream");
    let _lock = procs::PidLock::acquire(&venv.with_extension("lock"), "another install")?;
    if venv.exists() {
        fs::remove_dir_all(&venv)?;
    }
    let python = find_python(Release::newest())?;
    let started = Instant::now();
    println!(
        "installing the newest Glance from PyPI (unpinned) into {}",
        venv.display()
    );
    let status = Command::new(&python)
        .args(["-m", "venv"])
        .arg(&venv)
        .status()?;
    if !status.success() {
        bail!("`{python} -m venv {}` failed ({status})", venv.display());
    }
    let out = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--progress-bar", "off", "glance"])
        .stdin(Stdio::null())
        .output()
        .context("running pip")?;
    if !out.status.success() {
        bail!(
            "pip install glance failed ({}):\n{}",
            out.status,
            procs::tail_text(&String::from_utf8_lossy(&out.stderr), 20)
        );
    }
    let version = super::installed_version(&venv, "glance").unwrap_or_else(|| "?".into());
    println!(
        "  glance {version} installed: {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok((venv.join("bin/python"), version))
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

/// The first of `python3`, `python3.<newest supported>` ... `python3.<oldest supported>` that
/// is a Python `release` supports and has a working venv module; fails naming what to
/// install. The constraints files were frozen with 3.11, which every release supports.
pub(super) fn find_python(release: &Release) -> Result<String> {
    let (min, max) = release.python;
    let candidates = std::iter::once("python3".to_string())
        .chain((min..=max).rev().map(|m| format!("python3.{m}")));
    let mut seen = Vec::new();
    for python in candidates {
        let out = Command::new(&python)
            .args([
                "-c",
                "import sys; print('%d.%d' % sys.version_info[:2]); import venv, ensurepip",
            ])
            .output();
        let Ok(out) = out else { continue };
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let minor = version
            .strip_prefix("3.")
            .and_then(|m| m.parse::<u32>().ok());
        let supported = minor.is_some_and(|m| (min..=max).contains(&m));
        if supported && out.status.success() {
            return Ok(python);
        }
        seen.push(if supported {
            format!("{python} ({version}, but no venv/ensurepip: apt-get install python3-venv)")
        } else {
            format!("{python} ({version})")
        });
    }
    bail!(
        "OpenStack {} needs Python 3.{min} to 3.{max} with venv (3.11 is what its pins were \
         frozen with); found {}. Install one, e.g. apt-get install python3.11 python3.11-venv, \
         or put pyenv's python3.11 on PATH",
        release.name,
        if seen.is_empty() {
            "no python3 at all".to_string()
        } else {
            seen.join(", ")
        }
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
