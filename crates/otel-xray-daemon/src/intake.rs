//! What every receiver holds: the buffer to offer documents to and the counters to count in.

use std::sync::Arc;

use crate::buffer::{Offer, SegmentBuffer};
use crate::counters::{DaemonCounters, RejectReason, Source};

/// The receivers' side of the daemon: offer finished segment documents, count what arrived
/// and what was refused. Cheap to clone (two `Arc`s); give each receiver its own clone.
///
/// A receiver counts every unit it takes in with [`received`](Self::received) first, then
/// either [`offer`](Self::offer)s the document (the buffer counts spillover) or
/// [`reject`](Self::reject)s it with a reason. Then the totals balance (see
/// [`DaemonCounters`]).
///
/// ```
/// use otel_xray_daemon::{Intake, Offer, RejectReason, Source};
///
/// let intake = Intake::with_capacity(3 * 1024 * 1024);
/// intake.received(Source::OtlpHttp, 2);
/// assert_eq!(intake.offer(r#"{"name":"checkout"}"#.to_owned()), Offer::Accepted);
/// intake.reject(Source::OtlpHttp, RejectReason::OtlpUntranslatable, 1);
/// let snap = intake.counters().snapshot();
/// assert_eq!(snap.received_total(), snap.buffered + snap.rejected_total());
/// ```
#[derive(Debug, Clone)]
pub struct Intake {
    buffer: Arc<SegmentBuffer>,
    counters: Arc<DaemonCounters>,
}

impl Intake {
    /// An intake over an existing buffer and its counters.
    pub fn new(buffer: Arc<SegmentBuffer>, counters: Arc<DaemonCounters>) -> Intake {
        Intake { buffer, counters }
    }

    /// A fresh buffer of `capacity_bytes` with fresh counters (tests, benchmarks).
    pub fn with_capacity(capacity_bytes: usize) -> Intake {
        let counters = Arc::new(DaemonCounters::new());
        let buffer = Arc::new(SegmentBuffer::new(capacity_bytes, counters.clone()));
        Intake { buffer, counters }
    }

    /// Counts `n` units that arrived from `source`.
    pub fn received(&self, source: Source, n: u64) {
        self.counters.add_received(source, n);
    }

    /// Counts `n` units from `source` refused for `reason`.
    pub fn reject(&self, source: Source, reason: RejectReason, n: u64) {
        self.counters.add_rejected(source, reason, n);
    }

    /// Queues one serialised segment document; see [`SegmentBuffer::offer`].
    pub fn offer(&self, document: impl Into<Arc<str>>) -> Offer {
        self.buffer.offer(document)
    }

    /// Queues documents in order; see [`SegmentBuffer::offer_all`]. Returns how many were
    /// spilled.
    pub fn offer_all(&self, documents: Vec<Arc<str>>) -> usize {
        self.buffer.offer_all(documents)
    }

    /// The buffer.
    pub fn buffer(&self) -> &Arc<SegmentBuffer> {
        &self.buffer
    }

    /// The counters.
    pub fn counters(&self) -> &Arc<DaemonCounters> {
        &self.counters
    }
}
