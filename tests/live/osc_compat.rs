//! osimg against python-openstackclient on the same stack: each command is run by both
//! CLIs (the stack venv's pinned `openstack`, named by `OPENSTACK_IMAGES_OSC`) and their
//! PARSED output compared: keys, values, order and exit status. Text layout is compared
//! only where it is the behaviour (csv quoting, shell quoting, table cells).
//!
//! Known differences, asserted as such where they show (see the README's compatibility
//! notes): the order of keys inside a task's `input` dict (osimg's by name, openstack's as
//! the server sent them; an image's `properties` keep openstack's order, see
//! `osc_compat_properties`), openstacksdk's own `owner_specified.openstack.*`
//! properties on images openstack creates, and exit status 3 (osimg) against 1 for "not
//! found". Each call prints both wall times (`cargo test --test live osc_compat --
//! --nocapture`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

use serde_json::{Value, json};

use crate::harness::{clouds_yaml, require_stack, unique};

/// The venv's `openstack`.
pub(crate) fn osc_bin() -> PathBuf {
    require_stack();
    let path = std::env::var_os("OPENSTACK_IMAGES_OSC").map(PathBuf::from).expect(
        "OPENSTACK_IMAGES_OSC is not set: `eval \"$(cargo xtask stack env)\"` or `cargo xtask test`",
    );
    assert!(path.exists(), "{} does not exist", path.display());
    path
}

/// Runs one CLI with the stack's cloud `local`, feeding `stdin` if given.
pub(crate) fn run_cli(bin: &Path, args: &[&str], stdin: Option<&[u8]>) -> (Output, f64) {
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .env("OS_CLIENT_CONFIG_FILE", clouds_yaml())
        .env("OS_CLOUD", "local")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("the CLI starts");
    if let Some(data) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(data).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (out, started.elapsed().as_secs_f64())
}

pub(crate) fn osimg(args: &[&str]) -> Output {
    run_cli(Path::new(env!("CARGO_BIN_EXE_osimg")), args, None).0
}

/// Both CLIs' outputs for the same arguments, wall times printed.
pub(crate) fn both_with(args: &[&str], stdin: Option<&[u8]>) -> (Output, Output) {
    let (o, to) = run_cli(&osc_bin(), args, stdin);
    let (m, tm) = run_cli(Path::new(env!("CARGO_BIN_EXE_osimg")), args, stdin);
    println!(
        "timing: openstack {:.3}s osimg {:.3}s  {}",
        to,
        tm,
        args.join(" ")
    );
    (o, m)
}

pub(crate) fn both(args: &[&str]) -> (String, String) {
    let (o, m) = both_with(args, None);
    assert_eq!(
        o.status.code(),
        m.status.code(),
        "exit status of {args:?}: openstack {}, osimg {}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&m.stderr)
    );
    (
        String::from_utf8(o.stdout).unwrap(),
        String::from_utf8(m.stdout).unwrap(),
    )
}

/// Both outputs parsed as JSON.
pub(crate) fn both_json(args: &[&str]) -> (Value, Value) {
    let (o, m) = both(args);
    let parse = |who: &str, t: &str| {
        serde_json::from_str::<Value>(t).unwrap_or_else(|e| panic!("{who} {args:?}: {e}: {t}"))
    };
    (parse("openstack", &o), parse("osimg", &m))
}

/// The JSON object keys in the order printed (serde_json's map would sort them).
fn key_order(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with("  \"") || l.starts_with("    \""))
        .filter_map(|l| l.trim().split("\": ").next())
        .map(|k| k.trim_matches('"').to_owned())
        .collect()
}

