//! Parallel ranged downloads: several `Range` requests at once, handed out and hashed in
//! order, so the result (and its verification) is the single stream's, only sooner where one
//! connection is limited (a per-connection rate limit, a long fat pipe).
//!
//! Only stores that serve ranges can do this: Glance's `file` and `cinder` stores answer 206;
//! `rbd`, `swift`, `s3` and `http` answer 400. The first request is the probe: a 206
//! with the expected `Content-Range` goes on in ranges, a 200 or a 400 (or 416) falls back to
//! one stream. Where the path is not limited per connection, more connections only add work
//! (a loaded Glance served 4 ranges at once at half the rate of one stream), so the download
//! ramps: the probe (one request for all but the trial's last two segments) alone for its
//! first two segments' worth, then the trial's two segments at once; unless those came
//! [`RAMP_GAIN`] times as fast as the probe's connection delivered (not counting the time the
//! caller, hashing or writing, held its bytes back), the probe goes on as the one stream. The
//! hash runs on a thread of its own, as a single stream's does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, mpsc};

use super::fetch::{ImageData, open};
use super::verify::{Expected, expected_of};
use super::worker::Worker;
use super::*;
use crate::hash::Hasher;

/// Bytes per ranged request. The segments in flight are held in memory until their turn, so a
/// download with `n` requests holds at most `(n + 1) * SEGMENT` bytes (and [`HANDOFF_BYTES`]
/// on their way out); 4 MiB segments took a 4-range download to 35 MiB of RSS, and smaller
/// ones would cost a request (and Glance's per-request work) per few hundred KiB.
pub(super) const SEGMENT: u64 = 2 << 20;
/// The most ranged requests in flight, whatever the caller asks.
pub(super) const MAX_PARALLEL: usize = 16;
/// How much faster the trial's segments at once must arrive than the probe's one stream for
/// the download to go on in parallel.
const RAMP_GAIN: f64 = 1.3;
/// Segments in the probe (one request), and requests at once in the trial that follows it
/// (one segment each: the same bytes, so the two rates differ by what parallel requests gain,
/// not by request latency). Two whatever n is: each request costs the local Glance ~30 ms of
/// its one worker's time, and a trial of n = 4 made a direct download that ends as one stream
/// 1.06x slower than one stream from the start; where two at once gain, n do as well.
const TRIAL: usize = 2;
/// Bytes on their way from the fetching task to the caller at most. In chunks, it would hold
/// anything from 256 KiB to 13 MiB (hyper's chunks run from 8 to 408 KiB here), and a probe
/// would fit in it whole, so that a slow caller showed in no wait of the fetching task.
const HANDOFF_BYTES: usize = 2 << 20;

/// One byte range of the image, `first..=last`.
#[derive(Debug, Clone, Copy)]
struct Segment {
    first: u64,
    last: u64,
}

impl Segment {
    fn len(self) -> u64 {
        self.last - self.first + 1
    }
}

/// What a parallel download needs to fetch segments.
#[derive(Clone)]
struct Fetcher {
    client: Client,
    image_id: Arc<str>,
    path: Arc<str>,
    total: u64,
    max_resumes: u32,
}

