//! The sender: takes batches of up to 50 documents from the buffer and hands each to the
//! sink (PutTraceSegments), with at most `Concurrency` batches in flight.
//!
//! A batch whose every document was dropped for a transient reason (the backend could not be
//! reached, every attempt timed out) is kept and sent again with exponential backoff, so an
//! outage the buffer can hold loses nothing. Its bytes stay charged against the buffer while
//! it waits, so memory stays bounded and new documents spill over once it is full. A batch
//! that got partly through is settled as the sink reports it: retrying the whole of it would
//! duplicate the part X-Ray stored.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use tokio::sync::{watch, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

use crate::buffer::SegmentBuffer;
use crate::counters::DaemonCounters;

/// Most documents per PutTraceSegments call (X-Ray's and the daemon's batch size).
pub const BATCH_DOCUMENTS: usize = 50;

/// How long the sender waits for a batch to fill ([`SenderOptions::fill_wait`]) by default:
/// calls are full from 1,000 documents/s on, and a document is held at most this much
/// longer, far inside the daemon's latency (X-Ray itself shows a trace seconds later).
pub const DEFAULT_FILL_WAIT: Duration = Duration::from_millis(50);

/// What a sink did with one batch. Every document must be in exactly one field; documents a
/// sink leaves out are counted as dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SinkReport {
    /// Accepted by X-Ray.
    pub sent: u64,
    /// Refused by X-Ray (retrying would not help).
    pub rejected: u64,
    /// Given up on (retries exhausted, timeout, no credentials...).
    pub dropped: u64,
}

/// Where batches go: PutTraceSegments through [`otel_xray_exporter::XrayExporter`] in the
/// daemon, anything else in tests and `otel-xray listen --forward`.
pub trait DocumentSink: Send + Sync + 'static {
    /// Delivers `documents` (at most [`BATCH_DOCUMENTS`]) and says what became of each.
    fn send(&self, documents: Vec<Arc<str>>) -> impl Future<Output = SinkReport> + Send;
}

/// PutTraceSegments, with the exporter's batching, retries and accounting.
impl DocumentSink for otel_xray_exporter::XrayExporter {
    async fn send(&self, documents: Vec<Arc<str>>) -> SinkReport {
        let report = self.send_documents(documents).await;
        SinkReport {
            sent: report.sent,
            rejected: report.rejected,
            dropped: report.dropped,
        }
    }
}

/// How the sender paces itself.
#[derive(Debug, Clone)]
pub struct SenderOptions {
    /// Batches in flight at once (the daemon's `Concurrency`, default 8).
    pub concurrency: usize,
    /// With a call slot free and fewer than [`BATCH_DOCUMENTS`] waiting, how long to wait
    /// for more before sending what there is (default [`DEFAULT_FILL_WAIT`]). Without it,
    /// at 10,000 segments/s calls carried about 4 documents each: each call's signing and
    /// request building was paid for 4 documents instead of 50.
    pub fill_wait: Duration,
    /// First wait before a batch is sent again after an outage.
    pub outage_backoff_min: Duration,
    /// Longest wait between two tries of a batch during an outage.
    pub outage_backoff_max: Duration,
}

impl Default for SenderOptions {
    fn default() -> SenderOptions {
        SenderOptions {
            concurrency: 8,
            fill_wait: DEFAULT_FILL_WAIT,
            outage_backoff_min: Duration::from_millis(200),
            outage_backoff_max: Duration::from_secs(5),
        }
    }
}

/// What shutdown could and could not deliver.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DrainReport {
    /// Documents settled (sent, refused or dropped) during the drain.
    pub settled: u64,
    /// Documents still buffered or in flight when the shutdown timeout ran out; counted as
    /// dropped.
    pub undelivered: u64,
}

/// The running sender task.
#[derive(Debug)]
pub struct Sender {
    task: JoinHandle<()>,
    buffer: Arc<SegmentBuffer>,
    counters: Arc<DaemonCounters>,
    stopping: watch::Sender<bool>,
}

