//! A loopback HTTP/1.1 file server for the catalog section: serves a directory as
//! `application/octet-stream` (what mirrors answer), honours `Range`, keeps connections
//! alive, sends bodies with the kernel's copy (`std::io::copy` from a file to a socket is
//! sendfile on Linux), and counts the body bytes it sent, so the bench can show how often a
//! source was read.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use anyhow::Result;

pub struct FileServer {
    port: u16,
    served: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl FileServer {
    /// Listens on 127.0.0.1 (a free port) and serves the files of `dir` until dropped.
    pub fn start(dir: &Path) -> Result<FileServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let served = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (dir, counter, stopping) = (dir.to_owned(), served.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (dir, counter) = (dir.clone(), counter.clone());
                std::thread::spawn(move || {
                    let _ = serve(conn, &dir, &counter);
                });
            }
        });
        Ok(FileServer { port, served, stop })
    }

    pub fn url(&self, file: &str) -> String {
        format!("http://127.0.0.1:{}/{file}", self.port)
    }

    /// Body bytes sent since the last call.
    pub fn take_served(&self) -> u64 {
        self.served.swap(0, Ordering::SeqCst)
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Answers the requests of one connection until the client closes it or asks to.
fn serve(conn: TcpStream, dir: &Path, served: &AtomicU64) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut out = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let http10 = parts.next() == Some("HTTP/1.0");
        let (mut range, mut close) = (None, http10);
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                let v = v.trim();
                if k.eq_ignore_ascii_case("range") {
                    range = v.strip_prefix("bytes=").map(str::to_owned);
                } else if k.eq_ignore_ascii_case("connection") {
                    close = v.eq_ignore_ascii_case("close");
                }
            }
        }
        let path = target
            .split('?')
            .next()
            .unwrap_or("")
            .trim_start_matches('/');
        let file = (!path.contains("..") && !path.is_empty())
            .then(|| dir.join(path))
            .and_then(|p: PathBuf| std::fs::File::open(p).ok());
        let Some(mut file) = file.filter(|_| method == "GET" || method == "HEAD") else {
            write!(
                out,
                "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )?;
            return Ok(());
        };
        let size = file.metadata()?.len();
        let (start, end) = match range.as_deref().and_then(|r| r.split_once('-')) {
            Some((a, b)) => {
                let a: u64 = a.parse().unwrap_or(0);
                let b = b.parse::<u64>().map_or(size, |b| (b + 1).min(size));
                (a.min(size), b.max(a.min(size)))
            }
            None => (0, size),
        };
        let status = if range.is_some() {
            format!(
                "206 Partial Content\r\nContent-Range: bytes {start}-{}/{size}",
                end.saturating_sub(1)
            )
        } else {
            "200 OK".into()
        };
        write!(
            out,
            "HTTP/1.1 {status}\r\nContent-Type: application/octet-stream\r\n\
             Content-Length: {}\r\nAccept-Ranges: bytes\r\nETag: \"{size}\"\r\n\
             Connection: {}\r\n\r\n",
            end - start,
            if close { "close" } else { "keep-alive" }
        )?;
        if method == "GET" {
            use std::io::{Read, Seek, SeekFrom};
            file.seek(SeekFrom::Start(start))?;
            // Counted as it goes: a client that hangs up mid-body still read what was sent.
            let mut body = file.take(end - start);
            let mut chunk = 0;
            while chunk < end - start {
                let n = std::io::copy(&mut (&mut body).take(8 << 20), &mut out)?;
                if n == 0 {
                    break;
                }
                served.fetch_add(n, Ordering::SeqCst);
                chunk += n;
            }
        }
        out.flush()?;
        if close {
            return Ok(());
        }
    }
}