/// A csv document as rows of (text, was quoted).
fn csv(text: &str) -> Vec<Vec<(String, bool)>> {
    text.lines()
        .map(|line| {
            let mut fields = Vec::new();
            let mut chars = line.chars().peekable();
            loop {
                let mut field = String::new();
                let quoted = chars.peek() == Some(&'"');
                if quoted {
                    chars.next();
                    while let Some(c) = chars.next() {
                        match c {
                            '"' if chars.peek() == Some(&'"') => {
                                chars.next();
                                field.push('"');
                            }
                            '"' => break,
                            '\\' => field.extend(chars.next()),
                            c => field.push(c),
                        }
                    }
                }
                while let Some(c) = chars.next_if(|c| *c != ',') {
                    field.push(c);
                }
                fields.push((field, quoted));
                if chars.next().is_none() {
                    break;
                }
            }
            fields
        })
        .collect()
}

/// A boxed table as rows of cells, a wrapped row's lines joined back (a line whose first
/// cell is empty continues the row above).
fn table(text: &str) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = Vec::new();
    for line in text.lines().filter(|l| l.starts_with('|')) {
        let cells: Vec<String> = line
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_owned())
            .collect();
        match rows.last_mut() {
            Some(prev) if cells[0].is_empty() => {
                for (p, c) in prev.iter_mut().zip(cells) {
                    p.push_str(&c);
                }
            }
            _ => rows.push(cells),
        }
    }
    rows
}

/// The shared images, made once by osimg (so no openstacksdk bookkeeping properties):
/// names sort `a`, `b` (twice: equal names keep Glance's newest-first order), `c`.
pub(crate) struct Fixture {
    pub(crate) tag: String,
    /// Ids in creation order: `a`, `b` (with data), `b` (empty, newer), `c`.
    pub(crate) ids: Vec<String>,
}

pub(crate) fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let tag = unique("osc-cmp");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("data.raw");
        std::fs::write(&file, vec![7u8; 1000]).unwrap();
        let file = file.to_str().unwrap();
        let specs: [Vec<&str>; 4] = [
            vec!["a", "--public", "--property", "foo=bar"],
            vec![
                "b",
                "--file",
                file,
                "--tag",
                "t1",
                "--tag",
                "base",
                "--min-ram",
                "128",
            ],
            vec!["b", "--property", "foo=baz"],
            vec!["c", "--property", "foo=bar", "--property", "hw_cpu_cores=2"],
        ];
        let mut ids = Vec::new();
        for spec in &specs {
            let name = format!("{tag}-{}", spec[0]);
            let mut args = vec!["image", "create", &name, "--tag", &tag];
            args.extend(&spec[1..]);
            args.extend(["-f", "value", "-c", "id"]);
            let out = osimg(&args);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            ids.push(String::from_utf8(out.stdout).unwrap().trim().to_owned());
        }
        Fixture { tag, ids }
    })
}

/// Deletes images at the end of a test (the fixture's stay: they are few and tagged).
struct Cleanup(Vec<String>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for id in &self.0 {
            let _ = osimg(&["image", "delete", id]);
        }
    }
}

#[test]
fn list_formats_sorting_and_paging_match_openstack() {
    let f = fixture();
    let t = f.tag.as_str();
    // Each case in json (keys, their order, values, row order); --long in csv too.
    for extra in [
        vec!["--long"],
        vec!["--sort", "size:asc,name:desc"],
        vec!["--property", "foo=bar"],
        vec!["--limit", "2"],
        vec!["--limit", "0", "--max-items", "0"],
        vec!["--max-items", "2"],
        vec!["--marker", &f.ids[2]],
        vec!["--long", "--sort-column", "Size", "--sort-descending"],
        vec!["-c", "Bogus", "-c", "Status", "-c", "ID"],
    ] {
        let mut args = vec!["image", "list", "--tag", t];
        args.extend(&extra);
        args.extend(["-f", "json"]);
        let (o, m) = both(&args);
        assert_eq!(key_order(&o), key_order(&m), "key order of {args:?}");
        let (o, m): (Value, Value) = (
            serde_json::from_str(&o).unwrap(),
            serde_json::from_str(&m).unwrap(),
        );
        assert_eq!(o, m, "{args:?}");
    }
    let (o, m) = both(&["image", "list", "--tag", t, "--long", "-f", "csv"]);
    assert_eq!(csv(&o), csv(&m));
    // The sort is client-side and stable: `b` (newer, empty) before `b` (older).
    let (o, m) = both(&["image", "list", "--tag", t, "-f", "value"]);
    assert_eq!(o, m, "-f value prints the same words");
    let order: Vec<&str> = o.lines().filter_map(|l| l.split(' ').next()).collect();
    assert_eq!(order, [&f.ids[0], &f.ids[2], &f.ids[1], &f.ids[3]]);
    for format in ["yaml", "table"] {
        let (o, m) = both(&["image", "list", "--tag", t, "--long", "-f", format]);
        match format {
            "yaml" => assert_eq!(
                serde_saphyr::from_str::<Value>(&o).unwrap(),
                serde_saphyr::from_str::<Value>(&m).unwrap()
            ),
            _ => assert_eq!(table(&o), table(&m)),
        }
    }
    let (o, m) = both(&["image", "list", "--tag", t, "--long", "--max-width", "80"]);
    assert_eq!(table(&o), table(&m));
    assert_eq!(o.lines().count(), m.lines().count(), "same wrapping");
    let (o, m) = both(&["image", "list", "--tag", &unique("none"), "--print-empty"]);
    assert_eq!(o, m);
    both(&["image", "list", "--tag", t, "-c", "Bogus"]); // both exit 1
}

