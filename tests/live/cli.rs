//! Live tests of the `osimg` binary against the local stack: each subcommand is run as a
//! subprocess and its output compared with what the API returns through the library.

use std::path::{Path, PathBuf};
use std::process::Output;

use futures_util::TryStreamExt;
use openstack_images::{Client, ImageListQuery, MemberStatus, SchemaKind};
use serde_json::Value;

use crate::harness::{admin, clouds_yaml, osimg_command, require_stack, unique};

/// Runs `osimg` with cloud `local` (unless the arguments name another) and the stack's
/// clouds.yaml, or the one given; its token cache is under the target dir, not the user's.
pub(crate) fn run_with(config: &Path, args: &[&str]) -> Output {
    osimg_command(config, args).output().expect("osimg runs")
}

pub(crate) fn run(args: &[&str]) -> Output {
    run_with(&clouds_yaml(), args)
}

/// Runs `osimg` and expects success; returns stdout.
pub(crate) fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "osimg {args:?} failed ({:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Runs `osimg ... -f json` and parses what it printed.
pub(crate) fn json(args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend(["-f", "json"]);
    let text = ok(&a);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("osimg {args:?}: not JSON ({e}): {text}"))
}

/// Runs `osimg` and expects it to fail with `code`; returns stderr.
pub(crate) fn fails(code: i32, args: &[&str]) -> String {
    let out = run(args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "osimg {args:?}: expected exit {code}; stderr: {err}"
    );
    err
}

/// A small file of known content in a temp dir.
fn data_file(dir: &Path, len: usize) -> (PathBuf, Vec<u8>) {
    let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
    let path = dir.join("data.raw");
    std::fs::write(&path, &data).unwrap();
    (path, data)
}

/// Deletes the image when the test ends, whatever happened.
struct Cleanup(Vec<String>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for id in &self.0 {
            let _ = run(&["image", "delete", id]);
        }
    }
}

