//! `osimg catalog apply`: carries a plan out with a bar per upload and cloud on a
//! terminal, a line per event otherwise, and a summary at the end.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use openstack_images::{ActionKind, ApplyEvent, ApplyOptions, Catalog, Client, Plan};

use crate::catalog_cmd::report_problems;
use crate::output::report;
use crate::{CmdResult, Fail};

/// Applies `plan`; fails (status 1) if any action failed or any image could not be
/// planned, after every other action ran.
pub async fn apply(
    catalog: &Catalog,
    clients: &[(String, Client)],
    plan: Plan,
    parallel: usize,
    allow_missing_checksum: bool,
    import: openstack_images::CatalogImport,
) -> CmdResult {
    if plan.is_empty() {
        eprintln!("nothing to do: every cloud is in sync with the catalog");
        return report_problems(&plan);
    }
    let mut problems = Plan::default();
    problems.problems = plan.problems.clone();
    let terminal = std::io::stderr().is_terminal();
    let bars = Arc::new(Bars {
        multi: MultiProgress::with_draw_target(if terminal {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        }),
        bars: Mutex::new(HashMap::new()),
        terminal,
    });
    let sink = bars.clone();
    let options = ApplyOptions::default()
        .parallel(parallel)
        .allow_missing_checksum(allow_missing_checksum)
        .import(import)
        .events(move |e| sink.event(e));
    let refs: Vec<(&str, &Client)> = clients.iter().map(|(n, c)| (n.as_str(), c)).collect();
    let report_ = catalog.apply(plan, &refs, &options).await;
    bars.multi.clear().ok();

    // Summary: what was done, what failed.
    let mut done: HashMap<ActionKind, usize> = HashMap::new();
    for o in report_.outcomes.iter().filter(|o| o.error.is_none()) {
        *done.entry(o.action).or_default() += 1;
    }
    let mut kinds: Vec<_> = done.into_iter().collect();
    kinds.sort();
    let summary: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let failed: Vec<_> = report_.failures().collect();
    eprintln!(
        "applied: {}; failed: {}",
        if summary.is_empty() {
            "nothing".into()
        } else {
            summary.join(", ")
        },
        failed.len()
    );
    for f in &failed {
        report(&format!(
            "{}: {} {}: {}",
            f.cloud,
            f.action,
            f.name,
            f.error.as_deref().unwrap_or("")
        ));
    }
    report_problems(&problems)?;
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Fail::other(format!("{} action(s) failed", failed.len())))
    }
}

/// A bar when the total is known, a spinner with the count otherwise; the message (cloud
/// and image name) whole, the bar as wide as the rest of the line.
fn style(total: bool) -> ProgressStyle {
    let template = if total {
        "{msg} [{wide_bar}] {bytes}/{total_bytes} {bytes_per_sec}"
    } else {
        "{msg} {spinner} {bytes} {bytes_per_sec}"
    };
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<(String, String), ProgressBar>>,
    terminal: bool,
}

impl Bars {
    fn event(&self, e: &ApplyEvent) {
        match e {
            ApplyEvent::Started {
                cloud,
                name,
                action,
            } => {
                if self.terminal && *action == ActionKind::Create {
                    let bar = self.multi.add(ProgressBar::no_length());
                    bar.set_style(style(false));
                    bar.set_message(format!("{cloud}: {name}"));
                    if let Ok(mut b) = self.bars.lock() {
                        b.insert((cloud.clone(), name.clone()), bar);
                    }
                } else {
                    self.line(&format!("{cloud}: {action} {name}..."));
                }
            }
            ApplyEvent::Progress {
                cloud,
                name,
                bytes,
                total,
            } => {
                if let Ok(b) = self.bars.lock()
                    && let Some(bar) = b.get(&(cloud.clone(), name.clone()))
                {
                    if bar.position() == 0 && bar.length().is_none() {
                        // The first bytes: the rate counts from here, not from the image's
                        // creation; a bar once the total is known (a decompressed source's
                        // is not), a count and a rate until then.
                        bar.reset();
                        if let Some(t) = total {
                            bar.set_style(style(true));
                            bar.set_length(*t);
                        }
                    }
                    bar.set_position(*bytes);
                }
            }
            ApplyEvent::Message { cloud, name, text } => {
                self.line(&format!("{cloud}: {name}: {text}"));
            }
            ApplyEvent::Finished(o) => {
                if let Ok(mut b) = self.bars.lock()
                    && let Some(bar) = b.remove(&(o.cloud.clone(), o.name.clone()))
                {
                    bar.finish_and_clear();
                }
                match &o.error {
                    None => self.line(&format!("{}: {} {}: done", o.cloud, o.action, o.name)),
                    Some(err) => self.line(&format!(
                        "{}: {} {}: FAILED: {err}",
                        o.cloud, o.action, o.name
                    )),
                }
            }
            _ => {}
        }
    }

    /// One escaped line on stderr, above the bars on a terminal.
    fn line(&self, text: &str) {
        let text = crate::output::escape_controls(text);
        if self.terminal {
            self.multi.println(text.as_ref()).ok();
        } else {
            eprintln!("{text}");
        }
    }
}
