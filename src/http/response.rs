//! What comes back: bodies read within a size cap, JSON decoded with the failing field's
//! path, error responses and transport failures mapped to [`Error`].
//!
//! Memory bounds against a hostile server: a JSON body is refused once it passes the
//! client's cap (`ClientBuilder::max_json_bytes`, 64 MiB by default), announced or
//! received, so an endless body costs at most the cap; an error body is read to 64 KiB at the
//! most; response heads are bounded by the HTTP layer (hyper refuses a head over ~400 KiB).
//! Image data is never buffered (see `image::data`).

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::Method;
use serde::de::DeserializeOwned;
use url::Url;

use crate::error::{ApiError, Error, Result, TransportKind, strip_html};

/// Most bytes of an error response that are read.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Reads a whole body, failing once it passes `limit` bytes (announced or received).
pub(crate) async fn read_body_capped(
    method: &Method,
    resp: reqwest::Response,
    limit: u64,
) -> Result<Bytes> {
    let url = resp.url().clone();
    let too_large = || Error::ResponseTooLarge {
        method: method.to_string(),
        url: url.to_string(),
        limit,
    };
    if resp.content_length().is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut buf = Vec::with_capacity(resp.content_length().unwrap_or(8192).min(limit) as usize);
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| transport_error(method, &url, e))?;
        if (buf.len() + chunk.len()) as u64 > limit {
            return Err(too_large());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(buf))
}

/// Decodes JSON, naming the path of the failing field.
pub(crate) fn decode_bytes<T: DeserializeOwned>(
    method: &Method,
    url: &Url,
    bytes: &[u8],
) -> Result<T> {
    // Tracking the path costs about a quarter of the decode time (measured on a 1,000-image
    // page): decode plainly, and only a failure is decoded again to name the failing field.
    if let Ok(value) = serde_json::from_slice(bytes) {
        return Ok(value);
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        Error::Decode {
            method: method.to_string(),
            url: url.to_string(),
            path,
            message: e.into_inner().to_string(),
        }
    })
}

/// The error for a transfer that went silent for longer than the read timeout.
pub(crate) fn idle_timeout(method: &Method, url: &Url, after: Duration) -> Error {
    Error::Transport {
        method: method.to_string(),
        url: url.to_string(),
        kind: TransportKind::Timeout,
        source: Box::new(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no data for {:.1} s", after.as_secs_f64()),
        )),
    }
}

pub(crate) fn transport_error(method: &Method, url: &Url, e: reqwest::Error) -> Error {
    let kind = transport_kind(&e);
    Error::Transport {
        method: method.to_string(),
        url: url.to_string(),
        kind,
        source: Box::new(e.without_url()),
    }
}

/// What kind of transport failure `e` is (a refused certificate before anything else).
pub(crate) fn transport_kind(e: &reqwest::Error) -> TransportKind {
    if is_certificate_failure(e) {
        TransportKind::Certificate
    } else if e.is_timeout() {
        TransportKind::Timeout
    } else if e.is_connect() {
        TransportKind::Connect
    } else if e.is_body() || e.is_decode() {
        TransportKind::Body
    } else {
        TransportKind::Request
    }
}

/// Whether a TLS handshake in `e`'s chain of causes failed for a reason a second attempt
/// meets again: a certificate refused (here or by the server), or TLS settings the two sides
/// do not share. rustls's error travels inside `io::Error`s (hyper wraps tokio-rustls's),
/// whose `source()` skips the error they wrap: each is opened with `get_ref`.
fn is_certificate_failure(e: &(dyn std::error::Error + 'static)) -> bool {
    use rustls::{AlertDescription as Alert, Error as Tls};
    let mut next = Some(e);
    while let Some(mut err) = next {
        while let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            err = inner;
        }
        let tls = err.downcast_ref::<Tls>();
        if let Some(tls) = tls {
            return match tls {
                Tls::InvalidCertificate(_)
                | Tls::NoCertificatesPresented
                | Tls::UnsupportedNameType
                | Tls::InvalidCertRevocationList(_)
                | Tls::PeerIncompatible(_) => true,
                Tls::AlertReceived(alert) => matches!(
                    alert,
                    Alert::BadCertificate
                        | Alert::UnsupportedCertificate
                        | Alert::CertificateRevoked
                        | Alert::CertificateExpired
                        | Alert::CertificateUnknown
                        | Alert::UnknownCA
                        | Alert::CertificateRequired
                        | Alert::HandshakeFailure
                        | Alert::ProtocolVersion
                        | Alert::InsufficientSecurity
                ),
                _ => false,
            };
        }
        next = err.source();
    }
    false
}

