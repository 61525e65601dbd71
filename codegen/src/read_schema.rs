//! Stage 1: a schema rewritten for reading, the form typify is given.
//!
//! Enums are hoisted into named definitions (which typify then leaves to the open enums of
//! [`crate::open_enum`](mod@crate::open_enum)), validation keywords are dropped (they bind
//! what we send, not what we read), and only the fields named in `required` stay required.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::model::Property;

/// An enum taken out of a property into a named definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoistedEnum {
    /// The type name.
    pub name: String,
    /// The values the schema lists, in its order.
    pub values: Vec<String>,
    /// The property's description.
    pub description: String,
}

/// The open enums of some properties, one per type name, sorted by name.
pub fn hoisted_enums<'a>(props: impl IntoIterator<Item = &'a Property>) -> Vec<HoistedEnum> {
    let mut by_name: BTreeMap<String, HoistedEnum> = BTreeMap::new();
    for prop in props {
        if let Some(name) = &prop.enum_type {
            by_name.insert(
                name.clone(),
                HoistedEnum {
                    name: name.clone(),
                    values: prop.enum_values.clone(),
                    description: prop.description.clone(),
                },
            );
        }
    }
    by_name.into_values().collect()
}

/// The names of some hoisted enums.
pub fn enum_names(enums: &[HoistedEnum]) -> Vec<String> {
    enums.iter().map(|e| e.name.clone()).collect()
}

/// The object schema `schema` rewritten for reading as the type `type_name`; each enum is
/// hoisted into `defs` under its type name and referenced from its property.
pub fn rewrite_for_read(
    schema: &Value,
    props: &[Property],
    type_name: &str,
    type_doc: &str,
    required: &[&str],
    defs: &mut Map<String, Value>,
) -> Value {
    let mut out_props = Map::new();
    let source = schema["properties"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for prop in props {
        let mut rewritten = source[&prop.name].clone();
        strip_validation(&mut rewritten);
        if let Some(object) = rewritten.as_object_mut() {
            object.insert("description".into(), json!(prop.description));
        }
        if let Some(enum_type) = &prop.enum_type {
            defs.insert(
                enum_type.clone(),
                json!({"type": "string", "enum": prop.enum_values, "description": prop.description}),
            );
            rewritten = json!({
                "$ref": format!("#/definitions/{enum_type}"),
                "description": prop.description
            });
        }
        out_props.insert(prop.name.clone(), rewritten);
    }
    json!({
        "type": "object",
        "description": type_doc,
        "title": type_name,
        "properties": out_props,
        "required": required,
    })
}

/// Drops the keywords that constrain values (and Glance's own annotations), at every depth.
pub fn strip_validation(schema: &mut Value) {
    match schema {
        Value::Object(object) => {
            for keyword in [
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
                object.remove(keyword);
            }
            // Glance sometimes states `type: "object"` with no properties at all: keep any value.
            for (_, child) in object.iter_mut() {
                strip_validation(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_validation),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::properties_of;
    use crate::naming::pascal;

    fn small_schema() -> Value {
        json!({"properties": {
            "id": {"type": "string", "pattern": "^[0-9a-f-]+$", "readOnly": true},
            "status": {"type": "string", "enum": ["queued", "active"], "description": "State."},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 255}},
            "when": {"type": "string", "format": "date-time"}
        }})
    }

    #[test]
    fn enums_are_hoisted_into_definitions_and_referenced() {
        let schema = small_schema();
        let props = properties_of(&schema, &|p| format!("Thing{}", pascal(p)));
        let mut defs = Map::new();
        let read = rewrite_for_read(&schema, &props, "Thing", "A thing.", &["id"], &mut defs);
        assert_eq!(
            defs["ThingStatus"],
            json!({"type": "string", "enum": ["queued", "active"], "description": "State."})
        );
        assert_eq!(
            read["properties"]["status"],
            json!({"$ref": "#/definitions/ThingStatus", "description": "State."})
        );
        assert_eq!(read["title"], "Thing");
        assert_eq!(read["description"], "A thing.");
        assert_eq!(read["required"], json!(["id"]));
        assert_eq!(defs.len(), 1, "only the enum is hoisted");
    }

    #[test]
    fn validation_is_gone_at_every_depth() {
        let schema = small_schema();
        let props = properties_of(&schema, &|p| pascal(p));
        let read = rewrite_for_read(&schema, &props, "Thing", "", &[], &mut Map::new());
        assert_eq!(
            read["properties"]["id"],
            json!({"type": "string", "description": "The `id` property."})
        );
        assert_eq!(
            read["properties"]["tags"]["items"],
            json!({"type": "string"})
        );
        assert!(read["properties"]["when"].get("format").is_none());
    }

    #[test]
    fn strip_validation_keeps_types_and_descriptions() {
        let mut schema = json!({"type": "object", "additionalProperties": false,
            "required": ["a"], "description": "d",
            "properties": {"a": {"type": "string", "minLength": 1, "writeOnly": true}}});
        strip_validation(&mut schema);
        assert_eq!(
            schema,
            json!({"type": "object", "description": "d", "properties": {"a": {"type": "string"}}})
        );
    }

    #[test]
    fn hoisted_enums_are_sorted_and_unique() {
        let schema = json!({"properties": {
            "visibility": {"type": "string", "enum": ["public", "private"]},
            "architecture": {"type": "string", "enum": ["x86_64"]}
        }});
        let props = properties_of(&schema, &|p| pascal(p));
        let twice = props.iter().chain(&props);
        let enums = hoisted_enums(twice);
        assert_eq!(enum_names(&enums), ["Architecture", "Visibility"]);
        assert_eq!(enums[1].values, ["public", "private"]);
        assert_eq!(enums[1].description, "The `visibility` property.");
    }
}
