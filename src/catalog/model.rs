//! The typed image catalog: what openstack-image-manager's YAML files say, checked.

use std::fmt;
use std::path::PathBuf;

use serde_json::{Map, Value};
use url::Url;

use crate::secret::Secret;

/// Image definitions read from openstack-image-manager's YAML files, in file order (files
/// sorted by name within a folder). Built by [`Catalog::load`](crate::Catalog::load) or
/// [`Catalog::from_yaml_str`](crate::Catalog::from_yaml_str), which refuse any file that
/// its `etc/schema.yaml` refuses.
///
/// ```
/// let yaml = include_str!("../../tests/fixtures/catalog/oim/cirros.yml");
/// let catalog = openstack_images::Catalog::from_yaml_str("cirros.yml", yaml).unwrap();
/// assert_eq!(catalog.images[0].name, "Cirros");
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Catalog {
    /// Every image of every file, disabled ones included (`enable: false`).
    pub images: Vec<CatalogImage>,
}

/// One entry of a file's `images:` list.
///
/// ```
/// let yaml = include_str!("../../tests/fixtures/catalog/oim/cirros.yml");
/// let catalog = openstack_images::Catalog::from_yaml_str("cirros.yml", yaml).unwrap();
/// let cirros = &catalog.images[0];
/// assert_eq!((cirros.format.as_str(), cirros.multi, cirros.separator.as_str()), ("qcow2", false, " "));
/// assert_eq!(cirros.meta["os_distro"], "cirros");
/// assert_eq!(cirros.versions.len(), 2);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CatalogImage {
    /// The file the image is defined in.
    pub file: PathBuf,
    /// The line of the image's entry in that file (1-based).
    pub line: usize,
    /// The image's name in the cloud (`multi`: the newest version's name).
    pub name: String,
    /// Whether openstack-image-manager manages the image (`false`: only with `--force`).
    pub enable: bool,
    /// A short name (used by OSISM's mirror scripts).
    pub shortname: Option<String>,
    /// Glance's `disk_format`: one of `aki`, `ari`, `ami`, `raw`, `iso`, `vhd`, `vdi`,
    /// `qcow2`, `vmdk`.
    pub format: String,
    /// The default user (the `image_original_user` property).
    pub login: String,
    /// The default user's password, if the image has one.
    pub password: Option<Secret>,
    /// Minimum disk in GiB (openstack-image-manager raises it to the image's size).
    pub min_disk: Option<u64>,
    /// Minimum RAM in MiB.
    pub min_ram: u64,
    /// `active` or `deactivated`.
    pub status: String,
    /// `public`, `private`, `community` or `shared`.
    pub visibility: String,
    /// `true`: the newest version is `name`, older ones `name (version)`; `false`: every
    /// version is `name version`.
    pub multi: bool,
    /// Keep (hide and deactivate) superseded images instead of deleting them.
    pub keep: bool,
    /// What joins name and version (default a space).
    pub separator: String,
    /// Tags set on the image (besides the manager's own).
    pub tags: Vec<String>,
    /// Properties set on every version (SCS image metadata): `os_distro`, `architecture`,
    /// `hw_disk_bus`... Dates are `YYYY-MM-DD` strings; an empty value is `null`.
    pub meta: Map<String, Value>,
    /// Where the newest build is always found (used by OSISM's mirror scripts).
    pub latest_url: Option<Url>,
    /// The checksum file for `latest_url`.
    pub latest_checksum_url: Option<Url>,
    /// The versions, in file order.
    pub versions: Vec<ImageVersion>,
}

