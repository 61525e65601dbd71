//! `osimg catalog validate`: openstack-image-manager's files checked offline, problems one
//! per line on stdout and exit status 2.

use std::path::Path;
use std::process::{Command, Output};

fn osimg(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_osimg"))
        .args(args)
        .env_remove("OS_CLOUD")
        .env_remove("OS_AUTH_URL")
        .output()
        .expect("osimg runs")
}

fn corpus() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/catalog/oim")
        .display()
        .to_string()
}

#[test]
fn catalog_validate_accepts_openstack_image_managers_own_files() {
    let out = osimg(&["catalog", "validate", "--images", &corpus()]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.ends_with("versions: valid\n"), "{stdout}");
}

#[test]
fn catalog_validate_prints_each_problem_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yml");
    let text = std::fs::read_to_string(Path::new(&corpus()).join("cirros.yml")).unwrap();
    let text = text
        .replace("enable: true", "enable: \"\\e[31mtrue\"")
        .replace("format: qcow2", "format: qcow3");
    std::fs::write(&bad, text).unwrap();
    let cirros = format!("{}/cirros.yml", corpus());
    let out = osimg(&[
        "catalog",
        "validate",
        "--images",
        &cirros,
        "--images",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    let bad = bad.display();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(
        lines[0],
        format!("{bad}:5:13: images.0.enable: '\\x1b[31mtrue' is not a bool.")
    );
    assert!(lines[1].starts_with(&format!("{bad}:6:13: images.0.format: 'qcow3' not in (")));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr, "osimg: 2 problem(s) in the image definitions\n");
}

#[test]
fn catalog_validate_needs_images() {
    let out = osimg(&["catalog", "validate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--images <PATH>"));
}
