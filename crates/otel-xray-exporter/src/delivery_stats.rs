//! Delivery counters: every document the exporter handles ends up in exactly one
//! of `sent`, `rejected` or `dropped`, so nothing disappears without a trace.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Why a document was given up on by the exporter itself (as opposed to being
/// refused by X-Ray, see [`DeliveryStats::rejected`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// The span could not be turned into a segment document.
    Untranslatable,
    /// The document does not fit the transport's size limit (one UDP datagram,
    /// 64 KB).
    TooLarge,
    /// The operating system refused to send the datagram (daemon port closed,
    /// network unreachable, send buffer full past the write timeout).
    SendFailed,
    /// Writing to the configured `Write` failed.
    WriteFailed,
    /// Throttling, 5xx or connection errors went on past the retry budget.
    RetryBudgetExhausted,
    /// The export timeout ran out before X-Ray confirmed the document. The
    /// outcome is unknown rather than lost: a call whose answer stalled may
    /// still have been stored.
    Timeout,
    /// The AWS configuration could not be loaded or the request could not be
    /// built (missing region, bad credentials provider).
    Misconfigured,
    /// `export` was called after `shutdown`.
    AfterShutdown,
    /// The span's timestamps are outside what the destination accepts (the
    /// X-Ray OTLP endpoint: more than 2 h ahead, more than 14 days old, or
    /// longer than one request may cover).
    OutsideTimeWindow,
}

impl DropReason {
    const ALL: [DropReason; 9] = [
        DropReason::Untranslatable,
        DropReason::TooLarge,
        DropReason::SendFailed,
        DropReason::WriteFailed,
        DropReason::RetryBudgetExhausted,
        DropReason::Timeout,
        DropReason::Misconfigured,
        DropReason::AfterShutdown,
        DropReason::OutsideTimeWindow,
    ];

    /// A stable snake_case name, for logs and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Untranslatable => "untranslatable",
            DropReason::TooLarge => "too_large",
            DropReason::SendFailed => "send_failed",
            DropReason::WriteFailed => "write_failed",
            DropReason::RetryBudgetExhausted => "retry_budget_exhausted",
            DropReason::Timeout => "timeout",
            DropReason::Misconfigured => "misconfigured",
            DropReason::AfterShutdown => "after_shutdown",
            DropReason::OutsideTimeWindow => "outside_time_window",
        }
    }

    fn index(self) -> usize {
        DropReason::ALL
            .iter()
            .position(|r| *r == self)
            .unwrap_or_default()
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Default)]
struct Inner {
    sent: AtomicU64,
    retried: AtomicU64,
    trimmed: AtomicU64,
    dropped: [AtomicU64; DropReason::ALL.len()],
    // Keyed by X-Ray's own error code, which is open-ended.
    rejected: Mutex<BTreeMap<String, u64>>,
}

/// A live, cheaply clonable handle on the exporter's counters.
///
/// Take it with [`XrayExporter::counters`](crate::XrayExporter::counters)
/// before handing the exporter to a span processor; it keeps counting after
/// that.
#[derive(Debug, Clone, Default)]
pub struct DeliveryCounters {
    inner: Arc<Inner>,
}

impl DeliveryCounters {
    /// Fresh counters, all zero.
    pub fn new() -> DeliveryCounters {
        DeliveryCounters::default()
    }

    /// A consistent-enough copy of every counter.
    pub fn snapshot(&self) -> DeliveryStats {
        let i = &self.inner;
        let dropped = DropReason::ALL
            .iter()
            .filter_map(|r| {
                let n = i.dropped[r.index()].load(Ordering::Relaxed);
                (n > 0).then_some((*r, n))
            })
            .collect();
        DeliveryStats {
            sent: i.sent.load(Ordering::Relaxed),
            retried: i.retried.load(Ordering::Relaxed),
            trimmed: i.trimmed.load(Ordering::Relaxed),
            rejected: i
                .rejected
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            dropped,
        }
    }

    pub(crate) fn add_sent(&self, n: u64) {
        self.inner.sent.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn add_retried(&self, n: u64) {
        self.inner.retried.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn add_trimmed(&self, n: u64) {
        self.inner.trimmed.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn add_dropped(&self, reason: DropReason, n: u64) {
        if n > 0 {
            self.inner.dropped[reason.index()].fetch_add(n, Ordering::Relaxed);
        }
    }

    pub(crate) fn add_rejected(&self, code: &str, n: u64) {
        if n > 0 {
            let mut map = self
                .inner
                .rejected
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            *map.entry(code.to_owned()).or_default() += n;
        }
    }
}

/// A copy of the delivery counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryStats {
    /// Documents handed over successfully (written, sent as a datagram, or
    /// accepted by PutTraceSegments).
    pub sent: u64,
    /// Re-sends of documents after throttling, 5xx, connection errors or a
    /// retryable `UnprocessedTraceSegments` entry (one per document per re-send).
    /// When a call reached X-Ray but its answer was lost, the re-send stores a
    /// second, byte-identical copy; X-Ray keeps the last copy of a document id,
    /// so the stored trace is the same (`tests/delivery_faults.rs` shows it).
    pub retried: u64,
    /// Documents refused by X-Ray, by its error code (`UnprocessedTraceSegments`
    /// with a code that retrying cannot fix, or a 4xx for the whole call).
    pub rejected: BTreeMap<String, u64>,
    /// Documents the exporter gave up on, by reason.
    pub dropped: BTreeMap<DropReason, u64>,
    /// Documents the translator had to shorten to fit the size limits.
    pub trimmed: u64,
}

impl DeliveryStats {
    /// All rejected documents, whatever the code.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }

    /// All dropped documents, whatever the reason.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.values().sum()
    }

    /// Dropped documents for one reason.
    pub fn dropped_for(&self, reason: DropReason) -> u64 {
        self.dropped.get(&reason).copied().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_accumulate_by_reason_and_code() {
        let c = DeliveryCounters::new();
        c.add_sent(3);
        c.add_dropped(DropReason::TooLarge, 2);
        c.add_dropped(DropReason::Timeout, 0);
        c.add_rejected("InvalidTraceId", 1);
        c.add_rejected("InvalidTraceId", 4);
        let clone = c.clone();
        clone.add_retried(7);
        let s = c.snapshot();
        assert_eq!(s.sent, 3);
        assert_eq!(s.retried, 7);
        assert_eq!(s.dropped_for(DropReason::TooLarge), 2);
        assert!(!s.dropped.contains_key(&DropReason::Timeout));
        assert_eq!(s.rejected.get("InvalidTraceId"), Some(&5));
        assert_eq!(s.rejected_total(), 5);
        assert_eq!(s.dropped_total(), 2);
    }

    #[test]
    fn every_reason_has_its_own_slot() {
        let c = DeliveryCounters::new();
        for (i, r) in DropReason::ALL.iter().enumerate() {
            c.add_dropped(*r, i as u64 + 1);
        }
        let s = c.snapshot();
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(s.dropped_for(*r), i as u64 + 1, "{r}");
        }
    }
}
