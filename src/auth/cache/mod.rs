//! A token cache on disk, so that repeated short-lived processes (`osimg image show`, a
//! script's loop) reuse a still-valid token and its catalog instead of authenticating each
//! time, as the Rust `osc` CLI does.
//!
//! One file per set of auth parameters, named by an HMAC of all of them, the password and
//! secrets included, under a random per-user key kept beside the files ([`key`]): a wrong
//! password finds no token, and a name tells nothing of the password. A file holds the
//! token, Keystone's token body (expiry, catalog) and the discovered Image endpoint. Files
//! are created with mode 0600 in a 0700 directory, written whole to a temp file and renamed
//! into place; a file that cannot be read or parsed, that is not the effective user's (root
//! under `sudo -E` reads the user's cache directory), that another user could read or write,
//! that sits in a directory not the effective user's, or whose token is about to expire is
//! ignored (and replaced by the next write) ([`private`]). A token a server rejects (401) has
//! its file removed.
//!
//! Every call here reads or writes the disk, syncs included: the session runs them on
//! tokio's blocking threads, never while it holds its token lock.

mod key;
mod private;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clouds::CloudConfig;
use crate::secret::Secret;
use private::{Found, read_private, replace_private};

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

/// The cache file of one set of auth parameters. Its name needs the directory's key, so it
/// is found when the file is read or written.
#[derive(Debug, Clone)]
pub(crate) struct CacheFile {
    dir: PathBuf,
    /// [`key::auth_parameters`]: secrets inside, so a `Secret`.
    parameters: Secret,
}

/// The most a cache file may hold (a catalog of a large cloud is some 100 KiB).
const MAX_FILE: u64 = 16 << 20;

impl CacheFile {
    /// The file for `cloud` in `cache`; `None` for auth types that have nothing to cache
    /// (`none`) or whose credential is already a token (`token`).
    pub(crate) fn for_cloud(
        cache: &TokenCache,
        cloud: &CloudConfig,
        auth_url: &str,
    ) -> Option<Self> {
        Some(CacheFile {
            dir: cache.dir.clone(),
            parameters: key::auth_parameters(cloud, auth_url)?,
        })
    }

    /// Where the entry is, when the directory has a key to trust.
    fn path(&self) -> Option<PathBuf> {
        let key = key::read_key(&self.dir)?;
        Some(self.dir.join(key::file_name(&key, &self.parameters)))
    }

    /// The cached entry, or `None` when there is none or it cannot be trusted.
    pub(crate) fn load(&self) -> Option<CachedToken> {
        #[cfg(test)]
        probe::run(&self.dir);
        let path = self.path()?;
        let bytes = match read_private(&path, MAX_FILE) {
            Found::Bytes(b) => b,
            Found::Missing => return None,
            Found::Untrusted(why) => {
                tracing::debug!(path = %path.display(), reason = %why, "ignoring a token cache file");
                return None;
            }
        };
        match serde_json::from_slice::<CachedToken>(&bytes) {
            Ok(c) if c.version == FORMAT_VERSION => Some(c),
            Ok(_) => None,
            Err(e) => {
                tracing::debug!(path = %path.display(), error = %e, "ignoring an unreadable token cache file");
                None
            }
        }
    }

    /// Writes the entry atomically (temp file, mode 0600 from creation, then rename).
    /// Failures are logged and otherwise ignored: a cache is an optimisation.
    pub(crate) fn store(&self, entry: &CachedToken) {
        if let Err(e) = self.try_store(entry) {
            tracing::debug!(dir = %self.dir.display(), error = %e, "cannot write the token cache");
        }
    }

    fn try_store(&self, entry: &CachedToken) -> std::io::Result<()> {
        #[cfg(test)]
        probe::run(&self.dir);
        private::private_dir(&self.dir)?;
        let key = key::key_for_writing(&self.dir)?;
        let bytes = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
        replace_private(
            &self.dir.join(key::file_name(&key, &self.parameters)),
            &bytes,
        )
    }

