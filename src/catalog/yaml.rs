//! A YAML document as PyYAML's `SafeLoader` reads it, with the line and column of every node.
//!
//! openstack-image-manager validates with yamale over PyYAML, which resolves plain scalars
//! by YAML 1.1's rules: `yes`/`off` are booleans, `24.04` is a float, `2024-05-30` is a
//! date. serde-saphyr reads YAML 1.2 and has no value tree with positions, so this module
//! builds one from the events of serde-saphyr's own parser (`granit_parser`, re-exported
//! by serde-saphyr: no new dependency) and types the scalars as PyYAML would. Anchors,
//! aliases and merge keys (`<<`) work as in PyYAML; alias expansion and nesting are capped,
//! and a key given twice in one mapping is refused (PyYAML silently keeps the last one).

use std::collections::HashMap;

use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, Tag};

/// Nodes one file may expand to, aliases included (a "billion laughs" file stops here).
const MAX_NODES: usize = 1_000_000;
/// Collections nested deeper than this are refused (image definitions are 5 deep).
const MAX_DEPTH: usize = 128;

/// Where a node starts: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) struct Pos {
    pub(crate) line: usize,
    pub(crate) column: usize,
}

/// A YAML node with its position.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) value: Value,
    pub(crate) pos: Pos,
    /// A plain `<<` key (PyYAML's merge key).
    merge: bool,
}

impl Node {
    pub(crate) fn new(value: Value, pos: Pos) -> Self {
        Node {
            value,
            pos,
            merge: false,
        }
    }
}

/// A node's value, typed as PyYAML's `SafeLoader` types it.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    /// An integer; beyond `i128` it saturates (no field of the schema takes such a number).
    Int(i128),
    /// A float, as written.
    Float(String),
    Str(String),
    /// A date, `YYYY-MM-DD`.
    Date(String),
    /// A date and time, as written.
    Timestamp(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

/// A mapping's key: its text (as Python's `str()` prints it) and position.
#[derive(Debug, Clone)]
pub(crate) struct Key {
    pub(crate) name: String,
    pub(crate) pos: Pos,
}

impl Value {
    /// The value as Python's `str()` prints it, which yamale puts in its messages;
    /// collections are abbreviated.
    pub(crate) fn py_str(&self) -> String {
        match self {
            Value::Null => "None".into(),
            Value::Bool(true) => "True".into(),
            Value::Bool(false) => "False".into(),
            Value::Int(i) => i.to_string(),
            Value::Float(s) | Value::Str(s) | Value::Date(s) | Value::Timestamp(s) => s.clone(),
            Value::Seq(items) if items.is_empty() => "[]".into(),
            Value::Seq(_) => "[...]".into(),
            Value::Map(entries) if entries.is_empty() => "{}".into(),
            Value::Map(_) => "{...}".into(),
        }
    }
}

/// A document that could not be read as YAML at all.
#[derive(Debug)]
pub(crate) struct SyntaxError {
    pub(crate) pos: Pos,
    pub(crate) message: String,
}

fn err<T>(pos: Pos, message: impl Into<String>) -> Result<T, SyntaxError> {
    Err(SyntaxError {
        pos,
        message: message.into(),
    })
}

enum Open {
    Seq(Pos, usize, Vec<Node>),
    Map(Pos, usize, Vec<(Key, Node, bool)>, Option<Node>),
}

/// Reads the one document of `text`; `None` for an empty stream (PyYAML's `None`).
pub(crate) fn parse(text: &str) -> Result<Option<Node>, SyntaxError> {
    let mut stack: Vec<Open> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut documents = 0;
    let mut root = None;
    let mut nodes = 0usize;
    for next in Parser::new_from_str(text) {
        let (event, span) = next.map_err(|e| SyntaxError {
            pos: Pos {
                line: e.marker().line(),
                column: e.marker().col() + 1,
            },
            message: e.info().to_owned(),
        })?;
        let pos = Pos {
            line: span.start.line(),
            column: span.start.col() + 1,
        };
        let node = match event {
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    return err(pos, "expected a single document in the stream");
                }
                continue;
            }
            Event::SequenceStart(_, anchor, tag) => {
                check_collection_tag(tag.as_deref(), "seq", pos)?;
                if stack.len() >= MAX_DEPTH {
                    return err(pos, format!("nested deeper than {MAX_DEPTH} levels"));
                }
                stack.push(Open::Seq(pos, anchor, Vec::new()));
                continue;
            }
            Event::MappingStart(_, anchor, tag) => {
                check_collection_tag(tag.as_deref(), "map", pos)?;
                if stack.len() >= MAX_DEPTH {
                    return err(pos, format!("nested deeper than {MAX_DEPTH} levels"));
                }
                stack.push(Open::Map(pos, anchor, Vec::new(), None));
                continue;
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Open::Seq(pos, anchor, items)) => {
                    remember(&mut anchors, anchor, Node::new(Value::Seq(items), pos))
                }
                _ => return err(pos, "unbalanced sequence"),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Open::Map(pos, anchor, entries, None)) => {
                    let entries = entries.into_iter().map(|(k, v, _)| (k, v)).collect();
                    remember(&mut anchors, anchor, Node::new(Value::Map(entries), pos))
                }
                _ => return err(pos, "unbalanced mapping"),
            },
            Event::Scalar(text, style, anchor, tag) => {
                let value = resolve_scalar(&text, style, tag.as_deref(), pos)?;
                let merge = style == ScalarStyle::Plain && tag.is_none() && text == "<<";
                remember(&mut anchors, anchor, Node { value, pos, merge })
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some(target) => {
                    nodes += count(target);
                    if nodes > MAX_NODES {
                        return err(pos, format!("aliases expand beyond {MAX_NODES} nodes"));
                    }
                    Node::new(target.value.clone(), pos)
                }
                None => return err(pos, "found undefined alias"),
            },
            Event::UnresolvedAlias(name) => {
                return err(pos, format!("found undefined alias '{name}'"));
            }
            _ => continue,
        };
        nodes += 1;
        if nodes > MAX_NODES {
            return err(pos, format!("more than {MAX_NODES} nodes"));
        }
        match stack.last_mut() {
            Some(Open::Seq(_, _, items)) => items.push(node),
            Some(Open::Map(_, _, entries, key)) => match key.take() {
                None => *key = Some(node),
                Some(k) => insert(entries, k, node)?,
            },
            None => root = Some(node),
        }
    }
    Ok(root)
}

