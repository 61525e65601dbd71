//! Stage 2, after typify: a struct's derived `Deserialize` swapped for a lenient one.
//!
//! The generated deserializer reads each field as a `Prim` (one pass, no buffering for the
//! flattened map) and converts it with `Lenient::from_prim`; a value of an unexpected type is
//! kept in the struct's new `extra` map under its own key. Only the required fields (not
//! `Option`, not a collection) decode strictly, so a missing or mistyped id is an error.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// Replaces `st`'s derived `Deserialize` with a lenient one, adds the `extra` map, and returns
/// the `Deserialize` and `Lenient` impls to emit next to it.
pub fn make_lenient(st: &mut syn::ItemStruct) -> Result<TokenStream, String> {
    drop_derive(st, "Deserialize")?;
    st.attrs.retain(|a| {
        !(a.path().is_ident("serde") && quote!(#a).to_string().contains("deny_unknown_fields"))
    });
    let syn::Fields::Named(fields) = &mut st.fields else {
        return Err(format!("{}: expected named fields", st.ident));
    };
    let mut arms = Vec::new();
    let mut inits = Vec::new();
    let mut required = Vec::new();
    let mut required_fields = Vec::new();
    let mut optional_fields = Vec::new();
    for field in &fields.named {
        let fid = field.ident.clone().ok_or("unnamed field")?;
        let key = serde_rename(&field.attrs).unwrap_or_else(|| fid.to_string());
        let ty = &field.ty;
        let seen = format_ident!("seen_{}", fid);
        if is_optional(ty) {
            optional_fields.push(fid.clone());
            arms.push(quote! {
                #key => {
                    let prim: crate::runtime::Prim = map.next_value()?;
                    match <#ty as crate::runtime::Lenient>::from_prim(prim) {
                        Ok(v) => out.#fid = v,
                        Err(raw) => { out.extra.insert(key.into_owned(), raw.into_value()); }
                    }
                }
            });
        } else {
            // A required field (the id) of the wrong type is an error at that field's path,
            // not a lenient fallback: nothing can be done with an image without its id.
            required.push((seen.clone(), key.clone()));
            required_fields.push((fid.clone(), ty.clone()));
            arms.push(quote! {
                #key => {
                    out.#fid = map.next_value::<#ty>()?;
                    #seen = true;
                }
            });
        }
        inits.push(quote!(#fid: ::std::default::Default::default()));
    }
    let seen_decls: Vec<TokenStream> = required
        .iter()
        .map(|(seen, _)| quote!(let mut #seen = false;))
        .collect();
    let checks = required.iter().map(|(seen, key)| {
        quote!(if !#seen { return Err(<A::Error as ::serde::de::Error>::missing_field(#key)); })
    });
    fields.named.push(syn::parse_quote! {
        /// Properties the schema does not name (custom properties, vendor extensions), and
        /// any named property whose value had an unexpected type, kept as the server sent it.
        #[serde(flatten)]
        pub extra: ::std::collections::BTreeMap<::std::string::String, ::serde_json::Value>
    });
    let name = &st.ident;
    let expecting = format!("a {name} object");
    let via_value = via_value_impl(name);
    let constructor = constructor(name, &optional_fields, &required_fields);
    Ok(quote! {
        impl<'de> ::serde::Deserialize<'de> for #name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                struct V;
                impl<'de> ::serde::de::Visitor<'de> for V {
                    type Value = #name;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str(#expecting)
                    }
                    fn visit_map<A: ::serde::de::MapAccess<'de>>(self, mut map: A) -> ::std::result::Result<#name, A::Error> {
                        let mut out = #name { #(#inits,)* extra: ::std::collections::BTreeMap::new() };
                        #(#seen_decls)*
                        while let Some(crate::runtime::Key(key)) = map.next_key()? {
                            match key.as_ref() {
                                #(#arms)*
                                _ => {
                                    let prim: crate::runtime::Prim = map.next_value()?;
                                    out.extra.insert(key.into_owned(), prim.into_value());
                                }
                            }
                        }
                        #(#checks)*
                        Ok(out)
                    }
                }
                d.deserialize_map(V)
            }
        }
        #via_value
        #constructor
    })
}

