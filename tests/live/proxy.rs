//! A fault-injection proxy for the live tests: it sits on 127.0.0.1 between the client and
//! the real Keystone, Glance or Nova and, on the requests a test names, misbehaves the way
//! networks and overloaded clouds do.
//!
//! A mock is used only for what the real servers cannot be made to do on demand: a
//! connection reset in the middle of a response, a stall, a 502/503/429 with `Retry-After`,
//! a truncated or corrupted JSON body, an HTML error page, a pagination marker that repeats,
//! an endless chunked body, a flipped byte of image data. Everything else (every request a
//! rule does not name, and the request a rule answers after its quota of faults is used)
//! goes to the real server and comes back unchanged.
//!
//! It is store-and-forward, which keeps it simple: each connection carries one request (the
//! proxy sends `Connection: close` both ways), the request and the upstream response are read
//! whole, then the response is written back with the rule's fault applied. Bodies in the tests
//! that use it are small (at most a few MiB). It counts every request, so a test can assert
//! how many attempts a retry made or that a rejected input never left the process, and it
//! notes the tokens it sees so a test can search logs for them.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A JSON body rewrite (for a page whose `next` marker repeats, a field of the wrong type).
pub type Rewrite = Arc<dyn Fn(&mut serde_json::Value) + Send + Sync>;

/// What the proxy does to a request a rule matches.
#[derive(Clone)]
pub enum Fault {
    /// Answer with this status and a Glance-style JSON error, never asking upstream.
    Status {
        status: u16,
        retry_after: Option<&'static str>,
    },
    /// Answer with this status and an HTML error page (what a load balancer sends).
    Html(u16),
    /// Forward the request, then drop the connection before any byte of the response.
    ResetBeforeResponse,
    /// Forward the request, send half of the response header, then reset the connection.
    ResetMidHeaders,
    /// Forward the request, send the header and this many body bytes, then reset.
    ResetMidBody(usize),
    /// Forward the request and hold the response back this long.
    Stall(Duration),
    /// Send the header and this many body bytes, pause, then send the rest.
    StallMidBody(usize, Duration),
    /// Send only the first half of the body (with a matching `Content-Length`).
    TruncateBody,
    /// Replace the body with these bytes (with a matching `Content-Length`).
    ReplaceBody(&'static [u8]),
    /// Decode the JSON body, change it, send it re-encoded.
    RewriteJson(Rewrite),
    /// Answer with this status and a chunked body without `Content-Length` that does not
    /// end (the proxy stops after 1 GiB or when the client goes away).
    Endless(u16),
    /// Flip one byte of the body at this offset.
    FlipByte(usize),
    /// Flip one byte of the request body at this offset before forwarding it (sent on with
    /// `Content-Length`): an upload corrupted in transit, which no real server can be made
    /// to do.
    FlipRequestByte(usize),
}

impl Fault {
    /// [`Fault::Status`] without a `Retry-After` header.
    pub fn status(status: u16) -> Fault {
        Fault::Status {
            status,
            retry_after: None,
        }
    }

    /// [`Fault::Status`] with `Retry-After: seconds`.
    pub fn status_retry_after(status: u16, seconds: &'static str) -> Fault {
        Fault::Status {
            status,
            retry_after: Some(seconds),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Fault::Status { .. } => "status",
            Fault::Html(_) => "html",
            Fault::ResetBeforeResponse => "reset-before-response",
            Fault::ResetMidHeaders => "reset-mid-headers",
            Fault::ResetMidBody(_) => "reset-mid-body",
            Fault::Stall(_) => "stall",
            Fault::StallMidBody(..) => "stall-mid-body",
            Fault::TruncateBody => "truncate",
            Fault::ReplaceBody(_) => "replace",
            Fault::RewriteJson(_) => "rewrite",
            Fault::Endless(_) => "endless",
            Fault::FlipByte(_) => "flip-byte",
            Fault::FlipRequestByte(_) => "flip-request-byte",
        }
    }
}

struct Rule {
    method: &'static str,
    path_contains: String,
    times: usize,
    fault: Fault,
}

/// One request the proxy saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// The fault applied to it, if any.
    pub fault: Option<&'static str>,
    /// Its `Range` header, if any.
    pub range: Option<String>,
}

#[derive(Default)]
struct State {
    upstream: String,
    rules: Mutex<Vec<Rule>>,
    seen: Mutex<Vec<Seen>>,
    tokens: Mutex<Vec<String>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    endless_sent: AtomicU64,
}

/// A running proxy (it lives as long as the test's runtime).
#[derive(Clone)]
pub struct Proxy {
    addr: std::net::SocketAddr,
    state: Arc<State>,
}

