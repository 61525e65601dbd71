//! Stage 2: typify turns the rewritten definitions into structs, which are then made lenient.

use proc_macro2::TokenStream;
use quote::quote;
use serde_json::{Map, Value};

use crate::lenient::{make_lenient, serde_rename, via_value_impl};
use crate::naming::{field_names, reserved_fields};

/// Runs typify 0.8 over named definitions. The `open_enums` are left to
/// [`crate::open_enum`](mod@crate::open_enum); every struct is made `#[non_exhaustive]`;
/// those named in `lenient` get an `extra` map and a lenient `Deserialize`, the others a
/// `Lenient` impl through their derive.
pub fn read_types(
    defs: Map<String, Value>,
    open_enums: &[String],
    lenient: &[&str],
) -> Result<TokenStream, String> {
    read_types_with(defs, open_enums, &[], lenient)
}

/// [`read_types`], with some definitions replaced by existing types (`(definition, type
/// path)`). `JsonNumber` (what [`crate::read_schema`] makes of `number`) is always
/// `::serde_json::Number`, which keeps `1` and `1.0` apart.
pub fn read_types_with(
    defs: Map<String, Value>,
    open_enums: &[String],
    replacements: &[(&str, &str)],
    lenient: &[&str],
) -> Result<TokenStream, String> {
    let mut settings = typify::TypeSpaceSettings::default();
    settings.with_map_type("::std::collections::BTreeMap".to_string());
    settings.with_derive("PartialEq".to_string());
    for name in open_enums {
        settings.with_replacement(name, name, std::iter::empty());
    }
    for (name, path) in replacements
        .iter()
        .chain(&[("JsonNumber", "::serde_json::Number")])
    {
        settings.with_replacement(*name, *path, std::iter::empty());
    }
    let parsed: Vec<(String, schemars::schema::Schema)> = defs
        .into_iter()
        .map(|(name, schema)| {
            serde_json::from_value(schema)
                .map(|s| (name.clone(), s))
                .map_err(|e| format!("definition {name}: {e}"))
        })
        .collect::<Result<_, _>>()?;
    let stream = run_typify(&settings, parsed)?;
    let mut file: syn::File = syn::parse2(stream).map_err(|e| format!("typify output: {e}"))?;
    drop_unused_error_module(&mut file);
    let mut impls = TokenStream::new();
    for item in &mut file.items {
        let syn::Item::Struct(st) = item else {
            continue;
        };
        // A property the next schema adds is a new field: not a breaking change.
        st.attrs.push(syn::parse_quote!(#[non_exhaustive]));
        let is_lenient = lenient.contains(&st.ident.to_string().as_str());
        name_fields(st, &reserved_fields(&st.ident.to_string(), is_lenient))?;
        if is_lenient {
            impls.extend(make_lenient(st)?);
        } else {
            // Nested structures decode strictly through their derive, and fall back to the
            // raw value (kept in the parent's `extra`) when that fails.
            impls.extend(via_value_impl(&st.ident));
        }
    }
    let mut tokens = quote!(#file);
    tokens.extend(impls);
    Ok(tokens)
}

/// typify over the definitions; a panic inside it (it has `unwrap`s on odd schemas) is an
/// error, and its message is kept off stderr.
fn run_typify(
    settings: &typify::TypeSpaceSettings,
    parsed: Vec<(String, schemars::schema::Schema)>,
) -> Result<TokenStream, String> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut space = typify::TypeSpace::new(settings);
        space
            .add_ref_types(parsed)
            .map(|()| space.to_stream())
            .map_err(|e| format!("typify: {e}"))
    }));
    std::panic::set_hook(hook);
    result.unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("no message");
        Err(format!("typify panicked: {why}"))
    })
}

/// Names the struct's fields by [`crate::naming`]'s rules (unique, no keyword, clear of
/// `reserved`), whatever typify called them, with the JSON key as the serde `rename`
/// wherever the two differ.
fn name_fields(st: &mut syn::ItemStruct, reserved: &[String]) -> Result<(), String> {
    let syn::Fields::Named(fields) = &mut st.fields else {
        return Ok(());
    };
    let keys: Vec<String> = fields
        .named
        .iter()
        .map(|f| {
            let ident = f
                .ident
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            serde_rename(&f.attrs).unwrap_or(ident)
        })
        .collect();
    let names = field_names(keys.iter().map(String::as_str), reserved);
    for (field, key) in fields.named.iter_mut().zip(&keys) {
        let name = &names[key];
        field.ident = Some(syn::Ident::new(name, proc_macro2::Span::call_site()));
        set_rename(&mut field.attrs, (key != name).then_some(key.as_str()))?;
    }
    Ok(())
}

