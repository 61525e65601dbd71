//! The hashes that verify image data (`os_hash_algo`, the md5 `checksum`, upstream checksum
//! files), named by their hashlib names, the spelling Glance stores.
//!
//! Two implementations, chosen at build time:
//! - with the `openssl` feature (the default), OpenSSL's libcrypto (`openssl` crate). On the
//!   bench machine (AMD EPYC, AVX2/BMI2/SHA-NI) it is the only SHA-512 that runs at the rate
//!   `openssl speed -evp sha512` reports: aws-lc-rs, ring and sha2 (with or without its `asm`
//!   feature) stay at ~0.7x of it there (README, "Hashing"). The system library is linked
//!   (`libssl-dev` and `pkg-config` on Debian); the `openssl` crate's `vendored` feature, in
//!   the depending crate's manifest, builds OpenSSL from source instead.
//! - without it, RustCrypto's `sha2` and `md-5`: pure Rust, no C toolchain or library needed.
//!
//! Both give the same digests for the same names ([`Hasher::new`] lists them).

use std::io;

/// The hashlib names [`Hasher::new`] takes, in order of how often Glance uses them.
#[cfg(test)]
pub(crate) const ALGORITHMS: &[&str] = &[
    "sha512",
    "sha256",
    "md5",
    "sha384",
    "sha224",
    "sha512_256",
    "sha512_224",
    "sha1",
];

/// Which library computes the hashes in this build (`openssl` or `rustcrypto`), for reports.
///
/// ```
/// assert!(["openssl", "rustcrypto"].contains(&openstack_images::HASH_BACKEND));
/// ```
#[cfg(feature = "openssl")]
pub const HASH_BACKEND: &str = "openssl";
/// Which library computes the hashes in this build (`openssl` or `rustcrypto`), for reports.
///
/// ```
/// assert!(["openssl", "rustcrypto"].contains(&openstack_images::HASH_BACKEND));
/// ```
#[cfg(not(feature = "openssl"))]
pub const HASH_BACKEND: &str = "rustcrypto";

/// A running hash of image data, named by its hashlib name (`sha512`, `sha256`, `md5`, ...),
/// computed by the fastest implementation this build has (see [`HASH_BACKEND`]): the hash the
/// crate verifies downloads, uploads and copies with, for programs that check data of their
/// own (an upstream checksum file, a local copy) the same way.
///
/// ```
/// use openstack_images::Hasher;
/// let mut hash = Hasher::new("sha256").expect("a supported algorithm");
/// hash.update(b"ab")?;
/// hash.update(b"c")?;
/// assert_eq!(
///     hash.hex()?,
///     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/// );
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Hasher {
    state: State,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = match &self.state {
            #[cfg(feature = "openssl")]
            State::Openssl(_) => "openssl",
            State::Rust(_) => "rustcrypto",
        };
        f.debug_struct("Hasher").field("backend", &backend).finish()
    }
}

enum State {
    #[cfg(feature = "openssl")]
    Openssl(openssl::hash::Hasher),
    Rust(Box<dyn sha2::digest::DynDigest + Send + Sync>),
}

impl Hasher {
    /// A hash by its hashlib name, case-insensitive: `sha512`, `sha384`, `sha256`, `sha224`,
    /// `sha512_256`, `sha512_224`, `sha1` (upstream checksums, `sha1:` in catalogs) or `md5`;
    /// `None` for any other name.
    ///
    /// ```
    /// assert!(openstack_images::Hasher::new("SHA512").is_some());
    /// assert!(openstack_images::Hasher::new("whirlpool").is_none());
    /// ```
    pub fn new(algorithm: &str) -> Option<Hasher> {
        let name = algorithm.to_ascii_lowercase();
        #[cfg(feature = "openssl")]
        if let Some(state) = openssl_state(&name) {
            return Some(Hasher { state });
        }
        rust_state(&name).map(|state| Hasher { state })
    }