fn remember(anchors: &mut HashMap<usize, Node>, anchor: usize, node: Node) -> Node {
    if anchor != 0 {
        anchors.insert(anchor, node.clone());
    }
    node
}

fn count(node: &Node) -> usize {
    let mut total = 0;
    let mut todo = vec![node];
    while let Some(n) = todo.pop() {
        total += 1;
        match &n.value {
            Value::Seq(items) => todo.extend(items),
            Value::Map(entries) => todo.extend(entries.iter().map(|(_, v)| v)),
            _ => {}
        }
    }
    total
}

/// Adds a key and value to a mapping under construction (the flag marks merged entries):
/// a merge key (`<<`) adds the keys the mapping lacks, an explicit key overrides a merged one
/// and must otherwise be new. Keys compare as their text (`1` and `'1'` are one key).
fn insert(entries: &mut Vec<(Key, Node, bool)>, key: Node, value: Node) -> Result<(), SyntaxError> {
    if key.merge {
        let sources: Vec<Node> = match value.value {
            Value::Map(_) => vec![value],
            Value::Seq(items) => items,
            _ => {
                return err(
                    value.pos,
                    "expected a mapping or a list of mappings to merge",
                );
            }
        };
        for source in sources {
            let Value::Map(merged) = source.value else {
                return err(source.pos, "expected a mapping to merge");
            };
            for (k, v) in merged {
                if !entries.iter().any(|(e, _, _)| e.name == k.name) {
                    entries.push((k, v, true));
                }
            }
        }
        return Ok(());
    }
    let name = match &key.value {
        Value::Seq(_) | Value::Map(_) => return err(key.pos, "a key must be a scalar"),
        other => other.py_str(),
    };
    match entries.iter_mut().find(|(e, _, _)| e.name == name) {
        Some((_, slot, merged @ true)) => {
            *slot = value;
            *merged = false;
        }
        Some(_) => return err(key.pos, format!("duplicate key `{name}`")),
        None => entries.push((Key { name, pos: key.pos }, value, false)),
    }
    Ok(())
}

fn check_collection_tag(tag: Option<&Tag>, kind: &str, pos: Pos) -> Result<(), SyntaxError> {
    match tag {
        None => Ok(()),
        Some(t) if t.handle() == "tag:yaml.org,2002:" && t.suffix() == kind => Ok(()),
        Some(t) if t.handle() == "!" && t.suffix().is_empty() => Ok(()),
        Some(t) => err(
            pos,
            format!(
                "could not determine a constructor for the tag '{}{}'",
                t.handle(),
                t.suffix()
            ),
        ),
    }
}

