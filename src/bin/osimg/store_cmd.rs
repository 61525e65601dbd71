//! `osimg image stores list` and `osimg image delete --store`: the stores of a multi-store
//! cloud, in the columns of `openstack image stores list`, and deleting an image's data
//! from one of them as `openstack image delete --store` does.

use clap::Subcommand;
use openstack_images::Client;
use serde_json::{Value, json};

use crate::CmdResult;
use crate::output::{Printer, col};

#[derive(Subcommand)]
pub enum StoresCmd {
    /// List the stores (columns ID, Description, Default; with --detail also Type, Weight
    /// and Properties). Only multi-store clouds have any.
    List {
        /// Show each store's type, weight and driver properties (admin only, API 2.15).
        #[arg(long)]
        detail: bool,
    },
}

pub async fn run(client: &Client, out: &Printer, cmd: StoresCmd) -> CmdResult {
    let StoresCmd::List { detail } = cmd;
    let images = client.images();
    let mut cols = vec![
        col("ID", "id"),
        col("Description", "description"),
        col("Default", "is_default"),
    ];
    let rows: Vec<Value> = if detail {
        cols.extend([
            col("Type", "type"),
            col("Weight", "weight"),
            col("Properties", "properties"),
        ]);
        images
            .stores_detail()
            .await?
            .into_iter()
            .map(|s| {
                json!({"id": s.id, "description": s.description, "is_default": s.default.then_some(true),
                       "type": s.store_type, "weight": s.weight, "properties": s.properties})
            })
            .collect()
    } else {
        images
            .stores_info()
            .await?
            .into_iter()
            .map(|s| json!({"id": s.id, "description": s.description, "is_default": s.default.then_some(true)}))
            .collect()
    };
    out.list(&cols, &rows, false)
}

/// `image delete --store STORE IMAGE...`: removes each image's data from that store only.
pub async fn delete_from_store(client: &Client, store: &str, names: &[String]) -> CmdResult {
    let images = &client.images();
    let place = format!(" from store {store}");
    crate::delete_each("image", &place, names, |name| async move {
        images
            .delete_from_store(store, &images.find(&name).await?.id)
            .await
    })
    .await
}
