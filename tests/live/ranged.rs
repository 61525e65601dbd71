//! Parallel ranged downloads against the real Glance, whose `file` store serves ranges.
//!
//! The fault proxy stands between the client and Glance only to see the requests (their
//! `Range` headers, how many were in flight) and, where a test says so, for what the local
//! Glance cannot be made to do: answer 400 to a range, as its `rbd` and `swift` stores do,
//! break a segment mid-body, or flip a byte.

use std::time::Duration;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use openstack_images::{Client, DataSource, Error, Image, RetryPolicy};

use crate::cli::ok;
use crate::harness::{Cleanup, admin, glance_proxy, image_with_data, patterned};
use crate::proxy::{Fault, Proxy};

/// Segments are 2 MiB, and the probe is two of them (4 MiB): 7 MiB + 3 bytes is the probe
/// and two segments, the last one short.
const LEN: u32 = 7 * 1024 * 1024 + 3;
/// log2 of the segment size.
const SEGMENT_BITS: u32 = 21;

fn fast() -> RetryPolicy {
    RetryPolicy::default()
        .base_delay(Duration::from_millis(20))
        .max_delay(Duration::from_secs(2))
}

async fn parallel_download(
    client: &Client,
    image: &Image,
    n: usize,
) -> openstack_images::Result<Vec<u8>> {
    let chunks: Vec<Bytes> = client
        .images()
        .download(&image.id)
        .image(image.clone())
        .parallel(n)
        .stream()
        .await?
        .try_collect()
        .await?;
    Ok(chunks.concat())
}

/// The `Range` headers of the data requests the proxy saw, in order (`None`: no range).
fn data_ranges(proxy: &Proxy) -> Vec<Option<String>> {
    proxy
        .seen()
        .into_iter()
        .filter(|s| s.method == "GET" && s.target.ends_with("/file"))
        .map(|s| s.range)
        .collect()
}

/// `ranges` with all but the first sorted: requests sent at once arrive in any order.
fn in_any_order_after_the_first(mut ranges: Vec<Option<String>>) -> Vec<Option<String>> {
    if let Some(rest) = ranges.get_mut(1..) {
        rest.sort();
    }
    ranges
}

/// Six segments' worth: the probe (two), two more, and a trial of the last two; the probe
/// asks for all four before the trial.
async fn six_segment_image(cleanup: &mut Cleanup, prefix: &str) -> (Image, Vec<u8>) {
    let data = patterned(6 << SEGMENT_BITS, 251);
    let image = image_with_data(&admin(), cleanup, prefix, DataSource::bytes(data.clone())).await;
    (image, data)
}

/// The `Range` header of segment `i` (2 MiB each).
fn segment(i: u64) -> Option<String> {
    Some(format!(
        "bytes={}-{}",
        i << SEGMENT_BITS,
        ((i + 1) << SEGMENT_BITS) - 1
    ))
}

async fn patterned_image(client: &Client, cleanup: &mut Cleanup, prefix: &str) -> (Image, Vec<u8>) {
    let data = patterned(LEN, 251);
    let image = image_with_data(client, cleanup, prefix, DataSource::bytes(data.clone())).await;
    (image, data)
}

#[tokio::test]
async fn parallel_download_fetches_ranges_at_once_and_yields_the_single_streams_bytes() {
    let admin = admin();
    let mut cleanup = Cleanup(vec![]);
    let (image, data) = patterned_image(&admin, &mut cleanup, "ranged").await;
    let (proxy, client) = glance_proxy(fast()).await;

    let got = parallel_download(&client, &image, 2).await.unwrap();
    assert!(
        got == data,
        "the parallel download's bytes differ from the image's"
    );
    let mut ranges = data_ranges(&proxy);
    ranges.sort();
    let want: Vec<Option<String>> = [
        "bytes=0-4194303",
        "bytes=4194304-6291455",
        "bytes=6291456-7340034",
    ]
    .into_iter()
    .map(|r| Some(r.to_owned()))
    .collect();
    assert_eq!(ranges, want);
    assert!(
        proxy.max_in_flight() >= 2,
        "ranges were fetched one after the other"
    );

    // To a file, through the same path, with more requests asked than there are segments;
    // an image of at most the probe (4 MiB) is one stream whatever is asked.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("disk.raw");
    let n = client
        .images()
        .download(&image.id)
        .parallel(16)
        .to_file(&path)
        .await
        .unwrap();
    assert_eq!(n, u64::from(LEN));
    assert!(std::fs::read(&path).unwrap() == data);
    let small = image_with_data(
        &admin,
        &mut cleanup,
        "ranged-small",
        DataSource::bytes(vec![5u8; 1000]),
    )
    .await;
    proxy.clear();
    let before = data_ranges(&proxy).len();
    assert_eq!(
        parallel_download(&client, &small, 4).await.unwrap(),
        vec![5u8; 1000]
    );
    assert_eq!(data_ranges(&proxy)[before..], [None]);
}

