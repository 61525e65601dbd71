//! Images as python-openstackclient shows them: `image show` nests every field outside
//! its core set under `properties` (openstackclient's `_format_image`), `image list`
//! has its columns and sorts and filters client-side (`--sort`, `--property`), the way
//! openstacksdk's Image resource sees the fields.

use std::cmp::Ordering;

use openstack_images::ImagesApi;
use serde_json::{Map, Value};

use crate::cells::{Cell, Record, format_size, py_repr};
use crate::output::{Col, Printer, col, human_size};
use crate::{CmdResult, Fail};

/// The fields `image show` prints at the top level (openstackclient's `fields_to_show`,
/// by Glance's names); tags are apart, `location` and `self` are dropped, and everything
/// else goes under `properties`.
const CORE: [&str; 17] = [
    "status",
    "name",
    "container_format",
    "created_at",
    "size",
    "disk_format",
    "updated_at",
    "visibility",
    "min_disk",
    "protected",
    "id",
    "file",
    "checksum",
    "owner",
    "virtual_size",
    "min_ram",
    "schema",
];

/// openstacksdk's Image attributes (by its names): `--sort` takes these only, as in
/// openstack ("Resource doesn't have field" otherwise).
const SDK_ATTRIBUTES: [&str; 62] = [
    "checksum",
    "container_format",
    "created_at",
    "disk_format",
    "is_hidden",
    "is_protected",
    "hash_algo",
    "hash_value",
    "min_disk",
    "min_ram",
    "name",
    "owner_id",
    "properties",
    "size",
    "store",
    "status",
    "updated_at",
    "virtual_size",
    "visibility",
    "file",
    "locations",
    "direct_url",
    "url",
    "metadata",
    "architecture",
    "hypervisor_type",
    "instance_type_rxtx_factor",
    "instance_uuid",
    "needs_config_drive",
    "kernel_id",
    "os_distro",
    "os_version",
    "needs_secure_boot",
    "os_shutdown_timeout",
    "ramdisk_id",
    "vm_mode",
    "hw_cpu_sockets",
    "hw_cpu_cores",
    "hw_cpu_threads",
    "hw_disk_bus",
    "hw_cpu_policy",
    "hw_cpu_thread_policy",
    "hw_rng_model",
    "hw_machine_type",
    "hw_scsi_model",
    "hw_serial_port_count",
    "hw_video_model",
    "hw_video_ram",
    "hw_watchdog_action",
    "os_command_line",
    "hw_vif_model",
    "is_hw_vif_multiqueue_enabled",
    "is_hw_boot_menu_enabled",
    "vmware_adaptertype",
    "vmware_ostype",
    "has_auto_disk_config",
    "os_type",
    "os_admin_user",
    "hw_qemu_guest_agent",
    "os_require_quiesce",
    "schema",
    "id",
];

/// Properties openstacksdk types as integers: it shows `"2"` as `2`.
const INT_PROPERTIES: [&str; 6] = [
    "os_shutdown_timeout",
    "hw_cpu_sockets",
    "hw_cpu_cores",
    "hw_cpu_threads",
    "hw_serial_port_count",
    "hw_video_ram",
];

/// Glance's names of openstacksdk's Image attributes, in the order its class defines them:
/// the order of `to_dict()`, from which openstackclient's `_format_image` fills
/// `properties`. `properties` is where the keys the SDK does not know (custom properties,
/// `stores`) come, in the server's order.
const SDK_KEY_ORDER: [&str; 61] = [
    "checksum",
    "container_format",
    "created_at",
    "disk_format",
    "os_hidden",
    "protected",
    "os_hash_algo",
    "os_hash_value",
    "min_disk",
    "min_ram",
    "name",
    "owner",
    "properties",
    "size",
    "store",
    "status",
    "updated_at",
    "virtual_size",
    "visibility",
    "file",
    "locations",
    "direct_url",
    "url",
    "metadata",
    "architecture",
    "hypervisor_type",
    "instance_type_rxtx_factor",
    "instance_uuid",
    "img_config_drive",
    "kernel_id",
    "os_distro",
    "os_version",
    "os_secure_boot",
    "os_shutdown_timeout",
    "ramdisk_id",
    "vm_mode",
    "hw_cpu_sockets",
    "hw_cpu_cores",
    "hw_cpu_threads",
    "hw_disk_bus",
    "hw_cpu_policy",
    "hw_cpu_thread_policy",
    "hw_rng_model",
    "hw_machine_type",
    "hw_scsi_model",
    "hw_serial_port_count",
    "hw_video_model",
    "hw_video_ram",
    "hw_watchdog_action",
    "os_command_line",
    "hw_vif_model",
    "hw_vif_multiqueue_enabled",
    "hw_boot_menu",
    "vmware_adaptertype",
    "vmware_ostype",
    "auto_disk_config",
    "os_type",
    "os_admin_user",
    "hw_qemu_guest_agent",
    "os_require_quiesce",
    "schema",
];