impl Sender {
    /// Starts sending what `buffer` receives to `sink`.
    pub fn spawn<K: DocumentSink>(
        buffer: Arc<SegmentBuffer>,
        counters: Arc<DaemonCounters>,
        sink: Arc<K>,
        options: SenderOptions,
    ) -> Sender {
        let (stopping, stop_rx) = watch::channel(false);
        let task = tokio::spawn(run(
            buffer.clone(),
            counters.clone(),
            sink,
            options,
            stop_rx,
        ));
        Sender {
            task,
            buffer,
            counters,
            stopping,
        }
    }

    /// Closes the buffer, sends what it holds and waits at most `limit` for it. What is not
    /// settled by then is counted as dropped and reported.
    pub async fn drain(self, limit: Duration) -> DrainReport {
        let Sender {
            mut task,
            buffer,
            counters,
            stopping,
        } = self;
        let before = counters.snapshot();
        buffer.close();
        // Batches waiting out an outage give up at the next failure instead of backing off.
        let _ = stopping.send(true);
        if tokio::time::timeout(limit, &mut task).await.is_err() {
            task.abort();
            let _ = task.await;
        }
        let after = counters.snapshot();
        let undelivered = after.pending();
        counters.add_settled(0, 0, undelivered);
        if undelivered > 0 {
            tracing::error!(
                undelivered,
                "shutdown: {undelivered} segment documents could not be delivered within {limit:?}"
            );
        }
        let settled = |s: &crate::CountersSnapshot| s.sent + s.backend_rejected + s.dropped;
        DrainReport {
            settled: settled(&after) - settled(&before),
            undelivered,
        }
    }
}

async fn run<K: DocumentSink>(
    buffer: Arc<SegmentBuffer>,
    counters: Arc<DaemonCounters>,
    sink: Arc<K>,
    options: SenderOptions,
    stopping: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let mut calls = JoinSet::new();
    loop {
        // A free slot first: while every call is busy, documents gather into fuller batches.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let taken = buffer.fill_batch(BATCH_DOCUMENTS, options.fill_wait).await;
        if taken.is_empty() {
            break;
        }
        let charge = taken.charge();
        let (buffer, counters, sink) = (buffer.clone(), counters.clone(), sink.clone());
        let options = options.clone();
        let stopping = stopping.clone();
        calls.spawn(async move {
            send_batch(&*sink, taken.documents, &counters, &options, stopping).await;
            buffer.release(charge);
            drop(slot);
        });
        // Reap finished calls so the set does not grow.
        while calls.try_join_next().is_some() {}
    }
    while calls.join_next().await.is_some() {}
}

/// The whole batch failed to get through; it will be tried again.
struct Unreachable;

