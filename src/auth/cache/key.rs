//! The name of a cache file: an HMAC-SHA256, under a random per-user key, of every parameter
//! that selects a token and its catalog, the password and secrets included.
//!
//! Like keystoneauth's `get_cache_id`, the name changes with the credential, so a wrong
//! password (or a changed application credential secret) finds no token and fails as it
//! would without a cache. Unlike a plain hash, the name tells nothing of the password to
//! someone without the key: the key is 32 random bytes in the cache directory, in a file only
//! its owner may read, made whole or not at all; a key file that cannot be trusted is
//! replaced (and with it every entry named under it).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::private::{Found, read_private, write_temp};
use crate::clouds::{AuthType, CloudConfig};
use crate::secret::Secret;

/// The key file in the cache directory.
pub(super) const KEY_FILE: &str = "cache-name.key";

const KEY_LEN: usize = 32;

/// Every parameter that selects a token and its catalog, the secrets included, as
/// `name=value` lines (escaped, so no value can impersonate another line); `None` for auth
/// types that have nothing to cache (`none`) or whose credential is already a token.
pub(super) fn auth_parameters(c: &CloudConfig, auth_url: &str) -> Option<Secret> {
    if matches!(c.auth_type, AuthType::None | AuthType::Token) {
        return None;
    }
    fn path(p: &Option<PathBuf>) -> Option<std::borrow::Cow<'_, str>> {
        p.as_ref().map(|p| p.to_string_lossy())
    }
    // TLS settings decide which servers were believed: a catalog cached by a `verify: false`
    // run is not for a verifying one.
    let (cacert, cert, key) = (path(&c.cacert), path(&c.cert), path(&c.key));
    fn secret(s: &Option<Secret>) -> Option<&str> {
        s.as_ref().map(Secret::expose)
    }
    let fields: [(&str, Option<&str>); 24] = [
        ("auth_url", Some(auth_url)),
        ("auth_type", Some(c.auth_type.as_str())),
        ("username", c.username.as_deref()),
        ("user_id", c.user_id.as_deref()),
        ("password", secret(&c.password)),
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
        (
            "application_credential_secret",
            secret(&c.application_credential_secret),
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
    let mut text = String::new();
    for (name, value) in fields {
        let value = value.map(|v| v.escape_default().to_string());
        text.push_str(&format!("{name}={}\n", value.as_deref().unwrap_or("\u{0}")));
    }
    Some(Secret::new(text))
}

/// The cache file name of `parameters` under `key`: 64 hex digits and `.json`.
pub(super) fn file_name(key: &[u8; KEY_LEN], parameters: &Secret) -> String {
    let mac = hmac_sha256(key, parameters.expose().as_bytes());
    let hex = crate::hash::hex(&mac);
    format!("{hex}.json")
}

/// HMAC-SHA256 (RFC 2104) over the `sha2` the crate already has.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// The key of `dir`, when there is one to trust (nothing was cached without one).
pub(super) fn read_key(dir: &Path) -> Option<[u8; KEY_LEN]> {
    match read_key_file(dir) {
        Ok(key) => key,
        Err(why) => {
            tracing::debug!(dir = %dir.display(), reason = %why, "ignoring the token cache key");
            None
        }
    }
}

/// `Ok(None)` when there is no key file, `Err(why)` when there is one not to trust.
fn read_key_file(dir: &Path) -> Result<Option<[u8; KEY_LEN]>, String> {
    match read_private(&dir.join(KEY_FILE), KEY_LEN as u64 + 1) {
        Found::Missing => Ok(None),
        Found::Untrusted(why) => Err(why),
        Found::Bytes(bytes) => <[u8; KEY_LEN]>::try_from(bytes.as_slice())
            .map(Some)
            .map_err(|_| format!("it holds {} bytes, not {KEY_LEN}", bytes.len())),
    }
}

/// The key of `dir` (a private directory), made when there is none and replaced when the
/// one there cannot be trusted (then the entries named under it are removed: nobody can
/// find them any more).
pub(super) fn key_for_writing(dir: &Path) -> std::io::Result<[u8; KEY_LEN]> {
    match read_key_file(dir) {
        Ok(Some(key)) => return Ok(key),
        Ok(None) => {}
        Err(why) => {
            tracing::debug!(dir = %dir.display(), reason = %why, "replacing the token cache key and its entries");
            std::fs::remove_file(dir.join(KEY_FILE))?;
            remove_entries(dir);
        }
    }
    let mut key = [0u8; KEY_LEN];
    rustls::crypto::ring::default_provider()
        .secure_random
        .fill(&mut key)
        .map_err(|_| std::io::Error::other("no secure random source"))?;
    let tmp = write_temp(dir, &key)?;
    // A link does not replace: of two processes making a key at once, one wins, and the
    // other reads the winner's.
    let linked = std::fs::hard_link(&tmp, dir.join(KEY_FILE));
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(key),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            read_key_file(dir).ok().flatten().ok_or_else(|| {
                std::io::Error::other("the token cache key another process made cannot be read")
            })
        }
        Err(e) => Err(e),
    }
}

