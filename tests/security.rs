//! Credentials and bodies against a misbehaving server, offline.
//!
//! The servers here are loopback mocks, on purpose: the real Keystone, Glance and Nova cannot
//! be made to redirect to another origin, to send a 1 MiB response header, or to break a
//! download at the same byte on every resume. Each mock is a TCP listener on 127.0.0.1 that
//! reads whole requests (heads and bodies, chunked or not), records them, and answers what the
//! test's handler says. Two of them play two origins: `cloud` (Keystone and Glance) and
//! `elsewhere`, the origin a redirect points to, which must never see a request.

use std::sync::{Arc, Mutex};

use futures_util::TryStreamExt;
use openstack_images::{
    Client, CloudConfig, DataSource, Error, ImageListQuery, RedirectRefusal, RetryPolicy,
};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const TOKEN: &str = "gAAAA-the-token-SECRET";
const PASSWORD: &str = "the-password-SECRET";
const IMAGE: &str = "1bea47ed-f6a9-463b-b423-14b9cca9ad27";

/// A request as the mock received it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the mock sends back: a whole response, or raw bytes and then a closed connection.
enum Reply {
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    Raw(Vec<u8>),
}

impl Reply {
    fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply::Full {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    fn redirect(status: u16, location: &str) -> Reply {
        Reply::Full {
            status,
            headers: vec![("Location".into(), location.into())],
            body: Vec::new(),
        }
    }
}

type Handler = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

/// A loopback HTTP/1.1 server that records every request.
struct Mock {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Mock {
    async fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Mock {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler: Handler = Arc::new(handler);
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let (handler, log) = (handler.clone(), log.clone());
                tokio::spawn(async move {
                    let _ = serve(sock, handler, log).await;
                });
            }
        });
        Mock { url, seen }
    }

    fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn serve(
    mut sock: TcpStream,
    handler: Handler,
    log: Arc<Mutex<Vec<Seen>>>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = sock.read(&mut chunk).await?;
        if n == 0 || buf.len() > 1 << 20 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut start = lines.next().unwrap_or("").split(' ');
    let (method, path) = (
        start.next().unwrap_or("").to_owned(),
        start.next().unwrap_or("").to_owned(),
    );
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let mut rest = buf[head_end..].to_vec();
    let body = if find("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        read_chunked(&mut sock, &mut rest).await?
    } else {
        let len: usize = find("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        while rest.len() < len {
            let n = sock.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            rest.extend_from_slice(&chunk[..n]);
        }
        rest
    };
    let seen = Seen {
        method,
        path,
        headers,
        body,
    };
    log.lock().unwrap().push(seen.clone());
    match handler(&seen) {
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
            sock.write_all(out.as_bytes()).await?;
            sock.write_all(&body).await?;
        }
        Reply::Raw(bytes) => sock.write_all(&bytes).await?,
    }
    sock.shutdown().await
}