async fn send_batch<K: DocumentSink>(
    sink: &K,
    documents: Vec<Arc<str>>,
    counters: &DaemonCounters,
    options: &SenderOptions,
    stopping: watch::Receiver<bool>,
) {
    let n = documents.len() as u64;
    if n == 0 {
        return;
    }
    let stopping = &stopping;
    let attempt = || {
        // Shared texts: each attempt's copy of the batch is 50 reference counts, not 50
        // documents.
        let documents = documents.clone();
        async move {
            let report = sink.send(documents).await;
            if report.dropped == n && !*stopping.borrow() {
                Err(Unreachable)
            } else {
                Ok(report)
            }
        }
    };
    let backoff = ExponentialBuilder::default()
        .with_min_delay(options.outage_backoff_min)
        .with_max_delay(options.outage_backoff_max)
        .with_jitter()
        .without_max_times();
    let report = attempt
        .retry(backoff)
        .notify(|_, wait| {
            counters.add_outage_retry();
            tracing::warn!(
                documents = n,
                "X-Ray unreachable; batch kept and sent again in {wait:?}"
            );
        })
        .await;
    // Without a limit on tries, only success ends the retry loop.
    let Ok(report) = report else { return };
    let unaccounted = n.saturating_sub(report.sent + report.rejected + report.dropped);
    counters.add_settled(report.sent, report.rejected, report.dropped + unaccounted);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Mutex;

    use crate::Intake;

    #[derive(Default)]
    struct Recorder {
        batches: Mutex<Vec<Vec<String>>>,
        down: AtomicBool,
        calls: AtomicU64,
    }

    impl DocumentSink for Recorder {
        async fn send(&self, documents: Vec<Arc<str>>) -> SinkReport {
            self.calls.fetch_add(1, Ordering::Relaxed);
            let n = documents.len() as u64;
            if self.down.load(Ordering::Relaxed) {
                return SinkReport {
                    dropped: n,
                    ..SinkReport::default()
                };
            }
            let rejected = documents.iter().filter(|d| d.contains("bad")).count() as u64;
            let texts = documents.iter().map(|d| d.to_string()).collect();
            self.batches.lock().unwrap().push(texts);
            SinkReport {
                sent: n - rejected,
                rejected,
                dropped: 0,
            }
        }
    }

    fn options() -> SenderOptions {
        SenderOptions {
            concurrency: 1,
            fill_wait: Duration::from_millis(20),
            outage_backoff_min: Duration::from_millis(5),
            outage_backoff_max: Duration::from_millis(20),
        }
    }

    #[tokio::test]
    async fn batches_of_fifty_and_everything_settled() {
        let intake = Intake::with_capacity(1 << 20);
        for i in 0..120 {
            intake.offer(format!("{{\"n\":{i}}}"));
        }
        intake.offer(r#"{"bad":1}"#.to_owned());
        let sink = Arc::new(Recorder::default());
        let sender = Sender::spawn(
            intake.buffer().clone(),
            intake.counters().clone(),
            sink.clone(),
            options(),
        );
        let report = sender.drain(Duration::from_secs(30)).await;
        assert_eq!(
            report,
            DrainReport {
                settled: 121,
                undelivered: 0
            }
        );
        let sizes: Vec<usize> = sink.batches.lock().unwrap().iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![50, 50, 21]);
        let snap = intake.counters().snapshot();
        assert_eq!(
            (snap.sent, snap.backend_rejected, snap.dropped),
            (120, 1, 0)
        );
        assert_eq!(intake.buffer().used_bytes(), 0);
    }

    #[tokio::test]
    async fn an_outage_loses_nothing_and_holds_the_memory() {
        let intake = Intake::with_capacity(1 << 20);
        let sink = Arc::new(Recorder {
            down: AtomicBool::new(true),
            ..Recorder::default()
        });
        let sender = Sender::spawn(
            intake.buffer().clone(),
            intake.counters().clone(),
            sink.clone(),
            options(),
        );
        for i in 0..10 {
            intake.offer(format!("{{\"n\":{i}}}"));
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while sink.calls.load(Ordering::Relaxed) < 3 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(intake.buffer().used_bytes() > 0, "held while retrying");
        sink.down.store(false, Ordering::Relaxed);
        let report = sender.drain(Duration::from_secs(30)).await;
        assert_eq!(report.undelivered, 0);
        let snap = intake.counters().snapshot();
        assert_eq!((snap.sent, snap.dropped), (10, 0));
        assert!(snap.outage_retries >= 2);
    }

    #[tokio::test]
    async fn drain_gives_up_after_the_limit_and_counts_it() {
        let intake = Intake::with_capacity(1 << 20);
        let sink = Arc::new(Recorder {
            down: AtomicBool::new(true),
            ..Recorder::default()
        });
        for i in 0..70 {
            intake.offer(format!("{{\"n\":{i}}}"));
        }
        let sender = Sender::spawn(
            intake.buffer().clone(),
            intake.counters().clone(),
            sink,
            options(),
        );
        // Backend down through shutdown: batches are tried once more, then dropped.
        let report = sender.drain(Duration::from_secs(30)).await;
        let snap = intake.counters().snapshot();
        assert_eq!(snap.dropped, 70);
        assert_eq!(report.settled + report.undelivered, 70);
        assert_eq!(snap.pending(), 0);
    }
}
