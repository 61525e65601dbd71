//! openstack-image-manager's `etc/schema.yaml` (0.20261007.0), as yamale applies it: strict
//! (a key the schema lacks is an error, in `meta` too), optional fields may be `null`, and
//! the messages are yamale's (`images.0.enable: Required field missing`). Each check also
//! yields the typed value, so validation and reading are one walk.

use serde_json::Value as Json;

use super::Problems;
use super::model::{Checksum, ChecksumAlgorithm, ImageSource, web_url};
use super::yaml::{Key, Node, Pos, Value};

/// The path of a node, printed as yamale does (`images.0.versions.1.url`).
#[derive(Clone)]
pub(crate) struct Path(pub(crate) String);

impl Path {
    pub(crate) fn join(&self, segment: impl std::fmt::Display) -> Path {
        if self.0.is_empty() {
            Path(segment.to_string())
        } else {
            Path(format!("{}.{segment}", self.0))
        }
    }
}

/// A mapping being checked against a static schema map.
pub(crate) struct Fields<'a> {
    pub(crate) entries: &'a [(Key, Node)],
    pos: Pos,
    path: Path,
}

impl<'a> Fields<'a> {
    /// `node` as a schema map: `None` (and a problem) if it is not a mapping. Keys outside
    /// `allowed` are reported as yamale's strict mode does.
    pub(crate) fn new(
        p: &mut Problems,
        node: &'a Node,
        path: Path,
        allowed: &[&str],
    ) -> Option<Self> {
        let Value::Map(entries) = &node.value else {
            p.add(
                node.pos,
                &path,
                format!("'{}' is not a map", node.value.py_str()),
            );
            return None;
        };
        for (key, _) in entries {
            if !allowed.contains(&key.name.as_str()) {
                p.add(key.pos, &path.join(&key.name), "Unexpected element");
            }
        }
        Some(Fields {
            entries,
            pos: node.pos,
            path,
        })
    }

    pub(crate) fn path(&self, key: &str) -> Path {
        self.path.join(key)
    }

    pub(crate) fn get(&self, key: &str) -> Option<&'a Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(_, v)| v)
    }

    /// A required field, or a problem at the mapping's start.
    pub(crate) fn required(&self, p: &mut Problems, key: &str) -> Option<&'a Node> {
        let node = self.get(key);
        if node.is_none() {
            p.add(self.pos, &self.path(key), "Required field missing");
        }
        node
    }

    /// An optional field: absent and `null` are both `None` (yamale checks neither).
    pub(crate) fn optional(&self, key: &str) -> Option<&'a Node> {
        self.get(key).filter(|n| !matches!(n.value, Value::Null))
    }

    pub(crate) fn req<T>(
        &self,
        p: &mut Problems,
        key: &str,
        check: impl FnOnce(&mut Problems, &Node, &Path) -> Option<T>,
    ) -> Option<T> {
        let node = self.required(p, key)?;
        check(p, node, &self.path(key))
    }

    pub(crate) fn opt<T>(
        &self,
        p: &mut Problems,
        key: &str,
        check: impl FnOnce(&mut Problems, &Node, &Path) -> Option<T>,
    ) -> Option<T> {
        let node = self.optional(key)?;
        check(p, node, &self.path(key))
    }
}

fn not_a(p: &mut Problems, node: &Node, path: &Path, what: &str) -> Option<()> {
    p.add(
        node.pos,
        path,
        format!("'{}' is not a {what}.", node.value.py_str()),
    );
    None
}

/// yamale's `str()`.
pub(crate) fn string(p: &mut Problems, node: &Node, path: &Path) -> Option<String> {
    match &node.value {
        Value::Str(s) => Some(s.clone()),
        _ => not_a(p, node, path, "str").and(None),
    }
}

/// yamale's `bool()`.
pub(crate) fn boolean(p: &mut Problems, node: &Node, path: &Path) -> Option<bool> {
    match node.value {
        Value::Bool(b) => Some(b),
        _ => not_a(p, node, path, "bool").and(None),
    }
}