#[tokio::test]
async fn image_create_show_set_unset_save_list_delete() {
    require_stack();
    let images = admin().images();
    let dir = tempfile::tempdir().unwrap();
    let (file, data) = data_file(dir.path(), 3000);
    let name = unique("cli-life");
    let created = json(&[
        "image",
        "create",
        &name,
        "--file",
        file.to_str().unwrap(),
        "--property",
        "os_distro=cirros",
        "--property",
        "owner_team=images",
        "--tag",
        &name,
        "--tag",
        "cli",
        "--min-ram",
        "128",
    ]);
    let id = created["id"].as_str().expect("id").to_owned();
    let _cleanup = Cleanup(vec![id.clone()]);
    assert_eq!(created["status"], "active");
    assert_eq!(created["size"], 3000);
    // openstack's layout: custom and non-core fields under `properties`, no `self`.
    assert_eq!(created["properties"]["owner_team"], "images");
    assert_eq!(created["properties"]["os_hash_algo"], "sha512");
    assert!(created.get("owner_team").is_none() && created.get("self").is_none());

    // `--raw show -f json` is the image exactly as the API returns it, by id and by name.
    let raw = images.get_json(&id).await.unwrap();
    assert_eq!(json(&["--raw", "image", "show", &id]), raw);
    assert_eq!(json(&["image", "show", &name, "--raw"]), raw);
    assert!(raw.get("tags").is_some(), "raw JSON keeps every key");
    let shown = json(&["image", "show", &id]);
    assert_eq!(shown["id"], raw["id"]);
    assert_eq!(shown["properties"]["os_distro"], "cirros");
    assert_eq!(shown["properties"]["stores"], raw["stores"]);
    assert!(shown.get("self").is_none());
    // osc-lib's decimal size, and today's binary one with --raw.
    let size = ok(&[
        "image",
        "show",
        &id,
        "--human-readable",
        "-c",
        "size",
        "-f",
        "value",
    ]);
    assert_eq!(size.trim(), "3K");
    let size = ok(&[
        "--raw",
        "image",
        "show",
        &id,
        "--human-readable",
        "-c",
        "size",
        "-f",
        "value",
    ]);
    assert_eq!(size.trim(), "2.9 KiB");
    let table = ok(&["image", "show", &id]);
    assert!(table.contains("| properties ") && table.contains("owner_team='images'"));
    let table = ok(&["--raw", "image", "show", &id]);
    assert!(table.contains("| owner_team ") && table.contains("| images "));

    // list: filters, --raw --long JSON as the API returned it, openstack's long columns,
    // default columns, value format.
    let long = json(&["--raw", "image", "list", "--tag", &name, "--long"]);
    assert_eq!(long, Value::Array(vec![raw.clone()]));
    let long = json(&["image", "list", "--tag", &name, "--long"]);
    assert_eq!(long[0]["Hash Value"], raw["os_hash_value"]);
    assert_eq!(long[0]["Project"], raw["owner"]);
    assert_eq!(long[0]["Tags"], raw["tags"]);
    let short = json(&["image", "list", "--tag", &name, "--tag", "cli"]);
    assert_eq!(
        short,
        serde_json::json!([{"ID": id, "Name": name, "Status": "active"}])
    );
    let ids = ok(&[
        "image",
        "list",
        "--property",
        "owner_team=images",
        "--tag",
        &name,
        "-c",
        "ID",
        "-f",
        "value",
    ]);
    assert_eq!(ids.trim(), id);
    assert_eq!(
        ok(&[
            "image", "list", "--tag", &name, "--status", "queued", "-f", "value"
        ])
        .trim(),
        ""
    );

    // set: rename, properties, tags added to the existing ones, min disk.
    let renamed = format!("{name}-renamed");
    ok(&[
        "image",
        "set",
        &id,
        "--name",
        &renamed,
        "--property",
        "os_version=0.6",
        "--tag",
        "extra",
        "--min-disk",
        "1",
    ]);
    let image = images.get(&id).await.unwrap();
    assert_eq!(image.name.as_deref(), Some(renamed.as_str()));
    assert_eq!(image.os_version.as_deref(), Some("0.6"));
    assert_eq!(image.min_disk, Some(1));
    let mut tags = image.tags.clone();
    tags.sort();
    let mut want = vec![name.clone(), "cli".to_owned(), "extra".to_owned()];
    want.sort();
    assert_eq!(tags, want);

    // unset: a property and a tag; a missing one is an error that changes nothing.
    ok(&[
        "image",
        "unset",
        &id,
        "--property",
        "owner_team",
        "--tag",
        "extra",
    ]);
    let image = images.get(&id).await.unwrap();
    assert!(image.custom_property("owner_team").is_none());
    assert!(!image.tags.contains(&"extra".to_owned()));
    fails(
        1,
        &["image", "unset", &id, "--property", "no_such_property"],
    );

    // save: the data comes back verified and identical.
    let saved = dir.path().join("saved.raw");
    ok(&["image", "save", &id, "--file", saved.to_str().unwrap()]);
    assert_eq!(std::fs::read(&saved).unwrap(), data);

    // delete: gone afterwards; deleting again is "not found".
    ok(&["image", "delete", &id]);
    assert!(images.get(&id).await.unwrap_err().is_not_found());
    fails(3, &["image", "delete", &id]);
}