impl Proxy {
    /// Starts a proxy in front of `upstream`, a URL whose host and port are used
    /// (`http://127.0.0.1:35287/v2/` proxies that Glance).
    pub async fn start(upstream: &url::Url) -> Proxy {
        let upstream = format!(
            "{}:{}",
            upstream.host_str().expect("upstream host"),
            upstream.port_or_known_default().expect("upstream port")
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            upstream,
            ..State::default()
        });
        let st = state.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let st = st.clone();
                tokio::spawn(async move {
                    let _ = serve(sock, st).await;
                });
            }
        });
        Proxy { addr, state }
    }

    /// `http://127.0.0.1:<port><path>`: the proxy's URL for an upstream path (`/v2`, `/v3`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Applies `fault` to the next `times` requests whose method is `method` (`*`: any) and
    /// whose path and query contain `path_contains`. Rules are tried in the order given.
    pub fn on(&self, method: &'static str, path_contains: &str, times: usize, fault: Fault) {
        self.state.rules.lock().unwrap().push(Rule {
            method,
            path_contains: path_contains.to_owned(),
            times,
            fault,
        });
    }

    /// Removes every rule (later requests pass through).
    pub fn clear(&self) {
        self.state.rules.lock().unwrap().clear();
    }

    /// Every request seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }

    /// How many requests were seen.
    pub fn count(&self) -> usize {
        self.state.seen.lock().unwrap().len()
    }

    /// How many requests with this method (`*`: any) and path fragment were seen.
    pub fn count_of(&self, method: &str, path_contains: &str) -> usize {
        self.state
            .seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| (method == "*" || s.method == method) && s.target.contains(path_contains))
            .count()
    }

    /// The most requests that were in the proxy at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }

    /// Body bytes written by [`Fault::Endless`] responses so far.
    pub fn endless_bytes_sent(&self) -> u64 {
        self.state.endless_sent.load(Ordering::SeqCst)
    }

    /// Every `X-Auth-Token` and `X-Subject-Token` value that went through.
    pub fn tokens(&self) -> Vec<String> {
        self.state.tokens.lock().unwrap().clone()
    }
}

/// A parsed message head.
struct Head {
    first_line: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn parse(raw: &[u8]) -> Head {
        let text = String::from_utf8_lossy(raw);
        let mut lines = text.split("\r\n");
        let first_line = lines.next().unwrap_or_default().to_owned();
        let headers = lines
            .filter(|l| !l.is_empty())
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        Head {
            first_line,
            headers,
        }
    }

