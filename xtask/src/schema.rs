//! `cargo xtask schema pull|check`: Glance's served schemas, committed under `schemas/`.
//!
//! The crate's types are generated from `schemas/image/v2/*.json` (see `build.rs`), so those
//! files must be exactly what a real Glance serves, operator properties included. `pull`
//! fetches `GET /v2/schemas/{image,images,member,members,task,tasks}` and the ten
//! `/v2/schemas/metadefs/*` (`metadefs/namespace.json`, ...), and writes each one
//! canonically (sorted keys, two-space indent, trailing newline) so that re-pulling an
//! unchanged cloud gives an empty `git diff`. `check` pulls into memory and reports drift
//! against the committed files, per schema and per property, failing when there is any.

use crate::stack::{self, StackInfo};
use anyhow::{Context, Result, bail};
use openstack_images::SearchPath;
use openstack_images::{Client, CloudConfig, SchemaKind};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

/// Where the committed image schemas live, relative to the workspace root.
const SCHEMA_SUBDIR: &str = "schemas/image/v2";

/// The cloud of the stack's clouds.yaml used when no `--cloud` is given.
const STACK_CLOUD: &str = "local";

/// The directory holding the committed image schemas.
pub fn committed_dir() -> PathBuf {
    crate::workspace_root().join(SCHEMA_SUBDIR)
}

/// A schema's file, relative to the schema directory: `image.json`, `metadefs/tag.json`, ...
fn file_name(name: &str) -> String {
    format!("{name}.json")
}

/// The canonical text of a schema: the library's, which `osimg schema pull` writes too.
pub use openstack_images::canonical_json as canonical;

fn compact(v: &Value) -> String {
    serde_json::to_string(v).expect("a Value always serialises")
}

/// Resolves where to pull from: the named cloud of the user's clouds.yaml, or the local
/// stack's `local` cloud (bringing the stack up if needed).
fn source_config(cloud: Option<&str>) -> Result<(String, CloudConfig)> {
    match cloud {
        Some(name) => {
            let config = CloudConfig::from_cloud(name)
                .with_context(|| format!("loading cloud `{name}` from clouds.yaml"))?;
            Ok((format!("cloud `{name}`"), config))
        }
        None => {
            let info =
                stack::up(stack::Release::newest()).context("bringing up the local stack")?;
            stack_config(&info)
        }
    }
}

fn stack_config(info: &StackInfo) -> Result<(String, CloudConfig)> {
    let search = SearchPath::files(Some(info.clouds_yaml.clone()), None);
    let config = CloudConfig::from_cloud_in(STACK_CLOUD, &search).with_context(|| {
        format!(
            "loading cloud `{STACK_CLOUD}` from {}",
            info.clouds_yaml.display()
        )
    })?;
    Ok((format!("the local stack (cloud `{STACK_CLOUD}`)"), config))
}

/// Fetches every schema Glance serves, by name.
fn fetch_all(config: CloudConfig) -> Result<BTreeMap<String, Value>> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let client = Client::builder()
            .cloud(config)
            .build()
            .context("building the client")?;
        let images = client.images();
        let mut out = BTreeMap::new();
        for kind in SchemaKind::ALL {
            let v = images
                .schema_json(kind)
                .await
                .with_context(|| format!("GET /v2/schemas/{}", kind.as_str()))?;
            out.insert(kind.as_str().to_string(), v);
        }
        Ok(out)
    })
}

/// Writes each schema canonically into `dir`; returns the files whose content changed.
pub fn write_all(dir: &Path, schemas: &BTreeMap<String, Value>) -> Result<Vec<PathBuf>> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut changed = Vec::new();
    for (name, v) in schemas {
        let path = dir.join(file_name(name));
        let text = canonical(v);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        if fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
            changed.push(path);
        }
    }
    Ok(changed)
}

