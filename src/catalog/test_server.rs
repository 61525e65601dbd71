// A loopback HTTP server of image sources, for tests: the crate's unit tests use it as
// `catalog::test_server`, and the live tests include this same file (`include!`, so no inner
// attributes or `crate::` paths here; std, tokio and httpdate only).
//
// It serves the files of a directory as `application/octet-stream` (never a compression
// type, as real mirrors do), with `Accept-Ranges`, `Range: bytes=N-` / `N-M` answered with
// 206, `If-Range` honoured (a mismatch sends the whole file with 200), `Last-Modified` (the
// file's mtime unless set), an optional `ETag`, HEAD, and 404 for anything missing. Faults
// on demand: one dropped connection after K body bytes, a short body that lies about its
// Content-Length, Range ignored. It counts requests and body bytes per path, so a test can
// show that a source was read once. One request per connection (`Connection: close`).
// Started on 127.0.0.1:0; stopped when dropped.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server knows and does per path (the URL path without its leading `/`).
#[derive(Default)]
struct PathState {
    requests: usize,
    bytes_served: u64,
    last_modified: Option<SystemTime>,
    etag: Option<String>,
    /// Close the next GET's connection after this many body bytes.
    drop_once: Option<u64>,
    /// With `drop_once`: change `Last-Modified` when dropping (the file "changed").
    touch_on_drop: bool,
    /// Stall the next GET (send nothing more, keep the connection open) after this many
    /// body bytes.
    stall_once: Option<u64>,
    /// Answer the next requests with this status (and no body), this many times.
    fail_next: Option<(u16, usize)>,
    /// Send only this many body bytes of every GET, then close.
    short_body: Option<u64>,
    /// Send at most this many body bytes per second.
    rate: Option<u64>,
}

#[derive(Default)]
struct ServerState {
    paths: Mutex<HashMap<String, PathState>>,
    ignore_range: std::sync::atomic::AtomicBool,
    no_validators: std::sync::atomic::AtomicBool,
}

/// A running image-source server; stopped on drop.
pub struct SourceServer {
    addr: std::net::SocketAddr,
    state: Arc<ServerState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SourceServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SourceServer {
    /// Serves the files under `dir`.
    pub async fn start(dir: impl Into<PathBuf>) -> SourceServer {
        let dir: PathBuf = dir.into();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new(ServerState::default());
        let served = state.clone();
        let task = tokio::spawn(async move {
            // Connection tasks live in the set, so aborting this task ends them too.
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let (dir, state) = (dir.clone(), served.clone());
                connections.spawn(async move {
                    let _ = serve(socket, &dir, &state).await;
                });
                while connections.try_join_next().is_some() {}
            }
        });
        SourceServer { addr, state, task }
    }