/// A parallel download of `image` with `n` requests in flight, or `None` when it cannot be
/// one and the caller should use one stream: the image is smaller than two segments, has no
/// checksum in its record, or its store does not serve ranges.
pub(super) async fn parallel(
    client: &Client,
    image: &Image,
    path: &str,
    n: usize,
    max_resumes: u32,
    progress: Option<Progress>,
) -> Result<Option<ImageData>> {
    let n = n.clamp(1, MAX_PARALLEL);
    let (Some(total), Some(expected)) = (image.size_bytes(), expected_of(image)) else {
        return Ok(None);
    };
    let Some(hasher) = Hasher::new(&expected.algorithm) else {
        return Ok(None);
    };
    // The probe moves TRIAL segments' worth; an image not larger than that is one stream.
    let probe_len = TRIAL as u64 * SEGMENT;
    if n < 2 || total <= probe_len {
        return Ok(None);
    }
    let fetcher = Fetcher {
        client: client.clone(),
        image_id: image.id.as_str().into(),
        path: path.into(),
        total,
        max_resumes,
    };
    let segments: Vec<Segment> = (0..(total - probe_len).div_ceil(SEGMENT))
        .map(|i| Segment {
            first: probe_len + i * SEGMENT,
            last: (probe_len + (i + 1) * SEGMENT).min(total) - 1,
        })
        .collect();
    // The trial takes the last segments, so that the probe can ask for everything before
    // them: should one stream win, it goes on without another request.
    let (middle, trial) = segments.split_at(segments.len().saturating_sub(TRIAL));
    let plan = Plan {
        probe: Segment {
            first: 0,
            last: trial.first().map_or(total, |s| s.first) - 1,
        },
        probe_len,
        middle: middle.to_vec(),
        trial: trial.to_vec(),
        n,
    };
    let probe_sent = Instant::now();
    let Some(probe) = fetcher.probe(plan.probe).await? else {
        return Ok(None);
    };
    tracing::debug!(image = %image.id, size = total, requests = n, segments = segments.len(), "ranged download starting");
    let (tx, rx) = handoff();
    let task = AbortOnDrop(tokio::spawn(async move {
        if let Err(e) = fetcher.run(plan, probe, probe_sent, &tx).await {
            tx.fail(e);
        }
    }));
    let state = InOrder {
        chunks: rx.chunks,
        budget: rx.budget,
        _task: task,
        // On a thread of its own, as a single stream's: hashed on the task that hands the
        // chunks out, the download took turns with it on one core and went 1.08x slower
        // than one stream on a fast path (bench `ranged`).
        hasher: Worker::start("image-hash", hasher)?,
        expected,
        image_id: image.id.clone(),
        received: 0,
        total,
        progress,
        done: false,
    };
    Ok(Some(ImageData {
        inner: Box::pin(stream::unfold(state, |mut st| async move {
            st.next_chunk().await.map(|item| (item, st))
        })),
        size: Some(total),
    }))
}

/// Where a range's bytes go: kept for their turn, or straight on to the caller (counting
/// how long the caller kept them waiting).
enum Sink<'a> {
    Keep(&'a mut Vec<Bytes>),
    Send { tx: &'a Handoff, waited: Duration },
}

impl Sink<'_> {
    /// Passes a chunk on; `false` when the caller went away.
    async fn put(&mut self, chunk: Bytes) -> bool {
        match self {
            Sink::Keep(v) => {
                v.push(chunk);
                true
            }
            Sink::Send { tx, waited } => {
                let asked = Instant::now();
                let sent = tx.send(chunk).await;
                *waited += asked.elapsed();
                sent
            }
        }
    }

    /// A sink that passes chunks straight on to `tx`.
    fn send(tx: &Handoff) -> Sink<'_> {
        Sink::Send {
            tx,
            waited: Duration::ZERO,
        }
    }
}

/// Bytes per second of `bytes` in `d`.
fn rate(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / d.as_secs_f64().max(1e-6)
}

