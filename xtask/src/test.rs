//! `cargo xtask test`: every check, in order, failing fast: fmt, clippy, unit and doc tests, the
//! publish dry-run, offline tests, then per release (the newest and the oldest by default,
//! `--release R` one, `--all-releases` all six) the local stack, the schema check and the live
//! tests; the stack is always brought down again.

use crate::stack::{self, RELEASES, Release, StackInfo};
use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

/// The integration test targets that need the local stack: the library's live tests and the
/// CLI's (`tests/live/cli.rs` runs the built `osimg` binary against it), in one binary.
const LIVE: &[&str] = &["live"];

/// Outcome of one step, for the summary.
struct Step {
    name: String,
    secs: f64,
    ok: bool,
}

#[derive(Default)]
struct Steps(Vec<Step>);

impl Steps {
    /// Runs `f` as the step `name`, printing a header and recording its time and outcome.
    fn run<T>(&mut self, name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        println!("\n==> {name}");
        let started = Instant::now();
        let result = f().with_context(|| format!("step `{name}` failed"));
        self.0.push(Step {
            name: name.to_string(),
            secs: started.elapsed().as_secs_f64(),
            ok: result.is_ok(),
        });
        result
    }

    fn print(&self, total: f64) {
        println!("\n==> summary");
        for step in &self.0 {
            let mark = if step.ok { "ok  " } else { "FAIL" };
            println!("  {mark} {:<40} {:>7.1}s", step.name, step.secs);
        }
        println!("  total {:>46.1}s", total);
    }
}

fn cargo(args: &[&str]) -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.args(args).current_dir(crate::workspace_root());
    cmd
}

fn check(mut cmd: Command) -> Result<()> {
    let status = cmd.status().with_context(|| format!("running {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed ({status})");
    }
    Ok(())
}

/// Integration test targets under tests/ (`tests/x.rs`, `tests/x/main.rs`) except the live ones.
fn offline_test_targets() -> Result<Vec<String>> {
    let dir = crate::workspace_root().join("tests");
    let mut targets = Vec::new();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(targets);
    };
    for entry in entries {
        let path = entry?.path();
        let name = if path.is_dir() && path.join("main.rs").exists() {
            path.file_name()
        } else if path.extension().is_some_and(|e| e == "rs") {
            path.file_stem()
        } else {
            None
        };
        if let Some(name) = name.and_then(|n| n.to_str())
            && !LIVE.contains(&name)
        {
            targets.push(name.to_string());
        }
    }
    targets.sort();
    Ok(targets)
}

/// The commands the tests run besides cargo: tests/offline/inspect.rs compares the image
/// inspector with `qemu-img info` on images qemu-img makes, tests/live/catalog.rs compresses
/// sources with `xz` and runs `osimg` under a pseudo-terminal with `script`. Without them
/// those tests fail, so say what to install before anything runs.
fn tools_present() -> Result<()> {
    let tools = [
        ("qemu-img", "qemu-utils"),
        ("xz", "xz-utils"),
        ("script", "util-linux (Debian: bsdutils)"),
    ];
    for (tool, package) in tools {
        match Command::new(tool).arg("--version").output() {
            Ok(output) if output.status.success() => {}
            Ok(output) => bail!(
                "{tool} --version failed ({}): install {package}",
                output.status
            ),
            Err(e) => bail!("{tool} not found ({e}): install {package}"),
        }
    }
    Ok(())
}

/// The crate's default `openssl` feature links the system libcrypto through pkg-config: say
/// what to install before cargo fails deep inside openssl-sys's build script.
pub fn openssl_present() -> Result<()> {
    let found = Command::new("pkg-config")
        .args(["--exists", "openssl"])
        .status();
    match found {
        Ok(status) if status.success() => Ok(()),
        Ok(_) => bail!(
            "pkg-config finds no OpenSSL: install its development files (Debian/Ubuntu: \
             apt-get install libssl-dev; Fedora: dnf install openssl-devel), which the crate's \
             default `openssl` feature (its fast SHA-512) links"
        ),
        Err(e) => bail!(
            "pkg-config not found ({e}): install pkg-config and OpenSSL's development files \
             (Debian/Ubuntu: apt-get install pkg-config libssl-dev)"
        ),
    }
}

