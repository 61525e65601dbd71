//! openstack-image-manager (OIM), the catalog tool `osimg catalog` must agree with: run it
//! against a cloud of the stack with a catalog, and snapshot the images it manages, so a test
//! can compare the state either tool leaves (docs/oim-behaviour.md says what OIM does).
//!
//! OIM is the pinned one `cargo xtask stack up` installs in its own venv, named by
//! `OPENSTACK_IMAGES_OIM` (`cargo xtask test` and `cargo xtask stack env` set it).
//!
//! ```ignore
//! let before = snapshot(&admin(), OIM_TAG).await;
//! let run = run_oim("local", catalog_dir.path(), &["--hide"]);
//! assert!(run.success(), "{}", run.log);
//! let after = snapshot(&admin(), OIM_TAG).await;
//! let diff = before.diff(&after);
//! assert!(diff.is_empty(), "{diff:?}");
//! ```

#![allow(dead_code)] // a helper module: not every test uses every part

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use openstack_images::{Client, ImageListQuery};
use serde_json::Value;

use crate::harness::{clouds_yaml, require_stack};

/// OIM's default `--tag`: the tag that marks the images it manages.
pub const OIM_TAG: &str = "managed_by_osism";

/// How long one OIM run may take before it is killed: an existing image that is not
/// `active` (e.g. deactivated by `--deactivate`) makes OIM wait up to `--import-timeout`
/// (default 1800 s) as if it were importing.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

/// The pinned `openstack-image-manager`.
pub fn oim_bin() -> PathBuf {
    require_stack();
    let path = std::env::var_os("OPENSTACK_IMAGES_OIM")
        .map(PathBuf::from)
        .expect("OPENSTACK_IMAGES_OIM is not set: `eval \"$(cargo xtask stack env)\"` or `cargo xtask test`");
    assert!(path.exists(), "{} does not exist", path.display());
    path
}

/// One finished OIM run.
#[derive(Debug)]
pub struct OimRun {
    pub status: ExitStatus,
    /// stdout and stderr (its log), colour codes removed.
    pub log: String,
    pub secs: f64,
}

impl OimRun {
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// The log's messages without timestamp and level (`Importing image X (1)`), for asserts
    /// that do not depend on the time of day.
    pub fn messages(&self) -> Vec<&str> {
        self.log
            .lines()
            .filter_map(|line| line.splitn(3, " | ").nth(2))
            .collect()
    }
}

/// Runs `openstack-image-manager --cloud CLOUD --images IMAGES FLAGS...` with the stack's
/// clouds.yaml (`local` admin, `local-demo`, `local-plain`). Panics if it runs longer than
/// [`RUN_TIMEOUT`] (it is killed first, and the panic shows its log).
pub fn run_oim(cloud: &str, images: &Path, flags: &[&str]) -> OimRun {
    let mut cmd = Command::new(oim_bin());
    cmd.arg("--cloud")
        .arg(cloud)
        .arg("--images")
        .arg(images)
        .args(flags)
        .env("OS_CLIENT_CONFIG_FILE", clouds_yaml())
        // OIM ignores --cloud when OS_AUTH_URL is set (openstack.connect() from the env).
        .env_remove("OS_AUTH_URL")
        .env_remove("OS_CLOUD")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("openstack-image-manager starts");
    // Both pipes are drained on threads so a chatty run cannot block on a full pipe.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            buf
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .expect("waiting for openstack-image-manager")
        {
            break Some(status);
        }
        if started.elapsed() > RUN_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut raw = out.join().unwrap();
    raw.extend(err.join().unwrap());
    let log = strip_ansi(&String::from_utf8_lossy(&raw));
    let Some(status) = status else {
        panic!("openstack-image-manager ran longer than {RUN_TIMEOUT:?}; its log:\n{log}");
    };
    OimRun {
        status,
        log,
        secs: started.elapsed().as_secs_f64(),
    }
}

/// Removes terminal escape sequences (`ESC [ ... letter`): loguru colours its log even
/// when it is not a terminal.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// The images OIM considers managed in one cloud, as Glance serves them (raw JSON: every
/// property as the string Glance stores), by id.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub images: BTreeMap<String, Value>,
}

