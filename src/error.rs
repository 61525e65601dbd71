//! The crate's one error type.
//!
//! Every fallible call returns [`Error`]. API errors keep what an operator needs to follow a
//! failure up on the server side: the HTTP status, the `x-openstack-request-id`, the method and
//! URL, and the server's own message with its HTML residue stripped.

use std::fmt;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong talking to an OpenStack cloud.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an error status (4xx/5xx).
    #[error("{0}")]
    Api(Box<ApiError>),

    /// Authentication failed or the credentials in the configuration are unusable.
    #[error("authentication failed: {message}")]
    Auth {
        /// What Keystone (or the configuration) said.
        message: String,
        /// The HTTP status Keystone answered with, if it answered.
        status: Option<u16>,
    },

    /// The configuration (clouds.yaml, `OS_*` variables, builder settings) is incomplete or
    /// inconsistent.
    #[error("configuration error: {0}")]
    Config(String),

    /// A value given by the caller was rejected before any request was sent.
    #[error("invalid input for `{field}`: {reason}")]
    InvalidInput {
        /// The property, parameter or argument that was rejected.
        field: String,
        /// Why it was rejected.
        reason: String,
    },

    /// The network failed: connection refused or reset, TLS failure, timeout. The message
    /// names the whole chain of causes (`error sending request: message head is too large`).
    #[error("{method} {url}: {kind}: {}", Causes(&**source))]
    Transport {
        /// HTTP method of the request.
        method: String,
        /// URL of the request (never carries credentials).
        url: String,
        /// A short classification (connect, timeout, body, request).
        kind: TransportKind,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The server answered with a redirect that was not followed, so that no credential or
    /// body reaches a place it was not meant for (see [`RedirectRefusal`]).
    #[error("{method} {url}: redirect {status} to `{location}` not followed: {reason}")]
    Redirect {
        /// HTTP method of the request.
        method: String,
        /// URL of the request that was redirected.
        url: String,
        /// The redirect status (301, 302, 303, 307, 308).
        status: u16,
        /// The `Location` the server gave, as it gave it (empty when there was none).
        location: String,
        /// Why it was not followed.
        reason: RedirectRefusal,
    },

    /// A response body could not be decoded into the expected type.
    #[error("{method} {url}: cannot decode response at `{path}`: {message}")]
    Decode {
        /// HTTP method of the request.
        method: String,
        /// URL of the request.
        url: String,
        /// JSON path of the failing field (`images[3].size`), `.` for the document itself.
        path: String,
        /// What was wrong.
        message: String,
    },

    /// The server's answer was larger than the configured cap for JSON bodies.
    #[error("{method} {url}: response body exceeds the limit of {limit} bytes")]
    ResponseTooLarge {
        /// HTTP method of the request.
        method: String,
        /// URL of the request.
        url: String,
        /// The cap that was exceeded, in bytes.
        limit: u64,
    },

    /// Image data did not match its checksum: downloaded data against the hash the server
    /// published for it, or, after an upload, the hash Glance stored against the hash of the
    /// bytes sent.
    #[error("image {image_id}: {algorithm} mismatch: expected {expected}, got {actual}")]
    Integrity {
        /// The image whose data was read or written.
        image_id: String,
        /// The hash algorithm (`sha512`, `md5`, ...).
        algorithm: String,
        /// Download: the value the server published. Upload: the hash of the bytes sent.
        expected: String,
        /// Download: the value computed over the received bytes. Upload: the value Glance
        /// stored (`os_hash_value`).
        actual: String,
    },

    /// A server behaved in a way the protocol does not allow (a pagination marker that
    /// repeats, a missing header the API promises, ...).
    #[error("protocol error: {0}")]
    Protocol(String),

    /// A lookup by name or id found nothing.
    #[error("no {kind} found matching `{name}`")]
    NotFound {
        /// What was looked for (`image`, `compute image`).
        kind: &'static str,
        /// The name or id given.
        name: String,
    },

    /// A lookup by name found several matches; use the id instead.
    #[error("{count} {kind}s match the name `{name}`: {ids}; use an id")]
    Ambiguous {
        /// What was looked for.
        kind: &'static str,
        /// The name given.
        name: String,
        /// How many matched.
        count: usize,
        /// The ids of the matches, comma-separated.
        ids: String,
    },

    /// Waiting for a state (an image becoming active) took longer than allowed.
    #[error("timed out after {seconds:.1}s waiting for {what}")]
    WaitTimeout {
        /// What was awaited.
        what: String,
        /// How long the wait lasted.
        seconds: f64,
    },

    /// An image that was being waited for failed instead: an import failed (Glance put the
    /// image back to `queued` or listed stores in `os_glance_failed_import`), or the image
    /// was killed or deleted.
    #[error(
        "image {image_id} failed: status {status}, os_glance_failed_import=[{failed_stores}], \
         os_glance_importing_to_stores=[{importing_stores}]"
    )]
    ImageFailed {
        /// The image.
        image_id: String,
        /// Its status when the failure was seen.
        status: String,
        /// `os_glance_failed_import`: the stores the import failed for (may be empty).
        failed_stores: String,
        /// `os_glance_importing_to_stores`: the stores still pending (may be empty).
        importing_stores: String,
    },

    /// The cloud does not offer a feature of the Image API (the image cache, multiple
    /// stores, the locations API): known from its version document before any request, or
    /// from the server's answer when the document did not tell.
    #[error("the cloud does not offer {feature}: {reason}")]
    Unsupported {
        /// The feature (`the image cache API`, `multiple stores`, ...).
        feature: &'static str,
        /// How that is known (the versions the cloud lists, or the server's answer).
        reason: String,
    },

    /// A local file or stream failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// Why a redirect was not followed ([`Error::Redirect`]).
