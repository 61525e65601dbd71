//! Tests of `open_source` and `fan_out` against the loopback source server.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt, stream};
use tokio::io::AsyncReadExt;

use super::test_server::SourceServer;
use super::*;
use crate::Error;

/// 3 MiB that compress like a disk image: pseudo-random blocks between runs of zeros.
fn image_data() -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(21);
    let mut data = Vec::with_capacity(3 << 20);
    while data.len() < 3 << 20 {
        let random = rng.usize(1..64 << 10);
        data.extend((0..random).map(|_| rng.u8(..)));
        data.resize(data.len() + rng.usize(..128 << 10), 0);
    }
    data.truncate(3 << 20);
    data
}

async fn compress(c: Compression, data: &[u8]) -> Vec<u8> {
    use async_compression::tokio::bufread::{BzEncoder, GzipEncoder, XzEncoder, ZstdEncoder};
    let mut out = Vec::new();
    match c {
        Compression::Xz => XzEncoder::new(data).read_to_end(&mut out).await,
        Compression::Gzip => GzipEncoder::new(data).read_to_end(&mut out).await,
        Compression::Bzip2 => BzEncoder::new(data).read_to_end(&mut out).await,
        Compression::Zstd => ZstdEncoder::new(data).read_to_end(&mut out).await,
    }
    .unwrap();
    out
}

/// Two members (streams, frames) one after the other, as `cat a.xz b.xz` makes.
async fn compress_two_members(c: Compression, data: &[u8]) -> Vec<u8> {
    let (a, b) = data.split_at(data.len() / 3);
    let mut out = compress(c, a).await;
    out.extend(compress(c, b).await);
    out
}

fn sha256(data: &[u8]) -> Checksum {
    let mut h = crate::Hasher::new("sha256").unwrap();
    h.update(data).unwrap();
    Checksum {
        algorithm: ChecksumAlgorithm::Sha256,
        hex: h.hex().unwrap(),
    }
}

fn fast() -> SourceOptions {
    SourceOptions::default()
        .resume_delay(Duration::from_millis(10))
        .chunk_size(256 << 10)
}

/// A directory with `files` and a server for it.
async fn serve(files: &[(&str, &[u8])]) -> (tempfile::TempDir, SourceServer) {
    let dir = tempfile::tempdir().unwrap();
    for (name, data) in files {
        std::fs::write(dir.path().join(name), data).unwrap();
    }
    let server = SourceServer::start(dir.path()).await;
    (dir, server)
}

fn http(server: &SourceServer, path: &str) -> ImageSource {
    ImageSource::parse(&server.url(path)).unwrap()
}

/// Every item of the stream: the bytes delivered before the first error, and that error.
async fn drain(mut s: SourceStream) -> (Vec<u8>, Option<io::Error>) {
    let mut data = Vec::new();
    while let Some(item) = s.next().await {
        match item {
            Ok(chunk) => data.extend_from_slice(&chunk),
            Err(e) => return (data, Some(e)),
        }
    }
    (data, None)
}

