//! Offline tests of the local image inspector against real images made by `qemu-img`
//! (qemu-utils): each image is created by `qemu-img create`, and the inspector's format and
//! virtual size are compared with what `qemu-img info --output=json` reports for the same
//! file. Only the ISO and the partition tables are written by hand here (no `xorriso` or
//! `sfdisk` on the test machines): a minimal ISO 9660 primary volume descriptor, a DOS MBR and
//! a protective MBR with a GPT header signature, each on a raw image qemu-img made.
//! Without qemu-img these tests fail with "install qemu-utils"; they never skip.

use std::io::{Cursor, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::Command;

use openstack_images::{
    DiskFormat, Inspection, PartitionTable, UnsafeReason, inspect_file, inspect_reader,
};
use serde_json::Value;

/// Runs qemu-img with `args` in `dir`, failing the test when it is missing or fails.
fn qemu_img(dir: &Path, args: &[&str]) -> String {
    let output = match Command::new("qemu-img")
        .args(args)
        .current_dir(dir)
        .output()
    {
        Ok(output) => output,
        Err(e) => panic!("cannot run qemu-img ({e}): install qemu-utils"),
    };
    assert!(
        output.status.success(),
        "qemu-img {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Creates `name` in `dir` with `qemu-img create -q -f FORMAT [extra] name size`.
fn create(dir: &Path, format: &str, extra: &[&str], name: &str, size: &str) -> PathBuf {
    let mut args = vec!["create", "-q", "-f", format];
    args.extend_from_slice(extra);
    args.push(name);
    if !size.is_empty() {
        args.push(size);
    }
    qemu_img(dir, &args);
    dir.join(name)
}

/// The top-level `format` and `virtual-size` of `qemu-img info --output=json`.
fn qemu_info(path: &Path) -> (String, u64) {
    let dir = path.parent().expect("a file in a directory");
    let file = path.to_str().expect("a UTF-8 path");
    let info: Value = serde_json::from_str(&qemu_img(dir, &["info", "--output=json", file]))
        .expect("qemu-img prints JSON");
    let format = info["format"].as_str().expect("format").to_owned();
    let size = info["virtual-size"].as_u64().expect("virtual-size");
    (format, size)
}

/// Inspects `path`, checks that the format is `expected` and that the virtual size equals
/// qemu-img's (whose format name is `qemu_format`), and returns the inspection.
fn inspect_like_qemu(path: &Path, expected: &str, qemu_format: &str) -> Inspection {
    let inspection = inspect_file(path).expect("inspect");
    let (format, size) = qemu_info(path);
    assert_eq!(format, qemu_format, "qemu-img's format for {path:?}");
    assert_eq!(inspection.format, DiskFormat::from(expected), "{path:?}");
    assert_eq!(inspection.format.as_str(), expected);
    assert_eq!(inspection.virtual_size, size, "virtual size of {path:?}");
    inspection
}

fn assert_safe(inspection: &Inspection) {
    assert!(
        inspection.is_safe(),
        "unexpected reasons {:?}",
        inspection.unsafe_reasons
    );
    assert!(inspection.unsafe_reasons.is_empty());
}

fn write_at(path: &Path, offset: u64, bytes: &[u8]) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    file.seek(SeekFrom::Start(offset)).unwrap();
    file.write_all(bytes).unwrap();
}

#[test]
fn qcow2_plain_is_safe_with_qemus_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = create(dir.path(), "qcow2", &[], "disk.qcow2", "1000M");
    let inspection = inspect_like_qemu(&path, "qcow2", "qcow2");
    assert_eq!(inspection.virtual_size, 1000 * 1024 * 1024);
    assert_safe(&inspection);
    let v2 = create(
        dir.path(),
        "qcow2",
        &["-o", "compat=0.10"],
        "v2.qcow2",
        "3G",
    );
    assert_safe(&inspect_like_qemu(&v2, "qcow2", "qcow2"));
}

#[test]
fn qcow2_backing_file_is_unsafe() {
    let dir = tempfile::tempdir().unwrap();
    create(dir.path(), "raw", &[], "base.raw", "64M");
    let path = create(
        dir.path(),
        "qcow2",
        &["-b", "base.raw", "-F", "raw"],
        "child.qcow2",
        "",
    );
    let inspection = inspect_like_qemu(&path, "qcow2", "qcow2");
    assert_eq!(
        inspection.unsafe_reasons,
        vec![UnsafeReason::BackingFile {
            name: "base.raw".into()
        }]
    );
    assert!(!inspection.is_safe());
}

#[test]
fn qcow2_external_data_file_is_unsafe() {
    let dir = tempfile::tempdir().unwrap();
    let path = create(
        dir.path(),
        "qcow2",
        &["-o", "data_file=data.raw"],
        "split.qcow2",
        "64M",
    );
    let inspection = inspect_like_qemu(&path, "qcow2", "qcow2");
    assert_eq!(
        inspection.unsafe_reasons,
        vec![UnsafeReason::DataFile {
            name: Some("data.raw".into())
        }]
    );
}

#[test]
fn qcow2_that_is_also_an_iso_is_unsafe() {
    let dir = tempfile::tempdir().unwrap();
    let path = create(dir.path(), "qcow2", &[], "both.qcow2", "64M");
    // The header cluster is 64 KiB: an ISO volume descriptor fits at 32 KiB inside it.
    let iso = minimal_iso();
    write_at(&path, 16 * 2048, &iso[16 * 2048..]);
    let inspection = inspect_like_qemu(&path, "qcow2", "qcow2");
    assert_eq!(
        inspection.unsafe_reasons,
        vec![UnsafeReason::Polyglot { other: "iso" }]
    );
}

#[test]
fn qcow2_unknown_incompatible_feature_is_unsafe() {
    let dir = tempfile::tempdir().unwrap();
    let path = create(dir.path(), "qcow2", &[], "future.qcow2", "64M");
    // Bit 63 of the incompatible features (big-endian u64 at 72): qemu itself refuses it.
    write_at(&path, 72, &[0x80]);
    let inspection = inspect_file(&path).unwrap();
    assert_eq!(inspection.format, DiskFormat::Qcow2);
    assert_eq!(inspection.virtual_size, 64 << 20);
    assert_eq!(
        inspection.unsafe_reasons,
        vec![UnsafeReason::UnknownFeatures { bits: 1 << 63 }]
    );
}

#[test]
fn vmdk_single_file_subformats_are_safe() {
    let dir = tempfile::tempdir().unwrap();
    for (name, subformat) in [
        ("sparse.vmdk", "monolithicSparse"),
        ("stream.vmdk", "streamOptimized"),
    ] {
        let option = format!("subformat={subformat}");
        let path = create(dir.path(), "vmdk", &["-o", &option], name, "777M");
        let inspection = inspect_like_qemu(&path, "vmdk", "vmdk");
        assert_eq!(inspection.subformat.as_deref(), Some(subformat));
        assert_safe(&inspection);
    }
}

#[test]
fn vmdk_stream_optimized_with_data_is_sized_like_qemu() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("data.raw");
    std::fs::write(&source, vec![0x5a; 3 << 20]).unwrap();
    qemu_img(
        dir.path(),
        &[
            "convert",
            "-f",
            "raw",
            "-O",
            "vmdk",
            "-o",
            "subformat=streamOptimized",
            "data.raw",
            "stream.vmdk",
        ],
    );
    let inspection = inspect_like_qemu(&dir.path().join("stream.vmdk"), "vmdk", "vmdk");
    assert_eq!(inspection.subformat.as_deref(), Some("streamOptimized"));
    assert_safe(&inspection);
}

