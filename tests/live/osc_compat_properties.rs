//! `image show` keeps openstack's order of the keys inside `properties`: openstacksdk's
//! attributes in its order, and custom properties (and `stores`) in the order Glance sent
//! them, in every format that prints the dict as a dict (json, value, shell); a table and
//! yaml sort the keys, in both CLIs.

use serde_json::Value;

use crate::harness::{Cleanup, admin, raw, unique};
use crate::osc_compat::both;

/// The keys of the `properties` object of `-f json` output, in the order printed.
fn property_keys(json: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut inside = false;
    for line in json.lines() {
        if line.starts_with("  \"properties\": {") {
            inside = true;
        } else if inside && line.starts_with("  }") {
            break;
        } else if inside && let Some(key) = line.strip_prefix("    \"") {
            keys.push(key.split("\": ").next().unwrap().to_owned());
        }
    }
    keys
}

#[tokio::test(flavor = "multi_thread")]
async fn show_prints_properties_in_openstacks_order_in_every_format() {
    let admin = admin();
    let mut cleanup = Cleanup(Vec::new());
    // Custom properties set in an order that is not by name, among typed ones the SDK
    // knows (`os_distro`, `hw_disk_bus`) and one it knows as an integer.
    let create = raw(&unique("props-order"))
        .property("zeta", "1")
        .property("os_distro", "cirros")
        .property("alpha", "2")
        .property("hw_cpu_cores", "2")
        .property("mid", "3")
        .property("hw_disk_bus", "virtio")
        .property("beta", "4");
    let image = admin.images().create(create).await.unwrap();
    cleanup.0.push(image.id.clone());
    let id = image.id.as_str();

    let (o, m) = both(&["image", "show", id, "-f", "json"]);
    let (ko, km) = (property_keys(&o), property_keys(&m));
    assert!(ko.len() >= 7, "{o}");
    assert_eq!(ko, km, "json: the order inside properties");
    let mut sorted = km.clone();
    sorted.sort();
    assert_ne!(km, sorted, "not simply by name: {km:?}");
    let parse = |t: &str| serde_json::from_str::<Value>(t).unwrap();
    assert_eq!(parse(&o), parse(&m));

    for format in ["value", "shell", "table"] {
        let (o, m) = both(&["image", "show", id, "-f", format, "-c", "properties"]);
        assert_eq!(o, m, "-f {format} -c properties");
    }
    let (o, m) = both(&["image", "show", id, "-f", "yaml", "-c", "properties"]);
    assert_eq!(
        serde_saphyr::from_str::<Value>(&o).unwrap(),
        serde_saphyr::from_str::<Value>(&m).unwrap()
    );
    let (o, m) = both(&["image", "show", id, "-f", "shell"]);
    assert_eq!(o, m, "-f shell, every field");
    let (o, m) = both(&["image", "show", id, "-f", "value"]);
    assert_eq!(o, m, "-f value, every field");
}
