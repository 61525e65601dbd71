//! Open enums: the values a schema lists as variants, anything else kept in `Unknown`.
//!
//! A cloud that adds a value (a new `disk_format`, say) must not break decoding, so every
//! enum of a response type is open; `as_str`, `VALUES`, `Display`, `FromStr` and serde give
//! the API's spelling back.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use crate::naming::{Names, in_claim_order, pascal, str_literal};

/// The variant names of some values, in their order: [`pascal`] spellings made unique by
/// [`Names`] (`e1000` and `E1000` fold together: `E1000` keeps it, as spelled so), never
/// `Self` nor `Unknown` (the catch-all: a value spelled `unknown` is `ListedUnknown`).
pub fn variant_names(values: &[String]) -> Vec<String> {
    let wanted = |v: &str| match pascal(v).as_str() {
        "Unknown" => "ListedUnknown".to_owned(),
        p => p.to_owned(),
    };
    let mut names = Names::reserving(["Self", "Unknown"]);
    let claimed: std::collections::BTreeMap<&str, String> =
        in_claim_order(values.iter().map(String::as_str), pascal)
            .into_iter()
            .map(|v| (v, names.claim_pascal(&wanted(v), v)))
            .collect();
    values.iter().map(|v| claimed[v.as_str()].clone()).collect()
}

