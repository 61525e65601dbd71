//! The default output of `osimg image ...`: what python-openstackclient prints for the
//! same command (cliff's ShowOne and Lister), in its seven formats.
//!
//! `-c` picks columns in the command's order (a name matches `Disk Format`, `disk_format`
//! or the API key), and naming none that exists fails with status 1, as cliff does;
//! `--sort-column` sorts list rows after the command's own sort, stably, nulls last.

use std::cmp::Ordering;
use std::io::{self, Write};

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

use crate::cells::{Cell, Record, csv_field, csv_quoted, shell_line};
use crate::escape::{compact, pretty, yaml};
use crate::output::{Col, Format, Printer, escape_controls, norm, write_failed};
use crate::table::{LIST_MIN_WIDTH, SHOW_MIN_WIDTH, write_table};
use crate::{CmdResult, Fail};

/// Columns as a JSON object in their order (serde_json's own map would sort them).
struct Ordered<'a, V>(Vec<(&'a str, V)>);

impl<V: Serialize> Serialize for Ordered<'_, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// YAML of a mapping in column order: one single-key document per column, which
/// together are the block mapping (serde-saphyr prints a `Value` map sorted).
fn yaml_mapping(entries: &[(&str, Value)]) -> String {
    if entries.is_empty() {
        return "{}\n".to_owned();
    }
    entries
        .iter()
        .map(|(k, v)| {
            let mut one = serde_json::Map::new();
            one.insert((*k).to_owned(), v.clone());
            yaml(&Value::Object(one))
        })
        .collect()
}

/// Python's ordering of two values, as `sorted()` compares them; `None` where Python
/// raises TypeError (a string against a number, for one).
fn py_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Null, Value::Null) => Some(Ordering::Equal),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Array(x), Value::Array(y)) => {
            for (p, q) in x.iter().zip(y) {
                match py_cmp(p, q)? {
                    Ordering::Equal => {}
                    other => return Some(other),
                }
            }
            Some(x.len().cmp(&y.len()))
        }
        _ => {
            let num = |v: &Value| match v {
                Value::Bool(b) => Some(f64::from(u8::from(*b))),
                Value::Number(n) => n.as_f64(),
                _ => None,
            };
            num(a)?.partial_cmp(&num(b)?)
        }
    }
}

impl Printer {
    /// The indexes of the columns `-c` keeps, in the command's order; all without `-c`.
    fn selected(&self, cols: &[Col]) -> CmdResult<Vec<usize>> {
        if self.columns.is_empty() {
            return Ok((0..cols.len()).collect());
        }
        let wanted: Vec<String> = self.columns.iter().map(|c| norm(c)).collect();
        let keep: Vec<usize> = (0..cols.len())
            .filter(|&i| {
                wanted
                    .iter()
                    .any(|w| *w == norm(&cols[i].header) || *w == norm(&cols[i].key))
            })
            .collect();
        if keep.is_empty() {
            let asked: Vec<String> = self
                .columns
                .iter()
                .map(|c| crate::cells::py_repr(&Value::String(c.clone())))
                .collect();
            let known: Vec<String> = cols
                .iter()
                .map(|c| crate::cells::py_repr(&Value::String(c.header.clone())))
                .collect();
            return Err(Fail::other(format!(
                "No recognized column names in [{}]. Recognized columns are ({}).",
                asked.join(", "),
                known.join(", ")
            )));
        }
        Ok(keep)
    }

    fn write_out(&self, text: &[u8]) -> CmdResult {
        let mut out = io::stdout().lock();
        out.write_all(text)
            .and_then(|()| out.flush())
            .map_err(write_failed)
    }

    /// One resource as `openstack ... show` prints it (fields in the record's order).
    pub fn show_record(&self, rec: &Record) -> CmdResult {
        let cols: Vec<Col> = rec.iter().map(|(k, _)| crate::output::col(k, k)).collect();
        let keep = self.selected(&cols)?;
        let fields: Vec<(&str, &Cell)> = keep
            .iter()
            .map(|&i| (rec[i].0.as_str(), &rec[i].1))
            .collect();
        let text = match self.format {
            Format::Yaml => {
                let entries: Vec<(&str, Value)> =
                    fields.iter().map(|(k, c)| (*k, c.machine())).collect();
                yaml_mapping(&entries)
            }
            // The cells themselves: a dict keeps its pairs' order.
            Format::Json if self.noindent => format!("{}\n", compact(&Ordered(fields))),
            Format::Json => format!("{}\n", pretty(&Ordered(fields))),
            Format::Value => fields
                .iter()
                .map(|(_, c)| format!("{}\n", escape_controls(&c.python_str())))
                .collect(),
            Format::Shell => fields
                .iter()
                .map(|(k, c)| format!("{}\n", escape_controls(&shell_line(&self.prefix, k, c))))
                .collect(),
            Format::Csv => {
                return Err(Fail::usage(
                    "-f csv is for lists (as in openstack): use json, shell, table, value or yaml",
                ));
            }
            Format::Table => {
                let rows: Vec<Vec<String>> = fields
                    .iter()
                    .map(|(k, c)| {
                        vec![
                            escape_controls(k).into_owned(),
                            escape_controls(&c.human()).into_owned(),
                        ]
                    })
                    .collect();
                if rows.is_empty() {
                    String::new()
                } else {
                    let mut out = Vec::new();
                    let opts = crate::table::TableOpts {
                        print_empty: false,
                        ..self.table
                    };
                    let _ = write_table(
                        &mut out,
                        &["Field", "Value"],
                        &rows,
                        &[],
                        SHOW_MIN_WIDTH,
                        &opts,
                    );
                    String::from_utf8_lossy(&out).into_owned()
                }
            }
        };
        self.write_out(text.as_bytes())
    }