impl Fetcher {
    /// Fetches everything into `tx` in order. The probe's response (which asks for all that
    /// comes before the trial) passes its first `probe_len` bytes straight on, and waits;
    /// the trial's [`TRIAL`] segments (the image's last ones) come at once and are kept for
    /// the end; then, if those at once were faster than the probe's one stream, the probe is
    /// dropped and the segments between come with n in flight, or else the probe's response
    /// goes on to its end (one stream, no further request).
    async fn run(
        &self,
        plan: Plan,
        probe: reqwest::Response,
        probe_sent: Instant,
        tx: &Handoff,
    ) -> Result<()> {
        // Both rates count from the requests, so both include the server's time to answer.
        // The probe's bytes go on to the caller as they come, and a caller slower than the
        // connection (its hash, a disk) holds them back: that wait is not the connection's,
        // so it is left out. Otherwise, where the hash sets the pace, the trial's segments
        // (kept in memory, not held back) look faster than one stream, and the download
        // goes parallel where that only adds work (1.08x one stream's time, bench `ranged`).
        let mut lane = Lane::new(plan.probe, Some(probe), self.max_resumes);
        let mut sink = Sink::send(tx);
        if !self.pump(&mut lane, plan.probe_len, &mut sink).await? {
            return Ok(());
        }
        let waited = match sink {
            Sink::Send { waited, .. } => waited,
            Sink::Keep(_) => Duration::ZERO,
        };
        let one = rate(plan.probe_len, probe_sent.elapsed().saturating_sub(waited));
        let started = Instant::now();
        let trial_fetches: Vec<_> = plan
            .trial
            .iter()
            .map(|s| self.clone().kept_owned(*s))
            .collect();
        let kept_trial = futures_util::future::try_join_all(trial_fetches).await?;
        let parallel = rate(plan.trial.iter().map(|s| s.len()).sum(), started.elapsed());
        if plan.middle.is_empty() {
            // The probe was all there is before the trial.
        } else if parallel < RAMP_GAIN * one {
            tracing::debug!(image = %self.image_id, one_mb_s = one / 1e6, parallel_mb_s = parallel / 1e6, caller_wait_ms = waited.as_millis() as u64, "ranges at once were not faster than one: the probe's stream goes on");
            let len = plan.probe.len();
            if !self.pump(&mut lane, len, &mut Sink::send(tx)).await? {
                return Ok(());
            }
        } else {
            tracing::debug!(image = %self.image_id, one_mb_s = one / 1e6, parallel_mb_s = parallel / 1e6, caller_wait_ms = waited.as_millis() as u64, requests = plan.n, "ranges at once are faster: going on in parallel");
            drop(lane);
            // n segments are fetched while the one before them goes on to the caller.
            let fetches: Vec<_> = plan
                .middle
                .iter()
                .map(|s| self.clone().kept_owned(*s))
                .collect();
            let mut kept = stream::iter(fetches).buffered(plan.n);
            while let Some(seg) = kept.next().await {
                if !send_all(tx, seg?).await {
                    return Ok(());
                }
            }
        }
        for seg in kept_trial {
            if !send_all(tx, seg).await {
                break;
            }
        }
        Ok(())
    }

    /// [`Fetcher::kept`] as a future that owns what it needs (to be run among others).
    async fn kept_owned(self, seg: Segment) -> Result<Vec<Bytes>> {
        self.kept(seg, None).await
    }

    /// All of `seg`'s bytes, kept for their turn.
    async fn kept(&self, seg: Segment, first: Option<reqwest::Response>) -> Result<Vec<Bytes>> {
        let mut chunks = Vec::new();
        let mut lane = Lane::new(seg, first, self.max_resumes);
        self.pump(&mut lane, seg.len(), &mut Sink::Keep(&mut chunks))
            .await?;
        Ok(chunks)
    }

