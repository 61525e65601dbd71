//! Rust names and doc text from the names and descriptions a server writes.
//!
//! Any JSON name must give a usable, unique identifier, so names are made in three steps:
//! 1. spelling: [`snake`] for fields and methods (`os-hash.algo` -> `os_hash_algo`,
//!    `minDisk` -> `min_disk`), [`pascal`] for types and variants; ASCII only;
//! 2. keywords of every edition ([`KEYWORDS`]: `type`, `async`, `try`, 2024's `gen`, ...)
//!    get a trailing `_` (`type` -> `type_`, `self` -> `self_`), as typify and the existing
//!    API (`Task::type_`) do: one rule for all of them, since `self`, `Self`, `super` and
//!    `crate` cannot be raw identifiers; the type name `Self` is reserved instead;
//! 3. collisions ([`Names`]): two JSON names that fold to one identifier (`os-distro` and
//!    `os_distro`, enum values `e1000` and `E1000`), or a name taken by a hand-written
//!    member ([`RESERVED_FIELDS`], [`reserved_type_names`]). A reserved name always keeps its
//!    meaning; among the JSON names, the one spelled exactly like the identifier wins, then
//!    the first in byte order; every later one gets a suffix derived from its own JSON
//!    spelling alone (`os_distro_1b2c3d4e`, `E1000X5f6a7b8c`: FNV-1a of the spelling), so
//!    adding a property never renames another one. The JSON spelling stays the serde
//!    `rename`, so reading and writing stay lossless.

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::{Ident, Span};
use quote::format_ident;

pub use crate::reserved::{
    HAND_WRITTEN_METHODS, RESERVED_FIELDS, reserved_fields, reserved_method_bases,
    reserved_type_names,
};

/// Keywords of every Rust edition: strict, reserved, 2018's `async`/`await`/`dyn`/`try` and
/// 2024's `gen` (plus `_`). None of them is used as a generated identifier.
pub const KEYWORDS: &[&str] = &[
    "_", "abstract", "as", "async", "await", "become", "box", "break", "const", "continue",
    "crate", "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if",
    "impl", "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub",
    "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Identifiers already in use in one namespace (the fields of a struct, the types of a
/// module), and the rule that hands out new ones: the wanted name if free, else the wanted
/// name with a suffix derived from the JSON spelling it was made from.
///
/// ```
/// use openstack_images_codegen::naming::Names;
/// let mut names = Names::reserving(["extra"]);
/// assert_eq!(names.claim_snake("os_distro", "os_distro"), "os_distro");
/// let second = names.claim_snake("os_distro", "os-distro");
/// assert!(second.starts_with("os_distro_") && second != "os_distro");
/// assert_ne!(names.claim_snake("extra", "extra"), "extra");
/// ```
#[derive(Debug, Clone, Default)]
pub struct Names {
    taken: BTreeSet<String>,
}

impl Names {
    /// A namespace where `reserved` are already taken.
    pub fn reserving<S: AsRef<str>>(reserved: impl IntoIterator<Item = S>) -> Self {
        Names {
            taken: reserved
                .into_iter()
                .map(|s| s.as_ref().to_owned())
                .collect(),
        }
    }

    /// Whether `name` is in use.
    pub fn is_taken(&self, name: &str) -> bool {
        self.taken.contains(name)
    }

    /// Takes `name` as it is (a fixed name: `Image`, `ImageStatus`); false if it was taken.
    pub fn take(&mut self, name: &str) -> bool {
        self.taken.insert(name.to_owned())
    }

    /// A field or method name: `wanted`, or `wanted` + `_` + a hash of `source`.
    pub fn claim_snake(&mut self, wanted: &str, source: &str) -> String {
        let base = wanted.trim_end_matches('_').to_owned();
        self.claim(wanted, source, |hash| format!("{base}_{hash}"))
    }

    /// A type or variant name: `wanted`, or `wanted` + `X` + a hash of `source`.
    pub fn claim_pascal(&mut self, wanted: &str, source: &str) -> String {
        self.claim(wanted, source, |hash| format!("{wanted}X{hash}"))
    }

    fn claim(&mut self, wanted: &str, source: &str, suffixed: impl Fn(&str) -> String) -> String {
        let mut candidate = wanted.to_owned();
        let mut salt = 0u32;
        while self.taken.contains(&candidate) {
            let salted = if salt == 0 {
                source.to_owned()
            } else {
                format!("{source}#{salt}")
            };
            candidate = suffixed(&format!("{:08x}", fnv1a(&salted)));
            salt += 1;
        }
        self.taken.insert(candidate.clone());
        candidate
    }
}

/// FNV-1a (32 bits): a stable hash that does not depend on the Rust version.
fn fnv1a(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// The field names of some JSON names, unique and clear of `reserved`: the names spelled
/// exactly like their identifier (keywords before their `_`) first, then the others, each
/// group in byte order (see the module docs).
///
/// ```
/// use openstack_images_codegen::naming::field_names;
/// let names = field_names(["os-distro", "os_distro", "type", "extra"], &["extra"]);
/// assert_eq!(names["os_distro"], "os_distro");
/// assert!(names["os-distro"].starts_with("os_distro_"));
/// assert_eq!(names["type"], "type_");
/// assert!(names["extra"].starts_with("extra_"));
/// ```
pub fn field_names<'a, S: AsRef<str>>(
    keys: impl IntoIterator<Item = &'a str>,
    reserved: &[S],
) -> BTreeMap<String, String> {
    let mut names = Names::reserving(reserved.iter().map(AsRef::as_ref));
    in_claim_order(keys, snake)
        .into_iter()
        .map(|key| {
            let name = names.claim_snake(&field_name(key), key);
            (key.to_owned(), name)
        })
        .collect()
}

/// `keys` without repeats, in the order names are claimed: those spelled exactly like
/// `spell` spells them first, then the rest, each group in byte order.
pub fn in_claim_order<'a>(
    keys: impl IntoIterator<Item = &'a str>,
    spell: impl Fn(&str) -> String,
) -> Vec<&'a str> {
    let unique: BTreeSet<&str> = keys.into_iter().collect();
    let (mut exact, rest): (Vec<&str>, Vec<&str>) =
        unique.into_iter().partition(|k| spell(k) == *k);
    exact.extend(rest);
    exact
}

