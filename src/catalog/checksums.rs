//! Checksum lists as distributions publish them (`checksums_url`): GNU coreutils' output
//! (`HEX  NAME`, `HEX *NAME`), BSD's tagged lines (`SHA256 (NAME) = HEX`), and Fedora's and
//! CentOS's `CHECKSUM` files (BSD lines among `#` comments, inside a PGP clear-signed
//! message). The signature is not checked: openstack-image-manager does not check it either.

use super::model::{Checksum, ChecksumAlgorithm};

/// Reads a checksum list into `(file name, checksum)` pairs, in file order. Lines that are
/// none of the formats (comments, PGP armor and signatures, blank lines, digests of unknown
/// length) are skipped, so any text is accepted: a list that lacks the image is found out by
/// [`find_checksum`].
///
/// ```
/// use openstack_images::{ChecksumAlgorithm, parse_checksums};
/// let hex = "ab".repeat(32);
/// let text = format!("{hex} *noble-server-cloudimg-amd64.img\n# comment\nSHA512 (x.qcow2) = {}\n", "cd".repeat(64));
/// let sums = parse_checksums(&text);
/// assert_eq!(sums.len(), 2);
/// assert_eq!(sums[0].0, "noble-server-cloudimg-amd64.img");
/// assert_eq!((sums[0].1.algorithm, sums[0].1.hex.as_str()), (ChecksumAlgorithm::Sha256, hex.as_str()));
/// assert_eq!(sums[1].1.algorithm, ChecksumAlgorithm::Sha512);
/// ```
pub fn parse_checksums(text: &str) -> Vec<(String, Checksum)> {
    let mut out = Vec::new();
    let mut in_signature = false;
    let mut in_armor_header = false;
    for raw in text.lines() {
        let line = raw.trim_end_matches('\r');
        if in_signature {
            in_signature = !line.starts_with("-----END PGP SIGNATURE-----");
            continue;
        }
        if in_armor_header {
            // `Hash: SHA256` and the like, up to the blank line that ends the armor header.
            in_armor_header = !line.trim().is_empty();
            continue;
        }
        if line.starts_with("-----BEGIN PGP SIGNED MESSAGE-----") {
            in_armor_header = true;
            continue;
        }
        if line.starts_with("-----BEGIN PGP SIGNATURE-----") {
            in_signature = true;
            continue;
        }
        // Clear-signed text escapes lines that start with a dash as `- -...`.
        let line = line.strip_prefix("- ").unwrap_or(line);
        if let Some(entry) = bsd_line(line).or_else(|| gnu_line(line)) {
            out.push(entry);
        }
    }
    out
}

/// `ALGO (NAME) = HEX`; ALGO one of [`ChecksumAlgorithm`]'s names (any case, `SHA-256` too)
/// and the hex its length.
fn bsd_line(line: &str) -> Option<(String, Checksum)> {
    let (algo, rest) = line.trim_start().split_once(" (")?;
    let (name, hex) = rest.rsplit_once(") = ")?;
    let algorithm = ChecksumAlgorithm::from_name(&algo.replace('-', ""))?;
    let checksum = Checksum::from_bare_hex(hex.trim())?;
    (checksum.algorithm == algorithm && !name.is_empty()).then(|| (name.to_owned(), checksum))
}

/// `HEX  NAME` (text mode), `HEX *NAME` (binary mode) or `HEX NAME`; a line starting with a
/// backslash has an escaped name (`\\`, `\n`), as GNU writes names with those characters.
fn gnu_line(line: &str) -> Option<(String, Checksum)> {
    let (escaped, line) = match line.strip_prefix('\\') {
        Some(rest) => (true, rest),
        None => (false, line),
    };
    let (hex, rest) = line.split_once([' ', '\t'])?;
    let checksum = Checksum::from_bare_hex(hex)?;
    let name = rest
        .strip_prefix(['*', ' '])
        .unwrap_or(rest)
        .trim_end_matches([' ', '\t']);
    if name.is_empty() {
        return None;
    }
    let name = if escaped {
        unescape(name)?
    } else {
        name.to_owned()
    };
    Some((name, checksum))
}

fn unescape(name: &str) -> Option<String> {
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '\\' => out.push('\\'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            _ => return None,
        }
    }
    Some(out)
}

