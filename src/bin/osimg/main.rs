//! `osimg`: a command-line client for the OpenStack Image service, in the habits of
//! `openstack image` (python-openstackclient), built on the `openstack-images` crate.

mod cache_cmd;
mod catalog_apply;
mod catalog_cmd;
mod cells;
mod completion_cmd;
mod compute_cmd;
mod copy_cmd;
mod escape;
mod image_args;
mod image_cmd;
mod image_data_cmd;
mod image_list_cmd;
mod image_record;
mod image_task_cmd;
mod inspect_cmd;
mod interrupt;
mod location_cmd;
mod man_cmd;
mod metadef_cmd;
mod metadef_contents_cmd;
mod output;
mod progress;
mod project_arg;
mod record_output;
mod reuse_cmd;
mod schema_cmd;
mod store_cmd;
mod table;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use openstack_images::{Client, CloudConfig, Error, TokenCache};

use crate::output::{OutputArgs, Printer};

const EXIT_HELP: &str = "\
Exit status:
  0  success
  1  an API error or any other failure
  2  usage error (unknown option, missing argument, bad value)
  3  not found (no image by that id or name, or the server answered 404)
  4  authentication failed (wrong credentials, or Keystone refused them)
  130, 143  interrupted by SIGINT (Ctrl-C) or SIGTERM: osimg stopped, removed its
       temporary files and deleted the image it was creating or copying (it names any it
       could not); a second Ctrl-C exits at once
  141  stdout was closed before everything was written (`osimg image list | head -1`):
       osimg stops quietly, as a tool killed by SIGPIPE does

Server text (names, properties, tags, error messages) is printed with control characters
escaped (ESC as \\x1b, U+202E as \\u{202e}) in table and value output and on stderr;
json and yaml are exact.

Credentials come from clouds.yaml (--os-cloud or OS_CLOUD) or from OS_* variables.";

/// `osimg --version`: the crate's version and the servers its schemas were pulled from
/// (`schemas/SOURCE`, see build.rs), since the typed flags and fields come from them.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (schemas: ",
    env!("OPENSTACK_IMAGES_SCHEMA_SOURCE"),
    ")"
);

/// A command-line client for the OpenStack Image service (Glance v2) and Nova's images API.
#[derive(Parser)]
#[command(name = "osimg", version = VERSION, after_help = EXIT_HELP)]
struct Cli {
    /// The cloud of clouds.yaml to use (default: $OS_CLOUD, else the OS_* variables).
    // Not clap's `env`: clap then shows the option as given, in usage lines of errors,
    // when only the variable set it; `Client::from_env` reads OS_CLOUD itself.
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        help_heading = "Global options"
    )]
    os_cloud: Option<String>,
    /// Log every request (method, URL, status, time) to stderr. Secrets are never logged.
    #[arg(long, global = true, help_heading = "Global options")]
    debug: bool,
    #[command(flatten)]
    output: OutputArgs,
    /// Authenticate afresh instead of reusing a token cached in
    /// $XDG_CACHE_HOME/openstack-images/tokens (also OSIMG_NO_TOKEN_CACHE=1).
    #[arg(
        long,
        global = true,
        env = "OSIMG_NO_TOKEN_CACHE",
        value_parser = clap::builder::BoolishValueParser::new(),
        hide_env_values = true,
        help_heading = "Global options"
    )]
    no_token_cache: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Images of the Image service (Glance v2).
    Image {
        #[command(subcommand)]
        cmd: image_cmd::ImageCmd,
    },
    /// Images through the Compute API (Nova /v2.1/images, a proxy to Glance).
    ComputeImage {
        #[command(subcommand)]
        cmd: compute_cmd::ComputeImageCmd,
    },
    /// The image cache of a Glance node (`cached image list|queue|delete|clear`).
    Cached {
        #[command(subcommand)]
        cmd: cache_cmd::CachedCmd,
    },
    /// Image catalogs: openstack-image-manager's image definition files.
    Catalog {
        #[command(subcommand)]
        cmd: catalog_cmd::CatalogCmd,
    },
    /// The JSON schemas Glance serves.
    Schema {
        #[command(subcommand)]
        cmd: schema_cmd::SchemaCmd,
    },
    /// A completion script for a shell, on stdout (`source <(osimg completion bash)`).
    Completion(completion_cmd::CompletionArgs),
    /// The manual page (roff) on stdout (`osimg man | man -l -`), or one page per command.
    Man(man_cmd::ManArgs),
}

