//! The segment buffer between the receivers and the sender: bounded by bytes, never blocking.
//!
//! Every receiver (the daemon's UDP port, OTLP over UDP, gRPC and HTTP) hands each finished
//! segment document to [`SegmentBuffer::offer`]. When the buffer holds its configured number
//! of bytes, the document is refused at once and counted as spillover — as the X-Ray daemon
//! does: a sender on UDP must never wait for X-Ray. The one sender task takes documents out
//! with [`SegmentBuffer::fill_batch`] and hands them to PutTraceSegments.
//!
//! ```
//! use std::sync::Arc;
//! use otel_xray_daemon::{DaemonCounters, Offer, SegmentBuffer};
//!
//! let counters = Arc::new(DaemonCounters::new());
//! let buffer = SegmentBuffer::new(3 * 1024 * 1024, counters.clone());
//! assert_eq!(buffer.offer(r#"{"id":"70de5b6f19ff9a0a"}"#.to_owned()), Offer::Accepted);
//! assert_eq!(buffer.offer(" ".repeat(4 * 1024 * 1024)), Offer::Spilled);
//! assert_eq!(counters.snapshot().spillover, 1);
//! ```

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::counters::DaemonCounters;

/// The smallest buffer the daemon accepts, in MB (`-m`, `TotalBufferSizeMB`).
pub const MIN_BUFFER_MB: u64 = 3;

/// What is charged per document besides its bytes (the queue entry and the shared text's two
/// counts), so that a flood of tiny documents is bounded too.
const PER_DOCUMENT_OVERHEAD: usize =
    std::mem::size_of::<Arc<str>>() + 2 * std::mem::size_of::<usize>();

/// What [`SegmentBuffer::offer`] did with a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// Queued for sending; the sender will count it as sent, refused or dropped.
    Accepted,
    /// The buffer was full (or closed for shutdown): the document was dropped and counted as
    /// spillover. A gRPC/HTTP receiver should answer `RESOURCE_EXHAUSTED`/429 for it.
    Spilled,
}

/// Documents taken from the buffer by the sender; their bytes stay charged until
/// [`SegmentBuffer::release`].
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Taken {
    /// The documents, oldest first. Shared: the sender keeps them for a retry while the
    /// exporter sends them, without a copy.
    pub documents: Vec<Arc<str>>,
    charge: usize,
}

impl Taken {
    /// What to give [`SegmentBuffer::release`] once the documents are settled.
    pub fn charge(&self) -> usize {
        self.charge
    }

    /// Whether nothing was taken (the buffer is closed and empty).
    pub fn is_empty(&self) -> bool {
        self.documents.is_empty()
    }
}

#[derive(Debug)]
struct Queue {
    documents: VecDeque<Arc<str>>,
    bytes: usize,
    closed: bool,
    /// How many waiting documents wake the waiting sender; `usize::MAX` while none waits.
    /// An offer wakes the sender only when its wait is over (the first document, or a full
    /// batch), not once per document: at 10,000 documents/s a wake-up per document cost more
    /// CPU than the documents themselves.
    wake_at: usize,
}

impl Queue {
    /// Queues `document` if it fits in `capacity` and the buffer is open; dropped otherwise.
    fn push(&mut self, document: Arc<str>, capacity: usize) -> bool {
        let cost = document.len() + PER_DOCUMENT_OVERHEAD;
        if self.closed || self.bytes + cost > capacity {
            return false;
        }
        self.bytes += cost;
        self.documents.push_back(document);
        true
    }

    /// Whether the sender waiting for a batch should wake now (once per wait).
    fn wake_due(&mut self) -> bool {
        let wake = self.documents.len() >= self.wake_at;
        if wake {
            self.wake_at = usize::MAX;
        }
        wake
    }
}

impl Default for Queue {
    fn default() -> Queue {
        Queue {
            documents: VecDeque::new(),
            bytes: 0,
            closed: false,
            wake_at: usize::MAX,
        }
    }
}

/// A bounded, non-blocking queue of segment documents (see the [module docs](self)).
///
/// Cheap to share: wrap it in an `Arc`. Any number of receivers may `offer`; one sender
/// drains it.
#[derive(Debug)]
pub struct SegmentBuffer {
    queue: Mutex<Queue>,
    capacity: usize,
    ready: Notify,
    counters: Arc<DaemonCounters>,
}