#[tokio::test]
async fn http_source_is_read_verified_and_counted() {
    let data = image_data();
    let (_dir, server) = serve(&[("disk.raw", &data)]).await;
    let sum = sha256(&data);
    let s = open_source(&http(&server, "disk.raw"), Some(&sum), &fast())
        .await
        .unwrap();
    assert_eq!(s.compression(), None);
    let stats = s.stats();
    let (got, err) = drain(s).await;
    assert!(err.is_none(), "{err:?}");
    assert!(got == data);
    assert_eq!(stats.raw_bytes(), data.len() as u64);
    assert_eq!(stats.bytes(), data.len() as u64);
    assert_eq!(stats.content_length(), Some(data.len() as u64));
    assert_eq!(stats.resumes(), 0);
    assert_eq!(stats.raw_digest(), Some(sum));
    assert_eq!(server.requests("disk.raw"), 1);
    assert_eq!(server.bytes_served("disk.raw"), data.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_format_is_told_by_its_magic_and_decompressed_whole() {
    let data = image_data();
    for c in [
        Compression::Xz,
        Compression::Gzip,
        Compression::Bzip2,
        Compression::Zstd,
    ] {
        let packed = compress_two_members(c, &data).await;
        // A misleading name: the bytes decide, not the extension.
        let (dir, server) = serve(&[("disk.img", &packed)]).await;
        let sum = sha256(&packed);
        for source in [
            http(&server, "disk.img"),
            ImageSource::File(dir.path().join("disk.img")),
        ] {
            let s = open_source(&source, Some(&sum), &fast()).await.unwrap();
            assert_eq!(s.compression(), Some(c), "{source}");
            let stats = s.stats();
            let (got, err) = drain(s).await;
            assert!(err.is_none(), "{c} from {source}: {err:?}");
            assert!(got == data, "{c} from {source}: {} bytes", got.len());
            assert_eq!(stats.raw_bytes(), packed.len() as u64);
            assert_eq!(stats.bytes(), data.len() as u64);
        }
    }
}

#[tokio::test]
async fn a_dropped_connection_resumes_with_no_byte_lost_or_repeated() {
    let data = image_data();
    let packed = compress(Compression::Xz, &data).await;
    let (_dir, server) = serve(&[("d.xz", &packed)]).await;
    server.drop_once("d.xz", 100_003);
    let sum = sha256(&packed);
    let s = open_source(&http(&server, "d.xz"), Some(&sum), &fast())
        .await
        .unwrap();
    let stats = s.stats();
    let (got, err) = drain(s).await;
    assert!(err.is_none(), "{err:?}");
    assert!(got == data);
    assert_eq!(stats.resumes(), 1);
    assert_eq!(server.requests("d.xz"), 2);
    assert_eq!(server.bytes_served("d.xz"), packed.len() as u64);
    assert_eq!(stats.raw_bytes(), packed.len() as u64);
    assert_eq!(stats.raw_digest(), Some(sum));
}

#[tokio::test]
async fn a_stalled_download_resumes_after_the_idle_timeout() {
    let data = image_data();
    let (_dir, server) = serve(&[("d.raw", &data)]).await;
    server.stall_once("d.raw", 700_001);
    let options = fast().idle_timeout(Duration::from_millis(300));
    let s = open_source(&http(&server, "d.raw"), Some(&sha256(&data)), &options)
        .await
        .unwrap();
    let stats = s.stats();
    let started = std::time::Instant::now();
    let (got, err) = drain(s).await;
    assert!(err.is_none(), "{err:?}");
    assert!(got == data);
    assert_eq!(stats.resumes(), 1);
    assert_eq!(server.bytes_served("d.raw"), data.len() as u64);
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[tokio::test]
async fn range_ignored_by_the_server_skips_what_was_read_when_validators_match() {
    let data = image_data();
    let (_dir, server) = serve(&[("d.raw", &data)]).await;
    server.ignore_range(true);
    server.set_etag("d.raw", Some("\"v1\""));
    server.drop_once("d.raw", 1_000_001);
    let s = open_source(&http(&server, "d.raw"), None, &fast())
        .await
        .unwrap();
    let stats = s.stats();
    let (got, err) = drain(s).await;
    assert!(err.is_none(), "{err:?}");
    assert!(got == data);
    assert_eq!(stats.resumes(), 1);
    assert_eq!(stats.raw_bytes(), data.len() as u64);
    assert_eq!(stats.raw_digest(), Some(sha256(&data)));
}

#[tokio::test]
async fn range_ignored_without_validators_is_read_on_only_when_a_checksum_will_verify() {
    let data = image_data();
    let (_dir, server) = serve(&[("d.raw", &data)]).await;
    server.ignore_range(true);
    server.omit_validators(true);
    server.drop_once("d.raw", 600_000);
    let sum = sha256(&data);
    let s = open_source(&http(&server, "d.raw"), Some(&sum), &fast())
        .await
        .unwrap();
    let (got, err) = drain(s).await;
    assert!(err.is_none(), "{err:?}");
    assert!(got == data);

    server.drop_once("d.raw", 600_000);
    let s = open_source(&http(&server, "d.raw"), None, &fast())
        .await
        .unwrap();
    let (got, err) = drain(s).await;
    let err = err.expect("an error").to_string();
    assert!(err.contains("not known to be the same file"), "{err}");
    assert!(got.len() < data.len());
}

#[tokio::test]
async fn a_file_changed_during_the_download_fails_instead_of_splicing() {
    let data = image_data();
    let (_dir, server) = serve(&[("d.raw", &data)]).await;
    server.drop_once_and_touch("d.raw", 500_000);
    let s = open_source(&http(&server, "d.raw"), None, &fast())
        .await
        .unwrap();
    let (got, err) = drain(s).await;
    let err = err.expect("an error");
    assert!(err.to_string().contains("changed"), "{err}");
    assert!(got.len() < data.len());
}

#[tokio::test]
async fn a_wrong_checksum_replaces_the_last_chunk_with_an_error() {
    let data = &image_data()[..1 << 20];
    for c in [
        None,
        Some(Compression::Xz),
        Some(Compression::Gzip),
        Some(Compression::Bzip2),
        Some(Compression::Zstd),
    ] {
        let packed = match c {
            Some(c) => compress(c, data).await,
            None => data.to_vec(),
        };
        let (_dir, server) = serve(&[("d.img", &packed)]).await;
        let wrong = sha256(b"another file");
        let s = open_source(&http(&server, "d.img"), Some(&wrong), &fast())
            .await
            .unwrap();
        let stats = s.stats();
        let (got, err) = drain(s).await;
        let err = err.expect("an error").to_string();
        let actual = sha256(&packed).hex;
        let expected_text = format!(
            "{}: sha256 mismatch: expected {}, got {actual}",
            server.url("d.img"),
            wrong.hex
        );
        assert_eq!(err, expected_text, "{c:?}");
        assert!(
            got.len() < data.len(),
            "{c:?}: the whole file was delivered"
        );
        assert!(data.starts_with(&got));
        assert_eq!(stats.raw_digest().unwrap().hex, actual);
    }
}

#[tokio::test]
async fn corrupt_compressed_data_is_a_decompression_error() {
    let data = image_data();
    let mut packed = compress(Compression::Xz, &data).await;
    let middle = packed.len() / 2;
    packed[middle] ^= 0xff;
    let (_dir, server) = serve(&[("d.xz", &packed)]).await;
    let s = open_source(&http(&server, "d.xz"), None, &fast())
        .await
        .unwrap();
    let (got, err) = drain(s).await;
    let err = err.expect("an error").to_string();
    assert!(err.starts_with("xz decompression failed"), "{err}");
    assert!(got.len() < data.len());
}

#[tokio::test]
async fn a_body_shorter_than_its_content_length_fails_before_its_end() {
    let data = image_data();
    let (_dir, server) = serve(&[("d.raw", &data)]).await;
    server.short_body("d.raw", Some(2_000_000));
    let s = open_source(&http(&server, "d.raw"), None, &fast().max_resumes(2))
        .await
        .unwrap();
    let stats = s.stats();
    let (got, err) = drain(s).await;
    let err = err.expect("an error").to_string();
    assert!(err.contains("gave up after 2 resumes"), "{err}");
    assert!(got.len() < data.len());
    assert_eq!(stats.resumes(), 2);
}

#[tokio::test]
async fn a_short_file_fails_its_checksum_even_when_the_length_is_unknown() {
    let data = image_data();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.raw");
    std::fs::write(&path, &data[..1000]).unwrap();
    let s = open_source(&ImageSource::File(path), Some(&sha256(&data)), &fast())
        .await
        .unwrap();
    let (got, err) = drain(s).await;
    assert!(err.unwrap().to_string().contains("sha256 mismatch"));
    assert!(got.is_empty(), "the only chunk is the last one: withheld");
}

#[tokio::test]
async fn an_error_status_names_the_url_without_secrets() {
    let (_dir, server) = serve(&[]).await;
    let url = server
        .url("missing.img?token=s3cret")
        .replace("http://", "http://user:pa55@");
    let source = ImageSource::parse(&url).unwrap();
    let err = open_source(&source, None, &fast()).await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    let text = err.to_string();
    assert!(text.contains(&server.url("missing.img")), "{text}");
    assert!(!text.contains("s3cret") && !text.contains("pa55"), "{text}");
}

#[tokio::test]
async fn a_first_answer_of_503_is_tried_again_and_a_4xx_is_not() {
    let data = image_data();
    let (_dir, server) = serve(&[("d.raw", &data)]).await;
    server.fail_next("d.raw", 503, 2);
    let s = open_source(&http(&server, "d.raw"), None, &fast())
        .await
        .unwrap();
    assert_eq!(s.stats().resumes(), 2);
    let (got, err) = drain(s).await;
    assert!(err.is_none(), "{err:?}");
    assert!(got == data);
    assert_eq!(server.requests("d.raw"), 3);

    server.fail_next("d.raw", 403, 1);
    let err = open_source(&http(&server, "d.raw"), None, &fast())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403));
    assert_eq!(server.requests("d.raw"), 4);

    server.fail_next("d.raw", 503, 10);
    let err = open_source(&http(&server, "d.raw"), None, &fast().max_resumes(1))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(server.requests("d.raw"), 6);
}

#[tokio::test]
async fn ftp_and_missing_files_are_clear_errors() {
    let ftp = ImageSource::parse("ftp://mirror.example/x.img").unwrap();
    let err = open_source(&ftp, None, &fast()).await.unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }));
    assert!(
        err.to_string().contains("give an http(s) mirror_url"),
        "{err}"
    );
    let file = ImageSource::File("/nonexistent/x.img".into());
    let err = open_source(&file, None, &fast()).await.unwrap_err();
    assert!(err.to_string().contains("/nonexistent/x.img"), "{err}");
}

