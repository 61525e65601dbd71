//! Plans: what a catalog changes in a cloud, computed from the catalog and the cloud's
//! images without any request ([`plan_cloud`]), in openstack-image-manager's state model.

use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::model::{Catalog, CatalogImage, Checksum, ImageSource, ImageVersion};
use super::state::{
    self, Desired, LATEST, LatestInfo, ModelOptions, glance_string, natural_cmp, same_value,
};
use crate::Image;

/// The tag openstack-image-manager marks its images with (its `--tag` default).
pub const DEFAULT_MANAGED_TAG: &str = "managed_by_osism";

/// The tag an image carries while its data is uploaded and checked, before it is given
/// its catalog name and visibility; such images are never matched as catalog images.
pub const INCOMING_TAG: &str = "osimg:incoming";

/// The property naming, on an incoming image, the catalog image (its `name` in the catalog)
/// it belongs to: a later plan cleans up only the leftovers of its own catalog images.
pub const INCOMING_PROPERTY: &str = "osimg_incoming";

/// How a catalog is applied: openstack-image-manager's flags, with its defaults.
///
/// ```
/// let options = openstack_images::PlanOptions::default();
/// assert_eq!(options.tag, "managed_by_osism");
/// assert!(!options.delete);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PlanOptions {
    /// The tag managed images carry (`--tag`).
    pub tag: String,
    /// Import only the newest version of `multi` images (`--latest`).
    pub latest: bool,
    /// Keep images of versions no longer defined, for images that are not `multi`
    /// (`--keep`).
    pub keep: bool,
    /// Hide outdated images (`--hide`).
    pub hide: bool,
    /// Deactivate outdated images that would be deleted (`--deactivate`).
    pub deactivate: bool,
    /// Delete outdated images (`--delete`, only with
    /// [`yes_i_really_know_what_i_do`](Self::yes_i_really_know_what_i_do)).
    pub delete: bool,
    /// Confirms [`delete`](Self::delete) (`--yes-i-really-know-what-i-do`).
    pub yes_i_really_know_what_i_do: bool,
    /// Use `os_hidden` for older versions and hidden images (`--use-os-hidden`).
    pub use_os_hidden: bool,
    /// The visibility `--hide` gives (`--hidden-visibility`: community, private, shared);
    /// default community, or unchanged with `--use-os-hidden`.
    pub hidden_visibility: Option<String>,
    /// Only images whose name matches this regular expression (`--filter`, searched
    /// anywhere in the name).
    pub filter: Option<String>,
    /// Manage disabled images too (`--force`).
    pub force: bool,
    /// Today, `YYYY-MM-DD` (for `uuid_validity` dates); default: the system's date (UTC).
    pub today: String,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            tag: DEFAULT_MANAGED_TAG.into(),
            latest: false,
            keep: false,
            hide: false,
            deactivate: false,
            delete: false,
            yes_i_really_know_what_i_do: false,
            use_os_hidden: false,
            hidden_visibility: None,
            filter: None,
            force: false,
            today: today_utc(),
        }
    }
}

fn today_utc() -> String {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0) as i64;
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Howard Hinnant's days-to-civil.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// What an action does.
///
/// ```
/// use openstack_images::ActionKind;
/// assert_eq!(serde_json::to_value(ActionKind::Create).unwrap(), "create");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ActionKind {
    /// Upload a new version (streamed from its source, verified, then published).
    Create,
    /// Give an image another name (rotation of `multi` images), with any other changes.
    Rename,
    /// Change settings, properties or tags of an image in place (no upload).
    Update,
    /// Hide an outdated image (visibility, `os_hidden`).
    Hide,
    /// Deactivate an outdated image (and hide it as asked).
    Deactivate,
    /// Delete an outdated image.
    Delete,
    /// Delete what an interrupted apply left: an image that never got its catalog name.
    Cleanup,
}

