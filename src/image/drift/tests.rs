use serde_json::json;

use super::*;

/// A small image schema in Glance's shape.
fn image() -> Value {
    json!({
        "name": "image",
        "additionalProperties": {"type": "string"},
        "links": [{"href": "{self}", "rel": "self"}],
        "properties": {
            "id": {"type": "string", "pattern": "^[0-9a-f-]+$", "readOnly": true},
            "name": {"type": ["null", "string"], "maxLength": 255},
            "disk_format": {"type": ["null", "string"], "enum": [null, "raw", "qcow2"]},
            "os_distro": {"type": "string", "is_base": false},
            "locations": {"type": "array", "items": {"type": "object",
                "properties": {"url": {"type": "string", "maxLength": 255}}}},
            "hw_topology": {"type": "object", "properties": {"sockets": {"type": "integer"}}}
        }
    })
}

fn props(schema: &mut Value) -> &mut Map<String, Value> {
    schema["properties"].as_object_mut().unwrap()
}

#[test]
fn the_same_schema_has_no_changes() {
    assert_eq!(compare_schemas(&image(), &image()), vec![]);
}

#[test]
fn order_of_keys_types_and_enum_values_does_not_count() {
    let mut served = image();
    served["properties"]["name"]["type"] = json!(["string", "null"]);
    served["properties"]["disk_format"]["enum"] = json!(["qcow2", null, "raw", "raw"]);
    assert_eq!(compare_schemas(&image(), &served), vec![]);
}

#[test]
fn a_property_the_cloud_added() {
    let mut served = image();
    props(&mut served).insert("hw_new".into(), json!({"type": "string"}));
    assert_eq!(
        compare_schemas(&image(), &served),
        vec![SchemaChange::PropertyAdded {
            property: "hw_new".into(),
            served: json!({"type": "string"}),
        }]
    );
}

#[test]
fn a_property_the_cloud_removed() {
    let mut served = image();
    props(&mut served).remove("os_distro");
    assert_eq!(
        compare_schemas(&image(), &served),
        vec![SchemaChange::PropertyRemoved {
            property: "os_distro".into(),
            built: json!({"type": "string", "is_base": false}),
        }]
    );
}

#[test]
fn a_changed_type() {
    let mut served = image();
    served["properties"]["os_distro"]["type"] = json!(["null", "string"]);
    assert_eq!(
        compare_schemas(&image(), &served),
        vec![SchemaChange::PropertyChanged {
            property: "os_distro".into(),
            keyword: "type".into(),
            built: Some(json!("string")),
            served: Some(json!(["null", "string"])),
        }]
    );
}

#[test]
fn enum_values_added_and_removed() {
    let mut served = image();
    served["properties"]["disk_format"]["enum"] = json!([null, "qcow2", "vhdz", "ploop"]);
    assert_eq!(
        compare_schemas(&image(), &served),
        vec![
            SchemaChange::EnumValueRemoved {
                property: "disk_format".into(),
                value: json!("raw"),
            },
            SchemaChange::EnumValueAdded {
                property: "disk_format".into(),
                value: json!("vhdz"),
            },
            SchemaChange::EnumValueAdded {
                property: "disk_format".into(),
                value: json!("ploop"),
            },
        ]
    );
}

#[test]
fn an_enum_one_side_lacks_is_a_keyword_change() {
    let mut served = image();
    served["properties"]["os_distro"]["enum"] = json!(["ubuntu"]);
    assert_eq!(
        compare_schemas(&image(), &served),
        vec![SchemaChange::PropertyChanged {
            property: "os_distro".into(),
            keyword: "enum".into(),
            built: None,
            served: Some(json!(["ubuntu"])),
        }]
    );
}

#[test]
fn pattern_and_lengths() {
    let mut served = image();
    served["properties"]["id"]["pattern"] = json!("^.*$");
    served["properties"]["name"]["maxLength"] = json!(64);
    served["properties"]["name"]["minLength"] = json!(1);
    assert_eq!(
        compare_schemas(&image(), &served),
        vec![
            SchemaChange::PropertyChanged {
                property: "id".into(),
                keyword: "pattern".into(),
                built: Some(json!("^[0-9a-f-]+$")),
                served: Some(json!("^.*$")),
            },
            SchemaChange::PropertyChanged {
                property: "name".into(),
                keyword: "maxLength".into(),
                built: Some(json!(255)),
                served: Some(json!(64)),
            },
            SchemaChange::PropertyChanged {
                property: "name".into(),
                keyword: "minLength".into(),
                built: None,
                served: Some(json!(1)),
            },
        ]
    );
}

