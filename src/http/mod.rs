//! The one request pipeline: every call of every service, and Keystone's token requests, go
//! build -> send -> follow same-origin redirects -> re-authenticate once on a 401 -> retry with
//! backoff -> cap the body -> map errors, here.
//!
//! This module knows nothing of Keystone or of the services: credentials come in through
//! [`Credentials`], endpoints as URLs. Request building ([`Req::build`]) does no I/O and is
//! unit-tested; the redirect policy is in [`redirect`].

mod redirect;
mod request;
mod response;
mod retry;

use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION};
use serde::de::DeserializeOwned;
use url::Url;

use crate::error::Result;
use crate::secret::Secret;

pub(crate) use request::{Req, ReqBody, seg, url_of};
#[cfg(feature = "catalog")]
pub(crate) use response::transport_kind;
pub(crate) use response::{
    api_error, decode_bytes, idle_timeout, read_body_capped, transport_error,
};
use retry::Retries;
pub use retry::RetryPolicy;

/// `METHOD url`, for log lines.
fn describe(req: &Req, url: &Url) -> String {
    format!("{} {url}", req.method)
}

/// Settings shared by every request of a client.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub retry: RetryPolicy,
    pub max_json_bytes: u64,
    pub timeout: Duration,
    /// Longest silence while waiting for image data (its response head or next bytes).
    pub read_timeout: Duration,
}

/// Where a request's token comes from, and where a rejected one is reported.
pub(crate) trait Credentials: Sync {
    /// The token to send, or `None` to send none.
    fn token(&self) -> impl Future<Output = Result<Option<Secret>>> + Send;
    /// Called with a token the server answered `401` to: the next `token()` is a new one.
    fn rejected(&self, token: &Secret) -> impl Future<Output = ()> + Send;
}

/// No credentials: version discovery, Keystone's own token request, `auth_type: none`.
pub(crate) struct Anonymous;

impl Credentials for Anonymous {
    async fn token(&self) -> Result<Option<Secret>> {
        Ok(None)
    }
    async fn rejected(&self, _: &Secret) {}
}

/// A response read whole: what token requests and JSON calls need of it.
pub(crate) struct Fetched {
    /// The URL that answered (after same-origin redirects).
    pub url: Url,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// The HTTP client and the settings every request is sent with.
#[derive(Debug, Clone)]
pub(crate) struct Pipeline {
    pub http: reqwest::Client,
    pub settings: Settings,
}

impl Pipeline {
    /// Sends `req` to `url` and returns the response head of a 2xx (or `req.also_ok`) status;
    /// the body is the caller's to read.
    pub(crate) async fn send(
        &self,
        mut req: Req,
        url: &Url,
        creds: &impl Credentials,
    ) -> Result<reqwest::Response> {
        let mut retries = Retries::new(
            &self.settings.retry,
            req.idempotent && req.body.replayable(),
        );
        let mut reauthed = false;
        loop {
            match self.attempt(&mut req, url, creds, &mut reauthed).await {
                Ok(resp) => return Ok(resp),
                Err(e) => retries.after(e, &describe(&req, url)).await?,
            }
        }
    }

    /// Sends `req` and reads its whole body within the JSON size cap. A connection that
    /// breaks while the body is read is retried like one that breaks before the status line.
    pub(crate) async fn fetch(
        &self,
        mut req: Req,
        url: &Url,
        creds: &impl Credentials,
    ) -> Result<Fetched> {
        let mut retries = Retries::new(
            &self.settings.retry,
            req.idempotent && req.body.replayable(),
        );
        let mut reauthed = false;
        loop {
            match self.fetch_once(&mut req, url, creds, &mut reauthed).await {
                Ok(fetched) => return Ok(fetched),
                Err(e) => retries.after(e, &describe(&req, url)).await?,
            }
        }
    }

    async fn fetch_once(
        &self,
        req: &mut Req,
        url: &Url,
        creds: &impl Credentials,
        reauthed: &mut bool,
    ) -> Result<Fetched> {
        let resp = self.attempt(req, url, creds, reauthed).await?;
        let url = resp.url().clone();
        let headers = resp.headers().clone();
        let body = read_body_capped(&req.method, resp, self.settings.max_json_bytes).await?;
        Ok(Fetched { url, headers, body })
    }

    /// Sends `req` and decodes its JSON body (see [`Pipeline::fetch`]).
    pub(crate) async fn json<T: DeserializeOwned>(
        &self,
        req: Req,
        url: &Url,
        creds: &impl Credentials,
    ) -> Result<T> {
        let method = req.method.clone();
        let fetched = self.fetch(req, url, creds).await?;
        decode_bytes(&method, &fetched.url, &fetched.body)
    }

    /// One attempt: a token, the request (with its same-origin redirects), and one
    /// re-authentication if the token is refused.
    async fn attempt(
        &self,
        req: &mut Req,
        url: &Url,
        creds: &impl Credentials,
        reauthed: &mut bool,
    ) -> Result<reqwest::Response> {
        loop {
            let token = creds.token().await?;
            let resp = self.follow(req, url, token.as_ref()).await?;
            let status = resp.status();
            if status.is_success() || req.also_ok == Some(status) {
                return Ok(resp);
            }
            if status == StatusCode::UNAUTHORIZED
                && !*reauthed
                && let Some(token) = &token
            {
                *reauthed = true;
                creds.rejected(token).await;
                // A streamed body is gone: report the 401; the next call re-authenticates.
                if req.body.replayable() {
                    continue;
                }
            }
            let at = resp.url().clone();
            return Err(api_error(&req.method, &at, resp).await);
        }
    }

    /// Sends the request, following redirects as [`redirect::next_hop`] allows.
    async fn follow(
        &self,
        req: &mut Req,
        url: &Url,
        token: Option<&Secret>,
    ) -> Result<reqwest::Response> {
        let replayable = req.body.replayable();
        let mut url = url.clone();
        let mut hops = 0;
        loop {
            let resp = self.dispatch(req, &url, token).await?;
            let status = resp.status();
            if !redirect::is_redirect(status) {
                return Ok(resp);
            }
            let location = resp.headers().get(LOCATION).and_then(|v| v.to_str().ok());
            let next = redirect::next_hop(&req.method, status, &url, location, replayable, hops)?;
            tracing::debug!(method = %req.method, from = %url, to = %next, status = status.as_u16(), "same-origin redirect");
            url = next;
            hops += 1;
        }
    }

    /// One HTTP exchange, up to the response head.
    async fn dispatch(
        &self,
        req: &mut Req,
        url: &Url,
        token: Option<&Secret>,
    ) -> Result<reqwest::Response> {
        let download = req.is_download();
        let request = req.build(url, token, self.settings.timeout)?;
        let started = Instant::now();
        let sent = self.http.execute(request);
        let result = if download {
            let idle = self.settings.read_timeout;
            match tokio::time::timeout(idle, sent).await {
                Ok(r) => r.map_err(|e| transport_error(&req.method, url, e)),
                Err(_) => Err(idle_timeout(&req.method, url, idle)),
            }
        } else {
            sent.await.map_err(|e| transport_error(&req.method, url, e))
        };
        if let Ok(resp) = &result {
            tracing::debug!(method = %req.method, url = %url, status = resp.status().as_u16(), elapsed_ms = started.elapsed().as_millis() as u64, "request");
        }
        result
    }
}
