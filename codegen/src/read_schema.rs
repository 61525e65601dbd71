//! Stage 1: a schema rewritten for reading, the form typify is given.
//!
//! Every property schema is rebuilt from what reading needs (type, items, properties,
//! integer bounds, descriptions), so nothing typify would name on its own is left: a string
//! `enum` becomes a named open enum ([`crate::open_enum`](mod@crate::open_enum)), an object
//! with `properties` a named struct, `number` a `serde_json::Number` (`1` stays `1`, `0.5`
//! stays `0.5`), and what cannot be typed losslessly (`oneOf`, `anyOf`, `allOf`, `not`,
//! several types, an unknown `$ref`) any JSON value. Validation keywords are dropped (they
//! bind what we send, not what we read), and only the fields named in `required` stay
//! required.
//!
//! Every type name is claimed in one [`Names`] per module, so an enum never shares its name
//! with a struct or another enum (see [`crate::naming`]). A `$ref` to the schema's own
//! `definitions` is followed; one that refers to itself, or nesting deeper than
//! [`MAX_DEPTH`], is an error naming the schema file and the property.

use heck::ToPascalCase;
use serde_json::{Map, Value, json};

use crate::model::Property;
use crate::naming::{Names, doc_text, pascal, reserved_type_names};

/// The deepest nesting of objects and arrays a property may have.
pub const MAX_DEPTH: usize = 32;

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

/// The names of some hoisted enums.
pub fn enum_names(enums: &[HoistedEnum]) -> Vec<String> {
    enums.iter().map(|e| e.name.clone()).collect()
}

/// A type to make from an object schema.
#[derive(Debug, Clone, Copy)]
pub struct ReadType<'a> {
    /// The type name (`Image`).
    pub name: &'a str,
    /// Its doc comment.
    pub doc: &'a str,
    /// The properties that stay required.
    pub required: &'a [&'a str],
    /// The schema file, for errors (`image/v2/image.json`).
    pub source: &'a str,
}

/// What typify and the open enums are made from, for one generated module: the named
/// definitions, the open enums, and the type names in use.
///
/// ```
/// use openstack_images_codegen::model::properties_of;
/// use openstack_images_codegen::read_schema::{ReadModel, ReadType};
/// let schema = serde_json::json!({"properties": {
///     "status": {"type": "string", "enum": ["on", "off"]},
///     "size": {"type": "number"}
/// }});
/// let mut props = properties_of(&schema, "Thing", &|p| format!("Thing{p}"));
/// let mut model = ReadModel::new(&["Thing"]);
/// model.claim_enum_types(&mut [&mut props]);
/// let target = ReadType { name: "Thing", doc: "A thing.", required: &[], source: "thing.json" };
/// let read = model.rewrite(&schema, &props, target).unwrap();
/// assert_eq!(read["properties"]["size"]["$ref"], "#/definitions/JsonNumber");
/// let (_, enums) = model.into_parts();
/// assert_eq!(enums[0].name, "Thingstatus");
/// ```
#[derive(Debug, Clone)]
pub struct ReadModel {
    /// The named definitions typify is given.
    pub defs: Map<String, Value>,
    enums: Vec<HoistedEnum>,
    types: Names,
}

/// Where a value sits: the type name it would get, its path for errors, and the `$ref`s
/// being followed.
struct At<'a> {
    hint: String,
    path: String,
    depth: usize,
    refs: Vec<String>,
    root: &'a Value,
    source: &'a str,
}

impl At<'_> {
    fn error(&self, why: &str) -> String {
        format!("{}: property {:?}: {why}", self.source, self.path)
    }
}

impl ReadModel {
    /// An empty model whose module defines `fixed` types itself; the prelude's and the
    /// crate root's names are taken too.
    pub fn new(fixed: &[&str]) -> Self {
        let mut types = Names::reserving(reserved_type_names());
        for name in fixed {
            types.take(name);
        }
        ReadModel {
            defs: Map::new(),
            enums: Vec::new(),
            types,
        }
    }

    /// Takes a type name the caller defines itself.
    pub fn types_take(&mut self, name: &str) {
        self.types.take(name);
    }