/// One entry of an image's `versions:` list.
///
/// ```
/// use openstack_images::{ChecksumAlgorithm, ImageSource};
/// let yaml = include_str!("../../tests/fixtures/catalog/oim/cirros.yml");
/// let catalog = openstack_images::Catalog::from_yaml_str("cirros.yml", yaml).unwrap();
/// let v = &catalog.images[0].versions[0];
/// assert_eq!(v.version, "0.6.2");
/// assert!(matches!(&v.url, ImageSource::Http(u) if u.host_str() == Some("github.com")));
/// assert_eq!(v.checksum.as_ref().unwrap().algorithm, ChecksumAlgorithm::Sha256);
/// assert_eq!(v.build_date.as_deref(), Some("2023-05-30"));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ImageVersion {
    /// The line of the version's entry (1-based).
    pub line: usize,
    /// The version: any text; `latest` takes its checksum from `checksum_url` or
    /// `checksums_url` and its version from the server's `Last-Modified`.
    pub version: String,
    /// Where the image data is (the `image_source` property).
    pub url: ImageSource,
    /// Where it is downloaded from instead, if set.
    pub mirror_url: Option<ImageSource>,
    /// The data's checksum.
    pub checksum: Option<Checksum>,
    /// A file holding only the checksum (as Alpine publishes).
    pub checksum_url: Option<Url>,
    /// A checksum list naming files (`SHA256SUMS`, `CHECKSUM`): see
    /// [`parse_checksums`](crate::parse_checksums).
    pub checksums_url: Option<Url>,
    /// The build date, `YYYY-MM-DD` (the `image_build_date` property).
    pub build_date: Option<String>,
    /// Whether the image is hidden (`os_hidden`).
    pub hidden: Option<bool>,
    /// Overrides the image's visibility for this version.
    pub visibility: Option<String>,
    /// The `os_version` property for this version.
    pub os_version: Option<String>,
    /// The `image_description` property for this version.
    pub image_description: Option<String>,
    /// Properties for this version, over the image's `meta`.
    pub meta: Map<String, Value>,
    /// Where the image came from: an http(s)/ftp(s) URL or `private`.
    pub source: Option<String>,
    /// The image id to create the version with (a lowercase UUID).
    pub id: Option<String>,
}

/// Where a version's data is.
///
/// ```
/// use openstack_images::ImageSource;
/// let s = ImageSource::parse("file:///srv/images/x.qcow2").unwrap();
/// assert_eq!(s, ImageSource::File("/srv/images/x.qcow2".into()));
/// assert!(matches!(ImageSource::parse("https://example.com/x.img"), Some(ImageSource::Http(_))));
/// assert_eq!(ImageSource::parse("file:/srv/x"), None); // not in openstack-image-manager's schema
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImageSource {
    /// An `http` or `https` URL.
    Http(Url),
    /// An `ftp` or `ftps` URL (openstack-image-manager's schema accepts them).
    Ftp(Url),
    /// A local file: `file:NAME` (relative to the working directory, as
    /// openstack-image-manager reads it) or `file:///PATH`.
    File(PathBuf),
}

impl ImageSource {
    /// Reads a `url`/`mirror_url` value by openstack-image-manager's rule
    /// (`^(http|ftp)s?://\w+.*` or `^(file:|file:///)\w+.*`, `\w` being Python's); the URL
    /// must also parse. `None` for anything else.
    ///
    /// ```
    /// use openstack_images::ImageSource;
    /// assert!(ImageSource::parse("ftp://mirror.example/x.img").is_some());
    /// assert!(ImageSource::parse("s3://bucket/x.img").is_none());
    /// ```
    pub fn parse(text: &str) -> Option<ImageSource> {
        if let Some(rest) = text.strip_prefix("file:///") {
            return word_start(rest).then(|| ImageSource::File(format!("/{rest}").into()));
        }
        if let Some(rest) = text.strip_prefix("file:") {
            return word_start(rest).then(|| ImageSource::File(rest.into()));
        }
        let url = web_url(text, &["http", "https", "ftp", "ftps"])?;
        Some(match url.scheme() {
            "http" | "https" => ImageSource::Http(url),
            _ => ImageSource::Ftp(url),
        })
    }
}

impl fmt::Display for ImageSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageSource::Http(u) | ImageSource::Ftp(u) => u.fmt(f),
            ImageSource::File(p) if p.is_absolute() => write!(f, "file://{}", p.display()),
            ImageSource::File(p) => write!(f, "file:{}", p.display()),
        }
    }
}

/// Python's `\w` at the start of `s` (a Unicode letter, digit or underscore).
pub(crate) fn word_start(s: &str) -> bool {
    s.starts_with(|c: char| c.is_alphanumeric() || c == '_')
}

/// A URL with one of `schemes`, written `scheme://` and a word character (the schema's
/// regex), that also parses as a URL.
pub(crate) fn web_url(text: &str, schemes: &[&str]) -> Option<Url> {
    let (scheme, rest) = text.split_once("://")?;
    if !schemes.contains(&scheme) || !word_start(rest) {
        return None;
    }
    Url::parse(text).ok()
}

