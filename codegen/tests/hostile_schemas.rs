//! The generator against schemas an operator could serve: random property names (keywords,
//! names that fold together, unicode, quotes, backslashes, leading digits, names of
//! hand-written members), types, enums and nesting. Each one must give code that parses and
//! names every item, field, variant and method once, or an error of one line naming the
//! property; never a panic. The committed corpus under `tests/fixtures/hostile-schemas/`
//! is checked here too where it must fail (the crate's offline tests compile the rest).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use openstack_images_codegen::{image_v2, naming::KEYWORDS, render};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Property names: hostile ones, and short random ones from an alphabet that folds.
fn name() -> impl Strategy<Value = String> {
    let hostile = prop::sample::select(vec![
        "type",
        "gen",
        "self",
        "Self",
        "super",
        "crate",
        "async",
        "try",
        "dyn",
        "r#type",
        "_",
        "extra",
        "new",
        "validate",
        "properties",
        "property",
        "property_value",
        "default",
        "clone",
        "os_distro",
        "os-distro",
        "OS_DISTRO",
        "os.distro",
        "osDistro",
        "status",
        "member_status",
        "task_type",
        "image",
        "Image",
        "id",
        "name",
        "",
        "-",
        "__",
        "9lives",
        "0",
        "größe",
        "日本",
        "a\"b",
        "a\\b",
        "`tick`",
        "```",
        "unknown",
        "Unknown",
        "e1000",
        "E1000",
        "JsonNumber",
        "Option",
        "Ok",
        "Error",
        "ImageCreate",
        "value",
    ])
    .prop_map(str::to_owned);
    let random = prop::collection::vec(
        prop::sample::select(vec!['a', 'B', '_', '-', '.', '1', 'é', '"', '\\', ' ']),
        0..6,
    )
    .prop_map(|cs| cs.into_iter().collect::<String>());
    prop_oneof![3 => hostile, 2 => random]
}

fn enum_values() -> impl Strategy<Value = Vec<Value>> {
    prop::collection::vec(
        prop_oneof![4 => name().prop_map(Value::String), 1 => Just(Value::Null)],
        1..6,
    )
}

/// A property schema: a leaf type, a string enum, several types, or (while `depth` lasts)
/// an array or an object of more.
fn schema(depth: u32) -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(json!({"type": "string"})),
        Just(json!({"type": ["null", "string"]})),
        Just(json!({"type": "integer"})),
        Just(json!({"type": "number"})),
        Just(json!({"type": ["null", "number"]})),
        Just(json!({"type": "boolean"})),
        Just(json!({"type": ["string", "integer"]})),
        Just(json!({})),
        Just(json!({"oneOf": [{"type": "string"}, {"type": "integer"}]})),
        enum_values().prop_map(|values| json!({"type": "string", "enum": values})),
        name().prop_map(|d| json!({"type": "string", "description": d})),
    ];
    if depth == 0 {
        return leaf.boxed();
    }
    prop_oneof![
        3 => leaf,
        1 => schema(depth - 1).prop_map(|items| json!({"type": "array", "items": items})),
        1 => prop::collection::btree_map(name(), schema(depth - 1), 0..4)
            .prop_map(|props| json!({"type": "object", "properties": props})),
    ]
    .boxed()
}

/// Properties with random `is_base: false` marks.
fn properties(max: usize) -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(name(), (schema(2), any::<bool>()), 0..max).prop_map(|props| {
        props
            .into_iter()
            .map(|(k, (mut v, custom))| {
                if custom {
                    v["is_base"] = json!(false);
                }
                (k, v)
            })
            .collect()
    })
}

fn with_base(base: Value, extra: Map<String, Value>) -> Value {
    let mut schema = base;
    let props = schema["properties"].as_object_mut().unwrap();
    for (k, v) in extra {
        props.entry(k).or_insert(v);
    }
    schema
}

fn base_image() -> Value {
    json!({"properties": {
        "id": {"type": "string"},
        "name": {"type": ["null", "string"]},
        "status": {"type": "string", "enum": ["queued", "active"]},
        "visibility": {"type": "string", "enum": ["public", "private"]}
    }, "additionalProperties": {"type": "string"}})
}

