//! The generator behind `openstack-images`: the JSON schemas Glance serves (and one written
//! from Nova's responses) in, the crate's types, rule tables and builders out.
//!
//! The crate's `build.rs` loads `schemas/`, calls [`image_v2`], [`metadefs::metadefs_v2`] and
//! [`compute_v2_1`], and
//! writes the [`render`]ed source to `$OUT_DIR`, where `src/generated.rs` includes it.
//!
//! Each schema goes through three stages:
//! 1. [`read_schema`]: rewritten for reading: enums are hoisted into named definitions that
//!    become [open enums](mod@open_enum) (`Unknown` for values the schema does not list),
//!    validation keywords are dropped, every field but the id becomes optional;
//! 2. [`types`]: typify 0.8 turns the rewritten schema into structs, whose derived
//!    `Deserialize` is swapped for a [`lenient`] one that never drops data: a value of an
//!    unexpected type lands in `extra` under its own key;
//! 3. from the original schema ([`model`]): [`rules`] tables for request validation
//!    (read-only, enums, lengths, patterns) and the [`builders`]: a typed create builder,
//!    JSON-patch setters and list filters.
//!
//! Any schema an operator can serve either gives code that compiles and reads and writes
//! every property losslessly, or an error of one line naming the schema file and the
//! property (a recursive `$ref`, nesting deeper than [`read_schema::MAX_DEPTH`]); `build.rs`
//! prints it as `cargo::error=`. Names follow [`naming`]'s rules: keywords of every edition
//! get a trailing `_` (`gen_`, `type_`, `self_`); names that fold together (`os-distro`,
//! `os_distro`), enum type names that would clash with a struct or another enum
//! (`member_status` beside Member's `status`), and names of hand-written members (`extra`,
//! `new`, `validate`, ...) are settled deterministically: the exact spelling (then the
//! first in byte order, Glance's own properties before operator-defined ones for enum
//! types) keeps the plain name, later ones get a suffix derived from their own JSON
//! spelling, and the JSON spelling stays the serde key. `number` is `serde_json::Number`.
//!
//! The generated code names nothing of the crate but its runtime module, `crate::runtime`:
//! `Prim`, `Key`, `Lenient` and `via_value` (lenient decoding), `SchemaRules`,
//! `PropertyRules` and `ValueKind` (rule tables), `ImagePatch`/`PatchOp` and
//! `ImageListQuery::push_pair` (the builders it extends), and `Result`.

pub mod builders;
pub mod lenient;
pub mod metadefs;
pub mod model;
pub mod naming;
pub mod open_enum;
pub mod read_schema;
pub mod reserved;
pub mod rules;
pub mod types;

use proc_macro2::TokenStream;
use quote::quote;
use serde_json::{Value, json};

use crate::builders::{create_builder, list_filters, patch_setters};
use crate::model::properties_of;
use crate::naming::pascal;
use crate::open_enum::open_enum;
use crate::read_schema::{HoistedEnum, ReadModel, ReadType, enum_names};
use crate::rules::{additional_type, rule_table};
use crate::types::read_types;