    /// Rows as `openstack ... list` prints them: `cols` are the command's columns, each
    /// row holds one cell per column.
    pub fn list_records(&self, cols: &[Col], mut rows: Vec<Vec<Cell>>) -> CmdResult {
        self.sort_rows(cols, &mut rows);
        let keep = self.selected(cols)?;
        let headers: Vec<&str> = keep.iter().map(|&i| cols[i].header.as_str()).collect();
        let pick =
            |row: &Vec<Cell>| -> Vec<Cell> { keep.iter().map(|&i| row[i].clone()).collect() };
        let mut out = io::BufWriter::new(io::stdout().lock());
        let result = match self.format {
            Format::Json => {
                let items: Vec<Ordered<Value>> = rows
                    .iter()
                    .map(|row| {
                        Ordered(
                            headers
                                .iter()
                                .copied()
                                .zip(pick(row).iter().map(Cell::machine))
                                .collect(),
                        )
                    })
                    .collect();
                let text = if self.noindent {
                    compact(&items)
                } else {
                    pretty(&items)
                };
                writeln!(out, "{text}")
            }
            Format::Yaml => {
                if rows.is_empty() {
                    out.write_all(yaml(&Value::Array(Vec::new())).as_bytes())
                } else {
                    rows.iter().try_for_each(|row| {
                        let entries: Vec<(&str, Value)> = headers
                            .iter()
                            .copied()
                            .zip(pick(row).iter().map(Cell::machine))
                            .collect();
                        let mut item = String::new();
                        for (i, line) in yaml_mapping(&entries).lines().enumerate() {
                            item.push_str(if i == 0 { "- " } else { "  " });
                            item.push_str(line);
                            item.push('\n');
                        }
                        out.write_all(item.as_bytes())
                    })
                }
            }
            Format::Value => rows.iter().try_for_each(|row| {
                let cells: Vec<String> = pick(row).iter().map(Cell::python_str).collect();
                writeln!(out, "{}", escape_controls(&cells.join(" ")))
            }),
            Format::Csv => {
                let head: Vec<String> = headers.iter().map(|h| csv_quoted(h)).collect();
                writeln!(out, "{}", escape_controls(&head.join(","))).and_then(|()| {
                    rows.iter().try_for_each(|row| {
                        let cells: Vec<String> = pick(row).iter().map(csv_field).collect();
                        writeln!(out, "{}", escape_controls(&cells.join(",")))
                    })
                })
            }
            Format::Shell => {
                return Err(Fail::usage(
                    "-f shell is for one resource (as in openstack): use csv, json, table, value or yaml",
                ));
            }
            Format::Table => {
                // Python aligns by the type of the first row's values: numbers right.
                let right: Vec<bool> = rows
                    .first()
                    .map(|r| pick(r).iter().map(Cell::is_number).collect())
                    .unwrap_or_default();
                let cells: Vec<Vec<String>> = rows
                    .iter()
                    .map(|r| {
                        pick(r)
                            .iter()
                            .map(|c| escape_controls(&c.human()).into_owned())
                            .collect()
                    })
                    .collect();
                let heads: Vec<String> = headers
                    .iter()
                    .map(|h| escape_controls(h).into_owned())
                    .collect();
                let heads: Vec<&str> = heads.iter().map(String::as_str).collect();
                write_table(
                    &mut out,
                    &heads,
                    &cells,
                    &right,
                    LIST_MIN_WIDTH,
                    &self.table,
                )
            }
        };
        result.and_then(|()| out.flush()).map_err(write_failed)
    }

    /// cliff's `--sort-column`: from the last named column to the first, a stable sort by
    /// (is null, value); a column whose values Python cannot compare is left unsorted.
    fn sort_rows(&self, cols: &[Col], rows: &mut [Vec<Cell>]) {
        let indexes: Vec<usize> = self
            .sort_columns
            .iter()
            .filter_map(|s| {
                cols.iter()
                    .position(|c| c.header == *s)
                    .or_else(|| cols.iter().position(|c| norm(&c.header) == norm(s)))
            })
            .collect();
        for &i in indexes.iter().rev() {
            let key = |row: &Vec<Cell>| row[i].machine();
            let first = rows.iter().map(key).find(|v| !v.is_null());
            let comparable = first.is_none_or(|f| {
                rows.iter().all(|r| {
                    let v = key(r);
                    v.is_null() || py_cmp(&f, &v).is_some()
                })
            });
            if !comparable {
                continue;
            }
            let order = |a: &Vec<Cell>, b: &Vec<Cell>| {
                let (x, y) = (key(a), key(b));
                x.is_null()
                    .cmp(&y.is_null())
                    .then_with(|| py_cmp(&x, &y).unwrap_or(Ordering::Equal))
            };
            if self.sort_desc {
                rows.sort_by(|a, b| order(b, a));
            } else {
                rows.sort_by(order);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_compares_like_python() {
        assert_eq!(py_cmp(&json!("a"), &json!("b")), Some(Ordering::Less));
        assert_eq!(py_cmp(&json!(2), &json!(true)), Some(Ordering::Greater));
        assert_eq!(py_cmp(&json!("1"), &json!(1)), None);
        assert_eq!(
            py_cmp(&json!(["a", "b"]), &json!(["a"])),
            Some(Ordering::Greater)
        );
    }

    #[test]
    fn yaml_keeps_column_order() {
        let text = yaml_mapping(&[("b", json!(1)), ("a", json!(["x"]))]);
        assert_eq!(text, "b: 1\na:\n- x\n");
    }
}