#[test]
fn nested_properties_are_named_by_path() {
    let mut served = image();
    served["properties"]["locations"]["items"]["properties"]["url"]["maxLength"] = json!(2048);
    let topology = served["properties"]["hw_topology"]["properties"]
        .as_object_mut()
        .unwrap();
    topology.remove("sockets");
    topology.insert("cores".into(), json!({"type": "integer"}));
    assert_eq!(
        compare_schemas(&image(), &served),
        vec![
            SchemaChange::PropertyAdded {
                property: "hw_topology.cores".into(),
                served: json!({"type": "integer"}),
            },
            SchemaChange::PropertyRemoved {
                property: "hw_topology.sockets".into(),
                built: json!({"type": "integer"}),
            },
            SchemaChange::PropertyChanged {
                property: "locations[].url".into(),
                keyword: "maxLength".into(),
                built: Some(json!(255)),
                served: Some(json!(2048)),
            },
        ]
    );
}

#[test]
fn the_schemas_own_keywords() {
    let mut served = image();
    let top = served.as_object_mut().unwrap();
    top.insert("additionalProperties".into(), json!(false));
    top.insert("required".into(), json!(["id"]));
    assert_eq!(
        compare_schemas(&image(), &served),
        vec![
            SchemaChange::KeywordChanged {
                keyword: "additionalProperties".into(),
                built: Some(json!({"type": "string"})),
                served: Some(json!(false)),
            },
            SchemaChange::KeywordChanged {
                keyword: "required".into(),
                built: None,
                served: Some(json!(["id"])),
            },
        ]
    );
}

/// Whatever the cloud sends: no panic, and a difference whenever the values differ.
#[test]
fn any_json_is_compared_without_panicking() {
    let odd = [
        json!(null),
        json!("image"),
        json!([1, 2]),
        json!({"properties": []}),
        json!({"properties": {"a": 5, "b": {"enum": "x", "items": 3}}}),
        json!({"properties": {"b": {"enum": [{"k": 1}, {"k": 1}], "items": {"properties": 1}}}}),
        image(),
    ];
    for built in &odd {
        for served in &odd {
            let changes = compare_schemas(built, served);
            assert_eq!(changes.is_empty(), built == served, "{built} vs {served}");
        }
    }
}

#[test]
fn serialized_flat() {
    let drift = SchemaDrift {
        kind: SchemaKind::MetadefTag,
        changes: vec![
            SchemaChange::NotServed,
            SchemaChange::PropertyRemoved {
                property: "name".into(),
                built: json!({"type": "string"}),
            },
        ],
    };
    assert_eq!(
        serde_json::to_value(&drift).unwrap(),
        json!({"schema": "metadefs/tag", "changes": [
            {"change": "not_served", "property": null, "keyword": null, "built": null, "served": null},
            {"change": "property_removed", "property": "name", "keyword": null,
             "built": {"type": "string"}, "served": null}
        ]})
    );
}

/// The build embeds every Glance schema of the committed directory, exactly, and they
/// parse; the eight types are generated from are always there.
#[test]
fn the_build_embeds_its_schemas() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/schemas");
    if option_env!("OPENSTACK_IMAGES_SCHEMA_DIR").is_some() {
        return; // built from another directory: nothing to compare with here
    }
    let embedded: Vec<(SchemaKind, &str)> = build_schemas().collect();
    assert_eq!(embedded.len(), SchemaKind::ALL.len());
    for kind in SchemaKind::ALL {
        let text = std::fs::read_to_string(format!("{dir}/image/v2/{kind}.json")).unwrap();
        assert_eq!(build_schema(kind), Some(text.as_str()), "{kind}");
    }
    let compute = std::fs::read_to_string(format!("{dir}/compute/v2.1/image.json")).unwrap();
    assert_eq!(BUILD_COMPUTE_IMAGE_SCHEMA, compute);
}