/// `cargo xtask schema pull`.
pub fn pull(cloud: Option<&str>, out: Option<&Path>) -> Result<()> {
    let (what, config) = source_config(cloud)?;
    let dir = out.map_or_else(committed_dir, Path::to_path_buf);
    println!("pulling /v2/schemas/* from {what} into {}", dir.display());
    let schemas = fetch_all(config)?;
    let changed = write_all(&dir, &schemas)?;
    for (name, v) in &schemas {
        let props = v
            .get("properties")
            .and_then(Value::as_object)
            .map_or(0, |p| p.len());
        let mark = if changed.contains(&dir.join(file_name(name))) {
            "updated"
        } else {
            "unchanged"
        };
        println!("  {name:<24} {props:>3} properties  {mark}");
    }
    Ok(())
}

/// `cargo xtask schema check`.
pub fn check(cloud: Option<&str>) -> Result<()> {
    let (what, config) = source_config(cloud)?;
    check_against(&what, config)
}

/// `cargo xtask schema check --release R`: R's Glance, rendered without a server.
pub fn check_release(release: &stack::Release) -> Result<()> {
    let (python, version) = stack::release_glance(release)?;
    let served = render(&python)?;
    let then = if release.is_newest() {
        PULL.to_string()
    } else {
        // schemas/ follows the newest release: an older one's differences are not pulled but
        // handled in the crate (the README's table of releases).
        format!(
            "schemas/ follows {}: an older release's differences belong in the README's table \
             of releases, with what the crate does about each (the live tests on {} check it)",
            stack::Release::newest().name,
            release.name
        )
    };
    fail_on_drift(
        &format!("Glance {version} (OpenStack {}, rendered)", release.name),
        &served,
        &then,
    )
}

/// `cargo xtask schema check --upstream`: the newest Glance on PyPI, rendered without a
/// server.
pub fn check_upstream() -> Result<()> {
    let (python, version) = stack::upstream_glance()?;
    let served = render(&python)?;
    fail_on_drift(
        &format!("Glance {version} (newest on PyPI, rendered)"),
        &served,
        "a Glance newer than the pinned one serves other schemas: pin it in a new release's \
         constraints (xtask/stack/releases/), then `cargo xtask schema pull` from its stack",
    )
}

/// A schema directory for `OPENSTACK_IMAGES_SCHEMA_DIR` with `release`'s Glance schemas
/// (rendered from its venv), the committed Nova schema and a `SOURCE` line naming them;
/// returns that line.
pub fn write_release_dir(release: &stack::Release, dir: &Path) -> Result<String> {
    let (python, version) = stack::release_glance(release)?;
    let served = render(&python)?;
    let _ = fs::remove_dir_all(dir);
    write_all(&dir.join("image/v2"), &served)?;
    let compute = dir.join("compute/v2.1");
    fs::create_dir_all(&compute)?;
    fs::copy(
        crate::workspace_root().join("schemas/compute/v2.1/image.json"),
        compute.join("image.json"),
    )?;
    let source = format!("Glance {version}, OpenStack {} (rendered)", release.name);
    fs::write(dir.join("SOURCE"), format!("{source}\n"))?;
    Ok(source)
}