#[tokio::test]
async fn dropping_the_stream_stops_the_download() {
    let data = vec![7u8; 8 << 20];
    let (_dir, server) = serve(&[("big.raw", &data)]).await;
    let mut s = open_source(&http(&server, "big.raw"), None, &fast())
        .await
        .unwrap();
    s.next().await.unwrap().unwrap();
    drop(s);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(server.bytes_served("big.raw") < data.len() as u64);
}

// ------------------------------------------------------------------------------------------
// fan_out

/// All of a branch's bytes, or its error.
async fn concat(branch: FanOutBranch) -> io::Result<Vec<u8>> {
    branch
        .try_fold(Vec::new(), |mut all, chunk| async move {
            all.extend_from_slice(&chunk);
            Ok(all)
        })
        .await
}

fn chunks(n: usize, size: usize) -> Vec<io::Result<Bytes>> {
    (0..n)
        .map(|i| Ok(Bytes::from(vec![i as u8; size])))
        .collect()
}

#[tokio::test]
async fn three_branches_receive_identical_bytes_from_one_read() {
    let data = image_data();
    let (_dir, server) = serve(&[("d.raw", &data)]).await;
    let s = open_source(&http(&server, "d.raw"), None, &fast())
        .await
        .unwrap();
    let branches = fan_out(s, 3, 4);
    let all = futures_util::future::join_all(branches.into_iter().map(concat)).await;
    for got in all {
        assert!(got.unwrap() == data);
    }
    assert_eq!(server.requests("d.raw"), 1);
    assert_eq!(server.bytes_served("d.raw"), data.len() as u64);
}

