//! Running a client as a process (wall time and peak RSS through `/usr/bin/time`), and
//! counting the requests it made in the servers' gunicorn access logs.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

/// One finished client process.
pub struct Proc {
    /// Wall time from spawn to exit.
    pub secs: f64,
    /// Peak resident set size ("Maximum resident set size"), KiB.
    pub rss_kib: Option<u64>,
    pub stdout: String,
}

/// Runs `argv` to completion under `/usr/bin/time -f %M`, optionally with a file as stdin;
/// fails with the end of its stderr unless it exits 0.
pub fn run<S: AsRef<OsStr>>(argv: &[S], stdin: Option<&Path>, scratch: &Path) -> Result<Proc> {
    let rss_file = scratch.join("rss.txt");
    let _ = std::fs::remove_file(&rss_file);
    let mut cmd = Command::new("/usr/bin/time");
    cmd.arg("-f").arg("%M").arg("-o").arg(&rss_file).args(argv);
    cmd.stdin(match stdin {
        Some(p) => Stdio::from(File::open(p).with_context(|| format!("{}", p.display()))?),
        None => Stdio::null(),
    });
    flush_disk()?;
    let started = Instant::now();
    let out = cmd
        .output()
        .with_context(|| format!("running {:?}", argv[0].as_ref()))?;
    let secs = started.elapsed().as_secs_f64();
    if !out.status.success() {
        let line: Vec<_> = argv.iter().map(|a| a.as_ref().to_string_lossy()).collect();
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!("`{}` failed:\n{}", line.join(" "), tail.join("\n"));
    }
    let rss_kib = std::fs::read_to_string(&rss_file)
        .ok()
        .and_then(|s| s.lines().last().and_then(|l| l.trim().parse().ok()));
    Ok(Proc {
        secs,
        rss_kib,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
    })
}

/// Writes every dirty page to disk (`sync`), untimed, before a timed run: one run's
/// write-back (the store's copy of an uploaded image, a saved file) then never lands in the
/// next run's fsync or reads.
pub fn flush_disk() -> Result<()> {
    let status = Command::new("sync").status().context("running sync")?;
    if !status.success() {
        bail!("sync failed ({status})");
    }
    Ok(())
}

/// The last line of a process's output, parsed as JSON (how the peers report).
pub fn last_json(stdout: &str) -> Result<serde_json::Value> {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .context("no JSON line in the output")?;
    serde_json::from_str(line).with_context(|| format!("parsing `{line}`"))
}

/// Requests one measurement made, from the access logs.
#[derive(Serialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Requests {
    /// Requests for the listing itself (they carry the measurement's filter).
    pub pages: usize,
    /// Other requests of the same client to the listed service (discovery, schema).
    pub other: usize,
    /// Requests to Keystone (authentication, discovery).
    pub auth: usize,
    /// For Nova listings: Nova's own requests to Glance.
    pub backend: usize,
}

impl Requests {
    /// The smallest count of each kind over samples: other engineers' traffic only adds.
    pub fn min(all: impl IntoIterator<Item = Requests>) -> Option<Requests> {
        all.into_iter().reduce(|a, b| Requests {
            pages: a.pages.min(b.pages),
            other: a.other.min(b.other),
            auth: a.auth.min(b.auth),
            backend: a.backend.min(b.backend),
        })
    }
}

/// The three access logs under target/stack.
pub struct Logs {
    glance: PathBuf,
    keystone: PathBuf,
    nova: PathBuf,
}

/// Where each log ended before a measurement.
pub struct Mark([u64; 3]);

impl Logs {
    pub fn new(stack_dir: &Path) -> Logs {
        Logs {
            glance: stack_dir.join("glance/access.log"),
            keystone: stack_dir.join("keystone/access.log"),
            nova: stack_dir.join("nova/access.log"),
        }
    }

    fn paths(&self) -> [&Path; 3] {
        [&self.glance, &self.keystone, &self.nova]
    }

    pub fn mark(&self) -> Mark {
        Mark(
            self.paths()
                .map(|p| std::fs::metadata(p).map_or(0, |m| m.len())),
        )
    }

    /// Lines written since `mark`: (glance, keystone, nova). Waits a moment first, since
    /// gunicorn logs a request after answering it.
    fn since(&self, mark: &Mark) -> [Vec<String>; 3] {
        std::thread::sleep(Duration::from_millis(150));
        let mut out: [Vec<String>; 3] = Default::default();
        for (i, p) in self.paths().into_iter().enumerate() {
            let mut text = String::new();
            if let Ok(mut f) = File::open(p)
                && f.seek(SeekFrom::Start(mark.0[i])).is_ok()
            {
                let _ = f.read_to_string(&mut text);
            }
            out[i] = text.lines().map(str::to_owned).collect();
        }
        out
    }

    /// Requests of the client whose User-Agent contains `ua` (`auth_ua` on Keystone): pages
    /// are the lines holding `filter`, on Glance, or on Nova when `nova` is set; then the
    /// Glance lines holding that second filter are Nova's own calls.
    pub fn count(
        &self,
        mark: &Mark,
        ua: &str,
        auth_ua: &str,
        filter: &str,
        nova: Option<&str>,
    ) -> Requests {
        let [glance, keystone, nova_lines] = self.since(mark);
        let listed = if nova.is_some() { &nova_lines } else { &glance };
        let mine = |l: &&String| l.contains(ua);
        Requests {
            pages: listed
                .iter()
                .filter(mine)
                .filter(|l| l.contains(filter))
                .count(),
            other: listed
                .iter()
                .filter(mine)
                .filter(|l| !l.contains(filter))
                .count(),
            auth: keystone.iter().filter(|l| l.contains(auth_ua)).count(),
            backend: nova.map_or(0, |f| glance.iter().filter(|l| l.contains(f)).count()),
        }
    }
}
