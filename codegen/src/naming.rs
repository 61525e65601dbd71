//! Rust names and doc text from the names and descriptions a server writes.

use proc_macro2::{Ident, Span};
use quote::format_ident;

/// Server-written text made fit for rustdoc: bare URLs become autolinks.
pub fn doc_text(text: &str) -> String {
    text.split(' ')
        .map(|word| {
            let start = word.find("http://").or_else(|| word.find("https://"));
            match start {
                Some(i) => {
                    let (head, url) = word.split_at(i);
                    let end = url.trim_end_matches(['.', ',', ';', ')']).len();
                    format!("{head}<{}>{}", &url[..end], &url[end..])
                }
                None => word.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A type or variant name: `hw_disk_bus` -> `HwDiskBus`, `SAVING` -> `Saving`, `2x` -> `V2x`.
pub fn pascal(name: &str) -> String {
    let all_upper = !name.chars().any(|c| c.is_ascii_lowercase());
    let mut out = String::new();
    let mut upper_next = true;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            if upper_next {
                out.push(c.to_ascii_uppercase());
            } else if all_upper {
                // `SAVING` -> `Saving`, but keep `FusionCompute` as written.
                out.push(c.to_ascii_lowercase());
            } else {
                out.push(c);
            }
            upper_next = false;
        } else {
            upper_next = true;
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'V');
    }
    out
}

/// A field or method name: `os-hash.algo` -> `os_hash_algo`, `9p` -> `p_9p`.
pub fn snake(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_').to_owned();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        format!("p_{out}")
    } else {
        out
    }
}

/// [`snake`] as an identifier; a keyword gets a trailing `_` (`type` -> `type_`).
pub fn ident(name: &str) -> Ident {
    let snake = snake(name);
    match syn::parse_str::<Ident>(&snake) {
        Ok(_) if !matches!(snake.as_str(), "self" | "super" | "crate" | "Self") => {
            Ident::new(&snake, Span::call_site())
        }
        _ => format_ident!("{}_", snake),
    }
}

/// A method name made of a prefix or suffix and a property name, without the keyword `_`
/// (`add_` + `type` -> `add_type`).
pub fn method_ident(prefix: &str, name: &str, suffix: &str) -> Ident {
    let base = ident(name).to_string();
    format_ident!("{prefix}{}{suffix}", base.trim_end_matches('_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pascal_joins_words_and_keeps_inner_capitals() {
        assert_eq!(pascal("hw_disk_bus"), "HwDiskBus");
        assert_eq!(pascal("os-hash.algo"), "OsHashAlgo");
        assert_eq!(pascal("FusionCompute"), "FusionCompute");
        assert_eq!(pascal("SAVING"), "Saving");
        assert_eq!(pascal("ACTIVE_X"), "ActiveX");
        assert_eq!(pascal("ami"), "Ami");
    }

    #[test]
    fn pascal_never_starts_with_a_digit_or_is_empty() {
        assert_eq!(pascal("2x"), "V2x");
        assert_eq!(pascal(""), "V");
        assert_eq!(pascal("--"), "V");
    }

    #[test]
    fn snake_lowers_and_collapses_separators() {
        assert_eq!(snake("os_hash_algo"), "os_hash_algo");
        assert_eq!(snake("os-hash..algo"), "os_hash_algo");
        assert_eq!(snake("MinRam"), "minram");
        assert_eq!(snake("__os_type"), "os_type");
        assert_eq!(snake("9p"), "p_9p");
        assert_eq!(snake("..."), "p_");
    }

    #[test]
    fn keywords_get_a_trailing_underscore() {
        assert_eq!(ident("type").to_string(), "type_");
        assert_eq!(ident("self").to_string(), "self_");
        assert_eq!(ident("Self").to_string(), "self_");
        assert_eq!(ident("crate").to_string(), "crate_");
        assert_eq!(ident("name").to_string(), "name");
    }

    #[test]
    fn method_names_drop_the_keyword_underscore() {
        assert_eq!(method_ident("add_", "type", "").to_string(), "add_type");
        assert_eq!(
            method_ident("", "os_distro", "_eq").to_string(),
            "os_distro_eq"
        );
    }

    #[test]
    fn doc_text_autolinks_urls_and_leaves_punctuation_outside() {
        assert_eq!(
            doc_text("See https://docs.openstack.org/x."),
            "See <https://docs.openstack.org/x>."
        );
        assert_eq!(
            doc_text("(http://a.example/b), then"),
            "(<http://a.example/b>), then"
        );
        assert_eq!(doc_text("no links here"), "no links here");
    }
}
