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