/// An image's JSON object with its keys in the order the server sent them (serde_json's
/// map sorts them): `image show` needs it for the order inside `properties`.
pub struct ServerOrdered(pub Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for ServerOrdered {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Pairs;
        impl<'de> serde::de::Visitor<'de> for Pairs {
            type Value = ServerOrdered;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<ServerOrdered, A::Error> {
                let mut pairs = Vec::new();
                while let Some(pair) = map.next_entry::<String, Value>()? {
                    pairs.push(pair);
                }
                Ok(ServerOrdered(pairs))
            }
        }
        deserializer.deserialize_map(Pairs)
    }
}

/// An image as `openstack image show` prints it: core fields, `properties` and `tags`,
/// sorted by name, nulls left out (openstacksdk's `to_dict(ignore_none=True)`);
/// `human_readable` prints the size as osc-lib does (`1.5G`). Inside `properties`, the
/// keys openstacksdk knows come in its order and the others, where it puts them, in
/// `server_order` (the keys as the server sent them; empty: by name).
pub fn show_record(
    image: &Map<String, Value>,
    server_order: &[String],
    human_readable: bool,
) -> Record {
    let mut rec: Record = Vec::new();
    for (k, v) in image {
        if CORE.contains(&k.as_str()) && !v.is_null() {
            let v = match (k.as_str(), v.as_u64()) {
                ("size", Some(n)) if human_readable => Value::String(format_size(n)),
                _ => v.clone(),
            };
            rec.push((k.clone(), Cell::Plain(v)));
        }
    }
    let tags = image
        .get("tags")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    rec.push(("tags".into(), Cell::List(tags)));
    let extra = |k: &str| !CORE.contains(&k) && !matches!(k, "tags" | "self" | "location");
    let unknown: Vec<&String> = if server_order.is_empty() {
        image.keys().collect()
    } else {
        server_order.iter().collect()
    };
    let unknown = unknown
        .into_iter()
        .filter(|k| !SDK_KEY_ORDER.contains(&k.as_str()));
    let mut keys: Vec<&str> = Vec::new();
    for known in SDK_KEY_ORDER {
        if known == "properties" {
            keys.extend(unknown.clone().map(String::as_str));
        } else {
            keys.push(known);
        }
    }
    let mut props = Vec::new();
    for k in keys.into_iter().filter(|k| extra(k)) {
        let Some(v) = image.get(k).filter(|v| !v.is_null()) else {
            continue;
        };
        let v = match v.as_str().and_then(|s| s.parse::<i64>().ok()) {
            Some(n) if INT_PROPERTIES.contains(&k) => Value::from(n),
            _ => v.clone(),
        };
        props.push((k.to_owned(), v));
    }
    if !props.is_empty() {
        rec.push(("properties".into(), Cell::Dict(props)));
    }
    rec.sort_by(|a, b| a.0.cmp(&b.0));
    rec
}

