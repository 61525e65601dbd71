//! The http(s) side of an image source: a GET by a client of its own, resumed with
//! `Range` and `If-Range` when the connection breaks or stalls.

use std::io;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use futures_util::StreamExt;
use url::Url;

use super::source::{SourceOptions, SourceStats};
use crate::error::{ApiError, Error};
use crate::http::transport_kind;

/// A URL as errors show it: no user, password, query or fragment.
pub(super) fn redact(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_fragment(None);
    let had_query = shown.query().is_some();
    shown.set_query(None);
    let mut text = shown.to_string();
    if had_query {
        text.push_str("?...");
    }
    text
}

type Body = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// A resumable http(s) download.
pub(super) struct HttpRaw {
    client: reqwest::Client,
    url: Url,
    pub(super) shown: String,
    body: Option<Body>,
    /// Bytes of the file delivered so far (the offset to resume from).
    offset: u64,
    /// Bytes still to drop from the body (a resume answered with the whole file).
    skip: u64,
    total: Option<u64>,
    etag: Option<String>,
    last_modified: Option<String>,
    /// Whether a digest will check the result (a resume without validators is then safe).
    verified: bool,
    resumes: u32,
    options: SourceOptions,
    stats: SourceStats,
}

/// Why a request or read failed: worth resuming, or not.
enum Failure {
    Retry(String),
    Fatal(io::Error),
}

impl HttpRaw {
    pub(super) async fn open(
        url: &Url,
        verified: bool,
        options: &SourceOptions,
        stats: &SourceStats,
    ) -> Result<HttpRaw, Error> {
        let client = crate::tls::source_client(options.connect_timeout, options.idle_timeout)?;
        let shown = redact(url);
        let mut attempt = 0;
        let response = loop {
            let sent = client.get(url.clone()).send().await;
            let retry = match sent {
                Ok(r) if r.status().is_success() => break r,
                Ok(r) => {
                    let status = r.status();
                    if !(status.is_server_error() || status.as_u16() == 429)
                        || attempt >= options.max_resumes
                    {
                        return Err(status_error(&shown, r));
                    }
                    format!("status {status}")
                }
                Err(e) => {
                    if attempt >= options.max_resumes {
                        return Err(Error::Transport {
                            method: "GET".into(),
                            url: shown,
                            kind: transport_kind(&e),
                            source: Box::new(e.without_url()),
                        });
                    }
                    causes(&e)
                }
            };
            attempt += 1;
            stats.add_resume();
            tracing::info!(url = %shown, attempt, error = %retry, "image source: trying again");
            tokio::time::sleep(backoff(options, attempt)).await;
        };
        let total = response.content_length();
        if let Some(total) = total {
            stats.set_content_length(total);
        }
        let header = |name: reqwest::header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let etag = header(reqwest::header::ETAG);
        let last_modified = header(reqwest::header::LAST_MODIFIED);
        Ok(HttpRaw {
            client,
            url: url.clone(),
            shown,
            body: Some(Box::pin(response.bytes_stream())),
            offset: 0,
            skip: 0,
            total,
            etag,
            last_modified,
            verified,
            resumes: attempt,
            options: options.clone(),
            stats: stats.clone(),
        })
    }

