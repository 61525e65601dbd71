//! `osimg image location add|list`: the locations API (2.17). OSC has no command for it;
//! the words follow `image add project` / `image member list`.

use clap::Subcommand;
use openstack_images::Client;
use serde_json::{Value, json};

use crate::CmdResult;
use crate::output::{Printer, col};

#[derive(Subcommand)]
pub enum LocationCmd {
    /// Add a location to a queued image (Glance then reads it, checks the hash and
    /// activates the image in the background). Glance allows it to service users.
    Add {
        /// Image id or name.
        image: String,
        /// The location's URL.
        url: String,
        /// The data's hash algorithm (with --hash-value), for Glance to check.
        #[arg(long, value_name = "ALGO", requires = "hash_value")]
        hash_algo: Option<String>,
        /// The data's hash (hex), for Glance to check.
        #[arg(long, value_name = "HEX", requires = "hash_algo")]
        hash_value: Option<String>,
    },
    /// List the locations of an image's data (columns URL, Store, Metadata).
    List {
        /// Image id or name.
        image: String,
    },
}

pub async fn run(client: &Client, out: &Printer, cmd: LocationCmd) -> CmdResult {
    let images = client.images();
    match cmd {
        LocationCmd::Add {
            image,
            url,
            hash_algo,
            hash_value,
        } => {
            let image = images.find(&image).await?;
            let mut add = images.add_location(&image.id, url);
            if let (Some(algo), Some(value)) = (hash_algo, hash_value) {
                add = add.validation_data(algo, value);
            }
            Ok(add.send().await?)
        }
        LocationCmd::List { image } => {
            let image = images.find(&image).await?;
            let rows: Vec<Value> = images
                .locations(&image.id)
                .await?
                .iter()
                .map(|l| json!({"url": l.url, "store": l.store(), "metadata": l.metadata}))
                .collect();
            let cols = [
                col("URL", "url"),
                col("Store", "store"),
                col("Metadata", "metadata"),
            ];
            out.list(&cols, &rows, false)
        }
    }
}
