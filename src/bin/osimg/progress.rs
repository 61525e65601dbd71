//! Progress bars on stderr (bytes, rate, ETA) for uploads, downloads and waits; nothing at
//! all when stderr is not a terminal, so scripts and logs stay clean.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

fn target() -> ProgressDrawTarget {
    if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    }
}

/// A byte-transfer bar; `what` names the transfer (`upload`, `download`).
pub fn bytes(what: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, target());
    bar.set_style(
        ProgressStyle::with_template(
            "{msg:>9} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

/// The callback the library's transfers report to: bytes so far and, if known, the total.
pub fn reporter(bar: &ProgressBar) -> impl Fn(u64, Option<u64>) + Send + Sync + 'static {
    let bar = bar.clone();
    move |done, total| {
        if let Some(t) = total
            && bar.length() != Some(t)
        {
            bar.set_length(t);
        }
        bar.set_position(done);
    }
}

/// A spinner for waits whose length is unknown (an import, the image becoming active).
pub fn spinner(what: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, target());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(what.to_owned());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}
