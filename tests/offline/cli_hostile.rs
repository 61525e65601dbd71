//! `osimg` against a hostile server, offline: escape sequences in names, properties, tags and
//! error titles; a stdout closed early; a response header of 1 MiB; pages without end;
//! `image save` onto a symbolic link and a save that fails.
//!
//! The server is the loopback mock (`mock.rs`, a thread per connection answering from a
//! handler), because the real Glance and Nova cannot be made to do any of this: they do not put
//! terminal escape sequences in their error titles, page forever or send megabyte headers.
//! `osimg` reaches it without Keystone (`auth_type: none` in a clouds.yaml of a temp dir),
//! with an environment holding nothing else, so no real cloud is ever involved.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha512};

use crate::mock::{Mock, Reply};

/// A temp dir with a clouds.yaml whose cloud `hostile` talks to the mock without Keystone.
pub(crate) fn config(mock: &Mock) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = mock.port();
    std::fs::write(
        dir.path().join("clouds.yaml"),
        format!(
            "clouds:\n  hostile:\n    auth_type: none\n    auth:\n      endpoint: \
             http://127.0.0.1:{port}/v2\n    compute_endpoint_override: \
             http://127.0.0.1:{port}/compute/v2.1\n"
        ),
    )
    .expect("write clouds.yaml");
    dir
}

/// `osimg` with cloud `hostile` of that config and nothing else in its environment (no
/// token cache either: each run meets the mock's Keystone answer afresh).
pub(crate) fn osimg(config: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_osimg"));
    cmd.args(args)
        .env_clear()
        .env("OS_CLIENT_CONFIG_FILE", config.join("clouds.yaml"))
        .env("OS_CLOUD", "hostile")
        .env("OSIMG_NO_TOKEN_CACHE", "1")
        .stdin(Stdio::null());
    cmd
}

fn run(config: &Path, args: &[&str]) -> Output {
    osimg(config, args).output().expect("osimg runs")
}