#[test]
fn vmdk_stream_optimized_with_header_in_footer_is_sized_by_footer() {
    let dir = tempfile::tempdir().unwrap();
    let path = create(
        dir.path(),
        "vmdk",
        &["-o", "subformat=streamOptimized"],
        "footer.vmdk",
        "96M",
    );
    // What a writer that cannot seek back produces: the header says "grain directory at the
    // end" (all ones at 56) with a wrong capacity (one sector; qemu reads a capacity of 0 as
    // "this is a descriptor file"), and the real header follows as a footer between
    // a footer marker (type 3 at byte 12) and an end-of-stream marker.
    let header = head(&path, 512);
    let mut tail = vec![0u8; 1536];
    tail[12] = 3;
    tail[512..1024].copy_from_slice(&header);
    let end = std::fs::metadata(&path).unwrap().len();
    write_at(&path, end, &tail);
    write_at(&path, 12, &1u64.to_le_bytes());
    write_at(&path, 56, &[0xFF; 8]);
    let inspection = inspect_like_qemu(&path, "vmdk", "vmdk");
    assert_eq!(inspection.virtual_size, 96 << 20);
    assert_safe(&inspection);
}

#[test]
fn vmdk_descriptor_with_flat_extent_is_unsafe() {
    let dir = tempfile::tempdir().unwrap();
    let path = create(
        dir.path(),
        "vmdk",
        &["-o", "subformat=monolithicFlat"],
        "flat.vmdk",
        "10M",
    );
    let inspection = inspect_like_qemu(&path, "vmdk", "vmdk");
    assert_eq!(inspection.subformat.as_deref(), Some("monolithicFlat"));
    assert_eq!(
        inspection.unsafe_reasons,
        vec![
            UnsafeReason::VmdkSubformat {
                create_type: Some("monolithicFlat".into())
            },
            UnsafeReason::VmdkExtentFile {
                file: "flat-flat.vmdk".into()
            },
        ]
    );
}

