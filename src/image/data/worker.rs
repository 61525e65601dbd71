//! Work on a transfer's chunks (hashing them, writing them to a file) on a thread of its own,
//! so the task that receives or sends the data and the work that follows it use two cores
//! instead of taking turns on one. Measured on the 2-core bench machine: a verified download
//! that hashes on its receiving task runs at about half the hash rate, one that hands the
//! chunks to a hashing thread near the hash rate.
//!
//! The queue is bounded in bytes ([`QUEUE_BYTES`]), not in chunks (their size varies with the
//! connection), so memory stays constant whatever the image size.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

use super::*;
use crate::hash::Hasher;

/// Bytes queued for a worker at most; the sender waits beyond that.
const QUEUE_BYTES: usize = 4 << 20;

/// What a worker does with the chunks it is given, in order.
pub(crate) trait ChunkSink: Send + 'static {
    /// What the work gives back at the end.
    type Output: Send + 'static;
    /// Takes the next chunk.
    fn take(&mut self, chunk: &[u8]) -> io::Result<()>;
    /// Starts again from nothing (a resumed download whose server ignored the range); only
    /// a hash can.
    fn restart(&mut self) -> io::Result<()> {
        Err(io::Error::other("this work cannot start again"))
    }
    /// Ends the work once every chunk was taken.
    fn finish(self) -> io::Result<Self::Output>;
}

impl ChunkSink for Hasher {
    type Output = String;

    fn take(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.update(chunk)
    }

    fn restart(&mut self) -> io::Result<()> {
        self.reset()
    }

    fn finish(mut self) -> io::Result<String> {
        self.hex()
    }
}

/// A file written chunk by chunk (small chunks gathered into larger writes), synced to disk
/// at the end.
///
/// On Linux it writes behind: each [`WRITE_BEHIND`] bytes written are handed to the disk at
/// once (`sync_file_range`), and the window before them is waited for, so the disk works
/// while the data still arrives, dirty pages stay bounded, and the final `fsync` has little
/// left to do (instead of writing the whole image after the last byte came).
pub(super) struct SyncedFile {
    out: io::BufWriter<std::fs::File>,
    written: u64,
    /// Where the window not yet handed to the disk starts.
    behind: u64,
}

/// The write-behind window.
const WRITE_BEHIND: u64 = 8 << 20;

impl SyncedFile {
    pub(super) fn new(file: std::fs::File) -> SyncedFile {
        SyncedFile {
            out: io::BufWriter::with_capacity(1 << 20, file),
            written: 0,
            behind: 0,
        }
    }