/// openstack's `show` with openstacksdk's bookkeeping properties taken out.
fn without_sdk_properties(mut v: Value) -> Value {
    if let Some(p) = v.get_mut("properties").and_then(Value::as_object_mut) {
        p.retain(|k, _| !k.starts_with("owner_specified.openstack."));
    }
    v
}

#[test]
fn show_matches_openstack_in_every_format() {
    let f = fixture();
    for id in &f.ids {
        let (o, m) = both(&["image", "show", id, "-f", "json"]);
        assert_eq!(key_order(&o)[..5], key_order(&m)[..5], "sorted fields");
        let (o, m): (Value, Value) = (
            serde_json::from_str(&o).unwrap(),
            serde_json::from_str(&m).unwrap(),
        );
        assert_eq!(o, m, "image {id}");
    }
    let (o, m) = both(&["image", "show", &f.ids[3], "-f", "yaml"]);
    assert_eq!(
        serde_saphyr::from_str::<Value>(&o).unwrap(),
        serde_saphyr::from_str::<Value>(&m).unwrap()
    );
    let id = f.ids[1].as_str();
    let (o, m) = both_json(&["image", "show", id, "--human-readable", "-f", "json"]);
    assert_eq!(o, m);
    // value, shell and table: every field but `properties`, whose dict order differs.
    let cols = [
        "-c",
        "id",
        "-c",
        "name",
        "-c",
        "size",
        "-c",
        "protected",
        "-c",
        "tags",
        "-c",
        "min_ram",
        "-c",
        "visibility",
        "-c",
        "checksum",
    ];
    for format in ["value", "shell", "table"] {
        let mut args = vec!["image", "show", id, "-f", format];
        args.extend(cols);
        let (o, m) = both(&args);
        assert_eq!(o, m, "{args:?}");
    }
    let (o, m) = both(&[
        "image", "show", id, "-f", "shell", "--prefix", "img_", "-c", "name",
    ]);
    assert_eq!(o, m);
    // The properties cell holds the same pairs.
    let (o, m) = both(&["image", "show", id, "-c", "properties"]);
    let sorted = |t: &str| {
        let mut pairs: Vec<String> = table(t)[1][1].split(", ").map(str::to_owned).collect();
        pairs.sort();
        pairs
    };
    assert_eq!(sorted(&o), sorted(&m));
    both(&["image", "show", id, "-c", "Bogus"]); // both exit 1
    let (o, m) = both_with(&["image", "show", id, "-f", "csv"], None);
    assert_eq!((o.status.code(), m.status.code()), (Some(2), Some(2)));
}

