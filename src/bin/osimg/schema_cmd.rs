//! `osimg schema`: the JSON schemas Glance serves.

use std::io::Write;
use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};
use openstack_images::{Client, SchemaKind};

use crate::CmdResult;
use crate::output::{Printer, escape_controls};

#[derive(Subcommand)]
pub enum SchemaCmd {
    /// Write the six schemas (image, images, member, members, task, tasks) as
    /// `<name>.json`, canonically: sorted keys, 2-space indent, trailing newline.
    Pull {
        /// Directory to write to (created if missing).
        #[arg(long, value_name = "DIR", default_value = ".")]
        out: PathBuf,
    },
    /// Print one schema (JSON, or YAML with `-f yaml`).
    Show {
        /// Which schema.
        #[arg(value_enum)]
        kind: Kind,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Kind {
    Image,
    Images,
    Member,
    Members,
    Task,
    Tasks,
}

impl From<Kind> for SchemaKind {
    fn from(k: Kind) -> Self {
        match k {
            Kind::Image => SchemaKind::Image,
            Kind::Images => SchemaKind::Images,
            Kind::Member => SchemaKind::Member,
            Kind::Members => SchemaKind::Members,
            Kind::Task => SchemaKind::Task,
            Kind::Tasks => SchemaKind::Tasks,
        }
    }
}

/// The canonical text `cargo xtask schema pull` writes: serde_json's maps are sorted, so
/// pretty printing gives sorted keys and a two-space indent.
pub fn canonical(v: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string());
    s.push('\n');
    s
}

pub async fn run(client: &Client, out: &Printer, cmd: SchemaCmd) -> CmdResult {
    let images = client.images();
    match cmd {
        SchemaCmd::Pull { out: dir } => {
            std::fs::create_dir_all(&dir)?;
            for kind in SchemaKind::ALL {
                let v = images.schema_json(kind).await?;
                let path = dir.join(format!("{}.json", kind.as_str()));
                std::fs::write(&path, canonical(&v))?;
                let _ = writeln!(
                    std::io::stderr(),
                    "wrote {}",
                    escape_controls(&path.display().to_string())
                );
            }
            Ok(())
        }
        SchemaCmd::Show { kind } => out.document(&images.schema_json(kind.into()).await?),
    }
}