    /// Claims the open enum type names of some properties, replacing each `enum_type` with
    /// the name it got: Glance's own properties before operator-defined ones (so an operator
    /// property `member_status` never takes `MemberStatus`), then by wanted name and
    /// property name.
    pub fn claim_enum_types(&mut self, groups: &mut [&mut [Property]]) {
        let mut wanted: Vec<(bool, String, String, usize, usize)> = Vec::new();
        for (g, props) in groups.iter().enumerate() {
            for (i, p) in props.iter().enumerate() {
                if let Some(name) = &p.enum_type {
                    wanted.push((p.custom, name.clone(), p.name.clone(), g, i));
                }
            }
        }
        wanted.sort();
        for (_, name, prop, g, i) in wanted {
            groups[g][i].enum_type = Some(self.claim_type(&name, &prop));
        }
    }

    /// A type name as typify writes it (it recases definition names: `ImageV1B` is
    /// `ImageV1b` there), so two claims never meet in its output.
    fn claim_type(&mut self, wanted: &str, source: &str) -> String {
        let mut source = source.to_owned();
        loop {
            let name = self.types.claim_pascal(&wanted.to_pascal_case(), &source);
            if name.to_pascal_case() == name {
                return name;
            }
            source.push('#');
        }
    }

    /// The object schema `schema` rewritten for reading as `target`; its enums and nested
    /// objects become definitions of this model.
    pub fn rewrite(
        &mut self,
        schema: &Value,
        props: &[Property],
        target: ReadType<'_>,
    ) -> Result<Value, String> {
        let mut out_props = Map::new();
        for prop in props {
            let source = &schema["properties"][&prop.name];
            let mut rewritten = match &prop.enum_type {
                Some(enum_type) => {
                    self.push_enum(enum_type, &prop.enum_values, &prop.description);
                    json!({"$ref": format!("#/definitions/{enum_type}")})
                }
                None => {
                    let at = At {
                        hint: format!("{}{}", target.name, pascal(&prop.name)),
                        path: prop.name.clone(),
                        depth: 0,
                        refs: Vec::new(),
                        root: schema,
                        source: target.source,
                    };
                    self.read_value(source, at)?
                }
            };
            if let Some(object) = rewritten.as_object_mut() {
                object.insert("description".into(), json!(prop.description));
            }
            out_props.insert(prop.name.clone(), rewritten);
        }
        Ok(json!({
            "type": "object",
            "description": target.doc,
            "title": target.name,
            "properties": out_props,
            "required": target.required,
        }))
    }

    /// The definitions and the open enums (sorted by name).
    pub fn into_parts(mut self) -> (Map<String, Value>, Vec<HoistedEnum>) {
        self.enums.sort_by(|a, b| a.name.cmp(&b.name));
        (self.defs, self.enums)
    }

    fn push_enum(&mut self, name: &str, values: &[String], description: &str) {
        self.defs.insert(
            name.to_owned(),
            json!({"type": "string", "enum": values, "description": description}),
        );
        self.enums.push(HoistedEnum {
            name: name.to_owned(),
            values: values.to_vec(),
            description: description.to_owned(),
        });
    }