/// The two publishable crates as crates.io would get them: `cargo publish --dry-run`
/// packages each and builds it from the package alone, the main crate against the packaged
/// codegen (naming both packages resolves the unpublished path dependency to the package
/// beside it, not to crates.io). `--allow-dirty`: this checks what the packages hold and
/// that it builds, not whether it is committed.
fn publish_dry_run() -> Result<()> {
    check(cargo(&[
        "publish",
        "--dry-run",
        "--allow-dirty",
        "-p",
        "openstack-images-codegen",
        "-p",
        "openstack-images",
    ]))
}

/// The releases `cargo xtask test` runs the live tests against, oldest first (so the newest
/// is up last, for the test of the crate built from the oldest's schemas): `--release R`,
/// every one, or (CI) the oldest and the newest.
pub fn releases(release: Option<&str>, all: bool) -> Result<Vec<&'static Release>> {
    Ok(match (release, all) {
        (Some(name), _) => vec![Release::find(name)?],
        (None, true) => RELEASES.iter().collect(),
        (None, false) => vec![Release::oldest(), Release::newest()],
    })
}

/// The crate built from the oldest release's schemas (rendered into
/// target/schemas/<release>, given as `OPENSTACK_IMAGES_SCHEMA_DIR`) against the newest
/// stack: tests/live/roundtrip.rs, which checks the build used them.
fn old_schemas_against_newest(stack: &StackInfo) -> Result<()> {
    let oldest = Release::oldest();
    let dir = crate::workspace_root()
        .join("target/schemas")
        .join(oldest.name);
    let source = crate::schema::write_release_dir(oldest, &dir)?;
    println!("built from {} ({source})", dir.display());
    let dir = dir.to_str().context("non-UTF-8 target path")?;
    live_tests_filtered(
        stack,
        &["roundtrip::"],
        &[
            ("OPENSTACK_IMAGES_SCHEMA_DIR", dir),
            ("OPENSTACK_IMAGES_EXPECT_SCHEMA_SOURCE", &source),
        ],
    )
}

/// `cargo xtask schema check` against the stack: the newest must serve exactly schemas/; an
/// older release's differences are reported (the README's table), not failed on: the crate
/// built from schemas/ is what the live tests then check against it.
fn schema_check(stack: &StackInfo, release: &Release) -> Result<()> {
    if release.is_newest() {
        crate::schema::check_stack(stack)
    } else {
        crate::schema::report_stack(stack)
    }
}

/// Runs the live tests against the stack; fails unless at least one test ran and all passed.
fn live_tests(stack: &StackInfo) -> Result<()> {
    live_tests_filtered(stack, &[], &[])
}

/// The live tests whose names contain `filter` (all when empty), with `env` set too.
fn live_tests_filtered(stack: &StackInfo, filter: &[&str], env: &[(&str, &str)]) -> Result<()> {
    let mut args = vec!["test", "-p", "openstack-images", "--all-features"];
    for t in LIVE {
        args.extend(["--test", t]);
    }
    args.extend(["--", "--test-threads", "4"]);
    args.extend(filter);
    let mut cmd = cargo(&args);
    cmd.env("OS_CLIENT_CONFIG_FILE", &stack.clouds_yaml)
        .env("OS_CLOUD", "local")
        .env("OPENSTACK_IMAGES_LIVE", "1")
        .env("OPENSTACK_IMAGES_OSC", stack.openstack())
        .env("OPENSTACK_IMAGES_OIM", stack.openstack_image_manager())
        .env("OPENSTACK_IMAGES_RELEASE", stack.release)
        .envs(env.iter().copied())
        .stdout(Stdio::piped());
    let mut child = cmd.spawn().context("running the live tests")?;
    let mut ran = 0usize;
    let stdout = child.stdout.take().expect("piped stdout");
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        println!("{line}");
        if let Some(n) = line
            .strip_prefix("running ")
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<usize>().ok())
        {
            ran += n;
        }
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("live tests failed ({status})");
    }
    if ran == 0 {
        bail!("no live test ran");
    }
    Ok(())
}