/// Types a scalar: an explicit tag decides, a quoted or block scalar is a string, and a plain
/// scalar is resolved by PyYAML's YAML 1.1 rules.
fn resolve_scalar(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
    pos: Pos,
) -> Result<Value, SyntaxError> {
    let kind = match tag {
        Some(t) if t.handle() == "tag:yaml.org,2002:" => t.suffix().to_owned(),
        Some(t) if t.handle() == "!" && t.suffix().is_empty() => "str".into(),
        Some(t) => {
            return err(
                pos,
                format!(
                    "could not determine a constructor for the tag '{}{}'",
                    t.handle(),
                    t.suffix()
                ),
            );
        }
        None if style != ScalarStyle::Plain => "str".into(),
        None => implicit_kind(text).into(),
    };
    let bad = |what: &str| err(pos, format!("'{text}' is not a valid {what}"));
    Ok(match kind.as_str() {
        "str" => Value::Str(text.to_owned()),
        "null" => Value::Null,
        "bool" => match text.to_ascii_lowercase().as_str() {
            "yes" | "true" | "on" => Value::Bool(true),
            "no" | "false" | "off" => Value::Bool(false),
            _ => return bad("bool"),
        },
        "int" => match parse_int(text) {
            Some(i) => Value::Int(i),
            None => return bad("int"),
        },
        "float" => Value::Float(text.to_owned()),
        "timestamp" => match timestamp(text) {
            Some(Ok(day)) => Value::Date(day),
            Some(Err(())) => Value::Timestamp(text.to_owned()),
            None => return bad("date"),
        },
        other => return err(pos, format!("unsupported tag '!!{other}'")),
    })
}

/// PyYAML's implicit resolvers (`yaml/resolver.py`), in its order.
fn implicit_kind(text: &str) -> &'static str {
    if matches!(
        text,
        "yes"
            | "Yes"
            | "YES"
            | "no"
            | "No"
            | "NO"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
    ) {
        "bool"
    } else if is_float(text) {
        "float"
    } else if parse_int(text).is_some() {
        "int"
    } else if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        "null"
    } else if timestamp(text).is_some() {
        "timestamp"
    } else {
        "str"
    }
}

fn digits_(s: &str, radix: u32) -> bool {
    !s.is_empty() && s.chars().all(|c| c == '_' || c.is_digit(radix))
}

fn strip_sign(s: &str) -> (bool, &str) {
    match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    }
}

