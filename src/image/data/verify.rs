//! What a download is checked against: the image's multihash or md5 checksum.

use super::*;
use crate::hash::Hasher;

/// The checksum a download is verified against.
pub(super) struct Expected {
    pub algorithm: String,
    pub hex: String,
}

/// Picks what to verify: the multihash when its algorithm is supported, else the md5
/// `checksum`, else nothing (`None`; the caller decides whether that is acceptable).
pub(super) fn expected_of(image: &Image) -> Option<Expected> {
    if let (Some(algo), Some(value)) = (&image.os_hash_algo, &image.os_hash_value) {
        if Hasher::new(algo).is_some() && !value.is_empty() {
            return Some(Expected {
                algorithm: algo.to_ascii_lowercase(),
                hex: value.to_ascii_lowercase(),
            });
        }
        tracing::debug!(algorithm = %algo, "unsupported os_hash_algo: verifying md5 instead");
    }
    image
        .checksum
        .as_ref()
        .filter(|c| !c.is_empty())
        .map(|c| Expected {
            algorithm: "md5".into(),
            hex: c.to_ascii_lowercase(),
        })
}

/// `Content-MD5` as Glance sends it: the hex digest (RFC 1864's base64 is accepted too).
pub(super) fn content_md5(resp: &reqwest::Response) -> Option<String> {
    let v = resp.headers().get("content-md5")?.to_str().ok()?.trim();
    if v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Some(v.to_ascii_lowercase());
    }
    base64_16(v).map(|b| crate::hash::hex(&b))
}

/// Decodes 16 bytes of standard base64 (the RFC 1864 `Content-MD5` form).
fn base64_16(s: &str) -> Option<Vec<u8>> {
    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.trim_end_matches('=').bytes() {
        let v = ALPHA.iter().position(|&a| a == c)? as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    (out.len() == 16).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_md5_hex_and_base64() {
        assert_eq!(
            base64_16("1B2M2Y8AsgTpgAmY7PhCfg==").unwrap(),
            vec![
                0xd4, 0x1d, 0x8c, 0xd9, 0x8f, 0x00, 0xb2, 0x04, 0xe9, 0x80, 0x09, 0x98, 0xec, 0xf8,
                0x42, 0x7e
            ]
        );
        assert!(base64_16("abc").is_none());
    }
}