/// The checksum a list gives for `file_name` (usually the last segment of the image's URL,
/// which is how openstack-image-manager matches it). A listed name matches if it is
/// `file_name` itself or ends in `/file_name` (`./x.img`, `images/x.img`); the first match
/// wins.
///
/// ```
/// use openstack_images::{find_checksum, parse_checksums};
/// let text = format!("{}  ./debian-12-genericcloud-amd64.qcow2\n", "ef".repeat(64));
/// let sums = parse_checksums(&text);
/// assert!(find_checksum(&sums, "debian-12-genericcloud-amd64.qcow2").is_some());
/// assert!(find_checksum(&sums, "debian-12-genericcloud-arm64.qcow2").is_none());
/// ```
pub fn find_checksum<'a>(
    entries: &'a [(String, Checksum)],
    file_name: &str,
) -> Option<&'a Checksum> {
    if file_name.is_empty() {
        return None;
    }
    entries
        .iter()
        .find(|(name, _)| {
            name == file_name
                || name
                    .strip_suffix(file_name)
                    .is_some_and(|dir| dir.ends_with('/'))
        })
        .map(|(_, checksum)| checksum)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The layouts are the publishers' (checked against their files); the digests are made up.
    const UBUNTU_SHA256SUMS: &str = "\
0c8a6ba4b7d0f0d5bf5bb8d1a4b1a1bfb0a7c0a9b3a0c1ea1c7a0cd7b0a6f4d2 *noble-server-cloudimg-amd64-root.tar.xz
3a8c1b2f8e0f6c1c1b2b6c0d6e9c8a5a1d1e3f7b9a2c4d6e8f0a1b3c5d7e9f1a *noble-server-cloudimg-amd64.img
5b7d9f1a3c5e7a9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7a *noble-server-cloudimg-arm64.img
";

    const DEBIAN_SHA512SUMS: &str = "\
1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a7988  debian-12-genericcloud-amd64-20241004-1890.qcow2
aa2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a79bb  debian-12-genericcloud-amd64-20241004-1890.raw
";

    const FEDORA_CHECKSUM: &str = "\
-----BEGIN PGP SIGNED MESSAGE-----
Hash: SHA256

# Fedora-Cloud-Base-Generic-41-1.4.x86_64.qcow2: 491716608 bytes
SHA256 (Fedora-Cloud-Base-Generic-41-1.4.x86_64.qcow2) = 6205ae0c524b4d1816dbd3573ce29b5c44ed26c9fbc874fbe48c41c89dd0bac2
# Fedora-Cloud-Base-Generic-41-1.4.x86_64.raw.xz: 438925516 bytes
SHA256 (Fedora-Cloud-Base-Generic-41-1.4.x86_64.raw.xz) = 7b1a7e3b9c1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e
-----BEGIN PGP SIGNATURE-----

iQIzBAEBCAAdFiEEldZbuD8+N1q6SH6nW7/p7bEzKTsFAmcdj0UACgkQW7/p7bEz
KTuvqQ/+Lxk0qTyNkXmK1c0a8fP0pDo9iFcmbe6+YGkdKFHaYk3fbLDjLw==
=Qp8s
-----END PGP SIGNATURE-----
";

    #[test]
    fn ubuntu_sha256sums_binary_mode() {
        let sums = parse_checksums(UBUNTU_SHA256SUMS);
        assert_eq!(sums.len(), 3);
        let c = find_checksum(&sums, "noble-server-cloudimg-amd64.img").unwrap();
        assert_eq!(c.algorithm, ChecksumAlgorithm::Sha256);
        assert!(c.hex.starts_with("3a8c1b2f"));
        assert!(find_checksum(&sums, "noble-server-cloudimg-amd64").is_none());
    }

    #[test]
    fn debian_sha512sums_text_mode() {
        let sums = parse_checksums(DEBIAN_SHA512SUMS);
        assert_eq!(sums.len(), 2);
        let c = find_checksum(&sums, "debian-12-genericcloud-amd64-20241004-1890.raw").unwrap();
        assert_eq!(c.algorithm, ChecksumAlgorithm::Sha512);
        assert!(c.hex.starts_with("aa2e"));
    }

    #[test]
    fn fedora_checksum_with_pgp_signature() {
        let sums = parse_checksums(FEDORA_CHECKSUM);
        let names: Vec<&str> = sums.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "Fedora-Cloud-Base-Generic-41-1.4.x86_64.qcow2",
                "Fedora-Cloud-Base-Generic-41-1.4.x86_64.raw.xz"
            ]
        );
        let c = find_checksum(&sums, "Fedora-Cloud-Base-Generic-41-1.4.x86_64.qcow2").unwrap();
        assert_eq!(
            c.to_string(),
            "sha256:6205ae0c524b4d1816dbd3573ce29b5c44ed26c9fbc874fbe48c41c89dd0bac2"
        );
    }

    #[test]
    fn crlf_names_with_parentheses_and_escapes() {
        let hex = "0123456789abcdef".repeat(4);
        let text = format!(
            "SHA256 (image (1).qcow2) = {hex}\r\n\\{hex}  dir\\\\a\\nb.img\r\n{hex} plain.img\r\n"
        );
        let sums = parse_checksums(&text);
        let names: Vec<&str> = sums.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["image (1).qcow2", "dir\\a\nb.img", "plain.img"]);
    }

    #[test]
    fn mismatched_or_unknown_digests_are_skipped() {
        let text = format!(
            "SHA512 (a.img) = {}\nMD5 (b.img) = {}\n{} c.img\nSHA384 (d.img) = {}\n{}\n",
            "ab".repeat(32), // a sha256 digest under a SHA512 tag
            "ab".repeat(16),
            "zz".repeat(32),
            "ab".repeat(48),
            "ab".repeat(32), // no name
        );
        let sums = parse_checksums(&text);
        let names: Vec<&str> = sums.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["b.img"]);
    }

    #[test]
    fn any_text_is_accepted() {
        for text in [
            "",
            "\n\n",
            "-----BEGIN PGP SIGNATURE-----",
            "SHA256 () = ",
            "\\",
            "ab \\",
            "(\u{0}) = x",
        ] {
            let _ = parse_checksums(text);
        }
        assert!(find_checksum(&parse_checksums(&format!("{}  x\n", "a".repeat(32))), "").is_none());
    }
}