impl std::fmt::Display for ActionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            ActionKind::Create => "create",
            ActionKind::Rename => "rename",
            ActionKind::Update => "update",
            ActionKind::Hide => "hide",
            ActionKind::Deactivate => "deactivate",
            ActionKind::Delete => "delete",
            ActionKind::Cleanup => "cleanup",
        };
        f.write_str(s)
    }
}

/// One change of one field: `from` the cloud's value `to` the wanted one (`null` where
/// there is none).
///
/// ```
/// let change = openstack_images::Change::new("min_ram", Some(0.into()), Some(512.into()));
/// assert_eq!(serde_json::to_string(&change).unwrap(), r#"{"field":"min_ram","from":0,"to":512}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Change {
    /// `name`, `visibility`, `status`, `min_disk`, `min_ram`, `os_hidden`, `tags`, or a
    /// property's key.
    pub field: String,
    /// The value now.
    pub from: Option<Value>,
    /// The value wanted.
    pub to: Option<Value>,
}

impl Change {
    /// A change of `field`.
    ///
    /// ```
    /// let c = openstack_images::Change::new("name", Some("a".into()), Some("b".into()));
    /// assert_eq!(c.field, "name");
    /// ```
    pub fn new(field: impl Into<String>, from: Option<Value>, to: Option<Value>) -> Self {
        Change {
            field: field.into(),
            from,
            to,
        }
    }
}

/// One thing a plan does to one image in one cloud.
///
/// ```
/// # fn show(action: &openstack_images::Action) {
/// println!("{} {} {} ({} changes)", action.cloud, action.action, action.name, action.changes.len());
/// # }
/// ```
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Action {
    /// The cloud (its clouds.yaml name).
    pub cloud: String,
    /// The image's name once the action is done.
    pub name: String,
    /// What is done.
    pub action: ActionKind,
    /// The image's id (`null` for an image still to create, unless the catalog fixes it).
    pub id: Option<String>,
    /// The catalog image (its `name`) this belongs to.
    pub image: String,
    /// The catalog version, where the action is about one.
    pub version: Option<String>,
    /// For `create`: where the data comes from (the `mirror_url` if set, else the `url`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// For `create`: the upstream checksum the data is checked against, where known when
    /// planning (`algo:hex`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    /// The changes, field by field.
    pub changes: Vec<Change>,
    /// Why, in a few words (`new version`, `outdated: uuid_validity last-2`...).
    pub reason: String,
    #[serde(skip)]
    pub(crate) work: Work,
}

/// What apply needs beyond the displayed changes.
#[cfg_attr(not(feature = "catalog"), allow(dead_code))]
#[derive(Debug, Clone, Default)]
pub(crate) struct Work {
    /// Create: the image's settings and where its data is.
    pub create: Option<CreateWork>,
    /// Update/rename/hide: the JSON values to set (properties, name, visibility,
    /// min_disk, min_ram, os_hidden, tags).
    pub set: Map<String, Value>,
    /// Status to reach: `Some(true)` deactivate, `Some(false)` reactivate.
    pub deactivate: Option<bool>,
}

/// A version to upload.
#[cfg_attr(not(feature = "catalog"), allow(dead_code))]
#[derive(Debug, Clone)]
pub(crate) struct CreateWork {
    pub source: ImageSource,
    /// A fixed checksum (`checksum`), when the catalog gives one.
    pub checksum: Option<Checksum>,
    pub checksum_url: Option<url::Url>,
    pub checksums_url: Option<url::Url>,
    /// The `url` (for finding the file in a checksums list).
    pub url: ImageSource,
    pub disk_format: String,
    pub min_disk: Option<u64>,
    pub min_ram: u64,
    pub fixed_id: Option<String>,
    /// What the image gets when published (as for an update, `min_disk` raised later).
    pub publish: Map<String, Value>,
    pub deactivate: bool,
    /// A `multi` image's current `NAME` that this version supersedes: renamed first.
    pub supersedes: Option<(String, Map<String, Value>)>,
}

