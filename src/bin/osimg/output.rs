//! The output options (`-f`, `-c`, the table, csv and shell options, `--raw`) and the raw
//! output: objects as the API returned them, lists written as they arrive. The default
//! output of the image commands, python-openstackclient's, is in record_output.rs.
//!
//! Everything printed goes through JSON values, so `--raw -f json` can carry an image
//! exactly as the API returned it, and `-c` can select by display name or by API key.
//!
//! Server text never reaches the terminal raw: every human-readable path (table and value
//! cells, error lines, progress messages, `--debug` lines) goes through [`escape_controls`].
//! JSON and YAML stay exact: their own escaping keeps control characters out of the bytes,
//! and a parser reads back what the server sent. Lists are written as they arrive
//! ([`ListOutput`]), except tables, which need every row for their column widths and hold
//! at most [`TABLE_MAX_BYTES`].

use std::io::{self, IsTerminal, Write};

use serde_json::{Map, Value};

use crate::cells::{Cell, Record, csv_field, csv_quoted};
pub use crate::escape::{EscapedStderr, escape_controls, report, write_failed};
use crate::escape::{pretty, yaml};
use crate::table::{LIST_MIN_WIDTH, SHOW_MIN_WIDTH, TableOpts, write_table};
use crate::{CmdResult, Fail};

/// The `-f/--format` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Boxed table: Field/Value for one resource, one row per resource for lists.
    Table,
    /// JSON: one object (show) or an array of objects keyed by column (list).
    Json,
    /// YAML, with the same content as json.
    Yaml,
    /// Bare values, space-separated, one resource per line: for shell scripts.
    Value,
    /// Comma-separated, a header line first, strings quoted (lists only).
    Csv,
    /// `name="value"` lines a shell can eval (one resource only; see --prefix).
    Shell,
}

