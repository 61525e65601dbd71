//! Terminal safety: server text is escaped before it reaches a terminal, and JSON/YAML are
//! written exactly but with no raw control byte; error lines and `--debug` lines go through
//! the same escaping, and a closed stdout or stderr is a quiet end, never a panic.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, Write};

use serde::Serialize;
use serde_json::Value;
use serde_json::ser::{Formatter, PrettyFormatter};
use serde_saphyr::DoubleQuoted;

use crate::Fail;

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
pub(crate) fn is_terminal_control(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{61c}' | '\u{200e}' | '\u{200f}'
        | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// serde_json's pretty printer, which escapes C0 controls itself, made to escape the other
/// terminal controls too (DEL, C1, the direction and line controls) as `\uNNNN`: the
/// document still parses to exactly what the server sent, and holds none of them raw.
struct TerminalSafeJson<F>(F);

impl<F: Formatter> Formatter for TerminalSafeJson<F> {
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

/// Pretty JSON (serde_json's layout) with no terminal control left raw ([`TerminalSafeJson`]).
pub fn pretty<T: Serialize + ?Sized>(v: &T) -> String {
    let mut out = Vec::new();
    let mut serializer =
        serde_json::Serializer::with_formatter(&mut out, TerminalSafeJson(PrettyFormatter::new()));
    match v.serialize(&mut serializer) {
        Ok(()) => String::from_utf8_lossy(&out).into_owned(),
        Err(e) => format!("cannot write JSON: {e}"),
    }
}

/// [`pretty`] on one line (`--noindent`), with the same escaping.
pub fn compact<T: Serialize + ?Sized>(v: &T) -> String {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(
        &mut out,
        TerminalSafeJson(serde_json::ser::CompactFormatter),
    );
    match v.serialize(&mut serializer) {
        Ok(()) => String::from_utf8_lossy(&out).into_owned(),
        Err(e) => format!("cannot write JSON: {e}"),
    }
}

/// YAML with no terminal control left raw. serde-saphyr escapes the C0 and C1 controls
/// itself but prints the direction controls (U+202E, ...) as they are, which YAML allows:
/// string values holding one are forced into double quotes ([`YamlSafe`]), where the escape
/// `\uNNNN` then stands for the character, so the document still parses to the same value.
/// serde-saphyr cannot be made to double-quote a key, so a document with such a key keeps
/// its direction controls raw (exactness first; C0 and C1 are escaped all the same).
pub fn yaml(v: &Value) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::*;
    use serde_json::json;

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

    #[test]
    fn yaml_keeps_a_key_with_a_direction_control_exact() {
        let doc = json!({"\u{202e}key": "\u{202e}v", "k": ["\x1b"]});
        let text = yaml(&doc);
        assert!(!text.contains('\x1b'), "{text}");
        let back: Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(back, doc);
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