/// `[-+]?0b[01_]+ | [-+]?0[0-7_]+ | [-+]?(0|[1-9][0-9_]*) | [-+]?0x[0-9a-fA-F_]+ |
/// [-+]?[1-9][0-9_]*(:[0-5]?[0-9])+` (sexagesimal), as PyYAML reads them.
fn parse_int(text: &str) -> Option<i128> {
    let (negative, body) = strip_sign(text);
    let value = |digits: &str, radix: u32| -> Option<i128> {
        let clean: String = digits.chars().filter(|c| *c != '_').collect();
        if clean.is_empty() {
            return Some(0);
        }
        Some(i128::from_str_radix(&clean, radix).unwrap_or(i128::MAX))
    };
    let magnitude = if let Some(b) = body.strip_prefix("0b") {
        digits_(b, 2).then(|| value(b, 2))??
    } else if let Some(x) = body.strip_prefix("0x") {
        digits_(x, 16).then(|| value(x, 16))??
    } else if body == "0" {
        0
    } else if let Some(o) = body.strip_prefix('0') {
        digits_(o, 8).then(|| value(o, 8))??
    } else if body.starts_with(|c: char| matches!(c, '1'..='9')) {
        let mut parts = body.split(':');
        let head = parts.next()?;
        if !digits_(head, 10) {
            return None;
        }
        let mut total = value(head, 10)?;
        for part in parts {
            let ok = (1..=2).contains(&part.len())
                && part.chars().all(|c| c.is_ascii_digit())
                && (part.len() == 1 || part.as_bytes()[0] <= b'5');
            if !ok {
                return None;
            }
            total = total.saturating_mul(60).saturating_add(value(part, 10)?);
        }
        total
    } else {
        return None;
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// `[-+]?([0-9][0-9_]*)\.[0-9_]*([eE][-+][0-9]+)? | \.[0-9][0-9_]*([eE][-+][0-9]+)? |
/// [-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]* | [-+]?\.(inf|Inf|INF) | \.(nan|NaN|NAN)`
fn is_float(text: &str) -> bool {
    if matches!(text, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    let (_, body) = strip_sign(text);
    if matches!(body, ".inf" | ".Inf" | ".INF") {
        return true;
    }
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    if let Some(e) = exponent {
        let digits = e.strip_prefix(['+', '-']).unwrap_or("");
        if !digits_(digits, 10) || digits.contains('_') {
            return false;
        }
    }
    let Some((int, frac)) = mantissa.split_once('.') else {
        return false;
    };
    let frac_ok = frac.chars().all(|c| c == '_' || c.is_ascii_digit());
    if int.is_empty() {
        // `.5`: the first fraction character must be a digit, and no sign before it.
        return body.len() == text.len()
            && frac.starts_with(|c: char| c.is_ascii_digit())
            && frac_ok;
    }
    if !int.starts_with(|c: char| c.is_ascii_digit()) || !frac_ok {
        return false;
    }
    let mut parts = int.split(':');
    let head_ok = parts.next().is_some_and(|h| digits_(h, 10));
    let sexagesimal = int.contains(':');
    head_ok
        && parts.all(|p| {
            (1..=2).contains(&p.len())
                && p.chars().all(|c| c.is_ascii_digit())
                && (p.len() == 1 || p.as_bytes()[0] <= b'5')
        })
        && !(sexagesimal && exponent.is_some())
}

/// PyYAML's timestamp: `Some(Ok("YYYY-MM-DD"))` for a date, `Some(Err(()))` for a date and
/// time, `None` if `text` is neither (or names a day that does not exist).
fn timestamp(text: &str) -> Option<Result<String, ()>> {
    let b = text.as_bytes();
    let num = |s: &[u8]| -> Option<u32> {
        (!s.is_empty() && s.iter().all(u8::is_ascii_digit))
            .then(|| std::str::from_utf8(s).ok()?.parse().ok())?
    };
    if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        let (y, m, d) = (num(&b[..4])?, num(&b[5..7])?, num(&b[8..])?);
        return valid_day(y, m, d).then(|| Ok(text.to_owned()));
    }
    // `YYYY-M[M]-D[D]` then `T`, `t` or blanks, then `H[H]:MM:SS[.frac][blanks][Z|±H[H][:MM]]`
    let split = text.find(['T', 't', ' ', '\t'])?;
    let (date, rest) = text.split_at(split);
    let time = rest.trim_start_matches(['T', 't', ' ', '\t']);
    if rest.len() - time.len() > 1 && rest.starts_with(['T', 't']) {
        return None;
    }
    let mut d = date.split('-');
    let (y, m, day) = (d.next()?, d.next()?, d.next()?);
    if d.next().is_some()
        || y.len() != 4
        || !(1..=2).contains(&m.len())
        || !(1..=2).contains(&day.len())
    {
        return None;
    }
    if !valid_day(num(y.as_bytes())?, num(m.as_bytes())?, num(day.as_bytes())?) {
        return None;
    }
    let zone_at = time.find(['Z', '+', '-', ' ', '\t']).unwrap_or(time.len());
    let (clock, zone) = time.split_at(zone_at);
    let clock = clock.split_once('.').map_or(clock, |(c, f)| {
        if f.bytes().all(|x| x.is_ascii_digit()) {
            c
        } else {
            ""
        }
    });
    let mut c = clock.split(':');
    let (h, mi, s) = (c.next()?, c.next()?, c.next()?);
    let clock_ok = c.next().is_none()
        && (1..=2).contains(&h.len())
        && mi.len() == 2
        && s.len() == 2
        && num(h.as_bytes())? < 24
        && num(mi.as_bytes())? < 60
        && num(s.as_bytes())? < 61;
    let zone = zone.trim_start_matches([' ', '\t']);
    let zone_ok = match zone.as_bytes().first() {
        None | Some(b'Z') if zone.len() <= 1 => true,
        Some(b'+' | b'-') => {
            let (hh, mm) = zone[1..].split_once(':').unwrap_or((&zone[1..], "00"));
            (1..=2).contains(&hh.len())
                && mm.len() == 2
                && num(hh.as_bytes()).is_some()
                && num(mm.as_bytes()).is_some()
        }
        _ => false,
    };
    (clock_ok && zone_ok).then_some(Err(()))
}

fn valid_day(y: u32, m: u32, d: u32) -> bool {
    let leap = (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    y >= 1 && (1..=days).contains(&d)
}