#[test]
fn vhd_is_named_as_glance_names_it_and_sized_by_geometry() {
    let dir = tempfile::tempdir().unwrap();
    // 100 MiB is not a whole CHS geometry: qemu's size differs from the requested one.
    for (name, size, extra) in [
        ("dynamic.vhd", "100M", &[][..]),
        ("odd.vhd", "12345K", &[][..]),
        ("forced.vhd", "100M", &["-o", "force_size=on"][..]),
    ] {
        let path = create(dir.path(), "vpc", extra, name, size);
        let inspection = inspect_like_qemu(&path, "vhd", "vpc");
        assert_eq!(inspection.subformat.as_deref(), Some("dynamic"));
        assert_safe(&inspection);
    }
}

#[test]
fn differencing_vhd_is_unsafe() {
    let dir = tempfile::tempdir().unwrap();
    let path = create(dir.path(), "vpc", &[], "child.vhd", "64M");
    // qemu-img cannot make one: turn a real dynamic disk's type (u32 at 60) into 4.
    write_at(&path, 63, &[4]);
    let inspection = inspect_file(&path).unwrap();
    assert_eq!(inspection.format, DiskFormat::Vhd);
    assert_eq!(inspection.subformat.as_deref(), Some("differencing"));
    assert_eq!(inspection.unsafe_reasons, vec![UnsafeReason::ParentDisk]);
}

#[test]
fn vhdx_vdi_luks_and_raw_are_safe_with_qemus_size() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &str, &[&str], &str); 4] = [
        ("vhdx", "disk.vhdx", &[], "vhdx"),
        ("vdi", "disk.vdi", &[], "vdi"),
        (
            "luks",
            "disk.luks",
            &[
                "--object",
                "secret,id=sec0,data=test-passphrase",
                "-o",
                "key-secret=sec0",
            ],
            "luks",
        ),
        ("raw", "disk.raw", &[], "raw"),
    ];
    for (format, name, extra, expected) in cases {
        let path = create(dir.path(), format, extra, name, "300M");
        let inspection = inspect_like_qemu(&path, expected, format);
        assert_eq!(inspection.partition_table, None);
        assert_safe(&inspection);
    }
    // An odd size: VDI rounds up to whole sectors, VHDX keeps it.
    for format in ["vdi", "vhdx"] {
        let name = format!("odd.{format}");
        let path = create(dir.path(), format, &[], &name, "1234567");
        assert_safe(&inspect_like_qemu(&path, format, format));
    }
}

