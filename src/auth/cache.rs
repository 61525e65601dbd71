//! A token cache on disk, so that repeated short-lived processes (`osimg image show`, a
//! script's loop) reuse a still-valid token and its catalog instead of authenticating each
//! time, as the Rust `osc` CLI does.
//!
//! One file per set of auth parameters, named by a SHA-256 of them (never of a password or
//! secret: those are left out of the key, so the key names *who* and *where*, not *how*),
//! holding the token, Keystone's token body (expiry, catalog) and the discovered Image
//! endpoint. Files are created with mode 0600 in a 0700 directory, written whole to a temp
//! file and renamed into place; a file that cannot be read or parsed, that is not the
//! effective user's (root under `sudo -E` reads the user's cache directory), that another
//! user could read or write, that sits in a directory not the effective user's, or whose
//! token is about to expire is ignored (and replaced by the next write). A token a server
//! rejects (401) has its file removed.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::clouds::{AuthType, CloudConfig};
use crate::secret::Secret;

/// Where tokens are cached on disk: one file per set of auth parameters (see
/// [`ClientBuilder::token_cache`](crate::ClientBuilder::token_cache)).
///
/// ```
/// use openstack_images::TokenCache;
/// let cache = TokenCache::new("/tmp/my-token-cache");
/// assert_eq!(cache.dir(), std::path::Path::new("/tmp/my-token-cache"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenCache {
    dir: PathBuf,
}

impl TokenCache {
    /// A cache in this directory (created, mode 0700, on the first write).
    ///
    /// ```
    /// let cache = openstack_images::TokenCache::new("/tmp/tokens");
    /// ```
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        TokenCache { dir: dir.into() }
    }

    /// The per-user default: `$XDG_CACHE_HOME/openstack-images/tokens` (`~/.cache/...` when
    /// the variable is unset); `None` when there is no home directory.
    ///
    /// ```
    /// if let Some(cache) = openstack_images::TokenCache::user_default() {
    ///     assert!(cache.dir().ends_with("openstack-images/tokens"));
    /// }
    /// ```
    pub fn user_default() -> Option<Self> {
        dirs::cache_dir().map(|d| TokenCache::new(d.join("openstack-images").join("tokens")))
    }

    /// The directory the files are in.
    ///
    /// ```
    /// let cache = openstack_images::TokenCache::new("/tmp/tokens");
    /// assert!(cache.dir().ends_with("tokens"));
    /// ```
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// What one cache file holds.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct CachedToken {
    /// Format version: a file of another version is ignored.
    pub version: u32,
    /// The token: in clear in the file (mode 0600), redacted everywhere else.
    #[serde(serialize_with = "expose_secret")]
    pub token: Secret,
    /// Keystone's token body (`{"token": {...}}`), as it answered.
    pub body: Value,
    /// The Image API base, once discovered.
    #[serde(default)]
    pub image_endpoint: Option<String>,
}

pub(crate) const FORMAT_VERSION: u32 = 1;

/// Writes a token into its cache file, the one place it is serialized.
fn expose_secret<S: serde::Serializer>(secret: &Secret, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(secret.expose())
}

/// The cache file of one set of auth parameters.
#[derive(Debug, Clone)]
pub(crate) struct CacheFile {
    pub path: PathBuf,
}

impl CacheFile {
    /// The file for `cloud` in `cache`; `None` for auth types that have nothing to cache
    /// (`none`) or whose credential is already a token (`token`).
    pub(crate) fn for_cloud(
        cache: &TokenCache,
        cloud: &CloudConfig,
        auth_url: &str,
    ) -> Option<Self> {
        let key = cache_key(cloud, auth_url)?;
        Some(CacheFile {
            path: cache.dir.join(format!("{key}.json")),
        })
    }

