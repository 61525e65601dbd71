//! `osimg` interrupted (SIGINT, SIGTERM) in the middle of `image save`, `image create --file`
//! and `image copy`, at several points: it exits 130 or 143 and leaves nothing behind, no
//! temporary file and no half-made image. And `image create --file` from pipes: a FIFO, a
//! shell's process substitution, `/dev/stdin`.
//!
//! The points are observed, not guessed, where they can be: the temporary file of a save
//! appearing, the image being created appearing in Glance. One point per command is a fixed
//! time after the start (with a cold token, so osimg is still authenticating or starting).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use openstack_images::{Client, DataSource, ImageListQuery};

use crate::harness::{
    Cleanup, admin, clouds_yaml, image_with_data, osimg_command, patterned, unique,
};

/// `osimg ARGS` with the stack's clouds.yaml, started, its output captured.
fn spawn(args: &[&str]) -> Child {
    osimg_command(&clouds_yaml(), args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("osimg starts")
}

/// Sends `signal` (`INT`, `TERM`) to the child.
fn kill(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{signal} {}", child.id());
}

/// Waits (off the runtime) for the child to exit.
async fn finish(child: Child) -> Output {
    tokio::task::spawn_blocking(move || child.wait_with_output().expect("osimg exits"))
        .await
        .unwrap()
}

/// Polls `seen` every 10 ms until it holds, at most 30 s.
async fn until(what: &str, mut seen: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !seen().await {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "waited 30 s for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The files in `dir`.
fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// The images named `name` that `client` sees, any status.
async fn named(client: &Client, name: &str) -> Vec<openstack_images::Image> {
    client
        .images()
        .list_all(ImageListQuery::new().name(name))
        .await
        .unwrap()
}

/// Asserts that no image named `name` is left, in any status.
async fn assert_none(client: &Client, name: &str, point: &str) {
    let left: Vec<String> = named(client, name)
        .await
        .into_iter()
        .map(|i| format!("{} ({:?})", i.id, i.status))
        .collect();
    assert!(left.is_empty(), "{point}: left behind: {left:?}");
}

/// Asserts the exit status of an interrupted osimg and that it said so.
fn assert_interrupted(out: &Output, code: i32, point: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{point}: stderr {err}");
    assert!(err.contains("interrupted"), "{point}: {err}");
    assert!(!err.contains("left behind"), "{point}: {err}");
}

/// A file of `len` patterned bytes in `dir`.
fn data_file(dir: &Path, name: &str, len: u32) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, patterned(len, 251)).unwrap();
    path
}

#[tokio::test]
async fn an_interrupted_image_save_leaves_no_temporary_file() {
    let admin = admin();
    let mut cleanup = Cleanup(vec![]);
    let image = image_with_data(
        &admin,
        &mut cleanup,
        "interrupt-save",
        DataSource::bytes(patterned(96 << 20, 251)),
    )
    .await;
    for (point, signal, code) in [
        ("100 ms after the start", "INT", 130),
        ("the temporary file appeared", "INT", 130),
        ("200 ms into the transfer", "TERM", 143),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.bin");
        let child = spawn(&[
            "image",
            "save",
            &image.id,
            "--file",
            out.to_str().unwrap(),
            "--no-token-cache",
        ]);
        if point.starts_with("100 ms") {
            tokio::time::sleep(Duration::from_millis(100)).await;
        } else {
            until("the temporary file", async || {
                entries(dir.path())
                    .iter()
                    .any(|e| e.starts_with(".out.bin.part-"))
            })
            .await;
            if point.starts_with("200 ms") {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        kill(&child, signal);
        let output = finish(child).await;
        assert_interrupted(&output, code, point);
        assert_eq!(entries(dir.path()), Vec::<String>::new(), "{point}: debris");
    }
}

#[tokio::test]
async fn an_interrupted_image_create_leaves_no_image() {
    let admin = admin();
    let dir = tempfile::tempdir().unwrap();
    let file = data_file(dir.path(), "disk.raw", 96 << 20);
    for point in ["100 ms after the start", "the image appeared"] {
        let name = unique("interrupt-create");
        let child = spawn(&[
            "image",
            "create",
            &name,
            "--file",
            file.to_str().unwrap(),
            "--no-token-cache",
        ]);
        if point.starts_with("100 ms") {
            tokio::time::sleep(Duration::from_millis(100)).await;
        } else {
            until("the image", async || !named(&admin, &name).await.is_empty()).await;
        }
        kill(&child, "INT");
        let output = finish(child).await;
        assert_interrupted(&output, 130, point);
        assert_none(&admin, &name, point).await;
    }

    // From a FIFO that stops short: osimg waits in the middle of the upload.
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let name = unique("interrupt-fifo");
    let child = spawn(&["image", "create", &name, "--file", fifo.to_str().unwrap()]);
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
            // osimg may be interrupted before it read all of it: a broken pipe then.
            let _ = w.write_all(&patterned(6 << 20, 251));
            // Keep the pipe open, with no more data, until the test is done.
            let _ = stopped.recv();
        })
    };
    until("the image fed by the FIFO", async || {
        named(&admin, &name)
            .await
            .first()
            .is_some_and(|i| i.status.as_ref().is_some_and(|s| s.as_str() == "saving"))
    })
    .await;
    kill(&child, "INT");
    let output = finish(child).await;
    let _ = stop.send(());
    writer.join().unwrap();
    assert_interrupted(&output, 130, "waiting on a FIFO");
    assert_none(&admin, &name, "waiting on a FIFO").await;
}