    /// Removes the file if it still holds `token` (a server rejected it; a newer token
    /// written meanwhile stays).
    pub(crate) fn remove_if_holding(&self, token: &Secret) {
        #[cfg(test)]
        probe::run(&self.dir);
        if self.load().is_some_and(|e| &e.token == token)
            && let Some(path) = self.path()
        {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// What a test sees of the disk calls on a cache directory: its hook runs at the start of
/// each (on the thread that makes it).
#[cfg(test)]
pub(crate) mod probe {
    use std::path::{Path, PathBuf};
    use std::sync::{Arc, Mutex};

    type Hook = Arc<dyn Fn() + Send + Sync>;

    static HOOKS: Mutex<Vec<(PathBuf, Hook)>> = Mutex::new(Vec::new());

    /// Runs `hook` at each disk call on `dir` from now on.
    pub(crate) fn set(dir: &Path, hook: impl Fn() + Send + Sync + 'static) {
        HOOKS.lock().unwrap().push((dir.to_owned(), Arc::new(hook)));
    }

    /// Forgets the hooks of `dir`.
    pub(crate) fn clear(dir: &Path) {
        HOOKS.lock().unwrap().retain(|(d, _)| d != dir);
    }

    pub(super) fn run(dir: &Path) {
        let hooks: Vec<Hook> = HOOKS
            .lock()
            .unwrap()
            .iter()
            .filter(|(d, _)| d == dir)
            .map(|(_, h)| h.clone())
            .collect();
        for hook in hooks {
            hook();
        }
    }
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
        let path = file.path().unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(cache.dir()), 0o700);
        assert_eq!(file.load().unwrap().token.expose(), "t1");
        file.store(&entry("t2"));
        assert_eq!(file.load().unwrap().token.expose(), "t2");
        // No temp file is left behind (the entry and the key), and the password is nowhere
        // in the file.
        let names: Vec<_> = std::fs::read_dir(cache.dir()).unwrap().collect();
        assert_eq!(names.len(), 2);
        assert!(
            !std::fs::read_to_string(&path)
                .unwrap()
                .contains("pw-secret")
        );
        // A file others may read is not trusted.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(file.load().is_none());
        // A rejected token's file goes, unless a newer token replaced it meanwhile.
        file.store(&entry("t3"));
        file.remove_if_holding(&Secret::new("t2"));
        assert_eq!(file.load().unwrap().token.expose(), "t3");
        file.remove_if_holding(&Secret::new("t3"));
        assert!(!path.exists());
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
        let path = file.path().unwrap();
        let me = std::fs::metadata(&path).unwrap().uid();
        if me != 0 {
            eprintln!("skipped: giving files to another user needs root");
            return;
        }
        let other = 4242;
        chown(&path, Some(other), None).unwrap();
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
        chown(&path, Some(me), None).unwrap();
        assert!(
            file.load().is_none(),
            "our file in another user's directory"
        );
        // And nothing is written there.
        file.store(&entry("written"));
        let text = std::fs::read_to_string(&path).unwrap();
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
        file.store(&entry("first"));
        let path = file.path().unwrap();
        for junk in [
            &b"{not json"[..],
            b"",
            b"\xff\xfe",
            br#"{"version": 99, "token": "t", "body": {}}"#,
            br#"{"version": 1, "token": 5}"#,
            br#"[1, 2, 3]"#,
        ] {
            std::fs::write(&path, junk).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
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
    /// The token a session would take from its cache.
    fn cached(session: &crate::auth::Session) -> Option<crate::auth::token::Token> {
        let entry = session.cache.as_ref()?.load()?;
        session.token_from_cache(entry)
    }

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
            let token = cached(session);
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

    /// As keystoneauth: a wrong password is not answered from the cache (it fails at
    /// Keystone as it would without one), and the right one still finds its token.
    #[test]
    fn a_changed_password_finds_no_cached_token() {
        let tmp = tempfile::tempdir().unwrap();
        let body = json!({"token": {"expires_at": "2999-01-01T00:00:00Z"}});
        let right = session_with(tmp.path(), body);
        assert!(cached(&right.inner.session).is_some());
        let mut wrong = cloud();
        wrong.password = Some(Secret::new("wrong"));
        let client = Client::builder()
            .cloud(wrong)
            .token_cache(TokenCache::new(tmp.path()))
            .build()
            .unwrap();
        assert!(cached(&client.inner.session).is_none());
    }

    /// Answers every connection as Keystone answers a token request (a token valid for an
    /// hour, an empty catalog). A loopback stand-in: no real Keystone shows which thread
    /// wrote the cache.
    async fn keystone() -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let now = std::time::SystemTime::now();
        let secs = |t: std::time::SystemTime| {
            rfc3339(t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs())
        };
        let hour = std::time::Duration::from_secs(3600);
        let body = json!({"token": {"issued_at": secs(now), "expires_at": secs(now + hour),
                                    "catalog": []}})
        .to_string();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                // The whole request: a head, and a body no longer than this.
                let mut buf = vec![0u8; 64 * 1024];
                let mut n = 0;
                while !buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf[n..]).await {
                        Ok(0) | Err(_) => break,
                        Ok(k) => n += k,
                    }
                }
                let head = format!(
                    "HTTP/1.1 201 Created\r\nX-Subject-Token: fresh-token\r\n\
                     Content-Type: application/json\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(format!("{head}{body}").as_bytes()).await;
            }
        });
        url
    }

    /// The disk calls of a session run on blocking threads, never on the runtime's (here the
    /// test's own thread: one-threaded runtime), and never while the token lock is held.
    #[tokio::test]
    async fn disk_calls_leave_the_runtime_and_the_token_lock_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let cloud = CloudConfig::password(keystone().await, "alice", "pw-secret", "demo")
            .user_domain_name("Default")
            .project_domain_name("Default");
        let client = Client::builder()
            .cloud(cloud)
            .token_cache(TokenCache::new(tmp.path()))
            .build()
            .unwrap();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (log, watched) = (seen.clone(), client.clone());
        probe::set(tmp.path(), move || {
            let lock_free = watched.inner.session.state.try_lock().is_ok();
            log.lock()
                .unwrap()
                .push((std::thread::current().id(), lock_free));
        });
        let session = &client.inner.session;
        // Nothing cached: read, authenticate, write.
        let (token, _) = session.current().await.unwrap().unwrap();
        assert_eq!(token.expose(), "fresh-token");
        let url = url::Url::parse("http://g:9292/v2/").unwrap();
        session.cache_image_endpoint(&url).await;
        crate::http::Credentials::rejected(session, &token).await;
        probe::clear(tmp.path());
        let seen = seen.lock().unwrap().clone();
        // load; store; load + store (endpoint); remove_if_holding + its load.
        assert!(seen.len() >= 5, "{seen:?}");
        let here = std::thread::current().id();
        for (thread, lock_free) in seen {
            assert_ne!(thread, here, "a disk call on the runtime thread");
            assert!(lock_free, "a disk call under the token lock");
        }
    }
}