    /// The cached entry, or `None` when there is none or it cannot be trusted.
    pub(crate) fn load(&self) -> Option<CachedToken> {
        if !private_to_us(&self.path) {
            return None;
        }
        let bytes = std::fs::read(&self.path).ok()?;
        match serde_json::from_slice::<CachedToken>(&bytes) {
            Ok(c) if c.version == FORMAT_VERSION => Some(c),
            Ok(_) => None,
            Err(e) => {
                tracing::debug!(path = %self.path.display(), error = %e, "ignoring an unreadable token cache file");
                None
            }
        }
    }

    /// Writes the entry atomically (temp file, mode 0600 from creation, then rename).
    /// Failures are logged and otherwise ignored: a cache is an optimisation.
    pub(crate) fn store(&self, entry: &CachedToken) {
        if let Err(e) = self.try_store(entry) {
            tracing::debug!(path = %self.path.display(), error = %e, "cannot write the token cache");
        }
    }

    fn try_store(&self, entry: &CachedToken) -> std::io::Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        create_private_dir(dir)?;
        if let Some(why) = untrusted_dir(dir) {
            return Err(std::io::Error::other(why));
        }
        let bytes = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
        let tmp = dir.join(format!(".{:016x}.tmp", fastrand::u64(..)));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let written = options.open(&tmp).and_then(|mut f| {
            f.write_all(&bytes)?;
            f.sync_all()
        });
        let renamed = written.and_then(|()| std::fs::rename(&tmp, &self.path));
        if renamed.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        renamed
    }

    /// Removes the file (its token was rejected).
    pub(crate) fn remove(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// The effective user id: whose files the process may trust (with `sudo -E`, root keeps
/// the user's `$HOME`, and so the user's cache directory: the directory's owner is not us).
#[cfg(target_os = "linux")]
fn effective_uid() -> Option<u32> {
    // SAFETY: geteuid takes nothing, cannot fail and touches no memory of ours.
    Some(unsafe { libc::geteuid() })
}

/// Unknown where `libc` is not a dependency: no file is trusted, nothing is written.
#[cfg(all(unix, not(target_os = "linux")))]
fn effective_uid() -> Option<u32> {
    None
}

/// Why `dir` cannot hold our cache files, if it cannot: it must be ours (the effective
/// user's) and writable by nobody else, or others could put or swap files in it.
#[cfg(unix)]
fn untrusted_dir(dir: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let Some(uid) = effective_uid() else {
        return Some("the effective user id is unknown on this system".into());
    };
    match std::fs::metadata(dir) {
        Err(e) => Some(format!("cannot read the directory: {e}")),
        Ok(d) if d.uid() != uid => Some(format!(
            "the directory belongs to uid {}, not to the effective uid {uid}",
            d.uid()
        )),
        Ok(d) if d.mode() & 0o022 != 0 => Some("others may write the directory".into()),
        Ok(_) => None,
    }
}

#[cfg(not(unix))]
fn untrusted_dir(_dir: &Path) -> Option<String> {
    None
}

/// Whether the file is a regular file of the effective user that nobody else may read or
/// write, in a directory only that user may write (a file others could have written could
/// carry a token and an endpoint of their choosing).
#[cfg(unix)]
fn private_to_us(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return false;
    };
    let why = untrusted_dir(path.parent().unwrap_or(Path::new("."))).or_else(|| {
        let uid = effective_uid()?;
        if !meta.file_type().is_file() {
            Some("not a regular file".into())
        } else if meta.uid() != uid {
            Some(format!(
                "it belongs to uid {}, not to the effective uid {uid}",
                meta.uid()
            ))
        } else if meta.mode() & 0o077 != 0 {
            Some("others may read or write it".into())
        } else {
            None
        }
    });
    if let Some(why) = &why {
        tracing::debug!(path = %path.display(), reason = %why, "ignoring a token cache file");
    }
    why.is_none()
}

#[cfg(not(unix))]
fn private_to_us(path: &Path) -> bool {
    path.is_file()
}

