//! Image catalogs: the image definitions openstack-image-manager (OSISM's
//! `openstack-image-manager`, used by the Sovereign Cloud Stack) reads, read and checked the
//! way it checks them, so the files its users already keep work unchanged.
//!
//! [`Catalog::load`] reads files and folders, validates them by the rules of the tool's
//! `etc/schema.yaml` (its 0.20261007.0 release) and returns every problem at once, each with
//! its file, line and column and the path and message yamale would print
//! (`images.0.enable: Required field missing`). [`parse_checksums`] reads the checksum lists
//! a version's `checksums_url` names. Nothing here talks to a cloud.
//!
//! With the `catalog` feature (a default one), [`open_source`] reads a version's data:
//! resumable, decompressed by its magic numbers, its upstream checksum verified; and
//! [`fan_out`] feeds one read to several uploads.
//!
//! (Not to be confused with Keystone's service catalog, which the client reads to find
//! Glance: that one is internal and is never called a `Catalog`.)

mod checksums;
mod fanout;
mod load;
mod meta;
mod model;
mod rules;
#[cfg(feature = "catalog")]
mod source;
#[cfg(feature = "catalog")]
mod source_http;
#[cfg(all(test, feature = "catalog"))]
mod source_tests;
#[cfg(test)]
#[allow(dead_code)]
pub(crate) mod test_server;
#[cfg(test)]
mod tests;
mod yaml;

use std::fmt;
use std::path::{Path, PathBuf};

pub use checksums::{find_checksum, parse_checksums};
pub use fanout::{FanOutBranch, fan_out};
pub use model::{Catalog, CatalogImage, Checksum, ChecksumAlgorithm, ImageSource, ImageVersion};
#[cfg(feature = "catalog")]
pub use source::{Compression, SourceOptions, SourceStats, SourceStream, open_source};

impl Catalog {
    /// Reads image definitions from files and folders (a folder's `*.yml` and `*.yaml`,
    /// sorted by name, not its subfolders), as `openstack-image-manager --images PATH`
    /// does. Every file is read and checked before anything is returned: on any problem the
    /// result is all of them, in file and line order.
    ///
    /// This reads files with blocking calls; from async code, run it in
    /// `tokio::task::spawn_blocking`.
    ///
    /// ```
    /// use openstack_images::Catalog;
    /// let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/catalog/oim");
    /// let catalog = Catalog::load(&[dir]).unwrap();
    /// assert!(catalog.images.iter().any(|i| i.name == "Cirros"));
    ///
    /// let errors = Catalog::load(&["/nonexistent/images"]).unwrap_err();
    /// assert!(errors.to_string().starts_with("/nonexistent/images: cannot read"));
    /// ```
    pub fn load<P: AsRef<Path>>(paths: &[P]) -> Result<Catalog, CatalogErrors> {
        let mut problems = Problems::default();
        let paths: Vec<&Path> = paths.iter().map(AsRef::as_ref).collect();
        let mut catalog = Catalog::default();
        for file in load::files(&paths, &mut problems) {
            load::file(&file, &mut catalog, &mut problems);
        }
        problems.into_result(catalog)
    }

    /// Reads one file's text; `file` names it in problems and in
    /// [`CatalogImage::file`].
    ///
    /// ```
    /// use openstack_images::Catalog;
    /// let errors = Catalog::from_yaml_str("a.yml", "images:\n  - name: x\n").unwrap_err();
    /// let first = &errors.errors[0];
    /// assert_eq!((first.line, first.path.as_str()), (Some(2), "images.0.enable"));
    /// assert_eq!(first.to_string(), "a.yml:2:5: images.0.enable: Required field missing");
    /// ```
    pub fn from_yaml_str(file: impl AsRef<Path>, text: &str) -> Result<Catalog, CatalogErrors> {
        let mut problems = Problems::default();
        let mut catalog = Catalog::default();
        load::text_into(file.as_ref(), text, &mut catalog, &mut problems);
        problems.into_result(catalog)
    }
}

/// One problem in a catalog file.
///
/// ```
/// let e = openstack_images::Catalog::from_yaml_str("x.yml", "images: []").unwrap_err();
/// let e = &e.errors[0];
/// assert_eq!((e.line, e.column), (Some(1), Some(9)));
/// assert_eq!(e.message, "Length of [] is less than 1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CatalogError {
    /// The file.
    pub file: PathBuf,
    /// The line (1-based); `None` for a problem with the file as a whole.
    pub line: Option<usize>,
    /// The column (1-based, in characters), where known.
    pub column: Option<usize>,
    /// Where in the document, as yamale prints it (`images.0.versions.1.url`); empty for
    /// the document itself.
    pub path: String,
    /// What is wrong, in yamale's words where it has them.
    pub message: String,
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(column) = self.column {
            write!(f, ":{column}")?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in a catalog (never empty), one per line when displayed.
///
/// ```
/// let yaml = "images:\n  - enable: maybe\n";
/// let errors = openstack_images::Catalog::from_yaml_str("x.yml", yaml).unwrap_err();
/// assert!(errors.errors.len() > 1);
/// assert!(errors.to_string().lines().any(|l| l == "x.yml:2:13: images.0.enable: 'maybe' is not a bool."));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CatalogErrors {
    /// The problems, in file and line order.
    pub errors: Vec<CatalogError>,
}

impl fmt::Display for CatalogErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            e.fmt(f)?;
        }
        Ok(())
    }
}

impl std::error::Error for CatalogErrors {}

/// Problems collected while reading, for the file being read.
#[derive(Default)]
pub(crate) struct Problems {
    file: PathBuf,
    errors: Vec<CatalogError>,
    /// Files in reading order, to sort problems by file first.
    order: Vec<PathBuf>,
}

impl Problems {
    pub(crate) fn add(&mut self, pos: yaml::Pos, path: &rules::Path, message: impl Into<String>) {
        self.errors.push(CatalogError {
            file: self.file.clone(),
            line: Some(pos.line),
            column: Some(pos.column),
            path: path.0.clone(),
            message: message.into(),
        });
    }

    pub(crate) fn at_file(&mut self, file: &Path, message: impl Into<String>) {
        self.errors.push(CatalogError {
            file: file.to_path_buf(),
            line: None,
            column: None,
            path: String::new(),
            message: message.into(),
        });
    }

    fn set_file(&mut self, file: &Path) {
        self.file = file.to_path_buf();
        self.order.push(self.file.clone());
    }

    fn into_result(mut self, catalog: Catalog) -> Result<Catalog, CatalogErrors> {
        if self.errors.is_empty() {
            return Ok(catalog);
        }
        let order = self.order;
        let rank = |f: &PathBuf| order.iter().position(|o| o == f).unwrap_or(0);
        self.errors.sort_by(|a, b| {
            (rank(&a.file), a.line, a.column).cmp(&(rank(&b.file), b.line, b.column))
        });
        Err(CatalogErrors {
            errors: self.errors,
        })
    }
}