#[tokio::test]
async fn the_slowest_branch_paces_the_reader() {
    let read = Arc::new(AtomicU64::new(0));
    let counter = read.clone();
    let source = stream::iter(chunks(40, 1024)).inspect(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let buffer = 3;
    let mut branches = fan_out(source, 3, buffer);
    let mut slow = branches.pop().unwrap();
    let fast_ones = tokio::spawn(async move {
        let all = futures_util::future::join_all(branches.into_iter().map(concat)).await;
        all.into_iter()
            .map(|b| b.unwrap().len())
            .collect::<Vec<_>>()
    });
    let mut consumed = 0u64;
    while let Some(chunk) = slow.next().await {
        chunk.unwrap();
        consumed += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
        let ahead = read.load(Ordering::SeqCst) - consumed;
        // The queue's `buffer` chunks, and the one the reader holds while it waits.
        assert!(ahead <= buffer as u64 + 1, "{ahead} chunks ahead");
    }
    assert_eq!(consumed, 40);
    assert_eq!(fast_ones.await.unwrap(), vec![40 * 1024, 40 * 1024]);
}

#[tokio::test]
async fn a_dropped_branch_leaves_the_others_going_and_all_dropped_stops_reading() {
    let read = Arc::new(AtomicU64::new(0));
    let counter = read.clone();
    let source = stream::iter(chunks(50, 10)).inspect(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let mut branches = fan_out(source, 3, 2);
    let mut dropped = branches.remove(0);
    dropped.next().await.unwrap().unwrap();
    drop(dropped);
    let all = futures_util::future::join_all(branches.into_iter().map(concat)).await;
    for got in all {
        assert_eq!(got.unwrap().len(), 500);
    }

    // Every branch dropped: the reader stops.
    let read = Arc::new(AtomicU64::new(0));
    let counter = read.clone();
    let endless = stream::repeat_with(|| Ok(Bytes::from_static(b"x"))).inspect(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let branches = fan_out(endless, 2, 2);
    drop(branches);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let after = read.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(read.load(Ordering::SeqCst), after);
    assert!(after <= 4, "{after}");
}

#[tokio::test]
async fn a_source_error_reaches_every_live_branch() {
    let mut items = chunks(5, 10);
    items.push(Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "sha256 mismatch",
    )));
    let branches = fan_out(stream::iter(items), 3, 2);
    let all = futures_util::future::join_all(branches.into_iter().map(concat)).await;
    for got in all {
        let e = got.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert_eq!(e.to_string(), "sha256 mismatch");
    }
}

#[tokio::test]
async fn one_branch_is_the_source_itself() {
    let branches = fan_out(stream::iter(chunks(3, 4)), 1, 1);
    assert_eq!(branches.len(), 1);
    assert!(format!("{:?}", branches[0]).contains("direct"));
    let got = concat(branches.into_iter().next().unwrap()).await;
    assert_eq!(got.unwrap().len(), 12);
    assert!(fan_out(stream::iter(chunks(3, 4)), 0, 1).is_empty());
}

#[tokio::test]
async fn a_branch_feeds_an_upload_source_and_its_inspection() {
    let data = image_data();
    let s = stream::iter(vec![Ok(Bytes::from(data.clone()))]);
    let mut branches = fan_out(s, 2, 2);
    let other = tokio::spawn(concat(branches.pop().unwrap()));
    let source = crate::DataSource::stream(branches.pop().unwrap()).size(data.len() as u64);
    let (inspection, _source) = source.inspect().await.unwrap();
    assert!(inspection.is_safe());
    drop(_source);
    assert_eq!(other.await.unwrap().unwrap().len(), data.len());
}

/// A source polled again after its end (a `chain`, a decoder's reader) answers `None`
/// again: the final live run once panicked in the unfold inside ("must not be polled after
/// it returned `Poll::Ready(None)`").
#[tokio::test]
async fn a_finished_source_can_be_polled_again() {
    let data = image_data();
    for c in [None, Some(Compression::Xz), Some(Compression::Gzip)] {
        let bytes = match c {
            None => data.clone(),
            Some(c) => compress(c, &data).await,
        };
        let (_dir, server) = serve(&[("disk", &bytes)]).await;
        let mut s = open_source(&http(&server, "disk"), Some(&sha256(&bytes)), &fast())
            .await
            .unwrap();
        let mut got = Vec::new();
        while let Some(chunk) = s.next().await {
            got.extend_from_slice(&chunk.unwrap());
        }
        assert!(got == data, "{c:?}");
        assert!(s.next().await.is_none(), "{c:?}");
        assert!(s.next().await.is_none(), "{c:?}");
    }
}