/// Removes the entries of `dir` (`*.json`).
fn remove_entries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.path().extension().is_some_and(|e| e == "json") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const AUTH: &str = "http://k:5000/v3/";

    use crate::hash::hex;

    #[test]
    fn hmac_matches_rfc_4231() {
        let cases: [(&[u8], &[u8], &str); 3] = [
            (
                &[0x0b; 20],
                b"Hi There",
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                b"Jefe",
                b"what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            // A key longer than a block is hashed first.
            (
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
        ];
        for (key, message, want) in cases {
            assert_eq!(hex(&hmac_sha256(key, message)), want);
        }
    }

    fn cloud() -> CloudConfig {
        CloudConfig::password("http://k:5000", "alice", "pw-secret", "demo")
            .user_domain_name("Default")
            .project_domain_name("Default")
    }

    fn name(c: &CloudConfig) -> String {
        file_name(&[7; KEY_LEN], &auth_parameters(c, AUTH).unwrap())
    }

    #[test]
    fn every_parameter_and_every_secret_changes_the_name() {
        let base = name(&cloud());
        let set = |f: fn(&mut CloudConfig)| {
            let mut c = cloud();
            f(&mut c);
            name(&c)
        };
        let appcred = |f: fn(&mut CloudConfig)| {
            let mut c = CloudConfig::application_credential("http://k:5000", "ac1", "ac-secret");
            f(&mut c);
            name(&c)
        };
        let variants = [
            set(|c| c.username = Some("bob".into())),
            set(|c| c.user_id = Some("u1".into())),
            set(|c| c.password = Some(Secret::new("wrong"))),
            set(|c| c.password = None),
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
            appcred(|_| {}),
            appcred(|c| c.application_credential_secret = Some(Secret::new("rotated"))),
            file_name(
                &[7; KEY_LEN],
                &auth_parameters(&cloud(), "http://other:5000/v3/").unwrap(),
            ),
            // Another user's key names the same parameters differently.
            file_name(&[8; KEY_LEN], &auth_parameters(&cloud(), AUTH).unwrap()),
        ];
        let mut all: Vec<&String> = variants.iter().collect();
        all.push(&base);
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n, "two parameter sets share a name");
        assert_eq!(name(&cloud()), base, "the name is stable");
        // A field's value cannot spill into the next one.
        let a = set(|c| c.username = Some("alice\nuser_id=x".into()));
        let b = set(|c| c.user_id = Some("x".into()));
        assert_ne!(a, b);
        assert_eq!(base.len(), 64 + ".json".len());
        // The parameters, secrets included, never show in Debug.
        let shown = format!("{:?}", auth_parameters(&cloud(), AUTH).unwrap());
        assert!(!shown.contains("pw-secret"), "{shown}");
    }

    #[test]
    fn token_and_none_auth_are_not_cached() {
        assert!(auth_parameters(&CloudConfig::token("http://k", "tok"), AUTH).is_none());
        let mut none = cloud();
        none.auth_type = AuthType::None;
        assert!(auth_parameters(&none, AUTH).is_none());
    }

    fn private_tmp() -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        tmp
    }

    #[test]
    fn the_key_is_made_once_private_and_kept() {
        let tmp = private_tmp();
        assert_eq!(read_key(tmp.path()), None);
        let key = key_for_writing(tmp.path()).unwrap();
        let path = tmp.path().join(KEY_FILE);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(read_key(tmp.path()), Some(key));
        assert_eq!(key_for_writing(tmp.path()).unwrap(), key, "kept");
        // No temp file is left behind.
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
        assert_ne!(key, [0; KEY_LEN]);
        let other = private_tmp();
        assert_ne!(
            key_for_writing(other.path()).unwrap(),
            key,
            "random per directory"
        );
    }

    #[test]
    fn a_key_others_could_read_or_of_the_wrong_size_is_replaced_with_its_entries() {
        let tmp = private_tmp();
        let key = key_for_writing(tmp.path()).unwrap();
        let path = tmp.path().join(KEY_FILE);
        let entry = tmp.path().join(file_name(&key, &Secret::new("x")));
        std::fs::write(&entry, "{}").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(read_key(tmp.path()), None, "a readable key is not used");
        let new = key_for_writing(tmp.path()).unwrap();
        assert_ne!(new, key);
        assert!(
            !entry.exists(),
            "entries named under the old key are removed"
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, b"short").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_key(tmp.path()), None);
        assert_eq!(std::fs::read(&path).unwrap().len(), 5);
        let newer = key_for_writing(tmp.path()).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), newer);
    }

    #[test]
    fn a_symlinked_key_is_not_followed() {
        let tmp = private_tmp();
        let elsewhere = private_tmp();
        let key = key_for_writing(elsewhere.path()).unwrap();
        std::os::unix::fs::symlink(elsewhere.path().join(KEY_FILE), tmp.path().join(KEY_FILE))
            .unwrap();
        assert_eq!(read_key(tmp.path()), None);
        assert_ne!(key_for_writing(tmp.path()).unwrap(), key);
    }
}