/// A digest algorithm openstack-image-manager can check.
///
/// ```
/// use openstack_images::ChecksumAlgorithm;
/// assert_eq!(ChecksumAlgorithm::from_name("SHA256"), Some(ChecksumAlgorithm::Sha256));
/// assert_eq!(ChecksumAlgorithm::Sha512.hex_len(), 128);
/// assert_eq!(ChecksumAlgorithm::Sha1.as_str(), "sha1");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ChecksumAlgorithm {
    /// MD5 (32 hex digits).
    Md5,
    /// SHA-1 (40 hex digits).
    Sha1,
    /// SHA-256 (64 hex digits).
    Sha256,
    /// SHA-512 (128 hex digits).
    Sha512,
}

impl ChecksumAlgorithm {
    /// The four, shortest digest first.
    const ALL: [ChecksumAlgorithm; 4] = [Self::Md5, Self::Sha1, Self::Sha256, Self::Sha512];

    /// By hashlib name, case-insensitive: `md5`, `sha1`, `sha256`, `sha512`.
    ///
    /// ```
    /// assert!(openstack_images::ChecksumAlgorithm::from_name("sha384").is_none());
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        let name = name.to_ascii_lowercase();
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// The algorithm whose digests have `len` hex digits (how a bare digest is read).
    ///
    /// ```
    /// use openstack_images::ChecksumAlgorithm;
    /// assert_eq!(ChecksumAlgorithm::from_hex_len(40), Some(ChecksumAlgorithm::Sha1));
    /// ```
    pub fn from_hex_len(len: usize) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.hex_len() == len)
    }

    /// The hashlib name (also [`Hasher::new`](crate::Hasher::new)'s, for those it has).
    ///
    /// ```
    /// assert_eq!(openstack_images::ChecksumAlgorithm::Md5.as_str(), "md5");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Md5 => "md5",
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
        }
    }

    /// How many hex digits a digest has.
    ///
    /// ```
    /// assert_eq!(openstack_images::ChecksumAlgorithm::Md5.hex_len(), 32);
    /// ```
    pub fn hex_len(self) -> usize {
        match self {
            Self::Md5 => 32,
            Self::Sha1 => 40,
            Self::Sha256 => 64,
            Self::Sha512 => 128,
        }
    }
}

/// A digest: an algorithm and its lowercase hex.
///
/// ```
/// use openstack_images::{Checksum, ChecksumAlgorithm};
/// let c = Checksum::parse(&format!("sha256:{}", "ab".repeat(32))).unwrap();
/// assert_eq!(c.algorithm, ChecksumAlgorithm::Sha256);
/// assert_eq!(c.to_string(), format!("sha256:{}", "ab".repeat(32)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Checksum {
    /// The algorithm.
    pub algorithm: ChecksumAlgorithm,
    /// The digest, lowercase hex of the algorithm's length.
    pub hex: String,
}

impl Checksum {
    /// Reads `algo:hex` (the catalog's `checksum`): the algorithm one of
    /// [`ChecksumAlgorithm`]'s (any case), the hex lowercase and as long as the algorithm's
    /// digests. `None` otherwise.
    ///
    /// ```
    /// use openstack_images::Checksum;
    /// assert!(Checksum::parse(&format!("md5:{}", "0".repeat(32))).is_some());
    /// assert!(Checksum::parse(&format!("md5:{}", "0".repeat(64))).is_none()); // sha256's length
    /// assert!(Checksum::parse(&"0".repeat(64)).is_none()); // no algorithm
    /// ```
    pub fn parse(text: &str) -> Option<Checksum> {
        let (algo, hex) = text.split_once(':')?;
        let algorithm = ChecksumAlgorithm::from_name(algo)?;
        let lower_hex = hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        (lower_hex && hex.len() == algorithm.hex_len()).then(|| Checksum {
            algorithm,
            hex: hex.to_owned(),
        })
    }

    /// A bare digest (as checksum files hold them), any case, its algorithm told by its
    /// length; the hex is lowercased. `None` if it is not hex of a known length.
    ///
    /// ```
    /// use openstack_images::{Checksum, ChecksumAlgorithm};
    /// let c = Checksum::from_bare_hex(&"AB".repeat(64)).unwrap();
    /// assert_eq!((c.algorithm, c.hex), (ChecksumAlgorithm::Sha512, "ab".repeat(64)));
    /// ```
    pub fn from_bare_hex(hex: &str) -> Option<Checksum> {
        let algorithm = ChecksumAlgorithm::from_hex_len(hex.len())?;
        hex.bytes()
            .all(|b| b.is_ascii_hexdigit())
            .then(|| Checksum {
                algorithm,
                hex: hex.to_ascii_lowercase(),
            })
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.as_str(), self.hex)
    }
}
