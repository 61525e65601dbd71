//! The boxed table of cliff's table formatter (prettytable): column widths, the
//! right-aligned number columns of a list, and `--max-width`/`--fit-width`, which wrap
//! cells so the table fits a width.

use std::io::{self, Write};

/// How a table is laid out (the table options of the command line).
#[derive(Debug, Clone, Copy, Default)]
pub struct TableOpts {
    /// `--max-width`: the most characters a line may take; 0 for no limit.
    pub max_width: usize,
    /// `--print-empty`: a list with no rows prints its header box (else an empty line).
    pub print_empty: bool,
}

/// The narrowest a wrapped list column gets (cliff's 8).
pub const LIST_MIN_WIDTH: usize = 8;
/// The narrowest a wrapped Field/Value column gets (cliff's 16).
pub const SHOW_MIN_WIDTH: usize = 16;

/// The width to fit, if any: `--max-width`, else the terminal's when stdout is one (cliff
/// fits a terminal with or without `--fit-width`, and cannot fit a pipe), else none.
fn target_width(opts: &TableOpts) -> Option<usize> {
    if opts.max_width > 0 {
        return Some(opts.max_width);
    }
    let term = console::Term::stdout();
    if !term.is_term() {
        return None;
    }
    term.size_checked().map(|(_, cols)| usize::from(cols))
}

/// cliff's `_assign_max_widths`: when the table is wider than `width`, the columns wider
/// than an equal share are narrowed to split what the others leave, none below `min`.
fn max_widths(widths: &[usize], width: usize, min: usize) -> Vec<Option<usize>> {
    let n = widths.len();
    let line: usize = widths.iter().sum::<usize>() + 3 * n + 1;
    if n == 0 || line <= width {
        return vec![None; n];
    }
    let usable = width.saturating_sub(1 + 3 * n) as i64;
    let optimal = usable / n as i64;
    let mut remaining = usable;
    let mut shrink = Vec::new();
    for (i, w) in widths.iter().enumerate() {
        if *w as i64 <= optimal {
            remaining -= *w as i64;
        } else {
            shrink.push(i);
        }
    }
    let mut out = vec![None; n];
    let Some((&last, rest)) = shrink.split_last() else {
        return out;
    };
    let share = remaining.div_euclid(shrink.len() as i64);
    for &i in rest {
        out[i] = Some(share.max(min as i64) as usize);
        remaining -= share;
    }
    out[last] = Some(remaining.max(min as i64) as usize);
    out
}

/// Python's `[^\d\W]`: a word character that is not a digit.
fn letter(c: Option<&char>) -> bool {
    c.is_some_and(|c| (c.is_alphanumeric() || *c == '_') && !c.is_numeric())
}