#[tokio::test]
async fn an_interrupted_image_copy_leaves_no_copy() {
    let admin = admin();
    let plain = Client::from_cloud("local-plain").unwrap();
    let mut cleanup = Cleanup(vec![]);
    let image = image_with_data(
        &admin,
        &mut cleanup,
        "interrupt-copy",
        DataSource::bytes(patterned(96 << 20, 251)),
    )
    .await;
    for point in ["100 ms after the start", "the copy appeared"] {
        let name = unique("interrupt-copied");
        let child = spawn(&[
            "image",
            "copy",
            &image.id,
            "--to-cloud",
            "local-plain",
            "--name",
            &name,
            "--no-token-cache",
        ]);
        if point.starts_with("100 ms") {
            tokio::time::sleep(Duration::from_millis(100)).await;
        } else {
            until("the copy", async || !named(&plain, &name).await.is_empty()).await;
        }
        kill(&child, "INT");
        let output = finish(child).await;
        assert_interrupted(&output, 130, point);
        assert_none(&plain, &name, point).await;
    }
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
}

/// The JSON `osimg image create ... -f json` printed, after checking it succeeded.
fn created(out: &Output, how: &str) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{how}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{how}: {e}"))
}

fn sha512_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha512::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `--file` takes what can only be read once: inspected from its first bytes (a qcow2 is
/// recognised as one), streamed with chunked encoding, stored whole.
#[tokio::test]
async fn image_create_takes_a_fifo_a_process_substitution_and_dev_stdin() {
    let admin = admin();
    let mut cleanup = Cleanup(vec![]);
    let dir = tempfile::tempdir().unwrap();
    let qcow2 = dir.path().join("disk.qcow2");
    let made = Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2"])
        .arg(&qcow2)
        .arg("64M")
        .status()
        .expect("qemu-img runs (install qemu-utils)");
    assert!(made.success());
    let qcow2_bytes = std::fs::read(&qcow2).unwrap();
    // Longer than the inspector's prefix: raw data that goes on after it.
    let raw = data_file(dir.path(), "disk.raw", 6 << 20);
    let raw_bytes = std::fs::read(&raw).unwrap();

    // A shell's process substitution: /dev/fd/N, a pipe.
    let name = unique("pipe-subst");
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "exec \"$OSIMG\" image create '{name}' --file <(cat '{}') -f json",
            qcow2.display()
        ))
        .env("OSIMG", env!("CARGO_BIN_EXE_osimg"))
        .env("OS_CLIENT_CONFIG_FILE", clouds_yaml())
        .env("OS_CLOUD", "local")
        .env("XDG_CACHE_HOME", env!("CARGO_TARGET_TMPDIR"))
        .output()
        .unwrap();
    let shown = created(&out, "process substitution");
    cleanup.0.push(shown["id"].as_str().unwrap().to_owned());
    assert_eq!(
        shown["disk_format"], "qcow2",
        "detected from the pipe's first bytes"
    );
    assert_eq!(shown["size"], qcow2_bytes.len() as u64);
    assert_eq!(shown["status"], "active");
    assert_eq!(
        shown["properties"]["os_hash_value"],
        sha512_hex(&qcow2_bytes).as_str()
    );

    // A FIFO, fed by another thread, past the inspector's prefix.
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let name = unique("pipe-fifo");
    let child = spawn(&[
        "image",
        "create",
        &name,
        "--file",
        fifo.to_str().unwrap(),
        "-f",
        "json",
    ]);
    let bytes = raw_bytes.clone();
    let writer = std::thread::spawn(move || {
        let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
        w.write_all(&bytes).unwrap();
    });
    let out = finish(child).await;
    writer.join().unwrap();
    let shown = created(&out, "FIFO");
    cleanup.0.push(shown["id"].as_str().unwrap().to_owned());
    assert_eq!(shown["disk_format"], "raw");
    assert_eq!(shown["size"], raw_bytes.len() as u64);
    assert_eq!(
        shown["properties"]["os_hash_value"],
        sha512_hex(&raw_bytes).as_str()
    );

    // /dev/stdin, a pipe from this process.
    let name = unique("pipe-stdin");
    let mut child = osimg_command(
        &clouds_yaml(),
        &[
            "image",
            "create",
            &name,
            "--file",
            "/dev/stdin",
            "-f",
            "json",
        ],
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let bytes = raw_bytes.clone();
    let writer = std::thread::spawn(move || stdin.write_all(&bytes).unwrap());
    let out = finish(child).await;
    writer.join().unwrap();
    let shown = created(&out, "/dev/stdin");
    cleanup.0.push(shown["id"].as_str().unwrap().to_owned());
    assert_eq!(shown["size"], raw_bytes.len() as u64);

    // Reuse by hash reads the file twice: a pipe is refused before anything is sent.
    let fifo = dir.path().join("fifo2");
    mkfifo(&fifo);
    let name = unique("pipe-reuse");
    let out = spawn(&[
        "image",
        "create",
        &name,
        "--file",
        fifo.to_str().unwrap(),
        "--reuse-existing",
    ]);
    let out = finish(out).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("pipe whose data can be read once"), "{err}");
    assert!(named(&admin, &name).await.is_empty());
}