    #[cfg(target_os = "linux")]
    fn write_behind(&mut self) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        if self.written - self.behind < WRITE_BEHIND {
            return Ok(());
        }
        io::Write::flush(&mut self.out)?;
        let fd = self.out.get_ref().as_raw_fd();
        let (start, len) = (self.behind, self.written - self.behind);
        // Start writing this window; then wait for the one before it (written by now or
        // soon), which bounds the dirty pages to about two windows.
        let range = |off: u64, len: u64, flags| {
            // SAFETY: a plain syscall on a descriptor this struct owns; no memory is passed.
            let rc = unsafe { libc::sync_file_range(fd, off as i64, len as i64, flags) };
            if rc == 0 {
                Ok(())
            } else {
                Err(io::Error::last_os_error())
            }
        };
        range(start, len, libc::SYNC_FILE_RANGE_WRITE)?;
        if let Some(prev) = start.checked_sub(WRITE_BEHIND) {
            let flags = libc::SYNC_FILE_RANGE_WAIT_BEFORE
                | libc::SYNC_FILE_RANGE_WRITE
                | libc::SYNC_FILE_RANGE_WAIT_AFTER;
            range(prev, WRITE_BEHIND, flags)?;
        }
        self.behind = self.written;
        Ok(())
    }

    #[cfg(not(target_os = "linux"))]
    fn write_behind(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl ChunkSink for SyncedFile {
    type Output = ();

    fn take(&mut self, chunk: &[u8]) -> io::Result<()> {
        io::Write::write_all(&mut self.out, chunk)?;
        self.written += chunk.len() as u64;
        self.write_behind()
    }

    fn finish(self) -> io::Result<()> {
        self.out
            .into_inner()
            .map_err(|e| e.into_error())?
            .sync_all()
    }
}

enum Job {
    Chunk(Bytes, OwnedSemaphorePermit),
    Restart,
}

/// A [`ChunkSink`] running on its own thread. Dropping it before [`Worker::finish`] stops
/// the thread at the next chunk: the queued chunks and the sink's `finish` (a file's final
/// sync, say) are skipped, so a dropped download does not sync a file it is removing.
pub(crate) struct Worker<T> {
    jobs: Option<mpsc::UnboundedSender<Job>>,
    budget: Arc<Semaphore>,
    done: Option<oneshot::Receiver<io::Result<T>>>,
    dropped: Arc<AtomicBool>,
}

impl<T> Drop for Worker<T> {
    fn drop(&mut self) {
        if self.done.is_some() {
            self.dropped.store(true, Ordering::Release);
        }
    }
}

impl<T: Send + 'static> Worker<T> {
    /// Starts `sink` on a thread named `name`.
    pub(crate) fn start<S: ChunkSink<Output = T>>(name: &str, mut sink: S) -> io::Result<Self> {
        let (jobs, mut queue) = mpsc::unbounded_channel::<Job>();
        let (done_tx, done) = oneshot::channel();
        let dropped = Arc::new(AtomicBool::new(false));
        let stop = dropped.clone();
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let mut result = Ok(());
                while let Some(job) = queue.blocking_recv() {
                    if stop.load(Ordering::Acquire) {
                        return;
                    }
                    result = match job {
                        Job::Chunk(chunk, _permit) => sink.take(&chunk),
                        Job::Restart => sink.restart(),
                    };
                    if result.is_err() {
                        // Closing the queue tells the sender at once.
                        break;
                    }
                }
                drop(queue);
                if !stop.load(Ordering::Acquire) {
                    let _ = done_tx.send(result.and_then(|()| sink.finish()));
                }
            })?;
        Ok(Worker {
            jobs: Some(jobs),
            budget: Arc::new(Semaphore::new(QUEUE_BYTES)),
            done: Some(done),
            dropped,
        })
    }

    /// Queues a chunk (shared, not copied), waiting while the queue is full. An error means
    /// the work failed: [`Worker::finish`] tells how.
    pub(crate) async fn push(&mut self, chunk: Bytes) -> std::result::Result<(), ()> {
        if chunk.is_empty() {
            return Ok(());
        }
        let want = u32::try_from(chunk.len().min(QUEUE_BYTES)).unwrap_or(u32::MAX);
        let permit = self
            .budget
            .clone()
            .acquire_many_owned(want)
            .await
            .map_err(drop)?;
        match &self.jobs {
            Some(jobs) => jobs.send(Job::Chunk(chunk, permit)).map_err(drop),
            None => Err(()),
        }
    }

    /// Queues a restart from nothing.
    pub(super) fn restart(&mut self) -> std::result::Result<(), ()> {
        match &self.jobs {
            Some(jobs) => jobs.send(Job::Restart).map_err(drop),
            None => Err(()),
        }
    }

    /// Waits until every queued chunk was taken and the sink finished; its output or error.
    pub(crate) async fn finish(&mut self) -> io::Result<T> {
        self.jobs = None;
        match self.done.take() {
            Some(done) => done
                .await
                .unwrap_or_else(|_| Err(io::Error::other("the worker thread stopped"))),
            None => Err(io::Error::other("the worker already finished")),
        }
    }

    /// Why a hashing worker stopped taking chunks (a [`Worker::push`] failed).
    pub(super) async fn hash_failure(&mut self) -> Error {
        match self.finish().await {
            Err(e) => Error::Io(e),
            Ok(_) => Error::Io(io::Error::other("the hashing thread stopped early")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_in_order_and_restarts() {
        let mut w = Worker::start("test-hash", Hasher::new("sha256").unwrap()).unwrap();
        w.push(Bytes::from_static(b"thrown away")).await.unwrap();
        w.restart().unwrap();
        for part in [&b"a"[..], b"", b"bc"] {
            w.push(Bytes::from_static(part)).await.unwrap();
        }
        assert_eq!(
            w.finish().await.unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(w.finish().await.is_err(), "finished once");
    }

    #[tokio::test]
    async fn a_file_is_written_whole_even_past_the_queue_budget() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let file = std::fs::File::create(&path).unwrap();
        let mut w = Worker::start("test-write", SyncedFile::new(file)).unwrap();
        // Past the queue budget and two write-behind windows.
        let big = Bytes::from(vec![7u8; QUEUE_BYTES.max(3 * WRITE_BEHIND as usize) + 3]);
        w.push(big.clone()).await.unwrap();
        w.push(Bytes::from_static(b"end")).await.unwrap();
        w.finish().await.unwrap();
        let got = std::fs::read(&path).unwrap();
        assert_eq!(got.len(), big.len() + 3);
        assert!(got.ends_with(b"end"));
        // A file cannot start again: the worker says so and stops.
        let file = std::fs::File::create(&path).unwrap();
        let mut w = Worker::start("test-write", SyncedFile::new(file)).unwrap();
        w.restart().unwrap();
        assert!(w.finish().await.is_err());
    }

    /// A sink whose every write fails, like a full disk.
    struct Full;

    impl ChunkSink for Full {
        type Output = ();
        fn take(&mut self, _: &[u8]) -> io::Result<()> {
            Err(io::Error::other("no space left"))
        }
        fn finish(self) -> io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_failed_write_stops_the_queue_and_is_reported() {
        let mut w = Worker::start("test-full", Full).unwrap();
        let mut refused = false;
        for _ in 0..1000 {
            if w.push(Bytes::from_static(b"x")).await.is_err() {
                refused = true;
                break;
            }
            tokio::task::yield_now().await;
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert!(refused, "the queue closed after the failure");
        let err = w.finish().await.unwrap_err();
        assert_eq!(err.to_string(), "no space left");
    }

    /// A sink that counts what it took and says when it finished.
    struct Counting {
        taken: Arc<std::sync::atomic::AtomicUsize>,
        finished: std::sync::mpsc::Sender<()>,
    }

    impl ChunkSink for Counting {
        type Output = ();
        fn take(&mut self, _: &[u8]) -> io::Result<()> {
            std::thread::sleep(std::time::Duration::from_millis(20));
            self.taken.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
        fn finish(self) -> io::Result<()> {
            let _ = self.finished.send(());
            Ok(())
        }
    }

    /// A dropped download's writer must not go on writing, nor sync the file being removed.
    #[tokio::test]
    async fn a_dropped_worker_skips_the_queued_chunks_and_the_finish() {
        let taken = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (finished, finish_seen) = std::sync::mpsc::channel();
        let mut w = Worker::start(
            "test-drop",
            Counting {
                taken: taken.clone(),
                finished,
            },
        )
        .unwrap();
        for _ in 0..50 {
            w.push(Bytes::from_static(b"chunk")).await.unwrap();
        }
        drop(w);
        // The thread ends: the channel's sender goes with it, without a finish.
        let outcome = finish_seen.recv_timeout(std::time::Duration::from_secs(5));
        assert_eq!(
            outcome,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected)
        );
        assert!(
            taken.load(Ordering::SeqCst) < 50,
            "the queued chunks were skipped"
        );

        // Finished normally, the sink's finish runs.
        let (finished, finish_seen) = std::sync::mpsc::channel();
        let mut w = Worker::start(
            "test-drop",
            Counting {
                taken: taken.clone(),
                finished,
            },
        )
        .unwrap();
        w.push(Bytes::from_static(b"chunk")).await.unwrap();
        w.finish().await.unwrap();
        assert_eq!(finish_seen.try_recv(), Ok(()));
    }
}