impl SegmentBuffer {
    /// A buffer holding at most `capacity_bytes` of documents, counting into `counters`.
    pub fn new(capacity_bytes: usize, counters: Arc<DaemonCounters>) -> SegmentBuffer {
        SegmentBuffer {
            queue: Mutex::new(Queue::default()),
            capacity: capacity_bytes,
            ready: Notify::new(),
            counters,
        }
    }

    /// Queues one serialised segment document (JSON text) without ever waiting. Text, so the
    /// sender hands it to PutTraceSegments as it is, without checking its UTF-8 again; give
    /// an `Arc<str>` made from the bytes received to save a copy (a `String` is copied into
    /// one).
    ///
    /// Returns [`Offer::Spilled`] — and counts the document as spillover — when it does not
    /// fit in what is left of the buffer, or after [`close`](Self::close). The caller counts
    /// the unit as received beforehand ([`DaemonCounters::add_received`]); nothing else.
    pub fn offer(&self, document: impl Into<Arc<str>>) -> Offer {
        let document = document.into();
        let (queued, wake) = {
            let mut q = self.lock();
            let queued = q.push(document, self.capacity);
            (queued, q.wake_due())
        };
        self.settle(u64::from(queued), u64::from(!queued), wake);
        if queued {
            Offer::Accepted
        } else {
            Offer::Spilled
        }
    }

    /// [`offer`](Self::offer) for each of `documents`, in order, under one lock (an OTLP
    /// request's documents: a lock, a count and a wake-up per document were 1.5 % of the
    /// daemon's CPU time under OTLP load). Returns how many were spilled.
    pub fn offer_all(&self, documents: Vec<Arc<str>>) -> usize {
        let n = documents.len();
        let (queued, wake) = {
            let mut q = self.lock();
            let mut queued = 0;
            for document in documents {
                queued += usize::from(q.push(document, self.capacity));
            }
            (queued, q.wake_due())
        };
        self.settle(queued as u64, (n - queued) as u64, wake);
        n - queued
    }

    fn settle(&self, queued: u64, spilled: u64, wake: bool) {
        if spilled > 0 {
            self.counters.add_spillover(spilled);
        }
        if queued > 0 {
            self.counters.add_buffered(queued);
        }
        if wake {
            self.ready.notify_one();
        }
    }

    /// Waits for documents and takes up to `max` of them, oldest first, at once. Returns an
    /// empty batch only once the buffer is [closed](Self::close) and empty.
    ///
    /// The documents stay charged against the capacity until the sender
    /// [releases](Self::release) them, once X-Ray has settled them: memory held in flight
    /// (including batches waiting to be retried during an outage) counts too.
    pub async fn next_batch(&self, max: usize) -> Taken {
        self.fill_batch(max, Duration::ZERO).await
    }

