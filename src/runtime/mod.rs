//! What the generated code (`src/generated.rs`) is allowed to depend on, and nothing else:
//! lenient decoding, the sealed payload of open enums, the rule tables' types, and the core
//! of the two builders the generated setters and filters extend. Not public API: the few types users see are re-exported at
//! the crate root.

pub(crate) mod lenient;
pub(crate) mod open_enum;
pub(crate) mod patch;
pub(crate) mod query;
pub(crate) mod rules;

pub(crate) use crate::error::Result;
pub(crate) use lenient::{Key, Lenient, Prim, via_value};
pub use open_enum::UnknownValue;
pub use patch::{ImagePatch, PatchOp};
pub use query::ImageListQuery;
pub use rules::{PropertyRules, SchemaRules, ValueKind};