/// A failure of a command: what to print and which exit status to leave with.
pub struct Fail {
    pub code: u8,
    pub message: String,
}

impl Fail {
    /// A usage error found after parsing (conflicting or missing options).
    pub fn usage(message: impl Into<String>) -> Self {
        Fail {
            code: 2,
            message: message.into(),
        }
    }

    /// Any other failure.
    pub fn other(message: impl Into<String>) -> Self {
        Fail {
            code: 1,
            message: message.into(),
        }
    }

    /// Stdout was closed by its reader: stop without a word (see [`output::write_failed`]).
    pub fn closed_pipe() -> Self {
        Fail {
            code: 141,
            message: String::new(),
        }
    }
}

/// An error with its causes, `error: cause: cause`, for one line on stderr; a cause whose
/// text the line already holds is left out (many errors print their source themselves).
pub fn with_causes(e: &dyn std::error::Error) -> String {
    let mut line = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !text.is_empty() && !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    line
}

/// The exit status an error of the library maps to.
pub fn exit_code(e: &Error) -> u8 {
    match e {
        Error::Auth { .. } => 4,
        _ if e.status() == Some(401) => 4,
        _ if e.is_not_found() => 3,
        Error::InvalidInput { .. } => 2,
        _ => 1,
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail {
            code: exit_code(&e),
            message: with_causes(&e),
        }
    }
}

impl From<std::io::Error> for Fail {
    fn from(e: std::io::Error) -> Self {
        Fail::other(with_causes(&e))
    }
}

pub type CmdResult<T = ()> = Result<T, Fail>;

/// Deletes every name with `each`, reports each failure on stderr as it happens (`failed to
/// delete image NAME: ...`), and fails if any did: status 3 when every failure was "not
/// found", else 1, as `openstack image delete` goes on past a failure. `place` ends both
/// lines (`" from store fs2"`, or nothing).
pub async fn delete_each<F, Fut>(what: &str, place: &str, names: &[String], each: F) -> CmdResult
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = openstack_images::Result<()>>,
{
    let mut codes = Vec::new();
    for name in names {
        if let Err(e) = each(name.clone()).await {
            output::report(&format!(
                "failed to delete {what} {name}{place}: {}",
                with_causes(&e)
            ));
            codes.push(exit_code(&e));
        }
    }
    match codes.len() {
        0 => Ok(()),
        n => Err(Fail {
            code: if codes.iter().all(|c| *c == 3) { 3 } else { 1 },
            message: format!("{n} of {} {what}s failed to delete{place}", names.len()),
        }),
    }
}

/// The client of the chosen cloud; with the per-user token cache unless it is turned off.
fn client(cloud: Option<&str>, token_cache: bool) -> Result<Client, Error> {
    let config = match cloud {
        Some(name) => CloudConfig::from_cloud(name)?,
        None => CloudConfig::from_env()?,
    };
    let mut builder = Client::builder().cloud(config);
    if let Some(cache) = TokenCache::user_default().filter(|_| token_cache) {
        builder = builder.token_cache(cache);
    }
    builder.build()
}

