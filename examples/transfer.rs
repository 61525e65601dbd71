//! Upload and verified download throughput, to compare with curl.
//!
//! `cargo run --release --example transfer -- 1024 [hashed-first]` uploads 1024 MiB of generated data to a
//! new raw image of the cloud named by `OS_CLOUD` (or `local`), once without hashing and once
//! hashed and checked against the hash Glance stored, downloads it with hash verification,
//! prints MB/s for each, and deletes the images. It also prints the rate at which this build
//! hashes the same data with sha512 on one core and nothing else: the limit a verified
//! download can approach.

use std::time::Instant;

use bytes::Bytes;
use futures_util::{StreamExt, stream};
use openstack_images::{Client, ContainerFormat, DataSource, DiskFormat, ImageCreate};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mib: u64 = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(256);
    let cloud = std::env::var("OS_CLOUD").unwrap_or_else(|_| "local".into());
    let client = Client::from_cloud(&cloud)?;
    let len = mib << 20;

    // The same 1 MiB block over and over: the cost of producing data stays out of the way.
    let block = Bytes::from(
        (0..1u32 << 20)
            .map(|i| (i * 7 + i / 4096) as u8)
            .collect::<Vec<_>>(),
    );

    // The hash alone, on this thread: the same implementation the crate verifies with.
    let started = Instant::now();
    let mut hasher = openstack_images::Hasher::new("sha512").ok_or("no sha512")?;
    for _ in 0..mib {
        hasher.update(&block)?;
    }
    std::hint::black_box(hasher.hex()?);
    let hash_secs = started.elapsed().as_secs_f64();

    let images = client.images();
    let create = || {
        images.create(
            ImageCreate::new("transfer-bench")
                .disk_format(DiskFormat::Raw)
                .container_format(ContainerFormat::Bare),
        )
    };
    let chunks = |block: Bytes| {
        DataSource::stream(stream::iter(
            (0..mib).map(move |_| Ok::<_, std::io::Error>(block.clone())),
        ))
        .size(len)
    };
    // The same upload without hashing, before the hashed one or (`hashed-first`) after it:
    // the later upload runs while the store still writes the earlier one back to disk.
    let hashed_first = std::env::args().nth(2).as_deref() == Some("hashed-first");
    let plain_upload = || async {
        let plain = create().await?;
        let started = Instant::now();
        let result = images
            .upload(&plain.id, chunks(block.clone()))
            .hash_algorithm(None)
            .send()
            .await;
        let secs = started.elapsed().as_secs_f64();
        images.delete(&plain.id).await?;
        result.map(|()| secs)
    };
    let plain_secs = if hashed_first {
        0.0
    } else {
        plain_upload().await?
    };

    let image = create().await?;
    let started = Instant::now();
    let up = images.upload(&image.id, chunks(block.clone())).send().await;
    let up_secs = started.elapsed().as_secs_f64();
    let plain_secs = if hashed_first {
        plain_upload().await?
    } else {
        plain_secs
    };

    let result = match up {
        Ok(()) => {
            let started = Instant::now();
            let mut data = client.images().download(&image.id).stream().await?;
            let mut got = 0u64;
            let mut failed = None;
            while let Some(chunk) = data.next().await {
                match chunk {
                    Ok(c) => got += c.len() as u64,
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            let down_secs = started.elapsed().as_secs_f64();
            println!(
                "hash-only: {mib} MiB in {hash_secs:.2} s = {:.1} MB/s (sha512, one core, {})",
                len as f64 / hash_secs / 1e6,
                openstack_images::HASH_BACKEND
            );
            println!(
                "upload-unhashed: {mib} MiB in {plain_secs:.2} s = {:.1} MB/s",
                len as f64 / plain_secs / 1e6
            );
            println!(
                "upload:   {mib} MiB in {up_secs:.2} s = {:.1} MB/s (hashed, checked)",
                len as f64 / up_secs / 1e6
            );
            println!(
                "download: {} MiB in {down_secs:.2} s = {:.1} MB/s (verified)",
                got >> 20,
                got as f64 / down_secs / 1e6
            );
            failed.map_or(Ok(()), Err)
        }
        Err(e) => Err(e),
    };
    client.images().delete(&image.id).await?;
    Ok(result?)
}
