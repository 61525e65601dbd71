//! The stack's Python virtualenv, cached in the user cache dir and keyed by the hash of the
//! pinned requirements.

use super::procs;
use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::fs;
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
    let status = Command::new(venv.join("bin/pip"))
        .args(["install", "--progress-bar", "off", "-c"])
        .arg(assets.join("constraints.txt"))
        .arg("-r")
        .arg(assets.join("requirements.txt"))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .context("running pip")?;
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

/// Fails with the missing prerequisite named when python3 or its venv module is unusable.
fn check_python() -> Result<()> {
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