#[test]
fn create_set_unset_and_typed_flags_match_openstack() {
    let tag = unique("osc-make");
    let mut cleanup = Cleanup(Vec::new());
    let data = vec![3u8; 2048];
    let mut made = Vec::new();
    for who in ["openstack", "osimg"] {
        let name = format!("{tag}-{who}");
        let args = [
            "image",
            "create",
            &name,
            "--tag",
            &tag,
            "--property",
            "k=v",
            "--min-disk",
            "1",
            "--protected",
            "-f",
            "json",
        ];
        let (out, secs) = if who == "openstack" {
            run_cli(&osc_bin(), &args, Some(&data))
        } else {
            run_cli(Path::new(env!("CARGO_BIN_EXE_osimg")), &args, Some(&data))
        };
        println!("timing: {who} {secs:.3}s  image create (2 KiB on stdin)");
        assert!(
            out.status.success(),
            "{who}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        cleanup.0.push(v["id"].as_str().unwrap().to_owned());
        made.push(v);
    }
    let masked = |v: &Value| {
        let mut v = without_sdk_properties(v.clone());
        let m = v.as_object_mut().unwrap();
        for k in ["id", "name", "created_at", "updated_at", "file"] {
            m.insert(k.into(), json!("*"));
        }
        v
    };
    assert_eq!(masked(&made[0]), masked(&made[1]), "create from stdin");
    assert_eq!(made[1]["size"], 2048);
    for id in &cleanup.0 {
        let _ = osimg(&["image", "set", id, "--unprotected"]);
    }

    // set with openstack's typed flags, then unset: both images end up alike.
    let kernel = "0c2e7d9e-6c8f-4d2b-9a41-3b5f0d7e8a11";
    let osimg_bin = PathBuf::from(env!("CARGO_BIN_EXE_osimg"));
    for (bin, id) in [osc_bin(), osimg_bin].iter().zip(cleanup.0.clone()) {
        let set = [
            "image",
            "set",
            &id,
            "--os-distro",
            "ubuntu",
            "--os-version",
            "24.04",
            "--architecture",
            "x86_64",
            "--kernel-id",
            kernel,
            "--ramdisk-id",
            kernel,
            "--instance-id",
            "srv-1",
            "--hidden",
            "--tag",
            "extra",
            "--min-ram",
            "64",
        ];
        let unset = ["image", "unset", &id, "--property", "k", "--tag", "extra"];
        for args in [&set[..], &unset[..]] {
            let (out, secs) = run_cli(bin, args, None);
            println!("timing: {} {secs:.3}s  image {}", bin.display(), args[1]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(out.stdout.is_empty());
        }
    }
    let shows: Vec<Value> = cleanup
        .0
        .iter()
        .map(|id| {
            serde_json::from_slice(&osimg(&["image", "show", id, "-f", "json"]).stdout).unwrap()
        })
        .collect();
    assert_eq!(masked(&shows[0]), masked(&shows[1]), "after set and unset");
    assert_eq!(shows[1]["properties"]["os_distro"], "ubuntu");
    assert_eq!(shows[1]["properties"]["instance_id"], "srv-1");
    assert_eq!(shows[1]["properties"]["os_hidden"], true);
    let (o, m) = both_with(&["image", "delete", &cleanup.0[0]], None);
    assert!(o.status.success());
    assert_eq!(m.status.code(), Some(3), "osimg: not found (it is deleted)");
    cleanup.0.remove(0);
}

#[test]
fn members_tasks_import_info_and_save_match_openstack() {
    let f = fixture();
    let demo = {
        let out = run_cli(
            &osc_bin(),
            &["project", "show", "demo", "-f", "value", "-c", "id"],
            None,
        )
        .0;
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let id = f.ids[3].as_str();
    // add by openstack, remove by osimg, add by osimg, remove by openstack: each step
    // works, and both adds print the same member.
    let stamp = |v: Value| {
        let mut v = v;
        for k in ["created_at", "updated_at"] {
            v[k] = json!("*");
        }
        v
    };
    let by_osc: Value = serde_json::from_slice(&o_stdout(&[
        "image", "add", "project", id, &demo, "-f", "json",
    ]))
    .unwrap();
    let (o, m) = both_json(&["image", "member", "get", id, &demo, "-f", "json"]);
    assert_eq!(o, m);
    let (o, m) = both_json(&["image", "member", "list", id, "-f", "json"]);
    assert_eq!(o, m);
    let (o, m) = both(&["image", "member", "list", id, "-f", "csv"]);
    assert_eq!(csv(&o), csv(&m));
    let out = osimg(&["image", "remove", "project", id, &demo]);
    assert!(out.status.success() && out.stdout.is_empty());
    let out = osimg(&["image", "add", "project", id, &demo, "-f", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let by_osimg: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stamp(by_osc), stamp(by_osimg));
    assert!(o_stdout(&["image", "remove", "project", id, &demo]).is_empty());
    let (o, m) = both_json(&["image", "import", "info", "-f", "json"]);
    assert_eq!(o, m);
    let (o, m) = both(&["image", "import", "info"]);
    assert_eq!(table(&o), table(&m));
    let (o, m) = both(&["image", "import", "info", "-f", "value"]);
    assert_eq!(o, m);

    // A task: an import by osimg, listed and shown by both.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("imp.raw");
    std::fs::write(&file, [1u8; 512]).unwrap();
    let name = unique("osc-task");
    let out = osimg(&[
        "image",
        "create",
        &name,
        "--import",
        "--file",
        file.to_str().unwrap(),
        "-f",
        "value",
        "-c",
        "id",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cleanup = Cleanup(vec![
        String::from_utf8(out.stdout).unwrap().trim().to_owned(),
    ]);
    // Other tests import too: compare the rows of this image's task only (Glance's
    // list leaves `input` out: the newest tasks are shown one by one to find it).
    let task = {
        let out = osimg(&[
            "image", "task", "list", "--limit", "5", "-f", "value", "-c", "ID",
        ]);
        let ids = String::from_utf8(out.stdout).unwrap();
        ids.lines()
            .find(|t| {
                let out = osimg(&["image", "task", "show", t, "-f", "json"]);
                let v: Value = serde_json::from_slice(&out.stdout).unwrap();
                v["input"]["image_id"] == json!(cleanup.0[0])
            })
            .map(str::to_owned)
            .expect("the import's task")
    };
    let (o, m) = both(&["image", "task", "list", "-f", "json"]);
    assert_eq!(key_order(&o)[..4], key_order(&m)[..4]);
    let row = |t: &str| {
        let v: Value = serde_json::from_str(t).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .find(|r| r["ID"] == json!(task))
            .cloned()
    };
    assert_eq!(row(&o), row(&m));
    assert!(row(&m).is_some());
    let (o, m) = both_json(&["image", "task", "show", &task, "-f", "json"]);
    assert_eq!(o, m);

    // save to stdout: the same bytes.
    let (o, m) = both_with(&["image", "save", &f.ids[1]], None);
    assert!(o.status.success() && m.status.success());
    assert_eq!(o.stdout, m.stdout);
    assert_eq!(m.stdout, vec![7u8; 1000]);
}

/// openstack's stdout for the arguments (a step that only one CLI takes).
pub(crate) fn o_stdout(args: &[&str]) -> Vec<u8> {
    let (out, _) = run_cli(&osc_bin(), args, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The helpers read what they should: a guard against a comparison that cannot fail.
#[test]
fn the_parsers_tell_outputs_apart() {
    assert_ne!(csv("\"a\",1"), csv("\"a\",\"1\""));
    assert_eq!(
        csv("\"x\"\"y\",\"a\\\\b\""),
        vec![vec![("x\"y".into(), true), ("a\\b".into(), true)]]
    );
    let t = "+----+\n| ID |\n+----+\n| ab |\n|    |\n| cd |\n+----+\n";
    assert_eq!(
        table(t),
        vec![
            vec!["ID".to_owned()],
            vec!["ab".to_owned()],
            vec!["cd".to_owned()]
        ]
    );
    assert_eq!(key_order("{\n  \"b\": 1,\n  \"a\": 2\n}"), ["b", "a"]);
}