async fn run(cli: Cli) -> CmdResult {
    let out = Printer::new(cli.output);
    if let Cmd::Image {
        cmd: image_cmd::ImageCmd::Inspect(args),
    } = &cli.cmd
    {
        return inspect_cmd::run(&out, args).await; // local: needs no cloud
    }
    match &cli.cmd {
        Cmd::Completion(args) => return completion_cmd::run(args),
        Cmd::Man(args) => return man_cmd::run(args),
        Cmd::Catalog { cmd } => {
            let token_cache = !cli.no_token_cache;
            let global = cli.os_cloud.clone();
            let make = move |name: Option<&str>| client(name.or(global.as_deref()), token_cache);
            return catalog_cmd::run(cmd, &out, &make).await;
        }
        _ => {}
    }
    let client = client(cli.os_cloud.as_deref(), !cli.no_token_cache)?;
    match cli.cmd {
        Cmd::Image { cmd } => image_cmd::run(&client, &out, cmd).await,
        Cmd::ComputeImage { cmd } => compute_cmd::run(&client, &out, cmd).await,
        Cmd::Schema { cmd } => schema_cmd::run(&client, &out, cmd).await,
        Cmd::Cached { cmd } => cache_cmd::run(&client, &out, cmd).await,
        // answered above, without a cloud
        Cmd::Completion(_) | Cmd::Man(_) | Cmd::Catalog { .. } => Ok(()),
    }
}

fn main() -> ExitCode {
    // A panic is a bug, but it still must not leave with Rust's status 101 or print server
    // text raw: report it as one escaped line, unwind (so guards remove temporary files and
    // half-made images) and fail with 1.
    std::panic::set_hook(Box::new(|info| {
        output::report(&format!("internal error (please report it): {info}"));
    }));
    let cli = Cli::parse();
    if cli.debug {
        // Only this crate's events: the HTTP stack below logs at debug level too, and its
        // events are noise here. No colours: each line is escaped whole (server text may
        // sit in its fields), which would show colour codes as text.
        tracing_subscriber::fmt()
            .with_writer(|| output::EscapedStderr)
            .with_ansi(false)
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "openstack_images=debug,warn",
            ))
            .init();
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            output::report(&format!("cannot start the async runtime: {e}"));
            return ExitCode::from(1);
        }
    };
    let interrupts = match rt.block_on(async { interrupt::Interrupts::new() }) {
        Ok(i) => i,
        Err(e) => {
            output::report(&format!("cannot handle signals: {e}"));
            return ExitCode::from(1);
        }
    };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(interrupt::run_until_interrupted(run(cli), interrupts))
    }));
    let outcome = outcome.unwrap_or_else(|_| {
        // The hook reported the panic; what the unwinding dropped is deleted now.
        for failure in rt.block_on(openstack_images::finish_cleanups(
            std::time::Duration::from_secs(30),
        )) {
            output::report(&failure.to_string());
        }
        Err(Fail::other(String::new()))
    });
    // A read of a pipe (`--file <(...)`) left blocking when the command stopped early would
    // keep a plain drop of the runtime waiting for the pipe's writer: give it a moment only.
    rt.shutdown_timeout(std::time::Duration::from_millis(200));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            if !f.message.is_empty() {
                output::report(&f.message);
            }
            ExitCode::from(f.code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt;

    /// An error whose text leaves its cause out, as reqwest's and hyper's do.
    #[derive(Debug)]
    struct Terse(std::io::Error);

    impl fmt::Display for Terse {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("error sending request")
        }
    }

    impl std::error::Error for Terse {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn causes_are_added_once_and_only_when_missing() {
        let terse = Terse(std::io::Error::other("message head is too large"));
        assert_eq!(
            with_causes(&terse),
            "error sending request: message head is too large"
        );
        // `I/O error: {0}` prints its source itself: not twice.
        let io = Error::Io(std::io::Error::other("disk full"));
        assert_eq!(with_causes(&io), "I/O error: disk full");
        let fail = Fail::from(Error::Io(std::io::Error::other(terse)));
        assert_eq!(
            fail.message,
            "I/O error: error sending request: message head is too large"
        );
    }
}