/// A cloud's images, as listed for planning.
///
/// ```
/// let state = openstack_images::CloudImages::new("local", Some("9c1b...".into()), vec![]);
/// assert_eq!(state.cloud, "local");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CloudImages {
    /// The clouds.yaml name.
    pub cloud: String,
    /// The project the client is scoped to (images it owns count as managed).
    pub project_id: Option<String>,
    /// Every image listed (all visibilities, hidden ones included).
    pub images: Vec<Image>,
}

impl CloudImages {
    /// A cloud's state.
    ///
    /// ```
    /// let state = openstack_images::CloudImages::new("local", None, vec![]);
    /// assert!(state.images.is_empty());
    /// ```
    pub fn new(cloud: impl Into<String>, project_id: Option<String>, images: Vec<Image>) -> Self {
        CloudImages {
            cloud: cloud.into(),
            project_id,
            images,
        }
    }
}

/// A problem that stops one catalog image from being planned (the others are planned).
///
/// ```
/// # fn show(p: &openstack_images::PlanProblem) { eprintln!("{}: {}", p.image, p.message); }
/// ```
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct PlanProblem {
    /// The cloud.
    pub cloud: String,
    /// The catalog image.
    pub image: String,
    /// What is wrong.
    pub message: String,
}

/// The plan for one cloud.
#[derive(Debug, Clone, Default)]
pub(crate) struct CloudPlan {
    pub actions: Vec<Action>,
    pub problems: Vec<PlanProblem>,
}

/// Whether `image` is one openstack-image-manager manages: it carries the tag and is
/// public or owned by the project.
fn managed(image: &Image, tag: &str, project: Option<&str>) -> bool {
    image.tags.iter().any(|t| t == tag)
        && !image.tags.iter().any(|t| t == INCOMING_TAG)
        && (visibility_of(image).as_deref() == Some("public")
            || (project.is_some() && image.owner.as_deref() == project))
}

/// The images of `catalog` that are processed: enabled (or `force`) and matching `filter`.
pub(crate) fn selected<'c>(
    catalog: &'c Catalog,
    options: &PlanOptions,
) -> Result<Vec<&'c CatalogImage>, String> {
    let filter = compile_filter(options.filter.as_deref())?;
    Ok(catalog
        .images
        .iter()
        .filter(|i| i.enable || options.force)
        .filter(|i| filter.as_ref().is_none_or(|f| f.find(&i.name).is_some()))
        .collect())
}

pub(crate) fn compile_filter(filter: Option<&str>) -> Result<Option<regress::Regex>, String> {
    filter
        .map(|f| regress::Regex::new(f).map_err(|e| format!("--filter {f:?}: {e}")))
        .transpose()
}