#[tokio::test]
async fn delete_reports_each_failure_and_deletes_the_rest() {
    require_stack();
    let images = admin().images();
    let name = unique("cli-del");
    let id = json(&["image", "create", &name])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let _cleanup = Cleanup(vec![id.clone()]);
    let missing = unique("cli-missing");
    let err = fails(3, &["image", "delete", &missing, &id]);
    assert!(err.contains(&missing), "{err}");
    assert!(err.contains("1 of 2"), "{err}");
    assert!(images.get(&id).await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn share_accept_member_list_remove() {
    require_stack();
    let admin = admin();
    let images = admin.images();
    let demo = Client::from_cloud("local-demo").unwrap();
    let demo_project = demo.project_id().await.unwrap().unwrap();
    let name = unique("cli-share");
    let id = json(&["image", "create", &name, "--shared"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let _cleanup = Cleanup(vec![id.clone()]);

    let member = json(&["image", "add", "project", &id, &demo_project]);
    assert_eq!(member["member_id"], demo_project);
    assert_eq!(member["status"], "pending");

    ok(&["--os-cloud", "local-demo", "image", "set", &id, "--accept"]);
    let m = images.member(&id, &demo_project).await.unwrap();
    assert_eq!(m.status, Some(MemberStatus::Accepted));

    let list = json(&["image", "member", "list", &name]);
    assert_eq!(
        list,
        serde_json::json!([{"Image ID": id, "Member ID": demo_project, "Status": "accepted"}])
    );
    // The member now sees it in its listing.
    let seen = ok(&[
        "--os-cloud",
        "local-demo",
        "image",
        "list",
        "--name",
        &name,
        "-c",
        "ID",
        "-f",
        "value",
    ]);
    assert_eq!(seen.trim(), id);

    ok(&["image", "remove", "project", &id, &demo_project]);
    assert!(images.members(&id).await.unwrap().is_empty());
}

#[tokio::test]
async fn stage_import_and_create_via_import() {
    require_stack();
    let images = admin().images();
    let dir = tempfile::tempdir().unwrap();
    let (file, data) = data_file(dir.path(), 5000);

    let name = unique("cli-stage");
    let id = json(&["image", "create", &name])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let name2 = unique("cli-import");
    let mut cleanup = Cleanup(vec![id.clone()]);
    ok(&["image", "stage", &id, "--file", file.to_str().unwrap()]);
    assert_eq!(
        images.get(&id).await.unwrap().status.unwrap().as_str(),
        "uploading"
    );
    let imported = json(&[
        "image",
        "import",
        &id,
        "--method",
        "glance-direct",
        "--wait",
    ]);
    assert_eq!(imported["status"], "active");
    assert_eq!(imported["size"], 5000);

    let created = json(&[
        "image",
        "create",
        &name2,
        "--file",
        file.to_str().unwrap(),
        "--import",
    ]);
    let id2 = created["id"].as_str().unwrap().to_owned();
    cleanup.0.push(id2.clone());
    assert_eq!(created["status"], "active");
    let saved = dir.path().join("saved");
    ok(&["image", "save", &name2, "--file", saved.to_str().unwrap()]);
    assert_eq!(std::fs::read(saved).unwrap(), data);
    // Usage mistakes are caught before anything is created.
    fails(
        2,
        &[
            "image",
            "import",
            &id2,
            "--method",
            "web-download", // no --uri
        ],
    );
}

#[tokio::test]
async fn exit_codes_for_usage_not_found_and_auth() {
    require_stack();
    fails(2, &["image", "list", "--no-such-flag"]);
    fails(2, &["image", "show"]);
    fails(2, &["image", "list", "--public", "--private"]);
    fails(2, &["image", "list", "--sort", "name:sideways"]);
    fails(2, &["-f", "xml", "image", "list"]);
    fails(2, &["-f", "shell", "image", "list"]);
    // An unknown column alone fails as in openstack; beside a known one it is ignored.
    let err = fails(1, &["image", "list", "-c", "Bogus"]);
    assert!(
        err.contains("No recognized column names in ['Bogus']"),
        "{err}"
    );
    let out = run(&[
        "image", "list", "-c", "Bogus", "-c", "ID", "--limit", "1", "-f", "csv",
    ]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("\"ID\"\n"));
    let err = fails(
        3,
        &["image", "show", "00000000-0000-4000-8000-000000000000"],
    );
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    fails(3, &["image", "show", &unique("cli-none")]);
    fails(3, &["compute-image", "show", &unique("cli-none")]);

    // A copy of clouds.yaml with every password wrong.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(clouds_yaml()).unwrap();
    let bad: String = text
        .lines()
        .map(|l| match l.split_once("password:") {
            Some((indent, _)) => format!("{indent}password: not-the-password"),
            None => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let config = dir.path().join("clouds.yaml");
    std::fs::write(&config, bad).unwrap();
    // The token cache is keyed by who and where, not by the password: a token cached for
    // the same user would be used without asking Keystone, so this run does not use it.
    let out = run_with(&config, &["--no-token-cache", "image", "list"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "stderr: {err}");
    assert!(
        !err.contains("not-the-password"),
        "the password leaked: {err}"
    );
}

#[tokio::test]
async fn compute_image_list_show_delete() {
    require_stack();
    let client = admin();
    let dir = tempfile::tempdir().unwrap();
    let (file, _) = data_file(dir.path(), 1000);
    let name = unique("cli-nova");
    let id = json(&["image", "create", &name, "--file", file.to_str().unwrap()])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let _cleanup = Cleanup(vec![id.clone()]);

    let list = json(&["compute-image", "list", "--name", &name]);
    assert_eq!(
        list,
        serde_json::json!([{"ID": id, "Name": name, "Status": "ACTIVE"}])
    );
    let long = json(&["compute-image", "list", "--name", &name, "--long"]);
    let typed = client.compute_images().get(&id).await.unwrap();
    assert_eq!(long, serde_json::json!([typed]));
    assert_eq!(
        json(&["compute-image", "show", &name]),
        serde_json::to_value(&typed).unwrap()
    );
    ok(&["compute-image", "delete", &id]);
    assert!(client.images().get(&id).await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn schema_show_and_pull_match_the_api() {
    require_stack();
    let images = admin().images();
    let served = images.schema_json(SchemaKind::Image).await.unwrap();
    assert_eq!(json(&["schema", "show", "image"]), served);
    let dir = tempfile::tempdir().unwrap();
    ok(&["schema", "pull", "--out", dir.path().to_str().unwrap()]);
    // The layout a build reads (OPENSTACK_IMAGES_SCHEMA_DIR), Nova's schema the build's own.
    let compute = std::fs::read_to_string(dir.path().join("compute/v2.1/image.json")).unwrap();
    assert_eq!(compute, openstack_images::BUILD_COMPUTE_IMAGE_SCHEMA);
    for kind in SchemaKind::ALL {
        let path = dir.path().join(format!("image/v2/{}.json", kind.as_str()));
        let text = std::fs::read_to_string(path).unwrap();
        let served = images.schema_json(kind).await.unwrap();
        let mut canonical = serde_json::to_string_pretty(&served).unwrap();
        canonical.push('\n');
        assert_eq!(text, canonical, "{}.json is canonical", kind.as_str());
    }
}

/// The raw-JSON listing pages exactly like the typed one (same ids, same order), one image
/// per page, and `--limit` stops after N.
#[tokio::test]
async fn raw_listing_pages_like_the_typed_one() {
    require_stack();
    let images = admin().images();
    let tag = unique("cli-pages");
    let mut cleanup = Cleanup(Vec::new());
    for i in 0..3 {
        let id = json(&["image", "create", &format!("{tag}-{i}"), "--tag", &tag])["id"]
            .as_str()
            .unwrap()
            .to_owned();
        cleanup.0.push(id);
    }
    let q = ImageListQuery::new().tag(&tag).page_size(1);
    let typed: Vec<String> = images
        .list(q.clone())
        .map_ok(|i| i.id)
        .try_collect()
        .await
        .unwrap();
    let raw: Vec<Value> = images.list_json(q).try_collect().await.unwrap();
    let raw_ids: Vec<String> = raw
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(typed.len(), 3);
    assert_eq!(raw_ids, typed);
    let two = ok(&[
        "image",
        "list",
        "--tag",
        &tag,
        "--limit",
        "2",
        "--sort",
        "name:desc",
        "-c",
        "Name",
        "-f",
        "value",
    ]);
    assert_eq!(
        two.lines().collect::<Vec<_>>(),
        vec![format!("{tag}-2"), format!("{tag}-1")]
    );
}

/// `--debug` logs each request to stderr, and never a password or a token.
#[tokio::test]
async fn debug_logs_requests_without_secrets() {
    require_stack();
    let out = run(&["--debug", "image", "list", "--limit", "1", "-f", "value"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("request") && err.contains("/v2/images"),
        "{err}"
    );
    let text = std::fs::read_to_string(clouds_yaml()).unwrap();
    for line in text.lines() {
        if let Some((_, secret)) = line
            .split_once("password:")
            .or_else(|| line.split_once("application_credential_secret:"))
        {
            let secret = secret.trim();
            assert!(!err.contains(secret), "a secret leaked into the debug log");
        }
    }
    assert!(!err.to_ascii_lowercase().contains("x-auth-token"), "{err}");
}