///
/// The client follows a redirect only to the same origin (scheme, host and port) as the
/// request, where its token is valid anyway; a credential never goes anywhere else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedirectRefusal {
    /// The target is another origin: the token (or a Keystone password body) would go there.
    CrossOrigin,
    /// A 301/302/303 would turn this request into a `GET` and drop its body: not what was asked.
    ChangesMethod,
    /// The request body was streamed (image data) and cannot be sent a second time.
    StreamedBody,
    /// More hops than the client follows (5).
    TooMany,
    /// The response had no `Location`, or one that is not a URL.
    NoLocation,
}

impl fmt::Display for RedirectRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RedirectRefusal::CrossOrigin => {
                "it points to another origin, and credentials stay with their origin"
            }
            RedirectRefusal::ChangesMethod => "following it would change the request's method",
            RedirectRefusal::StreamedBody => "the streamed request body cannot be sent again",
            RedirectRefusal::TooMany => "too many redirects",
            RedirectRefusal::NoLocation => "it has no usable Location",
        })
    }
}

/// Displays an error and each of its sources, `outer: inner: innermost`, leaving out a
/// source whose text its parent already shows.
pub(crate) struct Causes<'a>(pub(crate) &'a (dyn std::error::Error + 'static));

impl fmt::Display for Causes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.0.to_string();
        f.write_str(&shown)?;
        let mut next = self.0.source();
        while let Some(cause) = next {
            let text = cause.to_string();
            if !shown.contains(&text) {
                write!(f, ": {text}")?;
            }
            shown = text;
            next = cause.source();
        }
        Ok(())
    }
}

/// Classifies a [`Error::Transport`] failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportKind {
    /// The TCP or TLS connection could not be established.
    Connect,
    /// The request or the connect phase exceeded its timeout.
    Timeout,
    /// The connection broke while the body was being sent or received.
    Body,
    /// Any other failure of the HTTP layer.
    Request,
    /// The TLS handshake failed over a certificate (the server's, refused here, or the
    /// client's, refused there) or over TLS settings the two sides do not share: trying again
    /// meets the same certificate, so it is not retried.
    Certificate,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Connect => "connection failed",
            TransportKind::Timeout => "timed out",
            TransportKind::Body => "connection broke during the body",
            TransportKind::Request => "request failed",
            TransportKind::Certificate => "TLS handshake refused",
        })
    }
}

/// An error status returned by Glance, Nova or Keystone.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApiError {
    /// HTTP status code.
    pub status: u16,
    /// HTTP method of the failed request.
    pub method: String,
    /// URL of the failed request.
    pub url: String,
    /// `x-openstack-request-id` (or `x-compute-request-id`) of the response, if any.
    pub request_id: Option<String>,
    /// The server's message, with HTML residue removed.
    pub message: String,
    /// The server's error title or code (`Not Found`, `itemNotFound`), if it gave one.
    pub title: Option<String>,
    /// Seconds the server asked to wait (`Retry-After`), if any.
    pub retry_after: Option<u64>,
    /// What the crate knows about this failure that the server did not say (a 403 from
    /// adding a member: the image must be `shared`), printed after the message.
    pub hint: Option<String>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} -> {}", self.method, self.url, self.status)?;
        if let Some(t) = &self.title {
            write!(f, " {t}")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "; hint: {hint}")?;
        }
        Ok(())
    }
}

