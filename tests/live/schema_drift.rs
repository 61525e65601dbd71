//! Schema drift against the local stack. The newest release serves the committed schemas
//! (`cargo xtask test` checks that before the live tests): the library and `osimg schema
//! diff` find none. An older release's Glance serves what `cargo xtask schema check
//! --release R` measured (the README's table): both find exactly that. Drift itself (a
//! property and an enum value gone, others added) is shown offline, by the build from an
//! altered schema directory in `tests/offline/codegen.rs` and by the mock Glance of
//! `tests/offline/cli_schema.rs`.

use openstack_images::{SchemaChange, SchemaKind, build_schemas};
use serde_json::json;

use crate::cli::{json, run};
use crate::harness::{admin, release, require_stack};

/// What the stack's release serves differently from the committed (2026.2) schemas:
/// before 2024.2 (Glance 28) the task `type` enum has no `location_import` (the locations
/// API's task, API 2.17). 2024.2 to 2026.1 serve the committed schemas exactly.
fn expected_drift() -> Vec<(SchemaKind, Vec<SchemaChange>)> {
    if release().at_least("2024.2") {
        return vec![];
    }
    let removed = |property: &str| SchemaChange::EnumValueRemoved {
        property: property.into(),
        value: json!("location_import"),
    };
    vec![
        (SchemaKind::Task, vec![removed("type")]),
        (SchemaKind::Tasks, vec![removed("tasks[].type")]),
    ]
}

#[tokio::test]
async fn the_stack_serves_the_schemas_the_crate_was_built_from() {
    require_stack();
    // Every schema the build has is compared, the metadef ones included.
    assert_eq!(build_schemas().count(), 16);
    let drift: Vec<(SchemaKind, Vec<SchemaChange>)> = admin()
        .images()
        .schema_drift()
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.kind, d.changes))
        .collect();
    assert_eq!(drift, expected_drift());
}

#[test]
fn osimg_schema_diff_exit_code_is_0_and_prints_nothing_when_in_sync() {
    require_stack();
    let expected = expected_drift();
    let out = run(&["schema", "diff", "--exit-code"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(if expected.is_empty() { 0 } else { 1 }),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // One row per change: its schema, kind of change, property and value, whatever the
    // JSON keys are named.
    let rows = json(&["schema", "diff"]);
    let rows = rows.as_array().expect("a JSON list");
    let cells = |row: &serde_json::Value| -> Vec<String> {
        let obj = row.as_object().expect("a row is an object");
        obj.values()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect()
    };
    let want: Vec<[String; 4]> = expected
        .iter()
        .flat_map(|(kind, changes)| {
            changes.iter().map(move |c| {
                let SchemaChange::EnumValueRemoved { property, value } = c else {
                    unreachable!("only removed enum values are expected")
                };
                [
                    kind.as_str().to_owned(),
                    c.name().to_owned(),
                    property.clone(),
                    value.as_str().unwrap().to_owned(),
                ]
            })
        })
        .collect();
    assert_eq!(rows.len(), want.len(), "{rows:?}");
    for (row, want) in rows.iter().zip(&want) {
        let cells = cells(row);
        for w in want {
            assert!(cells.contains(w), "{w} not in {row}");
        }
    }
    if expected.is_empty() {
        assert_eq!(stdout, "");
    }
}
