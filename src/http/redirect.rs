//! The redirect policy: the HTTP layer follows nothing on its own; the pipeline asks
//! [`next_hop`] about every 3xx with a `Location`.
//!
//! A redirect is followed only to the request's own origin (scheme, host and port), where the
//! token in `X-Auth-Token` is valid anyway, and only when following it repeats the same
//! request: a 301/302/303 is followed for `GET`/`HEAD` only (clients turn other methods into a
//! `GET` there), a 307/308 for any method whose body can be sent again. Everything else is
//! [`Error::Redirect`]: a token, a Keystone password body or image data never goes to another
//! host, port or scheme (an `https` endpoint redirected to `http` is another origin too).
//! reqwest's own policy, which this replaces, followed up to 10 redirects anywhere and
//! stripped only `Authorization` and `Cookie`.

use reqwest::{Method, StatusCode};
use url::Url;

use crate::error::{Error, RedirectRefusal, Result};

/// Most redirects followed for one request.
pub(crate) const MAX_HOPS: usize = 5;

/// True for the statuses that ask the client to repeat the request elsewhere. `300 Multiple
/// Choices` (Glance's version list) and `304`/`305` are not among them.
pub(crate) fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// Where to send the request next after a redirect from `from`, or why not.
///
/// `hops` is the number of redirects already followed for this request; `body_replayable`
/// is false for a streamed upload.
pub(crate) fn next_hop(
    method: &Method,
    status: StatusCode,
    from: &Url,
    location: Option<&str>,
    body_replayable: bool,
    hops: usize,
) -> Result<Url> {
    let refuse = |reason| Error::Redirect {
        method: method.to_string(),
        url: from.to_string(),
        status: status.as_u16(),
        location: location.unwrap_or_default().to_owned(),
        reason,
    };
    let target = location
        .and_then(|l| from.join(l).ok())
        .ok_or_else(|| refuse(RedirectRefusal::NoLocation))?;
    if target.origin() != from.origin() {
        return Err(refuse(RedirectRefusal::CrossOrigin));
    }
    let keeps_method = matches!(status.as_u16(), 307 | 308);
    if !keeps_method && !matches!(*method, Method::GET | Method::HEAD) {
        return Err(refuse(RedirectRefusal::ChangesMethod));
    }
    if !body_replayable {
        return Err(refuse(RedirectRefusal::StreamedBody));
    }
    if hops >= MAX_HOPS {
        return Err(refuse(RedirectRefusal::TooMany));
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from() -> Url {
        Url::parse("https://cloud.example:9292/v2/images?limit=2").unwrap()
    }

    fn reason(r: Result<Url>) -> RedirectRefusal {
        match r {
            Err(Error::Redirect { reason, .. }) => reason,
            other => panic!("expected a refused redirect, got {other:?}"),
        }
    }

    fn status(n: u16) -> StatusCode {
        StatusCode::from_u16(n).unwrap()
    }

    #[test]
    fn same_origin_hops_are_followed() {
        for s in [301, 302, 303, 307, 308] {
            let next = next_hop(
                &Method::GET,
                status(s),
                &from(),
                Some("/v2/images?x=1"),
                true,
                0,
            );
            assert_eq!(
                next.unwrap().as_str(),
                "https://cloud.example:9292/v2/images?x=1",
                "{s}"
            );
        }
        let rel = next_hop(&Method::GET, status(302), &from(), Some("other"), true, 0).unwrap();
        assert_eq!(rel.as_str(), "https://cloud.example:9292/v2/other");
        // 307/308 keep the method, so a replayable POST body may follow within the origin.
        let post = next_hop(
            &Method::POST,
            status(307),
            &from(),
            Some("/v3/auth/tokens"),
            true,
            0,
        );
        assert!(post.is_ok());
    }

    #[test]
    fn another_scheme_host_or_port_is_refused() {
        for to in [
            "https://evil.example:9292/v2/images",
            "https://cloud.example:9293/v2/images",
            "http://cloud.example:9292/v2/images",
            "//evil.example/v2/images",
            "https://cloud.example.evil.example:9292/",
        ] {
            for s in [301, 302, 303, 307, 308] {
                for m in [Method::GET, Method::POST, Method::PUT] {
                    let r = next_hop(&m, status(s), &from(), Some(to), true, 0);
                    assert_eq!(reason(r), RedirectRefusal::CrossOrigin, "{m} {s} -> {to}");
                }
            }
        }
    }

    #[test]
    fn method_changes_streams_loops_and_missing_locations_are_refused() {
        for s in [301, 302, 303] {
            let r = next_hop(&Method::POST, status(s), &from(), Some("/x"), true, 0);
            assert_eq!(reason(r), RedirectRefusal::ChangesMethod);
            let r = next_hop(&Method::PATCH, status(s), &from(), Some("/x"), true, 0);
            assert_eq!(reason(r), RedirectRefusal::ChangesMethod);
        }
        let r = next_hop(&Method::PUT, status(307), &from(), Some("/x"), false, 0);
        assert_eq!(reason(r), RedirectRefusal::StreamedBody);
        let r = next_hop(
            &Method::GET,
            status(302),
            &from(),
            Some("/x"),
            true,
            MAX_HOPS,
        );
        assert_eq!(reason(r), RedirectRefusal::TooMany);
        let r = next_hop(&Method::GET, status(302), &from(), None, true, 0);
        assert_eq!(reason(r), RedirectRefusal::NoLocation);
        let r = next_hop(
            &Method::GET,
            status(302),
            &from(),
            Some("http://[::1"),
            true,
            0,
        );
        assert_eq!(reason(r), RedirectRefusal::NoLocation);
    }

    #[test]
    fn only_real_redirect_statuses_count() {
        for s in [301, 302, 303, 307, 308] {
            assert!(is_redirect(status(s)));
        }
        for s in [200, 300, 304, 305, 400] {
            assert!(!is_redirect(status(s)));
        }
    }
}