    /// The next chunk, resuming as needed; `None` at the end of the file.
    pub(super) async fn next(&mut self) -> Option<io::Result<Bytes>> {
        loop {
            let failure = match self.body.as_mut() {
                Some(body) => match body.next().await {
                    Some(Ok(mut chunk)) => {
                        if self.skip > 0 {
                            let drop = self.skip.min(chunk.len() as u64);
                            self.skip -= drop;
                            let _ = chunk.split_to(drop as usize);
                        }
                        if chunk.is_empty() {
                            continue;
                        }
                        self.offset += chunk.len() as u64;
                        return Some(Ok(chunk));
                    }
                    Some(Err(e)) => Failure::Retry(causes(&e)),
                    None => match self.total {
                        Some(total) if self.offset < total => Failure::Retry(format!(
                            "the connection closed after {} of {total} bytes",
                            self.offset
                        )),
                        _ => return None,
                    },
                },
                None => Failure::Retry("no connection".into()),
            };
            self.body = None;
            let reason = match failure {
                Failure::Fatal(e) => return Some(Err(e)),
                Failure::Retry(reason) => reason,
            };
            if self.resumes >= self.options.max_resumes {
                return Some(Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "GET {}: {reason} (at byte {}{}); gave up after {} resumes",
                        self.shown,
                        self.offset,
                        self.total.map(|t| format!(" of {t}")).unwrap_or_default(),
                        self.resumes
                    ),
                )));
            }
            self.resumes += 1;
            self.stats.add_resume();
            tracing::info!(
                url = %self.shown, offset = self.offset, resume = self.resumes, error = %reason,
                "image source: resuming"
            );
            tokio::time::sleep(backoff(&self.options, self.resumes)).await;
            match self.resume().await {
                Ok(body) => self.body = Some(body),
                Err(Failure::Fatal(e)) => return Some(Err(e)),
                Err(Failure::Retry(reason)) => {
                    tracing::info!(url = %self.shown, error = %reason, "image source: resume failed");
                }
            }
        }
    }

    /// Asks for the rest of the file from `offset`.
    async fn resume(&mut self) -> Result<Body, Failure> {
        let mut request = self
            .client
            .get(self.url.clone())
            .header(reqwest::header::RANGE, format!("bytes={}-", self.offset));
        // A weak ETag may not be used with If-Range (RFC 9110, 13.1.5).
        let validator = match &self.etag {
            Some(tag) if !tag.starts_with("W/") => Some(tag.clone()),
            _ => self.last_modified.clone(),
        };
        if let Some(v) = &validator {
            request = request.header(reqwest::header::IF_RANGE, v);
        }
        let response = request
            .send()
            .await
            .map_err(|e| Failure::Retry(causes(&e)))?;
        let status = response.status();
        let fatal = |message: String| {
            Failure::Fatal(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "GET {} (resuming at byte {}): {message}",
                    self.shown, self.offset
                ),
            ))
        };
        let header = |name: reqwest::header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        match status.as_u16() {
            206 => {
                let range = header(reqwest::header::CONTENT_RANGE).unwrap_or_default();
                let (start, total) = parse_content_range(&range).ok_or_else(|| {
                    fatal(format!("206 with an unusable Content-Range `{range}`"))
                })?;
                if start != self.offset {
                    return Err(fatal(format!(
                        "206 starting at byte {start}, not where asked"
                    )));
                }
                if let (Some(known), Some(total)) = (self.total, total)
                    && known != total
                {
                    return Err(fatal(format!(
                        "the file changed: its size is now {total} bytes, was {known}"
                    )));
                }
                self.skip = 0;
                Ok(Box::pin(response.bytes_stream()))
            }
            200 => {
                let same_validators = validator.is_some()
                    && header(reqwest::header::ETAG) == self.etag
                    && header(reqwest::header::LAST_MODIFIED) == self.last_modified;
                let same_size = response.content_length() == self.total;
                let unvalidated_but_verified = validator.is_none() && self.verified && same_size;
                if !(same_validators && same_size || unvalidated_but_verified) {
                    return Err(fatal(
                        "the server sent the whole file again and it is not known to be the \
                         same file (ETag or Last-Modified changed or absent): the file changed \
                         during the download; not resuming"
                            .into(),
                    ));
                }
                tracing::info!(url = %self.shown, skip = self.offset, "image source: the server ignored Range; skipping the bytes already read");
                self.skip = self.offset;
                Ok(Box::pin(response.bytes_stream()))
            }
            416 => Err(fatal(
                "416: the range is past the end: the file changed".into(),
            )),
            s if s >= 500 || s == 429 => Err(Failure::Retry(format!("status {status}"))),
            _ => Err(fatal(format!("status {status}"))),
        }
    }
}

/// `bytes START-END/TOTAL` (TOTAL may be `*`).
fn parse_content_range(text: &str) -> Option<(u64, Option<u64>)> {
    let rest = text.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (start, _) = range.split_once('-')?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    Some((start.trim().parse().ok()?, total))
}

fn backoff(options: &SourceOptions, attempt: u32) -> Duration {
    let factor = 1u32 << attempt.saturating_sub(1).min(5);
    (options.resume_delay * factor).min(Duration::from_secs(8).max(options.resume_delay))
}

/// An error and its causes, `outer: inner`, without the URL (which may hold a secret).
fn causes(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "no data within the idle timeout".to_owned()
    } else {
        transport_kind(e).to_string()
    };
    let mut next = std::error::Error::source(e);
    while let Some(cause) = next {
        let part = cause.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        next = cause.source();
    }
    text
}

/// A non-2xx answer to the first GET.
fn status_error(shown: &str, response: reqwest::Response) -> Error {
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    Error::Api(Box::new(ApiError {
        status: status.as_u16(),
        method: "GET".into(),
        url: shown.to_owned(),
        request_id: None,
        message: "the image source could not be read".into(),
        title: status.canonical_reason().map(str::to_owned),
        retry_after,
        hint: None,
    }))
}