/// `new(..)` with the required fields, everything else empty: a response type is
/// `#[non_exhaustive]`, so this is how code outside the crate (a test double, say) makes one.
/// Only for types whose required fields are all strings (ids); none otherwise.
fn constructor(
    name: &syn::Ident,
    optional: &[syn::Ident],
    required: &[(syn::Ident, syn::Type)],
) -> TokenStream {
    if required.is_empty() || !required.iter().all(|(_, ty)| type_is(ty, "String")) {
        return TokenStream::new();
    }
    let args = required.iter().map(|(fid, _)| fid);
    let sets = required.iter().map(|(fid, _)| quote!(#fid: #fid.into()));
    let doc = format!(
        "A `{name}` with {} set and every other field empty.",
        required
            .iter()
            .map(|(fid, _)| format!("`{fid}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let example_args = required
        .iter()
        .map(|(fid, _)| format!("\"{fid}-1\""))
        .collect::<Vec<_>>()
        .join(", ");
    let (first, _) = &required[0];
    let example = format!(
        "```\nlet value = openstack_images::{name}::new({example_args});\nassert_eq!(value.{first}, \"{first}-1\");\nassert!(value.extra.is_empty());\n```"
    );
    quote! {
        impl #name {
            #[doc = #doc]
            #[doc = ""]
            #[doc = #example]
            pub fn new(#(#args: impl ::std::convert::Into<::std::string::String>),*) -> Self {
                #name {
                    #(#sets,)*
                    #(#optional: ::std::default::Default::default(),)*
                    extra: ::std::collections::BTreeMap::new(),
                }
            }
        }
    }
}

/// A `Lenient` impl that converts through the type's own `Deserialize` (for nested
/// structures, which decode strictly and fall back to the raw value in the parent's `extra`).
pub fn via_value_impl(name: &syn::Ident) -> TokenStream {
    quote! {
        impl crate::runtime::Lenient for #name {
            fn from_prim(p: crate::runtime::Prim) -> ::std::result::Result<Self, crate::runtime::Prim> {
                crate::runtime::via_value(p)
            }
        }
    }
}

/// Removes `derive_name` from the struct's derive lists.
fn drop_derive(st: &mut syn::ItemStruct, derive_name: &str) -> Result<(), String> {
    for attr in &mut st.attrs {
        if attr.path().is_ident("derive") {
            let paths: syn::punctuated::Punctuated<syn::Path, syn::Token![,]> = attr
                .parse_args_with(syn::punctuated::Punctuated::parse_terminated)
                .map_err(|e| e.to_string())?;
            let kept: Vec<_> = paths
                .into_iter()
                .filter(|p| p.segments.last().is_none_or(|s| s.ident != derive_name))
                .collect();
            *attr = syn::parse_quote!(#[derive(#(#kept),*)]);
        }
    }
    Ok(())
}

/// Whether a field may be absent: options and collections (which default to empty).
fn is_optional(ty: &syn::Type) -> bool {
    ["Option", "Vec", "BTreeMap", "Map"]
        .iter()
        .any(|name| type_is(ty, name))
}

/// The key of a field renamed with `#[serde(rename = "..")]`.
pub(crate) fn serde_rename(attrs: &[syn::Attribute]) -> Option<String> {
    for attr in attrs {
        if !attr.path().is_ident("serde") {
            continue;
        }
        let mut found = None;
        // An attribute we cannot read names no key: the field's own name is used.
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let s: syn::LitStr = meta.value()?.parse()?;
                found = Some(s.value());
            } else if meta.input.peek(syn::Token![=]) {
                let _: syn::Expr = meta.value()?.parse()?;
            }
            Ok(())
        });
        if found.is_some() {
            return found;
        }
    }
    None
}