#[test]
fn qed_is_always_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = create(dir.path(), "qed", &[], "disk.qed", "200M");
    let inspection = inspect_like_qemu(&path, "qed", "qed");
    assert_eq!(inspection.unsafe_reasons, vec![UnsafeReason::Qed]);
}

/// A minimal ISO 9660 image: 18 sectors of 2048 bytes, a primary volume descriptor at
/// sector 16 and the set terminator at 17 (written by hand: no xorriso here).
fn minimal_iso() -> Vec<u8> {
    let mut iso = vec![0u8; 18 * 2048];
    let pvd = &mut iso[16 * 2048..17 * 2048];
    pvd[0] = 1;
    pvd[1..6].copy_from_slice(b"CD001");
    pvd[6] = 1;
    pvd[40..48].copy_from_slice(b"INSPECT ");
    pvd[80..84].copy_from_slice(&18u32.to_le_bytes());
    pvd[84..88].copy_from_slice(&18u32.to_be_bytes());
    pvd[128..130].copy_from_slice(&2048u16.to_le_bytes());
    pvd[130..132].copy_from_slice(&2048u16.to_be_bytes());
    let terminator = &mut iso[17 * 2048..18 * 2048];
    terminator[0] = 255;
    terminator[1..6].copy_from_slice(b"CD001");
    terminator[6] = 1;
    iso
}

#[test]
fn iso_is_detected_and_sized_as_raw_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("disk.iso");
    std::fs::write(&path, minimal_iso()).unwrap();
    let inspection = inspect_like_qemu(&path, "iso", "raw");
    assert_eq!(inspection.virtual_size, 18 * 2048);
    assert_safe(&inspection);
}

/// A DOS partition entry: boot flag, type, first LBA and sector count (CHS left zero).
fn mbr_entry(boot: u8, kind: u8, first: u32, sectors: u32) -> [u8; 16] {
    let mut entry = [0u8; 16];
    entry[0] = boot;
    entry[4] = kind;
    entry[8..12].copy_from_slice(&first.to_le_bytes());
    entry[12..16].copy_from_slice(&sectors.to_le_bytes());
    entry
}

#[test]
fn raw_with_mbr_or_gpt_is_raw_with_a_partition_table() {
    let dir = tempfile::tempdir().unwrap();
    let mbr = create(dir.path(), "raw", &[], "mbr.raw", "16M");
    write_at(&mbr, 446, &mbr_entry(0x80, 0x83, 2048, 30720));
    write_at(&mbr, 510, &[0x55, 0xAA]);
    let inspection = inspect_like_qemu(&mbr, "raw", "raw");
    assert_eq!(inspection.partition_table, Some(PartitionTable::Mbr));
    assert_safe(&inspection);

    // A protective MBR and the GPT header's signature (its CRCs are not checked).
    let gpt = create(dir.path(), "raw", &[], "gpt.raw", "16M");
    write_at(&gpt, 446, &mbr_entry(0, 0xEE, 1, 32767));
    write_at(&gpt, 510, &[0x55, 0xAA]);
    write_at(&gpt, 512, b"EFI PART\x00\x00\x01\x00\x5c\x00\x00\x00");
    let inspection = inspect_like_qemu(&gpt, "raw", "raw");
    assert_eq!(inspection.partition_table, Some(PartitionTable::Gpt));
    assert_safe(&inspection);

    // 0x55AA after a boot indicator that is not 0x00/0x80 is no partition table.
    let boot = create(dir.path(), "raw", &[], "boot.raw", "1M");
    write_at(&boot, 446, &mbr_entry(0x42, 0x83, 2048, 30720));
    write_at(&boot, 510, &[0x55, 0xAA]);
    assert_eq!(inspect_file(&boot).unwrap().partition_table, None);
}

