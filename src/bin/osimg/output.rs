//! Output in the four formats of python-openstackclient: table, json, yaml, value.
//!
//! Everything printed goes through JSON values, so `-f json` can carry an image exactly as
//! the API returned it, and `-c` can select by display name or by API key.

use serde_json::{Map, Value};

/// The `-f/--format` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Boxed table: Field/Value for one resource, one row per resource for lists.
    Table,
    /// JSON: one object (show) or an array (list); images as the API returned them.
    Json,
    /// YAML, with the same content as json.
    Yaml,
    /// Bare values, space-separated, one resource per line: for shell scripts.
    Value,
}

/// A list column: its header and the API key it shows.
#[derive(Debug, Clone)]
pub struct Col {
    pub header: String,
    pub key: String,
}

pub fn col(header: &str, key: &str) -> Col {
    Col {
        header: header.to_owned(),
        key: key.to_owned(),
    }
}

/// Prints results in the format and with the columns chosen on the command line.
pub struct Printer {
    format: Format,
    columns: Vec<String>,
}

/// `Disk Format`, `disk_format` and `disk-format` all name the same column.
fn norm(s: &str) -> String {
    s.trim().to_ascii_lowercase().replace([' ', '-'], "_")
}

impl Printer {
    pub fn new(format: Format, columns: Vec<String>) -> Self {
        Printer { format, columns }
    }

    /// Whether the user asked for columns with `-c`.
    fn selects(&self) -> bool {
        !self.columns.is_empty()
    }

    fn wanted(&self, header: &str, key: &str) -> bool {
        !self.selects()
            || self
                .columns
                .iter()
                .any(|c| norm(c) == norm(header) || norm(c) == norm(key))
    }

    /// One resource. JSON and YAML print the object as given (only the `-c` keys, when
    /// columns are selected); table prints Field/Value rows sorted by field.
    pub fn show(&self, obj: &Map<String, Value>) {
        let fields: Map<String, Value> = obj
            .iter()
            .filter(|(k, _)| self.wanted(k, k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        match self.format {
            Format::Json => println!("{}", pretty(&Value::Object(fields))),
            Format::Yaml => print!("{}", yaml(&Value::Object(fields))),
            Format::Value => {
                for v in fields.values() {
                    println!("{}", cell(v));
                }
            }
            Format::Table => {
                let rows: Vec<Vec<String>> = fields
                    .iter()
                    .map(|(k, v)| vec![k.clone(), cell(v)])
                    .collect();
                print!("{}", table(&["Field", "Value"], &rows));
            }
        }
    }

    /// A list of resources (JSON objects) shown in `cols` (narrowed by `-c`). With
    /// `raw_json` and no `-c`, json and yaml print the objects whole, as the API returned
    /// them; otherwise each row is an object keyed by column header, as openstack does.
    pub fn list(&self, cols: &[Col], rows: &[Value], raw_json: bool) {
        let cols: Vec<Col> = if self.selects() {
            // `-c` may name any key, listed or not, in the order given.
            self.columns
                .iter()
                .map(|c| {
                    cols.iter()
                        .find(|k| norm(c) == norm(&k.header) || norm(c) == norm(&k.key))
                        .cloned()
                        .unwrap_or_else(|| col(c, c))
                })
                .collect()
        } else {
            cols.to_vec()
        };
        let get = |row: &Value, c: &Col| row.get(&c.key).cloned().unwrap_or(Value::Null);
        match self.format {
            Format::Json | Format::Yaml => {
                let doc = if raw_json && !self.selects() {
                    Value::Array(rows.to_vec())
                } else {
                    Value::Array(
                        rows.iter()
                            .map(|r| {
                                Value::Object(
                                    cols.iter().map(|c| (c.header.clone(), get(r, c))).collect(),
                                )
                            })
                            .collect(),
                    )
                };
                if self.format == Format::Json {
                    println!("{}", pretty(&doc));
                } else {
                    print!("{}", yaml(&doc));
                }
            }
            Format::Value => {
                for r in rows {
                    let line: Vec<String> = cols.iter().map(|c| cell(&get(r, c))).collect();
                    println!("{}", line.join(" "));
                }
            }
            Format::Table => {
                if rows.is_empty() {
                    return;
                }
                let headers: Vec<&str> = cols.iter().map(|c| c.header.as_str()).collect();
                let cells: Vec<Vec<String>> = rows
                    .iter()
                    .map(|r| cols.iter().map(|c| cell(&get(r, c))).collect())
                    .collect();
                print!("{}", table(&headers, &cells));
            }
        }
    }

    /// A document printed as itself whatever the format (a schema): JSON unless YAML was
    /// asked for.
    pub fn document(&self, doc: &Value) {
        match self.format {
            Format::Yaml => print!("{}", yaml(doc)),
            _ => println!("{}", pretty(doc)),
        }
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

fn yaml(v: &Value) -> String {
    serde_saphyr::to_string(v).unwrap_or_else(|e| format!("# cannot write YAML: {e}\n"))
}

/// A value as a table cell: strings bare, lists of strings comma-joined, null as `None`
/// (as openstack prints it), anything else as compact JSON.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => "None".to_owned(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

/// A boxed table in the style of openstack's (cliff's) default formatter.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let clean = |s: &str| s.replace(['\n', '\r'], " ");
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(clean(c).chars().count());
        }
    }
    let rule = {
        let parts: Vec<String> = widths.iter().map(|w| "-".repeat(w + 2)).collect();
        format!("+{}+\n", parts.join("+"))
    };
    let line = |cells: Vec<String>| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!(" {c}{} ", " ".repeat(w - c.chars().count())))
            .collect();
        format!("|{}|\n", parts.join("|"))
    };
    let mut out = rule.clone();
    out.push_str(&line(headers.iter().map(|h| clean(h)).collect()));
    out.push_str(&rule);
    for row in rows {
        out.push_str(&line(row.iter().map(|c| clean(c)).collect()));
    }
    out.push_str(&rule);
    out
}

/// A size in bytes the way people read it: `1.5 GiB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_people_say_them() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(3 * 1024 * 1024 * 1024 / 2), "1.5 GiB");
    }

    #[test]
    fn tables_are_boxed_and_aligned() {
        let t = table(&["ID", "Name"], &[vec!["a".into(), "long name".into()]]);
        assert_eq!(
            t,
            "+----+-----------+\n| ID | Name      |\n+----+-----------+\n| a  | long name |\n+----+-----------+\n"
        );
    }

    #[test]
    fn cells_follow_openstack() {
        assert_eq!(cell(&Value::Null), "None");
        assert_eq!(cell(&serde_json::json!(["a", "b"])), "a, b");
        assert_eq!(cell(&serde_json::json!(5)), "5");
        assert_eq!(cell(&serde_json::json!([])), "");
    }
}
