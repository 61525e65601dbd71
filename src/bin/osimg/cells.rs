//! Cell values as python-openstackclient prints them (through cliff and osc-lib): the
//! typed value of a column, and its text in each format.
//!
//! cliff shows a plain value by Python's `str()` (`False`, `None`, `['t1', 'base']` for a
//! list), and a "formattable" column (osc-lib's `ListColumn` and `DictColumn`: image tags
//! and properties) by its machine-readable value in json, yaml, value, csv and shell, and
//! by its human-readable text in tables (`base, t1`; `foo='bar', os_hidden='False'`).
//! The texts here are those; whatever reaches a terminal is escaped afterwards
//! ([`crate::output::escape_controls`]).

use std::fmt::Write as _;

use serde_json::{Map, Value};

/// One column's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A value printed as itself (strings bare; anything else as Python's `str()`).
    Plain(Value),
    /// osc-lib's `ListColumn` (tags): a table shows the items sorted, comma-separated.
    List(Vec<Value>),
    /// osc-lib's `DictColumn` (properties), its pairs in the order openstack holds them
    /// (json, value and shell print that order; a table shows `key='value'` pairs by key,
    /// yaml sorts them too).
    Dict(Vec<(String, Value)>),
}

/// A cell as json prints it: a dict's pairs in their order (serde_json's map would sort).
impl serde::Serialize for Cell {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Cell::Dict(pairs) => {
                let mut map = serializer.serialize_map(Some(pairs.len()))?;
                for (k, v) in pairs {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
            other => other.machine().serialize(serializer),
        }
    }
}

/// A resource as shown: column names and values, in the order they are printed.
pub type Record = Vec<(String, Cell)>;

impl Cell {
    /// The value yaml prints and sorts compare (a dict's keys sorted, as PyYAML's
    /// `safe_dump` prints them); json prints the cell itself (its `Serialize`).
    pub fn machine(&self) -> Value {
        match self {
            Cell::Plain(v) => v.clone(),
            Cell::List(items) => Value::Array(items.clone()),
            Cell::Dict(pairs) => Value::Object(pairs.iter().cloned().collect()),
        }
    }

    /// The text value, csv and shell print: Python's `str()` of the machine value (a
    /// dict's pairs in their order).
    pub fn python_str(&self) -> String {
        match self {
            Cell::Plain(Value::String(s)) => s.clone(),
            Cell::Dict(pairs) => {
                let mut out = String::new();
                write_dict_repr(&mut out, pairs.iter().map(|(k, v)| (k, v)));
                out
            }
            other => py_repr(&other.machine()),
        }
    }

    /// Whether Python would hold this as a `str` (shell escapes quotes only in those).
    pub fn is_text(&self) -> bool {
        !matches!(
            self,
            Cell::Plain(Value::Null | Value::Bool(_) | Value::Number(_))
        )
    }

    /// The text a table shows.
    pub fn human(&self) -> String {
        match self {
            Cell::Plain(v) => self_or_repr(v),
            Cell::List(items) => {
                let mut texts: Vec<String> = items.iter().map(self_or_repr).collect();
                texts.sort();
                texts.join(", ")
            }
            Cell::Dict(pairs) => format_dict(&pairs.iter().cloned().collect(), None),
        }
    }

    /// Whether a table right-aligns a list column whose first row holds this (Python
    /// aligns `int` and `float` right, everything else, `bool` too, left).
    pub fn is_number(&self) -> bool {
        matches!(self, Cell::Plain(Value::Number(_)))
    }
}

/// Python's `str()` of a JSON value: strings bare, the rest as [`py_repr`].
fn self_or_repr(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

/// osc-lib's `format_dict`: `key='value'` by sorted key, nested dicts as `outer.inner='v'`,
/// a null as `key=`.
fn format_dict(map: &Map<String, Value>, prefix: Option<&str>) -> String {
    let mut parts = Vec::new();
    for (k, v) in map {
        let key = match prefix {
            Some(p) => format!("{p}.{k}"),
            None => k.clone(),
        };
        match v {
            Value::Object(inner) => parts.push(format_dict(inner, Some(&key))),
            Value::Null => parts.push(format!("{key}=")),
            other => parts.push(format!("{key}='{}'", self_or_repr(other))),
        }
    }
    parts.join(", ")
}

/// Python's `repr()` of the value json.loads would make of it: `None`, `True`, `'text'`,
/// `['a', 'b']`, `{'k': 1}`.
pub fn py_repr(v: &Value) -> String {
    let mut out = String::new();
    write_repr(&mut out, v);
    out
}

fn write_repr(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => repr_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => write_dict_repr(out, map.iter()),
    }
}

/// A dict's `repr()`, its pairs in the order given.
fn write_dict_repr<'a>(out: &mut String, pairs: impl Iterator<Item = (&'a String, &'a Value)>) {
    out.push('{');
    for (i, (k, item)) in pairs.enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        repr_str(out, k);
        out.push_str(": ");
        write_repr(out, item);
    }
    out.push('}');
}

