//! Lists every image with a tag (Glance) or of an image type (Nova), timed in-process from
//! the client's creation (authentication included) to the last image; used by
//! `cargo xtask bench`, which builds it in release mode.
//!
//! `cargo run --release --example bench_list -- image bench-2k 1000` prints
//! `{"secs": 0.61, "items": 2000}`; a page size of 0 leaves the server's default. `compute
//! bench-2k` lists Nova's `/images/detail?type=bench-2k` instead.

use std::time::Instant;

use futures_util::TryStreamExt;
use openstack_images::{Client, ComputeImageQuery, ImageListQuery};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (api, filter) = match args.as_slice() {
        [api, filter, ..] => (api.as_str(), filter.clone()),
        _ => return Err("usage: bench_list image|compute TAG|TYPE [PAGE_SIZE]".into()),
    };
    let page: u64 = args.get(2).map(|a| a.parse()).transpose()?.unwrap_or(1000);
    let cloud = std::env::var("OS_CLOUD").unwrap_or_else(|_| "local".into());

    let started = Instant::now();
    let client = Client::from_cloud(&cloud)?;
    let items = match api {
        "image" => {
            let mut q = ImageListQuery::new().tag(filter);
            if page > 0 {
                q = q.page_size(page);
            }
            let pages = client.images().pages(q);
            pages
                .try_fold(0usize, |n, p| async move { Ok(n + p.items.len()) })
                .await?
        }
        "compute" => {
            let mut q = ComputeImageQuery::new().image_type(filter);
            if page > 0 {
                q = q.page_size(page);
            }
            let images = client.compute_images().list(q);
            images
                .try_fold(0usize, |n, _| async move { Ok(n + 1) })
                .await?
        }
        other => return Err(format!("unknown API {other}: image or compute").into()),
    };
    let secs = started.elapsed().as_secs_f64();
    println!("{{\"secs\": {secs:.6}, \"items\": {items}}}");
    Ok(())
}
