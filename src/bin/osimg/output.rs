//! Output in the four formats of python-openstackclient: table, json, yaml, value.
//!
//! Everything printed goes through JSON values, so `-f json` can carry an image exactly as
//! the API returned it, and `-c` can select by display name or by API key.
//!
//! Server text never reaches the terminal raw: every human-readable path (table and value
//! cells, error lines, progress messages, `--debug` lines) goes through [`escape_controls`].
//! JSON and YAML stay exact: their own escaping keeps control characters out of the bytes,
//! and a parser reads back what the server sent. Lists are written as they arrive
//! ([`ListOutput`]), except tables, which need every row for their column widths and hold
//! at most [`TABLE_MAX_BYTES`].

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};

use serde::Serialize;
use serde_json::ser::{Formatter, PrettyFormatter};
use serde_json::{Map, Value};
use serde_saphyr::DoubleQuoted;

use crate::{CmdResult, Fail};

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

/// The most a list in table format keeps in memory before it gives up: the text of its
/// cells plus [`CELL_OVERHEAD`] per cell. Tables need every row before the first line (the
/// column widths), so a server that pages forever would otherwise grow them without bound;
/// the other formats stream and keep one page at a time.
pub const TABLE_MAX_BYTES: usize = 64 * 1024 * 1024;

/// The memory note of `image list --help` and `compute-image list --help`.
pub const LIST_MEMORY_HELP: &str = "\
Memory: value, json and yaml output is written as the images arrive, so osimg holds one page
(at most the client's JSON body cap, 64 MiB) whatever the number of images. Table output
needs every row for its column widths: it keeps the cells of at most 64 MiB of rows, then
fails and suggests -f value or --max-items.";

/// What a buffered cell costs beyond its text (the `String` itself and its allocation).
const CELL_OVERHEAD: usize = 32;

/// Makes server text safe to print on a terminal: every character that a terminal may act
/// on instead of showing is replaced by a visible escape, so text cannot move the cursor,
/// change colours, retitle the window, ring the bell or reorder what follows it.
///
/// The scheme: C0 controls (U+0000-U+001F, including ESC, BEL, backspace, tab, CR, LF) and
/// DEL as `\xNN` (`\x1b`, `\x0a`); C1 controls (U+0080-U+009F, the 8-bit CSI and OSC among
/// them) and the invisible direction and line controls (U+061C, U+200E, U+200F,
/// U+2028-U+202E, U+2066-U+2069) as `\u{NNNN}` (`\u{202e}`). An escape sequence is thereby
/// printed as text: ESC `[31m` shows as `\x1b[31m`. Everything else, backslashes included,
/// is printed as it is, so the escaping is for reading, not for parsing back: use `-f json`
/// for exact values.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_terminal_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if !is_terminal_control(c) => out.push(c),
            c if u32::from(c) <= 0x7f => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => {
                let _ = write!(out, "\\u{{{:04x}}}", u32::from(c));
            }
        }
    }
    Cow::Owned(out)
}

/// The characters [`escape_controls`] escapes.
fn is_terminal_control(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{61c}' | '\u{200e}' | '\u{200f}'
        | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// serde_json's pretty printer, which escapes C0 controls itself, made to escape the other
/// terminal controls too (DEL, C1, the direction and line controls) as `\uNNNN`: the
/// document still parses to exactly what the server sent, and holds none of them raw.
struct TerminalSafeJson(PrettyFormatter<'static>);

impl Formatter for TerminalSafeJson {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut rest = fragment;
        while let Some((at, c)) = rest.char_indices().find(|(_, c)| is_terminal_control(*c)) {
            writer.write_all(&rest.as_bytes()[..at])?;
            write!(writer, "\\u{:04x}", u32::from(c))?;
            rest = &rest[at + c.len_utf8()..];
        }
        writer.write_all(rest.as_bytes())
    }

    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_array(writer)
    }

    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array(writer)
    }

    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(writer, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array_value(writer)
    }

    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object(writer)
    }

    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object(writer)
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(writer, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object_value(writer)
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object_value(writer)
    }
}

/// A message as one safe line for stderr: runs of whitespace (newlines from a server's
/// HTML error page among them) become one space, then [`escape_controls`] does the rest.
pub fn error_line(message: &str) -> String {
    let folded = message.split_whitespace().collect::<Vec<_>>().join(" ");
    escape_controls(&folded).into_owned()
}

/// Prints `osimg: <message>` on stderr as one safe line. A stderr that cannot be written
/// (closed) is not a reason to fail, so the write error is dropped.
pub fn report(message: &str) {
    let _ = writeln!(io::stderr(), "osimg: {}", error_line(message));
}

