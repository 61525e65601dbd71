//! The metadata definitions (metadefs) code, from Glance's `/v2/schemas/metadefs/*`.
//!
//! These schemas differ from the image ones in three ways the generic stages do not cover:
//! - local `definitions` (`positiveInteger`, `stringArray`, ...) referenced with `$ref`, which
//!   [`inline_definitions`] replaces by their content (typify is given one flat set of
//!   named types, and these names mean nothing to a reader);
//! - `properties` of a namespace or object is a map (`additionalProperties`) of property
//!   definitions, and `objects`, `tags` and `resource_type_associations` of a namespace are
//!   arrays of the objects the other schemas describe: both become references to the
//!   generated types, so a namespace decodes into `MetadefProperty`s and `MetadefObject`s;
//! - `number` (`minimum`, `maximum`) is kept as a JSON number (`serde_json::Number`), so
//!   `1` does not come back as `1.0`;
//! - the property-type enum appears twice (`type` and `items.type`): one open enum,
//!   `MetadefPropertyType`, for both.

use proc_macro2::TokenStream;
use quote::quote;
use serde_json::{Map, Value, json};

use crate::model::properties_of;
use crate::naming::pascal;
use crate::open_enum::open_enum;
use crate::read_schema::{ReadModel, ReadType, enum_names};
use crate::types::read_types_with;

/// The metadef schemas as served (`metadefs/<name>.json` under `schemas/image/v2/`).
pub struct MetadefSchemas<'a> {
    /// `/v2/schemas/metadefs/namespace`.
    pub namespace: &'a Value,
    /// `/v2/schemas/metadefs/object`.
    pub object: &'a Value,
    /// `/v2/schemas/metadefs/property`.
    pub property: &'a Value,
    /// `/v2/schemas/metadefs/tag`.
    pub tag: &'a Value,
    /// `/v2/schemas/metadefs/resource_type` (an association of a resource type).
    pub resource_type: &'a Value,
}

/// The generated response types, lenient like `Image`: every one has an `extra` map.
const LENIENT: [&str; 6] = [
    "MetadefNamespace",
    "MetadefObject",
    "MetadefProperty",
    "MetadefTag",
    "MetadefResourceTypeAssociation",
    "MetadefResourceType",
];

fn reference(name: &str, description: &str) -> Value {
    json!({"$ref": format!("#/definitions/{name}"), "description": description})
}

fn array_of(name: &str, description: &str) -> Value {
    json!({"type": "array", "items": {"$ref": format!("#/definitions/{name}")}, "description": description})
}

fn map_of(name: &str, description: &str) -> Value {
    json!({"type": "object", "additionalProperties": {"$ref": format!("#/definitions/{name}")}, "description": description})
}

/// `schema` with every `$ref` to one of its own `definitions` replaced by that definition
/// (recursively), except those named in `keep`, which are left for the caller to point
/// elsewhere; an `allOf` of objects (`positiveIntegerDefault0`) is merged into one.
/// The `definitions` keyword itself is removed.
pub fn inline_definitions(schema: &Value, keep: &[&str]) -> Value {
    let defs = schema
        .get("definitions")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut out = schema.clone();
    if let Some(object) = out.as_object_mut() {
        object.remove("definitions");
    }
    inline_into(&mut out, &defs, keep, 0);
    out
}