/// Reads a chunked body whose first bytes are already in `buf`.
async fn read_chunked(sock: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut chunk = [0u8; 16384];
    loop {
        // Enough bytes for a size line?
        while !buf.windows(2).any(|w| w == b"\r\n") {
            let n = sock.read(&mut chunk).await?;
            if n == 0 {
                return Ok(body);
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let line_end = buf.windows(2).position(|w| w == b"\r\n").unwrap();
        let size_text = String::from_utf8_lossy(&buf[..line_end]).into_owned();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        while buf.len() < line_end + 2 + size + 2 {
            let n = sock.read(&mut chunk).await?;
            if n == 0 {
                return Ok(body);
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        body.extend_from_slice(&buf[line_end + 2..line_end + 2 + size]);
        buf.drain(..line_end + 2 + size + 2);
        if size == 0 {
            return Ok(body);
        }
    }
}

/// Keystone's answer to a token request: the token in `X-Subject-Token`, a catalog that puts
/// the image service at `image_url`.
fn token_reply(image_url: &str) -> Reply {
    let body = json!({"token": {
        "expires_at": "2099-01-01T00:00:00.000000Z",
        "issued_at": "2026-01-01T00:00:00.000000Z",
        "project": {"id": "p1"}, "user": {"id": "u1"},
        "catalog": [{"type": "image", "endpoints": [
            {"interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": image_url}
        ]}]
    }});
    Reply::Full {
        status: 201,
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("X-Subject-Token".into(), TOKEN.into()),
        ],
        body: body.to_string().into_bytes(),
    }
}

fn image_json() -> serde_json::Value {
    json!({
        "id": IMAGE, "name": "img", "status": "active", "size": 1000,
        "checksum": "00000000000000000000000000000000",
        "os_hash_algo": "sha512", "os_hash_value": "00",
        "visibility": "private", "tags": [], "self": format!("/v2/images/{IMAGE}"),
        "file": format!("/v2/images/{IMAGE}/file"), "schema": "/v2/schemas/image"
    })
}

/// A password client of the mock cloud at `url` (Keystone at `/identity`, Glance at `/v2`).
fn client_of(url: &str) -> Client {
    Client::builder()
        .cloud(
            CloudConfig::password(format!("{url}/identity"), "alice", PASSWORD, "demo")
                .user_domain_name("Default")
                .project_domain_name("Default"),
        )
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

/// Which call a redirect meets.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Call {
    Auth,
    List,
    Show,
    Save,
    Upload,
}

impl Call {
    /// The path of the request that gets the redirect.
    fn redirected_path(self) -> String {
        match self {
            Call::Auth => "/identity/v3/auth/tokens".into(),
            Call::List => "/v2/images".into(),
            Call::Show => format!("/v2/images/{IMAGE}"),
            Call::Save => format!("/v2/images/{IMAGE}/file"),
            Call::Upload => format!("/v2/images/{IMAGE}/file"),
        }
    }

    fn method(self) -> &'static str {
        match self {
            Call::Auth => "POST",
            Call::Upload => "PUT",
            Call::List | Call::Show | Call::Save => "GET",
        }
    }

    async fn run(self, client: &Client) -> openstack_images::Result<()> {
        let images = client.images();
        match self {
            Call::Auth => client.authenticate().await,
            Call::List => images
                .list(ImageListQuery::new())
                .try_collect::<Vec<_>>()
                .await
                .map(drop),
            Call::Show => images.get(IMAGE).await.map(drop),
            Call::Save => {
                let dir = tempfile::tempdir().unwrap();
                images
                    .download(IMAGE)
                    .to_file(dir.path().join("out.raw"))
                    .await
                    .map(drop)
            }
            Call::Upload => {
                images
                    .upload(IMAGE, DataSource::bytes(vec![7u8; 100_000]))
                    .send()
                    .await
            }
        }
    }
}

/// The cloud: Keystone and Glance on one origin, redirecting `call`'s request with `status`
/// to `target` (a path on `elsewhere`'s origin, or on its own when `same_origin`).
async fn cloud_redirecting(call: Call, status: u16, target: String) -> Mock {
    let path = call.redirected_path();
    let cell: Arc<Mutex<String>> = Arc::new(Mutex::new(String::new()));
    let own_url = cell.clone();
    let mock = Mock::start(move |req| {
        let own = own_url.lock().unwrap().clone();
        let base = req.path.split('?').next().unwrap_or("");
        if base == path && req.method == call.method() && !req.path.contains("moved=1") {
            let location = if target.starts_with('/') {
                format!("{own}{target}")
            } else {
                target.clone()
            };
            return Reply::redirect(status, &location);
        }
        match (req.method.as_str(), base) {
            ("POST", "/identity/v3/auth/tokens") => token_reply(&format!("{own}/v2")),
            ("GET", "/v2/images") => Reply::json(
                200,
                json!({"images": [image_json()], "schema": "/v2/schemas/images"}),
            ),
            ("GET", p) if p == format!("/v2/images/{IMAGE}") => Reply::json(200, image_json()),
            _ => Reply::json(
                404,
                json!({"message": "not here", "code": "404 Not Found", "title": "Not Found"}),
            ),
        }
    })
    .await;
    *cell.lock().unwrap() = mock.url.clone();
    mock
}

#[tokio::test]
async fn cross_origin_redirects_carry_no_credential_and_no_body() {
    for call in [Call::Auth, Call::List, Call::Show, Call::Save, Call::Upload] {
        for status in [301u16, 302, 307, 308] {
            let elsewhere = Mock::start(|_| Reply::json(200, json!({}))).await;
            let target = format!("{}{}", elsewhere.url, call.redirected_path());
            let cloud = cloud_redirecting(call, status, target.clone()).await;
            let client = client_of(&cloud.url);
            let err = call
                .run(&client)
                .await
                .expect_err("a cross-origin redirect fails");
            let case = format!("{call:?} {status}");
            match &err {
                Error::Redirect {
                    status: s,
                    location,
                    reason,
                    ..
                } => {
                    assert_eq!(*s, status, "{case}");
                    assert_eq!(location, &target, "{case}");
                    // The origin is checked first: whatever else is wrong with the hop.
                    assert_eq!(*reason, RedirectRefusal::CrossOrigin, "{case}");
                }
                other => panic!("{case}: expected Error::Redirect, got {other:?}"),
            }
            let text = err.to_string();
            assert!(
                !text.contains(TOKEN) && !text.contains(PASSWORD),
                "{case}: {text}"
            );
            assert!(
                elsewhere.requests().is_empty(),
                "{case}: the other origin was reached: {:?}",
                elsewhere.requests()
            );
            // The cloud itself saw the credential where it belongs.
            let seen = cloud.requests();
            if call == Call::Auth {
                assert!(
                    String::from_utf8_lossy(&seen[0].body).contains(PASSWORD),
                    "{case}"
                );
            } else {
                let last = seen.last().unwrap();
                assert_eq!(last.header("x-auth-token"), Some(TOKEN), "{case}");
            }
        }
    }
}

#[tokio::test]
async fn same_origin_redirects_are_followed_with_the_token() {
    // A show redirected within the origin: the second hop carries the token.
    let cloud = cloud_redirecting(Call::Show, 302, "/v2/images-moved".into()).await;
    let client = client_of(&cloud.url);
    let err = client.images().get(IMAGE).await.unwrap_err();
    assert_eq!(err.status(), Some(404), "the moved path answered: {err}");
    let seen = cloud.requests();
    let last = seen.last().unwrap();
    assert_eq!(last.path, "/v2/images-moved");
    assert_eq!(last.header("x-auth-token"), Some(TOKEN));

    // Keystone answering 307 within its origin: the password body is sent there again.
    let cloud = cloud_redirecting(Call::Auth, 307, "/identity/v3/auth/tokens?moved=1".into()).await;
    let client = client_of(&cloud.url);
    // The moved path is answered by the token route too (the query is ignored there).
    client.authenticate().await.unwrap();
    let seen = cloud.requests();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen[1].path.ends_with("?moved=1"));
    assert_eq!(seen[0].body, seen[1].body, "a 307 repeats the body");
}

#[tokio::test]
async fn a_streamed_upload_is_never_sent_twice() {
    let cloud = cloud_redirecting(Call::Upload, 307, format!("/v2/images/{IMAGE}/file2")).await;
    let client = client_of(&cloud.url);
    let err = Call::Upload.run(&client).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Redirect {
                reason: RedirectRefusal::StreamedBody,
                ..
            }
        ),
        "{err:?}"
    );
    let puts = cloud
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .count();
    assert_eq!(puts, 1);
}