/// Turns an error response into [`Error::Api`], reading at most 64 KiB of its body.
pub(crate) async fn api_error(method: &Method, url: &Url, resp: reqwest::Response) -> Error {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let request_id = header("x-openstack-request-id").or_else(|| header("x-compute-request-id"));
    let retry_after = header("retry-after").and_then(|v| parse_retry_after(&v));
    let mut body = Vec::new();
    let mut stream = resp.bytes_stream();
    while let Some(Ok(chunk)) = stream.next().await {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_ERROR_BODY {
            body.truncate(MAX_ERROR_BODY);
            break;
        }
    }
    let (title, message) = parse_error_body(&body);
    Error::Api(Box::new(ApiError {
        status,
        method: method.to_string(),
        url: url.to_string(),
        request_id,
        message,
        title,
        retry_after,
        hint: None,
    }))
}

/// `Retry-After` as seconds: a number, or an HTTP date.
fn parse_retry_after(v: &str) -> Option<u64> {
    let v = v.trim();
    if let Ok(n) = v.parse::<u64>() {
        return Some(n);
    }
    httpdate::parse_http_date(v).ok().map(|t| {
        t.duration_since(std::time::SystemTime::now())
            .map(|d| d.as_secs())
            .unwrap_or(0)
    })
}

/// Extracts (title, message) from Glance, Keystone and Nova error bodies, or plain text/HTML.
pub(crate) fn parse_error_body(body: &[u8]) -> (Option<String>, String) {
    fn text(v: &serde_json::Value) -> Option<String> {
        match v {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
    if let Ok(serde_json::Value::Object(obj)) = serde_json::from_slice::<serde_json::Value>(body) {
        // Glance: {"message", "code", "title"}
        if let Some(m) = obj.get("message").and_then(text) {
            let title = obj.get("title").and_then(text);
            return (title, strip_html(&m));
        }
        // Keystone: {"error": {...}}; Nova: {"itemNotFound": {...}} and other single keys.
        if obj.len() == 1
            && let Some((key, serde_json::Value::Object(inner))) = obj.iter().next()
        {
            let message = inner.get("message").and_then(text).unwrap_or_default();
            let title = inner
                .get("title")
                .and_then(text)
                .or_else(|| (key != "error").then(|| key.clone()));
            return (title, strip_html(&message));
        }
        return (None, truncate(&serde_json::Value::Object(obj).to_string()));
    }
    (None, truncate(&strip_html(&String::from_utf8_lossy(body))))
}

fn truncate(s: &str) -> String {
    const MAX: usize = 1000;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_failures_are_found_inside_io_errors() {
        /// reqwest's and hyper's layers: an error with a source.
        #[derive(Debug)]
        struct Layer(Box<dyn std::error::Error + Send + Sync>);
        impl std::fmt::Display for Layer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("client error (Connect)")
            }
        }
        impl std::error::Error for Layer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&*self.0)
            }
        }
        // As hyper-util hands it over: an io::Error around tokio-rustls's io::Error.
        let wrapped = |tls: rustls::Error| {
            let inner = std::io::Error::new(std::io::ErrorKind::InvalidData, tls);
            Layer(Box::new(std::io::Error::other(inner)))
        };
        let unknown_issuer =
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        assert!(is_certificate_failure(&wrapped(unknown_issuer)));
        assert!(is_certificate_failure(&wrapped(
            rustls::Error::AlertReceived(rustls::AlertDescription::CertificateRequired)
        )));
        // A connection that broke mid-handshake may do better next time.
        assert!(!is_certificate_failure(&wrapped(
            rustls::Error::AlertReceived(rustls::AlertDescription::InternalError)
        )));
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert!(!is_certificate_failure(&Layer(Box::new(reset))));
    }

    #[test]
    fn parses_glance_keystone_nova_and_html_errors() {
        let g = br#"{"message": "No image found with ID x<br /><br />\n\n\n", "code": "404 Not Found", "title": "Not Found"}"#;
        assert_eq!(
            parse_error_body(g),
            (Some("Not Found".into()), "No image found with ID x".into())
        );
        let k = br#"{"error": {"code": 401, "message": "The request you have made requires authentication.", "title": "Unauthorized"}}"#;
        assert_eq!(
            parse_error_body(k),
            (
                Some("Unauthorized".into()),
                "The request you have made requires authentication.".into()
            )
        );
        let n = br#"{"itemNotFound": {"code": 404, "message": "Image not found."}}"#;
        assert_eq!(
            parse_error_body(n),
            (Some("itemNotFound".into()), "Image not found.".into())
        );
        let h = b"<html><body><h1>503 Service Unavailable</h1>No server is available</body></html>";
        assert_eq!(
            parse_error_body(h),
            (
                None,
                "503 Service Unavailable No server is available".into()
            )
        );
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("7"), Some(7));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(0));
        assert_eq!(parse_retry_after("soon"), None);
    }
}
