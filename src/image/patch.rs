//! JSON-patch updates of an image (`PATCH /v2/images/{id}`, media type
//! `application/openstack-images-v2.1-json-patch`).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::generated::{IMAGE_SCHEMA, Image};

/// The media type Glance requires for image PATCH requests.
pub const PATCH_MEDIA_TYPE: &str = "application/openstack-images-v2.1-json-patch";

pub use crate::runtime::{ImagePatch, PatchOp};

fn path_of(key: &str) -> String {
    // JSON pointer escaping: `~` -> `~0`, `/` -> `~1`.
    format!("/{}", key.replace('~', "~0").replace('/', "~1"))
}

fn key_of(path: &str) -> String {
    path.trim_start_matches('/')
        .replace("~1", "/")
        .replace("~0", "~")
}

impl ImagePatch {
    /// An empty patch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or overwrites) any property.
    pub fn add(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.ops.push(PatchOp::Add {
            path: path_of(key),
            value: value.into(),
        });
        self
    }

    /// Replaces any existing property.
    pub fn replace(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.ops.push(PatchOp::Replace {
            path: path_of(key),
            value: value.into(),
        });
        self
    }

    /// Removes any property.
    pub fn remove(mut self, key: &str) -> Self {
        self.ops.push(PatchOp::Remove { path: path_of(key) });
        self
    }

    /// Appends a raw operation.
    pub fn op(mut self, op: PatchOp) -> Self {
        self.ops.push(op);
        self
    }

    /// The operations, in order.
    pub fn ops(&self) -> &[PatchOp] {
        &self.ops
    }

    /// True when there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The smallest patch that takes `current` to a state where every key of `set` has its
    /// value and every key of `remove` is gone. `add` is used for properties the image does
    /// not have and `replace` for those it has (Glance answers 409 to replacing an absent
    /// property); properties already at the wanted value produce no operation.
    ///
    /// ```
    /// # fn demo(image: &openstack_images::Image) {
    /// use openstack_images::ImagePatch;
    /// let patch = ImagePatch::to_reach(image, [("os_distro", "cirros".into())], ["old_key"]);
    /// # }
    /// ```
    pub fn to_reach<'a>(
        current: &Image,
        set: impl IntoIterator<Item = (&'a str, Value)>,
        remove: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let now: BTreeMap<String, Value> = match serde_json::to_value(current) {
            Ok(Value::Object(m)) => m.into_iter().collect(),
            _ => BTreeMap::new(),
        };
        let mut patch = ImagePatch::new();
        for (key, value) in set {
            patch = match now.get(key) {
                Some(v) if *v == value => patch,
                Some(Value::Null) | None => patch.add(key, value),
                Some(_) => patch.replace(key, value),
            };
        }
        for key in remove {
            if now.get(key).is_some_and(|v| !v.is_null()) {
                patch = patch.remove(key);
            }
        }
        patch
    }

    /// Checks every operation against the image schema: one-level paths (or
    /// `/locations/N`), no read-only properties, values of the right type.
    pub fn validate(&self) -> Result<()> {
        for op in &self.ops {
            let path = op.path();
            if !path.starts_with('/') || path.len() < 2 {
                return Err(Error::invalid(path, "patch paths look like `/name`"));
            }
            let key = key_of(path);
            if key.starts_with("locations/") {
                continue;
            }
            match op {
                PatchOp::Add { value, .. } | PatchOp::Replace { value, .. } => {
                    IMAGE_SCHEMA.check_write(&key, value)?
                }
                PatchOp::Remove { .. } => {
                    if let Some(p) = IMAGE_SCHEMA.prop(&key) {
                        if p.read_only {
                            return Err(Error::invalid(&key, "is read-only: the server sets it"));
                        }
                        if !p.custom && !p.nullable {
                            return Err(Error::invalid(
                                &key,
                                "is a base attribute and cannot be removed",
                            ));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_json_patch() {
        let p = ImagePatch::new()
            .replace_name("n")
            .add("a/b", "x")
            .remove("k");
        let v = serde_json::to_value(&p.ops).unwrap();
        assert_eq!(
            v,
            serde_json::json!([
                {"op": "replace", "path": "/name", "value": "n"},
                {"op": "add", "path": "/a~1b", "value": "x"},
                {"op": "remove", "path": "/k"}
            ])
        );
    }

    #[test]
    fn rejects_read_only_and_bad_types() {
        assert!(
            ImagePatch::new()
                .replace("checksum", "x")
                .validate()
                .is_err()
        );
        assert!(ImagePatch::new().add("os_distro", 5).validate().is_err());
        assert!(ImagePatch::new().remove("name").validate().is_ok());
        assert!(ImagePatch::new().remove("visibility").validate().is_err());
        assert!(ImagePatch::new().replace_min_disk(3).validate().is_ok());
    }
}