/// Whether the type's last path segment is `name` (`::std::option::Option<T>` is `Option`).
fn type_is(ty: &syn::Type, name: &str) -> bool {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == name),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thing() -> syn::ItemStruct {
        syn::parse_quote! {
            #[derive(Clone, Debug, ::serde::Deserialize, ::serde::Serialize, PartialEq)]
            #[serde(deny_unknown_fields)]
            pub struct Thing {
                pub id: ::std::string::String,
                #[serde(rename = "os_hash_algo", default, skip_serializing_if = "Option::is_none")]
                pub hash_algo: ::std::option::Option<::std::string::String>,
                #[serde(default)]
                pub tags: ::std::vec::Vec<::std::string::String>,
            }
        }
    }

    #[test]
    fn the_derive_goes_and_extra_comes() {
        let mut st = thing();
        make_lenient(&mut st).unwrap();
        let text = quote!(#st).to_string();
        assert!(!text.contains("Deserialize"), "{text}");
        assert!(text.contains("Serialize"), "{text}");
        assert!(!text.contains("deny_unknown_fields"), "{text}");
        let last = st.fields.iter().last().unwrap();
        assert_eq!(last.ident.as_ref().unwrap(), "extra");
        assert!(quote!(#last).to_string().contains("flatten"));
    }

    #[test]
    fn only_plain_fields_are_required_and_renames_are_the_keys() {
        let mut st = thing();
        let impls = make_lenient(&mut st).unwrap().to_string();
        assert!(impls.contains("missing_field (\"id\")"), "{impls}");
        assert!(!impls.contains("missing_field (\"os_hash_algo\")"));
        assert!(!impls.contains("missing_field (\"tags\")"));
        // The server's key is matched, not the Rust field name.
        assert!(impls.contains("\"os_hash_algo\" =>"), "{impls}");
        assert!(!impls.contains("\"hash_algo\" =>"));
        // Optional fields go through the lenient conversion, the id straight to its type.
        assert!(impls.contains("out . id = map . next_value :: < :: std :: string :: String > ()"));
        assert!(impls.contains("impl crate :: runtime :: Lenient for Thing"));
        syn::parse2::<syn::File>(make_lenient(&mut thing()).unwrap()).unwrap();
    }

    #[test]
    fn a_constructor_takes_the_required_strings_and_empties_the_rest() {
        let impls = make_lenient(&mut thing()).unwrap();
        let file: syn::File = syn::parse2(impls).unwrap();
        let text = prettyplease::unparse(&file);
        assert!(
            text.contains(
                "pub fn new(id: impl ::std::convert::Into<::std::string::String>) -> Self"
            ),
            "{text}"
        );
        assert!(text.contains("id: id.into(),"), "{text}");
        assert!(
            text.contains("hash_algo: ::std::default::Default::default(),"),
            "{text}"
        );
        assert!(
            text.contains("tags: ::std::default::Default::default(),"),
            "{text}"
        );
        assert!(
            text.contains("openstack_images::Thing::new(\"id-1\")"),
            "{text}"
        );
    }

    #[test]
    fn no_constructor_when_a_required_field_is_not_a_string() {
        let mut st: syn::ItemStruct = syn::parse_quote! {
            pub struct Counted { pub count: i64, pub note: Option<String> }
        };
        let text = make_lenient(&mut st).unwrap().to_string();
        assert!(!text.contains("fn new"), "{text}");
    }

    #[test]
    fn tuple_structs_are_refused() {
        let mut st: syn::ItemStruct = syn::parse_quote!(
            pub struct Pair(u8, u8);
        );
        assert!(make_lenient(&mut st).unwrap_err().contains("named fields"));
    }

    #[test]
    fn serde_rename_reads_the_key_among_other_options() {
        let field: syn::Field = syn::parse_quote! {
            #[serde(default, rename = "os-type", skip_serializing_if = "Option::is_none")]
            pub os_type: Option<String>
        };
        assert_eq!(serde_rename(&field.attrs).as_deref(), Some("os-type"));
        let plain: syn::Field = syn::parse_quote!(#[serde(default)] pub name: Option<String>);
        assert_eq!(serde_rename(&plain.attrs), None);
    }

    #[test]
    fn optional_types_are_options_and_collections() {
        let yes: [syn::Type; 3] = [
            syn::parse_quote!(::std::option::Option<i64>),
            syn::parse_quote!(Vec<String>),
            syn::parse_quote!(::std::collections::BTreeMap<String, Value>),
        ];
        assert!(yes.iter().all(is_optional));
        let no: syn::Type = syn::parse_quote!(::std::string::String);
        assert!(!is_optional(&no));
    }
}
