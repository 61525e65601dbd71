//! Catalog reading: openstack-image-manager's own files load; bad files are refused with the
//! file, line, path and message; nothing panics.

use std::path::{Path, PathBuf};

use super::*;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/catalog/oim")
}

/// A valid image; `{V}` is replaced by the versions' lines, `{M}` by extra image lines.
const IMAGE: &str = "\
images:
  - name: Test
    enable: true
    format: qcow2
    login: ubuntu
    min_ram: 512
    status: active
    visibility: public
    multi: true
    meta:
      architecture: x86_64
      hw_disk_bus: scsi
      hypervisor_type: qemu
      os_distro: ubuntu
      os_purpose: generic
      replace_frequency: never
      uuid_validity: none
      provided_until: none
    tags: []
    versions:
      - version: '1'
        url: https://example.com/a.img
";

fn with(extra: &str) -> String {
    format!("{IMAGE}{extra}")
}

fn errors(text: &str) -> Vec<String> {
    match Catalog::from_yaml_str("t.yml", text) {
        Ok(_) => Vec::new(),
        Err(e) => e.errors.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn the_corpus_loads() {
    let catalog = Catalog::load(&[corpus()]).unwrap();
    let files: Vec<&str> = catalog
        .images
        .iter()
        .map(|i| i.file.file_name().unwrap().to_str().unwrap())
        .collect();
    let mut sorted = files.clone();
    sorted.sort();
    assert_eq!(files, sorted, "files are read in name order");
    assert!(catalog.images.len() > 10);
    let noble = catalog
        .images
        .iter()
        .find(|i| i.name == "Ubuntu 24.04")
        .unwrap();
    assert!(noble.multi && noble.enable);
    assert!(noble.latest_checksum_url.is_some());
    assert!(noble.versions.iter().all(|v| v.build_date.is_some()));
    for image in &catalog.images {
        for v in &image.versions {
            assert!(v.checksum.is_some() || v.checksums_url.is_some() || v.checksum_url.is_some());
        }
    }
}

#[test]
fn single_files_and_folders_mix() {
    let one = Catalog::load(&[corpus().join("cirros.yml")]).unwrap();
    assert_eq!(one.images.len(), 1);
    let both = Catalog::load(&[corpus().join("cirros.yml"), corpus().join("talos.yml")]).unwrap();
    assert_eq!(both.images.len(), 2);
}

#[test]
fn a_folder_with_the_same_file_twice_has_duplicate_names() {
    let e = Catalog::load(&[corpus(), corpus().join("cirros.yml")]).unwrap_err();
    assert_eq!(e.errors.len(), 1);
    assert!(
        e.errors[0]
            .message
            .starts_with("duplicate image name 'Cirros' (also defined at ")
    );
    assert_eq!(e.errors[0].path, "images.0.name");
}

#[test]
fn valid_fields_are_typed() {
    let text = with(
        "        mirror_url: file:///srv/mirror/a.img
        checksum: SHA512:{SHA}
        build_date: 2024-05-30 12:00:00
        hidden: yes
        id: 0b0c0d0e-0000-4000-8000-00000000000a
        source: private
        meta:
          architecture: aarch64
          hw_disk_bus:
          hypervisor_type: qemu
          os_distro: debian
          os_purpose: minimal
          replace_frequency: daily
          uuid_validity: 2030-01-01
          provided_until: 2029-12-31
          hw_qemu_guest_agent: 'no'
          hotfix_hours: 0
    keep: true
    separator: '-'
    password: secret
    min_disk: 0
",
    )
    .replace("{SHA}", &"0a".repeat(64));
    let c = Catalog::from_yaml_str("t.yml", &text).unwrap();
    let image = &c.images[0];
    assert!(image.keep);
    assert_eq!(image.separator, "-");
    assert_eq!(format!("{:?}", image.password), "Some(Secret(<redacted>))");
    assert_eq!(image.min_disk, Some(0));
    let v = &image.versions[0];
    assert_eq!(
        v.mirror_url,
        Some(ImageSource::File("/srv/mirror/a.img".into()))
    );
    assert_eq!(
        v.checksum.as_ref().unwrap().algorithm,
        ChecksumAlgorithm::Sha512
    );
    assert_eq!(v.build_date.as_deref(), Some("2024-05-30"));
    assert_eq!(v.hidden, Some(true));
    assert_eq!(v.source.as_deref(), Some("private"));
    assert_eq!(v.meta["hw_disk_bus"], serde_json::Value::Null);
    assert_eq!(v.meta["uuid_validity"], "2030-01-01");
    assert_eq!(v.meta["hw_qemu_guest_agent"], "no");
    assert_eq!(v.meta["hotfix_hours"], 0);
}

#[test]
fn bad_catalogs_are_refused_with_place_and_message() {
    let sha = "ab".repeat(32);
    let cases: Vec<(String, &[&str])> = vec![
        (
            IMAGE.replace("    enable: true\n", ""),
            &["t.yml:2:5: images.0.enable: Required field missing"],
        ),
        (
            IMAGE.replace("enable: true", "enable: 'true'"),
            &["t.yml:3:13: images.0.enable: 'true' is not a bool."],
        ),
        (
            IMAGE.replace("min_ram: 512", "min_ram: -1"),
            &["t.yml:6:14: images.0.min_ram: -1 is less than 0"],
        ),
        (
            IMAGE.replace("format: qcow2", "format: qcow3"),
            &[
                "t.yml:4:13: images.0.format: 'qcow3' not in ('aki', 'ari', 'ami', 'raw', 'iso', 'vhd', 'vdi', 'qcow2', 'vmdk')",
            ],
        ),
        (
            IMAGE.replace("https://example.com/a.img", "s3://bucket/a.img"),
            &["t.yml:22:14: images.0.versions.0.url: 's3://bucket/a.img' is not a valid URL."],
        ),
        (
            IMAGE.replace("https://example.com/a.img", "file:/srv/a.img"),
            &["t.yml:22:14: images.0.versions.0.url: 'file:/srv/a.img' is not a valid URL."],
        ),
        (
            with(&format!("        checksum: md5:{sha}\n")),
            &[
                "t.yml:23:19: images.0.versions.0.checksum: 'md5:abababababababababababababababababababababababababababababababab' is not a valid checksum. (md5 takes 32 hex digits, not 64)",
            ],
        ),
        (
            with(&format!("        checksum: sha3:{sha}\n")),
            &[
                "t.yml:23:19: images.0.versions.0.checksum: 'sha3:abababababababababababababababababababababababababababababababab' is not a valid checksum. (the algorithm must be md5, sha1, sha256 or sha512)",
            ],
        ),
        (
            IMAGE.replace("version: '1'", "version: 1"),
            &["t.yml:21:18: images.0.versions.0.version: '1' is not a str."],
        ),
        (
            IMAGE.replace("version: '1'", "version: 24.04"),
            &["t.yml:21:18: images.0.versions.0.version: '24.04' is not a str."],
        ),
        (
            with("        build_date: '2024-01-01'\n"),
            &[
                "t.yml:23:21: images.0.versions.0.build_date: '2024-01-01' is not a day.; '2024-01-01' is not a timestamp.",
            ],
        ),
        (
            with("        checksum_url: ftp://example.com/SUM\n"),
            &[
                "t.yml:23:23: images.0.versions.0.checksum_url: 'ftp://example.com/SUM' is not a valid URL.",
            ],
        ),
        (
            with("        id: 0B0C0D0E-0000-4000-8000-00000000000A\n"),
            &[
                "t.yml:23:13: images.0.versions.0.id: '0B0C0D0E-0000-4000-8000-00000000000A' is not a regex match.",
            ],
        ),
        (
            IMAGE.replace("os_distro: ubuntu", "os_distro: ubuntoo"),
            &["t.yml:14:18: images.0.meta.os_distro: 'ubuntoo' not in ("],
        ),
        (
            IMAGE.replace("uuid_validity: none", "uuid_validity: first-3"),
            &[
                "t.yml:17:22: images.0.meta.uuid_validity: 'first-3' not in ('none', 'forever', 'notice'); first-3 does not start with last-; 'first-3' is not a day.",
            ],
        ),
        (
            IMAGE.replace("    tags: []", "    tags: [a, 1]"),
            &["t.yml:19:15: images.0.tags.1: '1' is not a str."],
        ),
        (
            IMAGE.replace("    multi: true", "    multi: true\n    colour: red"),
            &["t.yml:10:5: images.0.colour: Unexpected element"],
        ),
        (
            IMAGE.replace(
                "      os_purpose: generic",
                "      os_purpose: generic\n      image_name: x",
            ),
            &["t.yml:16:7: images.0.meta.image_name: Unexpected element"],
        ),
        (
            IMAGE.replace("version: '1'", "version: latest"),
            &[
                "t.yml:21:9: images.0.versions.0.version: Key \"checksums_url\" or \"checksum_url\" is required when using version \"latest\"",
            ],
        ),
        (
            with("      - version: '1'\n        url: https://example.com/b.img\n"),
            &["t.yml:23:9: images.0.versions.1.version: duplicate version '1' (also at line 21)"],
        ),
        (
            with("        meta:\n          os_distro: debian\n"),
            &["t.yml:24:11: images.0.versions.0.meta.architecture: Required field missing"],
        ),
        (
            "images: []".into(),
            &["t.yml:1:9: images: Length of [] is less than 1"],
        ),
        ("".into(), &["t.yml:1:1: images: Required field missing"]),
        ("- a\n".into(), &["t.yml:1:1: '[...]' is not a map"]),
        (
            "images: [1]\n".into(),
            &["t.yml:1:10: images.0: '1' is not a map"],
        ),
        (
            "images:\n  - name: a\n    name: b\n".into(),
            &["t.yml:3:5: duplicate key `name`"],
        ),
        ("a: [\n".into(), &["t.yml:1:4: unclosed bracket '['"]),
        (
            "a: 1\n---\nb: 2\n".into(),
            &["t.yml:2:1: expected a single document in the stream"],
        ),
        ("a: *x\n".into(), &["t.yml:1:4: "]),
        (
            "a: !custom 1\n".into(),
            &["t.yml:1:12: could not determine a constructor for the tag '!custom'"],
        ),
    ];
    for (text, expected) in cases {
        let got = errors(&text);
        assert!(!got.is_empty(), "accepted:\n{text}");
        for (i, want) in expected.iter().enumerate() {
            let line = got.get(i).map(String::as_str).unwrap_or("");
            assert!(
                line.starts_with(want),
                "for:\n{text}\nwanted {want:?}\ngot {got:#?}"
            );
        }
    }
}

#[test]
fn all_problems_are_reported_in_line_order() {
    let text = IMAGE
        .replace("enable: true", "enable: 1")
        .replace("visibility: public", "visibility: everyone")
        .replace("https://example.com/a.img", "nope");
    let got = errors(&text);
    let paths: Vec<&str> = got.iter().map(|l| l.split(": ").nth(1).unwrap()).collect();
    assert_eq!(
        paths,
        [
            "images.0.enable",
            "images.0.visibility",
            "images.0.versions.0.url"
        ]
    );
}

#[test]
fn yaml_1_1_scalars_and_merge_keys_read_as_pyyaml_does() {
    // `enable: yes` is a bool to PyYAML; anchors and merge keys share the metadata.
    let text = IMAGE
        .replace("enable: true", "enable: Yes")
        .replace("    meta:\n", "    meta: &m\n")
        + "  - <<: {name: Other, enable: off, format: raw, login: x, min_ram: 0x10, status: active,\n          visibility: private, multi: false, tags: [], versions: []}\n    meta: *m\n";
    let c = Catalog::from_yaml_str("t.yml", &text).unwrap();
    assert!(c.images[0].enable);
    let other = &c.images[1];
    assert_eq!(
        (other.name.as_str(), other.enable, other.min_ram),
        ("Other", false, 16)
    );
    assert_eq!(other.meta, c.images[0].meta);
}

#[test]
fn alias_bombs_and_deep_nesting_are_refused() {
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 0..8 {
        let prev = if i == 0 {
            "a".to_owned()
        } else {
            format!("b{}", i - 1)
        };
        bomb += &format!(
            "b{i}: &b{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
        );
    }
    assert!(errors(&bomb)[0].contains("aliases expand beyond"));
    let deep = "[".repeat(10_000);
    assert!(!errors(&deep).is_empty());
}

#[test]
fn unreadable_inputs_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let e = Catalog::load(&[dir.path()]).unwrap_err();
    assert!(e.errors[0].message.contains("no *.yml or *.yaml files"));
    std::fs::write(dir.path().join("a.yml"), b"images: \xff\n").unwrap();
    std::fs::write(dir.path().join("b.txt"), b"ignored").unwrap();
    let e = Catalog::load(&[dir.path()]).unwrap_err();
    assert_eq!(e.errors.len(), 1);
    assert!(e.errors[0].to_string().contains("a.yml: not UTF-8 text"));
    let none: [&Path; 0] = [];
    assert!(Catalog::load(&none).is_err());
}

#[test]
fn arbitrary_text_never_panics() {
    // A cheap deterministic fuzz: mutations of a valid file, and byte soup.
    let base = with("        checksum: sha256:{X}\n").replace("{X}", &"1".repeat(64));
    let bytes = base.as_bytes();
    let mut rng = fastrand::Rng::with_seed(21);
    for _ in 0..5_000 {
        let mut b = bytes.to_vec();
        for _ in 0..rng.usize(1..6) {
            let i = rng.usize(..b.len());
            match rng.u8(..3) {
                0 => b[i] = b":-[]{}&*!|>'\"#\n ?,"[rng.usize(..17)],
                1 => {
                    b.remove(i);
                }
                _ => b.insert(i, rng.u8(..)),
            }
        }
        let text = String::from_utf8_lossy(&b);
        let _ = Catalog::from_yaml_str("fuzz.yml", &text);
    }
}
