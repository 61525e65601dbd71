//! How fast an image source streams through `open_source` (download or file read, hash,
//! decompression), to compare with `xz -dc FILE > /dev/null` and `curl URL | xz -dc`.
//!
//! `cargo run --release --example catalog_source -- SOURCE [ALGO:HEX]` reads SOURCE (an
//! `http(s)://` URL or `file:PATH`) to the end, checking the checksum if given, and prints the
//! compression found, the bytes read and yielded, and the decompressed MB/s.

use std::time::Instant;

use futures_util::StreamExt;
use openstack_images::{Checksum, ImageSource, SourceOptions, open_source};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let source = args
        .next()
        .ok_or("usage: catalog_source SOURCE [ALGO:HEX]")?;
    let source = ImageSource::parse(&source).ok_or("not an http(s) URL or file: path")?;
    let checksum = args
        .next()
        .map(|c| Checksum::parse(&c).ok_or("not ALGO:HEX"))
        .transpose()?;
    let started = Instant::now();
    let mut stream = open_source(&source, checksum.as_ref(), &SourceOptions::default()).await?;
    let stats = stream.stats();
    let compression = stream.compression();
    while let Some(chunk) = stream.next().await {
        chunk?;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{source}: {} raw -> {} bytes ({}) in {seconds:.3} s: {:.1} MB/s decompressed, {} resumes, {}",
        stats.raw_bytes(),
        stats.bytes(),
        compression.map_or("none".to_owned(), |c| c.to_string()),
        stats.bytes() as f64 / seconds / 1e6,
        stats.resumes(),
        stats.raw_digest().map_or(String::new(), |d| d.to_string()),
    );
    Ok(())
}