/// Prints one image: openstack's record (inside `properties`, the keys in openstack's
/// order, which follows the server's), or with `--raw` the API's object.
pub(crate) fn print_image(out: &Printer, image: ServerOrdered, human_readable: bool) -> CmdResult {
    let server_order: Vec<String> = image.0.iter().map(|(k, _)| k.clone()).collect();
    let mut v: Map<String, Value> = image.0.into_iter().collect();
    if out.raw {
        if human_readable && let Some(size) = v.get("size").and_then(Value::as_u64) {
            v.insert("size".into(), Value::String(human_size(size)));
        }
        return out.show(&v);
    }
    out.show_record(&show_record(&v, &server_order, human_readable))
}

/// The columns of `openstack image list` (`--long`: more), with the Glance key each shows.
pub fn list_columns(long: bool) -> Vec<Col> {
    if !long {
        return vec![
            col("ID", "id"),
            col("Name", "name"),
            col("Status", "status"),
        ];
    }
    vec![
        col("ID", "id"),
        col("Name", "name"),
        col("Disk Format", "disk_format"),
        col("Container Format", "container_format"),
        col("Size", "size"),
        col("Checksum", "checksum"),
        col("Status", "status"),
        col("Visibility", "visibility"),
        col("Protected", "protected"),
        col("Project", "owner"),
        col("Hash Algorithm", "os_hash_algo"),
        col("Hash Value", "os_hash_value"),
        col("Tags", "tags"),
    ]
}

/// One image as a list row of `cols` (a missing field is `None`, tags a list column).
pub fn list_row(image: &Value, cols: &[Col]) -> Vec<Cell> {
    cols.iter()
        .map(|c| {
            let v = image.get(&c.key).cloned().unwrap_or(Value::Null);
            match v {
                Value::Array(items) if c.key == "tags" => Cell::List(items),
                other => Cell::Plain(other),
            }
        })
        .collect()
}

/// The Glance key of an openstacksdk attribute name (`--sort owner_id` sorts by `owner`).
fn glance_key(attr: &str) -> &str {
    match attr {
        "is_hidden" => "os_hidden",
        "is_protected" => "protected",
        "hash_algo" => "os_hash_algo",
        "hash_value" => "os_hash_value",
        "owner_id" => "owner",
        "needs_config_drive" => "img_config_drive",
        "needs_secure_boot" => "os_secure_boot",
        "is_hw_vif_multiqueue_enabled" => "hw_vif_multiqueue_enabled",
        "is_hw_boot_menu_enabled" => "hw_boot_menu",
        "has_auto_disk_config" => "auto_disk_config",
        other => other,
    }
}

/// osc-lib's `sort_items(images, "key:dir,...", str)`: a stable sort by each key from the
/// last to the first, comparing Python's `str()` of the values (so sizes sort as text).
/// A bad key or direction is a usage error (status 2; openstack leaves with 1).
pub fn sort_images(images: &mut [Value], spec: &str) -> CmdResult {
    if spec.trim().is_empty() {
        return Ok(());
    }
    for part in spec.trim().split(',').rev() {
        let (key, desc) = match part.split_once(':') {
            Some(("", _)) => return Err(Fail::usage("'<empty string>'' is not a valid sort key")),
            Some((k, "asc")) => (k, false),
            Some((k, "desc")) => (k, true),
            Some((k, d)) => {
                let d = if d.is_empty() { "<empty string>" } else { d };
                return Err(Fail::usage(format!(
                    "'{d}' is not a valid sort direction for sort key {k}, use 'asc' or 'desc' \
                     instead"
                )));
            }
            None => (part, false),
        };
        if !SDK_ATTRIBUTES.contains(&key) && key != "tags" {
            return Err(Fail::usage(format!("Resource doesn't have field {key}")));
        }
        let field = glance_key(key);
        let text = |v: &Value| match v.get(field) {
            Some(Value::String(s)) => s.clone(),
            Some(other) => py_repr(other),
            None => "None".to_owned(),
        };
        let order = |a: &Value, b: &Value| -> Ordering { text(a).cmp(&text(b)) };
        if desc {
            images.sort_by(|a, b| order(b, a));
        } else {
            images.sort_by(order);
        }
    }
    Ok(())
}

/// osc-lib's `simple_filter` of `image list --property KEY=VALUE`: an image stays if its
/// field KEY is the text VALUE (not empty).
pub fn property_matches(image: &Value, key: &str, value: &str) -> bool {
    matches!(image.get(glance_key(key)), Some(Value::String(s)) if !s.is_empty() && s == value)
}

