//! `osimg schema`: the JSON schemas Glance serves.

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;
use clap::builder::TypedValueParser;
use openstack_images::{Client, SchemaKind, canonical_json};

use crate::CmdResult;
use crate::output::{Printer, escape_controls};

#[derive(Subcommand)]
pub enum SchemaCmd {
    /// Write every schema (image, images, member, members, task, tasks and the ten
    /// `metadefs/*`) as `<name>.json`, canonically: sorted keys, 2-space indent, trailing
    /// newline.
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
            std::fs::create_dir_all(&dir)?;
            for kind in SchemaKind::ALL {
                let v = images.schema_json(kind).await?;
                let path = dir.join(format!("{}.json", kind.as_str()));
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(&path, canonical_json(&v))?;
                let _ = writeln!(
                    std::io::stderr(),
                    "wrote {}",
                    escape_controls(&path.display().to_string())
                );
            }
            Ok(())
        }
        SchemaCmd::Show { kind } => out.document(&images.schema_json(kind).await?),
    }
}