impl Error {
    /// Adds `hint` to an API error with status `status`; any other error is returned as is.
    pub(crate) fn with_hint(self, status: u16, hint: &str) -> Self {
        match self {
            Error::Api(mut e) if e.status == status => {
                e.hint = Some(hint.to_owned());
                Error::Api(e)
            }
            other => other,
        }
    }

    /// The HTTP status of an API error, if this is one.
    ///
    /// ```
    /// # use openstack_images::Error;
    /// let e = Error::Config("x".into());
    /// assert_eq!(e.status(), None);
    /// ```
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::Auth { status, .. } => *status,
            _ => None,
        }
    }

    /// The request id the server gave the failed request, if any.
    ///
    /// ```
    /// # use openstack_images::Error;
    /// assert_eq!(Error::Protocol("x".into()).request_id(), None);
    /// ```
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api(e) => e.request_id.as_deref(),
            _ => None,
        }
    }

    /// True for a 404 from the server or a lookup that found nothing.
    ///
    /// ```
    /// # use openstack_images::Error;
    /// let e = Error::NotFound { kind: "image", name: "x".into() };
    /// assert!(e.is_not_found());
    /// ```
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. }) || self.status() == Some(404)
    }

    /// True when trying the same request again later may succeed: connection failures
    /// (but not a refused TLS certificate), timeouts, 429 and 502/503/504.
    ///
    /// ```
    /// # use openstack_images::Error;
    /// assert!(!Error::Config("bad".into()).is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport { kind, .. } => *kind != TransportKind::Certificate,
            Error::Api(e) => matches!(e.status, 429 | 502 | 503 | 504),
            _ => false,
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// The single item of a lookup: [`Error::NotFound`] when there is none and
/// [`Error::Ambiguous`] (naming every id) when there are several.
pub(crate) fn exactly_one<T>(
    kind: &'static str,
    name: &str,
    mut found: Vec<T>,
    id: impl Fn(&T) -> &str,
) -> Result<T> {
    match found.len() {
        0 => Err(Error::NotFound {
            kind,
            name: name.to_owned(),
        }),
        1 => Ok(found.remove(0)),
        count => Err(Error::Ambiguous {
            kind,
            name: name.to_owned(),
            count,
            ids: found.iter().map(&id).collect::<Vec<_>>().join(", "),
        }),
    }
}

/// Removes the HTML residue Glance and Nova leave in error messages (`<br />`, tags, entity
/// escapes) and collapses whitespace.
pub(crate) fn strip_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_glance_html_residue() {
        let m = "The resource could not be found.<br /><br />\n\nNo image found with ID x\n\n\n";
        assert_eq!(
            strip_html(m),
            "The resource could not be found. No image found with ID x"
        );
    }

    #[test]
    fn strips_full_html_page() {
        let m = "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad &amp; Gateway</h1></body></html>";
        assert_eq!(strip_html(m), "502 Bad Gateway Bad & Gateway");
    }

    #[test]
    fn transport_errors_name_every_cause() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl fmt::Display for Outer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("error sending request")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let inner = std::io::Error::other("message head is too large");
        let e = Error::Transport {
            method: "GET".into(),
            url: "http://x/v2/images".into(),
            kind: TransportKind::Request,
            source: Box::new(Outer(inner)),
        };
        assert_eq!(
            e.to_string(),
            "GET http://x/v2/images: request failed: error sending request: message head is too large"
        );
    }

    #[test]
    fn retryable_statuses() {
        for (s, r) in [
            (429, true),
            (502, true),
            (503, true),
            (504, true),
            (500, false),
            (404, false),
        ] {
            let e = Error::Api(Box::new(ApiError {
                status: s,
                method: "GET".into(),
                url: "http://x".into(),
                request_id: None,
                message: String::new(),
                title: None,
                retry_after: None,
                hint: None,
            }));
            assert_eq!(e.is_retryable(), r, "status {s}");
        }
    }

    #[test]
    fn a_hint_follows_the_message_and_only_for_its_status() {
        let forbidden = || {
            Error::Api(Box::new(ApiError {
                status: 403,
                method: "POST".into(),
                url: "http://g/v2/images/x/members".into(),
                request_id: Some("req-1".into()),
                message: "Forbidden".into(),
                title: None,
                retry_after: None,
                hint: None,
            }))
        };
        let e = forbidden().with_hint(403, "the image must be `shared`");
        assert_eq!(
            e.to_string(),
            "POST http://g/v2/images/x/members -> 403: Forbidden (request id req-1); \
             hint: the image must be `shared`"
        );
        let e = forbidden().with_hint(404, "not this one");
        assert!(!e.to_string().contains("hint"), "{e}");
    }
}
