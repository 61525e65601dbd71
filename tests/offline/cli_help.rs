//! osimg's help reads well: a command's own options apart from the global and output ones,
//! and usage lines that do not show an option as given when only the environment set it.
//! Only help and usage errors are asked for, so no server is involved.

use std::collections::BTreeMap;
use std::process::{Command, Output};

fn osimg(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_osimg"));
    cmd.args(args)
        .env_remove("OS_CLOUD")
        .env_remove("OSIMG_NO_TOKEN_CACHE")
        .env_remove("CLIFF_MAX_TERM_WIDTH");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("osimg runs")
}

/// The help text cut at its headings (`Options:`, `Global options:`, ...): heading -> text.
fn sections(help: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut current = String::from("(top)");
    for line in help.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            current = line.trim_end_matches(':').to_owned();
            continue;
        }
        let text: &mut String = out.entry(current.clone()).or_default();
        text.push_str(line);
        text.push('\n');
    }
    out
}

#[test]
fn global_and_output_options_stand_apart_from_a_commands_own() {
    let out = osimg(&["image", "list", "--help"], &[]);
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    let s = sections(&help);
    // The options a section lists: the long names that open its entries (not ones its
    // descriptions mention).
    let has = |heading: &str, opt: &str| {
        s.get(heading)
            .unwrap_or_else(|| panic!("no `{heading}:` heading in\n{help}"))
            .lines()
            .map(str::trim_start)
            .filter(|l| l.starts_with('-'))
            .flat_map(|l| l.split([' ', ',']))
            .any(|word| word == opt)
    };
    for own in ["--tag", "--limit", "--max-items", "--project", "--long"] {
        assert!(has("Options", own), "{own} among the command's own options");
    }
    for global in ["--os-cloud", "--debug", "--no-token-cache"] {
        assert!(
            has("Global options", global),
            "{global} under Global options"
        );
        assert!(
            !has("Options", global),
            "{global} not among the command's own"
        );
    }
    for output in [
        "--format",
        "--column",
        "--max-width",
        "--sort-column",
        "--raw",
    ] {
        assert!(
            has("Output options", output),
            "{output} under Output options"
        );
        assert!(
            !has("Options", output),
            "{output} not among the command's own"
        );
    }
}

#[test]
fn usage_lines_do_not_show_env_provided_options_as_given() {
    for env in [
        &[][..],
        &[("OS_CLOUD", "somecloud"), ("CLIFF_MAX_TERM_WIDTH", "80")][..],
    ] {
        let out = osimg(&["image", "show"], env);
        assert_eq!(
            out.status.code(),
            Some(2),
            "a missing IMAGE is a usage error"
        );
        let err = String::from_utf8(out.stderr).unwrap();
        let usage = err
            .lines()
            .find(|l| l.starts_with("Usage:"))
            .unwrap_or_else(|| panic!("no usage line: {err}"));
        assert_eq!(usage, "Usage: osimg image show <IMAGE>", "with {env:?}");
    }
}

/// stdout of a command that must succeed.
fn stdout_of(args: &[&str]) -> String {
    let out = osimg(args, &[]);
    assert!(
        out.status.success(),
        "osimg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn bash_completion_names_the_commands_and_is_valid_bash() {
    let script = stdout_of(&["completion", "bash"]);
    for word in [
        "image",
        "compute-image",
        "cached",
        "schema",
        "completion",
        "man",
        "--os-cloud",
        "--format",
    ] {
        assert!(script.contains(word), "`{word}` in the bash completion");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("osimg.bash");
    std::fs::write(&path, &script).unwrap();
    let check = Command::new("bash").arg("-n").arg(&path).output().unwrap();
    assert!(
        check.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn every_shell_gets_a_script_naming_osimg() {
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let script = stdout_of(&["completion", shell]);
        assert!(script.contains("osimg"), "{shell}: {script}");
        assert!(script.contains("metadef"), "{shell} completes subcommands");
    }
    let out = osimg(&["completion", "tcsh"], &[]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}

#[test]
fn man_prints_roff_for_osimg() {
    let page = stdout_of(&["man"]);
    assert!(page.contains(".TH OSIMG 1"), "{page}");
    assert!(page.contains(".SH NAME"), "{page}");
    assert!(
        page.contains("compute\\-image"),
        "subcommands are listed: {page}"
    );
    assert!(
        page.contains("\\-\\-os\\-cloud"),
        "global options are listed"
    );
}

#[test]
fn man_out_writes_one_page_per_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = osimg(&["man", "--out", dir.path().to_str().unwrap()], &[]);
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.is_empty(), "pages go to files, not stdout");
    for name in [
        "osimg",
        "osimg-image",
        "osimg-image-list",
        "osimg-image-metadef-namespace-list",
        "osimg-completion",
    ] {
        let page = std::fs::read_to_string(dir.path().join(format!("{name}.1")))
            .unwrap_or_else(|e| panic!("{name}.1: {e}"));
        let title = format!(".TH {} 1", name.to_uppercase());
        assert!(page.contains(&title), "{name}.1 has `{title}`:\n{page}");
    }
    assert!(
        !dir.path().join("osimg-help.1").exists(),
        "no page for `help`"
    );
    let list = std::fs::read_to_string(dir.path().join("osimg-image-list.1")).unwrap();
    assert!(
        list.contains(&format!("\"osimg {}\"", env!("CARGO_PKG_VERSION"))),
        "each page names osimg's version: {list}"
    );
}

#[test]
fn version_names_the_schemas_source() {
    let version = stdout_of(&["--version"]);
    let expected = format!(
        "osimg {} (schemas: {})\n",
        env!("CARGO_PKG_VERSION"),
        openstack_images::SCHEMA_SOURCE
    );
    assert_eq!(version, expected);
    assert!(version.contains("Glance 33"), "{version}");
}
