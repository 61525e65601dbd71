//! Schema drift against the local stack, whose schemas are the committed ones (`cargo xtask
//! test` checks that before the live tests): the library and `osimg schema diff` find none.
//! Drift itself (a property and an enum value gone, others added) is shown offline, by the
//! build from an altered schema directory in `tests/offline/codegen.rs` and by the mock
//! Glance of `tests/offline/cli_schema.rs`.

use openstack_images::build_schemas;

use crate::cli::{json, run};
use crate::harness::{admin, require_stack};

#[tokio::test]
async fn the_stack_serves_the_schemas_the_crate_was_built_from() {
    require_stack();
    // Every schema the build has is compared, the metadef ones included.
    assert_eq!(build_schemas().count(), 16);
    let drift = admin().images().schema_drift().await.unwrap();
    assert!(drift.is_empty(), "{drift:#?}");
}

#[test]
fn osimg_schema_diff_exit_code_is_0_and_prints_nothing_when_in_sync() {
    require_stack();
    let out = run(&["schema", "diff", "--exit-code"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert_eq!(
        json(&["schema", "diff", "--exit-code"]),
        serde_json::json!([])
    );
}
