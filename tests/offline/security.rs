//! Credentials and bodies against a misbehaving server, offline.
//!
//! The servers here are loopback mocks, on purpose: the real Keystone, Glance and Nova cannot
//! be made to redirect to another origin, to send a 1 MiB response header, or to break a
//! download at the same byte on every resume. Each mock (`mock.rs`) reads whole requests
//! (heads and bodies, chunked or not), records them, and answers what the test's handler
//! says. Two of them play two origins: `cloud` (Keystone and Glance) and
//! `elsewhere`, the origin a redirect points to, which must never see a request.

use std::sync::{Arc, Mutex};

use futures_util::TryStreamExt;
use openstack_images::{
    Client, CloudConfig, DataSource, Error, ImageListQuery, RedirectRefusal, RetryPolicy,
};
use serde_json::json;

use crate::mock::{Mock, Reply};

const TOKEN: &str = "gAAAA-the-token-SECRET";
const PASSWORD: &str = "the-password-SECRET";
const IMAGE: &str = "1bea47ed-f6a9-463b-b423-14b9cca9ad27";

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
    Reply::json(201, &body).with_header("X-Subject-Token", TOKEN)
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
fn cloud_redirecting(call: Call, status: u16, target: String) -> Mock {
    let path = call.redirected_path();
    let cell: Arc<Mutex<String>> = Arc::new(Mutex::new(String::new()));
    let own_url = cell.clone();
    let mock = Mock::start(move |req| {
        let own = own_url.lock().unwrap().clone();
        let base = req.path();
        if base == path && req.method == call.method() && !req.target.contains("moved=1") {
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
                &json!({"images": [image_json()], "schema": "/v2/schemas/images"}),
            ),
            ("GET", p) if p == format!("/v2/images/{IMAGE}") => Reply::json(200, &image_json()),
            _ => Reply::json(
                404,
                &json!({"message": "not here", "code": "404 Not Found", "title": "Not Found"}),
            ),
        }
    });
    *cell.lock().unwrap() = mock.url();
    mock
}

#[tokio::test]
async fn cross_origin_redirects_carry_no_credential_and_no_body() {
    for call in [Call::Auth, Call::List, Call::Show, Call::Save, Call::Upload] {
        for status in [301u16, 302, 307, 308] {
            let elsewhere = Mock::start(|_| Reply::json(200, &json!({})));
            let target = format!("{}{}", elsewhere.url(), call.redirected_path());
            let cloud = cloud_redirecting(call, status, target.clone());
            let client = client_of(&cloud.url());
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
    let cloud = cloud_redirecting(Call::Show, 302, "/v2/images-moved".into());
    let client = client_of(&cloud.url());
    let err = client.images().get(IMAGE).await.unwrap_err();
    assert_eq!(err.status(), Some(404), "the moved path answered: {err}");
    let seen = cloud.requests();
    let last = seen.last().unwrap();
    assert_eq!(last.target, "/v2/images-moved");
    assert_eq!(last.header("x-auth-token"), Some(TOKEN));

    // Keystone answering 307 within its origin: the password body is sent there again.
    let cloud = cloud_redirecting(Call::Auth, 307, "/identity/v3/auth/tokens?moved=1".into());
    let client = client_of(&cloud.url());
    // The moved path is answered by the token route too (the query is ignored there).
    client.authenticate().await.unwrap();
    let seen = cloud.requests();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen[1].target.ends_with("?moved=1"));
    assert_eq!(seen[0].body, seen[1].body, "a 307 repeats the body");
}

#[tokio::test]
async fn a_streamed_upload_is_never_sent_twice() {
    let cloud = cloud_redirecting(Call::Upload, 307, format!("/v2/images/{IMAGE}/file2"));
    let client = client_of(&cloud.url());
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
    let cloud = cloud_redirecting(Call::Auth, 302, "/identity/v3/auth/tokens?moved=1".into());
    let client = client_of(&cloud.url());
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
    });
    let client = mock.no_auth_client();
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
        if req.target == format!("/v2/images/{IMAGE}") {
            return Reply::json(200, &image_json());
        }
        *count.lock().unwrap() += 1;
        match req.header("range") {
            // The first GET: 100 of 1000 bytes, then the connection drops.
            None => Reply::Raw(
                [
                    b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n"
                        .as_slice(),
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
    });
    let client = mock.no_auth_client();
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
