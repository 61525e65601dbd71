//! Processes and ports on Linux, through /proc and the `kill` command (no libc needed).

use anyhow::{Context, Result, bail};
use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Whether `pid` exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // "pid (comm) S ...": the state follows the last ')'.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, None | Some('Z' | 'X'))
}

/// The command line of `pid`, arguments joined by spaces.
pub fn cmdline(pid: u32) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let text = String::from_utf8_lossy(&raw).replace('\0', " ");
    Some(text.trim().to_string())
}

/// Whether `pid` is alive and runs in `dir` (its working directory, or its command line
/// mentions it), so a recycled pid is never taken for ours. Gunicorn (`--chdir`) and
/// PostgreSQL (its data directory) both work in their own directory.
pub fn ours(pid: u32, dir: &Path) -> bool {
    if !alive(pid) {
        return false;
    }
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd == dir)
        || cmdline(pid).is_some_and(|c| c.contains(&*dir.to_string_lossy()))
}

/// Sends `sig` (e.g. "TERM") to a pid, or to a process group when `group` is set.
fn signal(pid: u32, group: bool, sig: &str) {
    let target = if group {
        format!("-{pid}")
    } else {
        pid.to_string()
    };
    // Failure means the target is already gone, which is what we want anyway.
    let _ = Command::new("kill")
        .args(["-s", sig, "--", &target])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn wait_gone(pid: u32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while alive(pid) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

/// Stops `pid` (its whole process group when `group`): `first` signal, then SIGKILL after
/// `grace`. Returns an error only if the process survives SIGKILL.
pub fn stop(pid: u32, group: bool, first: &str, grace: Duration) -> Result<()> {
    signal(pid, group, first);
    if !wait_gone(pid, grace) {
        eprintln!("  pid {pid} still running after {grace:?}: SIGKILL");
        signal(pid, group, "KILL");
        if !wait_gone(pid, Duration::from_secs(5)) {
            bail!("pid {pid} survived SIGKILL");
        }
    }
    if group {
        // Leftover workers of the group, if any.
        signal(pid, true, "KILL");
    }
    Ok(())
}

/// `n` distinct free TCP ports on 127.0.0.1, as picked by the kernel.
pub fn free_ports(n: usize) -> Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()
        .context("binding 127.0.0.1:0 to pick free ports")?;
    listeners
        .iter()
        .map(|l| Ok(l.local_addr()?.port()))
        .collect()
}

/// Whether 127.0.0.1:`port` can be bound right now.
pub fn port_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// "pid N (command line)" of the process listening on `port`, when /proc tells.
pub fn port_holder(port: u16) -> Option<String> {
    let hex = format!(":{port:04X}");
    let inode = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .find_map(|table| {
            let text = std::fs::read_to_string(table).ok()?;
            text.lines().skip(1).find_map(|line| {
                let cols: Vec<&str> = line.split_whitespace().collect();
                // local_address, rem_address, st (0A = LISTEN), ..., inode at index 9.
                (cols.len() > 9 && cols[1].ends_with(&hex) && cols[3] == "0A")
                    .then(|| cols[9].to_string())
            })
        })?;
    let needle = format!("socket:[{inode}]");
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let holds = fds
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l.to_string_lossy() == needle));
        if holds {
            return Some(format!(
                "pid {pid} ({})",
                cmdline(pid).unwrap_or_else(|| "?".into())
            ));
        }
    }
    Some(format!("an unknown process (socket inode {inode})"))
}

/// The last `n` lines of a text file (or a note that it cannot be read).
pub fn tail(path: &Path, n: usize) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => tail_text(&text, n),
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

/// The last `n` lines of `text`.
pub fn tail_text(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Whether 127.0.0.1:`port` answers `GET /` with an HTTP status line within `timeout`.
pub fn http_answers(port: u16, timeout: Duration) -> bool {
    let probe = || -> std::io::Result<bool> {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        stream.write_all(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
        let mut head = [0u8; 5];
        stream.read_exact(&mut head)?;
        Ok(&head == b"HTTP/")
    };
    probe().unwrap_or(false)
}

/// A lock file holding the owner's pid, removed on drop; stale locks are taken over.
pub struct PidLock(PathBuf);

impl PidLock {
    /// Takes the lock at `path`, waiting while a live process (doing `what`) holds it.
    pub fn acquire(path: &Path, what: &str) -> Result<PidLock> {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        let mut said = false;
        loop {
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
            {
                Ok(_) => {
                    fs::write(path, std::process::id().to_string())?;
                    return Ok(PidLock(path.to_path_buf()));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = fs::read_to_string(path)
                        .ok()
                        .and_then(|s| s.trim().parse::<u32>().ok());
                    match holder {
                        Some(pid) if alive(pid) => {
                            if !said {
                                println!("waiting for {what} (pid {pid})");
                                said = true;
                            }
                            std::thread::sleep(Duration::from_secs(1));
                        }
                        // Stale, or being written this instant: look again before taking over.
                        _ => {
                            std::thread::sleep(Duration::from_millis(200));
                            let again = fs::read_to_string(path)
                                .ok()
                                .and_then(|s| s.trim().parse::<u32>().ok());
                            if again.is_none_or(|pid| !alive(pid)) {
                                let _ = fs::remove_file(path);
                            }
                        }
                    }
                }
                Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
            }
        }
    }
}

impl Drop for PidLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}
