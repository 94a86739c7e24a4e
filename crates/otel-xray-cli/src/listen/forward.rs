//! `listen --forward`: received documents go through the daemon's buffer and sender
//! (`otel-xray-daemon`), so forwarding batches, paces and accounts exactly as `otel-xray
//! daemon` does: batches of up to 50, a few calls in flight, a full buffer counted, never
//! waited on, so a slow API never stalls the UDP socket.

use std::sync::Arc;
use std::time::Duration;

use otel_xray_daemon::{DocumentSink, Intake, Offer, Sender, SenderOptions, Source};

/// Bytes of documents waiting for the sink before new ones are refused (and counted as
/// failed).
pub const QUEUE_BYTES: usize = 16 * 1024 * 1024;

/// The forwarding task and its buffer.
#[derive(Debug)]
pub struct Forwarder {
    intake: Intake,
    sender: Sender,
}

impl Forwarder {
    /// Starts forwarding to `sink`.
    pub fn spawn<S: DocumentSink>(sink: S) -> Forwarder {
        let intake = Intake::with_capacity(QUEUE_BYTES);
        let sender = Sender::spawn(
            intake.buffer().clone(),
            intake.counters().clone(),
            Arc::new(sink),
            SenderOptions {
                concurrency: 4,
                ..SenderOptions::default()
            },
        );
        Forwarder { intake, sender }
    }

    /// Queues one document; a full buffer counts it as failed at once.
    pub fn forward(&self, doc: String) {
        self.intake.received(Source::DaemonUdp, 1);
        if self.intake.offer(doc) == Offer::Spilled {
            eprintln!("forward: buffer full ({QUEUE_BYTES} bytes); document not forwarded");
        }
    }

    /// Sends what is queued and stops; waits at most `limit`, then counts what is left as
    /// failed. Returns (forwarded, failed).
    pub async fn finish(self, limit: Duration) -> (u64, u64) {
        let Forwarder { intake, sender } = self;
        let drain = sender.drain(limit).await;
        if drain.undelivered > 0 {
            eprintln!(
                "forward: gave up after {limit:?}; {} documents not confirmed",
                drain.undelivered
            );
        }
        let s = intake.counters().snapshot();
        let failed = s.spillover + s.backend_rejected + s.dropped;
        if s.backend_rejected + s.dropped > 0 {
            eprintln!(
                "forward: {} documents not accepted by PutTraceSegments",
                s.backend_rejected + s.dropped
            );
        }
        (s.sent, failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otel_xray_daemon::SinkReport;
    use std::sync::Mutex;

    #[derive(Clone, Default)]
    struct Recorder {
        batches: Arc<Mutex<Vec<Vec<String>>>>,
    }

    impl DocumentSink for Recorder {
        async fn send(&self, docs: Vec<Arc<str>>) -> SinkReport {
            let failed = docs.iter().filter(|d| &***d == "bad").count() as u64;
            let report = SinkReport {
                sent: docs.len() as u64 - failed,
                rejected: failed,
                dropped: 0,
            };
            let texts = docs.iter().map(|d| d.to_string()).collect();
            self.batches.lock().unwrap().push(texts);
            report
        }
    }

    #[tokio::test]
    async fn every_document_is_forwarded_or_counted_as_failed() {
        let sink = Recorder::default();
        let f = Forwarder::spawn(sink.clone());
        for i in 0..120 {
            f.forward(format!("doc{i}"));
        }
        f.forward("bad".into());
        let (sent, failed) = f.finish(Duration::from_secs(60)).await;
        assert_eq!((sent, failed), (120, 1));
        let batches = sink.batches.lock().unwrap();
        assert!(
            batches.iter().all(|b| b.len() <= 50),
            "batches of at most 50"
        );
        assert_eq!(batches.iter().map(Vec::len).sum::<usize>(), 121);
    }
}