/// The Image API v2 code from Glance's `image`, `member` and `task` schemas: the response
/// types (`Image`, `Member`, `Task` and what they contain), their open enums, the rule
/// tables `IMAGE_SCHEMA`/`MEMBER_SCHEMA`, `OPERATOR_PROPERTIES`, the create builder, the patch
/// setters and the list filters.
///
/// A schema no good code can be made from is an error of one line naming the schema file
/// (as under `schemas/`) and the property.
pub fn image_v2(image: &Value, member: &Value, task: &Value) -> Result<TokenStream, String> {
    let image_enum_name = |p: &str| match p {
        "status" => "ImageStatus".to_string(),
        "visibility" => "ImageVisibility".to_string(),
        other => pascal(other),
    };
    let mut image_props = properties_of(image, "Image", &image_enum_name);
    let mut member_props = properties_of(member, "Member", &|p| format!("Member{}", pascal(p)));
    let mut task_props = properties_of(task, "Task", &|p| format!("Task{}", pascal(p)));

    let mut model = ReadModel::new(&["Image", "Member", "Task", "ImageCreate"]);
    model.claim_enum_types(&mut [&mut image_props, &mut member_props, &mut task_props]);
    let read_image = model.rewrite(
        image,
        &image_props,
        ReadType {
            name: "Image",
            doc: "An image as Glance returns it: every property of the served schema as a typed field (operator-defined ones included), and everything else in `extra`.",
            required: &["id"],
            source: "image/v2/image.json",
        },
    )?;
    model.defs.insert("Image".into(), read_image);
    let read_member = model.rewrite(
        member,
        &member_props,
        ReadType {
            name: "Member",
            doc: "A project an image is shared with, and whether that project accepted it.",
            required: &["member_id"],
            source: "image/v2/member.json",
        },
    )?;
    model.defs.insert("Member".into(), read_member);
    let read_task = model.rewrite(
        task,
        &task_props,
        ReadType {
            name: "Task",
            doc: "An asynchronous Glance task (an import, for example).",
            required: &["id"],
            source: "image/v2/task.json",
        },
    )?;
    model.defs.insert("Task".into(), read_task);

    let (defs, enums) = model.into_parts();
    let types = read_types(defs, &enum_names(&enums), &["Image", "Member", "Task"])
        .map_err(|e| format!("image/v2/{{image,member,task}}.json: {e}"))?;
    let enum_code = open_enums(&enums);

    let table = rule_table("IMAGE_SCHEMA", &image_props, additional_type(image));
    let member_table = rule_table("MEMBER_SCHEMA", &member_props, None);
    let create = create_builder(&image_props);
    let patch = patch_setters(&image_props);
    let filters = list_filters(&image_props);
    let custom_names: Vec<&str> = image_props
        .iter()
        .filter(|p| p.custom)
        .map(|p| p.name.as_str())
        .collect();

    Ok(quote! {
        #types
        #enum_code
        #table
        #member_table
        /// The operator-defined properties of the served image schema (`is_base: false`).
        pub const OPERATOR_PROPERTIES: &[&str] = &[#(#custom_names),*];
        #create
        #patch
        #filters
    })
}

/// The Compute API v2.1 code from the image schema written from Nova's responses:
/// `ComputeImage` and what it contains, and its open enums.
pub fn compute_v2_1(image: &Value) -> Result<TokenStream, String> {
    // `links`, `server` and `metadata` get shapes of their own below.
    let mut image = image.clone();
    for (name, shape) in [
        ("links", "array"),
        ("server", "object"),
        ("metadata", "object"),
    ] {
        if let Some(slot) = image["properties"].get_mut(name) {
            let mut shape_only = json!({ "type": shape });
            if let Some(description) = slot.get("description") {
                shape_only["description"] = description.clone();
            }
            *slot = shape_only;
        }
    }
    let mut props = properties_of(&image, "ComputeImage", &|p| {
        format!("ComputeImage{}", pascal(p))
    });
    let mut model = ReadModel::new(&["ComputeImage", "ComputeLink", "ComputeImageServer"]);
    model.claim_enum_types(&mut [&mut props]);
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
    model.defs.insert("ComputeLink".into(), link);
    let mut rewritten = model.rewrite(
        &image,
        &props,
        ReadType {
            name: "ComputeImage",
            doc: "An image as the Compute API shows it (GET /v2.1/images/detail).",
            required: &["id"],
            source: "compute/v2.1/image.json",
        },
    )?;
    let links_ref = json!({"type": "array", "items": {"$ref": "#/definitions/ComputeLink"}, "description": "Links to the resource."});
    rewritten["properties"]["links"] = links_ref.clone();
    if rewritten["properties"].get("server").is_some() {
        model.defs.insert(
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
    if let Some(metadata) = rewritten["properties"].get_mut("metadata") {
        *metadata = json!({"type": "object", "additionalProperties": true, "description": "The image's custom properties, as free-form key/value pairs."});
    }
    model.defs.insert("ComputeImage".into(), rewritten);
    let (defs, enums) = model.into_parts();
    let types = read_types(defs, &enum_names(&enums), &["ComputeImage"])
        .map_err(|e| format!("compute/v2.1/image.json: {e}"))?;
    let enum_code = open_enums(&enums);
    Ok(quote! {
        #types
        #enum_code
    })
}

fn open_enums(enums: &[HoistedEnum]) -> TokenStream {
    enums
        .iter()
        .map(|e| open_enum(&e.name, &e.values, &e.description))
        .collect()
}

/// Generated tokens as formatted source (`prettyplease`), the text `build.rs` writes.
pub fn render(tokens: TokenStream) -> Result<String, String> {
    let file: syn::File = syn::parse2(tokens).map_err(|e| format!("generated code: {e}"))?;
    Ok(prettyplease::unparse(&file))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small_image() -> Value {
        json!({"properties": {
            "id": {"type": "string", "readOnly": true},
            "name": {"type": ["null", "string"], "maxLength": 255},
            "status": {"type": "string", "readOnly": true, "enum": ["queued", "active"]},
            "visibility": {"type": "string", "enum": ["public", "private"]},
            "os_distro": {"type": "string", "is_base": false}
        }, "additionalProperties": {"type": "string"}})
    }

    fn small_member() -> Value {
        json!({"properties": {
            "member_id": {"type": "string"},
            "status": {"type": "string", "enum": ["pending", "accepted"]}
        }})
    }

    fn small_task() -> Value {
        json!({"properties": {"id": {"type": "string"}, "type": {"type": "string", "enum": ["import"]}}})
    }

    #[test]
    fn image_v2_of_small_schemas_renders_every_part() {
        let tokens = image_v2(&small_image(), &small_member(), &small_task()).unwrap();
        let text = render(tokens).unwrap();
        for part in [
            "pub struct Image {",
            "pub struct Member {",
            "pub struct Task {",
            "pub enum ImageStatus {",
            "pub enum ImageVisibility {",
            "pub enum MemberStatus {",
            "pub enum TaskType {",
            "pub static IMAGE_SCHEMA:",
            "pub static MEMBER_SCHEMA:",
            "pub const OPERATOR_PROPERTIES: &[&str] = &[\"os_distro\"];",
            "pub struct ImageCreate {",
            "pub fn replace_visibility(",
            "pub fn os_distro_eq(",
        ] {
            assert!(text.contains(part), "{part} missing");
        }
    }

    #[test]
    fn the_generated_code_names_only_the_runtime_module() {
        let tokens = image_v2(&small_image(), &small_member(), &small_task()).unwrap();
        let text = render(tokens).unwrap();
        let outside: Vec<&str> = text
            .match_indices("crate::")
            .map(|(at, _)| &text[at..])
            .filter(|rest| !rest.starts_with("crate::runtime::"))
            .map(|rest| {
                rest.split(|c: char| c != ':' && !c.is_alphanumeric() && c != '_')
                    .next()
                    .unwrap_or(rest)
            })
            .collect();
        // The one exception is a doc link to the public error variant.
        assert_eq!(outside, ["crate::Error::InvalidInput"]);
        assert!(text.contains("crate::runtime::Prim"));
    }

    #[test]
    fn compute_v2_1_names_links_and_the_server() {
        let schema = json!({"properties": {
            "id": {"type": "string"},
            "links": {"type": "array"},
            "server": {"type": "object"},
            "metadata": {"type": "object", "properties": {"x": {"type": "string"}}},
            "status": {"type": "string", "enum": ["ACTIVE", "SAVING"]}
        }});
        let text = render(compute_v2_1(&schema).unwrap()).unwrap();
        assert!(
            text.contains("pub links: ::std::vec::Vec<ComputeLink>"),
            "{text}"
        );
        assert!(
            text.contains("pub server: ::std::option::Option<ComputeImageServer>"),
            "{text}"
        );
        assert!(
            text.contains("ComputeImageStatus::Saving => \"SAVING\""),
            "{text}"
        );
        assert!(
            text.contains(
                "pub metadata: ::serde_json::Map<::std::string::String, ::serde_json::Value>"
            ),
            "{text}"
        );
    }

    #[test]
    fn render_refuses_tokens_that_are_not_a_file() {
        assert!(
            render(quote!(fn))
                .unwrap_err()
                .starts_with("generated code:")
        );
    }
}