    /// The head as bytes, without framing headers, with `Content-Length: len` (if given)
    /// and `Connection: close`.
    fn to_bytes(&self, len: Option<usize>) -> Vec<u8> {
        let mut out = format!("{}\r\n", self.first_line);
        for (k, v) in &self.headers {
            let l = k.to_ascii_lowercase();
            if l == "content-length" || l == "transfer-encoding" || l == "connection" {
                continue;
            }
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        if let Some(n) = len {
            out.push_str(&format!("Content-Length: {n}\r\n"));
        }
        out.push_str("Connection: close\r\n\r\n");
        out.into_bytes()
    }
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

/// Reads a message head; returns it and whatever body bytes came with it.
async fn read_head(s: &mut (impl AsyncRead + Unpin)) -> std::io::Result<Option<(Head, Vec<u8>)>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(end) = find_head_end(&buf) {
            let head = Head::parse(&buf[..end - 4]);
            return Ok(Some((head, buf[end..].to_vec())));
        }
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Parses a chunked body: `Some((decoded, bytes used))` once it is complete.
fn dechunk(buf: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        let line_end = pos + buf[pos..].windows(2).position(|w| w == b"\r\n")?;
        let line = std::str::from_utf8(&buf[pos..line_end]).ok()?;
        let size = usize::from_str_radix(line.split(';').next()?.trim(), 16).ok()?;
        pos = line_end + 2;
        if size == 0 {
            // Trailers, then an empty line.
            loop {
                let end = pos + buf[pos..].windows(2).position(|w| w == b"\r\n")?;
                let empty = end == pos;
                pos = end + 2;
                if empty {
                    return Some((out, pos));
                }
            }
        }
        if buf.len() < pos + size + 2 {
            return None;
        }
        out.extend_from_slice(&buf[pos..pos + size]);
        pos += size + 2;
    }
}

/// Reads the body of a request, framed by `Content-Length` or chunked encoding.
async fn read_request_body(
    s: &mut TcpStream,
    head: &Head,
    mut buf: Vec<u8>,
) -> std::io::Result<Vec<u8>> {
    let chunked = head
        .get("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    let len: Option<usize> = head.get("content-length").and_then(|v| v.parse().ok());
    let mut chunk = [0u8; 64 * 1024];
    loop {
        if chunked {
            if let Some((_, used)) = dechunk(&buf) {
                buf.truncate(used);
                return Ok(buf);
            }
        } else if buf.len() >= len.unwrap_or(0) {
            return Ok(buf);
        }
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Ok(buf);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        401 => "Unauthorized",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}

async fn serve(mut client: TcpStream, st: Arc<State>) -> std::io::Result<()> {
    let Some((head, rest)) = read_head(&mut client).await? else {
        return Ok(());
    };
    let body = read_request_body(&mut client, &head, rest).await?;
    let mut parts = head.first_line.split(' ');
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    if let Some(t) = head.get("x-auth-token") {
        st.tokens.lock().unwrap().push(t.to_owned());
    }
    let fault = {
        let mut rules = st.rules.lock().unwrap();
        rules
            .iter_mut()
            .find(|r| {
                r.times > 0
                    && (r.method == "*" || r.method == method)
                    && target.contains(&r.path_contains)
            })
            .map(|r| {
                r.times -= 1;
                r.fault.clone()
            })
    };
    st.seen.lock().unwrap().push(Seen {
        method: method.clone(),
        target: target.clone(),
        fault: fault.as_ref().map(Fault::name),
        range: head.get("range").map(str::to_owned),
    });
    let now = st.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    st.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let mut answer = Answering {
        stream: &mut client,
        in_flight: Some(&st.in_flight),
    };
    respond(&mut answer, &st, &method, &head, &body, fault).await
}

/// The client's connection while the proxy answers it. The request stops counting as in
/// flight when the first byte of the answer is written (or the connection is reset or
/// dropped): a client whose response is complete may start its next request while the
/// proxy is still closing the first connection, and that overlap is not two requests in
/// flight as the client sees them.
struct Answering<'a> {
    stream: &'a mut TcpStream,
    in_flight: Option<&'a AtomicUsize>,
}

impl Answering<'_> {
    fn answered(&mut self) {
        if let Some(count) = self.in_flight.take() {
            count.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl Drop for Answering<'_> {
    fn drop(&mut self) {
        self.answered();
    }
}

impl AsyncWrite for Answering<'_> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.answered();
        Pin::new(&mut *self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.answered();
        Pin::new(&mut *self.stream).poll_shutdown(cx)
    }
}

async fn respond(
    client: &mut Answering<'_>,
    st: &State,
    method: &str,
    head: &Head,
    body: &[u8],
    fault: Option<Fault>,
) -> std::io::Result<()> {
    // Faults answered by the proxy alone.
    match &fault {
        Some(Fault::Status {
            status,
            retry_after,
        }) => {
            let body = format!(
                r#"{{"message": "injected by the test proxy<br /><br />\n", "code": "{status} {}", "title": "{}"}}"#,
                reason(*status),
                reason(*status)
            );
            let mut h = format!(
                "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nx-openstack-request-id: req-proxy-{status}\r\n",
                reason(*status)
            );
            if let Some(ra) = retry_after {
                h.push_str(&format!("Retry-After: {ra}\r\n"));
            }
            h.push_str(&format!(
                "Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            ));
            client.write_all(h.as_bytes()).await?;
            client.write_all(body.as_bytes()).await?;
            return client.shutdown().await;
        }
        Some(Fault::Html(status)) => {
            let page = format!(
                "<html><head><title>{status} {r}</title></head><body><h1>{status} {r}</h1>\
                 <p>The server is temporarily unable to service your request &amp; will be back.</p>\
                 <hr><address>nginx</address></body></html>",
                r = reason(*status)
            );
            let h = format!(
                "HTTP/1.1 {status} {}\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                reason(*status),
                page.len()
            );
            client.write_all(h.as_bytes()).await?;
            client.write_all(page.as_bytes()).await?;
            return client.shutdown().await;
        }
        Some(Fault::Endless(status)) => {
            let h = format!(
                "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
                reason(*status)
            );
            client.write_all(h.as_bytes()).await?;
            let first = b"{\"images\": [";
            client
                .write_all(format!("{:x}\r\n", first.len()).as_bytes())
                .await?;
            client.write_all(first).await?;
            client.write_all(b"\r\n").await?;
            let item = br#"{"id": "00000000-0000-0000-0000-000000000000", "name": "padding"}, "#;
            let chunk: Vec<u8> = item.iter().copied().cycle().take(64 * 1024).collect();
            let framed = [
                format!("{:x}\r\n", chunk.len()).into_bytes(),
                chunk,
                b"\r\n".to_vec(),
            ]
            .concat();
            while st.endless_sent.load(Ordering::SeqCst) < 1 << 30 {
                client.write_all(&framed).await?;
                st.endless_sent
                    .fetch_add(framed.len() as u64, Ordering::SeqCst);
            }
            return Ok(());
        }
        _ => {}
    }

    // Everything else goes upstream first.
    let mut up = TcpStream::connect(&st.upstream).await?;
    if let Some(Fault::FlipRequestByte(at)) = fault {
        let chunked = head
            .get("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
        let mut decoded = if chunked {
            dechunk(body).map_or_else(|| body.to_vec(), |(b, _)| b)
        } else {
            body.to_vec()
        };
        if let Some(b) = decoded.get_mut(at) {
            *b ^= 0x01;
        }
        up.write_all(&head.to_bytes(Some(decoded.len()))).await?;
        up.write_all(&decoded).await?;
    } else {
        let mut req = head.to_bytes(None);
        // Keep the request's own framing (Content-Length or chunked).
        req.truncate(req.len() - "Connection: close\r\n\r\n".len());
        if let Some(v) = head.get("content-length") {
            req.extend_from_slice(format!("Content-Length: {v}\r\n").as_bytes());
        }
        if let Some(v) = head.get("transfer-encoding") {
            req.extend_from_slice(format!("Transfer-Encoding: {v}\r\n").as_bytes());
        }
        req.extend_from_slice(b"Connection: close\r\n\r\n");
        up.write_all(&req).await?;
        up.write_all(body).await?;
    }
    let mut raw = Vec::new();
    up.read_to_end(&mut raw).await?;
    let head_end = find_head_end(&raw).unwrap_or(raw.len());
    let rhead = Head::parse(&raw[..head_end.saturating_sub(4)]);
    if let Some(t) = rhead.get("x-subject-token") {
        st.tokens.lock().unwrap().push(t.to_owned());
    }
    let status: u16 = rhead
        .first_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let no_body = method == "HEAD" || status == 204 || status == 304 || status < 200;
    if no_body {
        // Pass through as is (a HEAD's Content-Length describes a body that is not sent).
        if matches!(fault, Some(Fault::ResetBeforeResponse)) {
            return reset(client);
        }
        client.write_all(&raw).await?;
        return client.shutdown().await;
    }
    let chunked = rhead
        .get("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    let mut rbody = if chunked {
        dechunk(&raw[head_end..]).map_or_else(|| raw[head_end..].to_vec(), |(b, _)| b)
    } else {
        raw[head_end..].to_vec()
    };

    match fault {
        Some(Fault::ResetBeforeResponse) => return reset(client),
        Some(Fault::ResetMidHeaders) => {
            let h = rhead.to_bytes(Some(rbody.len()));
            client.write_all(&h[..h.len() / 2]).await?;
            client.flush().await?;
            return reset(client);
        }
        Some(Fault::ResetMidBody(after)) => {
            client.write_all(&rhead.to_bytes(Some(rbody.len()))).await?;
            client.write_all(&rbody[..after.min(rbody.len())]).await?;
            client.flush().await?;
            tokio::time::sleep(Duration::from_millis(50)).await;
            return reset(client);
        }
        Some(Fault::Stall(d)) => tokio::time::sleep(d).await,
        Some(Fault::StallMidBody(after, d)) => {
            let after = after.min(rbody.len());
            client.write_all(&rhead.to_bytes(Some(rbody.len()))).await?;
            client.write_all(&rbody[..after]).await?;
            client.flush().await?;
            tokio::time::sleep(d).await;
            client.write_all(&rbody[after..]).await?;
            return client.shutdown().await;
        }
        Some(Fault::TruncateBody) => rbody.truncate(rbody.len() / 2),
        Some(Fault::ReplaceBody(b)) => rbody = b.to_vec(),
        Some(Fault::RewriteJson(f)) => {
            if let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&rbody) {
                f(&mut v);
                rbody = serde_json::to_vec(&v).unwrap();
            }
        }
        Some(Fault::FlipByte(at)) => {
            if let Some(b) = rbody.get_mut(at) {
                *b ^= 0x01;
            }
        }
        _ => {}
    }
    client.write_all(&rhead.to_bytes(Some(rbody.len()))).await?;
    client.write_all(&rbody).await?;
    client.shutdown().await
}

/// Drops the connection with a TCP reset (not an orderly close).
fn reset(client: &mut Answering<'_>) -> std::io::Result<()> {
    client.answered();
    client.stream.set_zero_linger()?;
    Ok(())
}