#[test]
fn tiny_or_empty_files_are_raw_or_truncated() {
    let empty = inspect_reader(Cursor::new(Vec::<u8>::new())).unwrap();
    assert_eq!(empty.format, DiskFormat::Raw);
    assert_eq!(empty.virtual_size, 0);
    let magic_only = inspect_reader(Cursor::new(b"QFI\xfb\0\0\0\x03".to_vec())).unwrap();
    assert_eq!(magic_only.format, DiskFormat::Qcow2);
    assert_eq!(
        magic_only.unsafe_reasons,
        vec![UnsafeReason::Truncated {
            needed: 72,
            available: 8
        }]
    );
}

/// Counts the bytes read through it, to show that inspection reads headers only.
struct CountingReader<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

impl<R: Seek> Seek for CountingReader<R> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// Every kind of image the fuzz-like test mangles, made by qemu-img.
fn image_zoo(dir: &Path) -> Vec<PathBuf> {
    let secret = ["--object", "secret,id=s,data=pw", "-o", "key-secret=s"];
    vec![
        create(dir, "qcow2", &[], "a.qcow2", "64M"),
        create(dir, "qcow2", &["-o", "data_file=a.data"], "d.qcow2", "64M"),
        create(
            dir,
            "qcow2",
            &["-b", "a.qcow2", "-F", "qcow2"],
            "b.qcow2",
            "",
        ),
        create(dir, "vmdk", &[], "a.vmdk", "64M"),
        create(
            dir,
            "vmdk",
            &["-o", "subformat=streamOptimized"],
            "s.vmdk",
            "64M",
        ),
        create(
            dir,
            "vmdk",
            &["-o", "subformat=monolithicFlat"],
            "f.vmdk",
            "1M",
        ),
        create(dir, "vpc", &[], "a.vhd", "64M"),
        create(dir, "vhdx", &[], "a.vhdx", "64M"),
        create(dir, "vdi", &[], "a.vdi", "64M"),
        create(dir, "qed", &[], "a.qed", "64M"),
        create(dir, "luks", &secret, "a.luks", "1M"),
    ]
}

#[test]
fn inspection_reads_only_headers() {
    let dir = tempfile::tempdir().unwrap();
    let mut images = image_zoo(dir.path());
    images.push(create(dir.path(), "raw", &[], "big.raw", "100G"));
    for path in images {
        let mut reader = CountingReader {
            inner: std::fs::File::open(&path).unwrap(),
            read: 0,
        };
        inspect_reader(&mut reader).unwrap();
        assert!(reader.read <= 128 * 1024, "{path:?}: read {}", reader.read);
    }
}

/// The first `limit` bytes of `path`, as an in-memory image.
fn head(path: &Path, limit: u64) -> Vec<u8> {
    let mut data = Vec::new();
    std::fs::File::open(path)
        .unwrap()
        .take(limit)
        .read_to_end(&mut data)
        .unwrap();
    data
}

