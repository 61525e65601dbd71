//! `osimg image copy`: an image into another cloud (streamed, verified on both sides), or
//! into more stores of its own cloud (Glance's copy-image import).

use clap::Args;
use openstack_images::Client;

use crate::image_args::WAIT;
use crate::image_record::show;
use crate::output::{Printer, escape_controls, report};
use crate::{CmdResult, Fail, progress};

#[derive(Args)]
pub struct CopyArgs {
    /// Image id or name.
    pub(crate) image: String,
    /// The cloud of clouds.yaml to copy the image into (another cloud, region or project).
    #[arg(
        long,
        value_name = "NAME",
        required_unless_present = "to_stores",
        conflicts_with = "to_stores"
    )]
    pub(crate) to_cloud: Option<String>,
    /// A store of this cloud to copy the data into, with Glance's copy-image import
    /// (repeatable; the data stays in the cloud).
    #[arg(long = "to-store", value_name = "STORE")]
    pub(crate) to_stores: Vec<String>,
    /// The copy's name in the other cloud (default: the image's name).
    #[arg(long, value_name = "NAME", requires = "to_cloud")]
    pub(crate) name: Option<String>,
}

pub(crate) async fn run(client: &Client, out: &Printer, a: CopyArgs) -> CmdResult {
    let images = client.images();
    let image = images.find(&a.image).await?;
    let Some(cloud) = &a.to_cloud else {
        let bar = progress::spinner(&format!(
            "copying image {} into {}",
            escape_controls(&image.id),
            escape_controls(&a.to_stores.join(", "))
        ));
        let copied = images
            .copy_to_stores(&image.id, a.to_stores.iter().cloned(), WAIT)
            .await;
        bar.finish_and_clear();
        copied?;
        return show(&images, out, &image.id).await;
    };
    let target =
        Client::from_cloud(cloud).map_err(|e| Fail::usage(format!("--to-cloud {cloud}: {e}")))?;
    let mut copy = images.copy_to(&image.id, &target).timeout(WAIT);
    if let Some(n) = &a.name {
        copy = copy.name(n);
    }
    let bar = progress::bytes("copy");
    let copied = copy.progress(progress::reporter(&bar)).send().await;
    bar.finish_and_clear();
    let copied = copied?;
    report(&format!(
        "copied image {} to cloud {cloud} as {} (size and {} verified on both sides)",
        image.id,
        copied.id,
        copied.os_hash_algo.as_deref().unwrap_or("hash"),
    ));
    show(&target.images(), out, &copied.id).await
}