    /// The URL of `path` (relative to the directory served), `http://127.0.0.1:PORT/path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{}", self.addr, path.trim_start_matches('/'))
    }

    /// The server's address.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    fn with<T>(&self, path: &str, f: impl FnOnce(&mut PathState) -> T) -> T {
        let mut paths = self.state.paths.lock().unwrap();
        f(paths
            .entry(path.trim_start_matches('/').to_owned())
            .or_default())
    }

    /// Requests (GET and HEAD, any status) for `path` so far.
    pub fn requests(&self, path: &str) -> usize {
        self.with(path, |p| p.requests)
    }

    /// Body bytes sent for `path` so far, over all requests.
    pub fn bytes_served(&self, path: &str) -> u64 {
        self.with(path, |p| p.bytes_served)
    }

    /// Sets `path`'s `Last-Modified` (default: the file's modification time).
    pub fn set_last_modified(&self, path: &str, time: SystemTime) {
        self.with(path, |p| p.last_modified = Some(time));
    }

    /// Sets `path`'s `ETag` (a quoted string such as `"v1"`; none by default).
    pub fn set_etag(&self, path: &str, etag: Option<&str>) {
        self.with(path, |p| p.etag = etag.map(str::to_owned));
    }

    /// The next GET of `path` closes its connection after `after` body bytes (once).
    pub fn drop_once(&self, path: &str, after: u64) {
        self.with(path, |p| p.drop_once = Some(after));
    }

    /// The next `times` requests for `path` are answered with `status` and an empty body.
    pub fn fail_next(&self, path: &str, status: u16, times: usize) {
        self.with(path, |p| p.fail_next = Some((status, times)));
    }

    /// The next GET of `path` stalls after `after` body bytes: the connection stays open
    /// and nothing more is sent (for 60 s, or until the client gives up), once.
    pub fn stall_once(&self, path: &str, after: u64) {
        self.with(path, |p| p.stall_once = Some(after));
    }

    /// As [`SourceServer::drop_once`], and the file's `Last-Modified` changes at that
    /// moment, as if it were replaced during the download.
    pub fn drop_once_and_touch(&self, path: &str, after: u64) {
        self.with(path, |p| {
            p.drop_once = Some(after);
            p.touch_on_drop = true;
        });
    }

    /// Every GET of `path` sends no byte of the file past `bytes` (the headers still give
    /// the full length) and closes: a truncated file behind a lying `Content-Length`. `None`
    /// ends that.
    pub fn short_body(&self, path: &str, bytes: Option<u64>) {
        self.with(path, |p| p.short_body = bytes);
    }

    /// Sends `path` at most `bytes_per_second` (a slow mirror); `None` ends that.
    pub fn set_rate(&self, path: &str, bytes_per_second: Option<u64>) {
        self.with(path, |p| p.rate = bytes_per_second);
    }

    /// Whether `Last-Modified` and `ETag` are left out of every answer (default: sent).
    pub fn omit_validators(&self, omit: bool) {
        self.state
            .no_validators
            .store(omit, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether `Range` is ignored (every GET answered 200 with the whole file).
    pub fn ignore_range(&self, ignore: bool) {
        self.state
            .ignore_range
            .store(ignore, std::sync::atomic::Ordering::SeqCst);
    }
}

async fn serve(
    mut socket: TcpStream,
    dir: &std::path::Path,
    state: &ServerState,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1024];
    while !head.ends_with(b"\r\n\r\n") {
        let n = socket.read(&mut byte).await?;
        if n == 0 || head.len() > 64 * 1024 {
            return Ok(());
        }
        head.extend_from_slice(&byte[..n]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_owned();
    let target = first.next().unwrap_or_default();
    let path = target
        .split('?')
        .next()
        .unwrap_or_default()
        .trim_start_matches('/')
        .to_owned();
    let mut headers = HashMap::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }

    let failure = {
        let mut paths = state.paths.lock().unwrap();
        let p = paths.entry(path.clone()).or_default();
        match &mut p.fail_next {
            Some((status, times)) if *times > 0 => {
                *times -= 1;
                p.requests += 1;
                Some(*status)
            }
            _ => None,
        }
    };
    if let Some(status) = failure {
        let answer =
            format!("HTTP/1.1 {status} Failure\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return socket.write_all(answer.as_bytes()).await;
    }
    let file_path = dir.join(&path);
    let meta = match tokio::fs::metadata(&file_path).await {
        Ok(m) if m.is_file() && !path.contains("..") => m,
        _ => {
            state
                .paths
                .lock()
                .unwrap()
                .entry(path)
                .or_default()
                .requests += 1;
            let answer = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            return socket.write_all(answer.as_bytes()).await;
        }
    };
    let size = meta.len();
    let (last_modified, etag, drop_after, stall, short) = {
        let mut paths = state.paths.lock().unwrap();
        let p = paths.entry(path.clone()).or_default();
        p.requests += 1;
        let modified = p
            .last_modified
            .unwrap_or_else(|| meta.modified().unwrap_or(SystemTime::UNIX_EPOCH));
        let drop_after = if method == "GET" {
            p.drop_once.take()
        } else {
            None
        };
        if drop_after.is_some() && std::mem::take(&mut p.touch_on_drop) {
            p.last_modified = Some(modified + std::time::Duration::from_secs(3600));
        }
        (
            httpdate::fmt_http_date(modified),
            p.etag.clone(),
            drop_after,
            if method == "GET" {
                p.stall_once.take()
            } else {
                None
            },
            p.short_body,
        )
    };

    // Range, honoured unless ignored or If-Range names another version.
    let if_range_ok = headers
        .get("if-range")
        .is_none_or(|v| *v == last_modified || Some(v) == etag.as_ref());
    let ignore = state.ignore_range.load(std::sync::atomic::Ordering::SeqCst);
    let range = headers
        .get("range")
        .filter(|_| if_range_ok && !ignore)
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.split_once('-'))
        .and_then(|(a, b)| {
            let start: u64 = a.parse().ok()?;
            let end: u64 = if b.is_empty() {
                size.saturating_sub(1)
            } else {
                b.parse().ok()?
            };
            Some((start, end.min(size.saturating_sub(1))))
        });
    let mut answer = String::new();
    let (start, len) = match range {
        Some((start, _)) if start >= size => {
            answer.push_str(&format!(
                "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{size}\r\n\
                 Content-Length: 0\r\nConnection: close\r\n\r\n"
            ));
            return socket.write_all(answer.as_bytes()).await;
        }
        Some((start, end)) => {
            answer.push_str(&format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {start}-{end}/{size}\r\n"
            ));
            (start, end + 1 - start)
        }
        None => {
            answer.push_str("HTTP/1.1 200 OK\r\n");
            (0, size)
        }
    };
    answer.push_str(&format!(
        "Content-Type: application/octet-stream\r\nContent-Length: {len}\r\n\
         Accept-Ranges: bytes\r\nConnection: close\r\n"
    ));
    if !state
        .no_validators
        .load(std::sync::atomic::Ordering::SeqCst)
    {
        answer.push_str(&format!("Last-Modified: {last_modified}\r\n"));
        if let Some(etag) = &etag {
            answer.push_str(&format!("ETag: {etag}\r\n"));
        }
    }
    answer.push_str("\r\n");
    socket.write_all(answer.as_bytes()).await?;
    if method == "HEAD" {
        return Ok(());
    }

    let short = short.map(|end| end.saturating_sub(start));
    let limit = [drop_after, stall, short]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(u64::MAX)
        .min(len);
    let mut file = tokio::fs::File::open(&file_path).await?;
    file.seek(std::io::SeekFrom::Start(start)).await?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut sent = 0u64;
    while sent < limit {
        let want = buf.len().min((limit - sent) as usize);
        let n = file.read(&mut buf[..want]).await?;
        if n == 0 {
            break;
        }
        socket.write_all(&buf[..n]).await?;
        sent += n as u64;
        let rate = match state.paths.lock().unwrap().get_mut(&path) {
            Some(p) => {
                p.bytes_served += n as u64;
                p.rate
            }
            None => None,
        };
        if let Some(rate) = rate.filter(|r| *r > 0) {
            tokio::time::sleep(std::time::Duration::from_secs_f64(n as f64 / rate as f64)).await;
        }
    }
    socket.flush().await?;
    if stall.is_some_and(|at| sent >= at) {
        // Until the client closes (a read sees the end) or a minute has passed.
        let _ =
            tokio::time::timeout(std::time::Duration::from_secs(60), socket.read(&mut buf)).await;
        return Ok(());
    }
    socket.shutdown().await
}