/// Fetches image `id` and prints it as `image show` does.
pub(crate) async fn show(images: &ImagesApi, out: &Printer, id: &str) -> CmdResult {
    print_image(out, images.get_json_as(id).await?, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn show_nests_what_is_not_core_and_drops_self_and_nulls() {
        let image = json!({
            "id": "i", "name": "n", "tags": ["t1", "base"], "self": "/v2/images/i",
            "os_hidden": false, "stores": "fs", "foo": "bar", "checksum": null,
            "hw_cpu_cores": "2", "size": 1_500_000
        });
        let rec = show_record(image.as_object().unwrap(), &[], true);
        let names: Vec<&str> = rec.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["id", "name", "properties", "size", "tags"]);
        let Cell::Dict(props) = &rec[2].1 else {
            panic!("{rec:?}")
        };
        assert_eq!(
            Value::Object(props.iter().cloned().collect()),
            json!({"os_hidden": false, "stores": "fs", "foo": "bar", "hw_cpu_cores": 2})
        );
        assert_eq!(rec[3].1, Cell::Plain(json!("1.5M")));
    }

    /// openstack's order: the SDK's attributes in its order, the keys it does not know at
    /// its `properties` attribute, in the server's order.
    #[test]
    fn properties_keep_the_sdks_order_and_the_servers_for_the_rest() {
        let text = r#"{"zeta": "1", "os_distro": "cirros", "id": "i", "alpha": "2",
            "os_hidden": false, "mid": "3", "stores": "fs", "os_hash_algo": "sha512"}"#;
        let ServerOrdered(pairs) = serde_json::from_str(text).unwrap();
        let order: Vec<String> = pairs.iter().map(|(k, _)| k.clone()).collect();
        assert_eq!(order[..3], ["zeta", "os_distro", "id"], "as sent");
        let image: Map<String, Value> = pairs.into_iter().collect();
        let rec = show_record(&image, &order, false);
        let Some((_, Cell::Dict(props))) = rec.iter().find(|(k, _)| k == "properties") else {
            panic!("{rec:?}")
        };
        let keys: Vec<&str> = props.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "os_hidden",
                "os_hash_algo",
                "zeta",
                "alpha",
                "mid",
                "stores",
                "os_distro"
            ]
        );
        // Without the server's order, the unknown keys go by name.
        let rec = show_record(&image, &[], false);
        let Some((_, Cell::Dict(props))) = rec.iter().find(|(k, _)| k == "properties") else {
            panic!("{rec:?}")
        };
        let keys: Vec<&str> = props.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "os_hidden",
                "os_hash_algo",
                "alpha",
                "mid",
                "stores",
                "zeta",
                "os_distro"
            ]
        );
    }

    #[test]
    fn sorting_is_stable_and_by_text_like_osc_lib() {
        let mut images = vec![
            json!({"id": "1", "name": "b", "size": 20}),
            json!({"id": "2", "name": "a", "size": 100}),
            json!({"id": "3", "name": "b", "size": 3}),
        ];
        assert!(sort_images(&mut images, "name:asc").is_ok());
        let ids: Vec<&str> = images.iter().map(|i| i["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["2", "1", "3"]);
        assert!(sort_images(&mut images, "size").is_ok());
        let ids: Vec<&str> = images.iter().map(|i| i["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["2", "1", "3"], "\"100\" < \"20\" < \"3\" as text");
        assert!(sort_images(&mut images, "name:up").is_err());
        assert!(sort_images(&mut images, "bogus").is_err());
        assert!(sort_images(&mut images, "owner_id:desc").is_ok());
    }

    #[test]
    fn property_filters_match_text_only() {
        let image = json!({"foo": "bar", "min_disk": 0, "empty": ""});
        assert!(property_matches(&image, "foo", "bar"));
        assert!(!property_matches(&image, "min_disk", "0"));
        assert!(!property_matches(&image, "empty", ""));
        assert!(!property_matches(&image, "nope", "x"));
    }
}