/// Drops every serde `rename` of a field and, if `key` is given, puts `rename = key` first
/// in its first serde attribute (where typify writes it).
fn set_rename(attrs: &mut Vec<syn::Attribute>, key: Option<&str>) -> Result<(), String> {
    type Metas = syn::punctuated::Punctuated<syn::Meta, syn::Token![,]>;
    let mut first = true;
    let mut out = Vec::new();
    for attr in attrs.drain(..) {
        if !attr.path().is_ident("serde") {
            out.push(attr);
            continue;
        }
        let metas: Metas = attr
            .parse_args_with(Metas::parse_terminated)
            .map_err(|e| format!("serde attribute: {e}"))?;
        let mut kept: Vec<syn::Meta> = metas
            .into_iter()
            .filter(|m| !m.path().is_ident("rename"))
            .collect();
        if first {
            if let Some(key) = key {
                kept.insert(0, syn::parse_quote!(rename = #key));
            }
            first = false;
        }
        if !kept.is_empty() {
            out.push(syn::parse_quote!(#[serde(#(#kept),*)]));
        }
    }
    if let (true, Some(key)) = (first, key) {
        out.push(syn::parse_quote!(#[serde(rename = #key)]));
    }
    *attrs = out;
    Ok(())
}

/// typify's conversion-error module is only used by `TryFrom` impls we do not generate.
fn drop_unused_error_module(file: &mut syn::File) {
    let is_error_module =
        |item: &syn::Item| matches!(item, syn::Item::Mod(m) if m.ident == "error");
    let uses_error = file.items.iter().any(|item| {
        !is_error_module(item) && quote!(#item).to_string().contains("ConversionError")
    });
    if !uses_error {
        file.items.retain(|item| !is_error_module(item));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn defs() -> Map<String, Value> {
        let mut defs = Map::new();
        defs.insert(
            "Thing".into(),
            json!({"type": "object", "title": "Thing", "description": "A thing.",
                "properties": {
                    "id": {"type": "string", "description": "Its id."},
                    "state": {"$ref": "#/definitions/ThingState", "description": "Its state."},
                    "part": {"$ref": "#/definitions/Part", "description": "A part."}
                },
                "required": ["id"]}),
        );
        defs.insert(
            "Part".into(),
            json!({"type": "object", "description": "A part.",
                "properties": {"size": {"type": "integer", "description": "Bytes."}}}),
        );
        defs.insert(
            "ThingState".into(),
            json!({"type": "string", "enum": ["on", "off"], "description": "A state."}),
        );
        defs
    }

    #[test]
    fn open_enums_are_left_out_and_named_structs_made_lenient() {
        let tokens = read_types(defs(), &["ThingState".into()], &["Thing"]).unwrap();
        let file: syn::File = syn::parse2(tokens).unwrap();
        let text = prettyplease::unparse(&file);
        // typify does not define the replaced enum, but uses it by name.
        assert!(!text.contains("pub enum ThingState"), "{text}");
        assert!(text.contains("Option<ThingState>"), "{text}");
        assert!(
            text.contains("#[non_exhaustive]\npub struct Thing {"),
            "{text}"
        );
        assert!(
            text.contains("#[non_exhaustive]\npub struct Part {"),
            "{text}"
        );
        assert!(
            text.contains(
                "pub fn new(id: impl ::std::convert::Into<::std::string::String>) -> Self"
            ),
            "{text}"
        );
        assert!(
            text.contains("pub extra: ::std::collections::BTreeMap"),
            "{text}"
        );
        assert!(
            text.contains("impl<'de> ::serde::Deserialize<'de> for Thing"),
            "{text}"
        );
        // The nested struct keeps its derive and converts through it.
        assert!(
            text.contains("impl crate::runtime::Lenient for Part"),
            "{text}"
        );
        assert!(!text.contains("impl<'de> ::serde::Deserialize<'de> for Part"));
        assert!(!text.contains("mod error"), "{text}");
    }

    #[test]
    fn a_definition_typify_cannot_read_is_an_error_naming_it() {
        let mut defs = Map::new();
        defs.insert("Broken".into(), json!({"type": 5}));
        let err = read_types(defs, &[], &[]).unwrap_err();
        assert!(err.starts_with("definition Broken:"), "{err}");
    }
}