/// Plans `catalog` against one cloud's images. `latest` holds what each `latest` version
/// resolved to (keyed by catalog image name).
pub(crate) fn plan_cloud(
    catalog: &Catalog,
    cloud: &CloudImages,
    latest: &HashMap<String, LatestInfo>,
    options: &PlanOptions,
) -> CloudPlan {
    let mut plan = CloudPlan::default();
    let images = match selected(catalog, options) {
        Ok(i) => i,
        Err(message) => {
            plan.problems.push(PlanProblem {
                cloud: cloud.cloud.clone(),
                image: String::new(),
                message,
            });
            return plan;
        }
    };
    let filter = compile_filter(options.filter.as_deref()).ok().flatten();
    let project = cloud.project_id.as_deref();
    let model = ModelOptions {
        tag: &options.tag,
        use_os_hidden: options.use_os_hidden,
    };

    // Managed images by name; a name twice is resolved by the newest `updated_at`, as a
    // listing's last entry wins in openstack-image-manager (it lists newest first... and
    // keeps the last): reported as a problem either way.
    let mut by_name: BTreeMap<&str, Vec<&Image>> = BTreeMap::new();
    for image in &cloud.images {
        if managed(image, &options.tag, project) {
            by_name
                .entry(image.name.as_deref().unwrap_or(""))
                .or_default()
                .push(image);
        }
    }
    let find = |name: &str| by_name.get(name).and_then(|v| v.first().copied());

    // Leftovers of an interrupted apply: incoming images of this catalog's images.
    let catalog_names: BTreeSet<&str> = catalog.images.iter().map(|i| i.name.as_str()).collect();
    for image in &cloud.images {
        if image.tags.iter().any(|t| t == INCOMING_TAG)
            && (project.is_none() || image.owner.as_deref() == project)
        {
            let target = image
                .custom_property_str(INCOMING_PROPERTY)
                .unwrap_or_default()
                .to_owned();
            let belongs = catalog_names.contains(target.as_str());
            if belongs {
                plan.actions.push(Action {
                    cloud: cloud.cloud.clone(),
                    name: image.name.clone().unwrap_or_default(),
                    action: ActionKind::Cleanup,
                    id: Some(image.id.clone()),
                    image: target,
                    version: image
                        .custom_property_str("internal_version")
                        .map(str::to_owned),
                    source: None,
                    checksum: None,
                    changes: vec![Change::new(
                        "status",
                        status_of(image).map(Value::String),
                        None,
                    )],
                    reason: "left by an interrupted apply, never published".into(),
                    work: Work::default(),
                });
            }
        }
    }
    for (name, images) in &by_name {
        if images.len() > 1 {
            plan.problems.push(PlanProblem {
                cloud: cloud.cloud.clone(),
                image: (*name).to_owned(),
                message: format!(
                    "{} managed images are named {name:?} ({}); only the first is managed, the \
                     others are left alone",
                    images.len(),
                    images
                        .iter()
                        .map(|i| i.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
    }

    // Names the catalog keeps (openstack-image-manager's `managed_images`): a multi
    // image's plain name, every version name of the others.
    let mut kept: BTreeSet<String> = BTreeSet::new();
    // Ids touched by the catalog's versions (not candidates for outdated handling).
    let mut outdated_override: HashMap<String, ()> = HashMap::new();

    for image in &images {
        let info = latest.get(&image.name);
        let has_latest = image.versions.iter().any(|v| v.version == LATEST);
        if has_latest && info.is_none_or(|i| i.upstream_checksum.is_empty()) {
            plan.problems.push(PlanProblem {
                cloud: cloud.cloud.clone(),
                image: image.name.clone(),
                message: "could not find the checksum of version `latest`: check its \
                          checksums_url or checksum_url"
                    .into(),
            });
            continue;
        }
        let desired = state::desired(image, info, &model);
        if image.multi {
            kept.insert(image.name.clone());
        } else {
            kept.extend(desired.iter().map(|d| d.name.clone()));
        }
        let newest_version = desired.last().map(|d| d.version.version.clone());
        // The image holding the plain name, and the version it holds.
        let plain = find(&image.name);
        let plain_version = plain.and_then(version_of);
        let mut superseded_plain = false;

        for d in &desired {
            let existing: Option<&Image> = if !image.multi {
                find(&d.name)
            } else if d.newest {
                if d.version.version == LATEST {
                    plain.filter(|p| {
                        p.custom_property_str("upstream_checksum") == d.upstream_checksum.as_deref()
                    })
                } else if plain_version.as_deref() == Some(&d.version.version) {
                    plain
                } else {
                    // Not yet rotated: the newest still under its versioned name.
                    find(&state::rotated_name(image, &d.version.version))
                }
            } else {
                find(&d.name).or_else(|| {
                    plain.filter(|_| plain_version.as_deref() == Some(&d.version.version))
                })
            };
            match existing {
                Some(current) => {
                    outdated_override.insert(current.id.clone(), ());
                    if let Some(action) = update_action(cloud, image, d, current, options) {
                        plan.actions.push(action);
                    }
                }
                None => {
                    if options.latest && image.multi && !d.newest {
                        continue;
                    }
                    if image.multi
                        && d.newest
                        && let Some(p) = plain
                    {
                        superseded_plain = true;
                        outdated_override.insert(p.id.clone(), ());
                    }
                    plan.actions.push(create_action(
                        cloud,
                        image,
                        d,
                        plain.filter(|_| image.multi && d.newest),
                        options,
                    ));
                }
            }
        }
        // The plain name's holder, when it is an older version listed in the catalog
        // and not yet renamed: renamed by the create above (supersedes), or here when
        // the newest exists under its rotated name.
        if image.multi
            && !superseded_plain
            && let Some(p) = plain
            && plain_version.as_deref() != newest_version.as_deref()
            && newest_version.as_deref() != Some(LATEST)
            && !plan
                .actions
                .iter()
                .any(|a| a.id.as_deref() == Some(p.id.as_str()))
        {
            let to = state::rotated_name(image, plain_version.as_deref().unwrap_or(LATEST));
            outdated_override.insert(p.id.clone(), ());
            plan.actions.push(rename_action(
                cloud,
                image,
                p,
                &to,
                "an older version holds the plain name",
            ));
        }
    }

    merge_superseded(&mut plan.actions);
    outdated(
        cloud,
        catalog,
        &by_name,
        &kept,
        filter.as_ref(),
        options,
        &mut plan,
    );
    plan
}

/// A create that supersedes the holder of a `multi` image's plain name renames it before
/// publishing: an update planned for that image (its version is still listed) is folded
/// into that rename, so the image is changed once, before the new one takes the name.
fn merge_superseded(actions: &mut Vec<Action>) {
    let superseded: Vec<(usize, String)> = actions
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            let (id, _) = a.work.create.as_ref()?.supersedes.as_ref()?;
            Some((i, id.clone()))
        })
        .collect();
    let mut remove = Vec::new();
    for (create, id) in superseded {
        if let Some(j) = actions
            .iter()
            .position(|a| a.action != ActionKind::Create && a.id.as_deref() == Some(id.as_str()))
        {
            let update = actions[j].clone();
            if let Some((_, set)) = actions[create]
                .work
                .create
                .as_mut()
                .and_then(|c| c.supersedes.as_mut())
            {
                for (k, v) in update.work.set {
                    set.insert(k, v);
                }
            }
            if let Some(c) = actions[create]
                .changes
                .iter_mut()
                .find(|c| c.field == "supersedes")
            {
                c.to = update
                    .changes
                    .iter()
                    .find(|c| c.field == "name")
                    .and_then(|c| c.to.clone())
                    .or(c.to.take());
            }
            remove.push(j);
        }
    }
    remove.sort_unstable();
    for j in remove.into_iter().rev() {
        actions.remove(j);
    }
}

/// An image's visibility as Glance writes it.
pub(crate) fn visibility_of(image: &Image) -> Option<String> {
    image.visibility.as_ref().map(ToString::to_string)
}

/// An image's status as Glance writes it.
pub(crate) fn status_of(image: &Image) -> Option<String> {
    image.status.as_ref().map(ToString::to_string)
}

/// The catalog version an image holds (`internal_version`).
fn version_of(image: &Image) -> Option<String> {
    image
        .custom_property("internal_version")
        .filter(|v| !v.is_null())
        .map(glance_string)
}

fn rename_action(
    cloud: &CloudImages,
    image: &CatalogImage,
    current: &Image,
    to: &str,
    reason: &str,
) -> Action {
    let mut set = Map::new();
    set.insert("name".into(), Value::String(to.to_owned()));
    Action {
        cloud: cloud.cloud.clone(),
        name: to.to_owned(),
        action: ActionKind::Rename,
        id: Some(current.id.clone()),
        image: image.name.clone(),
        version: version_of(current),
        source: None,
        checksum: None,
        changes: vec![Change::new(
            "name",
            current.name.clone().map(Value::String),
            Some(Value::String(to.to_owned())),
        )],
        reason: reason.into(),
        work: Work {
            set,
            ..Work::default()
        },
    }
}

/// openstack-image-manager's `_is_generic_duplicate`: whether the image losing the plain
/// name and its successor would both be generic images users can find, for the same
/// architecture, distribution and version (SCS allows one): the old one becomes
/// `oldgeneric`.
fn generic_duplicate(previous: &Image, successor: &Map<String, Value>) -> bool {
    let visible = matches!(
        successor.get("visibility").and_then(Value::as_str),
        Some("public" | "community")
    ) && successor.get("os_hidden").and_then(Value::as_bool) != Some(true);
    let now = serde_json::to_value(previous).unwrap_or_default();
    let generic = |v: Option<&Value>| v.and_then(Value::as_str) == Some("generic");
    visible
        && generic(now.get("os_purpose"))
        && generic(successor.get("os_purpose"))
        && ["architecture", "os_distro", "os_version"]
            .iter()
            .all(|k| now.get(*k) == successor.get(*k))
}

/// Every setting a version gets, as JSON patch values (without `min_disk`, which needs the
/// image's size).
fn settings(d: &Desired<'_>) -> Map<String, Value> {
    let mut set = d.properties.clone();
    set.insert("name".into(), Value::String(d.name.clone()));
    set.insert("visibility".into(), Value::String(d.visibility.clone()));
    set.insert("min_ram".into(), Value::from(d.image.min_ram));
    if let Some(h) = d.os_hidden {
        set.insert("os_hidden".into(), Value::Bool(h));
    }
    set.insert(
        "tags".into(),
        Value::Array(d.tags.iter().cloned().map(Value::String).collect()),
    );
    set
}

fn update_action(
    cloud: &CloudImages,
    image: &CatalogImage,
    d: &Desired<'_>,
    current: &Image,
    _options: &PlanOptions,
) -> Option<Action> {
    let now = match serde_json::to_value(current) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let mut changes = Vec::new();
    let mut set = Map::new();
    let mut wanted = settings(d);
    let min_disk = state::min_disk(
        image.min_disk,
        current.size_bytes(),
        current.virtual_size.and_then(|v| u64::try_from(v).ok()),
    );
    wanted.insert("min_disk".into(), Value::from(min_disk));
    for (key, value) in wanted {
        let cur = now.get(&key);
        let same = match key.as_str() {
            "tags" => {
                let want: BTreeSet<&str> = value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                let have: BTreeSet<&str> = current.tags.iter().map(String::as_str).collect();
                want == have
            }
            "min_disk" | "min_ram" => cur.and_then(Value::as_u64) == value.as_u64(),
            "os_hidden" => {
                cur.and_then(Value::as_bool).unwrap_or(false) == value.as_bool().unwrap_or(false)
            }
            // A superseded version demoted on rotation stays `oldgeneric`, as
            // openstack-image-manager leaves it.
            "os_purpose"
                if d.name != image.name
                    && value == "generic"
                    && cur.and_then(Value::as_str) == Some("oldgeneric") =>
            {
                true
            }
            _ => same_value(cur, &value),
        };
        if !same {
            changes.push(Change::new(key.clone(), cur.cloned(), Some(value.clone())));
            set.insert(key, value);
        }
    }
    let status = status_of(current);
    let deactivate = match (image.status.as_str(), status.as_deref()) {
        ("deactivated", Some(s)) if s != "deactivated" => Some(true),
        ("active", Some("deactivated")) => Some(false),
        _ => None,
    };
    if let Some(off) = deactivate {
        changes.push(Change::new(
            "status",
            status.clone().map(Value::String),
            Some(Value::String(
                if off { "deactivated" } else { "active" }.into(),
            )),
        ));
    }
    if changes.is_empty() {
        return None;
    }
    let kind = if set.contains_key("name") {
        ActionKind::Rename
    } else {
        ActionKind::Update
    };
    Some(Action {
        cloud: cloud.cloud.clone(),
        name: d.name.clone(),
        action: kind,
        id: Some(current.id.clone()),
        image: image.name.clone(),
        version: Some(d.version.version.clone()),
        source: None,
        checksum: None,
        changes,
        reason: if kind == ActionKind::Rename {
            "rotation: the newest version carries the plain name".into()
        } else {
            "the catalog changed".into()
        },
        work: Work {
            create: None,
            set,
            deactivate,
        },
    })
}

fn create_action(
    cloud: &CloudImages,
    image: &CatalogImage,
    d: &Desired<'_>,
    supersedes: Option<&Image>,
    _options: &PlanOptions,
) -> Action {
    let version: &ImageVersion = d.version;
    let source = version
        .mirror_url
        .clone()
        .unwrap_or_else(|| version.url.clone());
    let publish = settings(d);
    let mut changes: Vec<Change> = publish
        .iter()
        .map(|(k, v)| Change::new(k.clone(), None, Some(v.clone())))
        .collect();
    changes.sort_by(|a, b| a.field.cmp(&b.field));
    let checksum = version.checksum.clone().or_else(|| {
        d.upstream_checksum
            .as_deref()
            .and_then(super::model::Checksum::from_bare_hex)
    });
    let supersedes = supersedes.map(|p| {
        let to = state::rotated_name(image, version_of(p).as_deref().unwrap_or(LATEST));
        let mut set = Map::new();
        set.insert("name".into(), Value::String(to));
        if generic_duplicate(p, &publish) {
            set.insert("os_purpose".into(), Value::String("oldgeneric".into()));
        }
        (p.id.clone(), set)
    });
    if let Some((id, set)) = &supersedes {
        changes.push(Change::new(
            "supersedes",
            Some(Value::String(id.clone())),
            set.get("name").cloned(),
        ));
    }
    Action {
        cloud: cloud.cloud.clone(),
        name: d.name.clone(),
        action: ActionKind::Create,
        id: version.id.clone(),
        image: image.name.clone(),
        version: Some(version.version.clone()),
        source: Some(source.to_string()),
        checksum: checksum.as_ref().map(ToString::to_string),
        changes,
        reason: "new version".into(),
        work: Work {
            create: Some(CreateWork {
                source,
                checksum,
                checksum_url: version.checksum_url.clone(),
                checksums_url: version.checksums_url.clone(),
                url: version.url.clone(),
                disk_format: image.format.clone(),
                min_disk: image.min_disk,
                min_ram: image.min_ram,
                fixed_id: version.id.clone(),
                publish,
                deactivate: image.status == "deactivated",
                supersedes,
            }),
            ..Work::default()
        },
    }
}

/// openstack-image-manager's `manage_outdated_images`: managed images the catalog does not
/// keep by name, for definitions it has, newest first.
fn outdated(
    cloud: &CloudImages,
    catalog: &Catalog,
    by_name: &BTreeMap<&str, Vec<&Image>>,
    kept: &BTreeSet<String>,
    filter: Option<&regress::Regex>,
    options: &PlanOptions,
    plan: &mut CloudPlan,
) {
    let definitions: HashMap<&str, &CatalogImage> = catalog
        .images
        .iter()
        .map(|i| (i.name.as_str(), i))
        .collect();
    let mut candidates: Vec<&str> = by_name
        .keys()
        .copied()
        .filter(|n| !kept.contains(*n))
        .filter(|n| filter.is_none_or(|f| f.find(n).is_some()))
        .collect();
    candidates.sort_by(|a, b| natural_cmp(b, a));
    let mut counter: HashMap<&str, usize> = HashMap::new();
    let touched: BTreeSet<String> = plan.actions.iter().filter_map(|a| a.id.clone()).collect();
    for name in candidates {
        let Some(image) = by_name.get(name).and_then(|v| v.first()) else {
            continue;
        };
        let Some(definition_name) = image.custom_property_str("image_description") else {
            continue;
        };
        let Some(definition) = definitions.get(definition_name) else {
            continue;
        };
        if definition_name == name {
            continue;
        }
        let count = counter.entry(definition_name).or_default();
        *count += 1;
        let uuid_validity = image.custom_property_str("uuid_validity");
        let last = state::uuid_validity_keep(uuid_validity, &options.today);
        let (kind, reason, deactivate) = if options.keep && !definition.multi {
            continue;
        } else if let Some(last) = last.filter(|l| *count > *l) {
            let reason = format!(
                "outdated: uuid_validity {} keeps {last} superseded images",
                uuid_validity.unwrap_or("")
            );
            if options.delete && options.yes_i_really_know_what_i_do && !definition.keep {
                push_outdated(
                    plan,
                    cloud,
                    definition,
                    image,
                    ActionKind::Delete,
                    reason,
                    Map::new(),
                    None,
                );
                continue;
            }
            (ActionKind::Deactivate, reason, true)
        } else {
            (
                ActionKind::Hide,
                "outdated: kept by uuid_validity".to_owned(),
                false,
            )
        };
        // hide_image(): os_hidden, deactivation, visibility.
        let mut set = Map::new();
        if options.hide && options.use_os_hidden && !image.os_hidden.unwrap_or(false) {
            set.insert("os_hidden".into(), Value::Bool(true));
        }
        let visibility = options
            .hidden_visibility
            .clone()
            .or_else(|| (!options.use_os_hidden).then(|| "community".to_owned()));
        if options.hide
            && let Some(v) = visibility
            && visibility_of(image).as_deref() != Some(v.as_str())
        {
            set.insert("visibility".into(), Value::String(v));
        }
        let deactivate =
            (deactivate && options.deactivate && status_of(image).as_deref() == Some("active"))
                .then_some(true);
        if set.is_empty() && deactivate.is_none() {
            continue;
        }
        // A version the catalog still lists has an update planned: hiding wins, so the
        // two do not undo each other on every run.
        if touched.contains(&image.id) {
            for action in &mut plan.actions {
                if action.id.as_deref() == Some(image.id.as_str()) {
                    action.work.set.retain(|k, _| !set.contains_key(k));
                    action.changes.retain(|c| !set.contains_key(&c.field));
                }
            }
            plan.actions.retain(|a| {
                a.id.as_deref() != Some(image.id.as_str())
                    || !a.changes.is_empty()
                    || a.action == ActionKind::Cleanup
            });
        }
        let kind = if deactivate.is_some() {
            kind
        } else {
            ActionKind::Hide
        };
        push_outdated(
            plan, cloud, definition, image, kind, reason, set, deactivate,
        );
    }
}

#[allow(clippy::too_many_arguments)]
fn push_outdated(
    plan: &mut CloudPlan,
    cloud: &CloudImages,
    definition: &CatalogImage,
    image: &Image,
    kind: ActionKind,
    reason: String,
    set: Map<String, Value>,
    deactivate: Option<bool>,
) {
    let now = serde_json::to_value(image).unwrap_or_default();
    let mut changes: Vec<Change> = set
        .iter()
        .map(|(k, v)| Change::new(k.clone(), now.get(k).cloned(), Some(v.clone())))
        .collect();
    if deactivate == Some(true) {
        changes.push(Change::new(
            "status",
            now.get("status").cloned(),
            Some("deactivated".into()),
        ));
    }
    if kind == ActionKind::Delete {
        changes.push(Change::new("status", now.get("status").cloned(), None));
    }
    plan.actions.push(Action {
        cloud: cloud.cloud.clone(),
        name: image.name.clone().unwrap_or_default(),
        action: kind,
        id: Some(image.id.clone()),
        image: definition.name.clone(),
        version: version_of(image),
        source: None,
        checksum: None,
        changes,
        reason,
        work: Work {
            create: None,
            set,
            deactivate,
        },
    });
}