/// A second Ctrl-C while osimg waits for its cleanup (here a DELETE that Glance is slow to
/// answer, through the fault proxy) exits at once, saying the cleanup was abandoned.
#[tokio::test]
async fn a_second_interrupt_exits_at_once() {
    let admin = admin();
    let real = admin
        .endpoint(openstack_images::ServiceType::Image)
        .await
        .unwrap();
    let proxy = crate::proxy::Proxy::start(&real).await;
    proxy.on(
        "DELETE",
        "/v2/images/",
        1,
        crate::proxy::Fault::Stall(Duration::from_secs(20)),
    );
    // The stack's clouds.yaml (YAML reads JSON) with a cloud whose Glance is the proxy.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(clouds_yaml()).unwrap();
    let mut clouds: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    let mut slow = clouds["clouds"]["local"].clone();
    slow["image_endpoint_override"] = proxy.url("/v2").into();
    clouds["clouds"]["slow-delete"] = slow;
    let config = dir.path().join("clouds.yaml");
    std::fs::write(&config, clouds.to_string()).unwrap();

    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let name = unique("interrupt-twice");
    let mut cleanup = Cleanup(vec![]);
    let child = osimg_command(
        &config,
        &[
            "--debug",
            "image",
            "create",
            &name,
            "--file",
            fifo.to_str().unwrap(),
        ],
    )
    .env("OS_CLOUD", "slow-delete")
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let writer = std::thread::spawn(move || {
        let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
        let _ = w.write_all(&patterned(6 << 20, 251));
        let _ = stopped.recv();
    });
    // The proxy reads a request's whole body before it passes it on: Glance never sees this
    // upload start, the image stays queued while osimg sends.
    until("the image fed by the FIFO", async || {
        !named(&admin, &name).await.is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    for image in named(&admin, &name).await {
        cleanup.0.push(image.id);
    }
    kill(&child, "INT");
    let started = Instant::now();
    while proxy.count_of("DELETE", "/v2/images/") == 0 {
        if started.elapsed() > Duration::from_secs(30) {
            kill(&child, "KILL");
            let output = finish(child).await;
            panic!(
                "no DELETE reached the proxy in 30 s; osimg's stderr: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let second = Instant::now();
    kill(&child, "INT");
    let output = finish(child).await;
    let waited = second.elapsed();
    let _ = stop.send(());
    writer.join().unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{err}");
    assert!(
        err.contains("interrupted again: cleanup abandoned"),
        "{err}"
    );
    assert!(
        waited < Duration::from_secs(5),
        "exited {waited:?} after the second interrupt, the DELETE stalls 20 s"
    );
}
