//! Ctrl-C and SIGTERM: the command stops, what it made is cleaned up, and osimg exits 130
//! (SIGINT) or 143 (SIGTERM), as Unix tools killed by those signals do.
//!
//! The command's future is dropped where it stands: a download's temporary file is removed
//! by its guard, and an image being created or copied is deleted by a task its guard spawns
//! (`openstack_images::DeleteOnDrop`), which [`stop`] waits for. A second signal while it
//! waits exits at once.

use std::future::Future;
use std::time::Duration;

use crate::output::report;
use crate::{CmdResult, Fail};

/// How long the cleanup after a signal may take before osimg gives up and says what is left.
const CLEANUP_LIMIT: Duration = Duration::from_secs(60);

/// SIGINT and SIGTERM, received as events instead of ending the process.
pub struct Interrupts {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Interrupts {
    /// Takes the two signals over; from now on they no longer end the process by themselves.
    pub fn new() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Interrupts {
                int: signal(SignalKind::interrupt())?,
                term: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Interrupts {})
    }

    /// The exit status of the next signal: 130 for SIGINT, 143 for SIGTERM.
    pub async fn next(&mut self) -> u8 {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.int.recv() => 130,
                _ = self.term.recv() => 143,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            130
        }
    }
}

/// Runs `command` until it ends or a signal comes; then drops it and cleans up.
pub async fn run_until_interrupted(
    command: impl Future<Output = CmdResult>,
    mut interrupts: Interrupts,
) -> CmdResult {
    let code = tokio::select! {
        result = command => return result,
        code = interrupts.next() => code,
    };
    // The command's future is gone: its guards have removed temporary files and started
    // deleting what it was creating.
    stop(code, &mut interrupts).await
}

/// Waits for the cleanups the dropped command started, unless a second signal comes first.
async fn stop(code: u8, interrupts: &mut Interrupts) -> CmdResult {
    report("interrupted: cleaning up (interrupt again to exit at once)");
    let failures = tokio::select! {
        failures = openstack_images::finish_cleanups(CLEANUP_LIMIT) => failures,
        _ = interrupts.next() => {
            return Err(Fail {
                code,
                message: "interrupted again: cleanup abandoned".into(),
            });
        }
    };
    for failure in &failures {
        report(&failure.to_string());
    }
    Err(Fail {
        code,
        message: if failures.is_empty() {
            "interrupted".into()
        } else {
            format!("interrupted: {} left behind", failures.len())
        },
    })
}
