//! Reading catalog files: which files, the top level, and the rules for images and versions
//! (the schema's, then the ones openstack-image-manager applies while it runs).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Map;

use super::meta;
use super::model::{CatalogImage, ImageVersion};
use super::rules::{self, Choices, Fields, Path as YamlPath};
use super::yaml::{self, Node, Pos, Value};
use super::{Catalog, Problems};
use crate::secret::Secret;

/// Larger files are refused unread (the biggest file OSISM ships is 20 KB).
const MAX_FILE_BYTES: u64 = 16 << 20;

const FORMATS: Choices = &[
    Some("aki"),
    Some("ari"),
    Some("ami"),
    Some("raw"),
    Some("iso"),
    Some("vhd"),
    Some("vdi"),
    Some("qcow2"),
    Some("vmdk"),
];
const STATUSES: Choices = &[Some("active"), Some("deactivated")];
const VISIBILITIES: Choices = &[
    Some("public"),
    Some("private"),
    Some("community"),
    Some("shared"),
];

/// The files `paths` name: a file as given, a folder's `*.yml` and `*.yaml` files (not its
/// subfolders), sorted by name. Problems for paths that are neither, or empty folders.
pub(crate) fn files(paths: &[&Path], p: &mut Problems) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if paths.is_empty() {
        p.at_file(Path::new(""), "no image files given");
    }
    for path in paths {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) => {
                p.at_file(path, format!("cannot read: {e}"));
                continue;
            }
        };
        if !meta.is_dir() {
            out.push(path.to_path_buf());
            continue;
        }
        let entries = match std::fs::read_dir(path) {
            Ok(entries) => entries,
            Err(e) => {
                p.at_file(path, format!("cannot list: {e}"));
                continue;
            }
        };
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|f| {
                let yaml = f.extension().is_some_and(|x| x == "yml" || x == "yaml");
                yaml && f.is_file()
            })
            .collect();
        if found.is_empty() {
            p.at_file(path, "no *.yml or *.yaml files in this folder");
        }
        found.sort();
        out.extend(found);
    }
    out
}

/// Reads one file into `catalog`, its problems into `p`.
pub(crate) fn file(path: &Path, catalog: &mut Catalog, p: &mut Problems) {
    let text = std::fs::File::open(path).and_then(|f| {
        use std::io::Read;
        let mut bytes = Vec::new();
        f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
        Ok(bytes)
    });
    match text {
        Err(e) => p.at_file(path, format!("cannot read: {e}")),
        Ok(bytes) if bytes.len() as u64 > MAX_FILE_BYTES => {
            p.at_file(path, format!("larger than {MAX_FILE_BYTES} bytes"))
        }
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => text_into(path, &text, catalog, p),
            Err(e) => p.at_file(path, format!("not UTF-8 text: {}", e.utf8_error())),
        },
    }
}

/// Reads one file's text into `catalog`.
pub(crate) fn text_into(path: &Path, text: &str, catalog: &mut Catalog, p: &mut Problems) {
    p.set_file(path);
    let root = match yaml::parse(text) {
        Ok(root) => root,
        Err(e) => return p.add(e.pos, &YamlPath(String::new()), e.message),
    };
    // An empty file is an empty mapping to yamale (and lacks `images`).
    let root =
        root.unwrap_or_else(|| Node::new(Value::Map(Vec::new()), Pos { line: 1, column: 1 }));
    let Some(top) = Fields::new(p, &root, YamlPath(String::new()), &["images"]) else {
        return;
    };
    let Some(list) = top.required(p, "images") else {
        return;
    };
    let path = top.path("images");
    let Value::Seq(items) = &list.value else {
        p.add(
            list.pos,
            &path,
            format!("'{}' is not a list.", list.value.py_str()),
        );
        return;
    };
    if items.is_empty() {
        p.add(list.pos, &path, "Length of [] is less than 1");
    }
    for (i, item) in items.iter().enumerate() {
        let Some(image) = image(p, item, path.join(i)) else {
            continue;
        };
        // Names are unique across the catalog: openstack-image-manager would process both
        // definitions against the same cloud image.
        if let Some(first) = catalog.images.iter().find(|f| f.name == image.name) {
            let at = match &item.value {
                Value::Map(entries) => entries.iter().find(|(k, _)| k.name == "name"),
                _ => None,
            };
            p.add(
                at.map_or(item.pos, |(_, v)| v.pos),
                &path.join(i).join("name"),
                format!(
                    "duplicate image name '{}' (also defined at {}:{})",
                    image.name,
                    first.file.display(),
                    first.line
                ),
            );
            continue;
        }
        catalog.images.push(image);
    }
}