    /// The first request, which shows whether the store serves ranges: its
    /// response when it does (206 with a matching `Content-Range`), `None` when it does not
    /// (200: the range was ignored; 400 or 416: refused).
    async fn probe(&self, seg: Segment) -> Result<Option<reqwest::Response>> {
        let range = format!("bytes={}-{}", seg.first, seg.last);
        match open(&self.client, &self.image_id, &self.path, Some(range)).await {
            Ok(resp) if resp.status() == StatusCode::PARTIAL_CONTENT => {
                if self.content_range_fits(&resp, seg) {
                    Ok(Some(resp))
                } else {
                    tracing::debug!(image = %self.image_id, "unexpected Content-Range: one stream instead");
                    Ok(None)
                }
            }
            Ok(resp) => {
                tracing::debug!(image = %self.image_id, status = %resp.status(), "range ignored: one stream instead");
                Ok(None)
            }
            Err(e) if matches!(e.status(), Some(400 | 416)) => {
                tracing::debug!(image = %self.image_id, error = %e, "ranges refused: one stream instead");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Whether a 206 answers exactly `seg` of this image.
    fn content_range_fits(&self, resp: &reqwest::Response, seg: Segment) -> bool {
        let want = format!("bytes {}-{}/{}", seg.first, seg.last, self.total);
        resp.headers()
            .get("content-range")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == want)
    }

    /// Passes `lane`'s bytes on to `sink` until `until` of them went (a chunk that crosses
    /// that point is split, its rest kept for later); `false` when the caller went away. A
    /// broken connection is re-requested from the first byte not received, as a single
    /// stream resumes: at most `max_resumes` times per lane, and not again after a retry
    /// that brought nothing.
    async fn pump(&self, lane: &mut Lane, until: u64, sink: &mut Sink<'_>) -> Result<bool> {
        let until = until.min(lane.seg.len());
        let idle = self.client.settings().read_timeout;
        loop {
            if let Some(mut chunk) = lane.leftover.take() {
                let room = until.saturating_sub(lane.passed);
                if chunk.len() as u64 > room {
                    // `room` is less than the chunk's length, so it fits a usize.
                    lane.leftover = Some(chunk.split_off(room as usize));
                }
                lane.passed += chunk.len() as u64;
                if !chunk.is_empty() && !sink.put(chunk).await {
                    return Ok(false);
                }
            }
            if lane.passed >= until {
                return Ok(true);
            }
            let body = match lane.body.take() {
                Some(body) => body,
                None => self.open_rest(lane.seg, lane.got).await?,
            };
            let (url, stream) = lane.body.insert(body);
            let seg = lane.seg;
            let broke = match tokio::time::timeout(idle, stream.next()).await {
                Ok(Some(Ok(chunk))) => {
                    lane.got += chunk.len() as u64;
                    if lane.got > seg.len() {
                        return Err(Error::Protocol(format!(
                            "image {}: range {}-{} brought more than {} bytes",
                            self.image_id,
                            seg.first,
                            seg.last,
                            seg.len()
                        )));
                    }
                    lane.leftover = Some(chunk);
                    continue;
                }
                Ok(Some(Err(e))) => transport_error(&Method::GET, url, e),
                Ok(None) if lane.got == seg.len() => {
                    // Everything received; what is left to pass on is in `leftover`.
                    lane.body = None;
                    continue;
                }
                Ok(None) => Error::Protocol(format!(
                    "image {}: range {}-{} ended after {} bytes",
                    self.image_id, seg.first, seg.last, lane.got
                )),
                Err(_) => idle_timeout(&Method::GET, url, idle),
            };
            if lane.resumes_left == 0 || lane.last_resume_at == Some(lane.got) {
                return Err(broke);
            }
            tracing::debug!(image = %self.image_id, at = seg.first + lane.got, error = %broke, "ranged request broke: resuming it");
            lane.resumes_left -= 1;
            lane.last_resume_at = Some(lane.got);
            lane.body = None;
        }
    }

    /// Requests the part of `seg` after its first `got` bytes; it must come as that exact
    /// range.
    async fn open_rest(&self, seg: Segment, got: u64) -> Result<(url::Url, BodyStream)> {
        let part = Segment {
            first: seg.first + got,
            last: seg.last,
        };
        let range = format!("bytes={}-{}", part.first, part.last);
        let resp = open(&self.client, &self.image_id, &self.path, Some(range)).await?;
        if resp.status() != StatusCode::PARTIAL_CONTENT || !self.content_range_fits(&resp, part) {
            return Err(Error::Protocol(format!(
                "image {}: a range the server served before now answers {} ({:?})",
                self.image_id,
                resp.status(),
                resp.headers().get("content-range")
            )));
        }
        Ok(body_of(resp))
    }
}

/// A response body as the lanes read it.
type BodyStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

fn body_of(resp: reqwest::Response) -> (url::Url, BodyStream) {
    (resp.url().clone(), Box::pin(resp.bytes_stream()))
}

/// How a download goes after its probe: the probe's range (everything before the trial),
/// how much of it measures one stream, the trial's segments (the image's last ones) and the
/// segments between.
struct Plan {
    probe: Segment,
    probe_len: u64,
    middle: Vec<Segment>,
    trial: Vec<Segment>,
    n: usize,
}

/// One range being read, possibly over several requests (after a break) and in several
/// goes (a probe that waits for its trial).
struct Lane {
    seg: Segment,
    body: Option<(url::Url, BodyStream)>,
    /// Bytes of `seg` received, and passed on (the difference is in `leftover`).
    got: u64,
    passed: u64,
    leftover: Option<Bytes>,
    resumes_left: u32,
    last_resume_at: Option<u64>,
}

impl Lane {
    fn new(seg: Segment, first: Option<reqwest::Response>, max_resumes: u32) -> Lane {
        Lane {
            seg,
            body: first.map(body_of),
            got: 0,
            passed: 0,
            leftover: None,
            resumes_left: max_resumes,
            last_resume_at: None,
        }
    }
}

/// Passes a kept segment on to the caller; `false` when the caller went away.
async fn send_all(tx: &Handoff, chunks: Vec<Bytes>) -> bool {
    for chunk in chunks {
        if !tx.send(chunk).await {
            return false;
        }
    }
    true
}

/// The fetching task's end of the hand-off: a channel bounded in bytes ([`HANDOFF_BYTES`]).
struct Handoff {
    tx: mpsc::UnboundedSender<Result<Bytes>>,
    budget: Arc<Semaphore>,
}

/// The caller's end: it gives a chunk's bytes back to the budget as it takes the chunk.
struct Taken {
    chunks: mpsc::UnboundedReceiver<Result<Bytes>>,
    budget: Arc<Semaphore>,
}

/// What a chunk of `len` bytes takes of the budget (a chunk larger than all of it, all).
fn cost(len: usize) -> u32 {
    u32::try_from(len.min(HANDOFF_BYTES)).unwrap_or(u32::MAX)
}

fn handoff() -> (Handoff, Taken) {
    let (tx, chunks) = mpsc::unbounded_channel();
    let budget = Arc::new(Semaphore::new(HANDOFF_BYTES));
    (
        Handoff {
            tx,
            budget: budget.clone(),
        },
        Taken { chunks, budget },
    )
}

impl Handoff {
    /// Passes a chunk on, waiting while the budget is spent; `false` when the caller went away.
    async fn send(&self, chunk: Bytes) -> bool {
        match self.budget.acquire_many(cost(chunk.len())).await {
            Ok(permit) => permit.forget(),
            Err(_) => return false,
        }
        self.tx.send(Ok(chunk)).is_ok()
    }

    /// Passes the error that ends the download on.
    fn fail(&self, err: Error) {
        let _ = self.tx.send(Err(err));
    }
}

/// Hands the chunks out as the fetching task delivers them (in order), hashing them on the
/// hash thread as they pass; checks size and hash at the end. Dropping it stops the task.
struct InOrder {
    chunks: mpsc::UnboundedReceiver<Result<Bytes>>,
    budget: Arc<Semaphore>,
    _task: AbortOnDrop,
    hasher: Worker<String>,
    expected: Expected,
    image_id: String,
    received: u64,
    total: u64,
    progress: Option<Progress>,
    done: bool,
}

impl InOrder {
    async fn next_chunk(&mut self) -> Option<Result<Bytes>> {
        if self.done {
            return None;
        }
        match self.chunks.recv().await {
            Some(Ok(chunk)) => {
                self.budget.add_permits(cost(chunk.len()) as usize);
                if self.hasher.push(chunk.clone()).await.is_err() {
                    self.done = true;
                    return Some(Err(self.hasher.hash_failure().await));
                }
                self.received += chunk.len() as u64;
                if let Some(p) = &self.progress {
                    p(self.received, Some(self.total));
                }
                Some(Ok(chunk))
            }
            Some(Err(e)) => {
                self.done = true;
                Some(Err(e))
            }
            None => {
                self.done = true;
                self.finish().await.err().map(Err)
            }
        }
    }

    async fn finish(&mut self) -> Result<()> {
        if self.received != self.total {
            return Err(Error::Integrity {
                image_id: self.image_id.clone(),
                algorithm: "size".into(),
                expected: self.total.to_string(),
                actual: self.received.to_string(),
            });
        }
        let actual = self.hasher.finish().await.map_err(Error::Io)?;
        if actual != self.expected.hex {
            return Err(Error::Integrity {
                image_id: self.image_id.clone(),
                algorithm: self.expected.algorithm.clone(),
                expected: self.expected.hex.clone(),
                actual,
            });
        }
        tracing::debug!(image = %self.image_id, bytes = self.received, "parallel ranged download verified");
        Ok(())
    }
}
