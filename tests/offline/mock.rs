//! The one loopback HTTP/1.1 mock server of the offline tests.
//!
//! It is for what the real Keystone, Glance and Nova cannot be made to do (garbage bodies,
//! hostile text, foreign redirects, huge headers, broken downloads); each module using it says
//! why in its header. The server is a TCP listener on 127.0.0.1 with a thread per connection:
//! it reads the whole request (head and body, chunked or not), records it, writes the handler's
//! [`Reply`] and closes the connection. It runs on its own threads, so synchronous tests (which
//! run `osimg`) and `#[tokio::test]`s use it alike.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use openstack_images::{Client, CloudConfig, RetryPolicy};
use serde_json::Value;

/// A request as the mock received it.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `PUT`, ...
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// Name and value of each header, in order, as sent.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Request {
    /// The target without its query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the mock sends back: a whole response, or raw bytes and then a closed connection.
pub enum Reply {
    /// A response with `Content-Length` and `Connection: close` added to `headers`.
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// These bytes as they are (a malformed or partial response).
    Raw(Vec<u8>),
}

impl Reply {
    /// `status` with `body` as it is, labelled `content_type` (which it need not match).
    pub fn body(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply::Full {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
        }
    }

    /// `status` with `body` as JSON.
    pub fn json(status: u16, body: &Value) -> Reply {
        Reply::body(status, "application/json", body.to_string())
    }

    /// A redirect with `status` to `location`, without a body.
    pub fn redirect(status: u16, location: &str) -> Reply {
        Reply::Full {
            status,
            headers: vec![("Location".into(), location.into())],
            body: Vec::new(),
        }
    }

    /// The same reply with one more header (a whole response only).
    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        if let Reply::Full { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }

    fn into_bytes(self) -> Vec<u8> {
        match self {
            Reply::Full {
                status,
                headers,
                body,
            } => {
                let mut out = format!(
                    "HTTP/1.1 {status} X\r\nConnection: close\r\nContent-Length: {}\r\n",
                    body.len()
                );
                for (k, v) in headers {
                    out.push_str(&format!("{k}: {v}\r\n"));
                }
                out.push_str("\r\n");
                let mut bytes = out.into_bytes();
                bytes.extend_from_slice(&body);
                bytes
            }
            Reply::Raw(bytes) => bytes,
        }
    }
}

type Handler = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

/// A running mock: its address, the requests it read and the connections it accepted.
pub struct Mock {
    port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
    connections: Arc<AtomicUsize>,
}

impl Mock {
    /// Listens on a free port of 127.0.0.1 and answers every request with `handler`'s reply.
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Mock {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("local address").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let handler: Handler = Arc::new(handler);
        let (log, count) = (requests.clone(), connections.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                count.fetch_add(1, Ordering::SeqCst);
                let (handler, log) = (handler.clone(), log.clone());
                // A client that went away, or a handler's assertion, ends this connection only.
                std::thread::spawn(move || {
                    let _ = serve(stream, &*handler, &log);
                });
            }
        });
        Mock {
            port,
            requests,
            connections,
        }
    }

    /// The port it listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A client of the mock as an Image endpoint (`/v2`), without auth and without retries.
    pub fn no_auth_client(&self) -> Client {
        Client::builder()
            .cloud(CloudConfig::no_auth(format!("{}/v2", self.url())))
            .retry(RetryPolicy::none())
            .build()
            .unwrap()
    }

    /// Every request read so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().expect("request log").clone()
    }

    /// How many connections were accepted, whether or not a whole request came on them.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// Reads one whole request, records it and writes the handler's reply.
fn serve(
    mut sock: TcpStream,
    handler: &dyn Fn(&Request) -> Reply,
    log: &Mutex<Vec<Request>>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if read_more(&mut sock, &mut buf)? == 0 || buf.len() > 1 << 20 {
            return Ok(());
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    // `GET /v2/images?limit=1000 HTTP/1.1`: the method, then the target.
    let mut start = lines.next().unwrap_or_default().split(' ');
    let (method, target) = (
        start.next().unwrap_or_default().to_owned(),
        start.next().unwrap_or_default().to_owned(),
    );
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut request = Request {
        method,
        target,
        headers,
        body: Vec::new(),
    };
    let mut rest = buf[head_end..].to_vec();
    request.body = if request
        .header("transfer-encoding")
        .is_some_and(|v| v.contains("chunked"))
    {
        read_chunked(&mut sock, &mut rest)?
    } else {
        let len: usize = request
            .header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        while rest.len() < len && read_more(&mut sock, &mut rest)? > 0 {}
        rest
    };
    log.lock().expect("request log").push(request.clone());
    sock.write_all(&handler(&request).into_bytes())?;
    sock.flush()?;
    sock.shutdown(std::net::Shutdown::Write)
}

/// Appends what the next read brings to `buf`; returns how many bytes (0: the peer closed).
fn read_more(sock: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut chunk = [0u8; 16384];
    let n = sock.read(&mut chunk)?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

/// Reads a chunked body whose first bytes are already in `buf`.
fn read_chunked(sock: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        // Enough bytes for a size line?
        while !buf.windows(2).any(|w| w == b"\r\n") {
            if read_more(sock, buf)? == 0 {
                return Ok(body);
            }
        }
        let line_end = buf.windows(2).position(|w| w == b"\r\n").unwrap();
        let size_text = String::from_utf8_lossy(&buf[..line_end]).into_owned();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        while buf.len() < line_end + 2 + size + 2 {
            if read_more(sock, buf)? == 0 {
                return Ok(body);
            }
        }
        body.extend_from_slice(&buf[line_end + 2..line_end + 2 + size]);
        buf.drain(..line_end + 2 + size + 2);
        if size == 0 {
            return Ok(body);
        }
    }
}