/// What changed between two snapshots, by image name (sorted).
#[derive(Debug, Default, PartialEq)]
pub struct SnapshotDiff {
    pub created: Vec<String>,
    pub deleted: Vec<String>,
    /// Name (after) and the fields that differ; `updated_at` counts, so an image that was
    /// PATCHed to the same values shows as `["updated_at"]`.
    pub changed: Vec<(String, Vec<String>)>,
}

impl SnapshotDiff {
    pub fn is_empty(&self) -> bool {
        *self == SnapshotDiff::default()
    }
}

impl Snapshot {
    /// The managed images named `name` (OIM keys by name; more than one is a duplicate).
    pub fn named(&self, name: &str) -> Vec<&Value> {
        self.images
            .values()
            .filter(|i| i["name"].as_str() == Some(name))
            .collect()
    }

    /// Every managed image's name, sorted (duplicates kept).
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .images
            .values()
            .map(|i| i["name"].as_str().unwrap_or_default().to_owned())
            .collect();
        names.sort();
        names
    }

    pub fn diff(&self, after: &Snapshot) -> SnapshotDiff {
        let name = |i: &Value| i["name"].as_str().unwrap_or_default().to_owned();
        let mut diff = SnapshotDiff::default();
        for (id, image) in &after.images {
            match self.images.get(id) {
                None => diff.created.push(name(image)),
                Some(old) => {
                    let keys: std::collections::BTreeSet<&String> = old
                        .as_object()
                        .into_iter()
                        .chain(image.as_object())
                        .flat_map(|o| o.keys())
                        .collect();
                    let fields: Vec<String> = keys
                        .into_iter()
                        .filter(|k| old.get(k.as_str()) != image.get(k.as_str()))
                        .cloned()
                        .collect();
                    if !fields.is_empty() {
                        diff.changed.push((name(image), fields));
                    }
                }
            }
        }
        for (id, image) in &self.images {
            if !after.images.contains_key(id) {
                diff.deleted.push(name(image));
            }
        }
        diff.created.sort();
        diff.deleted.sort();
        diff.changed.sort();
        diff
    }
}

/// Snapshots the images OIM manages in `client`'s project with `tag`: carrying the tag and
/// public or owned by the current project (OIM's `get_images`), `os_hidden` ones included
/// (OIM sees those only with `--use-os-hidden`; a snapshot always shows them).
pub async fn snapshot(client: &Client, tag: &str) -> Snapshot {
    let project = client
        .project_id()
        .await
        .expect("token")
        .unwrap_or_default();
    let mut snapshot = Snapshot::default();
    for hidden in [false, true] {
        let query = ImageListQuery::new()
            .tag(tag)
            .os_hidden(hidden)
            .page_size(500);
        let images: Vec<Value> = client
            .images()
            .list_json(query)
            .try_collect()
            .await
            .expect("listing images");
        for image in images {
            let managed = image["visibility"] == "public" || image["owner"] == project.as_str();
            if let (true, Some(id)) = (managed, image["id"].as_str()) {
                snapshot.images.insert(id.to_owned(), image);
            }
        }
    }
    snapshot
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_codes_are_removed() {
        let line = "\u{1b}[32m2026-12-07 19:47:00\u{1b}[0m | \u{1b}[1mINFO    \u{1b}[0m | x";
        assert_eq!(strip_ansi(line), "2026-12-07 19:47:00 | INFO     | x");
    }

    #[test]
    fn diff_names_created_deleted_and_changed_fields() {
        let img = |id: &str, name: &str, updated: &str| {
            (
                id.to_owned(),
                serde_json::json!({"id": id, "name": name, "updated_at": updated}),
            )
        };
        let before = Snapshot {
            images: [img("1", "A", "t1"), img("2", "B (1)", "t1")].into(),
        };
        let after = Snapshot {
            images: [img("1", "A (1)", "t2"), img("3", "A", "t2")].into(),
        };
        assert_eq!(
            before.diff(&after),
            SnapshotDiff {
                created: vec!["A".into()],
                deleted: vec!["B (1)".into()],
                changed: vec![("A (1)".into(), vec!["name".into(), "updated_at".into()])],
            }
        );
    }
}