/// textwrap's chunks: runs of spaces, and words split after a hyphen that has two letters
/// (or letter-hyphen-letter) before it and letter, optional hyphen, letter after it.
fn chunks(text: &str) -> Vec<Vec<char>> {
    let chars: Vec<char> = text
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    let mut out: Vec<Vec<char>> = Vec::new();
    let mut cur: Vec<char> = Vec::new();
    for (i, &c) in chars.iter().enumerate() {
        if !cur.is_empty() && (c == ' ') != (cur[0] == ' ') {
            out.push(std::mem::take(&mut cur));
        }
        cur.push(c);
        let at = |j: isize| {
            usize::try_from(i as isize + j)
                .ok()
                .and_then(|j| chars.get(j))
        };
        let before = (letter(at(-2)) && letter(at(-1)))
            || (letter(at(-3)) && at(-2) == Some(&'-') && letter(at(-1)));
        let after = letter(at(1)) && (letter(at(2)) || (at(2) == Some(&'-') && letter(at(3))));
        if c == '-' && cur.len() > 1 && before && after {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A cell broken into lines of at most `width` characters as Python's `textwrap.fill`
/// breaks them (prettytable's wrapping): at spaces, after hyphens between words, and
/// inside a word longer than a line (at its last hyphen that fits, if any).
fn wrap(text: &str, width: usize) -> Vec<String> {
    if width == 0 || text.chars().count() <= width {
        return vec![text.to_owned()];
    }
    let mut rest: Vec<Vec<char>> = chunks(text);
    rest.reverse();
    let blank = |c: &[char]| c.iter().all(|c| *c == ' ');
    let mut lines = Vec::new();
    while !rest.is_empty() {
        if !lines.is_empty() && rest.last().is_some_and(|c| blank(c)) {
            rest.pop();
        }
        let mut line: Vec<Vec<char>> = Vec::new();
        let mut len = 0;
        while let Some(c) = rest.last() {
            if len + c.len() > width {
                break;
            }
            len += c.len();
            line.extend(rest.pop());
        }
        if let Some(chunk) = rest.last_mut()
            && chunk.len() > width
        {
            let space = width.saturating_sub(len).max(1);
            let mut end = space;
            if let Some(h) = chunk[..space].iter().rposition(|c| *c == '-')
                && h > 0
                && chunk[..h].iter().any(|c| *c != '-')
            {
                end = h + 1;
            }
            line.push(chunk.drain(..end).collect());
        }
        if line.last().is_some_and(|c| blank(c)) {
            line.pop();
        }
        if !line.is_empty() {
            lines.push(line.concat().into_iter().collect());
        }
    }
    lines
}

/// Writes a table of escaped cells. `right` marks the right-aligned columns; `min` is the
/// narrowest a fitted column gets ([`LIST_MIN_WIDTH`], [`SHOW_MIN_WIDTH`]).
pub fn write_table(
    out: &mut dyn Write,
    headers: &[&str],
    rows: &[Vec<String>],
    right: &[bool],
    min: usize,
    opts: &TableOpts,
) -> io::Result<()> {
    if rows.is_empty() && !opts.print_empty {
        return out.write_all(b"\n");
    }
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    if let Some(width) = target_width(opts) {
        let caps = max_widths(&widths, width, min);
        for ((w, cap), h) in widths.iter_mut().zip(&caps).zip(headers) {
            if let Some(cap) = cap {
                *w = (*cap).max(h.chars().count()).min(*w);
            }
        }
    }
    let rule = {
        let parts: Vec<String> = widths.iter().map(|w| "-".repeat(w + 2)).collect();
        format!("+{}+\n", parts.join("+"))
    };
    let line = |cells: &[String]| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| {
                let pad = " ".repeat(w.saturating_sub(c.chars().count()));
                if right.get(i).copied().unwrap_or(false) {
                    format!(" {pad}{c} ")
                } else {
                    format!(" {c}{pad} ")
                }
            })
            .collect();
        format!("|{}|\n", parts.join("|"))
    };
    let write_row = |out: &mut dyn Write, cells: &[String]| -> io::Result<()> {
        let wrapped: Vec<Vec<String>> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| wrap(c, *w))
            .collect();
        let height = wrapped.iter().map(Vec::len).max().unwrap_or(1);
        for i in 0..height {
            let cells: Vec<String> = wrapped
                .iter()
                .map(|lines| lines.get(i).cloned().unwrap_or_default())
                .collect();
            out.write_all(line(&cells).as_bytes())?;
        }
        Ok(())
    };
    out.write_all(rule.as_bytes())?;
    let header: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    write_row(out, &header)?;
    out.write_all(rule.as_bytes())?;
    for row in rows {
        write_row(out, row)?;
    }
    out.write_all(rule.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_boxed_aligned_and_numbers_right() {
        let mut out = Vec::new();
        let rows = [vec!["a".to_owned(), "7".to_owned()]];
        write_table(
            &mut out,
            &["ID", "Size"],
            &rows,
            &[false, true],
            8,
            &TableOpts::default(),
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "+----+------+\n| ID | Size |\n+----+------+\n| a  |    7 |\n+----+------+\n"
        );
    }

    #[test]
    fn a_max_width_wraps_the_wide_columns_as_cliff_shares_them() {
        // cliff, 13 columns in 80: the wide ones get 8 each, the last what is left.
        assert_eq!(max_widths(&[36, 7, 3], 40, 8), vec![Some(20), None, None]);
        assert_eq!(max_widths(&[3, 4], 80, 8), vec![None, None]);
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("ab cd ef", 5), vec!["ab cd", "ef"]);
        // What openstack printed for a UUID and a hash in 8 columns.
        assert_eq!(
            wrap("fc09c7dd-ce59-46c8-b291-09193c56f031", 8),
            vec!["fc09c7dd", "-ce59-", "46c8-", "b291-", "09193c56", "f031"]
        );
        assert_eq!(wrap("base, t1", 8), vec!["base, t1"]);
        let opts = TableOpts {
            max_width: 20,
            ..TableOpts::default()
        };
        let mut out = Vec::new();
        let rows = [vec!["0123456789abcdefghij".to_owned()]];
        write_table(&mut out, &["ID"], &rows, &[], 8, &opts).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.lines().all(|l| l.chars().count() <= 20), "{text}");
        assert!(text.contains("| 0123456789abcdef |"), "{text}");
    }

    #[test]
    fn an_empty_list_is_an_empty_line_unless_asked_for_its_header() {
        let mut out = Vec::new();
        write_table(&mut out, &["ID"], &[], &[], 8, &TableOpts::default()).unwrap();
        assert_eq!(out, b"\n");
        let mut out = Vec::new();
        let opts = TableOpts {
            print_empty: true,
            ..TableOpts::default()
        };
        write_table(&mut out, &["ID"], &[], &[], 8, &opts).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "+----+\n| ID |\n+----+\n+----+\n"
        );
    }
}