/// The failure for a write to stdout that did not go through: a closed pipe (the reader
/// went away, `osimg image list | head -1`) ends the command quietly with status 141, as
/// a Unix tool killed by SIGPIPE reports in the shell; any other error is reported.
pub fn write_failed(e: io::Error) -> Fail {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Fail::closed_pipe()
    } else {
        Fail::other(format!("cannot write to stdout: {e}"))
    }
}

/// The writer for `--debug` lines on stderr: each event arrives as one write of one line,
/// which is escaped whole except its final newline (the subscriber already escapes ESC and
/// a few others in field values, but not CR or LF).
pub struct EscapedStderr;

impl Write for EscapedStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        io::stderr().write_all(escaped_log_line(buf).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// A `--debug` line escaped whole but for the newline that ends it.
fn escaped_log_line(buf: &[u8]) -> String {
    let text = String::from_utf8_lossy(buf);
    match text.strip_suffix('\n') {
        Some(line) => format!("{}\n", escape_controls(line)),
        None => escape_controls(&text).into_owned(),
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
    pub fn show(&self, obj: &Map<String, Value>) -> CmdResult {
        let fields: Map<String, Value> = obj
            .iter()
            .filter(|(k, _)| self.wanted(k, k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let text = match self.format {
            Format::Json => format!("{}\n", pretty(&Value::Object(fields))),
            Format::Yaml => yaml(&Value::Object(fields)),
            Format::Value => fields.values().map(|v| format!("{}\n", cell(v))).collect(),
            Format::Table => {
                let rows: Vec<Vec<String>> = fields
                    .iter()
                    .map(|(k, v)| vec![escape_controls(k).into_owned(), cell(v)])
                    .collect();
                table(&["Field", "Value"], &rows)
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
        }
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
            return write_table(&mut self.out, &headers, &self.table)
                .and_then(|()| self.out.flush())
                .map_err(write_failed);
        }
        let text = match self.format {
            Format::Value => String::new(),
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

/// Pretty JSON (serde_json's layout) with no terminal control left raw ([`TerminalSafeJson`]).
fn pretty(v: &Value) -> String {
    let mut out = Vec::new();
    let mut serializer =
        serde_json::Serializer::with_formatter(&mut out, TerminalSafeJson(PrettyFormatter::new()));
    match v.serialize(&mut serializer) {
        Ok(()) => String::from_utf8_lossy(&out).into_owned(),
        Err(_) => v.to_string(),
    }
}

/// YAML with no terminal control left raw. serde-saphyr escapes the C0 and C1 controls
/// itself but prints the direction controls (U+202E, ...) as they are, which YAML allows:
/// string values holding one are forced into double quotes ([`YamlSafe`]), where the escape
/// `\uNNNN` then stands for the character, so the document still parses to the same value.
/// serde-saphyr cannot be made to double-quote a key, so a document with such a key keeps
/// its direction controls raw (exactness first; C0 and C1 are escaped all the same).
fn yaml(v: &Value) -> String {
    if has_direction_control_in_a_key(v) {
        return serde_saphyr::to_string(v)
            .unwrap_or_else(|e| format!("# cannot write YAML: {e}\n"));
    }
    match serde_saphyr::to_string(&YamlSafe(v)) {
        Ok(text) if text.contains(is_direction_control) => {
            let mut out = String::with_capacity(text.len() + 16);
            for c in text.chars() {
                if is_direction_control(c) {
                    let _ = write!(out, "\\u{:04X}", u32::from(c));
                } else {
                    out.push(c);
                }
            }
            out
        }
        Ok(text) => text,
        Err(e) => format!("# cannot write YAML: {e}\n"),
    }
}

fn has_direction_control_in_a_key(v: &Value) -> bool {
    match v {
        Value::Array(items) => items.iter().any(has_direction_control_in_a_key),
        Value::Object(map) => map.iter().any(|(key, value)| {
            key.contains(is_direction_control) || has_direction_control_in_a_key(value)
        }),
        _ => false,
    }
}

/// The controls YAML counts as printable that [`escape_controls`] escapes.
fn is_direction_control(c: char) -> bool {
    is_terminal_control(c) && !c.is_control() && !matches!(c, '\u{2028}' | '\u{2029}')
}

/// A JSON value serialized for [`yaml`]: strings with a direction control are
/// double-quoted, everything else as serde-saphyr chooses.
struct YamlSafe<'a>(&'a Value);

impl Serialize for YamlSafe<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        let quoted = |s: &str| s.contains(is_direction_control);
        match self.0 {
            Value::String(s) if quoted(s) => DoubleQuoted(s).serialize(serializer),
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&YamlSafe(item))?;
                }
                seq.end()
            }
            Value::Object(map) => {
                let mut out = serializer.serialize_map(Some(map.len()))?;
                for (key, value) in map {
                    out.serialize_entry(key, &YamlSafe(value))?;
                }
                out.end()
            }
            other => other.serialize(serializer),
        }
    }
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

/// A boxed table in the style of openstack's (cliff's) default formatter. Cells must be
/// escaped already ([`cell`], [`escape_controls`]): a newline would break the box.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = write_table(&mut out, headers, rows);
    String::from_utf8_lossy(&out).into_owned()
}

/// [`table`] written line by line: a list's table is never held twice in memory, whatever
/// padding one long cell forces on every row.
fn write_table(out: &mut dyn Write, headers: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let rule = {
        let parts: Vec<String> = widths.iter().map(|w| "-".repeat(w + 2)).collect();
        format!("+{}+\n", parts.join("+"))
    };
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let parts: Vec<String> = cells
            .zip(&widths)
            .map(|(c, w)| format!(" {c}{} ", " ".repeat(w.saturating_sub(c.chars().count()))))
            .collect();
        format!("|{}|\n", parts.join("|"))
    };
    out.write_all(rule.as_bytes())?;
    out.write_all(line(&mut headers.iter().copied()).as_bytes())?;
    out.write_all(rule.as_bytes())?;
    for row in rows {
        out.write_all(line(&mut row.iter().map(String::as_str)).as_bytes())?;
    }
    out.write_all(rule.as_bytes())
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
    use serde_json::json;

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
        assert_eq!(cell(&json!(["a", "b"])), "a, b");
        assert_eq!(cell(&json!(5)), "5");
        assert_eq!(cell(&json!([])), "");
    }

    #[test]
    fn controls_are_escaped_visibly_and_the_rest_is_kept() {
        assert!(matches!(escape_controls("plain é 日本"), Cow::Borrowed(_)));
        assert_eq!(
            escape_controls("a\x1b[31mred\x07\x08\r\n\t\x7f\0"),
            "a\\x1b[31mred\\x07\\x08\\x0d\\x0a\\x09\\x7f\\x00"
        );
        assert_eq!(escape_controls("\x1b]0;title\x07"), "\\x1b]0;title\\x07");
        assert_eq!(
            escape_controls("\u{9b}31m \u{85} \u{202e}txt.exe\u{2066}"),
            "\\u{009b}31m \\u{0085} \\u{202e}txt.exe\\u{2066}"
        );
        assert_eq!(escape_controls("back\\slash"), "back\\slash");
    }

    #[test]
    fn cells_and_error_lines_carry_no_raw_control() {
        let hostile = json!(["ok", "\x1b[2J"]);
        assert_eq!(cell(&hostile), "ok, \\x1b[2J");
        assert_eq!(cell(&json!({"k": "\u{9b}"})), "{\"k\":\"\\u{009b}\"}");
        assert_eq!(
            error_line("not\n  found:\r\x1b]0;pwned\x07 here"),
            "not found: \\x1b]0;pwned\\x07 here"
        );
    }

    /// Everything the list writes, for a format and rows.
    fn listed(format: Format, rows: &[Value], raw_json: bool) -> String {
        let printer = Printer::new(format, Vec::new());
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

    #[test]
    fn yaml_keeps_a_key_with_a_direction_control_exact() {
        let doc = json!({"\u{202e}key": "\u{202e}v", "k": ["\x1b"]});
        let text = yaml(&doc);
        assert!(!text.contains('\x1b'), "{text}");
        let back: Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(back, doc);
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
        let printer = Printer::new(Format::Table, Vec::new());
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
    fn json_escapes_every_terminal_control_and_keeps_serde_jsons_layout() {
        let v = json!({"a": ["x\u{1b}y\u{7f}", "\u{9b}\u{202e}é"], "\u{2066}k": {"n": 1}});
        let text = pretty(&v);
        assert!(
            !text.contains(|c| c != '\n' && is_terminal_control(c)),
            "{text}"
        );
        assert!(text.contains(r#""x\u001by\u007f""#), "{text}");
        assert!(text.contains(r#""\u009b\u202eé""#), "{text}");
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, v);
        let plain = json!({"a": [1, {"b": null}], "c": "d"});
        assert_eq!(
            pretty(&plain),
            serde_json::to_string_pretty(&plain).unwrap()
        );
    }

    #[test]
    fn debug_lines_keep_only_their_final_newline() {
        assert_eq!(
            escaped_log_line(b"DEBUG request url=/v2/x\rFAKE\nline message=\x1b[2J\n"),
            "DEBUG request url=/v2/x\\x0dFAKE\\x0aline message=\\x1b[2J\n"
        );
        assert_eq!(escaped_log_line(b"no newline\x07"), "no newline\\x07");
    }

    #[test]
    fn a_closed_pipe_is_a_quiet_failure() {
        let closed = write_failed(io::Error::from(io::ErrorKind::BrokenPipe));
        assert_eq!((closed.code, closed.message.as_str()), (141, ""));
        let full = write_failed(io::Error::from(io::ErrorKind::StorageFull));
        assert_eq!(full.code, 1);
        assert!(full.message.contains("cannot write to stdout"));
    }
}