/// A Python string literal as `repr()` writes it: single quotes unless the text holds a
/// single quote and no double one; backslashes and controls escaped (`\n`, `\x1b`,
/// `\u202e`).
fn repr_str(out: &mut String, s: &str) {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if crate::escape::is_terminal_control(c) => {
                let n = u32::from(c);
                if n < 0x100 {
                    let _ = write!(out, "\\x{n:02x}");
                } else {
                    let _ = write!(out, "\\u{n:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

/// One csv field as Python's `csv` writes it with cliff's settings (`QUOTE_NONNUMERIC`,
/// escape character `\`): numbers and booleans bare, everything else (null as `""`)
/// quoted, with quotes doubled and backslashes escaped.
pub fn csv_field(cell: &Cell) -> String {
    match cell {
        Cell::Plain(Value::Number(n)) => n.to_string(),
        Cell::Plain(Value::Bool(b)) => if *b { "True" } else { "False" }.to_owned(),
        Cell::Plain(Value::Null) => "\"\"".to_owned(),
        other => csv_quoted(&other.python_str()),
    }
}

/// A quoted csv string (also the header cells).
pub fn csv_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\"\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One line of cliff's shell format, without its newline: `PREFIXname="value"`, the name lower-cased with
/// spaces, colons and dashes as `_`, double quotes in text escaped.
pub fn shell_line(prefix: &str, name: &str, cell: &Cell) -> String {
    let name = name.to_lowercase().replace([' ', ':', '-'], "_");
    let mut value = cell.python_str();
    if cell.is_text() {
        value = value.replace('"', "\\\"");
    }
    format!("{prefix}{name}=\"{value}\"")
}

/// osc-lib's `format_size` (`--human-readable`): powers of 1000, one decimal at most,
/// `1.5G`, `980K`, `12`.
pub fn format_size(bytes: u64) -> String {
    const SUFFIX: [&str; 8] = ["", "K", "M", "G", "T", "P", "E", "Z"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1000.0 && i < SUFFIX.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    let padded = format!("{v:.1}");
    let stripped = padded.trim_end_matches('0').trim_end_matches('.');
    format!("{stripped}{}", SUFFIX[i])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_reprs_match_python() {
        assert_eq!(
            py_repr(&json!(["t1", "base", 1, true, null])),
            "['t1', 'base', 1, True, None]"
        );
        assert_eq!(py_repr(&json!("it's")), "\"it's\"");
        assert_eq!(py_repr(&json!("both ' \"")), "'both \\' \"'");
        assert_eq!(py_repr(&json!("a\\b\n\x1b")), "'a\\\\b\\n\\x1b'");
        assert_eq!(py_repr(&json!({"k": false})), "{'k': False}");
    }

    #[test]
    fn cells_print_as_cliff_prints_them() {
        let tags = Cell::List(vec![json!("t1"), json!("base")]);
        assert_eq!(tags.python_str(), "['t1', 'base']");
        assert_eq!(tags.human(), "base, t1");
        let props = Cell::Dict(vec![
            ("os_hidden".into(), json!(false)),
            ("a".into(), json!({"b": "c"})),
            ("n".into(), Value::Null),
        ]);
        assert_eq!(props.human(), "a.b='c', n=, os_hidden='False'", "by key");
        assert_eq!(
            props.python_str(),
            "{'os_hidden': False, 'a': {'b': 'c'}, 'n': None}",
            "in the given order"
        );
        assert_eq!(
            serde_json::to_string(&props).unwrap(),
            r#"{"os_hidden":false,"a":{"b":"c"},"n":null}"#
        );
        assert_eq!(Cell::Plain(json!(false)).python_str(), "False");
        assert_eq!(Cell::Plain(Value::Null).human(), "None");
    }

    #[test]
    fn csv_quotes_strings_only() {
        assert_eq!(csv_field(&Cell::Plain(json!(5))), "5");
        assert_eq!(csv_field(&Cell::Plain(json!(false))), "False");
        assert_eq!(csv_field(&Cell::Plain(Value::Null)), "\"\"");
        assert_eq!(csv_field(&Cell::Plain(json!("x\"y\\z"))), "\"x\"\"y\\\\z\"");
        assert_eq!(
            csv_field(&Cell::List(vec![json!("a")])),
            "\"['a']\"".to_owned()
        );
    }

    #[test]
    fn shell_quotes_every_value() {
        assert_eq!(
            shell_line("p_", "Disk Format", &Cell::Plain(json!("ra\"w"))),
            "p_disk_format=\"ra\\\"w\""
        );
        assert_eq!(
            shell_line("", "min-disk", &Cell::Plain(json!(0))),
            "min_disk=\"0\""
        );
    }

    #[test]
    fn sizes_are_decimal_like_osc_lib() {
        assert_eq!(format_size(12), "12");
        assert_eq!(format_size(1000), "1K");
        assert_eq!(format_size(1_500_000_000), "1.5G");
        assert_eq!(format_size(0), "0");
    }
}