fn image(p: &mut Problems, node: &Node, path: YamlPath) -> Option<CatalogImage> {
    const KEYS: &[&str] = &[
        "enable",
        "format",
        "latest_checksum_url",
        "latest_url",
        "login",
        "meta",
        "min_disk",
        "min_ram",
        "multi",
        "keep",
        "name",
        "password",
        "shortname",
        "status",
        "separator",
        "tags",
        "versions",
        "visibility",
    ];
    let before = p.errors.len();
    let f = Fields::new(p, node, path, KEYS)?;
    let choice = |choices: Choices| {
        move |p: &mut Problems, n: &Node, path: &YamlPath| {
            rules::one_of(p, n, path, choices)?;
            rules::string(p, n, path)
        }
    };
    let enable = f.req(p, "enable", rules::boolean);
    let format = f.req(p, "format", choice(FORMATS));
    let latest_checksum_url = f.opt(p, "latest_checksum_url", rules::http_url);
    let latest_url = f.opt(p, "latest_url", rules::web_or_ftp_url);
    let login = f.req(p, "login", rules::string);
    let meta = f.req(p, "meta", meta::meta);
    let min_disk = f.opt(p, "min_disk", rules::count);
    let min_ram = f.req(p, "min_ram", rules::count);
    let multi = f.req(p, "multi", rules::boolean);
    let keep = f.opt(p, "keep", rules::boolean);
    let name = f.req(p, "name", rules::string);
    let password = f.opt(p, "password", rules::string);
    let shortname = f.opt(p, "shortname", rules::string);
    let status = f.req(p, "status", choice(STATUSES));
    let separator = f.opt(p, "separator", rules::string);
    let tags = f.req(p, "tags", rules::strings);
    let versions = f.req(p, "versions", |p, n, path| {
        let Value::Seq(items) = &n.value else {
            p.add(
                n.pos,
                path,
                format!("'{}' is not a list.", n.value.py_str()),
            );
            return None;
        };
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let Some(v) = version(p, item, path.join(i)) else {
                continue;
            };
            // openstack-image-manager keys versions by their text: a second entry would
            // silently replace the first.
            if let Some(line) = seen.insert(v.version.clone(), v.line) {
                p.add(
                    item.pos,
                    &path.join(i).join("version"),
                    format!("duplicate version '{}' (also at line {line})", v.version),
                );
            }
            out.push(v);
        }
        Some(out)
    });
    let visibility = f.req(p, "visibility", choice(VISIBILITIES));
    if p.errors.len() > before {
        return None;
    }
    Some(CatalogImage {
        file: p.file.clone(),
        line: node.pos.line,
        name: name?,
        enable: enable?,
        shortname,
        format: format?,
        login: login?,
        password: password.map(Secret::new),
        min_disk,
        min_ram: min_ram?,
        status: status?,
        visibility: visibility?,
        multi: multi?,
        keep: keep.unwrap_or(false),
        separator: separator.unwrap_or_else(|| " ".to_owned()),
        tags: tags?,
        meta: meta?,
        latest_url,
        latest_checksum_url,
        versions: versions?,
    })
}

fn version(p: &mut Problems, node: &Node, path: YamlPath) -> Option<ImageVersion> {
    const KEYS: &[&str] = &[
        "build_date",
        "checksum",
        "checksum_url",
        "checksums_url",
        "hidden",
        "image_description",
        "meta",
        "os_version",
        "source",
        "url",
        "mirror_url",
        "version",
        "visibility",
        "id",
    ];
    let before = p.errors.len();
    let f = Fields::new(p, node, path, KEYS)?;
    let build_date = f.opt(p, "build_date", rules::build_date);
    let checksum = f.opt(p, "checksum", rules::checksum);
    let checksum_url = f.opt(p, "checksum_url", rules::http_url);
    let checksums_url = f.opt(p, "checksums_url", rules::http_url);
    let hidden = f.opt(p, "hidden", rules::boolean);
    let image_description = f.opt(p, "image_description", rules::string);
    let meta = f.opt(p, "meta", meta::meta);
    let os_version = f.opt(p, "os_version", rules::string);
    let source = f.opt(p, "source", rules::provenance);
    let url = f.req(p, "url", rules::source);
    let mirror_url = f.opt(p, "mirror_url", rules::source);
    let version = f.req(p, "version", rules::string);
    let visibility = f.opt(p, "visibility", |p, n, path| {
        rules::one_of(p, n, path, VISIBILITIES)?;
        rules::string(p, n, path)
    });
    let id = f.opt(p, "id", rules::uuid);
    // What openstack-image-manager checks for `latest` only when it processes the image.
    if version.as_deref() == Some("latest") {
        let message = match (f.optional("checksums_url"), f.optional("checksum_url")) {
            (Some(_), Some(_)) => {
                Some("You may only specify either \"checksums_url\" or \"checksum_url\", not both")
            }
            (None, None) => Some(
                "Key \"checksums_url\" or \"checksum_url\" is required when using version \"latest\"",
            ),
            _ => None,
        };
        if let Some(message) = message {
            p.add(node.pos, &f.path("version"), message);
        }
    }
    if p.errors.len() > before {
        return None;
    }
    Some(ImageVersion {
        line: node.pos.line,
        version: version?,
        url: url?,
        mirror_url,
        checksum,
        checksum_url,
        checksums_url,
        build_date,
        hidden,
        visibility,
        os_version,
        image_description,
        meta: meta.unwrap_or_else(Map::new),
        source,
        id,
    })
}
