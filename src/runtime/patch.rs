//! The JSON-patch operations of an image update, and the list of them that the generated
//! `add_*`/`replace_*`/`remove_*` setters extend. The hand-written methods of
//! [`ImagePatch`] (and the media type) are in `crate::image::patch`.

use serde::Serialize;
use serde_json::Value;

/// One JSON-patch operation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "lowercase")]
#[non_exhaustive]
pub enum PatchOp {
    /// Add a property (in patch v2.1, also overwrites an existing one).
    Add {
        /// `/name`, `/tags`, `/os_distro`, ...
        path: String,
        /// The new value.
        value: Value,
    },
    /// Replace an existing property (the server answers 409 if it is absent).
    Replace {
        /// The property's path.
        path: String,
        /// The new value.
        value: Value,
    },
    /// Remove a property.
    Remove {
        /// The property's path.
        path: String,
    },
}

impl PatchOp {
    /// The path the operation applies to.
    ///
    /// ```
    /// use openstack_images::PatchOp;
    /// assert_eq!(PatchOp::Remove { path: "/x".into() }.path(), "/x");
    /// ```
    pub fn path(&self) -> &str {
        match self {
            PatchOp::Add { path, .. }
            | PatchOp::Replace { path, .. }
            | PatchOp::Remove { path } => path,
        }
    }
}

/// A list of patch operations for one image, with a typed `add_*`/`replace_*`/`remove_*`
/// method for every writable property of the served schema.
///
/// Lists are sent whole: `replace_tags` sets the image's tags to exactly the given ones
/// (Glance's patch has no path for one tag). To add or remove single tags, keeping the
/// others, use [`ImagesApi::add_tag`](crate::ImagesApi::add_tag) and
/// [`remove_tag`](crate::ImagesApi::remove_tag). `add_tags` is the old, deprecated name of
/// `replace_tags`.
///
/// ```
/// use openstack_images::{ImagePatch, ImageVisibility};
/// let patch = ImagePatch::new()
///     .replace_name("renamed")
///     .replace_visibility(ImageVisibility::Shared)
///     .add("hw_qemu_guest_agent", "yes")
///     .remove("obsolete_key");
/// assert_eq!(patch.ops().len(), 4);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[must_use]
pub struct ImagePatch {
    pub(crate) ops: Vec<PatchOp>,
}
