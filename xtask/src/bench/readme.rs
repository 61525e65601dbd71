//! The README's performance table, generated from `target/bench/report.json`: every full
//! `cargo xtask bench` rewrites the marked section, and `cargo xtask bench --readme` does it
//! from the latest report without measuring.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use super::report::{Target, targets_table};

pub const START: &str =
    "<!-- bench:start: generated from target/bench/report.json by `cargo xtask bench` -->";
pub const END: &str = "<!-- bench:end -->";

#[derive(Deserialize)]
struct Report {
    quick: bool,
    repeats: usize,
    targets: Vec<Target>,
    #[serde(default)]
    notes: Vec<String>,
}

/// The section's text (between the markers) for a report.
pub fn render(report_json: &str) -> Result<String> {
    let r: Report = serde_json::from_str(report_json).context("reading report.json")?;
    let mut md = format!(
        "\nFrom the latest `cargo xtask bench{}` ({} runs per figure; every figure is in \
         `target/bench/report.md`):\n\n",
        if r.quick { " --quick" } else { "" },
        r.repeats
    );
    for n in &r.notes {
        md.push_str(n);
        md.push_str("\n\n");
    }
    md.push_str(&targets_table(&r.targets));
    Ok(md)
}

/// `readme` with the text between the markers replaced by `section`.
pub fn splice(readme: &str, section: &str) -> Result<String> {
    let (Some(a), Some(b)) = (readme.find(START), readme.find(END)) else {
        bail!("the README has no `{START}` ... `{END}` section");
    };
    if b < a {
        bail!("the README's bench markers are out of order");
    }
    Ok(format!(
        "{}{START}\n{}{}",
        &readme[..a],
        section.trim_start_matches('\n').trim_end().to_owned() + "\n",
        &readme[b..]
    ))
}

/// Rewrites `README.md` under `root` from `report`.
pub fn update(root: &Path, report: &Path) -> Result<()> {
    let json = std::fs::read_to_string(report).with_context(|| {
        format!(
            "reading {} (run `cargo xtask bench` first)",
            report.display()
        )
    })?;
    let path = root.join("README.md");
    let readme = std::fs::read_to_string(&path)?;
    let updated = splice(&readme, &render(&json)?)?;
    if updated != readme {
        std::fs::write(&path, updated)?;
        println!(
            "bench: README.md performance table rewritten from {}",
            report.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = r#"{"quick": true, "repeats": 2, "data_bytes": 1, "rows": [],
        "targets": [
          {"target": "cli show: repeated osimg (token cache) <= 1.0x osc", "measured": "0.80x (min 0.90x)", "met": true},
          {"target": "download: crate >= 0.95x curl", "measured": "0.15x (min 0.15x)", "met": false}
        ],
        "notes": ["Partial run: sections cli."]}"#;

    #[test]
    fn the_table_comes_from_the_report() {
        let md = render(REPORT).unwrap();
        assert!(
            md.contains("`cargo xtask bench --quick` (2 runs per figure"),
            "{md}"
        );
        assert!(md.contains("Partial run: sections cli.\n"));
        assert!(md.contains(
            "| cli show: repeated osimg (token cache) <= 1.0x osc | 0.80x (min 0.90x) | yes |"
        ));
        assert!(md.contains("| download: crate >= 0.95x curl | 0.15x (min 0.15x) | **no** |"));
        assert!(render("{").is_err());
    }

    #[test]
    fn only_the_marked_section_is_replaced() {
        let readme = format!("# Title\nbefore\n{START}\nold table\n{END}\nafter\n");
        let out = splice(&readme, &render(REPORT).unwrap()).unwrap();
        assert!(out.starts_with("# Title\nbefore\n"));
        assert!(out.ends_with(&format!("{END}\nafter\n")));
        assert!(!out.contains("old table"));
        // Splicing again gives the same text: a rerun changes nothing.
        assert_eq!(splice(&out, &render(REPORT).unwrap()).unwrap(), out);
        assert!(splice("no markers", "x").is_err());
        assert!(splice(&format!("{END}{START}"), "x").is_err());
    }

    #[test]
    fn the_readme_has_the_markers() {
        let readme = std::fs::read_to_string(crate::workspace_root().join("README.md")).unwrap();
        let section = &readme[readme.find(START).unwrap()..readme.find(END).unwrap()];
        assert!(section.contains("| target | measured (median, min) | met |"));
    }
}
