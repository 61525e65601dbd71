//! `osimg image inspect FILE`: a local image file's real format, virtual size and whether it
//! is safe to upload, without a cloud (the checks Glance's format inspector makes).

use std::path::{Path, PathBuf};

use clap::Args;
use openstack_images::{DataSource, Inspection, UnsafeReason};
use serde_json::{Map, Value, json};

use crate::output::Printer;
use crate::{CmdResult, Fail, exit_code, with_causes};

/// The arguments of `osimg image inspect`.
#[derive(Args)]
pub struct InspectArgs {
    /// The image file to inspect (only its headers are read; of a pipe, its first 4 MiB).
    pub file: PathBuf,
}

/// Inspects the file and prints `file`, `format`, `virtual_size`, `subformat`,
/// `partition_table`, `safe` and `unsafe_reasons`. An unsafe image is a result, not a
/// failure: the status is 0 and `safe` says false.
pub async fn run(out: &Printer, args: &InspectArgs) -> CmdResult {
    let file = args.file.display().to_string();
    let (inspection, _) = inspect_upload(&args.file).await?;
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

/// Glance's formats whose data is raw disk bytes (the AMI family): a raw file matches them.
const RAW_FORMATS: &[&str] = &["raw", "ami", "ari", "aki"];

/// Inspects the data of `image create --file` before anything is sent: a regular file or a
/// block device by its path, a pipe (`<(xz -dc disk.xz)`, `/dev/stdin`) from its first
/// bytes, which the returned source sends ahead of the rest.
pub async fn inspect_upload(file: &Path) -> CmdResult<(Inspection, DataSource)> {
    DataSource::file(file).inspect().await.map_err(|e| Fail {
        code: exit_code(&e),
        message: format!("{}: {}", file.display(), with_causes(&e)),
    })
}

/// The disk format `image create` declares. With `--file`, the file's inspection decides:
/// an unsafe file is refused, and so is one whose detected format is not `declared`
/// (unless `allow_mismatch`); without `--disk-format` the detected format is used.
pub fn upload_disk_format(
    file: Option<(&Path, &Inspection)>,
    declared: Option<&str>,
    allow_mismatch: bool,
) -> CmdResult<String> {
    let Some((file, inspection)) = file else {
        return Ok(declared.unwrap_or("raw").to_owned());
    };
    let detected = inspection.format.as_str();
    if !inspection.is_safe() {
        let reasons: Vec<String> = inspection
            .unsafe_reasons
            .iter()
            .map(UnsafeReason::to_string)
            .collect();
        return Err(Fail::usage(format!(
            "{}: refusing to upload an unsafe {detected} image: {}",
            file.display(),
            reasons.join("; ")
        )));
    }
    let Some(declared) = declared else {
        return Ok(detected.to_owned());
    };
    let matches = declared == detected || (detected == "raw" && RAW_FORMATS.contains(&declared));
    if !matches && !allow_mismatch {
        return Err(Fail::usage(format!(
            "{} is {detected} data, not {declared}: give --disk-format {detected}, or \
             --allow-format-mismatch to upload it as {declared}",
            file.display()
        )));
    }
    Ok(declared.to_owned())
}
