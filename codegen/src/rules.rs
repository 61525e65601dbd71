//! Stage 3: rule tables, the schema's constraints as data for request validation.
//!
//! Reading is lenient; writing is strict: every property a request sets is checked against
//! its table (read-only, type, enum values, lengths, pattern) before the request is sent.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::Value;

use crate::model::{Property, ValueKind};

/// The type of the properties an object schema does not name: `Some("string")` for
/// `additionalProperties: {"type": "string"}`, `Some("any")` for another object there, `None`
/// when it says nothing (or `false`).
pub fn additional_type(schema: &Value) -> Option<&str> {
    schema
        .pointer("/additionalProperties/type")
        .and_then(Value::as_str)
        .or_else(|| {
            schema
                .get("additionalProperties")
                .and_then(Value::as_object)
                .map(|_| "any")
        })
}

/// A rule table: `pub static NAME: Schema` with one `PropSpec` per property, and the type of
/// the properties the schema does not name (`additionalProperties`).
pub fn rule_table(name: &str, props: &[Property], extra_type: Option<&str>) -> TokenStream {
    let table = format_ident!("{}", name);
    let rows = props.iter().map(|p| {
        let n = &p.name;
        let kind = match p.kind {
            ValueKind::Str => quote!(Str),
            ValueKind::Int => quote!(Int),
            ValueKind::Number => quote!(Number),
            ValueKind::Bool => quote!(Bool),
            ValueKind::StrArray => quote!(StrArray),
            ValueKind::Object => quote!(Object),
            ValueKind::Array => quote!(Array),
            ValueKind::Any => quote!(Any),
        };
        let nullable = p.nullable;
        let ro = p.read_only;
        let ev = &p.enum_values;
        let ml = optional_u64(p.max_length);
        let iml = optional_u64(p.item_max_length);
        let pat = match &p.pattern {
            Some(s) => quote!(Some(#s)),
            None => quote!(None),
        };
        let custom = p.custom;
        quote! {
            crate::runtime::PropertyRules {
                name: #n, kind: crate::runtime::ValueKind::#kind, nullable: #nullable, read_only: #ro,
                enum_values: &[#(#ev),*], max_length: #ml, item_max_length: #iml, pattern: #pat,
                custom: #custom,
            }
        }
    });
    let extra = match extra_type {
        Some("string") => quote!(Some(crate::runtime::ValueKind::Str)),
        Some(_) => quote!(Some(crate::runtime::ValueKind::Any)),
        None => quote!(None),
    };
    let doc = format!(
        "The properties of the `{name}` schema and their rules, as published by the server."
    );
    quote! {
        #[doc = #doc]
        pub static #table: crate::runtime::SchemaRules = crate::runtime::SchemaRules {
            props: &[#(#rows),*],
            additional: #extra,
        };
    }
}

fn optional_u64(v: Option<u64>) -> TokenStream {
    match v {
        Some(n) => quote!(Some(#n)),
        None => quote!(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::properties_of;
    use serde_json::json;

    #[test]
    fn each_property_becomes_a_row_with_its_rules() {
        let schema = json!({"properties": {
            "name": {"type": ["null", "string"], "maxLength": 255},
            "status": {"type": "string", "readOnly": true, "enum": ["queued", "active"]},
            "id": {"type": "string", "pattern": "^([0-9a-fA-F]){8}$"},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 255}},
            "os_distro": {"type": "string", "is_base": false}
        }});
        let props = properties_of(&schema, "T", &|p| format!("T{p}"));
        let text = rule_table("THING_SCHEMA", &props, Some("string")).to_string();
        assert!(
            text.contains("pub static THING_SCHEMA : crate :: runtime :: SchemaRules"),
            "{text}"
        );
        for row in [
            "name : \"name\" , kind : crate :: runtime :: ValueKind :: Str , nullable : true , read_only : false , enum_values : & [] , max_length : Some (255u64)",
            "name : \"status\" , kind : crate :: runtime :: ValueKind :: Str , nullable : false , read_only : true , enum_values : & [\"queued\" , \"active\"]",
            "pattern : Some (\"^([0-9a-fA-F]){8}$\")",
            "kind : crate :: runtime :: ValueKind :: StrArray , nullable : false , read_only : false , enum_values : & [] , max_length : None , item_max_length : Some (255u64)",
            "name : \"os_distro\" , kind : crate :: runtime :: ValueKind :: Str , nullable : false , read_only : false , enum_values : & [] , max_length : None , item_max_length : None , pattern : None , custom : true",
        ] {
            assert!(text.contains(row), "{row}\nnot in\n{text}");
        }
        assert!(
            text.contains("additional : Some (crate :: runtime :: ValueKind :: Str)"),
            "{text}"
        );
    }

    #[test]
    fn additional_properties_give_the_extra_type() {
        assert_eq!(
            additional_type(&json!({"additionalProperties": {"type": "string"}})),
            Some("string")
        );
        assert_eq!(
            additional_type(&json!({"additionalProperties": {}})),
            Some("any")
        );
        assert_eq!(
            additional_type(&json!({"additionalProperties": false})),
            None
        );
        assert_eq!(additional_type(&json!({})), None);
        let none = rule_table("T", &[], None).to_string();
        assert!(none.contains("additional : None"), "{none}");
        let any = rule_table("T", &[], Some("any")).to_string();
        assert!(
            any.contains("additional : Some (crate :: runtime :: ValueKind :: Any)"),
            "{any}"
        );
    }
}