#[test]
fn truncated_and_mangled_images_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = fastrand::Rng::with_seed(17);
    for path in image_zoo(dir.path()) {
        let data = head(&path, 512 * 1024);
        let whole = inspect_reader(Cursor::new(&data)).unwrap();
        // Every cut through the first 1 KiB, then every 509th byte (a prime stride).
        let cuts = (0..data.len().min(1024)).chain((1024..data.len()).step_by(509));
        for cut in cuts {
            match inspect_reader(Cursor::new(&data[..cut])) {
                Ok(inspection) if cut < 64 && inspection.format == whole.format => {
                    assert!(
                        !inspection.is_safe(),
                        "{path:?} cut at {cut}: {inspection:?}"
                    );
                }
                Ok(_) | Err(_) => {}
            }
        }
        // Header fields set to all ones (sizes and offsets at their maximum), then random
        // bytes at random places in the first 320 KiB (the VHDX region tables included).
        for at in 0..data.len().min(1024).saturating_sub(8) {
            let mut mangled = data.clone();
            mangled[at..at + 8].fill(0xFF);
            let _ = inspect_reader(Cursor::new(&mangled));
        }
        for _ in 0..3000 {
            let mut mangled = data.clone();
            for _ in 0..rng.usize(1..8) {
                let at = rng.usize(..mangled.len().min(320 * 1024));
                mangled[at] = rng.u8(..);
            }
            let _ = inspect_reader(Cursor::new(&mangled));
        }
    }
}

/// `osimg image inspect`, run as a user would, with no cloud configured at all.
mod cli {
    use super::*;

    fn osimg(dir: &Path, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_osimg"))
            .args(args)
            .current_dir(dir)
            .env_clear()
            .env("HOME", dir)
            .output()
            .expect("run osimg")
    }

    #[test]
    fn json_names_format_size_and_reasons() {
        let dir = tempfile::tempdir().unwrap();
        create(dir.path(), "raw", &[], "base.raw", "64M");
        create(
            dir.path(),
            "qcow2",
            &["-b", "base.raw", "-F", "raw"],
            "child.qcow2",
            "",
        );
        let output = osimg(
            dir.path(),
            &["image", "inspect", "-f", "json", "child.qcow2"],
        );
        assert!(output.status.success(), "{output:?}");
        let shown: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(shown["file"], "child.qcow2");
        assert_eq!(shown["format"], "qcow2");
        assert_eq!(shown["virtual_size"], 64 << 20);
        assert_eq!(shown["safe"], false);
        assert_eq!(
            shown["unsafe_reasons"],
            serde_json::json!(["qcow2 backing file `base.raw`"])
        );

        let output = osimg(dir.path(), &["image", "inspect", "-f", "json", "base.raw"]);
        let shown: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(shown["format"], "raw");
        assert_eq!(shown["safe"], true);
        assert_eq!(shown["unsafe_reasons"], serde_json::json!([]));
    }

    #[test]
    fn table_escapes_control_characters_of_file_and_backing_names() {
        let dir = tempfile::tempdir().unwrap();
        let base = "base\x1b[31m.raw";
        create(dir.path(), "raw", &[], base, "1M");
        let child = "child\x1b]0;owned\x07.qcow2";
        create(dir.path(), "qcow2", &["-b", base, "-F", "raw"], child, "");
        let output = osimg(dir.path(), &["image", "inspect", child]);
        assert!(output.status.success(), "{output:?}");
        let table = String::from_utf8(output.stdout).unwrap();
        assert!(
            !table.contains('\x1b') && !table.contains('\x07'),
            "{table}"
        );
        assert!(table.contains(r"child\x1b]0;owned\x07.qcow2"), "{table}");
        assert!(
            table.contains(r"qcow2 backing file `base\x1b[31m.raw`"),
            "{table}"
        );
    }

