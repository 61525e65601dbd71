//! Generates the crate's types from the schemas the servers publish.
//!
//! Input: `schemas/` (or `$OPENSTACK_IMAGES_SCHEMA_DIR`): `image/v2/{image,member,task}.json`
//! as served by Glance's `/v2/schemas/*`, and `compute/v2.1/image.json` written from Nova's
//! responses. Output: `$OUT_DIR/image_v2.rs` and `$OUT_DIR/compute_v2_1.rs`, reached only
//! through `src/generated.rs`.
//!
//! Each schema goes through three stages:
//! 1. rewrite for reading: enums are hoisted into named definitions that are replaced by open
//!    enums (`Unknown(String)`), patterns and lengths are dropped, every field but `id`
//!    becomes optional, extra properties are taken out (they get an ordered map instead);
//! 2. typify 0.8 turns the rewritten schema into structs; the structs' `Deserialize` derive is
//!    then replaced by a generated lenient one that is fast (no buffering for flatten) and never
//!    drops data: a value of an unexpected type lands in `extra` under its own key;
//! 3. from the original schema: a property table for request validation (read-only, enums,
//!    lengths, patterns), a typed create builder, JSON-patch setters and list filters.

use std::collections::BTreeMap;
use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};
use serde_json::{Map, Value, json};