    /// Adds `data`. Fails only when the library refuses the work (libcrypto reporting an
    /// internal error), never for the data itself.
    ///
    /// ```
    /// let mut hash = openstack_images::Hasher::new("md5").unwrap();
    /// hash.update(b"")?;
    /// assert_eq!(hash.hex()?, "d41d8cd98f00b204e9800998ecf8427e");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn update(&mut self, data: &[u8]) -> io::Result<()> {
        match &mut self.state {
            #[cfg(feature = "openssl")]
            State::Openssl(h) => h.update(data).map_err(io::Error::other),
            State::Rust(h) => {
                h.update(data);
                Ok(())
            }
        }
    }

    /// The lowercase hex digest of everything added; the hash starts again from nothing.
    ///
    /// ```
    /// let mut hash = openstack_images::Hasher::new("sha512").unwrap();
    /// hash.update(b"abc")?;
    /// assert!(hash.hex()?.starts_with("ddaf35a193617aba"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn hex(&mut self) -> io::Result<String> {
        let digest: Vec<u8> = match &mut self.state {
            #[cfg(feature = "openssl")]
            State::Openssl(h) => h.finish().map_err(io::Error::other)?.to_vec(),
            State::Rust(h) => h.finalize_reset().to_vec(),
        };
        Ok(hex(&digest))
    }

    /// Forgets everything added so far.
    ///
    /// ```
    /// let mut hash = openstack_images::Hasher::new("sha256").unwrap();
    /// hash.update(b"junk")?;
    /// hash.reset()?;
    /// assert!(hash.hex()?.starts_with("e3b0c442"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn reset(&mut self) -> io::Result<()> {
        self.hex().map(drop)
    }
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

#[cfg(feature = "openssl")]
fn openssl_state(name: &str) -> Option<State> {
    use openssl::hash::MessageDigest;
    let md = match name {
        "sha512" => MessageDigest::sha512(),
        "sha384" => MessageDigest::sha384(),
        "sha256" => MessageDigest::sha256(),
        "sha224" => MessageDigest::sha224(),
        "md5" => MessageDigest::md5(),
        "sha1" => MessageDigest::sha1(),
        // SHA-512/256 and /224 are rare: RustCrypto's serve them in both builds.
        _ => return None,
    };
    // A libcrypto that refuses a digest (a FIPS provider refuses md5) leaves it to RustCrypto.
    match openssl::hash::Hasher::new(md) {
        Ok(h) => Some(State::Openssl(h)),
        Err(e) => {
            tracing::debug!(algorithm = name, error = %e, "libcrypto refused the digest: using RustCrypto's");
            None
        }
    }
}

fn rust_state(name: &str) -> Option<State> {
    let state: Box<dyn sha2::digest::DynDigest + Send + Sync> = match name {
        "sha512" => Box::new(sha2::Sha512::default()),
        "sha384" => Box::new(sha2::Sha384::default()),
        "sha256" => Box::new(sha2::Sha256::default()),
        "sha224" => Box::new(sha2::Sha224::default()),
        "sha512_256" => Box::new(sha2::Sha512_256::default()),
        "sha512_224" => Box::new(sha2::Sha512_224::default()),
        "md5" => Box::new(md5::Md5::default()),
        "sha1" => Box::new(sha1::Sha1::default()),
        _ => return None,
    };
    Some(State::Rust(state))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex_of(algo: &str, data: &[u8]) -> String {
        let mut h = Hasher::new(algo).unwrap();
        h.update(data).unwrap();
        h.hex().unwrap()
    }

    /// Every name gives the same digest from this build's hash as from RustCrypto's, over
    /// sizes around the block boundaries and in uneven pieces.
    #[test]
    fn every_algorithm_matches_the_pure_rust_digest() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        for algo in ALGORITHMS {
            for len in [0, 1, 55, 56, 63, 64, 111, 112, 127, 128, 129, 4096, 300_000] {
                let mut ours = Hasher::new(algo).unwrap();
                for piece in data[..len].chunks(777) {
                    ours.update(piece).unwrap();
                }
                let Some(State::Rust(mut reference)) = rust_state(algo) else {
                    panic!("{algo}: no RustCrypto state");
                };
                reference.update(&data[..len]);
                assert_eq!(
                    ours.hex().unwrap(),
                    hex(&reference.finalize_reset()),
                    "{algo}, {len} bytes"
                );
            }
        }
    }

    #[test]
    fn known_digests_and_restart() {
        assert_eq!(hex_of("md5", b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(
            hex_of("SHA256", b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(hex_of("sha512", b"").starts_with("cf83e1357eefb8bd"));
        assert_eq!(
            hex_of("SHA1", b"abc"),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert!(Hasher::new("whirlpool").is_none());
        let mut h = Hasher::new("sha256").unwrap();
        h.update(b"junk").unwrap();
        h.reset().unwrap();
        h.update(b"abc").unwrap();
        assert_eq!(h.hex().unwrap(), hex_of("sha256", b"abc"));
    }

    #[cfg(feature = "openssl")]
    #[test]
    fn the_common_algorithms_use_libcrypto() {
        for algo in ["sha512", "sha256", "sha384", "sha224", "sha1"] {
            assert!(
                matches!(Hasher::new(algo).unwrap().state, State::Openssl(_)),
                "{algo}"
            );
        }
    }
}