/// Stdout of a run that must succeed.
fn ok(config: &Path, args: &[&str]) -> Vec<u8> {
    let out = run(config, args);
    assert!(
        out.status.success(),
        "osimg {args:?}: {:?}; stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The bytes a terminal may act on: C0 controls but the newline ending each line, DEL, and
/// (UTF-8 encoded) C1 controls and the bidi overrides and isolates.
pub(crate) fn raw_controls(bytes: &[u8]) -> Vec<char> {
    String::from_utf8_lossy(bytes)
        .chars()
        .filter(|&c| {
            (c.is_control() && c != '\n')
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c)
        })
        .collect()
}

/// A panic (or the hook that reports one) would show here; 101 is Rust's panic status.
fn assert_no_panic(out: &std::process::ExitStatus, stderr: &[u8]) {
    let stderr = String::from_utf8_lossy(stderr);
    assert_ne!(out.code(), Some(101), "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("internal error"),
        "{stderr}"
    );
}

const ID: &str = "6f1e2a4c-3b5d-4e7f-8a9b-0c1d2e3f4a5b";

/// What a hostile server puts in an image: an OSC retitle, a screen clear, CR and backspace,
/// a C1 CSI, bidi overrides, in the name, a tag, a property value and a property key.
fn hostile_image() -> Value {
    json!({
        "id": ID,
        "name": "\u{1b}]0;pwned\u{7}\u{1b}[2Jevil\r\u{8}name",
        "status": "active",
        "tags": ["\u{1b}[5mblink", "plain"],
        "os_note": "report\u{202e}fdp.exe\u{2066}x\u{2069}",
        "key\u{1b}[1m": "csi\u{9b}31m line\nbreak",
        "visibility": "public",
        "size": 0,
    })
}

fn hostile_glance() -> Mock {
    Mock::start(|req| match req.path() {
        "/v2/images" => Reply::json(200, &json!({"images": [hostile_image()]})),
        p if p == format!("/v2/images/{ID}") => Reply::json(200, &hostile_image()),
        _ => Reply::json(
            404,
            &json!({"message": "no such thing", "title": "Not Found"}),
        ),
    })
}

#[test]
fn escape_sequences_in_images_never_reach_the_terminal_in_table_or_value_output() {
    let mock = hostile_glance();
    let dir = config(&mock);
    for args in [
        &["image", "list", "--long"][..],
        &["image", "list", "--long", "-f", "value"],
        &["image", "list", "--long", "-f", "csv"],
        &[
            "--raw",
            "image",
            "list",
            "-c",
            "key\u{1b}[1m",
            "-c",
            "os_note",
        ],
        &["image", "show", ID],
        &["image", "show", ID, "-f", "shell"],
        &["image", "show", ID, "-f", "value"],
        &["--raw", "image", "show", ID],
    ] {
        let stdout = ok(dir.path(), args);
        assert_eq!(raw_controls(&stdout), Vec::<char>::new(), "{args:?}");
        let text = String::from_utf8(stdout).expect("utf-8");
        // The hostile text is there, visibly escaped, not dropped.
        let wanted: &[&str] = if args.contains(&"-c") {
            &[
                "key\\x1b[1m",
                "csi\\u{009b}31m line\\x0abreak",
                "report\\u{202e}fdp.exe",
            ]
        } else if args.contains(&"show") && args.contains(&"value") {
            &[
                "\\x1b]0;pwned\\x07\\x1b[2Jevil\\x0d\\x08name",
                "\\x1b[5mblink",
            ]
        } else if args.contains(&"show") {
            &[
                "\\x1b]0;pwned\\x07\\x1b[2Jevil\\x0d\\x08name",
                "key\\x1b[1m",
                "\\x1b[5mblink",
            ]
        } else {
            &["\\x1b]0;pwned\\x07\\x1b[2Jevil\\x0d\\x08name"]
        };
        for w in wanted {
            assert!(text.contains(w), "{args:?}: {w} missing from\n{text}");
        }
    }
}

#[test]
fn json_and_yaml_output_is_exact_and_holds_no_raw_control_byte() {
    let mock = hostile_glance();
    let dir = config(&mock);
    let sent = hostile_image();
    for format in ["json", "yaml"] {
        for (args, expected) in [
            (
                vec!["--raw", "image", "list", "--long", "-f", format],
                Value::Array(vec![sent.clone()]),
            ),
            (
                vec!["--raw", "image", "show", ID, "-f", format],
                sent.clone(),
            ),
            // openstack's layout: the same values, the non-core ones under `properties`.
            (
                vec!["image", "show", ID, "-f", format],
                json!({
                    "id": ID, "name": sent["name"], "status": "active", "tags": sent["tags"],
                    "visibility": "public", "size": 0,
                    "properties": {"os_note": sent["os_note"], "key\u{1b}[1m": sent["key\u{1b}[1m"]},
                }),
            ),
        ] {
            let stdout = ok(dir.path(), &args);
            assert_eq!(raw_controls(&stdout), Vec::<char>::new(), "{args:?}");
            assert!(!stdout.contains(&0x1b), "{args:?}: a raw ESC");
            let text = String::from_utf8(stdout).expect("utf-8");
            let parsed: Value = if format == "json" {
                serde_json::from_str(&text).expect("JSON")
            } else {
                serde_saphyr::from_str(&text).expect("YAML")
            };
            assert_eq!(parsed, expected, "{args:?}:\n{text}");
        }
    }
}

/// A Glance-shaped 400 whose title and message carry escape sequences.
fn hostile_error() -> Mock {
    Mock::start(|_| {
        Reply::json(
            400,
            &json!({
                "message": "bad\u{1b}[31m request\u{7}<br />\r\n\u{1b}]52;c;cHduZWQ=\u{7}\u{202e}",
                "code": "400 Bad Request",
                "title": "Bad\u{1b}]0;owned\u{7} Request\u{8}\u{8}",
            }),
        )
    })
}

#[test]
fn escape_sequences_in_error_titles_and_messages_are_escaped_on_stderr() {
    let mock = hostile_error();
    let dir = config(&mock);
    for args in [
        &["image", "show", ID][..],
        &["image", "list"],
        &["image", "delete", ID, ID],
        &["--debug", "image", "show", ID],
    ] {
        let out = run(dir.path(), args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_no_panic(&out.status, &out.stderr);
        assert_eq!(raw_controls(&out.stderr), Vec::<char>::new(), "{args:?}");
        let stderr = String::from_utf8(out.stderr).expect("utf-8");
        for shown in [
            "Bad\\x1b]0;owned\\x07 Request\\x08\\x08",
            "bad\\x1b[31m request\\x07",
            "\\x1b]52;c;cHduZWQ=\\x07\\u{202e}",
        ] {
            assert!(
                stderr.contains(shown),
                "{args:?}: {shown} missing from\n{stderr}"
            );
        }
    }
}

#[test]
fn a_closed_stderr_does_not_turn_an_error_into_a_panic() {
    let mock = hostile_error();
    let dir = config(&mock);
    let mut child = osimg(dir.path(), &["image", "show", ID])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("osimg starts");
    drop(child.stderr.take());
    let status = child.wait().expect("osimg ends");
    assert_eq!(status.code(), Some(1));
}

/// The next `per_page` images of an endless listing (numbered by `counter`, with `status`)
/// and the id of the last one, the next page's marker.
fn next_page(counter: &AtomicUsize, per_page: usize, status: &str) -> (Vec<Value>, String) {
    let images: Vec<Value> = (0..per_page)
        .map(|_| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            json!({"id": format!("{n:08x}-0000-4000-8000-000000000000"), "name": format!("image-{n}"), "status": status})
        })
        .collect();
    let marker = images.last().map(|i| i["id"].clone()).unwrap_or_default();
    let marker = marker.as_str().unwrap_or_default().to_owned();
    (images, marker)
}

/// Glance that never stops paging: every page holds `per_page` new images and a `next`
/// link with a new marker.
fn endless_glance(per_page: usize) -> Mock {
    let counter = AtomicUsize::new(0);
    Mock::start(move |req| {
        if req.path() != "/v2/images" {
            return Reply::json(404, &json!({"message": "no"}));
        }
        let (images, marker) = next_page(&counter, per_page, "active");
        Reply::json(
            200,
            &json!({"images": images, "next": format!("/v2/images?marker={marker}")}),
        )
    })
}

/// Nova that never stops paging, in its `images_links` shape.
fn endless_nova(per_page: usize) -> Mock {
    let counter = AtomicUsize::new(0);
    Mock::start(move |req| {
        if req.path() != "/compute/v2.1/images/detail" {
            return Reply::json(
                404,
                &json!({"itemNotFound": {"message": "no", "code": 404}}),
            );
        }
        let (images, marker) = next_page(&counter, per_page, "ACTIVE");
        let href = format!("/compute/v2.1/images/detail?marker={marker}");
        Reply::json(
            200,
            &json!({"images": images, "images_links": [{"rel": "next", "href": href}]}),
        )
    })
}

#[test]
fn max_items_bounds_requests_and_output_against_endless_pages() {
    for (mock, group) in [
        (endless_glance(7), "image"),
        (endless_nova(7), "compute-image"),
    ] {
        let dir = config(&mock);
        for format in ["value", "table", "json", "yaml"] {
            let before = mock.requests().len();
            let stdout = ok(
                dir.path(),
                &[group, "list", "--max-items", "30", "-f", format],
            );
            let text = String::from_utf8(stdout).expect("utf-8");
            let ids = text.matches("-0000-4000-8000-").count();
            assert_eq!(ids, 30, "{group} {format}:\n{text}");
            let pages = mock.requests().len() - before;
            // 30 images of 7 per page: 5 pages, one more if the client reads ahead.
            assert!(
                (5..=6).contains(&pages),
                "{group} {format}: {pages} requests"
            );
        }
    }
    // --limit is one page, as in openstack (this server answers pages of 3).
    let mock = endless_glance(3);
    let dir = config(&mock);
    let stdout = ok(
        dir.path(),
        &["image", "list", "--limit", "4", "-f", "value"],
    );
    assert_eq!(String::from_utf8_lossy(&stdout).lines().count(), 3);
    // With --raw, --limit and --max-items together: the smaller wins.
    let stdout = ok(
        dir.path(),
        &[
            "--raw",
            "image",
            "list",
            "--limit",
            "4",
            "--max-items",
            "10",
            "-f",
            "value",
        ],
    );
    assert_eq!(String::from_utf8_lossy(&stdout).lines().count(), 4);
}

/// Runs `osimg image list` against endless pages, reads one line of its stdout and closes
/// the pipe, as `| head -1` does; returns how osimg ended and its stderr.
fn list_then_close_stdout(dir: &Path, args: &[&str]) -> (std::process::ExitStatus, Vec<u8>) {
    let mut child: Child = osimg(dir, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("osimg starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("one line");
    assert!(!line.is_empty());
    drop(stdout);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("osimg kept going after its stdout was closed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = Vec::new();
    child
        .stderr
        .take()
        .expect("piped stderr")
        .read_to_end(&mut stderr)
        .expect("stderr");
    (status, stderr)
}

#[test]
fn a_closed_stdout_ends_osimg_quietly_with_status_141() {
    let mock = endless_glance(50);
    let dir = config(&mock);
    // --raw streams an endless list; the default sorts 5,000 images, then prints them.
    for args in [
        &["--raw", "image", "list", "-f", "value"][..],
        &["--raw", "image", "list", "-f", "json"],
        &["--raw", "image", "list", "-f", "yaml"],
        &["image", "list", "--max-items", "5000", "-f", "value"],
        &["image", "list", "--max-items", "5000", "-f", "csv"],
    ] {
        let format = args.join(" ");
        let (status, stderr) = list_then_close_stdout(dir.path(), args);
        assert_no_panic(&status, &stderr);
        assert_eq!(status.code(), Some(141), "{format}");
        assert!(
            stderr.is_empty(),
            "{format}: {}",
            String::from_utf8_lossy(&stderr)
        );
    }
}

#[test]
fn a_huge_response_header_is_reported_with_its_cause() {
    let mock = Mock::start(|_| {
        let mut head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Padding: ".to_vec();
        head.extend(std::iter::repeat_n(b'a', 1 << 20));
        head.extend_from_slice(b"\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
        Reply::Raw(head)
    });
    let dir = config(&mock);
    let out = run(dir.path(), &["image", "show", ID]);
    assert_no_panic(&out.status, &out.stderr);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // The HTTP stack's own words for it: the head is too large.
    assert!(
        stderr.contains("too large"),
        "the cause is missing: {stderr}"
    );
}

// ------------------------------------------------------------------------------------------
// image save: symbolic links and failures.

/// Glance serving an image whose data is `data`, with a published sha512 of `published`.
fn glance_with_data(data: &'static [u8], published: &'static [u8]) -> Mock {
    Mock::start(move |req| {
        let image = json!({
            "id": ID, "name": "disk", "status": "active", "size": data.len(),
            "os_hash_algo": "sha512",
            "os_hash_value": hex(&Sha512::digest(published)),
        });
        match req.path() {
            p if p == format!("/v2/images/{ID}") => Reply::json(200, &image),
            p if p == format!("/v2/images/{ID}/file") => {
                Reply::body(200, "application/octet-stream", data)
            }
            _ => Reply::json(404, &json!({"message": "no"})),
        }
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The names in a directory, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A temp dir holding `real.raw` (`old`) and `link.raw`, a relative symbolic link to it.
fn file_and_link() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let files = tempfile::tempdir().expect("temp dir");
    let real = files.path().join("real.raw");
    std::fs::write(&real, b"old").expect("write");
    let link = files.path().join("link.raw");
    std::os::unix::fs::symlink("real.raw", &link).expect("symlink");
    (files, real, link)
}

const DATA: &[u8] = b"the verified image data";

#[test]
fn save_onto_a_symbolic_link_writes_through_it_and_keeps_the_link() {
    let mock = glance_with_data(DATA, DATA);
    let dir = config(&mock);
    let (files, real, link) = file_and_link();
    // A chain: link2 -> link.raw -> real.raw.
    let chained = files.path().join("link2.raw");
    std::os::unix::fs::symlink(&link, &chained).expect("symlink");
    for target in [&link, &chained] {
        std::fs::write(&real, b"old").expect("write");
        ok(
            dir.path(),
            &["image", "save", ID, "--file", path_str(target)],
        );
        assert!(
            std::fs::symlink_metadata(target)
                .expect("link")
                .is_symlink()
        );
        assert_eq!(std::fs::read(&real).expect("read"), DATA);
        assert_eq!(entries(files.path()), ["link.raw", "link2.raw", "real.raw"]);
    }
    // A dangling link: its target is created.
    let dangling = files.path().join("new-link.raw");
    std::os::unix::fs::symlink("created.raw", &dangling).expect("symlink");
    ok(
        dir.path(),
        &["image", "save", ID, "--file", path_str(&dangling)],
    );
    assert!(
        std::fs::symlink_metadata(&dangling)
            .expect("link")
            .is_symlink()
    );
    assert_eq!(
        std::fs::read(files.path().join("created.raw")).expect("read"),
        DATA
    );
    // A link to a directory is refused before any download.
    let to_dir = files.path().join("dir-link");
    std::os::unix::fs::symlink(files.path(), &to_dir).expect("symlink");
    let out = run(
        dir.path(),
        &["image", "save", ID, "--file", path_str(&to_dir)],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("is a directory"));
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

#[test]
fn a_failed_save_leaves_no_partial_file_nor_a_partial_link_target() {
    // The data does not match the published hash: written to a temporary file, then refused.
    let mock = glance_with_data(b"corrupted data!", DATA);
    let dir = config(&mock);
    let (files, real, link) = file_and_link();
    let fresh = files.path().join("fresh.raw");
    for target in [&real, &link, &fresh] {
        let out = run(
            dir.path(),
            &["image", "save", ID, "--file", path_str(target)],
        );
        assert_no_panic(&out.status, &out.stderr);
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("mismatch"), "{stderr}");
        assert_eq!(std::fs::read(&real).expect("read"), b"old");
        assert!(std::fs::symlink_metadata(&link).expect("link").is_symlink());
        assert_eq!(entries(files.path()), ["link.raw", "real.raw"]);
    }
    // A directory that does not exist: nothing is created anywhere.
    let missing: PathBuf = files.path().join("no-such-dir").join("disk.raw");
    let out = run(
        dir.path(),
        &["image", "save", ID, "--file", path_str(&missing)],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no-such-dir"),
        "the error names the path"
    );
    assert_eq!(entries(files.path()), ["link.raw", "real.raw"]);
}

#[test]
fn help_texts_hold_no_raw_control_either() {
    let dir = tempfile::tempdir().expect("temp dir");
    for args in [
        &["--help"][..],
        &["image", "list", "--help"],
        &["image", "save", "--help"],
        &["compute-image", "list", "--help"],
    ] {
        let stdout = ok(dir.path(), args);
        assert_eq!(raw_controls(&stdout), Vec::<char>::new(), "{args:?}");
    }
    let top = String::from_utf8(ok(dir.path(), &["--help"])).expect("utf-8");
    assert!(top.contains("ESC as \\x1b, U+202E as \\u{202e}"), "{top}");
}

#[test]
fn save_without_a_file_streams_to_stdout_and_a_mismatch_still_fails() {
    let mock = glance_with_data(DATA, DATA);
    let dir = config(&mock);
    assert_eq!(ok(dir.path(), &["image", "save", ID]), DATA);
    let mock = glance_with_data(b"corrupted data!", DATA);
    let dir = config(&mock);
    let out = run(dir.path(), &["image", "save", ID]);
    assert_no_panic(&out.status, &out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("mismatch"));
}

#[test]
fn save_to_a_stdout_closed_early_ends_quietly_with_status_141() {
    let data: &'static [u8] = Vec::leak((0..4u32 << 20).map(|i| (i % 251) as u8).collect());
    let mock = glance_with_data(data, data);
    let dir = config(&mock);
    let mut child = osimg(dir.path(), &["image", "save", ID])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("osimg starts");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut first = [0u8; 4096];
    stdout.read_exact(&mut first).expect("some data");
    assert_eq!(&first[..], &data[..4096]);
    drop(stdout);
    let out = child.wait_with_output().expect("osimg ends");
    assert_no_panic(&out.status, &out.stderr);
    assert_eq!(out.status.code(), Some(141));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
