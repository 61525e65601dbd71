//! One read of an image's data feeding several uploads at once (one per cloud).
//!
//! A task reads the source and hands every chunk (shared, not copied: [`Bytes`] clones) to
//! one bounded queue per branch. It waits while any live branch's queue is full, so the
//! slowest upload sets the pace and at most `buffer` chunks wait per branch. A branch that is
//! dropped (its upload failed) leaves the others going; when every branch is dropped the
//! source is dropped and no more is read.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use futures_util::StreamExt;
use tokio::sync::mpsc;

type Chunks = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// One of the streams [`fan_out`] returns: every chunk of the source, in order, and its
/// error if it fails. Usable anywhere a byte stream is, as [`crate::DataSource::stream`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use bytes::Bytes;
/// use futures_util::{StreamExt, stream};
/// let source = stream::iter([Ok(Bytes::from_static(b"ab")), Ok(Bytes::from_static(b"c"))]);
/// let branches = openstack_images::fan_out(source, 2, 4);
/// let uploads = branches.into_iter().map(|b| openstack_images::DataSource::stream(b).size(3));
/// assert_eq!(uploads.count(), 2);
/// # }
/// ```
pub struct FanOutBranch {
    kind: BranchKind,
}

enum BranchKind {
    /// The only branch: the source itself, no task or queue.
    Direct(Chunks),
    Queue {
        rx: mpsc::Receiver<Item>,
        ended: bool,
    },
}

/// What the producer sends a branch.
enum Item {
    Chunk(Bytes),
    Failed(io::Error),
    End,
}

impl fmt::Debug for FanOutBranch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            BranchKind::Direct(_) => "direct",
            BranchKind::Queue { .. } => "queue",
        };
        f.debug_struct("FanOutBranch").field("kind", &kind).finish()
    }
}

impl Stream for FanOutBranch {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match &mut self.kind {
            BranchKind::Direct(s) => s.as_mut().poll_next(cx),
            BranchKind::Queue { rx, ended } => {
                if *ended {
                    return Poll::Ready(None);
                }
                let item = std::task::ready!(rx.poll_recv(cx));
                Poll::Ready(match item {
                    Some(Item::Chunk(chunk)) => Some(Ok(chunk)),
                    Some(Item::Failed(e)) => {
                        *ended = true;
                        Some(Err(e))
                    }
                    Some(Item::End) => {
                        *ended = true;
                        None
                    }
                    None => {
                        // The producer is gone without saying the data ended (a panic, a
                        // runtime shutting down): that is not the end of the data.
                        *ended = true;
                        Some(Err(io::Error::other(
                            "fan-out: the reading task ended before the data did",
                        )))
                    }
                })
            }
        }
    }
}

/// Splits one stream of chunks into `branches` streams that each yield all of it, reading
/// the source once. `buffer` (at least 1) is how many chunks may wait for each branch; the
/// reader waits while any live branch has that many waiting, so memory stays at about
/// `buffer + 1` chunks however many branches there are (they share each chunk's memory), and
/// the slowest branch sets the pace.
///
/// Read every branch at the same time (one upload task per branch, spawned or joined): a
/// branch that nobody reads fills its queue and holds the others, as a stalled upload would.
/// A dropped branch is left out from then on; an error of the source reaches every live
/// branch (as an `io::Error` of the same kind and message) and ends them; when all branches
/// are dropped the source is dropped. With `branches == 1` the source is returned as it is,
/// with no task and no queue; with more, a Tokio task reads the source, so this must be
/// called within a Tokio runtime. `branches == 0` drops the source and returns nothing.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use bytes::Bytes;
/// use futures_util::{StreamExt, TryStreamExt, stream};
/// let source = stream::iter((0..10u8).map(|i| Ok(Bytes::from(vec![i; 100]))));
/// let branches = openstack_images::fan_out(source, 3, 2);
/// let lengths = branches.into_iter().map(|b| b.try_fold(0, |n, c| async move { Ok(n + c.len()) }));
/// for total in futures_util::future::join_all(lengths).await {
///     assert_eq!(total.unwrap(), 1000);
/// }
/// # }
/// ```
pub fn fan_out<S>(stream: S, branches: usize, buffer: usize) -> Vec<FanOutBranch>
where
    S: Stream<Item = io::Result<Bytes>> + Send + 'static,
{
    let stream: Chunks = Box::pin(stream);
    match branches {
        0 => Vec::new(),
        1 => vec![FanOutBranch {
            kind: BranchKind::Direct(stream),
        }],
        n => {
            let (senders, branches): (Vec<_>, Vec<_>) = (0..n)
                .map(|_| {
                    let (tx, rx) = mpsc::channel(buffer.max(1));
                    let branch = FanOutBranch {
                        kind: BranchKind::Queue { rx, ended: false },
                    };
                    (tx, branch)
                })
                .unzip();
            tokio::spawn(produce(stream, senders));
            branches
        }
    }
}

/// Reads `stream` and sends each chunk to every live branch, in order.
async fn produce(mut stream: Chunks, mut senders: Vec<mpsc::Sender<Item>>) {
    loop {
        let item = tokio::select! {
            item = stream.next() => item,
            () = all_closed(&senders) => return,
        };
        match item {
            Some(Ok(chunk)) => {
                let mut live = Vec::with_capacity(senders.len());
                for tx in senders {
                    if tx.send(Item::Chunk(chunk.clone())).await.is_ok() {
                        live.push(tx);
                    }
                }
                if live.is_empty() {
                    return;
                }
                senders = live;
            }
            Some(Err(e)) => {
                for tx in &senders {
                    let copy = io::Error::new(e.kind(), e.to_string());
                    let _ = tx.send(Item::Failed(copy)).await;
                }
                return;
            }
            None => {
                for tx in &senders {
                    let _ = tx.send(Item::End).await;
                }
                return;
            }
        }
    }
}

/// Completes once every branch has been dropped.
async fn all_closed(senders: &[mpsc::Sender<Item>]) {
    futures_util::future::join_all(senders.iter().map(mpsc::Sender::closed)).await;
}
