//! osimg and openstack-image-manager (pinned, installed by the xtask, `$OPENSTACK_IMAGES_OIM`)
//! on the same cloud: after either one applied a catalog, the other finds nothing to do.
//! The catalog leaves out what the tool itself re-writes on every run
//! (`hw_vif_multiqueue_enabled`...) and `status: deactivated` (which makes its next run wait
//! for the image as if it were importing): docs/oim-behaviour.md.

use serde_json::Value;

use crate::catalog::{Fixture, catalog_yaml, delete_all, osimg, qcow2, text};
use crate::harness::admin;
use crate::oim::{OIM_TAG, run_oim, snapshot};

/// The managed images of this test's catalog, as Glance serves them, by name.
async fn state(prefix: &str) -> Vec<(String, Value)> {
    let snap = snapshot(&admin(), OIM_TAG).await;
    let mut mine: Vec<(String, Value)> = snap
        .images
        .into_values()
        .filter_map(|mut v| {
            let name = v["name"].as_str()?.to_owned();
            // Glance keeps tags as a set: its order in answers varies.
            if let Some(tags) = v["tags"].as_array_mut() {
                tags.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            }
            name.starts_with(prefix).then_some((name, v))
        })
        .collect();
    mine.sort_by(|a, b| a.0.cmp(&b.0));
    mine
}

/// A catalog of one `multi` image with two versions, served by the test.
async fn two_versions(prefix: &str) -> Fixture {
    let f = Fixture::new(prefix).await;
    qcow2(f.dir.path(), "v1.qcow2", 64, 1);
    qcow2(f.dir.path(), "v2.qcow2", 64, 1);
    f.checksums(&["v1.qcow2", "v2.qcow2"], None);
    let versions = [("1", "v1.qcow2".to_owned()), ("2", "v2.qcow2".to_owned())];
    f.write_catalog(&catalog_yaml(&f.name, 64, &versions, &f.server));
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_openstack_image_manager_applied_a_catalog_osimg_plans_nothing() {
    let f = two_versions("cat-oim1").await;
    let run = run_oim("local", &f.images, &[]);
    assert!(
        run.success(),
        "openstack-image-manager failed:\n{}",
        run.log
    );
    let made = state(&f.name).await;
    assert_eq!(
        made.len(),
        2,
        "{:?}",
        made.iter().map(|m| &m.0).collect::<Vec<_>>()
    );
    let plan = f.plan_json(&["local"]);
    assert!(
        plan.is_empty(),
        "osimg would change a cloud openstack-image-manager keeps: {plan:#?}"
    );
    delete_all(&f.name).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_osimg_applied_a_catalog_openstack_image_manager_changes_nothing() {
    let f = two_versions("cat-oim2").await;
    let out = osimg(&f.args("apply", &["local"], &[]));
    assert!(out.status.success(), "{}", text(&out));
    let before = state(&f.name).await;
    assert_eq!(before.len(), 2);

    // --dry-run: no import is needed.
    let dry = run_oim("local", &f.images, &["--dry-run"]);
    assert!(dry.success(), "{}", dry.log);
    assert!(!dry.log.contains("Skipping required import"), "{}", dry.log);
    // A real run writes nothing: no image created, deleted or changed (updated_at included).
    let run = run_oim("local", &f.images, &[]);
    assert!(run.success(), "{}", run.log);
    let after = state(&f.name).await;
    assert_eq!(
        before, after,
        "openstack-image-manager changed what osimg applied:\n{}",
        run.log
    );
    delete_all(&f.name).await;
}
