//! The planner against images held in memory: an apply is simulated (creates make an
//! image with the published settings, updates set what they say), so idempotence,
//! rotation and retirement are checked without a cloud. The live tests
//! (tests/live/catalog.rs) do the same against Glance.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::plan::{ActionKind, CloudImages, PlanOptions, plan_cloud};
use super::{Catalog, state::LatestInfo};
use crate::Image;

const PROJECT: &str = "p1";

fn catalog(versions: &[&str], multi: bool, extra: &str) -> Catalog {
    let mut yaml = format!(
        "images:\n  - name: Demo\n    enable: true\n    format: qcow2\n    login: demo\n    min_ram: 64\n    status: active\n    visibility: public\n    multi: {multi}\n    separator: '-'\n{extra}    meta:\n      architecture: x86_64\n      hw_disk_bus: scsi\n      hypervisor_type: qemu\n      os_distro: debian\n      os_purpose: generic\n      replace_frequency: never\n      uuid_validity: last-2\n      provided_until: none\n      hw_vif_multiqueue_enabled: true\n    tags: [extra]\n    versions:\n"
    );
    for v in versions {
        yaml.push_str(&format!(
            "      - version: '{v}'\n        url: https://example.com/demo-{v}.qcow2\n        checksum: sha256:{}\n        build_date: 2024-01-0{}\n",
            "ab".repeat(32),
            v.len() % 9 + 1
        ));
    }
    Catalog::from_yaml_str("demo.yml", &yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
}

/// Applies a plan to images in memory, as Glance would end up.
fn simulate(images: &mut Vec<Image>, catalog: &Catalog, options: &PlanOptions) {
    let state = CloudImages::new("c", Some(PROJECT.into()), images.clone());
    let plan = plan_cloud(catalog, &state, &HashMap::new(), options);
    assert!(plan.problems.is_empty(), "{:?}", plan.problems);
    let mut counter = images.len();
    for action in plan.actions {
        match action.action {
            ActionKind::Create => {
                let work = action.work.create.expect("create work");
                if let Some((old, set)) = &work.supersedes {
                    let image = images
                        .iter_mut()
                        .find(|i| &i.id == old)
                        .expect("superseded");
                    set_all(image, set);
                }
                counter += 1;
                let mut value = json!({
                    "id": format!("id-{counter}"), "status": "active", "owner": PROJECT,
                    "size": 3 << 30, "virtual_size": (5u64 << 30) + 1, "os_hidden": false,
                    "disk_format": work.disk_format, "container_format": "bare", "tags": [],
                });
                let mut set = work.publish.clone();
                set.insert(
                    "min_disk".into(),
                    super::state::min_disk(work.min_disk, Some(3 << 30), Some((5 << 30) + 1))
                        .into(),
                );
                for (k, v) in set {
                    value[k] = v;
                }
                images.push(serde_json::from_value(value).expect("image"));
            }
            ActionKind::Delete | ActionKind::Cleanup => {
                images.retain(|i| Some(&i.id) != action.id.as_ref());
            }
            _ => {
                let image = images
                    .iter_mut()
                    .find(|i| Some(&i.id) == action.id.as_ref())
                    .expect("image of the action");
                set_all(image, &action.work.set);
                if let Some(off) = action.work.deactivate {
                    let mut v = serde_json::to_value(&*image).unwrap();
                    v["status"] = if off { "deactivated" } else { "active" }.into();
                    *image = serde_json::from_value(v).unwrap();
                }
            }
        }
    }
}

fn set_all(image: &mut Image, set: &Map<String, Value>) {
    let mut v = serde_json::to_value(&*image).unwrap();
    for (k, value) in set {
        v[k] = value.clone();
    }
    *image = serde_json::from_value(v).unwrap();
}

fn plan_kinds(
    images: &[Image],
    catalog: &Catalog,
    options: &PlanOptions,
) -> Vec<(ActionKind, String)> {
    let state = CloudImages::new("c", Some(PROJECT.into()), images.to_vec());
    plan_cloud(catalog, &state, &HashMap::new(), options)
        .actions
        .into_iter()
        .map(|a| (a.action, a.name))
        .collect()
}

fn names(images: &[Image]) -> Vec<String> {
    let mut n: Vec<String> = images.iter().filter_map(|i| i.name.clone()).collect();
    n.sort();
    n
}

#[test]
fn a_multi_image_is_created_then_in_sync() {
    let options = PlanOptions::default();
    let cat = catalog(&["1.9", "1.10"], true, "");
    let mut images = Vec::new();
    assert_eq!(
        plan_kinds(&images, &cat, &options),
        [
            (ActionKind::Create, "Demo-(1.9)".to_owned()),
            (ActionKind::Create, "Demo".to_owned())
        ]
    );
    simulate(&mut images, &cat, &options);
    assert_eq!(names(&images), ["Demo", "Demo-(1.9)"]);
    let newest = images
        .iter()
        .find(|i| i.name.as_deref() == Some("Demo"))
        .unwrap();
    assert_eq!(newest.custom_property_str("internal_version"), Some("1.10"));
    assert_eq!(
        newest.custom_property_str("hw_vif_multiqueue_enabled"),
        Some("True")
    );
    assert_eq!(
        newest.custom_property_str("image_description"),
        Some("Demo")
    );
    assert_eq!(
        newest.min_disk,
        Some(6),
        "raised to the virtual size, rounded up"
    );
    let mut tags = newest.tags.clone();
    tags.sort();
    assert_eq!(tags, ["extra", "managed_by_osism", "os:debian"]);
    assert_eq!(plan_kinds(&images, &cat, &options), []);
}

#[test]
fn a_new_version_rotates_names_and_keeps_the_old_image() {
    let options = PlanOptions::default();
    let mut images = Vec::new();
    simulate(&mut images, &catalog(&["1"], true, ""), &options);
    let first = images[0].id.clone();
    let cat = catalog(&["1", "2"], true, "");
    let kinds = plan_kinds(&images, &cat, &options);
    assert_eq!(kinds, [(ActionKind::Create, "Demo".to_owned())]);
    simulate(&mut images, &cat, &options);
    assert_eq!(names(&images), ["Demo", "Demo-(1)"]);
    let old = images.iter().find(|i| i.id == first).unwrap();
    assert_eq!(
        old.name.as_deref(),
        Some("Demo-(1)"),
        "the old image was renamed, not replaced"
    );
    assert_eq!(plan_kinds(&images, &cat, &options), []);
}

#[test]
fn a_changed_property_is_an_update_in_place() {
    let options = PlanOptions::default();
    let mut images = Vec::new();
    simulate(&mut images, &catalog(&["1"], false, ""), &options);
    let cat = catalog(&["1"], false, "    min_disk: 20\n");
    let state = CloudImages::new("c", Some(PROJECT.into()), images.clone());
    let plan = plan_cloud(&cat, &state, &HashMap::new(), &options);
    assert_eq!(plan.actions.len(), 1);
    let action = &plan.actions[0];
    assert_eq!(
        (action.action, action.name.as_str()),
        (ActionKind::Update, "Demo-1")
    );
    assert_eq!(action.changes.len(), 1);
    assert_eq!(action.changes[0].field, "min_disk");
    assert_eq!(action.changes[0].to, Some(json!(20)));
    simulate(&mut images, &cat, &options);
    assert_eq!(plan_kinds(&images, &cat, &options), []);
}

#[test]
fn outdated_images_follow_uuid_validity_and_the_flags() {
    let mut images = Vec::new();
    let options = PlanOptions::default();
    simulate(&mut images, &catalog(&["1", "2", "3"], false, ""), &options);
    let cat = catalog(&["3"], false, "");
    // Without flags: nothing happens to versions no longer listed.
    assert_eq!(plan_kinds(&images, &cat, &options), []);
    // uuid_validity last-2 keeps one superseded image: the newest of the two goes on,
    // the older is deleted with --delete --yes-i-really-know-what-i-do.
    let options = PlanOptions {
        delete: true,
        yes_i_really_know_what_i_do: true,
        ..PlanOptions::default()
    };
    assert_eq!(
        plan_kinds(&images, &cat, &options),
        [(ActionKind::Delete, "Demo-1".to_owned())]
    );
    // --delete alone deletes nothing; with --hide --deactivate it retires instead.
    let options = PlanOptions {
        delete: true,
        hide: true,
        deactivate: true,
        ..PlanOptions::default()
    };
    let kinds = plan_kinds(&images, &cat, &options);
    assert_eq!(
        kinds,
        [
            (ActionKind::Hide, "Demo-2".to_owned()),
            (ActionKind::Deactivate, "Demo-1".to_owned())
        ]
    );
    simulate(&mut images, &cat, &options);
    assert_eq!(plan_kinds(&images, &cat, &options), []);
    // --keep keeps versions of images that are not multi.
    let options = PlanOptions {
        delete: true,
        yes_i_really_know_what_i_do: true,
        keep: true,
        ..PlanOptions::default()
    };
    assert_eq!(plan_kinds(&images, &cat, &options), []);
}

#[test]
fn latest_versions_are_matched_by_upstream_checksum() {
    let yaml = "images:\n  - name: L\n    enable: true\n    format: qcow2\n    login: x\n    min_ram: 0\n    status: active\n    visibility: private\n    multi: true\n    meta:\n      architecture: x86_64\n      hw_disk_bus: scsi\n      hypervisor_type: qemu\n      os_distro: debian\n      os_purpose: generic\n      replace_frequency: never\n      uuid_validity: none\n      provided_until: none\n    tags: []\n    versions:\n      - version: latest\n        url: https://example.com/l.qcow2\n        checksums_url: https://example.com/SHA256SUMS\n";
    let cat = Catalog::from_yaml_str("l.yml", yaml).unwrap();
    let options = PlanOptions::default();
    let mut latest = HashMap::new();
    latest.insert(
        "L".to_owned(),
        LatestInfo {
            upstream_checksum: "aa".repeat(32),
            last_modified: Some("20261201".into()),
        },
    );
    let state = CloudImages::new("c", Some(PROJECT.into()), vec![]);
    let plan = plan_cloud(&cat, &state, &latest, &options);
    assert_eq!(plan.actions.len(), 1);
    let publish = &plan.actions[0].work.create.as_ref().unwrap().publish;
    assert_eq!(publish["internal_version"], "20261201");
    assert_eq!(publish["image_build_date"], "2026-12-01");
    assert_eq!(publish["upstream_checksum"], "aa".repeat(32));
    // Without the latest's checksum, the image is a problem, not an action.
    let plan = plan_cloud(&cat, &state, &HashMap::new(), &options);
    assert!(plan.actions.is_empty());
    assert_eq!(plan.problems.len(), 1);
}

#[test]
fn leftovers_of_an_interrupted_apply_are_cleaned_up() {
    let cat = catalog(&["1"], false, "");
    let leftover: Image = serde_json::from_value(json!({
        "id": "left", "name": "Demo-1 (osimg: incoming)", "status": "queued", "owner": PROJECT,
        "visibility": "private", "os_hidden": true, "tags": [super::INCOMING_TAG],
        super::INCOMING_PROPERTY: "Demo",
    }))
    .unwrap();
    // Another catalog's leftover, whose image name only starts with this one's, is not ours.
    let mut foreign = serde_json::to_value(&leftover).unwrap();
    foreign["id"] = "other".into();
    foreign[super::INCOMING_PROPERTY] = "Demo 24.04".into();
    let foreign: Image = serde_json::from_value(foreign).unwrap();
    let kinds = plan_kinds(&[leftover, foreign], &cat, &PlanOptions::default());
    assert_eq!(
        kinds,
        [
            (ActionKind::Cleanup, "Demo-1 (osimg: incoming)".to_owned()),
            (ActionKind::Create, "Demo-1".to_owned())
        ]
    );
}

#[test]
fn unmanaged_images_are_left_alone() {
    let cat = catalog(&["1"], false, "");
    let mut images = Vec::new();
    simulate(&mut images, &cat, &PlanOptions::default());
    // Another project's private image with the tag is not managed here.
    let foreign: Image = serde_json::from_value(json!({
        "id": "f", "name": "Demo-0", "status": "active", "owner": "other",
        "visibility": "private", "tags": ["managed_by_osism"], "image_description": "Demo",
    }))
    .unwrap();
    images.push(foreign);
    let options = PlanOptions {
        delete: true,
        yes_i_really_know_what_i_do: true,
        ..PlanOptions::default()
    };
    assert_eq!(plan_kinds(&images, &cat, &options), []);
}