/// yamale's `int(min=0)`; beyond `u64` is refused too.
pub(crate) fn count(p: &mut Problems, node: &Node, path: &Path) -> Option<u64> {
    match node.value {
        Value::Int(i) if i < 0 => {
            p.add(node.pos, path, format!("{i} is less than 0"));
            None
        }
        Value::Int(i) => match u64::try_from(i) {
            Ok(n) => Some(n),
            Err(_) => {
                p.add(node.pos, path, format!("{i} is greater than {}", u64::MAX));
                None
            }
        },
        _ => not_a(p, node, path, "int").and(None),
    }
}

/// yamale's `list(str())`.
pub(crate) fn strings(p: &mut Problems, node: &Node, path: &Path) -> Option<Vec<String>> {
    let Value::Seq(items) = &node.value else {
        return not_a(p, node, path, "list").and(None);
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        out.push(string(p, item, &path.join(i)));
    }
    out.into_iter().collect()
}

/// The allowed values of an `enum(...)`; `None` stands for `null`.
pub(crate) type Choices = &'static [Option<&'static str>];

fn py_tuple(choices: Choices) -> String {
    let items: Vec<String> = choices
        .iter()
        .map(|c| c.map_or("None".to_owned(), |s| format!("'{s}'")))
        .collect();
    match items.as_slice() {
        [one] => format!("({one},)"),
        _ => format!("({})", items.join(", ")),
    }
}

fn enum_error(node: &Node, choices: Choices) -> Option<String> {
    let ok = match &node.value {
        Value::Str(s) => choices.contains(&Some(s.as_str())),
        Value::Null => choices.contains(&None),
        _ => false,
    };
    (!ok).then(|| format!("'{}' not in {}", node.value.py_str(), py_tuple(choices)))
}

/// yamale's `enum(...)`: the value as JSON (`null` where the enum allows `None`).
pub(crate) fn one_of(p: &mut Problems, node: &Node, path: &Path, choices: Choices) -> Option<Json> {
    match enum_error(node, choices) {
        Some(message) => {
            p.add(node.pos, path, message);
            None
        }
        None => Some(json(&node.value)),
    }
}

/// One alternative of an `any(...)`: `Ok` with the value, or `Err` with yamale's message.
pub(crate) type Alternative = fn(&Node) -> Result<Json, String>;

/// yamale's `any(...)`: the first alternative that takes the value, else every message.
pub(crate) fn any_of(
    p: &mut Problems,
    node: &Node,
    path: &Path,
    alternatives: &[Alternative],
) -> Option<Json> {
    let mut messages = Vec::new();
    for alternative in alternatives {
        match alternative(node) {
            Ok(v) => return Some(v),
            Err(m) => messages.push(m),
        }
    }
    p.add(node.pos, path, messages.join("; "));
    None
}

/// yamale's `day()`.
pub(crate) fn day(node: &Node) -> Result<Json, String> {
    match &node.value {
        Value::Date(d) => Ok(Json::String(d.clone())),
        v => Err(format!("'{}' is not a day.", v.py_str())),
    }
}

/// yamale's `timestamp()` (a date and time; the date is what openstack-image-manager uses).
pub(crate) fn timestamp(node: &Node) -> Result<Json, String> {
    match &node.value {
        Value::Timestamp(t) => Ok(Json::String(t.get(..10).unwrap_or(t).to_owned())),
        v => Err(format!("'{}' is not a timestamp.", v.py_str())),
    }
}

/// yamale's `bool()` as an alternative.
pub(crate) fn bool_alt(node: &Node) -> Result<Json, String> {
    match node.value {
        Value::Bool(b) => Ok(Json::Bool(b)),
        ref v => Err(format!("'{}' is not a bool.", v.py_str())),
    }
}

/// An `enum(...)` as an alternative.
pub(crate) fn enum_alt(node: &Node, choices: Choices) -> Result<Json, String> {
    match enum_error(node, choices) {
        Some(m) => Err(m),
        None => Ok(json(&node.value)),
    }
}

/// The value of a scalar as a Glance property would hold it; dates as `YYYY-MM-DD`.
pub(crate) fn json(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => i64::try_from(*i).map_or_else(|_| Json::String(i.to_string()), Json::from),
        other => Json::String(other.py_str()),
    }
}

