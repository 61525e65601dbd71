//! The property model: what the generator needs to know about each property of a schema.

use serde_json::Value;

use crate::naming::doc_text;

/// The JSON type of a property, as far as the generated code cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// `string`.
    Str,
    /// `integer` or `number`.
    Int,
    /// `boolean`.
    Bool,
    /// An array of strings.
    StrArray,
    /// `object`.
    Object,
    /// An array of anything but strings.
    Array,
    /// No type, or one the generator does not know.
    Any,
}

/// One property of a schema, with the rules and text the generated code is made from.
#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    /// The property name as the API spells it.
    pub name: String,
    /// Its JSON type.
    pub kind: ValueKind,
    /// Whether `null` is one of its types.
    pub nullable: bool,
    /// Whether the server sets it (`readOnly`).
    pub read_only: bool,
    /// The values its `enum` lists.
    pub enum_values: Vec<String>,
    /// The open enum type's name, for string properties with an `enum`.
    pub enum_type: Option<String>,
    /// `maxLength`.
    pub max_length: Option<u64>,
    /// `items.maxLength`.
    pub item_max_length: Option<u64>,
    /// `pattern`.
    pub pattern: Option<String>,
    /// The description, made fit for rustdoc (or a stand-in when the schema has none).
    pub description: String,
    /// Operator-defined (`is_base: false`), as opposed to Glance's own attributes.
    pub custom: bool,
}

/// The properties of an object schema, in the schema's order; `enum_name` names the open
/// enum of a property that lists values.
pub fn properties_of(schema: &Value, enum_name: &dyn Fn(&str) -> String) -> Vec<Property> {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    props
        .iter()
        .map(|(name, prop)| property_of(name, prop, enum_name))
        .collect()
}

fn property_of(name: &str, prop: &Value, enum_name: &dyn Fn(&str) -> String) -> Property {
    let types: Vec<&str> = match prop.get("type") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let nullable = types.contains(&"null");
    let main_type = types
        .iter()
        .copied()
        .find(|t| *t != "null")
        .unwrap_or("any");
    let kind = match main_type {
        "string" => ValueKind::Str,
        "integer" | "number" => ValueKind::Int,
        "boolean" => ValueKind::Bool,
        "object" => ValueKind::Object,
        "array" => {
            if prop.pointer("/items/type").and_then(Value::as_str) == Some("string") {
                ValueKind::StrArray
            } else {
                ValueKind::Array
            }
        }
        _ => ValueKind::Any,
    };
    let enum_values: Vec<String> = prop
        .get("enum")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let enum_type = (!enum_values.is_empty() && kind == ValueKind::Str).then(|| enum_name(name));
    Property {
        name: name.to_owned(),
        kind,
        nullable,
        read_only: prop
            .get("readOnly")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        enum_values,
        enum_type,
        max_length: prop.get("maxLength").and_then(Value::as_u64),
        item_max_length: prop.pointer("/items/maxLength").and_then(Value::as_u64),
        pattern: prop
            .get("pattern")
            .and_then(Value::as_str)
            .map(str::to_owned),
        description: prop
            .get("description")
            .and_then(Value::as_str)
            .map(doc_text)
            .unwrap_or_else(|| format!("The `{name}` property.")),
        custom: prop.get("is_base").and_then(Value::as_bool) == Some(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn no_enum(_: &str) -> String {
        unreachable!("no property here lists values")
    }

    #[test]
    fn types_map_to_kinds_and_null_to_nullable() {
        let schema = json!({"properties": {
            "a": {"type": "string"},
            "b": {"type": ["null", "integer"]},
            "c": {"type": "number"},
            "d": {"type": "boolean"},
            "e": {"type": "array", "items": {"type": "string", "maxLength": 9}},
            "f": {"type": "array", "items": {"type": "object"}},
            "g": {"type": "object"},
            "h": {},
            "i": {"type": ["null"]}
        }});
        let props = properties_of(&schema, &no_enum);
        // The keys are single letters in order, so either map order gives the same list.
        let kinds: Vec<(ValueKind, bool)> = props.iter().map(|p| (p.kind, p.nullable)).collect();
        assert_eq!(
            kinds,
            [
                (ValueKind::Str, false),
                (ValueKind::Int, true),
                (ValueKind::Int, false),
                (ValueKind::Bool, false),
                (ValueKind::StrArray, false),
                (ValueKind::Array, false),
                (ValueKind::Object, false),
                (ValueKind::Any, false),
                (ValueKind::Any, true),
            ]
        );
        assert_eq!(props[4].item_max_length, Some(9));
    }

    #[test]
    fn rules_and_text_are_read() {
        let schema = json!({"properties": {"os_distro": {
            "type": "string", "readOnly": true, "maxLength": 255, "pattern": "^[a-z]+$",
            "is_base": false, "description": "See https://example.org/x."
        }, "plain": {"type": "string"}}});
        let props = properties_of(&schema, &no_enum);
        let p = props.iter().find(|p| p.name == "os_distro").unwrap();
        let plain = props.iter().find(|p| p.name == "plain").unwrap();
        assert!(p.read_only && p.custom);
        assert_eq!(p.max_length, Some(255));
        assert_eq!(p.pattern.as_deref(), Some("^[a-z]+$"));
        assert_eq!(p.description, "See <https://example.org/x>.");
        assert_eq!(plain.description, "The `plain` property.");
        assert!(!plain.custom && !plain.read_only);
    }

    #[test]
    fn only_string_enums_get_a_type() {
        let schema = json!({"properties": {
            "status": {"type": "string", "enum": ["queued", "active"]},
            "count": {"type": "integer", "enum": [1, 2]}
        }});
        let props = properties_of(&schema, &|p| format!("Image{p}"));
        let named = |name: &str| props.iter().find(|p| p.name == name).unwrap();
        assert_eq!(named("status").enum_type.as_deref(), Some("Imagestatus"));
        assert_eq!(named("status").enum_values, ["queued", "active"]);
        // Numbers are not strings: no open enum and no listed values.
        assert_eq!(named("count").enum_type, None);
        assert!(named("count").enum_values.is_empty());
    }

    #[test]
    fn a_schema_without_properties_has_none() {
        assert!(properties_of(&json!({"type": "object"}), &no_enum).is_empty());
    }
}
