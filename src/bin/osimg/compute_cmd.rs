//! `osimg compute-image`: images through Nova's (deprecated, read-mostly) images API.

use clap::{Args, Subcommand};
use futures_util::TryStreamExt;
use openstack_images::{Client, ComputeImage, ComputeImageQuery};
use serde_json::Value;

use crate::output::{Printer, col};
use crate::{CmdResult, Fail};

#[derive(Subcommand)]
pub enum ComputeImageCmd {
    /// List images (GET /v2.1/images/detail).
    #[command(after_help = crate::output::LIST_MEMORY_HELP)]
    List(ListArgs),
    /// Show one image by id or name.
    Show {
        /// Image id or name.
        image: String,
    },
    /// Delete an image (Nova deletes it in Glance).
    Delete {
        /// Image id or name.
        image: String,
    },
}

#[derive(Args)]
pub struct ListArgs {
    /// Only images with this name.
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Only images with this status (ACTIVE, SAVING, ...).
    #[arg(long, value_name = "STATUS")]
    status: Option<String>,
    /// Only images of this type (snapshot, backup, ...).
    #[arg(long = "type", value_name = "TYPE")]
    image_type: Option<String>,
    /// Only snapshots of this server (id or URL).
    #[arg(long, value_name = "SERVER")]
    server: Option<String>,
    /// Only images changed since this time (ISO 8601).
    #[arg(long, value_name = "TIME")]
    changes_since: Option<String>,
    /// At most this many images.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Stop after this many images, whatever the page size (a cap for a server that
    /// pages without end).
    #[arg(long, value_name = "N")]
    max_items: Option<usize>,
    /// Also show size, minimum disk and RAM, progress and dates.
    #[arg(long)]
    long: bool,
}

fn to_json(image: &ComputeImage) -> CmdResult<Value> {
    serde_json::to_value(image).map_err(|e| Fail::other(e.to_string()))
}

/// An id, or else the one image with that name.
async fn resolve(client: &Client, name_or_id: &str) -> CmdResult<ComputeImage> {
    let images = client.compute_images();
    match images.get(name_or_id).await {
        Ok(i) => return Ok(i),
        Err(e) if !e.is_not_found() => return Err(e.into()),
        Err(_) => {}
    }
    let id = images.id_from_name(name_or_id).await?;
    Ok(images.get(&id).await?)
}

pub async fn run(client: &Client, out: &Printer, cmd: ComputeImageCmd) -> CmdResult {
    match cmd {
        ComputeImageCmd::List(a) => {
            let mut q = ComputeImageQuery::new();
            if let Some(v) = a.name {
                q = q.name(v);
            }
            if let Some(v) = a.status {
                q = q.status(v);
            }
            if let Some(v) = a.image_type {
                q = q.image_type(v);
            }
            if let Some(v) = a.server {
                q = q.server(v);
            }
            if let Some(v) = a.changes_since {
                q = q.changes_since(v);
            }
            if let Some(n) = a.limit.filter(|n| *n <= 1000) {
                q = q.page_size(n.max(1) as u64);
            }
            let max = a
                .limit
                .unwrap_or(usize::MAX)
                .min(a.max_items.unwrap_or(usize::MAX));
            let mut cols = vec![
                col("ID", "id"),
                col("Name", "name"),
                col("Status", "status"),
            ];
            if a.long {
                cols.extend([
                    col("Size", "OS-EXT-IMG-SIZE:size"),
                    col("Min Disk", "minDisk"),
                    col("Min RAM", "minRam"),
                    col("Progress", "progress"),
                    col("Created", "created"),
                    col("Updated", "updated"),
                ]);
            }
            let mut list = out.list_start(&cols, a.long);
            let mut stream = client.compute_images().list(q).max_items(max as u64);
            while let Some(i) = stream.try_next().await? {
                list.row(&to_json(&i)?)?;
            }
            list.finish()
        }
        ComputeImageCmd::Show { image } => {
            let image = resolve(client, &image).await?;
            match to_json(&image)? {
                Value::Object(m) => out.show(&m),
                other => out.document(&other),
            }
        }
        ComputeImageCmd::Delete { image } => {
            let image = resolve(client, &image).await?;
            client.compute_images().delete(&image.id).await?;
            Ok(())
        }
    }
}
