//! What a plan needs from outside the cloud: the checksum and `Last-Modified` day of
//! `latest` versions, and checksum files of versions to upload. Fetched with a client of
//! its own that carries no credential (a cloud's token never goes to an image mirror).

use std::time::Duration;

use super::checksums::{find_checksum, parse_checksums};
use super::model::{Checksum, ImageSource, ImageVersion};
use super::state::LatestInfo;
use crate::{Error, Result};

/// The largest checksum file read (a SHA512SUMS of a big mirror is some hundred KiB).
const MAX_CHECKSUM_FILE: usize = 8 << 20;

/// An HTTP client for image sources and checksum files: no credentials, no cookies, the
/// crate's TLS settings.
pub(crate) fn source_client() -> Result<reqwest::Client> {
    crate::tls::source_client(Duration::from_secs(30), Duration::from_secs(60))
}

/// A URL as shown in messages: without user, password, query or fragment.
pub(crate) fn shown(url: &url::Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

async fn get_text(client: &reqwest::Client, url: &url::Url) -> Result<String> {
    let fail = |what: String| Error::Io(std::io::Error::other(format!("{}: {what}", shown(url))));
    let mut response = client
        .get(url.clone())
        .send()
        .await
        .map_err(|e| fail(e.without_url().to_string()))?;
    if !response.status().is_success() {
        return Err(fail(format!("HTTP {}", response.status())));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| fail(e.without_url().to_string()))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_CHECKSUM_FILE {
            return Err(fail(format!(
                "more than {MAX_CHECKSUM_FILE} bytes: not a checksum file"
            )));
        }
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// The file name a checksum list names a source by: the last segment of its `url`.
fn file_name(url: &ImageSource) -> String {
    match url {
        ImageSource::Http(u) | ImageSource::Ftp(u) => u
            .path_segments()
            .and_then(|mut s| s.next_back())
            .unwrap_or_default()
            .to_owned(),
        ImageSource::File(p) => p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    }
}

/// The checksum of a version: its `checksum`, or the one its `checksum_url` holds, or the
/// line of its `checksums_url` naming its file. `Ok(None)` when the catalog gives none.
pub(crate) async fn version_checksum(
    client: &reqwest::Client,
    version: &ImageVersion,
) -> Result<Option<Checksum>> {
    checksum_of(
        client,
        version.checksum.as_ref(),
        version.checksum_url.as_ref(),
        version.checksums_url.as_ref(),
        &version.url,
    )
    .await
}

/// [`version_checksum`] from the version's fields.
pub(crate) async fn checksum_of(
    client: &reqwest::Client,
    checksum: Option<&Checksum>,
    checksum_url: Option<&url::Url>,
    checksums_url: Option<&url::Url>,
    source: &ImageSource,
) -> Result<Option<Checksum>> {
    if let Some(c) = checksum {
        return Ok(Some(c.clone()));
    }
    if let Some(url) = checksum_url {
        let text = get_text(client, url).await?;
        return Checksum::from_bare_hex(text.trim())
            .map(Some)
            .ok_or_else(|| {
                Error::Io(std::io::Error::other(format!(
                    "{}: not a bare checksum",
                    shown(url)
                )))
            });
    }
    if let Some(url) = checksums_url {
        let text = get_text(client, url).await?;
        let entries = parse_checksums(&text);
        let name = file_name(source);
        return find_checksum(&entries, &name)
            .cloned()
            .map(Some)
            .ok_or_else(|| {
                Error::Io(std::io::Error::other(format!(
                    "{}: no checksum for {name:?}",
                    shown(url)
                )))
            });
    }
    Ok(None)
}

/// What a `latest` version stands for now: its upstream checksum (as written in the
/// checksum file) and the source's `Last-Modified` day.
pub(crate) async fn latest_info(
    client: &reqwest::Client,
    version: &ImageVersion,
) -> Result<LatestInfo> {
    let checksum = version_checksum(client, version).await?.ok_or_else(|| {
        Error::invalid(
            "version latest",
            "needs checksums_url or checksum_url".to_owned(),
        )
    })?;
    let last_modified = match &version.url {
        ImageSource::Http(url) => client
            .head(url.clone())
            .send()
            .await
            .ok()
            .and_then(|r| {
                r.headers()
                    .get(reqwest::header::LAST_MODIFIED)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| httpdate::parse_http_date(v).ok())
            })
            .map(yyyymmdd),
        ImageSource::File(path) => tokio::fs::metadata(path)
            .await
            .ok()
            .and_then(|m| m.modified().ok())
            .map(yyyymmdd),
        ImageSource::Ftp(_) => None,
    };
    Ok(LatestInfo {
        upstream_checksum: checksum.hex,
        last_modified,
    })
}

fn yyyymmdd(t: std::time::SystemTime) -> String {
    let days = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0) as i64;
    let (y, m, d) = super::plan::civil_from_days(days);
    format!("{y:04}{m:02}{d:02}")
}