#[tokio::test]
async fn the_download_ramps_to_parallel_only_when_ranges_at_once_beat_one_stream() {
    let mut cleanup = Cleanup(vec![]);
    let (image, data) = six_segment_image(&mut cleanup, "ranged-ramp").await;
    let (proxy, client) = glance_proxy(fast()).await;

    // The local path is not limited per connection; the proxy makes it look so by holding
    // the two trial responses back: two at once are slower than one, so the rest is one
    // ranged stream (the probe's own, which asked for all before the trial).
    proxy.on("GET", "/file", 1, Fault::Stall(Duration::ZERO));
    proxy.on("GET", "/file", 2, Fault::Stall(Duration::from_secs(2)));
    assert!(parallel_download(&client, &image, 2).await.unwrap() == data);
    let probe = Some(format!("bytes=0-{}", (4 << SEGMENT_BITS) - 1));
    // The probe's stream went on: no request for the rest.
    assert_eq!(
        in_any_order_after_the_first(data_ranges(&proxy)),
        in_any_order_after_the_first(vec![probe.clone(), segment(4), segment(5)])
    );

    // Now the probe is the slow one: two at once beat it, and the rest goes in ranges too.
    proxy.clear();
    let before = data_ranges(&proxy).len();
    proxy.on("GET", "/file", 1, Fault::Stall(Duration::from_secs(2)));
    assert!(parallel_download(&client, &image, 2).await.unwrap() == data);
    let mut ranges = data_ranges(&proxy)[before..].to_vec();
    let mut want: Vec<_> = [probe].into_iter().chain((2..6).map(segment)).collect();
    let mut trial = ranges[1..3].to_vec();
    trial.sort();
    let mut want_trial = vec![segment(4), segment(5)];
    want_trial.sort();
    assert_eq!(trial, want_trial, "the trial came first");
    ranges.sort();
    want.sort();
    assert_eq!(ranges, want);
}

/// A caller slower than the connection (a hash, a disk) holds the probe's bytes back; that
/// wait is not the connection's, and must not make the trial's segments (kept in memory, not
/// held back) look faster than one stream. Here the caller takes 3 s over the probe's first
/// chunk and the proxy holds each trial response back 1 s: counting the caller's wait, the
/// probe came at 4 MiB / 3 s and the trial at 4 MiB / 1 s (so it went on in ranges); without
/// it the probe's connection was far faster than the trial, so the rest is one stream.
#[tokio::test]
async fn a_slow_caller_does_not_make_the_download_go_parallel() {
    let mut cleanup = Cleanup(vec![]);
    let (image, data) = six_segment_image(&mut cleanup, "ranged-slow-caller").await;
    let (proxy, client) = glance_proxy(fast()).await;
    proxy.on("GET", "/file", 1, Fault::Stall(Duration::ZERO));
    proxy.on("GET", "/file", 2, Fault::Stall(Duration::from_secs(1)));
    let mut stream = client
        .images()
        .download(&image.id)
        .image(image.clone())
        .parallel(2)
        .stream()
        .await
        .unwrap();
    let mut got = Vec::with_capacity(data.len());
    while let Some(chunk) = stream.next().await {
        if got.is_empty() {
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
        got.extend_from_slice(&chunk.unwrap());
    }
    assert!(got == data, "the download's bytes differ from the image's");
    let ranges = data_ranges(&proxy);
    let probe = Some(format!("bytes=0-{}", (4 << SEGMENT_BITS) - 1));
    assert_eq!(
        in_any_order_after_the_first(ranges),
        in_any_order_after_the_first(vec![probe, segment(4), segment(5)])
    );
}

#[tokio::test]
async fn a_store_that_refuses_ranges_gets_one_stream() {
    let admin = admin();
    let mut cleanup = Cleanup(vec![]);
    let (image, data) = patterned_image(&admin, &mut cleanup, "ranged-400").await;
    let (proxy, client) = glance_proxy(fast()).await;
    // Glance's rbd, swift, s3 and http stores answer a Range request 400; the local file
    // store cannot be made to, so the proxy answers the first one (the probe) that way.
    proxy.on("GET", "/file", 1, Fault::status(400));
    let got = parallel_download(&client, &image, 2).await.unwrap();
    assert!(got == data);
    assert_eq!(
        data_ranges(&proxy),
        [Some("bytes=0-4194303".to_owned()), None],
        "one refused probe, then one whole stream"
    );
}

#[tokio::test]
async fn a_broken_segment_is_re_requested_from_where_it_broke_and_a_flipped_byte_is_caught() {
    let admin = admin();
    let mut cleanup = Cleanup(vec![]);
    let (image, data) = patterned_image(&admin, &mut cleanup, "ranged-faults").await;
    let (proxy, client) = glance_proxy(fast()).await;

    proxy.on("GET", "/file", 1, Fault::ResetMidBody(100_000));
    let got = parallel_download(&client, &image, 2).await.unwrap();
    assert!(got == data);
    let ranges = data_ranges(&proxy);
    assert_eq!(ranges[0].as_deref(), Some("bytes=0-4194303"));
    assert!(
        ranges
            .iter()
            .any(|r| r.as_deref() == Some("bytes=100000-4194303")),
        "{ranges:?}"
    );

    proxy.clear();
    proxy.on("GET", "/file", 1, Fault::FlipByte(1234));
    let items: Vec<_> = client
        .images()
        .download(&image.id)
        .image(image.clone())
        .parallel(3)
        .stream()
        .await
        .unwrap()
        .collect()
        .await;
    assert!(
        matches!(items.last(), Some(Err(Error::Integrity { algorithm, .. })) if algorithm == "sha512"),
        "{:?}",
        items.last().map(|r| r.as_ref().map(|b| b.len()))
    );
}

#[tokio::test]
async fn image_save_parallel_writes_the_verified_image() {
    let admin = admin();
    let mut cleanup = Cleanup(vec![]);
    let (image, data) = patterned_image(&admin, &mut cleanup, "ranged-cli").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("saved.raw");
    ok(&[
        "image",
        "save",
        &image.id,
        "--file",
        path.to_str().unwrap(),
        "--parallel",
        "2",
    ]);
    assert!(std::fs::read(&path).unwrap() == data);
    let out = crate::cli::run(&[
        "image",
        "save",
        &image.id,
        "--file",
        "x",
        "--parallel",
        "17",
    ]);
    assert_eq!(out.status.code(), Some(2), "more than 16 is a usage error");
}
