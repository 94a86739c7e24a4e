//! What the OTLP receivers count beyond the daemon's per-span counters.
//!
//! Spans are counted where every other unit is, in [`DaemonCounters`](crate::DaemonCounters)
//! (received, rejected by reason, spillover, sent), by [`Source`]. These
//! counters add what only OTLP has: requests, requests that were not OTLP at
//! all, requests answered "retry later", and spans forwarded untranslated to
//! the X-Ray OTLP endpoint (`--otlp-endpoint`), which leave the segment path
//! and so are counted here and in the forwarder's delivery counters instead.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::counters::Source;

/// The OTLP sources, in slot order.
const OTLP_SOURCES: [Source; 3] = [Source::OtlpGrpc, Source::OtlpHttp, Source::OtlpUdp];

fn slot(source: Source) -> usize {
    OTLP_SOURCES
        .iter()
        .position(|s| *s == source)
        .unwrap_or_default()
}

/// Live OTLP request counters; cheap to clone, clones share the counts.
#[derive(Debug, Clone, Default)]
pub struct OtlpCounters {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    requests: [AtomicU64; 3],
    malformed_requests: [AtomicU64; 3],
    refused_requests: [AtomicU64; 3],
}

impl OtlpCounters {
    /// Fresh counters, all zero.
    pub fn new() -> OtlpCounters {
        OtlpCounters::default()
    }

    /// A snapshot of every count.
    pub fn snapshot(&self) -> OtlpStats {
        let i = &self.inner;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let per_source = |a: &[AtomicU64; 3]| {
            OTLP_SOURCES
                .iter()
                .map(|s| (*s, load(&a[slot(*s)])))
                .collect()
        };
        OtlpStats {
            requests: per_source(&i.requests),
            malformed_requests: per_source(&i.malformed_requests),
            refused_requests: per_source(&i.refused_requests),
        }
    }

    pub(crate) fn add_request(&self, source: Source) {
        self.inner.requests[slot(source)].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add_malformed_request(&self, source: Source) {
        self.inner.malformed_requests[slot(source)].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add_refused_request(&self, source: Source) {
        self.inner.refused_requests[slot(source)].fetch_add(1, Ordering::Relaxed);
    }
}

/// A snapshot of [`OtlpCounters`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OtlpStats {
    /// Requests (gRPC calls, HTTP requests, UDP frames) by source.
    pub requests: Vec<(Source, u64)>,
    /// Requests that were not OTLP at all (undecodable protobuf or JSON, bad
    /// base64, unsupported content type or encoding, oversized bodies), by source.
    pub malformed_requests: Vec<(Source, u64)>,
    /// Requests answered `RESOURCE_EXHAUSTED` / 429 because the buffer (or the
    /// forwarder) was full, by source.
    pub refused_requests: Vec<(Source, u64)>,
}

impl OtlpStats {
    /// Requests that came in from `source`.
    pub fn requests_for(&self, source: Source) -> u64 {
        lookup(&self.requests, source)
    }

    /// Malformed requests from `source`.
    pub fn malformed_for(&self, source: Source) -> u64 {
        lookup(&self.malformed_requests, source)
    }

    /// Requests from `source` refused because there was no room.
    pub fn refused_for(&self, source: Source) -> u64 {
        lookup(&self.refused_requests, source)
    }
}

fn lookup(pairs: &[(Source, u64)], key: Source) -> u64 {
    pairs.iter().find(|(k, _)| *k == key).map_or(0, |(_, n)| *n)
}