#[tokio::test]
async fn a_post_is_not_turned_into_a_get() {
    let cloud = cloud_redirecting(Call::Auth, 302, "/identity/v3/auth/tokens?moved=1".into()).await;
    let client = client_of(&cloud.url);
    let err = client.authenticate().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Redirect {
                reason: RedirectRefusal::ChangesMethod,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(cloud.requests().len(), 1);
}

#[tokio::test]
async fn a_huge_response_header_names_its_cause() {
    let big = "a".repeat(1 << 20);
    let mock = Mock::start(move |_| {
        Reply::Raw(
            format!("HTTP/1.1 200 OK\r\nX-Big: {big}\r\nContent-Length: 2\r\n\r\n{{}}")
                .into_bytes(),
        )
    })
    .await;
    let client = Client::builder()
        .cloud(CloudConfig::no_auth(format!("{}/v2", mock.url)))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let err = client.images().get(IMAGE).await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("error sending request"), "{text}");
    assert!(text.contains("too large"), "the cause is named: {text}");
}

#[tokio::test]
async fn a_resume_without_progress_ends_the_download_at_once() {
    let data_requests = Arc::new(Mutex::new(0usize));
    let count = data_requests.clone();
    let mock = Mock::start(move |req| {
        if req.path == format!("/v2/images/{IMAGE}") {
            return Reply::json(200, image_json());
        }
        *count.lock().unwrap() += 1;
        match req.header("range") {
            // The first GET: 100 of 1000 bytes, then the connection drops.
            None => Reply::Raw(
                [
                    b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n".as_slice(),
                    &[1u8; 100],
                ]
                .concat(),
            ),
            // Every resume: the promised range, and not one byte of it.
            Some(range) => {
                assert_eq!(range, "bytes=100-");
                Reply::Raw(
                    b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 100-999/1000\r\nContent-Length: 900\r\nConnection: close\r\n\r\n"
                        .to_vec(),
                )
            }
        }
    })
    .await;
    let client = Client::builder()
        .cloud(CloudConfig::no_auth(format!("{}/v2", mock.url)))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.raw");
    let err = client
        .images()
        .download(IMAGE)
        .max_resumes(5)
        .to_file(&target)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("brought no new data"), "{err}");
    assert_eq!(
        *data_requests.lock().unwrap(),
        2,
        "the first request and one fruitless resume, not all five"
    );
    assert!(!target.exists(), "nothing partial is left behind");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