/// Server-written text made fit for rustdoc: bare URLs become autolinks, and a line that
/// would open a code block (a fence, or an indented block) does not, since rustdoc would run
/// it as a doctest.
pub fn doc_text(text: &str) -> String {
    text.lines()
        .map(|line| {
            let line = autolink(line.trim_start());
            if line.starts_with("```") || line.starts_with("~~~") {
                format!("\\{line}")
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn autolink(line: &str) -> String {
    line.split(' ')
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

/// `text` as a Rust string literal, for code written into doc examples as text (a value
/// with `"` or `\` must not end the literal early).
pub fn str_literal(text: &str) -> String {
    format!("{text:?}")
}

/// A type or variant name: `hw_disk_bus` -> `HwDiskBus`, `SAVING` -> `Saving`, `2x` -> `V2x`.
/// Not unique (`e1000` and `E1000` are both `E1000`): see [`Names`].
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

/// A field or method name: `os-hash.algo` -> `os_hash_algo`, `minDisk` -> `min_disk`,
/// `9p` -> `p_9p`. Words are split where typify splits them (separators, a lower-case letter
/// or digit before a capital, the last capital of an acronym), so the names agree with the
/// structs typify writes; anything but ASCII letters and digits separates words.
pub fn snake(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            continue;
        }
        if c.is_ascii_uppercase() && i > 0 && !out.is_empty() && !out.ends_with('_') {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(char::is_ascii_lowercase);
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower)
            {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    let out = out.trim_end_matches('_').to_owned();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        format!("p_{out}")
    } else {
        out
    }
}

/// Whether `name` is a keyword of some edition.
pub fn is_keyword(name: &str) -> bool {
    KEYWORDS.contains(&name)
}

/// [`snake`], with a keyword of any edition followed by `_` (`type` -> `type_`, `gen` ->
/// `gen_`): the identifier a property wants before collisions are settled.
pub fn field_name(name: &str) -> String {
    let snake = snake(name);
    if is_keyword(&snake) {
        format!("{snake}_")
    } else {
        snake
    }
}

/// [`field_name`] as an identifier.
pub fn ident(name: &str) -> Ident {
    Ident::new(&field_name(name), Span::call_site())
}

/// A method name made of a prefix or suffix and a field name, without the keyword `_`
/// (`add_` + `type_` -> `add_type`).
pub fn method_ident(prefix: &str, field: &str, suffix: &str) -> Ident {
    format_ident!("{prefix}{}{suffix}", field.trim_end_matches('_'))
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
    fn snake_lowers_splits_words_and_collapses_separators() {
        assert_eq!(snake("os_hash_algo"), "os_hash_algo");
        assert_eq!(snake("os-hash..algo"), "os_hash_algo");
        assert_eq!(snake("MinRam"), "min_ram");
        assert_eq!(snake("minDisk"), "min_disk");
        assert_eq!(snake("OS-EXT-IMG-SIZE:size"), "os_ext_img_size_size");
        assert_eq!(snake("OS-DCF:diskConfig"), "os_dcf_disk_config");
        assert_eq!(snake("HTTPServer"), "http_server");
        assert_eq!(snake("x86_64"), "x86_64");
        assert_eq!(snake("__os_type"), "os_type");
        assert_eq!(snake("9p"), "p_9p");
        assert_eq!(snake("..."), "p_");
        assert_eq!(snake("größe"), "gr_e");
    }

    #[test]
    fn keywords_of_every_edition_get_a_trailing_underscore() {
        for (name, expected) in [
            ("type", "type_"),
            ("self", "self_"),
            ("Self", "self_"),
            ("crate", "crate_"),
            ("super", "super_"),
            ("gen", "gen_"),
            ("async", "async_"),
            ("try", "try_"),
            ("dyn", "dyn_"),
            ("name", "name"),
        ] {
            assert_eq!(ident(name).to_string(), expected, "{name}");
        }
        // Every one of them is a keyword syn or edition 2024 refuses as a plain identifier.
        for kw in KEYWORDS {
            let spelled = field_name(kw);
            assert!(syn::parse_str::<syn::Ident>(&spelled).is_ok(), "{kw}");
            assert!(!is_keyword(&spelled), "{kw}");
        }
    }

    #[test]
    fn method_names_drop_the_keyword_underscore() {
        assert_eq!(method_ident("add_", "type_", "").to_string(), "add_type");
        assert_eq!(
            method_ident("", "os_distro", "_eq").to_string(),
            "os_distro_eq"
        );
    }

    #[test]
    fn names_that_fold_together_get_a_suffix_from_their_own_spelling() {
        let names = field_names(["os_distro", "os-distro", "OS_DISTRO"], &[] as &[&str]);
        // The exact spelling keeps the plain name, whatever the order it came in.
        assert_eq!(names["os_distro"], "os_distro");
        assert_eq!(
            names["os-distro"],
            format!("os_distro_{:08x}", fnv1a("os-distro"))
        );
        assert_eq!(
            names["OS_DISTRO"],
            format!("os_distro_{:08x}", fnv1a("OS_DISTRO"))
        );
        // Without an exact spelling, the first in byte order keeps it.
        let names = field_names(["os.distro", "os-distro"], &[] as &[&str]);
        assert_eq!(names["os-distro"], "os_distro");
        assert_ne!(names["os.distro"], "os_distro");
        // The suffix does not depend on the other names.
        let alone = field_names(["os.distro", "os-distro", "os distro"], &[] as &[&str]);
        assert_eq!(alone["os.distro"], names["os.distro"]);
    }

    #[test]
    fn reserved_names_are_never_handed_out() {
        let names = field_names(["extra", "new", "validate", "properties"], RESERVED_FIELDS);
        for (key, name) in &names {
            assert!(!RESERVED_FIELDS.contains(&name.as_str()), "{key} -> {name}");
            assert!(name.starts_with(key.as_str()), "{key} -> {name}");
        }
        let mut types = Names::reserving(reserved_type_names());
        assert_ne!(types.claim_pascal("Image", "image"), "Image");
        assert_ne!(types.claim_pascal("Self", "self"), "Self");
        assert_eq!(types.claim_pascal("Thing", "thing"), "Thing");
        assert_ne!(types.claim_pascal("Thing", "thing"), "Thing");
    }

    #[test]
    fn method_bases_come_from_patch_and_filter_methods() {
        // None today: the list is there for the day a hand-written `add_x` or `x_eq` comes.
        assert!(reserved_method_bases().is_empty());
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

    #[test]
    fn doc_text_opens_no_code_block() {
        assert_eq!(doc_text("```\nrm -rf /\n```"), "\\```\nrm -rf /\n\\```");
        assert_eq!(doc_text("a\n\n    indented code"), "a\n\nindented code");
        assert_eq!(doc_text("~~~rust"), "\\~~~rust");
    }

    #[test]
    fn str_literal_escapes_quotes_and_backslashes() {
        let lit = str_literal("a\"b\\c");
        let parsed: syn::LitStr = syn::parse_str(&lit).unwrap();
        assert_eq!(parsed.value(), "a\"b\\c");
    }
}
