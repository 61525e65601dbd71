//! `osimg image inspect FILE`: a local image file's real format, virtual size and whether it
//! is safe to upload, without a cloud (the checks Glance's format inspector makes).

use std::path::PathBuf;

use clap::Args;
use serde_json::{Map, Value, json};

use crate::output::Printer;
use crate::{CmdResult, Fail, exit_code, with_causes};

/// The arguments of `osimg image inspect`.
#[derive(Args)]
pub struct InspectArgs {
    /// The image file to inspect (only its headers are read).
    pub file: PathBuf,
}

/// Inspects the file and prints `file`, `format`, `virtual_size`, `subformat`,
/// `partition_table`, `safe` and `unsafe_reasons`. An unsafe image is a result, not a
/// failure: the status is 0 and `safe` says false.
pub fn run(out: &Printer, args: &InspectArgs) -> CmdResult {
    let file = args.file.display().to_string();
    let inspection = openstack_images::inspect_file(&args.file).map_err(|e| Fail {
        code: exit_code(&e),
        message: format!("{file}: {}", with_causes(&e)),
    })?;
    let reasons: Vec<Value> = inspection
        .unsafe_reasons
        .iter()
        .map(|reason| json!(reason.to_string()))
        .collect();
    let mut fields = Map::new();
    fields.insert("file".into(), json!(file));
    fields.insert("format".into(), json!(inspection.format.as_str()));
    fields.insert("virtual_size".into(), json!(inspection.virtual_size));
    fields.insert("subformat".into(), json!(inspection.subformat));
    fields.insert(
        "partition_table".into(),
        json!(inspection.partition_table.map(|table| table.to_string())),
    );
    fields.insert("safe".into(), json!(inspection.is_safe()));
    fields.insert("unsafe_reasons".into(), Value::Array(reasons));
    out.show(&fields)
}