fn inline_into(value: &mut Value, defs: &Map<String, Value>, keep: &[&str], depth: usize) {
    // Glance's definitions do not refer to themselves; the bound only guards a schema that does.
    if depth > 16 {
        return;
    }
    match value {
        Value::Object(object) => {
            let target = object
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/definitions/"))
                .filter(|name| !keep.contains(name))
                .and_then(|name| defs.get(name))
                .cloned();
            if let Some(mut target) = target {
                inline_into(&mut target, defs, keep, depth + 1);
                object.remove("$ref");
                if let Value::Object(fields) = target {
                    for (k, v) in fields {
                        object.entry(k).or_insert(v);
                    }
                }
            }
            if let Some(Value::Array(parts)) = object.remove("allOf") {
                for mut part in parts {
                    inline_into(&mut part, defs, keep, depth + 1);
                    if let Value::Object(fields) = part {
                        for (k, v) in fields {
                            object.entry(k).or_insert(v);
                        }
                    }
                }
            }
            for (_, child) in object.iter_mut() {
                inline_into(child, defs, keep, depth + 1);
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| inline_into(v, defs, keep, depth + 1)),
        _ => {}
    }
}

/// Removes the `default` keyword of every schema in `schema` (a property *named*
/// `default` stays). typify makes a field with a default non-optional, and a lenient reader
/// must neither require it nor invent it: `uniqueItems: false` the server did not send
/// would be serialized back as if it had.
pub fn drop_defaults(schema: &mut Value) {
    match schema {
        Value::Object(object) => {
            object.remove("default");
            for (key, child) in object.iter_mut() {
                match (key.as_str(), child) {
                    ("properties", Value::Object(props)) => {
                        props.values_mut().for_each(drop_defaults)
                    }
                    (_, child) => drop_defaults(child),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(drop_defaults),
        _ => {}
    }
}

/// `schema` with the properties `names` (if it has them) reduced to their description: the
/// generated code gives them types of its own.
fn without(schema: &Value, names: &[&str]) -> Value {
    let mut out = schema.clone();
    for name in names {
        if let Some(slot) = out["properties"].get_mut(*name) {
            let mut bare = json!({});
            if let Some(description) = slot.get("description") {
                bare["description"] = description.clone();
            }
            *slot = bare;
        }
    }
    out
}

/// Points a rewritten object's property `name` at another schema, when it has that property.
fn point(rewritten: &mut Value, name: &str, to: Value) {
    if let Some(slot) = rewritten["properties"].get_mut(name) {
        *slot = to;
    }
}

/// The metadef code: `MetadefNamespace`, `MetadefObject`, `MetadefProperty` (with
/// `MetadefPropertyItems`), `MetadefTag`, `MetadefResourceTypeAssociation`,
/// `MetadefResourceType`, and the open enums `MetadefNamespaceVisibility` and
/// `MetadefPropertyType`.
pub fn metadefs_v2(schemas: &MetadefSchemas<'_>) -> Result<TokenStream, String> {
    let read = |schema: &Value, keep: &[&str]| {
        let mut out = inline_definitions(schema, keep);
        drop_defaults(&mut out);
        out
    };
    let namespace = read(schemas.namespace, &["property"]);
    let object = read(schemas.object, &["property"]);
    let property = read(schemas.property, &[]);
    let tag = read(schemas.tag, &[]);
    let association = read(schemas.resource_type, &[]);

    let mut namespace_props = properties_of(&namespace, "MetadefNamespace", &|p| {
        format!("MetadefNamespace{}", pascal(p))
    });
    let mut object_props = properties_of(&object, "MetadefObject", &|p| {
        format!("MetadefObject{}", pascal(p))
    });
    // `type` is the only enum of a property definition.
    let mut property_props = properties_of(&property, "MetadefProperty", &|p| {
        format!("MetadefProperty{}", pascal(p))
    });
    let mut tag_props = properties_of(&tag, "MetadefTag", &|p| format!("MetadefTag{}", pascal(p)));
    let mut association_props =
        properties_of(&association, "MetadefResourceTypeAssociation", &|p| {
            format!("MetadefResourceTypeAssociation{}", pascal(p))
        });

    let mut model = ReadModel::new(&LENIENT);
    model.types_take("MetadefPropertyItems");
    model.claim_enum_types(&mut [
        &mut namespace_props,
        &mut object_props,
        &mut property_props,
        &mut tag_props,
        &mut association_props,
    ]);
    let target = |name, doc, required, source| ReadType {
        name,
        doc,
        required,
        source,
    };
    // What a namespace and an object contain is pointed at the generated types below.
    let namespace = without(
        &namespace,
        &[
            "properties",
            "objects",
            "tags",
            "resource_type_associations",
        ],
    );
    let object = without(&object, &["properties"]);
    let property = without(&property, &["items"]);

    let properties_doc = "The property definitions, by property name.";
    let mut read = model.rewrite(
        &namespace,
        &namespace_props,
        target(
            "MetadefNamespace",
            "A metadata definition namespace: a named group of property definitions, objects and tags, and the resource types it applies to.",
            &["namespace"],
            "image/v2/metadefs/namespace.json",
        ),
    )?;
    point(
        &mut read,
        "properties",
        map_of("MetadefProperty", properties_doc),
    );
    point(
        &mut read,
        "objects",
        array_of(
            "MetadefObject",
            "The namespace's objects (full namespace reads only).",
        ),
    );
    point(
        &mut read,
        "tags",
        array_of(
            "MetadefTag",
            "The namespace's tags (full namespace reads only).",
        ),
    );
    point(
        &mut read,
        "resource_type_associations",
        array_of(
            "MetadefResourceTypeAssociation",
            "The resource types the namespace applies to, with their prefixes.",
        ),
    );
    model.defs.insert("MetadefNamespace".into(), read);

    let mut read = model.rewrite(
        &object,
        &object_props,
        target(
            "MetadefObject",
            "A metadata definition object: a named group of property definitions within a namespace.",
            &["name"],
            "image/v2/metadefs/object.json",
        ),
    )?;
    point(
        &mut read,
        "properties",
        map_of("MetadefProperty", properties_doc),
    );
    model.defs.insert("MetadefObject".into(), read);

    // Inside a namespace or an object a property's name is its map key: not required here.
    // `minimum: 1` stays `1`, not `1.0`: `number` is a JSON number (see `read_schema`).
    let mut read = model.rewrite(
        &property,
        &property_props,
        target(
            "MetadefProperty",
            "A metadata definition property: the JSON-schema-like definition of one key (type, enum, bounds, ...).",
            &[],
            "image/v2/metadefs/property.json",
        ),
    )?;
    let items_type = property_props
        .iter()
        .find(|p| p.name == "type")
        .and_then(|p| p.enum_type.clone());
    if let Some(items_type) = items_type {
        let items_doc = "What each item of an `array` property must be.";
        model.defs.insert(
            "MetadefPropertyItems".into(),
            json!({"type": "object", "description": items_doc, "properties": {
                "type": reference(&items_type, "The items' type."),
                "enum": {"type": "array", "description": "The values an item may take."}
            }}),
        );
        point(
            &mut read,
            "items",
            reference("MetadefPropertyItems", items_doc),
        );
    }
    model.defs.insert("MetadefProperty".into(), read);

    let read = model.rewrite(
        &tag,
        &tag_props,
        target(
            "MetadefTag",
            "A metadata definition tag: a name within a namespace.",
            &["name"],
            "image/v2/metadefs/tag.json",
        ),
    )?;
    model.defs.insert("MetadefTag".into(), read);

    let read = model.rewrite(
        &association,
        &association_props,
        target(
            "MetadefResourceTypeAssociation",
            "A resource type a namespace applies to, with the prefix its properties take there.",
            &["name"],
            "image/v2/metadefs/resource_type.json",
        ),
    )?;
    // GET /v2/metadefs/resource_types lists resource types with no schema of their own: the
    // association's name and timestamps are what each one carries.
    let mut resource_type = read.clone();
    if let Some(props) = resource_type["properties"].as_object_mut() {
        props.retain(|name, _| matches!(name.as_str(), "name" | "created_at" | "updated_at"));
    }
    resource_type["title"] = json!("MetadefResourceType");
    resource_type["description"] =
        json!("A resource type metadata definitions can apply to (`OS::Glance::Image`, ...).");
    model
        .defs
        .insert("MetadefResourceTypeAssociation".into(), read);
    model
        .defs
        .insert("MetadefResourceType".into(), resource_type);

    let (defs, enums) = model.into_parts();
    let types = read_types_with(defs, &enum_names(&enums), &[], &LENIENT)
        .map_err(|e| format!("image/v2/metadefs/*.json: {e}"))?;
    let enum_code: TokenStream = enums
        .iter()
        .map(|e| open_enum(&e.name, &e.values, &e.description))
        .collect();
    Ok(quote! {
        #types
        #enum_code
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render;

    fn property_def() -> Value {
        json!({"type": "object", "additionalProperties": {"type": "object",
            "properties": {"type": {"type": "string", "enum": ["string", "integer", null]}},
            "required": ["type"]}})
    }

    #[test]
    fn definitions_are_inlined_and_all_of_merged() {
        let schema = json!({
            "definitions": {
                "positiveInteger": {"type": "integer", "minimum": 0},
                "positiveIntegerDefault0": {"allOf": [{"$ref": "#/definitions/positiveInteger"}, {"default": 0}]},
                "stringArray": {"type": "array", "items": {"type": "string"}},
                "property": property_def()
            },
            "properties": {
                "minLength": {"$ref": "#/definitions/positiveIntegerDefault0"},
                "required": {"$ref": "#/definitions/stringArray"},
                "properties": {"$ref": "#/definitions/property"}
            }
        });
        let out = inline_definitions(&schema, &["property"]);
        assert!(out.get("definitions").is_none());
        assert_eq!(
            out["properties"]["minLength"],
            json!({"type": "integer", "minimum": 0, "default": 0})
        );
        assert_eq!(
            out["properties"]["required"],
            json!({"type": "array", "items": {"type": "string"}})
        );
        // Kept for the caller to point at the generated type.
        assert_eq!(
            out["properties"]["properties"],
            json!({"$ref": "#/definitions/property"})
        );
    }

    #[test]
    fn defaults_go_but_a_property_named_default_stays() {
        let mut schema = json!({"properties": {
            "default": {},
            "uniqueItems": {"type": "boolean", "default": false},
            "items": {"type": "object", "properties": {"n": {"type": "integer", "default": 0}}}
        }});
        drop_defaults(&mut schema);
        assert_eq!(
            schema,
            json!({"properties": {
                "default": {},
                "uniqueItems": {"type": "boolean"},
                "items": {"type": "object", "properties": {"n": {"type": "integer"}}}
            }})
        );
    }

    #[test]
    fn a_reference_to_itself_does_not_loop() {
        let schema = json!({"definitions": {"loop": {"properties": {"next": {"$ref": "#/definitions/loop"}}}},
            "properties": {"a": {"$ref": "#/definitions/loop"}}});
        let out = inline_definitions(&schema, &[]);
        assert!(out["properties"]["a"]["properties"]["next"].is_object());
    }

    fn small() -> [Value; 5] {
        let property = json!({"name": "property", "properties": {
            "name": {"type": "string", "maxLength": 80},
            "title": {"type": "string"},
            "type": {"type": "string", "enum": ["array", "boolean", "integer", "number", "object", "string", null]},
            "minimum": {"type": "number"},
            "maxLength": {"$ref": "#/definitions/positiveInteger"},
            "minLength": {"allOf": [{"$ref": "#/definitions/positiveInteger"}, {"default": 0}]},
            "default": {},
            "enum": {"type": "array"},
            "items": {"type": "object", "properties": {"type": {"type": "string", "enum": ["string", null]}}}
        }, "definitions": {"positiveInteger": {"type": "integer", "minimum": 0}},
        "required": ["type", "title", "name"], "additionalProperties": false});
        let namespace = json!({"name": "namespace", "definitions": {"property": property_def()},
            "properties": {
                "namespace": {"type": "string", "maxLength": 80},
                "visibility": {"type": "string", "enum": ["public", "private"]},
                "properties": {"$ref": "#/definitions/property"},
                "objects": {"type": "array", "items": {"type": "object"}},
                "tags": {"type": "array", "items": {"type": "object"}},
                "resource_type_associations": {"type": "array", "items": {"type": "object"}}
            }, "required": ["namespace"], "additionalProperties": false});
        let object = json!({"name": "object", "definitions": {"property": property_def()},
            "properties": {"name": {"type": "string"}, "properties": {"$ref": "#/definitions/property"}},
            "required": ["name"]});
        let tag = json!({"name": "tag", "properties": {"name": {"type": "string"}, "created_at": {"type": "string"}}});
        let association = json!({"name": "resource_type_association", "properties": {
            "name": {"type": "string"}, "prefix": {"type": "string"}, "created_at": {"type": "string"}}});
        [namespace, object, property, tag, association]
    }

    fn generated() -> String {
        let [namespace, object, property, tag, resource_type] = small();
        let schemas = MetadefSchemas {
            namespace: &namespace,
            object: &object,
            property: &property,
            tag: &tag,
            resource_type: &resource_type,
        };
        render(metadefs_v2(&schemas).unwrap()).unwrap()
    }

    #[test]
    fn nested_schemas_become_references_to_the_generated_types() {
        let text = generated();
        for part in [
            "pub struct MetadefNamespace {",
            "pub properties: ::std::collections::BTreeMap<::std::string::String, MetadefProperty>",
            "pub objects: ::std::vec::Vec<MetadefObject>",
            "pub tags: ::std::vec::Vec<MetadefTag>",
            "pub resource_type_associations: ::std::vec::Vec<MetadefResourceTypeAssociation>",
            "pub struct MetadefObject {",
            "pub items: ::std::option::Option<MetadefPropertyItems>",
            "pub type_: ::std::option::Option<MetadefPropertyType>",
            "pub enum MetadefNamespaceVisibility {",
            "pub enum MetadefPropertyType {",
            "pub minimum: ::std::option::Option<::serde_json::Number>",
            "pub max_length: ::std::option::Option<u64>",
            "pub min_length: ::std::option::Option<u64>",
        ] {
            assert!(text.contains(part), "{part} missing:\n{text}");
        }
        // One open enum for `type` and `items.type`; typify's closed enum never appears.
        assert_eq!(text.matches("pub enum MetadefPropertyType {").count(), 1);
        assert!(
            !text.contains("pub enum MetadefPropertyItemsType"),
            "{text}"
        );
    }

    #[test]
    fn every_response_type_is_lenient_and_the_namespace_name_required() {
        let text = generated();
        for name in LENIENT {
            assert!(
                text.contains(&format!("impl<'de> ::serde::Deserialize<'de> for {name}")),
                "{name} lenient:\n{text}"
            );
        }
        assert!(
            text.contains("pub namespace: ::std::string::String,"),
            "{text}"
        );
        // A property inside a namespace has no `name` key: it is its map key.
        assert!(
            text.contains("pub name: ::std::option::Option<::std::string::String>"),
            "{text}"
        );
    }

    #[test]
    fn a_resource_type_keeps_only_its_own_fields() {
        let text = generated();
        let start = text.find("pub struct MetadefResourceType {").unwrap();
        let body = &text[start..start + text[start..].find("\n}").unwrap()];
        assert!(
            body.contains("pub name:") && body.contains("pub created_at:"),
            "{body}"
        );
        assert!(!body.contains("pub prefix:"), "{body}");
    }
}