/// A regex of the schema, with its yamale name for the message.
fn matched<T>(
    p: &mut Problems,
    node: &Node,
    path: &Path,
    name: &str,
    read: impl FnOnce(&str) -> Option<T>,
) -> Option<T> {
    let found = match &node.value {
        Value::Str(s) => read(s),
        _ => None,
    };
    if found.is_none() {
        not_a(p, node, path, name);
    }
    found
}

/// `url`, `mirror_url`: `^(http|ftp)s?://\w+.*|^(file:|file:///)\w+.*`, and a URL that parses.
pub(crate) fn source(p: &mut Problems, node: &Node, path: &Path) -> Option<ImageSource> {
    matched(p, node, path, "valid URL", ImageSource::parse)
}

/// `checksum_url`, `checksums_url`, `latest_checksum_url`: `^https?://\w+.*`.
pub(crate) fn http_url(p: &mut Problems, node: &Node, path: &Path) -> Option<url::Url> {
    matched(p, node, path, "valid URL", |s| {
        web_url(s, &["http", "https"])
    })
}

/// `latest_url`: `^(http|ftp)s?://\w+.*`.
pub(crate) fn web_or_ftp_url(p: &mut Problems, node: &Node, path: &Path) -> Option<url::Url> {
    matched(p, node, path, "valid URL", |s| {
        web_url(s, &["http", "https", "ftp", "ftps"])
    })
}

/// `source`: `^(http|ftp)s?://\w+.*|^private$`.
pub(crate) fn provenance(p: &mut Problems, node: &Node, path: &Path) -> Option<String> {
    matched(p, node, path, "valid URL or private", |s| {
        let private = s == "private" || s == "private\n";
        (private || web_url(s, &["http", "https", "ftp", "ftps"]).is_some()).then(|| s.to_owned())
    })
}

/// `checksum`: the schema's `\w+:([a-f0-9]{32}|...{40}|...{64}|...{128})$`, and, stricter,
/// an algorithm openstack-image-manager can check whose digests have that length.
pub(crate) fn checksum(p: &mut Problems, node: &Node, path: &Path) -> Option<Checksum> {
    let text = match &node.value {
        Value::Str(s) => s.strip_suffix('\n').unwrap_or(s),
        _ => return not_a(p, node, path, "valid checksum").and(None),
    };
    if let Some(c) = Checksum::parse(text) {
        return Some(c);
    }
    let why = match text.split_once(':') {
        Some((algo, hex)) if algo.chars().all(|c| c.is_alphanumeric() || c == '_') => {
            match ChecksumAlgorithm::from_name(algo) {
                None => " (the algorithm must be md5, sha1, sha256 or sha512)".to_owned(),
                Some(a) if hex.len() != a.hex_len() => {
                    format!(
                        " ({} takes {} hex digits, not {})",
                        a.as_str(),
                        a.hex_len(),
                        hex.len()
                    )
                }
                Some(_) => " (the digest must be lowercase hex)".to_owned(),
            }
        }
        _ => " (expected ALGORITHM:HEX)".to_owned(),
    };
    p.add(
        node.pos,
        path,
        format!("'{}' is not a valid checksum.{why}", node.value.py_str()),
    );
    None
}

/// `id`: a lowercase UUID.
pub(crate) fn uuid(p: &mut Problems, node: &Node, path: &Path) -> Option<String> {
    matched(p, node, path, "regex match", |s| {
        let s = s.strip_suffix('\n').unwrap_or(s);
        let groups: Vec<&str> = s.split('-').collect();
        let lens = groups.iter().map(|g| g.len()).collect::<Vec<_>>();
        let hex = s
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f' | b'-'));
        (hex && lens == [8, 4, 4, 4, 12]).then(|| s.to_owned())
    })
}

/// `build_date: any(day(), timestamp())`, as the `YYYY-MM-DD` openstack-image-manager sets.
pub(crate) fn build_date(p: &mut Problems, node: &Node, path: &Path) -> Option<String> {
    match any_of(p, node, path, &[day, timestamp])? {
        Json::String(s) => Some(s),
        _ => None,
    }
}
