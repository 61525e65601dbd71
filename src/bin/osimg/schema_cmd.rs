//! `osimg schema`: the JSON schemas Glance serves.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use clap::builder::TypedValueParser;
use openstack_images::{BUILD_COMPUTE_IMAGE_SCHEMA, Client, SchemaKind, canonical_json};
use serde_json::Value;

use crate::output::{Format, Printer, col, escape_controls};
use crate::{CmdResult, Fail};

const DIFF_HELP: &str = "\
Read as `git diff BUILT SERVED`: property_added is a property the cloud serves and this
build lacks (its values stay untyped, in `extra`), property_removed one the build has and
the cloud no longer serves; enum_value_added / enum_value_removed likewise for the values
of an enum; property_changed names the keyword (type, pattern, maxLength, ...) that differs;
keyword_changed one of the schema's own (additionalProperties, required, ...); not_served a
schema the cloud does not serve (an older Glance). Nested properties are named by path
(`locations[].url`).

In CI, against your cloud: `osimg schema diff --exit-code` (exit 1 and nothing on stderr
when they differ; a failure to reach the cloud exits 1, 3 or 4 with a message, as any
command does). To rebuild against it:
`osimg schema pull --out my-schemas`, then build with OPENSTACK_IMAGES_SCHEMA_DIR=my-schemas.";

#[derive(Subcommand)]
pub enum SchemaCmd {
    /// Write every schema (image, images, member, members, task, tasks and the ten
    /// `metadefs/*`) as `DIR/image/v2/<name>.json`, canonically (sorted keys, 2-space
    /// indent, trailing newline), and this build's `DIR/compute/v2.1/image.json` (Nova
    /// serves none): a directory to build the crate from (OPENSTACK_IMAGES_SCHEMA_DIR=DIR).
    Pull {
        /// Directory to write to (created if missing).
        #[arg(long, value_name = "DIR", default_value = ".")]
        out: PathBuf,
    },
    /// Print one schema (JSON, or YAML with `-f yaml`).
    Show {
        /// Which schema.
        #[arg(value_parser = schema_kind())]
        kind: SchemaKind,
    },
    /// Compare the schemas this osimg was built from with the ones the cloud serves: one
    /// row per difference, nothing when they match.
    #[command(after_help = DIFF_HELP)]
    Diff {
        /// Exit with 1 when they differ, 0 when they match (as `git diff --exit-code`).
        #[arg(long)]
        exit_code: bool,
    },
}

/// `image`, `images`, ...: the library's names, offered as clap's possible values.
fn schema_kind() -> impl clap::builder::TypedValueParser<Value = SchemaKind> {
    clap::builder::PossibleValuesParser::new(SchemaKind::ALL.map(SchemaKind::as_str))
        .try_map(|name| name.parse::<SchemaKind>())
}

pub async fn run(client: &Client, out: &Printer, cmd: SchemaCmd) -> CmdResult {
    let images = client.images();
    match cmd {
        SchemaCmd::Pull { out: dir } => {
            for kind in SchemaKind::ALL {
                let v = images.schema_json(kind).await?;
                let path = dir.join(format!("image/v2/{kind}.json"));
                write_file(&path, &canonical_json(&v))?;
            }
            write_file(
                &dir.join("compute/v2.1/image.json"),
                BUILD_COMPUTE_IMAGE_SCHEMA,
            )
        }
        SchemaCmd::Show { kind } => out.document(&images.schema_json(kind).await?),
        SchemaCmd::Diff { exit_code } => {
            let drift = images.schema_drift().await?;
            let exact = matches!(out.format, Format::Json | Format::Yaml);
            let mut rows = Vec::new();
            for schema in &drift {
                for change in &schema.changes {
                    let mut row = serde_json::to_value(change).unwrap_or(Value::Null);
                    if let Value::Object(fields) = &mut row {
                        if !exact {
                            for (key, field) in fields.iter_mut() {
                                display_cell(key, field);
                            }
                        }
                        fields.insert("schema".into(), schema.kind.as_str().into());
                    }
                    rows.push(row);
                }
            }
            let cols = [
                col("Schema", "schema"),
                col("Change", "change"),
                col("Property", "property"),
                col("Keyword", "keyword"),
                col("Built", "built"),
                col("Served", "served"),
            ];
            out.list(&cols, &rows, true)?;
            if exit_code && !rows.is_empty() {
                // As `git diff --exit-code`: the status says it, the rows said what.
                return Err(Fail::other(String::new()));
            }
            Ok(())
        }
    }
}

/// A field of a change as a table, value or csv cell shows it: nothing for what the change
/// lacks (not openstack's `None`, which would read as an enum's null), names as they are,
/// and the built and served sides as JSON (`"vhdz"`, `null`, `255`).
fn display_cell(key: &str, field: &mut Value) {
    let text = match &*field {
        Value::Null => String::new(),
        Value::String(_) if key != "built" && key != "served" => return,
        other => other.to_string(),
    };
    *field = Value::String(text);
}

/// Writes a file, creating its directory, and says so on stderr.
fn write_file(path: &Path, text: &str) -> CmdResult {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, text)?;
    let _ = writeln!(
        std::io::stderr(),
        "wrote {}",
        escape_controls(&path.display().to_string())
    );
    Ok(())
}
