//! Decoding metadef namespaces into the generated types, offline: two namespaces saved from
//! the local stack's Glance (after `glance-manage db_load_metadefs`), and variants with
//! values of unexpected types and enum values the schema does not list. Whatever arrives
//! is kept: re-encoding gives back the same JSON.

use openstack_images::{
    MetadefNamespace, MetadefNamespaceVisibility, MetadefPropertyType, UnknownValue,
};
use serde_json::{Value, json};

fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn round_trip(raw: &Value) -> MetadefNamespace {
    let ns: MetadefNamespace = serde_json::from_value(raw.clone()).unwrap();
    assert_eq!(
        &serde_json::to_value(&ns).unwrap(),
        raw,
        "re-encoded as received"
    );
    ns
}

#[test]
fn shipped_namespaces_decode_into_typed_fields() {
    let quota = round_trip(&fixture("metadef_namespace_quota.json"));
    assert_eq!(quota.namespace, "OS::Compute::Quota");
    assert_eq!(quota.visibility, Some(MetadefNamespaceVisibility::Public));
    assert!(quota.objects.len() >= 3 && quota.extra.is_empty());
    let object = &quota.objects[0];
    assert!(!object.properties.is_empty() && object.extra.is_empty());
    for p in object.properties.values() {
        assert!(p.type_.is_some() && p.extra.is_empty(), "{p:?}");
    }

    let cim = round_trip(&fixture("metadef_namespace_cim_processor.json"));
    let array = cim
        .properties
        .values()
        .find(|p| p.type_ == Some(MetadefPropertyType::Array))
        .expect("an array property");
    let items = array.items.as_ref().expect("its items");
    assert_eq!(items.type_, Some(MetadefPropertyType::String));
    assert!(!items.enum_.is_empty() && !array.operators.is_empty());
}

#[test]
fn unexpected_values_are_kept_not_dropped() {
    let mut raw = fixture("metadef_namespace_cim_processor.json");
    raw["visibility"] = json!("community");
    raw["protected"] = json!("yes");
    raw["vendor_field"] = json!({"a": [1, 2]});
    let (name, _) = raw["properties"]
        .as_object()
        .unwrap()
        .iter()
        .next()
        .map(|(k, v)| (k.clone(), v.clone()))
        .unwrap();
    raw["properties"][&name]["type"] = json!("tensor");
    raw["properties"][&name]["minimum"] = json!(1);
    raw["properties"][&name]["maximum"] = json!(2.5);
    raw["properties"][&name]["readonly"] = json!("no");
    let ns = round_trip(&raw);
    assert_eq!(
        ns.visibility,
        Some(MetadefNamespaceVisibility::from("community"))
    );
    assert!(matches!(
        ns.visibility,
        Some(MetadefNamespaceVisibility::Unknown(UnknownValue { .. }))
    ));
    assert_eq!(ns.protected, None);
    assert_eq!(ns.extra["protected"], "yes");
    assert_eq!(ns.extra["vendor_field"], json!({"a": [1, 2]}));
    let p = &ns.properties[&name];
    assert_eq!(p.type_.as_ref().map(|t| t.as_str()), Some("tensor"));
    assert_eq!(p.minimum, Some(1.into()), "an integer stays an integer");
    assert_eq!(p.extra["readonly"], "no");

    // A property definition that is not an object: the whole map is kept raw instead.
    raw["properties"]["broken"] = json!(5);
    let ns = round_trip(&raw);
    assert!(ns.properties.is_empty());
    assert_eq!(ns.extra["properties"]["broken"], 5);
}