/// The hex SHA-256 of every auth and TLS parameter that selects a token and its catalog, each as
/// `name=value` on its own line (so no two parameter sets give the same text); secrets are
/// never part of it.
pub(crate) fn cache_key(c: &CloudConfig, auth_url: &str) -> Option<String> {
    if matches!(c.auth_type, AuthType::None | AuthType::Token) {
        return None;
    }
    // TLS settings decide which servers were believed: a catalog cached by a `verify: false`
    // run is not for a verifying one.
    fn path(p: &Option<PathBuf>) -> Option<std::borrow::Cow<'_, str>> {
        p.as_ref().map(|p| p.to_string_lossy())
    }
    let (cacert, cert, key) = (path(&c.cacert), path(&c.cert), path(&c.key));
    let fields: [(&str, Option<&str>); 22] = [
        ("auth_url", Some(auth_url)),
        ("auth_type", Some(c.auth_type.as_str())),
        ("username", c.username.as_deref()),
        ("user_id", c.user_id.as_deref()),
        ("user_domain_name", c.user_domain_name.as_deref()),
        ("user_domain_id", c.user_domain_id.as_deref()),
        ("project_name", c.project_name.as_deref()),
        ("project_id", c.project_id.as_deref()),
        ("project_domain_name", c.project_domain_name.as_deref()),
        ("project_domain_id", c.project_domain_id.as_deref()),
        ("domain_name", c.domain_name.as_deref()),
        ("domain_id", c.domain_id.as_deref()),
        ("system_scope", c.system_scope.as_deref()),
        (
            "application_credential_id",
            c.application_credential_id.as_deref(),
        ),
        (
            "application_credential_name",
            c.application_credential_name.as_deref(),
        ),
        ("region_name", c.region_name.as_deref()),
        ("interface", Some(c.interface.as_str())),
        (
            "image_endpoint_override",
            c.image_endpoint_override.as_deref(),
        ),
        ("verify", Some(if c.verify { "true" } else { "false" })),
        ("cacert", cacert.as_deref()),
        ("cert", cert.as_deref()),
        ("key", key.as_deref()),
    ];
    let mut hash = Sha256::new();
    for (name, value) in fields {
        // Escaped, so a value holding a newline cannot impersonate another field.
        let value = value.map(|v| v.escape_default().to_string());
        hash.update(format!("{name}={}\n", value.as_deref().unwrap_or("\u{0}")));
    }
    Some(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Client;
    use serde_json::json;
    use std::os::unix::fs::PermissionsExt;

    const AUTH: &str = "http://k:5000/v3/";

    fn cloud() -> CloudConfig {
        CloudConfig::password("http://k:5000", "alice", "pw-secret", "demo")
            .user_domain_name("Default")
            .project_domain_name("Default")
    }

    fn key(c: &CloudConfig) -> String {
        cache_key(c, AUTH).unwrap()
    }

    #[test]
    fn every_auth_parameter_changes_the_key_and_secrets_do_not() {
        let base = key(&cloud());
        let set = |f: fn(&mut CloudConfig)| {
            let mut c = cloud();
            f(&mut c);
            key(&c)
        };
        let variants = [
            set(|c| c.username = Some("bob".into())),
            set(|c| c.user_id = Some("u1".into())),
            set(|c| c.user_domain_name = Some("Other".into())),
            set(|c| c.user_domain_id = Some("d1".into())),
            set(|c| c.project_name = Some("other".into())),
            set(|c| c.project_id = Some("p1".into())),
            set(|c| c.project_domain_name = Some("Other".into())),
            set(|c| c.project_domain_id = Some("d1".into())),
            set(|c| c.domain_name = Some("D".into())),
            set(|c| c.domain_id = Some("d".into())),
            set(|c| c.system_scope = Some("all".into())),
            set(|c| c.application_credential_id = Some("ac".into())),
            set(|c| c.application_credential_name = Some("ac".into())),
            set(|c| c.region_name = Some("RegionTwo".into())),
            set(|c| c.interface = crate::Interface::Internal),
            set(|c| c.image_endpoint_override = Some("http://g".into())),
            set(|c| c.auth_type = AuthType::ApplicationCredential),
            set(|c| c.verify = false),
            set(|c| c.cacert = Some("/etc/ssl/ca.pem".into())),
            set(|c| c.cert = Some("/etc/ssl/me.pem".into())),
            set(|c| c.key = Some("/etc/ssl/me.key".into())),
            cache_key(&cloud(), "http://other:5000/v3/").unwrap(),
        ];
        let mut all: Vec<&String> = variants.iter().collect();
        all.push(&base);
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n, "two parameter sets share a key");
        // A field's value cannot spill into the next one.
        let a = set(|c| c.username = Some("alice\nuser_id=x".into()));
        let b = set(|c| c.user_id = Some("x".into()));
        assert_ne!(a, b);
        // The password is not part of the key (the key names who, not how).
        let mut other_pw = cloud();
        other_pw.password = Some(crate::Secret::new("another"));
        assert_eq!(key(&other_pw), base);
        assert_eq!(base.len(), 64);
        assert!(!base.contains("pw-secret"));
    }

    #[test]
    fn a_cached_token_never_shows_in_debug_output() {
        let read: CachedToken =
            serde_json::from_str(r#"{"version": 1, "token": "gAAAA-cached-SECRET", "body": {}}"#)
                .unwrap();
        let shown = format!("{read:?}");
        assert!(!shown.contains("cached-SECRET"), "{shown}");
        // The file still holds it, for the next process to send.
        let written = serde_json::to_string(&read).unwrap();
        assert!(
            written.contains(r#""token":"gAAAA-cached-SECRET""#),
            "{written}"
        );
    }

    #[test]
    fn token_and_none_auth_are_not_cached() {
        assert!(cache_key(&CloudConfig::token("http://k", "tok"), AUTH).is_none());
        let mut none = cloud();
        none.auth_type = AuthType::None;
        assert!(cache_key(&none, AUTH).is_none());
    }

    fn entry(token: &str) -> CachedToken {
        CachedToken {
            version: FORMAT_VERSION,
            token: Secret::new(token),
            body: json!({"token": {"expires_at": "2999-01-01T00:00:00Z"}}),
            image_endpoint: None,
        }
    }

    #[test]
    fn files_are_private_and_written_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = TokenCache::new(tmp.path().join("a/tokens"));
        let file = CacheFile::for_cloud(&cache, &cloud(), AUTH).unwrap();
        file.store(&entry("t1"));
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&file.path), 0o600);
        assert_eq!(mode(cache.dir()), 0o700);
        assert_eq!(file.load().unwrap().token.expose(), "t1");
        file.store(&entry("t2"));
        assert_eq!(file.load().unwrap().token.expose(), "t2");
        // No temp file is left behind, and the password is nowhere in the file.
        let names: Vec<_> = std::fs::read_dir(cache.dir()).unwrap().collect();
        assert_eq!(names.len(), 1);
        assert!(
            !std::fs::read_to_string(&file.path)
                .unwrap()
                .contains("pw-secret")
        );
        // A file others may read is not trusted.
        std::fs::set_permissions(&file.path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(file.load().is_none());
        file.remove();
        assert!(file.load().is_none());
    }

    /// With `sudo -E`, root's cache directory is the user's: a file the user planted there
    /// (theirs, in their own directory) is not root's, whatever its mode.
    #[test]
    fn files_of_another_user_are_not_trusted_even_in_their_own_directory() {
        use std::os::unix::fs::{MetadataExt, chown};
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("tokens");
        let cache = TokenCache::new(&dir);
        let file = CacheFile::for_cloud(&cache, &cloud(), AUTH).unwrap();
        file.store(&entry("planted"));
        assert!(file.load().is_some());
        let me = std::fs::metadata(&file.path).unwrap().uid();
        if me != 0 {
            eprintln!("skipped: giving files to another user needs root");
            return;
        }
        let other = 4242;
        chown(&file.path, Some(other), None).unwrap();
        assert!(
            file.load().is_none(),
            "another user's file in our directory"
        );
        chown(&dir, Some(other), None).unwrap();
        assert!(
            file.load().is_none(),
            "another user's file in their directory"
        );
        // Ours in their directory: they may swap it at any time.
        chown(&file.path, Some(me), None).unwrap();
        assert!(
            file.load().is_none(),
            "our file in another user's directory"
        );
        // And nothing is written there.
        file.store(&entry("written"));
        let text = std::fs::read_to_string(&file.path).unwrap();
        assert!(
            text.contains("planted") && !text.contains("written"),
            "{text}"
        );
    }

    #[test]
    fn corrupt_or_foreign_files_are_ignored_and_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = TokenCache::new(tmp.path());
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let file = CacheFile::for_cloud(&cache, &cloud(), AUTH).unwrap();
        for junk in [
            &b"{not json"[..],
            b"",
            b"\xff\xfe",
            br#"{"version": 99, "token": "t", "body": {}}"#,
            br#"{"version": 1, "token": 5}"#,
            br#"[1, 2, 3]"#,
        ] {
            std::fs::write(&file.path, junk).unwrap();
            std::fs::set_permissions(&file.path, std::fs::Permissions::from_mode(0o600)).unwrap();
            assert!(file.load().is_none(), "{junk:?}");
        }
        file.store(&entry("fresh"));
        assert_eq!(file.load().unwrap().token.expose(), "fresh");
    }

    /// `secs` after the epoch as Keystone writes times (civil-from-days, H. Hinnant).
    fn rfc3339(secs: u64) -> String {
        let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.000000Z",
            rem / 3600,
            rem / 60 % 60,
            rem % 60
        )
    }

    #[test]
    fn the_test_clock_writes_what_the_parser_reads() {
        for secs in [0, 951_782_400, 1_795_438_661, 4_102_444_800] {
            let t = crate::timestamp::parse_rfc3339(&rfc3339(secs)).unwrap();
            assert_eq!(
                t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(),
                secs
            );
        }
    }

    /// A session of `cloud()` over a cache holding a token with this body.
    fn session_with(dir: &Path, body: serde_json::Value) -> Client {
        let cache = TokenCache::new(dir);
        let file = CacheFile::for_cloud(&cache, &cloud(), AUTH).unwrap();
        file.store(&CachedToken {
            body,
            image_endpoint: Some("http://g:9292/v2/".into()),
            ..entry("cached-token")
        });
        Client::builder()
            .cloud(cloud())
            .token_cache(cache)
            .build()
            .unwrap()
    }

    #[test]
    fn a_cached_token_is_used_only_until_shortly_before_it_expires() {
        let now = std::time::SystemTime::now();
        let stamp = |t: std::time::SystemTime| {
            rfc3339(t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs())
        };
        let hour = std::time::Duration::from_secs(3600);
        let cases = [
            (
                json!({"token": {"issued_at": stamp(now - hour), "expires_at": stamp(now + hour)}}),
                true,
            ),
            // Within the refresh margin (60 s of a 2 h token): replaced, not used.
            (
                json!({"token": {"issued_at": stamp(now - hour), "expires_at": stamp(now + std::time::Duration::from_secs(30))}}),
                false,
            ),
            (json!({"token": {"expires_at": stamp(now - hour)}}), false),
            // No expiry: nothing says when to drop it.
            (json!({"token": {}}), false),
            (json!({"not a token": 1}), false),
        ];
        for (body, usable) in cases {
            let tmp = tempfile::tempdir().unwrap();
            let client = session_with(tmp.path(), body.clone());
            let session = &client.inner.session;
            let token = session.cached_token();
            assert_eq!(token.is_some(), usable, "{body}");
            if usable {
                assert_eq!(token.unwrap().value.expose(), "cached-token");
                assert_eq!(
                    session.image.get().map(url::Url::as_str),
                    Some("http://g:9292/v2/")
                );
            }
        }
    }
}