/// An open enum: known values as variants, anything else kept in `Unknown`. `values` must
/// not repeat (the schema rewrite lists each once).
pub fn open_enum(name: &str, values: &[String], doc: &str) -> TokenStream {
    let ty = format_ident!("{}", name);
    let variants: Vec<Ident> = variant_names(values)
        .iter()
        .map(|v| format_ident!("{}", v))
        .collect();
    let docs = values.iter().map(|v| format!("`{}`", v.replace('`', "'")));
    let all_doc = format!("Every value this schema lists for {name}.");
    let doc = format!(
        "{doc}\n\nOpen: a value the schema does not list is kept in `Unknown`, so a cloud that adds one does not break decoding; a value it lists is always its own variant, never `Unknown`."
    );
    // Text inside a doctest: the value as a Rust literal, whatever quotes it holds.
    let first = str_literal(values.first().map(String::as_str).unwrap_or_default());
    let example = format!(
        "```\nuse openstack_images::{name};\nlet v: {name} = {first}.parse().unwrap();\nassert_eq!(v.as_str(), {first});\nassert_eq!({name}::from(\"something-new\").as_str(), \"something-new\");\n```"
    );
    quote! {
        #[doc = #doc]
        #[doc = ""]
        #[doc = #example]
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum #ty {
            #( #[doc = #docs] #variants, )*
            /// A value this version of the schema does not list (never one it lists).
            Unknown(crate::runtime::UnknownValue),
        }
        impl #ty {
            #[doc = #all_doc]
            pub const VALUES: &'static [&'static str] = &[#(#values),*];
            /// The value as the API spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    #( #ty::#variants => #values, )*
                    #ty::Unknown(value) => value.as_str(),
                }
            }
            /// True when the value is one the schema lists.
            pub fn is_known(&self) -> bool {
                !matches!(self, #ty::Unknown(_))
            }
        }
        impl ::std::convert::From<&str> for #ty {
            fn from(s: &str) -> Self {
                match s {
                    #( #values => #ty::#variants, )*
                    other => #ty::Unknown(crate::runtime::UnknownValue::new(other.to_owned())),
                }
            }
        }
        impl ::std::convert::From<::std::string::String> for #ty {
            fn from(s: ::std::string::String) -> Self {
                match #ty::from(s.as_str()) {
                    #ty::Unknown(_) => #ty::Unknown(crate::runtime::UnknownValue::new(s)),
                    known => known,
                }
            }
        }
        impl ::std::str::FromStr for #ty {
            type Err = ::std::convert::Infallible;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                Ok(#ty::from(s))
            }
        }
        impl ::std::fmt::Display for #ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl ::serde::Serialize for #ty {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> ::serde::Deserialize<'de> for #ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                Ok(#ty::from(s.as_ref()))
            }
        }
        impl crate::runtime::Lenient for #ty {
            fn from_prim(p: crate::runtime::Prim) -> ::std::result::Result<Self, crate::runtime::Prim> {
                match p {
                    crate::runtime::Prim::Str(s) => Ok(#ty::from(s)),
                    other => Err(other),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(list: &[&str]) -> Vec<String> {
        list.iter().map(|v| (*v).to_owned()).collect()
    }

    fn generated(name: &str, list: &[&str]) -> String {
        let file: syn::File = syn::parse2(open_enum(name, &values(list), "A state.")).unwrap();
        prettyplease::unparse(&file)
    }

    #[test]
    fn values_become_variants_and_come_back_as_spelled() {
        let text = generated("ThingState", &["queued", "SAVING", "pending_delete"]);
        assert!(text.contains("pub enum ThingState {"), "{text}");
        for (value, variant) in [
            ("queued", "Queued"),
            ("SAVING", "Saving"),
            ("pending_delete", "PendingDelete"),
        ] {
            assert!(
                text.contains(&format!("ThingState::{variant} => \"{value}\"")),
                "{text}"
            );
            assert!(
                text.contains(&format!("\"{value}\" => ThingState::{variant}")),
                "{text}"
            );
        }
        assert!(
            text.contains("&[\"queued\", \"SAVING\", \"pending_delete\"]"),
            "{text}"
        );
        assert!(text.contains("#[non_exhaustive]"), "{text}");
        for needed in [
            "impl ::std::str::FromStr for ThingState",
            "impl ::std::fmt::Display for ThingState",
            "impl ::serde::Serialize for ThingState",
            "impl<'de> ::serde::Deserialize<'de> for ThingState",
        ] {
            assert!(text.contains(needed), "{needed} missing:\n{text}");
        }
    }

    #[test]
    fn a_value_spelled_unknown_does_not_take_the_catch_all() {
        let text = generated("Odd", &["unknown", "known"]);
        assert!(text.contains("Odd::ListedUnknown => \"unknown\""), "{text}");
        assert!(text.contains("\"unknown\" => Odd::ListedUnknown"), "{text}");
    }

    #[test]
    fn unknown_holds_the_sealed_value_and_only_unlisted_text_reaches_it() {
        // Whitespace-free, so line breaks of the formatter do not matter.
        let text: String = generated("ThingState", &["on", "off"])
            .split_whitespace()
            .collect();
        assert!(
            text.contains("Unknown(crate::runtime::UnknownValue),"),
            "{text}"
        );
        // Both conversions match every listed value before the catch-all.
        let listed = text.find("\"off\"=>ThingState::Off").unwrap();
        let catch_all = text
            .find(
                "other=>{ThingState::Unknown(crate::runtime::UnknownValue::new(other.to_owned()))}",
            )
            .unwrap_or_else(|| panic!("no catch-all in {text}"));
        assert!(listed < catch_all, "{text}");
        let unknown_string =
            "ThingState::Unknown(_)=>{ThingState::Unknown(crate::runtime::UnknownValue::new(s))}";
        assert!(text.contains(unknown_string), "{text}");
        assert!(
            !text.contains("Unknown(::std::string::String)"),
            "no public String payload:\n{text}"
        );
    }

    #[test]
    fn values_that_fold_together_get_distinct_variants() {
        let values = values(&["e1000", "E1000", "self", "Unknown", "unknown"]);
        let names = variant_names(&values);
        assert_eq!(names[1], "E1000", "the exact spelling keeps the plain name");
        assert!(names[0].starts_with("E1000X"), "{names:?}");
        assert!(names[2].starts_with("SelfX"), "{names:?}");
        assert_eq!(names[3], "ListedUnknown");
        assert!(names[4].starts_with("ListedUnknownX"), "{names:?}");
        let unique: std::collections::BTreeSet<_> = names.iter().collect();
        assert_eq!(unique.len(), names.len());
        syn::parse2::<syn::File>(open_enum("Nic", &values, "d")).unwrap();
    }

    #[test]
    fn the_doc_example_is_rust_whatever_quotes_the_value_holds() {
        let text = generated("Q", &["a\"b\\c"]);
        assert!(
            text.contains(r#"let v: Q = "a\"b\\c".parse().unwrap();"#),
            "{text}"
        );
    }

    #[test]
    fn the_doc_example_uses_the_first_value() {
        let text = generated("Fmt", &["qcow2", "raw"]);
        assert!(
            text.contains("let v: Fmt = \"qcow2\".parse().unwrap();"),
            "{text}"
        );
    }
}
