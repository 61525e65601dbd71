//! Patches built from arbitrary operations: validation and encoding never panic, and a patch
//! that validates encodes as a JSON-patch array of add/replace/remove.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use openstack_images::{ImageCreate, ImagePatch, PatchOp};
use serde_json::Value;

fn value(u: &mut Unstructured, depth: u32) -> arbitrary::Result<Value> {
    Ok(match u.int_in_range(0..=6)? {
        0 => Value::Null,
        1 => Value::Bool(bool::arbitrary(u)?),
        2 => Value::from(i64::arbitrary(u)?),
        3 => serde_json::Number::from_f64(f64::arbitrary(u)?).map_or(Value::Null, Value::Number),
        4 if depth < 3 => Value::Array(
            (0..u.int_in_range(0..=4)?)
                .map(|_| value(u, depth + 1))
                .collect::<arbitrary::Result<_>>()?,
        ),
        5 if depth < 3 => {
            let mut m = serde_json::Map::new();
            for _ in 0..u.int_in_range(0..=4)? {
                m.insert(String::arbitrary(u)?, value(u, depth + 1)?);
            }
            Value::Object(m)
        }
        _ => Value::String(String::arbitrary(u)?),
    })
}

fn key(u: &mut Unstructured) -> arbitrary::Result<String> {
    // Mostly real property names, sometimes anything.
    const KNOWN: &[&str] = &[
        "name",
        "tags",
        "status",
        "checksum",
        "visibility",
        "min_disk",
        "min_ram",
        "protected",
        "os_distro",
        "os_hidden",
        "locations/0",
        "locations/-",
        "id",
        "self",
        "file",
        "size",
        "properties",
        "os_glance_x",
        "hw_disk_bus",
        "container_format",
        "disk_format",
    ];
    if bool::arbitrary(u)? {
        Ok(u.choose(KNOWN)?.to_string())
    } else {
        String::arbitrary(u)
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let mut patch = ImagePatch::new();
    let mut create = ImageCreate::new("fuzz");
    for _ in 0..u.int_in_range(0..=16).unwrap_or(0) {
        let (Ok(k), Ok(op)) = (key(&mut u), u.int_in_range(0..=4)) else {
            break;
        };
        let Ok(v) = value(&mut u, 0) else { break };
        patch = match op {
            0 => patch.add(&k, v),
            1 => patch.replace(&k, v),
            2 => patch.remove(&k),
            3 => {
                create = create.property_value(k.clone(), v.clone());
                patch.op(PatchOp::Add { path: k, value: v })
            }
            _ => patch.replace_tags(Vec::<String>::arbitrary(&mut u).unwrap_or_default()),
        };
    }
    let valid = patch.validate().is_ok();
    let encoded = serde_json::to_value(patch.ops()).expect("a patch encodes");
    let ops = encoded.as_array().expect("an array");
    assert_eq!(ops.len(), patch.ops().len());
    if valid {
        for op in ops {
            let name = op["op"].as_str().expect("op");
            assert!(matches!(name, "add" | "replace" | "remove"), "{name}");
            assert!(op["path"].as_str().is_some_and(|p| p.starts_with('/')));
        }
    }
    let _ = create.validate();
    let _ = serde_json::to_vec(create.properties());
});
