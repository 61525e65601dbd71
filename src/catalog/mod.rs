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

#[cfg(feature = "catalog")]
mod apply;
mod checksums;
mod fanout;
mod load;
mod meta;
mod model;
mod plan;
#[cfg(test)]
mod plan_tests;
mod resolve;
mod rules;
#[cfg(feature = "catalog")]
mod source;
#[cfg(feature = "catalog")]
mod source_http;
#[cfg(all(test, feature = "catalog"))]
mod source_tests;
mod state;
#[cfg(test)]
#[allow(dead_code)]
pub(crate) mod test_server;
#[cfg(test)]
mod tests;
mod yaml;

use std::fmt;
use std::path::{Path, PathBuf};

#[cfg(feature = "catalog")]
pub use apply::{ApplyEvent, ApplyOptions, ApplyReport, CatalogImport, EventSink, Outcome};
pub use checksums::{find_checksum, parse_checksums};
pub use fanout::{FanOutBranch, fan_out};
pub use model::{Catalog, CatalogImage, Checksum, ChecksumAlgorithm, ImageSource, ImageVersion};
pub use plan::{
    Action, ActionKind, Change, CloudImages, DEFAULT_MANAGED_TAG, INCOMING_PROPERTY, INCOMING_TAG,
    PlanOptions, PlanProblem,
};
#[cfg(feature = "catalog")]
pub use source::{Compression, SourceOptions, SourceStats, SourceStream, open_source};
pub use state::LatestInfo;

use std::collections::HashMap;

/// What applying a catalog would change, in every cloud: [`Catalog::plan`]'s answer.
///
/// ```
/// let plan = openstack_images::Plan::default();
/// assert!(plan.is_empty());
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Plan {
    /// The actions, by cloud, then catalog image, then version.
    pub actions: Vec<Action>,
    /// Catalog images that could not be planned (a checksum file not found...); the
    /// others are planned.
    pub problems: Vec<PlanProblem>,
    /// Per cloud, the hash algorithm its images carry (`os_hash_algo`, the most common
    /// one), which uploads hash with so that Glance's stored hash can be compared.
    pub hash_algorithms: std::collections::BTreeMap<String, String>,
}

impl Plan {
    /// Whether there is nothing to do (problems aside).
    ///
    /// ```
    /// assert!(openstack_images::Plan::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
}

impl Catalog {
    /// Plans the catalog against clouds' current images: what to create, update, rename,
    /// hide, deactivate and delete, as openstack-image-manager would with the same
    /// `options` (see the README, "Image catalogs", for where osimg differs). Reads the
    /// clouds (image lists) and, for `latest` versions, their checksum files and
    /// `Last-Modified`; changes nothing.
    ///
    /// ```no_run
    /// # async fn run(client: openstack_images::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use openstack_images::{Catalog, PlanOptions};
    /// let catalog = Catalog::load(&["etc/images"])?;
    /// let plan = catalog.plan(&[("prod", &client)], &PlanOptions::default()).await?;
    /// for action in &plan.actions {
    ///     println!("{} {} {}", action.cloud, action.action, action.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn plan(
        &self,
        clouds: &[(&str, &crate::Client)],
        options: &PlanOptions,
    ) -> crate::Result<Plan> {
        let images =
            plan::selected(self, options).map_err(|m| crate::Error::invalid("filter", m))?;
        let mut out = Plan::default();
        let mut latest = HashMap::new();
        let http = resolve::source_client()?;
        for image in images {
            if let Some(v) = image.versions.iter().find(|v| v.version == state::LATEST) {
                match resolve::latest_info(&http, v).await {
                    Ok(info) => {
                        latest.insert(image.name.clone(), info);
                    }
                    Err(e) => {
                        for (cloud, _) in clouds {
                            out.problems.push(PlanProblem {
                                cloud: (*cloud).to_owned(),
                                image: image.name.clone(),
                                message: format!("version latest: {e}"),
                            });
                        }
                    }
                }
            }
        }
        let states = futures_util::future::join_all(
            clouds
                .iter()
                .map(|(name, client)| cloud_images(name, client)),
        )
        .await;
        for state in states {
            let state = state?;
            if let Some(algo) = common_hash_algorithm(&state.images) {
                out.hash_algorithms.insert(state.cloud.clone(), algo);
            }
            let mut cloud_plan = plan::plan_cloud(self, &state, &latest, options);
            // Images whose `latest` could not be resolved were reported above.
            cloud_plan.problems.retain(|p| {
                !out.problems
                    .iter()
                    .any(|q| q.cloud == p.cloud && q.image == p.image)
            });
            out.actions.append(&mut cloud_plan.actions);
            out.problems.append(&mut cloud_plan.problems);
        }
        Ok(out)
    }
}

/// The `os_hash_algo` most images carry.
fn common_hash_algorithm(images: &[crate::Image]) -> Option<String> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for algo in images.iter().filter_map(|i| i.os_hash_algo.as_deref()) {
        *counts.entry(algo.to_ascii_lowercase()).or_default() += 1;
    }
    counts.into_iter().max_by_key(|(_, n)| *n).map(|(a, _)| a)
}

/// A cloud's images for planning: every visibility, hidden ones included.
///
/// ```no_run
/// # async fn run(client: openstack_images::Client) -> openstack_images::Result<()> {
/// let state = openstack_images::cloud_images("prod", &client).await?;
/// println!("{} images", state.images.len());
/// # Ok(()) }
/// ```
pub async fn cloud_images(name: &str, client: &crate::Client) -> crate::Result<CloudImages> {
    use crate::ImageListQuery;
    let images = client.images();
    let base = ImageListQuery::new().all_visibilities();
    let (project, visible, hidden) = tokio::try_join!(
        client.project_id(),
        images.list_all(base.clone()),
        images.list_all(base.os_hidden(true))
    )?;
    let mut all = visible;
    for h in hidden {
        if !all.iter().any(|i| i.id == h.id) {
            all.push(h);
        }
    }
    Ok(CloudImages::new(name, project, all))
}

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