/// A detached `sh` that runs `xtask stack down` once this process is gone, so the stack is
/// stopped even when `cargo xtask test` is interrupted (Ctrl-C, SIGTERM, SIGKILL). It lives
/// in its own process group, so the terminal's Ctrl-C does not reach it.
fn spawn_down_watchdog() -> Result<Child> {
    let exe = std::env::current_exe().context("locating the xtask binary")?;
    Command::new("sh")
        .args([
            "-c",
            r#"while kill -0 "$1" 2>/dev/null; do sleep 0.5; done; exec "$2" stack down"#,
            "xtask-stack-watchdog",
        ])
        .arg(std::process::id().to_string())
        .arg(exe)
        .process_group(0)
        .stdin(Stdio::null())
        .spawn()
        .context("starting the stack watchdog")
}

/// Runs every check, the live ones against each of `releases`; see the module docs.
pub fn run(releases: &[&'static Release]) -> Result<()> {
    let started = Instant::now();
    let mut steps = Steps::default();
    let result = run_steps(&mut steps, releases);
    steps.print(started.elapsed().as_secs_f64());
    result
}

fn run_steps(steps: &mut Steps, releases: &[&'static Release]) -> Result<()> {
    steps.run("OpenSSL development files present", openssl_present)?;
    steps.run("cargo fmt --check", || {
        check(cargo(&["fmt", "--all", "--", "--check"]))
    })?;
    steps.run("cargo clippy", || {
        check(cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    steps.run("unit tests (lib, bins)", || {
        check(cargo(&[
            "test",
            "--workspace",
            "--all-features",
            "--lib",
            "--bins",
        ]))
    })?;
    steps.run("doc tests", || {
        check(cargo(&["test", "--workspace", "--all-features", "--doc"]))
    })?;
    steps.run("cargo publish --dry-run (codegen, crate)", publish_dry_run)?;
    steps.run(
        "hashes without the openssl feature (the pure-Rust fallback)",
        || {
            check(cargo(&[
                "test",
                "-p",
                "openstack-images",
                "--no-default-features",
                "--lib",
                "hash::",
            ]))
        },
    )?;
    steps.run("qemu-img, xz and script present", tools_present)?;
    let targets = offline_test_targets()?;
    if !targets.is_empty() {
        steps.run(&format!("offline tests ({})", targets.join(", ")), || {
            let mut args = vec!["test", "-p", "openstack-images", "--all-features"];
            for t in &targets {
                args.extend(["--test", t.as_str()]);
            }
            check(cargo(&args))
        })?;
    }
    // Compile the live tests before starting the stack: a build error fails fast.
    steps.run("build live tests", || {
        if !crate::workspace_root().join("tests/live/main.rs").exists() {
            bail!("tests/live/main.rs is missing");
        }
        let mut args = vec!["test", "-p", "openstack-images", "--all-features"];
        for t in LIVE {
            args.extend(["--test", t]);
        }
        args.push("--no-run");
        check(cargo(&args))
    })?;

    let mut watchdog = spawn_down_watchdog()?;
    let live = releases.iter().try_for_each(|&release| {
        let r = release.name;
        let info = steps.run(&format!("stack up {r}"), || stack::up(release))?;
        steps.run(&format!("schema check {r}"), || {
            schema_check(&info, release)
        })?;
        steps.run(&format!("live tests {r}"), || live_tests(&info))?;
        if release.is_newest() && releases.contains(&Release::oldest()) {
            steps.run(
                &format!(
                    "crate from {}'s schemas against {r}",
                    Release::oldest().name
                ),
                || old_schemas_against_newest(&info),
            )?;
        }
        Ok(())
    });
    // The stack goes down in any case; the watchdog is only for interruptions.
    let _ = watchdog.kill();
    let _ = watchdog.wait();
    let down = steps.run("stack down", stack::down);
    live.and(down)
}