    /// `osimg image create NAME --file FILE ARGS` against a cloud whose endpoint is a closed
    /// loopback port: a refusal before any request is the inspector's message with status 2;
    /// a request that was tried fails to connect instead (status 1). No server is needed to
    /// tell the two apart, so none runs.
    fn create_against_nothing(dir: &Path, file: &str, args: &[&str]) -> (i32, String) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let config = dir.join("clouds.yaml");
        std::fs::write(
            &config,
            format!(
                "clouds:\n  closed:\n    auth_type: none\n    auth:\n      endpoint: \
                 http://127.0.0.1:{port}/v2\n"
            ),
        )
        .unwrap();
        let mut all = vec!["image", "create", "inspected", "--file", file];
        all.extend_from_slice(args);
        let output = Command::new(env!("CARGO_BIN_EXE_osimg"))
            .args(&all)
            .current_dir(dir)
            .env_clear()
            .env("HOME", dir)
            .env("OS_CLIENT_CONFIG_FILE", &config)
            .env("OS_CLOUD", "closed")
            .output()
            .expect("run osimg");
        let stderr = String::from_utf8(output.stderr).unwrap();
        (output.status.code().expect("an exit status"), stderr)
    }

    #[test]
    fn create_refuses_unsafe_files_before_sending_anything() {
        let dir = tempfile::tempdir().unwrap();
        create(dir.path(), "raw", &[], "base.raw", "1M");
        create(
            dir.path(),
            "qcow2",
            &["-b", "base.raw", "-F", "raw"],
            "child.qcow2",
            "",
        );
        create(dir.path(), "qed", &[], "old.qed", "1M");
        for args in [
            &[][..],
            &["--disk-format", "qcow2"][..],
            &["--disk-format", "raw", "--allow-format-mismatch"][..],
        ] {
            let (code, stderr) = create_against_nothing(dir.path(), "child.qcow2", args);
            assert_eq!(code, 2, "{args:?}: {stderr}");
            assert!(
                stderr.contains("refusing to upload an unsafe qcow2 image: qcow2 backing file"),
                "{args:?}: {stderr}"
            );
        }
        let (code, stderr) = create_against_nothing(dir.path(), "old.qed", &[]);
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains("qed images are refused"), "{stderr}");
    }

    #[test]
    fn create_refuses_a_format_mismatch_unless_allowed() {
        let dir = tempfile::tempdir().unwrap();
        create(dir.path(), "qcow2", &[], "disk.qcow2", "1M");
        let (code, stderr) =
            create_against_nothing(dir.path(), "disk.qcow2", &["--disk-format", "raw"]);
        assert_eq!(code, 2, "{stderr}");
        assert!(
            stderr.contains("disk.qcow2 is qcow2 data, not raw: give --disk-format qcow2"),
            "{stderr}"
        );
        // Allowed, or declared right, or left to detection: the check passes and the request
        // is tried (and fails to connect).
        for args in [
            &["--disk-format", "raw", "--allow-format-mismatch"][..],
            &["--disk-format", "qcow2"][..],
            &[][..],
        ] {
            let (code, stderr) = create_against_nothing(dir.path(), "disk.qcow2", args);
            assert_eq!(code, 1, "{args:?}: {stderr}");
            assert!(!stderr.contains("qcow2 data, not"), "{args:?}: {stderr}");
            assert!(stderr.contains("127.0.0.1"), "{args:?}: {stderr}");
        }
    }

    #[test]
    fn a_missing_file_fails_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let output = osimg(dir.path(), &["image", "inspect", "absent.qcow2"]);
        assert_eq!(output.status.code(), Some(1));
        let message = String::from_utf8(output.stderr).unwrap();
        assert!(message.contains("absent.qcow2"), "{message}");
    }
}

