//! openstack-image-manager (OSISM), the catalog tool osimg is compared with: pinned by
//! xtask/stack/oim-requirements.txt, installed with `pip install --no-deps` into its own venv
//! (its own pins clash with the stack's openstacksdk and need Python >= 3.12; the file's header
//! says why `--no-deps` works on 3.11), cached under target/oim/ and keyed by that file's hash.

use super::{install, procs};
use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// Marker written into the venv only after pip and a `--help` run succeeded.
const COMPLETE: &str = ".complete";
/// The pins, relative to the workspace root.
const PINS: &str = "xtask/stack/oim-requirements.txt";

/// `<workspace>/target/oim/venv-<first 16 hex of sha256(pins)>`: outside target/stack,
/// which a cold `stack up` recreates.
pub fn venv_dir() -> Result<PathBuf> {
    let root = crate::workspace_root();
    let pins = root.join(PINS);
    let bytes = fs::read(&pins).with_context(|| format!("reading {}", pins.display()))?;
    let hex: String = Sha256::digest(&bytes)[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(root.join("target/oim").join(format!("venv-{hex}")))
}

/// The `openstack-image-manager` command of a venv.
pub fn executable(venv: &Path) -> PathBuf {
    venv.join("bin/openstack-image-manager")
}

/// Returns the venv, installing it first unless a complete one is already there.
pub fn ensure_venv() -> Result<PathBuf> {
    let venv = venv_dir()?;
    if venv.join(COMPLETE).exists() {
        return Ok(venv);
    }
    let _lock = procs::PidLock::acquire(&venv.with_extension("lock"), "another OIM install")?;
    if venv.join(COMPLETE).exists() {
        return Ok(venv); // installed by whoever held the lock
    }
    // openstack-image-manager runs on the Python the newest release's servers run on.
    let python = install::find_python(super::Release::newest())?;
    if venv.exists() {
        println!("removing incomplete venv {}", venv.display());
        fs::remove_dir_all(&venv)?;
    }
    let started = Instant::now();
    println!(
        "installing openstack-image-manager into {} (pinned: {PINS}; under a minute, once)",
        venv.display()
    );
    run(Command::new(&python).arg("-m").arg("venv").arg(&venv))?;
    let log_path = venv.with_extension("pip.log");
    let log = fs::File::create(&log_path)?;
    let status = Command::new(venv.join("bin/pip"))
        .args(["install", "--no-deps", "--progress-bar", "off", "-r"])
        .arg(crate::workspace_root().join(PINS))
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
    // pip --no-deps checks nothing: an import error shows up here, not in a test.
    run(Command::new(executable(&venv))
        .arg("--help")
        .stdout(Stdio::null()))?;
    fs::write(
        venv.join(COMPLETE),
        format!("installed in {:.0}s\n", started.elapsed().as_secs_f64()),
    )?;
    println!(
        "  openstack-image-manager install: {:.1}s (log: {})",
        started.elapsed().as_secs_f64(),
        log_path.display()
    );
    Ok(venv)
}

fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .stdin(Stdio::null())
        .status()
        .with_context(|| format!("running {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed ({status})");
    }
    Ok(())
}