/// Glance's schemas as its controller builds them, with the stack's schema-image.json
/// (xtask/stack/render_schemas.py run by `python`, a venv's with Glance).
fn render(python: &Path) -> Result<BTreeMap<String, Value>> {
    let dir = std::env::temp_dir().join(format!("xtask-schema-render-{}", std::process::id()));
    fs::create_dir_all(&dir)?;
    fs::copy(
        crate::workspace_root().join("xtask/stack/schema-image.json"),
        dir.join("schema-image.json"),
    )?;
    fs::write(dir.join("glance-api.conf"), "")?;
    let out = std::process::Command::new(python)
        .arg(crate::workspace_root().join("xtask/stack/render_schemas.py"))
        .arg(&dir)
        .stdin(std::process::Stdio::null())
        .output()
        .context("running xtask/stack/render_schemas.py");
    let _ = fs::remove_dir_all(&dir);
    let out = out?;
    if !out.status.success() {
        bail!(
            "render_schemas.py failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    serde_json::from_slice(&out.stdout).context("parsing render_schemas.py's output")
}

/// The schema check of `cargo xtask test`, against the running stack.
pub fn check_stack(info: &StackInfo) -> Result<()> {
    let (what, config) = stack_config(info)?;
    check_against(&what, config)
}

/// The served schemas' differences from schemas/, printed, not failed on: an older release
/// in `cargo xtask test`.
pub fn report_stack(info: &StackInfo) -> Result<()> {
    let (what, config) = stack_config(info)?;
    let dir = committed_dir();
    println!("comparing {} with {what} ({})", dir.display(), info.release);
    let served = fetch_all(config)?;
    let report = compare_with(&dir, &served)?;
    if report.is_empty() {
        println!("schemas match ({} files)", served.len());
    } else {
        print!("{report}");
    }
    Ok(())
}

fn check_against(what: &str, config: CloudConfig) -> Result<()> {
    let served = fetch_all(config)?;
    fail_on_drift(what, &served, PULL)
}

/// What to do about a drift from the cloud or the Glance the committed schemas follow.
const PULL: &str = "review the report, then run `cargo xtask schema pull` and commit";

/// Prints the drift of `served` (from `what`) against schemas/; fails when there is any,
/// saying `then` (what to do about it).
fn fail_on_drift(what: &str, served: &BTreeMap<String, Value>, then: &str) -> Result<()> {
    let dir = committed_dir();
    println!("checking {} against {what}", dir.display());
    let report = compare_with(&dir, served)?;
    if report.is_empty() {
        println!("schemas match ({} files)", served.len());
        return Ok(());
    }
    print!("{report}");
    bail!(
        "the served schemas differ from {} ({} schema(s) drifted); {then}",
        dir.display(),
        report.schemas.len()
    )
}

/// Compares `dir` with `served`, written first into a temporary directory as `pull` would
/// write them, so that what is compared is exactly what `pull` would commit.
fn compare_with(dir: &Path, served: &BTreeMap<String, Value>) -> Result<Report> {
    let tmp = std::env::temp_dir().join(format!("xtask-schema-check-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    write_all(&tmp, served)?;
    let result = compare_dirs(dir, &tmp, served.keys());
    let _ = fs::remove_dir_all(&tmp);
    result
}

/// Compares `committed/<name>.json` with `pulled/<name>.json` for each name.
fn compare_dirs<'a>(
    committed: &Path,
    pulled: &Path,
    names: impl IntoIterator<Item = &'a String>,
) -> Result<Report> {
    let mut report = Report::default();
    for name in names {
        let new_path = pulled.join(file_name(name));
        let new_text = fs::read_to_string(&new_path)
            .with_context(|| format!("reading {}", new_path.display()))?;
        let new: Value = serde_json::from_str(&new_text)?;
        let old_path = committed.join(file_name(name));
        let old_text = match fs::read_to_string(&old_path) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("reading {}", old_path.display())),
        };
        let old = match &old_text {
            Some(t) => Some(
                serde_json::from_str::<Value>(t)
                    .with_context(|| format!("parsing {}", old_path.display()))?,
            ),
            None => None,
        };
        let mut changes = diff_schema(old.as_ref(), &new);
        if changes.is_empty() && old_text.as_deref() != Some(new_text.as_str()) {
            changes.push(Change::Formatting);
        }
        if !changes.is_empty() {
            report.schemas.insert(name.clone(), changes);
        }
    }
    Ok(report)
}

/// One difference between a committed schema and the served one.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// No committed file for a schema the server serves.
    SchemaAdded,
    /// A property the server now defines.
    PropertyAdded { name: String, new: Value },
    /// A committed property the server no longer defines.
    PropertyRemoved { name: String, old: Value },
    /// A property whose definition differs.
    PropertyChanged {
        name: String,
        old: Value,
        new: Value,
    },
    /// A top-level keyword other than `properties` (`additionalProperties`, `links`, ...)
    /// present only in the served schema.
    KeyAdded { key: String, new: Value },
    /// A top-level keyword present only in the committed schema.
    KeyRemoved { key: String, old: Value },
    /// A top-level keyword whose value differs.
    KeyChanged { key: String, old: Value, new: Value },
    /// Same content, but the committed file is not in canonical form.
    Formatting,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::SchemaAdded => write!(f, "+ schema not committed yet"),
            Change::PropertyAdded { name, new } => {
                write!(f, "+ property `{name}` added\n      new: {}", compact(new))
            }
            Change::PropertyRemoved { name, old } => {
                write!(
                    f,
                    "- property `{name}` removed\n      old: {}",
                    compact(old)
                )
            }
            Change::PropertyChanged { name, old, new } => write!(
                f,
                "~ property `{name}` changed\n      old: {}\n      new: {}",
                compact(old),
                compact(new)
            ),
            Change::KeyAdded { key, new } => {
                write!(f, "+ key `{key}` added\n      new: {}", compact(new))
            }
            Change::KeyRemoved { key, old } => {
                write!(f, "- key `{key}` removed\n      old: {}", compact(old))
            }
            Change::KeyChanged { key, old, new } => write!(
                f,
                "~ key `{key}` changed\n      old: {}\n      new: {}",
                compact(old),
                compact(new)
            ),
            Change::Formatting => write!(
                f,
                "~ same content, but the file is not in canonical form (sorted keys, 2-space \
                 indent, trailing newline)"
            ),
        }
    }
}