    /// Like [`next_batch`](Self::next_batch), but once a first document is there, waits up to
    /// `fill_wait` for `max` of them before taking what there is. After [`close`](Self::close)
    /// it takes what there is at once.
    ///
    /// Fuller batches mean fewer PutTraceSegments calls for the same documents, and each
    /// call costs far more CPU (signing, request building, HTTP) than a document adds to it;
    /// a document waits at most `fill_wait` longer for it.
    pub async fn fill_batch(&self, max: usize, fill_wait: Duration) -> Taken {
        let max = max.max(1);
        let mut deadline: Option<Instant> = None;
        loop {
            // Registered before looking, so an offer between the look and the wait wakes us.
            let notified = self.ready.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut q = self.lock();
                let waiting = q.documents.len();
                if waiting > 0 && deadline.is_none() {
                    deadline = Some(Instant::now() + fill_wait);
                }
                let filled =
                    waiting >= max || q.closed || deadline.is_some_and(|d| d <= Instant::now());
                if waiting > 0 && filled {
                    q.wake_at = usize::MAX;
                    let documents: Vec<Arc<str>> = q.documents.drain(..waiting.min(max)).collect();
                    let charge = documents
                        .iter()
                        .map(|d| d.len() + PER_DOCUMENT_OVERHEAD)
                        .sum();
                    return Taken { documents, charge };
                }
                if q.closed {
                    return Taken::default();
                }
                q.wake_at = if waiting == 0 { 1 } else { max };
            }
            match deadline {
                Some(deadline) => {
                    tokio::select! {
                        _ = notified => {}
                        _ = tokio::time::sleep_until(deadline) => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    /// Frees the capacity a [`Taken`] batch held ([`Taken::charge`]).
    pub fn release(&self, charge: usize) {
        let mut q = self.lock();
        q.bytes = q.bytes.saturating_sub(charge);
    }

    /// Refuses new documents from now on (they count as spillover) and wakes the sender so it
    /// can drain what is left.
    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_waiters();
        self.ready.notify_one();
    }

    /// Documents waiting.
    pub fn len(&self) -> usize {
        self.lock().documents.len()
    }

    /// Whether no document is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes charged for the documents waiting and those taken but not yet released.
    pub fn used_bytes(&self) -> usize {
        self.lock().bytes
    }

    /// The configured capacity in bytes.
    pub fn capacity_bytes(&self) -> usize {
        self.capacity
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The buffer size in bytes for `-m` / `TotalBufferSizeMB`, with the daemon's rules: `0` (or
/// none given) means 1 % of the host's memory, anything else is megabytes with a minimum of
/// [`MIN_BUFFER_MB`] (a smaller value is raised to it, with a warning).
pub fn buffer_bytes(megabytes: Option<u64>) -> usize {
    const MB: u64 = 1024 * 1024;
    let mb = match megabytes {
        None | Some(0) => {
            let one_percent = host_memory_bytes().map(|b| b / 100 / MB);
            match one_percent {
                Some(mb) => mb.max(MIN_BUFFER_MB),
                None => {
                    tracing::warn!(
                        "host memory unknown; buffer set to {} MB (set -m to choose)",
                        16
                    );
                    16
                }
            }
        }
        Some(mb) if mb < MIN_BUFFER_MB => {
            tracing::warn!(
                "buffer memory of {mb} MB is below the daemon's minimum; using {MIN_BUFFER_MB} MB"
            );
            MIN_BUFFER_MB
        }
        Some(mb) => mb,
    };
    usize::try_from(mb.saturating_mul(MB)).unwrap_or(usize::MAX)
}

/// Total memory of the host, from `/proc/meminfo` (Linux).
fn host_memory_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(documents: &[Arc<str>]) -> Vec<&str> {
        documents.iter().map(|d| &**d).collect()
    }

    fn buffer(capacity: usize) -> (SegmentBuffer, Arc<DaemonCounters>) {
        let c = Arc::new(DaemonCounters::new());
        (SegmentBuffer::new(capacity, c.clone()), c)
    }

    #[test]
    fn bounded_by_bytes_and_spillover_counted() {
        let doc = "x".repeat(1000);
        let cost = 1000 + PER_DOCUMENT_OVERHEAD;
        let (b, c) = buffer(cost * 3 + 50);
        for _ in 0..3 {
            assert_eq!(b.offer(doc.clone()), Offer::Accepted);
        }
        assert_eq!(b.offer(doc.clone()), Offer::Spilled);
        // A smaller one that fits still goes in: the bound is bytes, not documents.
        assert_eq!(b.offer("y".repeat(10)), Offer::Accepted);
        assert_eq!(b.offer("y".repeat(10)), Offer::Spilled);
        assert_eq!(b.used_bytes(), cost * 3 + 10 + PER_DOCUMENT_OVERHEAD);
        let s = c.snapshot();
        assert_eq!((s.buffered, s.spillover), (4, 2));
    }

    /// Offering a request's documents together takes what one offer at a time would: in
    /// order, each that fits, the rest counted as spillover; and wakes a waiting sender.
    #[tokio::test]
    async fn offer_all_takes_what_single_offers_take() {
        let docs = || -> Vec<Arc<str>> {
            [
                "aaaa",
                "bbbbbbbbbbbbbbbbbbbb",
                "cc",
                "dddddddddddddddddddd",
                "e",
            ]
            .map(Arc::from)
            .to_vec()
        };
        let capacity = 30 + 3 * PER_DOCUMENT_OVERHEAD;
        let (one_by_one, c1) = buffer(capacity);
        let single: Vec<Offer> = docs().into_iter().map(|d| one_by_one.offer(d)).collect();
        let spilled = single.iter().filter(|o| **o == Offer::Spilled).count();
        assert_eq!(spilled, 2, "{single:?}");
        let (together, c2) = buffer(capacity);
        let together = Arc::new(together);
        // A sender already waiting for a batch.
        let waiting = tokio::spawn({
            let together = together.clone();
            async move { together.next_batch(50).await.documents }
        });
        tokio::task::yield_now().await;
        assert_eq!(together.offer_all(Vec::new()), 0);
        assert_eq!(together.offer_all(docs()), spilled);
        assert_eq!(together.used_bytes(), one_by_one.used_bytes());
        let taken = tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
            .await
            .expect("the waiting sender was woken")
            .unwrap();
        assert_eq!(taken, one_by_one.next_batch(50).await.documents);
        let (s1, s2) = (c1.snapshot(), c2.snapshot());
        assert_eq!((s1.buffered, s1.spillover), (s2.buffered, s2.spillover));
    }

    #[tokio::test]
    async fn drains_in_order_and_frees_space() {
        let (b, _) = buffer(10 * (1 + PER_DOCUMENT_OVERHEAD));
        for i in 0..5u8 {
            assert_eq!(b.offer(i.to_string()), Offer::Accepted);
        }
        let first = b.next_batch(3).await;
        assert_eq!(texts(&first.documents), ["0", "1", "2"]);
        let second = b.next_batch(50).await;
        assert_eq!(texts(&second.documents), ["3", "4"]);
        // Taken is still held until released.
        assert_eq!(b.used_bytes(), 5 * (1 + PER_DOCUMENT_OVERHEAD));
        b.release(first.charge());
        b.release(second.charge());
        assert_eq!(b.used_bytes(), 0);
        b.close();
        assert_eq!(b.offer("9".to_owned()), Offer::Spilled);
        assert!(b.next_batch(50).await.is_empty());
    }

    #[tokio::test]
    async fn a_waiting_sender_wakes_on_offer_and_on_close() {
        let (b, _) = buffer(10_000);
        let b = Arc::new(b);
        let waiter = tokio::spawn({
            let b = b.clone();
            async move { b.next_batch(50).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        b.offer("doc".to_owned());
        assert_eq!(texts(&waiter.await.unwrap().documents), ["doc"]);
        let waiter = tokio::spawn({
            let b = b.clone();
            async move { b.next_batch(50).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        b.close();
        assert!(waiter.await.unwrap().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_waits_to_fill_but_not_past_full_the_fill_wait_or_close() {
        let (b, _) = buffer(1 << 20);
        let b = Arc::new(b);
        let fill = |max, wait| {
            let b = b.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                let taken = b.fill_batch(max, wait).await;
                (taken.documents.len(), started.elapsed())
            })
        };
        let wait = Duration::from_secs(10);
        let later = Duration::from_millis(10);
        // Too few: what there is, once the fill wait is over.
        for _ in 0..3 {
            b.offer("doc".to_owned());
        }
        assert_eq!(fill(5, wait).await.unwrap(), (3, wait));
        // Full before the wait is over: at once.
        b.offer("doc".to_owned());
        let waiter = fill(5, wait);
        tokio::time::sleep(later).await;
        for _ in 0..6 {
            b.offer("doc".to_owned());
        }
        assert_eq!(waiter.await.unwrap(), (5, later));
        // More than a batch waiting: at once.
        assert_eq!(fill(1, wait).await.unwrap(), (1, Duration::ZERO));
        // Closed during the wait: what there is, at once.
        let waiter = fill(5, wait);
        tokio::time::sleep(later).await;
        b.close();
        assert_eq!(waiter.await.unwrap(), (1, later));
        assert_eq!(fill(5, wait).await.unwrap(), (0, Duration::ZERO));
    }

    #[test]
    fn daemon_sizes() {
        const MB: usize = 1024 * 1024;
        assert_eq!(buffer_bytes(Some(1)), 3 * MB);
        assert_eq!(buffer_bytes(Some(3)), 3 * MB);
        assert_eq!(buffer_bytes(Some(64)), 64 * MB);
        let host = host_memory_bytes().expect("Linux has /proc/meminfo") as usize;
        let auto = buffer_bytes(Some(0));
        assert_eq!(auto, buffer_bytes(None));
        assert_eq!(auto, (host / 100 / MB).max(3) * MB);
    }
}