/// The first [`INSPECT_PREFIX`] bytes of a stream tell what the whole file tells, for every
/// format qemu-img writes, safe or not (a pipe, a download or a decompressor cannot seek).
/// Each file is padded past the prefix, as a real disk is, so the prefix is incomplete.
#[test]
fn a_streams_first_bytes_tell_what_the_whole_file_tells() {
    use openstack_images::{INSPECT_PREFIX, inspect_prefix};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    create(d, "raw", &[], "base.raw", "1M");
    let files = [
        create(d, "qcow2", &[], "plain.qcow2", "1G"),
        create(
            d,
            "qcow2",
            &["-b", "base.raw", "-F", "raw"],
            "child.qcow2",
            "",
        ),
        create(
            d,
            "vmdk",
            &["-o", "subformat=streamOptimized"],
            "s.vmdk",
            "1G",
        ),
        create(
            d,
            "vmdk",
            &["-o", "subformat=monolithicSparse"],
            "m.vmdk",
            "1G",
        ),
        create(d, "vhdx", &[], "d.vhdx", "1G"),
        create(d, "vpc", &["-o", "subformat=dynamic"], "d.vhd", "1G"),
        create(d, "vdi", &[], "d.vdi", "1G"),
        create(d, "raw", &[], "r.raw", "6M"),
    ];
    for path in &files {
        let mut data = std::fs::read(path).unwrap();
        if data.len() <= INSPECT_PREFIX {
            data.resize(INSPECT_PREFIX + 4096, 0);
        }
        let whole = openstack_images::inspect_reader(std::io::Cursor::new(&data)).unwrap();
        let streamed = inspect_prefix(&data[..INSPECT_PREFIX], false)
            .unwrap_or_else(|e| panic!("{path:?}: {e}"));
        assert_eq!(streamed.format, whole.format, "{path:?}");
        assert_eq!(streamed.unsafe_reasons, whole.unsafe_reasons, "{path:?}");
        assert_eq!(streamed.subformat, whole.subformat, "{path:?}");
        if whole.format.as_str() == "raw" {
            assert_eq!(
                streamed.virtual_size, 0,
                "a stream's length is not known yet"
            );
        } else {
            assert_eq!(streamed.virtual_size, whole.virtual_size, "{path:?}");
        }
        // All of a short stream is all of the file.
        let complete = inspect_prefix(&data, true).unwrap();
        assert_eq!(complete, whole, "{path:?}");
    }
}

/// A header that points past the prefix is an error naming the reason, not a guess.
#[test]
fn a_header_past_a_streams_first_bytes_is_refused() {
    use openstack_images::{INSPECT_PREFIX, inspect_prefix};
    let dir = tempfile::tempdir().unwrap();
    let path = create(dir.path(), "qcow2", &[], "far.qcow2", "1G");
    let mut data = std::fs::read(&path).unwrap();
    data.resize(INSPECT_PREFIX + 8192, 0);
    // The backing file name offset (u64 at 8) and size (u32 at 16), past the prefix.
    let name = b"elsewhere.raw";
    let at = INSPECT_PREFIX + 100;
    data[at..at + name.len()].copy_from_slice(name);
    data[8..16].copy_from_slice(&(at as u64).to_be_bytes());
    data[16..20].copy_from_slice(&(name.len() as u32).to_be_bytes());
    let whole = openstack_images::inspect_reader(std::io::Cursor::new(&data)).unwrap();
    assert!(!whole.is_safe(), "the whole file shows the backing file");
    let err = inspect_prefix(&data[..INSPECT_PREFIX], false).unwrap_err();
    assert!(err.to_string().contains("past the first"), "{err}");
}

/// `DataSource::inspect` on a pipe-like source: the inspection of its first bytes, and a
/// source that still yields every byte, in order.
#[tokio::test]
async fn an_inspected_stream_source_sends_every_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = create(dir.path(), "qcow2", &[], "disk.qcow2", "1G");
    let mut data = std::fs::read(&path).unwrap();
    data.resize(9 << 20, 0xA5);
    let chunks: Vec<std::io::Result<bytes::Bytes>> = data
        .chunks(100_003)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    let source = openstack_images::DataSource::stream(futures_util::stream::iter(chunks));
    let (inspection, source) = source.inspect().await.unwrap();
    assert_eq!(inspection.format.as_str(), "qcow2");
    assert_eq!(inspection.virtual_size, 1 << 30);
    assert!(inspection.is_safe());
    let sent = source.read_all().await.unwrap();
    assert_eq!(sent.len(), data.len());
    assert!(sent == data, "the same bytes in the same order");
}
