//! A request to a service, and how it becomes an HTTP request: no I/O here, so the method,
//! URL, headers and body of every kind of call are unit-tested without a socket.

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use url::Url;

use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::service::ServiceType;

/// The body of a request.
pub(crate) enum ReqBody {
    Empty,
    /// A buffered body that can be sent again (on retry, after a 401, on a 307 to the same
    /// origin).
    Bytes(Bytes, &'static str),
    /// A streamed body (image data): sent once, so never retried nor replayed. The first
    /// request built takes it; the variant stays, so the request is still known to be an
    /// upload whose body is gone.
    Stream(Option<reqwest::Body>, &'static str),
}

impl ReqBody {
    /// Whether the body can be sent more than once.
    pub(crate) fn replayable(&self) -> bool {
        !matches!(self, ReqBody::Stream(..))
    }
}

/// One request to a service, relative to that service's versioned endpoint.
pub(crate) struct Req {
    pub service: ServiceType,
    pub method: Method,
    /// Path below the service's base URL, each segment already percent-encoded.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: ReqBody,
    /// Whether it is safe to send this request more than once.
    pub idempotent: bool,
    /// Whether the per-request timeout applies (false for data transfers).
    pub timed: bool,
    /// A non-2xx status that is an answer rather than an error (Glance's `300` version list).
    pub also_ok: Option<StatusCode>,
}

impl Req {
    pub fn new(service: ServiceType, method: Method, path: impl Into<String>) -> Self {
        let idempotent = matches!(
            method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
        );
        Req {
            service,
            method,
            path: path.into(),
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: ReqBody::Empty,
            idempotent,
            timed: true,
            also_ok: None,
        }
    }

    pub fn query(mut self, pairs: Vec<(String, String)>) -> Self {
        self.query = pairs;
        self
    }

    pub fn json(mut self, value: &impl serde::Serialize) -> Result<Self> {
        let bytes = serde_json::to_vec(value).map_err(|e| Error::invalid("body", e.to_string()))?;
        self.body = ReqBody::Bytes(bytes.into(), "application/json");
        Ok(self)
    }

    pub fn body_bytes(mut self, bytes: Bytes, content_type: &'static str) -> Self {
        self.body = ReqBody::Bytes(bytes, content_type);
        self
    }

    /// Adds a header (replacing one of the same name).
    pub fn header(mut self, name: &'static str, value: HeaderValue) -> Self {
        self.headers.insert(HeaderName::from_static(name), value);
        self
    }

    /// Marks a request as safe to repeat even though its method is not idempotent
    /// (for example an image action whose second call has no further effect).
    pub fn idempotent(mut self, yes: bool) -> Self {
        self.idempotent = yes;
        self
    }

    /// An untimed request without a body is a download: its response head must still come
    /// within the read timeout (an upload's answer comes only after its whole body).
    pub(crate) fn is_download(&self) -> bool {
        !self.timed && matches!(self.body, ReqBody::Empty)
    }

    /// The HTTP request for one attempt at `url`, with `token` (if any) in `X-Auth-Token`.
    /// A streamed body moves into the first request built; later ones go without it.
    pub(crate) fn build(
        &mut self,
        url: &Url,
        token: Option<&Secret>,
        timeout: Duration,
    ) -> Result<reqwest::Request> {
        let mut request = reqwest::Request::new(self.method.clone(), url.clone());
        let headers = request.headers_mut();
        headers.clone_from(&self.headers);
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        for (name, value) in self.service.headers() {
            headers.insert(*name, HeaderValue::from_static(value));
        }
        if let Some(token) = token {
            let mut value = HeaderValue::from_str(token.expose()).map_err(|_| Error::Auth {
                message: "token has invalid characters".into(),
                status: None,
            })?;
            value.set_sensitive(true);
            headers.insert("x-auth-token", value);
        }
        let body = match &mut self.body {
            ReqBody::Empty => None,
            ReqBody::Bytes(bytes, ct) => Some((reqwest::Body::from(bytes.clone()), *ct)),
            ReqBody::Stream(body, ct) => {
                let body = body.take().ok_or_else(|| {
                    Error::Protocol("a streamed request body cannot be sent twice".into())
                })?;
                Some((body, *ct))
            }
        };
        if let Some((body, ct)) = body {
            request
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(ct));
            *request.body_mut() = Some(body);
        }
        if self.timed {
            *request.timeout_mut() = Some(timeout);
        }
        Ok(request)
    }
}

/// Percent-encodes one path segment (everything but unreserved characters).
pub(crate) fn seg(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    // `.` and `..` are refused before this (`validate::check_path_value`): URL parsers
    // resolve them even when percent-encoded.
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}

/// `base` + `path` + `query`: the URL of a request below a service's versioned endpoint.
pub(crate) fn url_of(base: &Url, path: &str, query: &[(String, String)]) -> Result<Url> {
    let mut url = base
        .join(path)
        .map_err(|e| Error::invalid("path", format!("{path}: {e}")))?;
    if !query.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for (k, v) in query {
            pairs.append_pair(k, v);
        }
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'a>(r: &'a reqwest::Request, name: &str) -> Option<&'a str> {
        r.headers().get(name).and_then(|v| v.to_str().ok())
    }

    fn body(r: &reqwest::Request) -> &[u8] {
        r.body().and_then(reqwest::Body::as_bytes).unwrap_or(b"")
    }

    const TIMEOUT: Duration = Duration::from_secs(7);

    fn base() -> Url {
        Url::parse("https://cloud.example/image/v2/").unwrap()
    }

    #[test]
    fn a_patch_carries_the_patch_media_type_token_and_body() {
        let ops = serde_json::json!([{"op": "replace", "path": "/name", "value": "n"}]);
        let mut req = Req::new(ServiceType::Image, Method::PATCH, "images/abc").body_bytes(
            serde_json::to_vec(&ops).unwrap().into(),
            "application/openstack-images-v2.1-json-patch",
        );
        let url = url_of(&base(), &req.path, &req.query).unwrap();
        let r = req.build(&url, Some(&Secret::new("tok")), TIMEOUT).unwrap();
        assert_eq!(r.method(), Method::PATCH);
        assert_eq!(
            r.url().as_str(),
            "https://cloud.example/image/v2/images/abc"
        );
        assert_eq!(
            header(&r, "content-type"),
            Some("application/openstack-images-v2.1-json-patch")
        );
        assert_eq!(header(&r, "x-auth-token"), Some("tok"));
        assert!(r.headers()["x-auth-token"].is_sensitive());
        assert_eq!(header(&r, "accept"), Some("application/json"));
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(body(&r)).unwrap(),
            ops
        );
        assert_eq!(r.timeout(), Some(&TIMEOUT));
        // Not idempotent by method: a PATCH is not retried.
        assert!(!req.idempotent);
    }

    #[test]
    fn a_list_page_encodes_its_query() {
        let mut req = Req::new(ServiceType::Image, Method::GET, "images").query(vec![
            ("limit".into(), "2".into()),
            ("name".into(), "in:\"a,b\",c d".into()),
            ("marker".into(), "m&x".into()),
        ]);
        let url = url_of(&base(), &req.path, &req.query).unwrap();
        let r = req.build(&url, None, TIMEOUT).unwrap();
        assert_eq!(r.method(), Method::GET);
        assert_eq!(
            r.url().as_str(),
            "https://cloud.example/image/v2/images?limit=2&name=in%3A%22a%2Cb%22%2Cc+d&marker=m%26x"
        );
        assert_eq!(header(&r, "x-auth-token"), None);
        assert!(r.body().is_none());
        assert!(req.idempotent);
    }

    #[test]
    fn an_upload_streams_once_without_a_timeout() {
        let mut req = Req::new(ServiceType::Image, Method::PUT, "images/abc/file")
            .header("x-openstack-image-size", HeaderValue::from(3u64));
        req.body = ReqBody::Stream(
            Some(reqwest::Body::wrap_stream(futures_util::stream::iter([
                Ok::<_, std::io::Error>(Bytes::from_static(b"abc")),
            ]))),
            "application/octet-stream",
        );
        req.timed = false;
        assert!(!req.body.replayable());
        let url = url_of(&base(), &req.path, &req.query).unwrap();
        let r = req.build(&url, Some(&Secret::new("t")), TIMEOUT).unwrap();
        assert_eq!(r.method(), Method::PUT);
        assert_eq!(header(&r, "content-type"), Some("application/octet-stream"));
        assert_eq!(header(&r, "x-openstack-image-size"), Some("3"));
        assert!(r.body().is_some_and(|b| b.as_bytes().is_none()), "streamed");
        assert_eq!(r.timeout(), None);
        // The stream went with the first request: it is still an upload, not a download, it
        // is still not replayable, and it cannot be built again.
        assert!(!req.is_download());
        assert!(!req.body.replayable());
        assert!(matches!(
            req.build(&url, None, TIMEOUT),
            Err(Error::Protocol(_))
        ));
    }

    #[test]
    fn a_token_request_posts_json_without_a_token_header() {
        let expected = serde_json::json!({"auth": {"identity": {"methods": ["password"]}}});
        let mut req = Req::new(ServiceType::Identity, Method::POST, "auth/tokens")
            .json(&expected)
            .unwrap()
            .idempotent(true);
        let base = Url::parse("http://127.0.0.1:5000/v3/").unwrap();
        let url = url_of(&base, &req.path, &req.query).unwrap();
        let r = req.build(&url, None, TIMEOUT).unwrap();
        assert_eq!(r.method(), Method::POST);
        assert_eq!(r.url().as_str(), "http://127.0.0.1:5000/v3/auth/tokens");
        assert_eq!(header(&r, "content-type"), Some("application/json"));
        assert_eq!(header(&r, "x-auth-token"), None);
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(body(&r)).unwrap(),
            expected
        );
        assert!(req.body.replayable());
    }

    #[test]
    fn compute_requests_pin_the_microversion() {
        let mut req = Req::new(ServiceType::Compute, Method::GET, "images/detail");
        let base = Url::parse("http://127.0.0.1:8774/v2.1/").unwrap();
        let url = url_of(&base, &req.path, &req.query).unwrap();
        let r = req.build(&url, None, TIMEOUT).unwrap();
        assert_eq!(header(&r, "openstack-api-version"), Some("compute 2.35"));
        assert_eq!(header(&r, "x-openstack-nova-api-version"), Some("2.35"));
    }

    #[test]
    fn segments_are_encoded() {
        assert_eq!(seg("a b/c?d#e%f&g+h"), "a%20b%2Fc%3Fd%23e%25f%26g%2Bh");
        assert_eq!(seg("é"), "%C3%A9");
        assert_eq!(seg("x.y-z_~"), "x.y-z_~");
    }
}