/// What can be checked without rustc: each module-level item, each struct's fields, each
/// enum's variants and each type's methods are named once, no identifier is a keyword of
/// any edition, and `Image` has a field for every property of the schema.
fn check_names(text: &str, image: &Value) -> Result<(), String> {
    let file: syn::File = syn::parse_str(text).map_err(|e| format!("does not parse: {e}"))?;
    let mut items = BTreeSet::new();
    let mut methods: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut image_keys = BTreeSet::new();
    let once = |set: &mut BTreeSet<String>, name: String, what: &str| {
        if KEYWORDS.contains(&name.as_str()) {
            return Err(format!("{what} {name} is a keyword"));
        }
        set.insert(name.clone())
            .then_some(())
            .ok_or(format!("{what} {name} twice"))
    };
    for item in &file.items {
        match item {
            syn::Item::Struct(s) => {
                once(&mut items, s.ident.to_string(), "item")?;
                let mut fields = BTreeSet::new();
                for f in &s.fields {
                    let ident = f.ident.as_ref().unwrap().to_string();
                    once(&mut fields, ident.clone(), "field")?;
                    if s.ident == "Image" {
                        image_keys.insert(rename(&f.attrs).unwrap_or(ident));
                    }
                }
            }
            syn::Item::Enum(e) => {
                once(&mut items, e.ident.to_string(), "item")?;
                let mut variants = BTreeSet::new();
                for v in &e.variants {
                    once(&mut variants, v.ident.to_string(), "variant")?;
                }
            }
            syn::Item::Const(c) => once(&mut items, c.ident.to_string(), "item")?,
            syn::Item::Static(s) => once(&mut items, s.ident.to_string(), "item")?,
            syn::Item::Impl(block) if block.trait_.is_none() => {
                let ty = quote::ToTokens::to_token_stream(&block.self_ty).to_string();
                let set = methods.entry(ty.clone()).or_default();
                for member in &block.items {
                    if let syn::ImplItem::Fn(f) = member {
                        once(set, f.sig.ident.to_string(), &format!("method of {ty}"))?;
                    }
                }
            }
            _ => {}
        }
    }
    let expected: BTreeSet<String> = image["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .chain(["extra".to_owned()])
        .collect();
    if image_keys != expected {
        return Err(format!("Image keys {image_keys:?}, schema {expected:?}"));
    }
    Ok(())
}

fn rename(attrs: &[syn::Attribute]) -> Option<String> {
    let mut found = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                found = Some(meta.value()?.parse::<syn::LitStr>()?.value());
            } else if meta.input.peek(syn::Token![=]) {
                let _: syn::Expr = meta.value()?.parse()?;
            }
            Ok(())
        });
    }
    found
}

/// How many cases run (`PROPTEST_CASES` overrides it).
const CASES: u32 = 300;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn any_schema_gives_unique_names_or_a_one_line_error(
        image_extra in properties(10),
        member_extra in properties(4),
        task_extra in properties(4),
    ) {
        let image = with_base(base_image(), image_extra);
        let member = with_base(json!({"properties": {
            "member_id": {"type": "string"},
            "status": {"type": "string", "enum": ["pending", "accepted"]}
        }}), member_extra);
        let task = with_base(json!({"properties": {
            "id": {"type": "string"},
            "type": {"type": "string", "enum": ["import"]}
        }}), task_extra);
        match image_v2(&image, &member, &task).and_then(render) {
            Ok(text) => {
                if let Err(why) = check_names(&text, &image) {
                    return Err(TestCaseError::fail(format!("{why}\nschema: {image}")));
                }
            }
            // Nothing generated here is recursive or too deep: every schema must be Ok.
            Err(e) => return Err(TestCaseError::fail(format!("error: {e}"))),
        }
    }
}

fn corpus(case: &str, file: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/hostile-schemas")
        .join(case)
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn committed(file: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../schemas")
        .join(file);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn the_recursive_corpus_case_fails_with_one_line_naming_file_and_property() {
    let image = corpus("recursive", "image/v2/image.json");
    let err = image_v2(
        &image,
        &committed("image/v2/member.json"),
        &committed("image/v2/task.json"),
    )
    .unwrap_err();
    assert!(!err.contains('\n'), "{err}");
    assert!(
        err.starts_with("image/v2/image.json: property \"hw_topology."),
        "{err}"
    );
    assert!(err.contains("refers to itself"), "{err}");
}

#[test]
fn the_combined_corpus_case_generates_code_with_unique_names() {
    let image = corpus("combined", "image/v2/image.json");
    let text = render(
        image_v2(
            &image,
            &committed("image/v2/member.json"),
            &committed("image/v2/task.json"),
        )
        .unwrap(),
    )
    .unwrap();
    check_names(&text, &image).unwrap();
}
