//! Running totals of an [`XrayAnnotationExporter`](super::XrayAnnotationExporter).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::AnnotationRewriteStats;

/// A snapshot of what an [`XrayAnnotationExporter`](super::XrayAnnotationExporter)
/// has done since it was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CollectorStats {
    /// The annotation rewrite, summed over every exported span.
    pub annotations: AnnotationRewriteStats,
    /// Spans in batches the inner exporter reported as delivered.
    pub exported_spans: u64,
    /// Spans in batches the inner exporter reported as failed (collector down,
    /// timeout, rejected). The batch processor does not retry them and its
    /// `shutdown()` still returns `Ok`, so this is where such losses show.
    pub failed_spans: u64,
}

impl fmt::Display for CollectorStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "exported_spans={} failed_spans={} {}",
            self.exported_spans, self.failed_spans, self.annotations
        )
    }
}

const FIELDS: usize = 10;

/// A handle on an exporter's running totals: cheap to clone, every clone sees the
/// same numbers. Get one from
/// [`XrayAnnotationExporter::counters`](super::XrayAnnotationExporter::counters)
/// before the exporter moves into a span processor.
#[derive(Debug, Clone, Default)]
pub struct CollectorCounters(Arc<[AtomicU64; FIELDS]>);

impl CollectorCounters {
    pub(crate) fn add_rewrite(&self, stats: &AnnotationRewriteStats) {
        let values = [
            stats.spans,
            stats.rewritten,
            stats.already_present,
            stats.conflicts_kept,
            stats.plain_overwritten,
            stats.not_annotatable,
            stats.invalid_keys,
            stats.malformed_lists_replaced,
        ];
        for (counter, value) in self.0.iter().zip(values) {
            if value > 0 {
                counter.fetch_add(value, Ordering::Relaxed);
            }
        }
    }

    pub(crate) fn add_export(&self, delivered: bool, spans: u64) {
        let index = if delivered { 8 } else { 9 };
        self.0[index].fetch_add(spans, Ordering::Relaxed);
    }

    /// The totals so far.
    pub fn snapshot(&self) -> CollectorStats {
        let [spans, rewritten, already_present, conflicts_kept, plain_overwritten, not_annotatable, invalid_keys, malformed_lists_replaced, exported_spans, failed_spans] =
            self.0.each_ref().map(|c| c.load(Ordering::Relaxed));
        CollectorStats {
            annotations: AnnotationRewriteStats {
                spans,
                rewritten,
                already_present,
                conflicts_kept,
                plain_overwritten,
                not_annotatable,
                invalid_keys,
                malformed_lists_replaced,
            },
            exported_spans,
            failed_spans,
        }
    }
}
