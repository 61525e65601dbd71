//! The property model: what the generator needs to know about each property of a schema.

use serde_json::Value;

use crate::naming::{doc_text, field_names, reserved_fields};

/// The JSON type of a property, as far as the generated code cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// `string`.
    Str,
    /// `integer`.
    Int,
    /// `number`: an integer or a float.
    Number,
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
    /// Its field name in the generated struct, unique there (see [`crate::naming`]); the
    /// setters and filters are named after it.
    pub field: String,
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

/// The properties of the object schema of the lenient type `type_name`, in the schema's
/// order; `enum_name` gives the wanted name of the open enum of a property that lists values
/// (claimed later, see [`crate::read_schema::ReadModel::claim_enum_types`]).
pub fn properties_of(
    schema: &Value,
    type_name: &str,
    enum_name: &dyn Fn(&str) -> String,
) -> Vec<Property> {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    let fields = field_names(
        props.keys().map(String::as_str),
        &reserved_fields(type_name, true),
    );
    props
        .iter()
        .map(|(name, prop)| property_of(name, &fields[name], prop, enum_name))
        .collect()
}

fn property_of(
    name: &str,
    field: &str,
    prop: &Value,
    enum_name: &dyn Fn(&str) -> String,
) -> Property {
    let types: Vec<&str> = match prop.get("type") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let nullable = types.contains(&"null");
    let non_null: Vec<&str> = types.iter().copied().filter(|t| *t != "null").collect();
    // Several types (or none) accept any value, as reading does.
    let main_type = match non_null.as_slice() {
        [one] => *one,
        _ => "any",
    };
    let kind = match main_type {
        "string" => ValueKind::Str,
        "integer" => ValueKind::Int,
        "number" => ValueKind::Number,
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
    // Each listed value once (a value listed twice would be two equal match arms).
    let mut enum_values: Vec<String> = Vec::new();
    for v in prop
        .get("enum")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !enum_values.iter().any(|seen| seen == v) {
            enum_values.push(v.to_owned());
        }
    }
    let enum_type = (!enum_values.is_empty() && kind == ValueKind::Str).then(|| enum_name(name));
    Property {
        name: name.to_owned(),
        field: field.to_owned(),
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
        let props = properties_of(&schema, "Thing", &no_enum);
        // The keys are single letters in order, so either map order gives the same list.
        let kinds: Vec<(ValueKind, bool)> = props.iter().map(|p| (p.kind, p.nullable)).collect();
        assert_eq!(
            kinds,
            [
                (ValueKind::Str, false),
                (ValueKind::Int, true),
                (ValueKind::Number, false),
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
        let props = properties_of(&schema, "Thing", &no_enum);
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
        let props = properties_of(&schema, "Image", &|p| format!("Image{p}"));
        let named = |name: &str| props.iter().find(|p| p.name == name).unwrap();
        assert_eq!(named("status").enum_type.as_deref(), Some("Imagestatus"));
        assert_eq!(named("status").enum_values, ["queued", "active"]);
        // Numbers are not strings: no open enum and no listed values.
        assert_eq!(named("count").enum_type, None);
        assert!(named("count").enum_values.is_empty());
    }

    #[test]
    fn several_types_are_any_and_number_is_not_an_integer() {
        let schema = json!({"properties": {
            "mixed": {"type": ["string", "integer"]},
            "ratio": {"type": ["null", "number"]}
        }});
        let props = properties_of(&schema, "Thing", &no_enum);
        assert_eq!(
            (props[0].kind, props[1].kind),
            (ValueKind::Any, ValueKind::Number)
        );
        assert!(props[1].nullable);
    }

    #[test]
    fn field_names_are_unique_and_clear_of_reserved_members() {
        let schema = json!({"properties": {
            "os_distro": {"type": "string"}, "os-distro": {"type": "string"},
            "extra": {"type": "string"}, "validate": {"type": "string"}, "gen": {"type": "string"}
        }});
        let props = properties_of(&schema, "Image", &no_enum);
        let field = |name: &str| props.iter().find(|p| p.name == name).unwrap().field.clone();
        assert_eq!(field("os_distro"), "os_distro");
        assert!(field("os-distro").starts_with("os_distro_"));
        assert!(field("extra").starts_with("extra_"));
        assert!(field("validate").starts_with("validate_"));
        assert_eq!(field("gen"), "gen_");
        // Elsewhere only `extra` is taken: a metadef namespace keeps its `properties`.
        let other = json!({"properties": {"properties": {"type": "object"}, "extra": {}}});
        let props = properties_of(&other, "MetadefNamespace", &no_enum);
        assert_eq!(props[1].field, "properties");
        assert!(props[0].field.starts_with("extra_"));
    }

    #[test]
    fn a_schema_without_properties_has_none() {
        assert!(properties_of(&json!({"type": "object"}), "Thing", &no_enum).is_empty());
    }
}