/// The drift of every schema that differs, by schema name.
#[derive(Debug, Default, PartialEq)]
pub struct Report {
    pub schemas: BTreeMap<String, Vec<Change>>,
}

impl Report {
    pub fn is_empty(&self) -> bool {
        self.schemas.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, changes) in &self.schemas {
            let n = changes.len();
            writeln!(
                f,
                "schema `{name}` ({SCHEMA_SUBDIR}/{name}.json): {n} change{}",
                if n == 1 { "" } else { "s" }
            )?;
            for c in changes {
                writeln!(f, "  {c}")?;
            }
        }
        Ok(())
    }
}

fn as_object(v: Option<&Value>) -> BTreeMap<String, Value> {
    v.and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// The differences between a committed schema (`None`: not committed) and a served one:
/// properties first (added, removed, changed, by name), then the other top-level keys.
/// Pure: no I/O, so the report format is unit-tested.
pub fn diff_schema(old: Option<&Value>, new: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    let Some(old) = old else {
        return vec![Change::SchemaAdded];
    };
    let old_props = as_object(old.get("properties"));
    let new_props = as_object(new.get("properties"));
    let names: std::collections::BTreeSet<&String> =
        old_props.keys().chain(new_props.keys()).collect();
    for name in names {
        match (old_props.get(name), new_props.get(name)) {
            (None, Some(n)) => out.push(Change::PropertyAdded {
                name: name.clone(),
                new: n.clone(),
            }),
            (Some(o), None) => out.push(Change::PropertyRemoved {
                name: name.clone(),
                old: o.clone(),
            }),
            (Some(o), Some(n)) if o != n => out.push(Change::PropertyChanged {
                name: name.clone(),
                old: o.clone(),
                new: n.clone(),
            }),
            _ => {}
        }
    }
    // A schema that is not an object at all: compare it whole, under an empty key name.
    if !old.is_object() || !new.is_object() {
        if old != new {
            out.push(Change::KeyChanged {
                key: String::new(),
                old: old.clone(),
                new: new.clone(),
            });
        }
        return out;
    }
    let mut old_keys = as_object(Some(old));
    let mut new_keys = as_object(Some(new));
    old_keys.remove("properties");
    new_keys.remove("properties");
    // `properties` of a non-object type is compared like any other keyword.
    if old.get("properties").is_some_and(|p| !p.is_object())
        || new.get("properties").is_some_and(|p| !p.is_object())
    {
        let (o, n) = (old.get("properties"), new.get("properties"));
        if o != n {
            out.push(Change::KeyChanged {
                key: "properties".into(),
                old: o.cloned().unwrap_or(Value::Null),
                new: n.cloned().unwrap_or(Value::Null),
            });
        }
    }
    let keys: std::collections::BTreeSet<&String> =
        old_keys.keys().chain(new_keys.keys()).collect();
    for key in keys {
        match (old_keys.get(key), new_keys.get(key)) {
            (None, Some(n)) => out.push(Change::KeyAdded {
                key: key.clone(),
                new: n.clone(),
            }),
            (Some(o), None) => out.push(Change::KeyRemoved {
                key: key.clone(),
                old: o.clone(),
            }),
            (Some(o), Some(n)) if o != n => out.push(Change::KeyChanged {
                key: key.clone(),
                old: o.clone(),
                new: n.clone(),
            }),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn image() -> Value {
        json!({
            "name": "image",
            "additionalProperties": {"type": "string"},
            "links": [{"href": "{self}", "rel": "self"}],
            "properties": {
                "id": {"type": "string", "readOnly": true},
                "disk_format": {"type": ["null", "string"], "enum": [null, "raw", "qcow2"]},
                "os_distro": {"type": "string", "is_base": false}
            }
        })
    }

    #[test]
    fn identical_schemas_have_no_changes() {
        assert!(diff_schema(Some(&image()), &image()).is_empty());
    }

    #[test]
    fn key_order_does_not_matter() {
        let a: Value = serde_json::from_str(r#"{"a": 1, "b": {"x": 1, "y": 2}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"b": {"y": 2, "x": 1}, "a": 1}"#).unwrap();
        assert!(diff_schema(Some(&a), &b).is_empty());
        assert_eq!(canonical(&a), canonical(&b));
    }

    #[test]
    fn property_added_removed_changed() {
        let old = image();
        let mut new = image();
        let props = new["properties"].as_object_mut().unwrap();
        props.remove("os_distro");
        props.insert("hw_new".into(), json!({"type": "string"}));
        props["disk_format"]["enum"]
            .as_array_mut()
            .unwrap()
            .push(json!("vhdz"));
        let changes = diff_schema(Some(&old), &new);
        assert_eq!(
            changes,
            vec![
                Change::PropertyChanged {
                    name: "disk_format".into(),
                    old: old["properties"]["disk_format"].clone(),
                    new: new["properties"]["disk_format"].clone(),
                },
                Change::PropertyAdded {
                    name: "hw_new".into(),
                    new: json!({"type": "string"}),
                },
                Change::PropertyRemoved {
                    name: "os_distro".into(),
                    old: json!({"type": "string", "is_base": false}),
                },
            ]
        );
    }

    #[test]
    fn top_level_keys_are_compared() {
        let old = image();
        let mut new = image();
        let o = new.as_object_mut().unwrap();
        o.remove("links");
        o.insert("additionalProperties".into(), json!(false));
        o.insert("required".into(), json!(["id"]));
        let changes = diff_schema(Some(&old), &new);
        assert_eq!(
            changes,
            vec![
                Change::KeyChanged {
                    key: "additionalProperties".into(),
                    old: json!({"type": "string"}),
                    new: json!(false),
                },
                Change::KeyRemoved {
                    key: "links".into(),
                    old: json!([{"href": "{self}", "rel": "self"}]),
                },
                Change::KeyAdded {
                    key: "required".into(),
                    new: json!(["id"]),
                },
            ]
        );
    }

    #[test]
    fn missing_committed_schema() {
        assert_eq!(diff_schema(None, &image()), vec![Change::SchemaAdded]);
    }

    #[test]
    fn report_is_readable() {
        let mut new = image();
        new["properties"]["os_distro"]["maxLength"] = json!(255);
        new["properties"]["hw_new"] = json!({"type": "string"});
        let mut report = Report::default();
        report
            .schemas
            .insert("image".into(), diff_schema(Some(&image()), &new));
        let text = report.to_string();
        assert_eq!(
            text,
            "schema `image` (schemas/image/v2/image.json): 2 changes\n\
             \x20 + property `hw_new` added\n\
             \x20     new: {\"type\":\"string\"}\n\
             \x20 ~ property `os_distro` changed\n\
             \x20     old: {\"is_base\":false,\"type\":\"string\"}\n\
             \x20     new: {\"is_base\":false,\"maxLength\":255,\"type\":\"string\"}\n"
        );
    }

    #[test]
    fn canonical_form() {
        let v = json!({"b": [1, 2], "a": {"d": null, "c": "x"}});
        assert_eq!(
            canonical(&v),
            "{\n  \"a\": {\n    \"c\": \"x\",\n    \"d\": null\n  },\n  \"b\": [\n    1,\n    2\n  ]\n}\n"
        );
    }

    #[test]
    fn compare_dirs_reports_drift_and_formatting() {
        let base = std::env::temp_dir().join(format!("xtask-schema-test-{}", std::process::id()));
        let (committed, pulled) = (base.join("committed"), base.join("pulled"));
        let _ = fs::remove_dir_all(&base);
        let mut served = BTreeMap::new();
        served.insert("image".to_string(), image());
        served.insert("member".to_string(), json!({"name": "member"}));
        served.insert("task".to_string(), json!({"name": "task"}));
        write_all(&pulled, &served).unwrap();
        // image: same content, other formatting; member: drifted; task: missing.
        fs::create_dir_all(&committed).unwrap();
        fs::write(committed.join("image.json"), compact(&image())).unwrap();
        fs::write(committed.join("member.json"), "{\"name\": \"members\"}\n").unwrap();
        let report = compare_dirs(&committed, &pulled, served.keys()).unwrap();
        assert_eq!(report.schemas["image"], vec![Change::Formatting]);
        assert_eq!(
            report.schemas["member"],
            vec![Change::KeyChanged {
                key: "name".into(),
                old: json!("members"),
                new: json!("member"),
            }]
        );
        assert_eq!(report.schemas["task"], vec![Change::SchemaAdded]);
        // Once pulled, nothing differs.
        write_all(&committed, &served).unwrap();
        assert!(
            compare_dirs(&committed, &pulled, served.keys())
                .unwrap()
                .is_empty()
        );
        fs::remove_dir_all(&base).unwrap();
    }

    /// The metadef schemas live one directory down (`metadefs/namespace.json`): a drift
    /// injected there, in the nested `definitions` the generated types are made from, is
    /// reported, and a property removed from one is named.
    #[test]
    fn drift_in_a_metadef_schema_is_reported() {
        let base =
            std::env::temp_dir().join(format!("xtask-schema-metadefs-{}", std::process::id()));
        let (committed, pulled) = (base.join("committed"), base.join("pulled"));
        let _ = fs::remove_dir_all(&base);
        let namespace = json!({"name": "namespace",
            "definitions": {"positiveInteger": {"type": "integer", "minimum": 0}},
            "properties": {"namespace": {"type": "string"}, "owner": {"type": "string"}}});
        let tag = json!({"name": "tag", "properties": {"name": {"type": "string"}}});
        let mut served = BTreeMap::new();
        served.insert("metadefs/namespace".to_string(), namespace.clone());
        served.insert("metadefs/tag".to_string(), tag.clone());
        write_all(&pulled, &served).unwrap();
        assert!(pulled.join("metadefs/namespace.json").is_file());
        let mut drifted = served.clone();
        drifted.insert(
            "metadefs/namespace".into(),
            json!({"name": "namespace",
                "definitions": {"positiveInteger": {"type": "integer", "minimum": 1}},
                "properties": {"namespace": {"type": "string"}}}),
        );
        write_all(&committed, &drifted).unwrap();
        let report = compare_dirs(&committed, &pulled, served.keys()).unwrap();
        assert!(!report.is_empty());
        assert!(
            !report.schemas.contains_key("metadefs/tag"),
            "tag did not drift"
        );
        let changes = &report.schemas["metadefs/namespace"];
        assert!(
            changes.contains(&Change::PropertyAdded {
                name: "owner".into(),
                new: json!({"type": "string"}),
            }),
            "{changes:?}"
        );
        assert!(
            changes
                .iter()
                .any(|c| matches!(c, Change::KeyChanged { key, .. } if key == "definitions")),
            "{changes:?}"
        );
        fs::remove_dir_all(&base).unwrap();
    }
}