/// The output options every command takes (listed apart in --help).
#[derive(clap::Args, Debug, Clone)]
#[command(next_help_heading = "Output options")]
pub struct OutputArgs {
    /// Output format.
    #[arg(short = 'f', long, global = true, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Show only this column (repeatable); a display name (`Disk Format`) or API key
    /// (`disk_format`). Columns keep the command's order; naming none that exists fails.
    #[arg(short = 'c', long = "column", global = true, value_name = "COLUMN")]
    pub columns: Vec<String>,
    /// Table: the most characters a line may take (0: no limit); cells are wrapped.
    /// Default: $CLIFF_MAX_TERM_WIDTH, as in openstack.
    // Not clap's `env`, which would show the option in usage lines when only the
    // variable set it.
    #[arg(long, global = true, value_name = "N")]
    pub max_width: Option<usize>,
    /// Table: fit the terminal's width. As in openstack, a table on a terminal is fitted
    /// anyway and one on a pipe never (no width to fit), so this changes nothing on Unix.
    #[arg(long, global = true)]
    pub fit_width: bool,
    /// Table: print the header of a list with no rows (else an empty line).
    #[arg(long, global = true)]
    pub print_empty: bool,
    /// Lists: sort rows by this column (repeatable), after the command's own sort (not with
    /// --raw, whose lists stream).
    #[arg(long = "sort-column", global = true, value_name = "COLUMN")]
    pub sort_columns: Vec<String>,
    /// With --sort-column: ascending (the default).
    #[arg(long, global = true, conflicts_with = "sort_descending")]
    pub sort_ascending: bool,
    /// With --sort-column: descending.
    #[arg(long, global = true)]
    pub sort_descending: bool,
    /// Shell: a prefix for every variable name.
    #[arg(long, global = true, value_name = "PREFIX", default_value = "")]
    pub prefix: String,
    /// JSON on one line.
    #[arg(long, global = true)]
    pub noindent: bool,
    /// The raw API output instead of openstack's: `show`, `create` and `-f json` of
    /// `list --long` print images exactly as Glance returned them (every key, no
    /// `properties` nesting), and `list` writes rows as they arrive, in Glance's order
    /// (`--sort` goes to Glance, `--property` too) instead of sorting them client-side.
    #[arg(long, global = true)]
    pub raw: bool,
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

/// The most a list in table format keeps in memory before it gives up: the text of its
/// cells plus [`CELL_OVERHEAD`] per cell. Tables need every row before the first line (the
/// column widths), so a server that pages forever would otherwise grow them without bound;
/// the other formats stream and keep one page at a time.
pub const TABLE_MAX_BYTES: usize = 64 * 1024 * 1024;

/// The memory note of `image list --help` and `compute-image list --help`.
pub const LIST_MEMORY_HELP: &str = "\
Memory: `image list` in openstack's output (the default) holds every image for the
client-side sort, up to 64 MiB of JSON, then fails and suggests --raw or --max-items. With
--raw, and in `compute-image list`, value, json, yaml and csv output is written as the
images arrive, so osimg holds one page (at most the client's JSON body cap, 64 MiB)
whatever the number of images; table output needs every row for its column widths: it
keeps the cells of at most 64 MiB of rows, then fails and suggests -f value or --max-items.";

/// What a buffered cell costs beyond its text (the `String` itself and its allocation).
const CELL_OVERHEAD: usize = 32;

/// Prints results in the format and with the columns chosen on the command line.
pub struct Printer {
    pub(crate) format: Format,
    pub(crate) columns: Vec<String>,
    pub(crate) table: TableOpts,
    pub(crate) sort_columns: Vec<String>,
    pub(crate) sort_desc: bool,
    pub(crate) prefix: String,
    pub(crate) noindent: bool,
    /// `--raw`: the API's objects instead of openstack's records.
    pub raw: bool,
}

/// `Disk Format`, `disk_format` and `disk-format` all name the same column.
pub(crate) fn norm(s: &str) -> String {
    s.trim().to_ascii_lowercase().replace([' ', '-'], "_")
}

impl Printer {
    pub fn new(a: OutputArgs) -> Self {
        Printer {
            format: a.format,
            columns: a.columns,
            table: TableOpts {
                max_width: a.max_width.unwrap_or_else(|| {
                    std::env::var("CLIFF_MAX_TERM_WIDTH")
                        .ok()
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0)
                }),
                print_empty: a.print_empty,
            },
            sort_columns: a.sort_columns,
            sort_desc: a.sort_descending,
            prefix: a.prefix,
            noindent: a.noindent,
            raw: a.raw,
        }
    }

    /// A printer of `format` with the columns `columns` and every other option at its
    /// default (tests).
    #[cfg(test)]
    pub fn plain(format: Format, columns: Vec<String>) -> Self {
        Printer {
            format,
            columns,
            table: TableOpts::default(),
            sort_columns: Vec::new(),
            sort_desc: false,
            prefix: String::new(),
            noindent: false,
            raw: true,
        }
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
    /// columns are selected); table prints Field/Value rows sorted by field; shell prints
    /// openstack's `key="value"` lines.
    pub fn show(&self, obj: &Map<String, Value>) -> CmdResult {
        if matches!(self.format, Format::Shell | Format::Csv) {
            let rec: Record = obj
                .iter()
                .map(|(k, v)| (k.clone(), Cell::Plain(v.clone())))
                .collect();
            return self.show_record(&rec);
        }
        let fields: Map<String, Value> = obj
            .iter()
            .filter(|(k, _)| self.wanted(k, k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let text = match self.format {
            Format::Json => format!("{}\n", pretty(&Value::Object(fields))),
            Format::Yaml => yaml(&Value::Object(fields)),
            Format::Value => fields.values().map(|v| format!("{}\n", cell(v))).collect(),
            Format::Table | Format::Csv | Format::Shell => {
                let rows: Vec<Vec<String>> = fields
                    .iter()
                    .map(|(k, v)| vec![escape_controls(k).into_owned(), cell(v)])
                    .collect();
                let mut out = Vec::new();
                let _ = write_table(
                    &mut out,
                    &["Field", "Value"],
                    &rows,
                    &[],
                    SHOW_MIN_WIDTH,
                    &self.table,
                );
                String::from_utf8_lossy(&out).into_owned()
            }
        };
        io::stdout()
            .write_all(text.as_bytes())
            .map_err(write_failed)
    }

    /// Starts a list of resources (JSON objects) shown in `cols` (narrowed by `-c`), written
    /// to stdout row by row. With `raw_json` and no `-c`, json and yaml print the objects
    /// whole, as the API returned them; otherwise each row is an object keyed by column
    /// header, as openstack does.
    ///
    /// Rows are buffered (a write per line would cost a system call per image) but go out
    /// at once when stdout is a terminal, so a person watching sees each row as it comes.
    pub fn list_start(
        &self,
        cols: &[Col],
        raw_json: bool,
    ) -> ListOutput<io::BufWriter<io::Stdout>> {
        let mut list = self.list_to(io::BufWriter::new(io::stdout()), cols, raw_json);
        list.flush_rows = io::stdout().is_terminal();
        list
    }

    /// [`Printer::list_start`] onto any writer.
    fn list_to<W: Write>(&self, out: W, cols: &[Col], raw_json: bool) -> ListOutput<W> {
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
        ListOutput {
            out,
            flush_rows: false,
            format: self.format,
            raw_json: raw_json && !self.selects(),
            cols,
            rows: 0,
            table: Vec::new(),
            table_bytes: 0,
            opts: self.table,
        }
    }

    /// Whether the output is json or yaml (documents, not tables).
    pub fn is_structured(&self) -> bool {
        matches!(self.format, Format::Json | Format::Yaml)
    }

    /// A whole list at once (one response, not paged): [`Printer::list_start`] for each row.
    pub fn list(&self, cols: &[Col], rows: &[Value], raw_json: bool) -> CmdResult {
        let mut list = self.list_start(cols, raw_json);
        for row in rows {
            list.row(row)?;
        }
        list.finish()
    }

    /// A document printed as itself whatever the format (a schema): JSON unless YAML was
    /// asked for.
    pub fn document(&self, doc: &Value) -> CmdResult {
        let text = match self.format {
            Format::Yaml => yaml(doc),
            _ => format!("{}\n", pretty(doc)),
        };
        io::stdout()
            .write_all(text.as_bytes())
            .map_err(write_failed)
    }
}

/// A list being written: value, json and yaml rows go out as they come (memory: one row);
/// table rows are kept, as escaped cells, until [`ListOutput::finish`], up to
/// [`TABLE_MAX_BYTES`].
pub struct ListOutput<W: Write> {
    out: W,
    /// Whether each row is flushed as soon as it is written (stdout is a terminal).
    flush_rows: bool,
    format: Format,
    raw_json: bool,
    cols: Vec<Col>,
    rows: usize,
    table: Vec<Vec<String>>,
    table_bytes: usize,
    opts: TableOpts,
}

impl<W: Write> ListOutput<W> {
    /// The row as the columns show it, keyed by header.
    fn by_header(&self, row: &Value) -> Value {
        Value::Object(
            self.cols
                .iter()
                .map(|c| (c.header.clone(), field(row, c)))
                .collect(),
        )
    }

    /// Writes (or, for a table, keeps) one row.
    pub fn row(&mut self, row: &Value) -> CmdResult {
        self.rows += 1;
        let text = match self.format {
            Format::Value => {
                let cells: Vec<String> = self.cols.iter().map(|c| cell(&field(row, c))).collect();
                format!("{}\n", cells.join(" "))
            }
            Format::Json => {
                let item = if self.raw_json {
                    pretty(row)
                } else {
                    pretty(&self.by_header(row))
                };
                // The array serde_json would print, one element at a time: `[`, then each
                // element indented by two spaces (JSON strings hold no raw newline).
                let mut text = String::from(if self.rows == 1 { "[\n" } else { ",\n" });
                for (i, line) in item.lines().enumerate() {
                    if i > 0 {
                        text.push('\n');
                    }
                    text.push_str("  ");
                    text.push_str(line);
                }
                text
            }
            Format::Yaml => {
                // A block sequence is its elements' one-element sequences one after another.
                let item = if self.raw_json {
                    row.clone()
                } else {
                    self.by_header(row)
                };
                yaml(&Value::Array(vec![item]))
            }
            Format::Csv => {
                let mut text = String::new();
                if self.rows == 1 {
                    let head: Vec<String> =
                        self.cols.iter().map(|c| csv_quoted(&c.header)).collect();
                    text = format!("{}\n", escape_controls(&head.join(",")));
                }
                let cells: Vec<String> = self
                    .cols
                    .iter()
                    .map(|c| csv_field(&Cell::Plain(field(row, c))))
                    .collect();
                text.push_str(&escape_controls(&cells.join(",")));
                text.push('\n');
                text
            }
            Format::Shell => {
                return Err(Fail::usage(
                    "-f shell is for one resource (as in openstack): use csv, json, table, value or yaml",
                ));
            }
            Format::Table => {
                let cells: Vec<String> = self.cols.iter().map(|c| cell(&field(row, c))).collect();
                self.table_bytes += cells.iter().map(|c| c.len() + CELL_OVERHEAD).sum::<usize>();
                if self.table_bytes > TABLE_MAX_BYTES {
                    return Err(Fail::other(format!(
                        "table output keeps every row for its column widths and stopped at {} \
                         rows ({} MiB): use -f value, json or yaml (written as they arrive), or \
                         --max-items",
                        self.rows - 1,
                        TABLE_MAX_BYTES >> 20
                    )));
                }
                self.table.push(cells);
                return Ok(());
            }
        };
        self.out.write_all(text.as_bytes()).map_err(write_failed)?;
        if self.flush_rows {
            self.out.flush().map_err(write_failed)?;
        }
        Ok(())
    }

    /// Ends the list: closes the JSON array, or prints the table (nothing for no rows).
    pub fn finish(mut self) -> CmdResult {
        if self.format == Format::Table && !self.table.is_empty() {
            let headers: Vec<String> = self
                .cols
                .iter()
                .map(|c| escape_controls(&c.header).into_owned())
                .collect();
            let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
            return write_table(
                &mut self.out,
                &headers,
                &self.table,
                &[],
                LIST_MIN_WIDTH,
                &self.opts,
            )
            .and_then(|()| self.out.flush())
            .map_err(write_failed);
        }
        let text = match self.format {
            Format::Value | Format::Csv | Format::Shell => String::new(),
            Format::Json if self.rows == 0 => "[]\n".to_owned(),
            Format::Json => "\n]\n".to_owned(),
            Format::Yaml if self.rows == 0 => yaml(&Value::Array(Vec::new())),
            Format::Yaml | Format::Table => String::new(),
        };
        self.out
            .write_all(text.as_bytes())
            .and_then(|()| self.out.flush())
            .map_err(write_failed)
    }
}

/// The value a column shows of a row (`null` when the row lacks it).
fn field(row: &Value, column: &Col) -> Value {
    row.get(&column.key).cloned().unwrap_or(Value::Null)
}

/// A value as a table or value cell, escaped for the terminal: strings bare, lists of
/// strings comma-joined, null as `None` (as openstack prints it), anything else as compact
/// JSON.
pub fn cell(v: &Value) -> String {
    let text = match v {
        Value::Null => "None".to_owned(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    };
    escape_controls(&text).into_owned()
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
    use crate::escape::is_terminal_control;
    use serde_json::json;

    #[test]
    fn sizes_read_like_people_say_them() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(3 * 1024 * 1024 * 1024 / 2), "1.5 GiB");
    }

    #[test]
    fn cells_follow_openstack() {
        assert_eq!(cell(&Value::Null), "None");
        assert_eq!(cell(&json!(["a", "b"])), "a, b");
        assert_eq!(cell(&json!(5)), "5");
        assert_eq!(cell(&json!([])), "");
    }

    /// Everything the list writes, for a format and rows.
    fn listed(format: Format, rows: &[Value], raw_json: bool) -> String {
        let printer = Printer::plain(format, Vec::new());
        let cols = [col("ID", "id"), col("Name", "name")];
        let mut out = Vec::new();
        let mut list = printer.list_to(&mut out, &cols, raw_json);
        for row in rows {
            assert!(list.row(row).is_ok());
        }
        assert!(list.finish().is_ok());
        String::from_utf8(out).unwrap()
    }

    fn sample_rows() -> Vec<Value> {
        vec![
            json!({"id": "a", "name": "one\x1b[31m", "tags": ["x", "y"], "p": {"n": [1, null]}}),
            json!({"id": "b", "name": null, "tags": [], "e": "", "q": "multi\nline: yes"}),
            json!({"id": "c", "name": "- not a list", "k": "'quoted' \"twice\""}),
        ]
    }

    #[test]
    fn streamed_json_and_yaml_equal_the_whole_documents() {
        for rows in [sample_rows(), vec![sample_rows()[0].clone()], Vec::new()] {
            let whole = Value::Array(rows.clone());
            assert_eq!(
                listed(Format::Json, &rows, true),
                format!("{}\n", pretty(&whole))
            );
            assert_eq!(listed(Format::Yaml, &rows, true), yaml(&whole));
            let back: Value = serde_saphyr::from_str(&listed(Format::Yaml, &rows, true)).unwrap();
            assert_eq!(back, whole);
        }
    }

    #[test]
    fn value_rows_stream_one_line_each_and_tables_wait_for_the_end() {
        assert_eq!(
            listed(Format::Value, &sample_rows(), false),
            "a one\\x1b[31m\nb None\nc - not a list\n"
        );
        let table = listed(Format::Table, &sample_rows(), false);
        assert_eq!(table.lines().count(), 3 + 3 + 1);
        assert!(table.contains("| a  | one\\x1b[31m  |"), "{table}");
        assert_eq!(listed(Format::Table, &[], false), "");
    }

    #[test]
    fn a_table_stops_at_its_memory_cap() {
        let printer = Printer::plain(Format::Table, Vec::new());
        let big = "n".repeat(1 << 20);
        let mut out = Vec::new();
        let mut list = printer.list_to(&mut out, &[col("Name", "name")], false);
        let mut kept = 0;
        let err = loop {
            match list.row(&json!({"name": big})) {
                Ok(()) => kept += 1,
                Err(e) => break e,
            }
            assert!(kept <= TABLE_MAX_BYTES >> 20, "the cap did not hold");
        };
        assert_eq!(kept, (TABLE_MAX_BYTES >> 20) - 1);
        assert_eq!(err.code, 1);
        assert!(err.message.contains("--max-items"), "{}", err.message);
        assert!(out.is_empty());
    }

    #[test]
    fn the_list_help_states_the_caps_in_force() {
        let table = format!("{} MiB of rows", TABLE_MAX_BYTES >> 20);
        let page = format!(
            "body cap, {} MiB",
            openstack_images::DEFAULT_MAX_JSON_BYTES >> 20
        );
        assert!(LIST_MEMORY_HELP.contains(&table), "{table}");
        assert!(LIST_MEMORY_HELP.contains(&page), "{page}");
    }

    #[test]
    fn yaml_and_json_keep_control_characters_exact_but_not_raw() {
        let rows = vec![json!({
            "id": "x", "name": "\x1b]0;t\x07\x1b[2J\r\x08\x7f\u{9b}", "tags": ["\x1b[5m"],
            "key": "\u{2066}isolated\u{2069} and plain", "multi": "a\nb\u{202e}"
        })];
        for format in [Format::Json, Format::Yaml] {
            let text = listed(format, &rows, true);
            assert!(
                !text.contains(|c| c != '\n' && is_terminal_control(c)),
                "{format:?}: {text:?}"
            );
            let back: Value = match format {
                Format::Json => serde_json::from_str(&text).unwrap(),
                _ => serde_saphyr::from_str(&text).unwrap(),
            };
            assert_eq!(back, Value::Array(rows.clone()), "{format:?}");
        }
    }
}
