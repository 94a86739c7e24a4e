//! `listen --forward`: batching received documents the way the daemon does (up to 50, or
//! after 1 s without new ones) and handing each batch to a sink — in the binary, the
//! exporter's PutTraceSegments transport. Runs as its own task so a slow API never stalls
//! the UDP socket; a full queue is counted, never waited on.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Most documents per batch (the daemon's PutTraceSegments batch size).
pub const BATCH_DOCUMENTS: usize = 50;

/// Documents waiting for the sink before new ones are refused (and counted as failed).
pub const QUEUE_DOCUMENTS: usize = 10_000;

/// What a sink did with one batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SinkReport {
    /// Accepted.
    pub sent: u64,
    /// Rejected by the API or given up on.
    pub failed: u64,
}

/// Where forwarded batches go.
pub trait DocumentSink: Send + Sync + 'static {
    /// Delivers `docs`; every document must be accounted for in the report.
    fn send(&self, docs: Vec<String>) -> impl Future<Output = SinkReport> + Send;
}

/// Forwarded / failed totals, shared with the forwarding task.
#[derive(Debug, Default)]
pub struct ForwardStats {
    forwarded: AtomicU64,
    failed: AtomicU64,
}

impl ForwardStats {
    /// (forwarded, failed) so far.
    pub fn get(&self) -> (u64, u64) {
        (
            self.forwarded.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }
}

/// The forwarding task and its queue.
#[derive(Debug)]
pub struct Forwarder {
    tx: mpsc::Sender<String>,
    task: JoinHandle<()>,
    stats: Arc<ForwardStats>,
}

impl Forwarder {
    /// Starts forwarding to `sink`, flushing a partial batch after `idle` without new documents.
    pub fn spawn<S: DocumentSink>(sink: S, idle: Duration) -> Forwarder {
        let (tx, rx) = mpsc::channel(QUEUE_DOCUMENTS);
        let stats = Arc::new(ForwardStats::default());
        let task = tokio::spawn(run(sink, rx, idle, stats.clone()));
        Forwarder { tx, task, stats }
    }

    /// Queues one document; a full queue counts it as failed at once.
    pub fn forward(&self, doc: String) {
        if self.tx.try_send(doc).is_err() {
            self.stats.failed.fetch_add(1, Ordering::Relaxed);
            eprintln!("forward: queue full ({QUEUE_DOCUMENTS} documents); document not forwarded");
        }
    }

    /// Live totals.
    #[cfg(test)]
    pub fn stats(&self) -> Arc<ForwardStats> {
        self.stats.clone()
    }

    /// Sends what is queued and stops; waits at most `limit`, then counts what is left as
    /// failed. Returns (forwarded, failed).
    pub async fn finish(self, limit: Duration) -> (u64, u64) {
        let Forwarder { tx, task, stats } = self;
        let pending_before = QUEUE_DOCUMENTS - tx.capacity();
        drop(tx);
        if tokio::time::timeout(limit, task).await.is_err() {
            let (sent, failed) = stats.get();
            eprintln!(
                "forward: gave up after {limit:?}; up to {pending_before} queued documents not confirmed"
            );
            return (sent, failed + pending_before as u64);
        }
        stats.get()
    }
}

async fn run<S: DocumentSink>(
    sink: S,
    mut rx: mpsc::Receiver<String>,
    idle: Duration,
    stats: Arc<ForwardStats>,
) {
    let mut batch = Vec::with_capacity(BATCH_DOCUMENTS);
    loop {
        let next = if batch.is_empty() {
            rx.recv().await
        } else {
            match tokio::time::timeout(idle, rx.recv()).await {
                Ok(next) => next,
                Err(_) => {
                    flush(&sink, &mut batch, &stats).await;
                    continue;
                }
            }
        };
        match next {
            Some(doc) => {
                batch.push(doc);
                if batch.len() >= BATCH_DOCUMENTS {
                    flush(&sink, &mut batch, &stats).await;
                }
            }
            None => {
                flush(&sink, &mut batch, &stats).await;
                return;
            }
        }
    }
}

async fn flush<S: DocumentSink>(sink: &S, batch: &mut Vec<String>, stats: &ForwardStats) {
    if batch.is_empty() {
        return;
    }
    let n = batch.len() as u64;
    let report = sink.send(std::mem::take(batch)).await;
    // A sink that under-reports must not make documents vanish from the totals.
    let unaccounted = n.saturating_sub(report.sent + report.failed);
    stats.forwarded.fetch_add(report.sent, Ordering::Relaxed);
    stats
        .failed
        .fetch_add(report.failed + unaccounted, Ordering::Relaxed);
    if report.failed + unaccounted > 0 {
        eprintln!(
            "forward: {} of {n} documents not accepted by PutTraceSegments",
            report.failed + unaccounted
        );
    }
}

/// The exporter's transport (in `listen`, PutTraceSegments) as a forwarding sink.
impl DocumentSink for otel_xray_exporter::XrayExporter {
    async fn send(&self, docs: Vec<String>) -> SinkReport {
        let report = self.send_documents(docs).await;
        SinkReport {
            sent: report.sent,
            failed: report.rejected + report.dropped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Clone, Default)]
    struct Recorder {
        batches: Arc<Mutex<Vec<Vec<String>>>>,
        reject: Option<&'static str>,
    }

    impl DocumentSink for Recorder {
        fn send(&self, docs: Vec<String>) -> impl Future<Output = SinkReport> + Send {
            let failed = docs
                .iter()
                .filter(|d| Some(d.as_str()) == self.reject)
                .count() as u64;
            let report = SinkReport {
                sent: docs.len() as u64 - failed,
                failed,
            };
            self.batches.lock().unwrap().push(docs);
            async move { report }
        }
    }

    #[tokio::test]
    async fn batches_of_fifty_then_the_rest_on_finish() {
        let sink = Recorder::default();
        let f = Forwarder::spawn(sink.clone(), Duration::from_secs(3600));
        for i in 0..120 {
            f.forward(format!("doc{i}"));
        }
        let (sent, failed) = f.finish(Duration::from_secs(60)).await;
        assert_eq!((sent, failed), (120, 0));
        let sizes: Vec<usize> = sink.batches.lock().unwrap().iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![50, 50, 20]);
    }

    #[tokio::test]
    async fn idle_flush_and_rejections_are_counted() {
        let sink = Recorder {
            reject: Some("bad"),
            ..Default::default()
        };
        let f = Forwarder::spawn(sink.clone(), Duration::from_millis(50));
        f.forward("good".into());
        f.forward("bad".into());
        let stats = f.stats();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while stats.get() == (0, 0) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(stats.get(), (1, 1), "flushed after idle without finish");
        assert_eq!(f.finish(Duration::from_secs(60)).await, (1, 1));
    }
}