    fn read_value(&mut self, schema: &Value, mut at: At<'_>) -> Result<Value, String> {
        if at.depth > MAX_DEPTH {
            return Err(at.error(&format!("nested deeper than {MAX_DEPTH} levels")));
        }
        let Some(object) = schema.as_object() else {
            return Ok(json!({}));
        };
        if let Some(reference) = object.get("$ref") {
            let name = reference
                .as_str()
                .and_then(|r| r.strip_prefix("#/definitions/"))
                .unwrap_or_default()
                .to_owned();
            let Some(target) = at.root.pointer(&format!("/definitions/{name}")) else {
                return Ok(json!({}));
            };
            if at.refs.contains(&name) {
                return Err(at.error(&format!(
                    "$ref \"#/definitions/{name}\" refers to itself (a recursive schema has no finite Rust type)"
                )));
            }
            at.refs.push(name);
            at.depth += 1;
            return self.read_value(&target.clone(), at);
        }
        let mut description = object
            .get("description")
            .and_then(Value::as_str)
            .map(doc_text);
        let declared = object.get("type").cloned();
        let mut types: Vec<&str> = match object.get("type") {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        types.retain(|t| *t != "null");
        let strings: Vec<String> = enum_strings(object);
        let main = match types.as_slice() {
            _ if ["oneOf", "anyOf", "allOf", "not"]
                .iter()
                .any(|k| object.contains_key(*k)) =>
            {
                "any"
            }
            [one] => one,
            [] if object.contains_key("properties") => "object",
            [] if object.contains_key("items") => "array",
            [] if !strings.is_empty() => "string",
            _ => "any",
        };
        let with_type = |extra: Map<String, Value>| {
            let mut out = Map::new();
            out.insert("type".into(), declared.clone().unwrap_or(json!(main)));
            out.extend(extra);
            Value::Object(out)
        };
        let mut out = match main {
            "string" if !strings.is_empty() => {
                let name = self.claim_type(&at.hint, &at.path);
                let doc = description
                    .clone()
                    .unwrap_or_else(|| format!("The `{}` property.", at.path));
                self.push_enum(&name, &strings, &doc);
                json!({"$ref": format!("#/definitions/{name}")})
            }
            "string" | "boolean" => with_type(Map::new()),
            "integer" => {
                let bounds = ["minimum", "maximum"]
                    .iter()
                    .filter_map(|k| Some(((*k).to_owned(), object.get(*k)?.clone())))
                    .filter(|(_, v)| v.is_number())
                    .collect();
                with_type(bounds)
            }
            "number" => {
                self.defs
                    .insert("JsonNumber".into(), json!({"type": "number"}));
                json!({"$ref": "#/definitions/JsonNumber"})
            }
            "array" => {
                let mut extra = Map::new();
                // typify reads a `uniqueItems` array as optional: absent stays apart from empty.
                if let Some(unique) = object.get("uniqueItems").filter(|u| u.is_boolean()) {
                    extra.insert("uniqueItems".into(), unique.clone());
                }
                if let Some(items) = object.get("items").filter(|i| i.is_object()) {
                    let item_at = At {
                        hint: format!("{}Item", at.hint),
                        path: format!("{}[]", at.path),
                        depth: at.depth + 1,
                        refs: at.refs.clone(),
                        ..at
                    };
                    extra.insert("items".into(), self.read_value(items, item_at)?);
                }
                with_type(extra)
            }
            "object" => match object.get("properties").and_then(Value::as_object) {
                Some(fields) if !fields.is_empty() => {
                    self.hoist_struct(fields, &at, description.take())?
                }
                _ => with_type(Map::new()),
            },
            _ => json!({}),
        };
        if let (Some(d), Some(o)) = (description, out.as_object_mut())
            && !o.contains_key("$ref")
        {
            o.insert("description".into(), json!(d));
        }
        Ok(out)
    }

    fn hoist_struct(
        &mut self,
        fields: &Map<String, Value>,
        at: &At<'_>,
        description: Option<String>,
    ) -> Result<Value, String> {
        let name = self.claim_type(&at.hint, &at.path);
        let mut props = Map::new();
        for (key, child) in fields {
            let child_at = At {
                hint: format!("{name}{}", pascal(key)),
                path: format!("{}.{key}", at.path),
                depth: at.depth + 1,
                refs: at.refs.clone(),
                root: at.root,
                source: at.source,
            };
            props.insert(key.clone(), self.read_value(child, child_at)?);
        }
        let mut def = json!({"type": "object", "properties": props});
        if let Some(description) = description {
            def["description"] = json!(description);
        }
        self.defs.insert(name.clone(), def);
        Ok(json!({"$ref": format!("#/definitions/{name}")}))
    }
}

/// The string values an `enum` lists, each once, in its order (`null` and other values left
/// out: those are read as unknown values, never lost).
fn enum_strings(object: &Map<String, Value>) -> Vec<String> {
    let mut values: Vec<String> = Vec::new();
    for v in object
        .get("enum")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !values.iter().any(|seen| seen == v) {
            values.push(v.to_owned());
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::properties_of;

    type Read = (Value, Map<String, Value>, Vec<HoistedEnum>);

    fn read(schema: &Value) -> Result<Read, String> {
        let mut props = properties_of(schema, "Thing", &|p| format!("Thing{}", pascal(p)));
        let mut model = ReadModel::new(&["Thing"]);
        model.claim_enum_types(&mut [&mut props]);
        let target = ReadType {
            name: "Thing",
            doc: "A thing.",
            required: &["id"],
            source: "image/v2/image.json",
        };
        let read = model.rewrite(schema, &props, target)?;
        let (defs, enums) = model.into_parts();
        Ok((read, defs, enums))
    }

    #[test]
    fn enums_and_nested_objects_become_named_definitions() {
        let schema = json!({"properties": {
            "id": {"type": "string", "pattern": "^[0-9a-f-]+$", "readOnly": true},
            "status": {"type": "string", "enum": ["queued", "active", "queued"], "description": "State."},
            "locations": {"type": "array", "items": {"type": "object", "properties": {
                "url": {"type": "string", "maxLength": 255},
                "kind": {"type": "string", "enum": ["a", "b"]}
            }}}
        }});
        let (read, defs, enums) = read(&schema).unwrap();
        assert_eq!(
            read["properties"]["status"],
            json!({"$ref": "#/definitions/ThingStatus", "description": "State."})
        );
        assert_eq!(
            read["properties"]["id"],
            json!({"type": "string", "description": "The `id` property."})
        );
        assert_eq!(
            read["properties"]["locations"]["items"],
            json!({"$ref": "#/definitions/ThingLocationsItem"})
        );
        assert_eq!(
            defs["ThingLocationsItem"]["properties"]["url"],
            json!({"type": "string"})
        );
        assert_eq!(read["title"], "Thing");
        assert_eq!(read["required"], json!(["id"]));
        // A nested enum is open too, and listed values come once.
        assert_eq!(
            enum_names(&enums),
            ["ThingLocationsItemKind", "ThingStatus"]
        );
        assert_eq!(enums[1].values, ["queued", "active"]);
    }

    #[test]
    fn number_is_a_json_number_and_odd_shapes_any_value() {
        let schema = json!({"properties": {
            "ratio": {"type": ["null", "number"]},
            "either": {"oneOf": [{"type": "string"}, {"type": "object", "properties": {"a": {}}}]},
            "mixed": {"type": ["string", "integer"]},
            "elsewhere": {"$ref": "https://example.org/x.json"}
        }});
        let (read, defs, enums) = read(&schema).unwrap();
        assert_eq!(
            read["properties"]["ratio"]["$ref"],
            "#/definitions/JsonNumber"
        );
        assert_eq!(defs["JsonNumber"], json!({"type": "number"}));
        for any in ["either", "mixed", "elsewhere"] {
            let keys: Vec<&String> = read["properties"][any]
                .as_object()
                .unwrap()
                .keys()
                .collect();
            assert_eq!(keys, ["description"], "{any}");
        }
        assert!(enums.is_empty() && defs.len() == 1);
    }

    #[test]
    fn a_recursive_schema_is_an_error_naming_file_and_property() {
        let schema = json!({
            "definitions": {"node": {"type": "object", "properties": {
                "next": {"$ref": "#/definitions/node"}
            }}},
            "properties": {"tree": {"$ref": "#/definitions/node"}}
        });
        let err = read(&schema).unwrap_err();
        assert_eq!(
            err,
            "image/v2/image.json: property \"tree.next\": $ref \"#/definitions/node\" refers to itself (a recursive schema has no finite Rust type)"
        );
        assert!(!err.contains('\n'));
    }

    #[test]
    fn nesting_deeper_than_the_bound_is_an_error() {
        let mut deep = json!({"type": "string"});
        for _ in 0..=MAX_DEPTH {
            deep = json!({"type": "object", "properties": {"d": deep}});
        }
        let schema = json!({"properties": {"deep": deep}});
        let err = read(&schema).unwrap_err();
        assert!(
            err.starts_with("image/v2/image.json: property \"deep.d.d."),
            "{err}"
        );
        assert!(err.ends_with("nested deeper than 32 levels"), "{err}");
        // Within the bound it is fine.
        let mut ok = json!({"type": "string"});
        for _ in 0..MAX_DEPTH - 1 {
            ok = json!({"type": "object", "properties": {"d": ok}});
        }
        read(&json!({"properties": {"deep": ok}})).unwrap();
    }

    #[test]
    fn enum_names_keep_apart_from_structs_and_each_other() {
        let mut image = properties_of(
            &json!({"properties": {
                "status": {"type": "string", "enum": ["queued"]},
                "member_status": {"type": "string", "enum": ["x"], "is_base": false},
                "image": {"type": "string", "enum": ["y"], "is_base": false}
            }}),
            "Image",
            &|p| match p {
                "status" => "ImageStatus".into(),
                other => pascal(other),
            },
        );
        let mut member = properties_of(
            &json!({"properties": {"status": {"type": "string", "enum": ["pending"]}}}),
            "Member",
            &|p| format!("Member{}", pascal(p)),
        );
        let mut model = ReadModel::new(&["Image", "Member"]);
        model.claim_enum_types(&mut [&mut image, &mut member]);
        let enum_type = |props: &[Property], name: &str| {
            props
                .iter()
                .find(|p| p.name == name)
                .and_then(|p| p.enum_type.clone())
                .unwrap()
        };
        assert_eq!(enum_type(&member, "status"), "MemberStatus");
        assert_eq!(enum_type(&image, "status"), "ImageStatus");
        assert!(enum_type(&image, "member_status").starts_with("MemberStatusX"));
        assert!(enum_type(&image, "image").starts_with("ImageX"));
    }
}