fn main() {
    if let Err(e) = run() {
        eprintln!("openstack-images build.rs: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let started = Instant::now();
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=OPENSTACK_IMAGES_SCHEMA_DIR");
    let dir = match env::var_os("OPENSTACK_IMAGES_SCHEMA_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?)
            .join("schemas"),
    };
    let out = PathBuf::from(env::var("OUT_DIR").map_err(|e| e.to_string())?);

    let image = load(&dir, "image/v2/image.json")?;
    let member = load(&dir, "image/v2/member.json")?;
    let task = load(&dir, "image/v2/task.json")?;
    let compute = load(&dir, "compute/v2.1/image.json")?;

    let image_code = image_v2(&image, &member, &task)?;
    write(&out.join("image_v2.rs"), image_code)?;
    let compute_code = compute_v2_1(&compute)?;
    write(&out.join("compute_v2_1.rs"), compute_code)?;
    fs::write(
        out.join("codegen_ms.txt"),
        format!("{:.1}\n", started.elapsed().as_secs_f64() * 1000.0),
    )
    .map_err(|e| e.to_string())?;
    Ok(())
}

fn load(dir: &Path, rel: &str) -> Result<Value, String> {
    let path = dir.join(rel);
    println!("cargo:rerun-if-changed={}", path.display());
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn write(path: &Path, tokens: TokenStream) -> Result<(), String> {
    let file: syn::File = syn::parse2(tokens).map_err(|e| format!("generated code: {e}"))?;
    let text = prettyplease::unparse(&file);
    // Only touch the file when it changes, so dependants are not rebuilt for nothing.
    if fs::read_to_string(path).ok().as_deref() != Some(text.as_str()) {
        fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------
// The property model, read from a schema.

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Str,
    Int,
    Bool,
    StrArray,
    Object,
    Array,
    Any,
}

#[derive(Debug, Clone)]
struct Prop {
    name: String,
    kind: Kind,
    nullable: bool,
    read_only: bool,
    enum_values: Vec<String>,
    /// The open enum type's name, for properties with an `enum`.
    enum_type: Option<String>,
    max_length: Option<u64>,
    item_max_length: Option<u64>,
    pattern: Option<String>,
    description: String,
    /// Operator-defined (`is_base: false`), as opposed to Glance's own attributes.
    custom: bool,
}

fn props_of(schema: &Value, enum_name: &dyn Fn(&str) -> String) -> Vec<Prop> {
    let mut out = Vec::new();
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return out;
    };
    for (name, p) in props {
        let types: Vec<&str> = match p.get("type") {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let nullable = types.contains(&"null");
        let main = types
            .iter()
            .copied()
            .find(|t| *t != "null")
            .unwrap_or("any");
        let kind = match main {
            "string" => Kind::Str,
            "integer" | "number" => Kind::Int,
            "boolean" => Kind::Bool,
            "object" => Kind::Object,
            "array" => {
                if p.pointer("/items/type").and_then(Value::as_str) == Some("string") {
                    Kind::StrArray
                } else {
                    Kind::Array
                }
            }
            _ => Kind::Any,
        };
        let enum_values: Vec<String> = p
            .get("enum")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let enum_type = (!enum_values.is_empty() && kind == Kind::Str).then(|| enum_name(name));
        out.push(Prop {
            name: name.clone(),
            kind,
            nullable,
            read_only: p.get("readOnly").and_then(Value::as_bool).unwrap_or(false),
            enum_values,
            enum_type,
            max_length: p.get("maxLength").and_then(Value::as_u64),
            item_max_length: p.pointer("/items/maxLength").and_then(Value::as_u64),
            pattern: p.get("pattern").and_then(Value::as_str).map(str::to_owned),
            description: p
                .get("description")
                .and_then(Value::as_str)
                .map(doc_text)
                .unwrap_or_else(|| format!("The `{name}` property.")),
            custom: p.get("is_base").and_then(Value::as_bool) == Some(false),
        });
    }
    out
}

/// Server-written text made fit for rustdoc: bare URLs become autolinks.
fn doc_text(s: &str) -> String {
    s.split(' ')
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

fn pascal(s: &str) -> String {
    let all_upper = !s.chars().any(|c| c.is_ascii_lowercase());
    let mut out = String::new();
    let mut up = true;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            if up {
                out.push(c.to_ascii_uppercase());
            } else if all_upper {
                // `SAVING` -> `Saving`, but keep `FusionCompute` as written.
                out.push(c.to_ascii_lowercase());
            } else {
                out.push(c);
            }
            up = false;
        } else {
            up = true;
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'V');
    }
    out
}

fn snake(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
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

fn ident(s: &str) -> Ident {
    let s = snake(s);
    match syn::parse_str::<Ident>(&s) {
        Ok(_) if !matches!(s.as_str(), "self" | "super" | "crate" | "Self") => {
            Ident::new(&s, Span::call_site())
        }
        _ => format_ident!("{}_", s),
    }
}

// ------------------------------------------------------------------------------------------
// Stage 1 + 2: lenient response types through typify.

/// Rewrites an object schema for reading and returns it with the definitions it needs.
fn rewrite_for_read(
    schema: &Value,
    props: &[Prop],
    type_name: &str,
    type_doc: &str,
    required: &[&str],
    defs: &mut Map<String, Value>,
) -> Value {
    let mut out_props = Map::new();
    let src = schema["properties"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for p in props {
        let mut s = src[&p.name].clone();
        strip_validation(&mut s);
        if let Some(o) = s.as_object_mut() {
            o.insert("description".into(), json!(p.description));
        }
        if let Some(en) = &p.enum_type {
            defs.insert(
                en.clone(),
                json!({"type": "string", "enum": p.enum_values, "description": p.description}),
            );
            s = json!({"$ref": format!("#/definitions/{en}"), "description": p.description});
        }
        out_props.insert(p.name.clone(), s);
    }
    json!({
        "type": "object",
        "description": type_doc,
        "title": type_name,
        "properties": out_props,
        "required": required,
    })
}

fn strip_validation(v: &mut Value) {
    match v {
        Value::Object(o) => {
            for k in [
                "pattern",
                "maxLength",
                "minLength",
                "readOnly",
                "writeOnly",
                "is_base",
                "additionalProperties",
                "required",
                "format",
            ] {
                o.remove(k);
            }
            // Glance sometimes states `type: "object"` with no properties at all: keep any value.
            for (_, child) in o.iter_mut() {
                strip_validation(child);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(strip_validation),
        _ => {}
    }
}

/// Runs typify over named definitions and returns its code with every struct named in
/// `lenient` given an `extra` map and a lenient `Deserialize`.
fn typify(
    defs: Map<String, Value>,
    open_enums: &[String],
    lenient: &[&str],
) -> Result<TokenStream, String> {
    let mut settings = typify::TypeSpaceSettings::default();
    settings.with_map_type("::std::collections::BTreeMap".to_string());
    settings.with_derive("PartialEq".to_string());
    for en in open_enums {
        settings.with_replacement(en, en, std::iter::empty());
    }
    let mut space = typify::TypeSpace::new(&settings);
    let parsed: Vec<(String, schemars::schema::Schema)> = defs
        .into_iter()
        .map(|(k, v)| {
            serde_json::from_value(v)
                .map(|s| (k.clone(), s))
                .map_err(|e| format!("definition {k}: {e}"))
        })
        .collect::<Result<_, _>>()?;
    space
        .add_ref_types(parsed)
        .map_err(|e| format!("typify: {e}"))?;
    let mut file: syn::File =
        syn::parse2(space.to_stream()).map_err(|e| format!("typify output: {e}"))?;
    // typify's conversion-error module is only used by TryFrom impls we do not generate.
    let uses_error = file.items.iter().any(|i| {
        !matches!(i, syn::Item::Mod(m) if m.ident == "error")
            && quote!(#i).to_string().contains("ConversionError")
    });
    if !uses_error {
        file.items
            .retain(|i| !matches!(i, syn::Item::Mod(m) if m.ident == "error"));
    }
    let mut extra = TokenStream::new();
    for item in &mut file.items {
        let syn::Item::Struct(st) = item else {
            continue;
        };
        let name = st.ident.to_string();
        if lenient.contains(&name.as_str()) {
            extra.extend(make_lenient(st)?);
        } else {
            // Nested structures decode strictly through their derive, and fall back to the
            // raw value (kept in the parent's `extra`) when that fails.
            let id = &st.ident;
            extra.extend(quote! {
                impl crate::lenient::Lenient for #id {
                    fn from_prim(p: crate::lenient::Prim) -> ::std::result::Result<Self, crate::lenient::Prim> {
                        crate::lenient::via_value(p)
                    }
                }
            });
        }
    }
    let mut tokens = quote!(#file);
    tokens.extend(extra);
    Ok(tokens)
}

/// Swaps a typify struct's derived `Deserialize` for a lenient one and adds `extra`.
fn make_lenient(st: &mut syn::ItemStruct) -> Result<TokenStream, String> {
    // Drop Deserialize from the derive list.
    for attr in &mut st.attrs {
        if attr.path().is_ident("derive") {
            let paths: syn::punctuated::Punctuated<syn::Path, syn::Token![,]> = attr
                .parse_args_with(syn::punctuated::Punctuated::parse_terminated)
                .map_err(|e| e.to_string())?;
            let kept: Vec<_> = paths
                .into_iter()
                .filter(|p| p.segments.last().is_none_or(|s| s.ident != "Deserialize"))
                .collect();
            *attr = syn::parse_quote!(#[derive(#(#kept),*)]);
        }
    }
    st.attrs.retain(|a| {
        !(a.path().is_ident("serde") && quote!(#a).to_string().contains("deny_unknown_fields"))
    });
    let syn::Fields::Named(fields) = &mut st.fields else {
        return Err(format!("{}: expected named fields", st.ident));
    };
    let mut arms = Vec::new();
    let mut inits = Vec::new();
    let mut required = Vec::new();
    for f in &fields.named {
        let fid = f.ident.clone().ok_or("unnamed field")?;
        let key = serde_rename(&f.attrs).unwrap_or_else(|| fid.to_string());
        let ty = &f.ty;
        // Collections default to empty when absent: only plain values are required.
        let is_opt = ["Option", "Vec", "BTreeMap", "Map"]
            .iter()
            .any(|t| type_is(ty, t));
        let seen = format_ident!("seen_{}", fid);
        if is_opt {
            arms.push(quote! {
                #key => {
                    let prim: crate::lenient::Prim = map.next_value()?;
                    match <#ty as crate::lenient::Lenient>::from_prim(prim) {
                        Ok(v) => out.#fid = v,
                        Err(raw) => { out.extra.insert(key.into_owned(), raw.into_value()); }
                    }
                }
            });
        } else {
            // A required field (the id) of the wrong type is an error at that field's path,
            // not a lenient fallback: nothing can be done with an image without its id.
            required.push((seen.clone(), key.clone()));
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
        .map(|(s, _)| quote!(let mut #s = false;))
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
                        while let Some(crate::lenient::Key(key)) = map.next_key()? {
                            match key.as_ref() {
                                #(#arms)*
                                _ => {
                                    let prim: crate::lenient::Prim = map.next_value()?;
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
        impl crate::lenient::Lenient for #name {
            fn from_prim(p: crate::lenient::Prim) -> ::std::result::Result<Self, crate::lenient::Prim> {
                crate::lenient::via_value(p)
            }
        }
    })
}

fn serde_rename(attrs: &[syn::Attribute]) -> Option<String> {
    for a in attrs {
        if !a.path().is_ident("serde") {
            continue;
        }
        let mut found = None;
        let _ = a.parse_nested_meta(|m| {
            if m.path.is_ident("rename") {
                let s: syn::LitStr = m.value()?.parse()?;
                found = Some(s.value());
            } else if m.input.peek(syn::Token![=]) {
                let _: syn::Expr = m.value()?.parse()?;
            }
            Ok(())
        });
        if found.is_some() {
            return found;
        }
    }
    None
}

fn type_is(ty: &syn::Type, name: &str) -> bool {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == name),
        _ => false,
    }
}

/// An open enum: known values as variants, anything else kept in `Unknown`.
fn open_enum(name: &str, values: &[String], doc: &str) -> TokenStream {
    let ty = format_ident!("{}", name);
    // `Unknown(String)` is the catch-all: a listed value spelled `unknown` gets another name.
    let variants: Vec<Ident> = values
        .iter()
        .map(|v| match pascal(v).as_str() {
            "Unknown" => format_ident!("UnknownValue"),
            p => format_ident!("{}", p),
        })
        .collect();
    let docs = values.iter().map(|v| format!("`{v}`"));
    let all_doc = format!("Every value this schema lists for {name}.");
    let doc = format!(
        "{doc}\n\nOpen: a value the schema does not list is kept in `Unknown`, so a cloud that adds one does not break decoding."
    );
    let first = values.first().cloned().unwrap_or_default();
    let example = format!(
        "```\nuse openstack_images::{name};\nlet v: {name} = \"{first}\".parse().unwrap();\nassert_eq!(v.as_str(), \"{first}\");\nassert_eq!({name}::from(\"something-new\").as_str(), \"something-new\");\n```"
    );
    quote! {
        #[doc = #doc]
        #[doc = ""]
        #[doc = #example]
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum #ty {
            #( #[doc = #docs] #variants, )*
            /// A value this version of the schema does not list.
            Unknown(::std::string::String),
        }
        impl #ty {
            #[doc = #all_doc]
            pub const VALUES: &'static [&'static str] = &[#(#values),*];
            /// The value as the API spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    #( #ty::#variants => #values, )*
                    #ty::Unknown(s) => s.as_str(),
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
                    other => #ty::Unknown(other.to_owned()),
                }
            }
        }
        impl ::std::convert::From<::std::string::String> for #ty {
            fn from(s: ::std::string::String) -> Self {
                match #ty::from(s.as_str()) {
                    #ty::Unknown(_) => #ty::Unknown(s),
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
        impl crate::lenient::Lenient for #ty {
            fn from_prim(p: crate::lenient::Prim) -> ::std::result::Result<Self, crate::lenient::Prim> {
                match p {
                    crate::lenient::Prim::Str(s) => Ok(#ty::from(s)),
                    other => Err(other),
                }
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// Stage 3: request side.

fn prop_table(name: &str, props: &[Prop], extra_type: Option<&str>) -> TokenStream {
    let table = format_ident!("{}", name);
    let rows = props.iter().map(|p| {
        let n = &p.name;
        let kind = match p.kind {
            Kind::Str => quote!(Str),
            Kind::Int => quote!(Int),
            Kind::Bool => quote!(Bool),
            Kind::StrArray => quote!(StrArray),
            Kind::Object => quote!(Object),
            Kind::Array => quote!(Array),
            Kind::Any => quote!(Any),
        };
        let nullable = p.nullable;
        let ro = p.read_only;
        let ev = &p.enum_values;
        let ml = opt_u64(p.max_length);
        let iml = opt_u64(p.item_max_length);
        let pat = match &p.pattern {
            Some(s) => quote!(Some(#s)),
            None => quote!(None),
        };
        let custom = p.custom;
        quote! {
            crate::validate::PropSpec {
                name: #n, kind: crate::validate::Kind::#kind, nullable: #nullable, read_only: #ro,
                enum_values: &[#(#ev),*], max_length: #ml, item_max_length: #iml, pattern: #pat,
                custom: #custom,
            }
        }
    });
    let extra = match extra_type {
        Some("string") => quote!(Some(crate::validate::Kind::Str)),
        Some(_) => quote!(Some(crate::validate::Kind::Any)),
        None => quote!(None),
    };
    let doc = format!(
        "The properties of the `{name}` schema and their rules, as published by the server."
    );
    quote! {
        #[doc = #doc]
        pub static #table: crate::validate::Schema = crate::validate::Schema {
            props: &[#(#rows),*],
            additional: #extra,
        };
    }
}

fn opt_u64(v: Option<u64>) -> TokenStream {
    match v {
        Some(n) => quote!(Some(#n)),
        None => quote!(None),
    }
}

/// The value-conversion expression and argument type of a setter for a property.
fn setter_parts(p: &Prop) -> (TokenStream, TokenStream) {
    if let Some(en) = &p.enum_type {
        let ty = format_ident!("{}", en);
        return (
            quote!(impl ::std::convert::Into<#ty>),
            quote!(::serde_json::Value::String(
                value.into().as_str().to_owned()
            )),
        );
    }
    match p.kind {
        Kind::Str => (
            quote!(impl ::std::convert::Into<::std::string::String>),
            quote!(::serde_json::Value::String(value.into())),
        ),
        Kind::Int => (quote!(i64), quote!(::serde_json::Value::from(value))),
        Kind::Bool => (quote!(bool), quote!(::serde_json::Value::Bool(value))),
        Kind::StrArray => (
            quote!(
                impl ::std::iter::IntoIterator<Item = impl ::std::convert::Into<::std::string::String>>
            ),
            quote!(::serde_json::Value::Array(
                value
                    .into_iter()
                    .map(|s| ::serde_json::Value::String(s.into()))
                    .collect()
            )),
        ),
        Kind::Object | Kind::Array | Kind::Any => (quote!(::serde_json::Value), quote!(value)),
    }
}

fn doc_for(p: &Prop, what: &str) -> String {
    let mut d = format!(
        "{what} `{}`: {}",
        p.name,
        p.description.trim_end_matches('.')
    );
    d.push('.');
    if !p.enum_values.is_empty() {
        d.push_str(&format!(" Allowed: {}.", p.enum_values.join(", ")));
    }
    if let Some(n) = p.max_length {
        d.push_str(&format!(" At most {n} characters."));
    }
    if p.custom {
        d.push_str(" Defined by the operator (`schema-image.json`).");
    }
    d
}

fn create_builder(props: &[Prop]) -> TokenStream {
    let setters = props
        .iter()
        .filter(|p| !p.read_only && !matches!(p.kind, Kind::Array | Kind::Object | Kind::Any))
        .map(|p| {
            let f = ident(&p.name);
            let key = &p.name;
            let (arg, conv) = setter_parts(p);
            let doc = doc_for(p, "Sets");
            quote! {
                #[doc = #doc]
                pub fn #f(mut self, value: #arg) -> Self {
                    self.body.insert(#key.to_owned(), #conv);
                    self
                }
            }
        });
    quote! {
        /// The body of an image create request (`POST /v2/images`), with a typed setter for
        /// every writable property of the served schema and free-form string properties.
        ///
        /// Nothing is checked until the request is sent; then every property is validated
        /// against the schema (read-only attributes, enum values, lengths, patterns, string
        /// custom values) and the first problem is returned as
        /// [`Error::InvalidInput`](crate::Error::InvalidInput) before any request leaves.
        ///
        /// ```
        /// use openstack_images::{ImageCreate, ImageVisibility};
        /// let req = ImageCreate::new("cirros")
        ///     .visibility(ImageVisibility::Private)
        ///     .disk_format("qcow2")
        ///     .tags(["base", "tiny"])
        ///     .property("os_distro", "cirros");
        /// assert!(req.validate().is_ok());
        /// ```
        #[derive(Debug, Clone, Default, PartialEq)]
        #[must_use]
        pub struct ImageCreate {
            body: ::std::collections::BTreeMap<::std::string::String, ::serde_json::Value>,
        }

        impl ImageCreate {
            /// A create request for an image with this name.
            pub fn new(name: impl ::std::convert::Into<::std::string::String>) -> Self {
                ImageCreate::default().name(name)
            }
            #(#setters)*
            /// Sets a custom property to a string value (custom values are strings in Glance).
            pub fn property(
                mut self,
                key: impl ::std::convert::Into<::std::string::String>,
                value: impl ::std::convert::Into<::std::string::String>,
            ) -> Self {
                self.body.insert(key.into(), ::serde_json::Value::String(value.into()));
                self
            }
            /// Sets any property to a raw JSON value; validation still applies when sent.
            pub fn property_value(
                mut self,
                key: impl ::std::convert::Into<::std::string::String>,
                value: ::serde_json::Value,
            ) -> Self {
                self.body.insert(key.into(), value);
                self
            }
            /// Checks every property against the image schema.
            pub fn validate(&self) -> crate::Result<()> {
                for (k, v) in &self.body {
                    IMAGE_SCHEMA.check_write(k, v)?;
                }
                Ok(())
            }
            /// The properties set so far.
            pub fn properties(&self) -> &::std::collections::BTreeMap<::std::string::String, ::serde_json::Value> {
                &self.body
            }
        }
    }
}

fn patch_builder(props: &[Prop]) -> TokenStream {
    let methods = props
        .iter()
        .filter(|p| !p.read_only && !matches!(p.kind, Kind::Array | Kind::Object | Kind::Any))
        .map(|p| {
            let key = format!("/{}", p.name);
            let (arg, conv) = setter_parts(p);
            let add = format_ident!("add_{}", ident(&p.name).to_string().trim_end_matches('_'));
            let replace = format_ident!("replace_{}", ident(&p.name).to_string().trim_end_matches('_'));
            let add_doc = doc_for(p, "Adds (or, in patch v2.1, overwrites)");
            let replace_doc = doc_for(p, "Replaces (the property must exist)");
            let mut t = quote! {
                #[doc = #add_doc]
                pub fn #add(mut self, value: #arg) -> Self {
                    self.ops.push(crate::image::patch::PatchOp::Add { path: #key.to_owned(), value: #conv });
                    self
                }
                #[doc = #replace_doc]
                pub fn #replace(mut self, value: #arg) -> Self {
                    self.ops.push(crate::image::patch::PatchOp::Replace { path: #key.to_owned(), value: #conv });
                    self
                }
            };
            if p.custom || p.nullable {
                let remove = format_ident!("remove_{}", ident(&p.name).to_string().trim_end_matches('_'));
                let remove_doc = doc_for(p, "Removes");
                t.extend(quote! {
                    #[doc = #remove_doc]
                    pub fn #remove(mut self) -> Self {
                        self.ops.push(crate::image::patch::PatchOp::Remove { path: #key.to_owned() });
                        self
                    }
                });
            }
            t
        });
    quote! {
        impl crate::image::patch::ImagePatch {
            #(#methods)*
        }
    }
}

fn list_filters(props: &[Prop]) -> TokenStream {
    let methods = props.iter().filter(|p| p.custom).map(|p| {
        let f = format_ident!("{}_eq", ident(&p.name).to_string().trim_end_matches('_'));
        let key = &p.name;
        let (arg, conv) = if let Some(en) = &p.enum_type {
            let ty = format_ident!("{}", en);
            (
                quote!(impl ::std::convert::Into<#ty>),
                quote!(value.into().as_str().to_owned()),
            )
        } else {
            match p.kind {
                Kind::Int => (quote!(i64), quote!(value.to_string())),
                Kind::Bool => (quote!(bool), quote!(value.to_string())),
                _ => (
                    quote!(impl ::std::convert::Into<::std::string::String>),
                    quote!(value.into()),
                ),
            }
        };
        let doc = format!(
            "Only images whose operator-defined property `{key}` equals the value ({}).",
            p.description.trim_end_matches('.')
        );
        quote! {
            #[doc = #doc]
            pub fn #f(self, value: #arg) -> Self {
                self.filter(#key, #conv)
            }
        }
    });
    quote! {
        impl crate::image::query::ImageListQuery {
            #(#methods)*
        }
    }
}

// ------------------------------------------------------------------------------------------
// The two outputs.

fn image_v2(image: &Value, member: &Value, task: &Value) -> Result<TokenStream, String> {
    let enum_name = |p: &str| match p {
        "status" => "ImageStatus".to_string(),
        "visibility" => "ImageVisibility".to_string(),
        other => pascal(other),
    };
    let image_props = props_of(image, &enum_name);
    let member_props = props_of(member, &|p| format!("Member{}", pascal(p)));
    let task_props = props_of(task, &|p| format!("Task{}", pascal(p)));

    let mut defs = Map::new();
    let img = rewrite_for_read(
        image,
        &image_props,
        "Image",
        "An image as Glance returns it: every property of the served schema as a typed field (operator-defined ones included), and everything else in `extra`.",
        &["id"],
        &mut defs,
    );
    defs.insert("Image".into(), img);
    let mem = rewrite_for_read(
        member,
        &member_props,
        "Member",
        "A project an image is shared with, and whether that project accepted it.",
        &["member_id"],
        &mut defs,
    );
    defs.insert("Member".into(), mem);
    let tsk = rewrite_for_read(
        task,
        &task_props,
        "Task",
        "An asynchronous Glance task (an import, for example).",
        &["id"],
        &mut defs,
    );
    defs.insert("Task".into(), tsk);

    let mut enums: BTreeMap<String, (Vec<String>, String)> = BTreeMap::new();
    for p in image_props.iter().chain(&member_props).chain(&task_props) {
        if let Some(en) = &p.enum_type {
            enums.insert(en.clone(), (p.enum_values.clone(), p.description.clone()));
        }
    }
    let enum_names: Vec<String> = enums.keys().cloned().collect();
    let types = typify(defs, &enum_names, &["Image", "Member", "Task"])?;
    let enum_code = enums.iter().map(|(n, (v, d))| open_enum(n, v, d));

    let extra_type = image
        .pointer("/additionalProperties/type")
        .and_then(Value::as_str)
        .or_else(|| {
            image
                .get("additionalProperties")
                .and_then(Value::as_object)
                .map(|_| "any")
        });
    let table = prop_table("IMAGE_SCHEMA", &image_props, extra_type);
    let member_table = prop_table("MEMBER_SCHEMA", &member_props, None);
    let create = create_builder(&image_props);
    let patch = patch_builder(&image_props);
    let filters = list_filters(&image_props);
    let custom_names: Vec<&str> = image_props
        .iter()
        .filter(|p| p.custom)
        .map(|p| p.name.as_str())
        .collect();

    Ok(quote! {
        #types
        #(#enum_code)*
        #table
        #member_table
        /// The operator-defined properties of the served image schema (`is_base: false`).
        pub const OPERATOR_PROPERTIES: &[&str] = &[#(#custom_names),*];
        #create
        #patch
        #filters
    })
}

fn compute_v2_1(image: &Value) -> Result<TokenStream, String> {
    let props = props_of(image, &|p| format!("ComputeImage{}", pascal(p)));
    let mut defs = Map::new();
    // Both link arrays share one shape: name it once.
    let link = json!({
        "type": "object",
        "description": "A link to a resource: its URL, relation and, for `alternate`, media type.",
        "properties": {
            "href": {"type": "string", "description": "The URL."},
            "rel": {"type": "string", "description": "The relation: self, bookmark or alternate."},
            "type": {"type": "string", "description": "The media type of the target, if given."}
        },
        "required": ["href", "rel"]
    });
    defs.insert("ComputeLink".into(), link);
    let mut rewritten = rewrite_for_read(
        image,
        &props,
        "ComputeImage",
        "An image as the Compute API shows it (GET /v2.1/images/detail).",
        &["id"],
        &mut defs,
    );
    let links_ref = json!({"type": "array", "items": {"$ref": "#/definitions/ComputeLink"}, "description": "Links to the resource."});
    rewritten["properties"]["links"] = links_ref.clone();
    if rewritten["properties"].get("server").is_some() {
        defs.insert(
            "ComputeImageServer".into(),
            json!({
                "type": "object",
                "description": "The server a snapshot was made from.",
                "properties": {
                    "id": {"type": "string", "description": "The server's id."},
                    "links": links_ref
                },
                "required": ["id"]
            }),
        );
        rewritten["properties"]["server"] = json!({"$ref": "#/definitions/ComputeImageServer", "description": "The server the image was created from (snapshots only)."});
    }
    if let Some(m) = rewritten["properties"].get_mut("metadata") {
        *m = json!({"type": "object", "additionalProperties": true, "description": "The image's custom properties, as free-form key/value pairs."});
    }
    defs.insert("ComputeImage".into(), rewritten);
    let enums: Vec<(String, Vec<String>, String)> = props
        .iter()
        .filter_map(|p| {
            p.enum_type
                .clone()
                .map(|n| (n, p.enum_values.clone(), p.description.clone()))
        })
        .collect();
    let names: Vec<String> = enums.iter().map(|e| e.0.clone()).collect();
    let types = typify(defs, &names, &["ComputeImage"])?;
    let enum_code = enums.iter().map(|(n, v, d)| open_enum(n, v, d));
    Ok(quote! {
        #types
        #(#enum_code)*
    })
}
