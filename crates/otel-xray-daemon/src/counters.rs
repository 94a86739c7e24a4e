//! The daemon's counters: every unit that arrives ends up counted exactly once as spillover,
//! rejected, sent, refused by X-Ray, dropped by the sender — or is still buffered.
//!
//! At rest (nothing buffered, nothing in flight):
//!
//! ```text
//! received = spillover + rejected + sent + backend_rejected + dropped + forwarded
//! ```
//!
//! `forwarded` is zero unless `--otlp-endpoint` sends OTLP spans untranslated to the X-Ray
//! OTLP endpoint; each forwarded span then ends up in the endpoint exporter's own counters
//! ([`OtlpEndpointCounts`]): sent, rejected by the endpoint, or dropped by reason. Spans the
//! forwarder has no room for are rejected as [`RejectReason::OtlpOverloaded`].
//!
//! The unit is a segment document for the daemon's UDP port, and a span for the OTLP
//! receivers (each translated span becomes one document). A datagram or request that cannot
//! be decoded at all counts as one unit received and one rejected.
//!
//! The receivers call [`DaemonCounters::add_received`] and [`DaemonCounters::add_rejected`];
//! [`SegmentBuffer::offer`](crate::SegmentBuffer::offer) counts spillover itself; the sender
//! counts what X-Ray did with each batch.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Where a unit came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Source {
    /// A segment document on the daemon's UDP port (header + JSON).
    DaemonUdp,
    /// An OTLP span in a `T1S`/`T1U`/`T1` frame on the daemon's UDP port.
    OtlpUdp,
    /// An OTLP span received over gRPC.
    OtlpGrpc,
    /// An OTLP span received over HTTP (`/v1/traces`).
    OtlpHttp,
}

impl Source {
    /// Every source, in a fixed order (the order of the counter slots).
    pub const ALL: [Source; 4] = [
        Source::DaemonUdp,
        Source::OtlpUdp,
        Source::OtlpGrpc,
        Source::OtlpHttp,
    ];

    /// A stable snake_case name, for logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::DaemonUdp => "daemon_udp",
            Source::OtlpUdp => "otlp_udp",
            Source::OtlpGrpc => "otlp_grpc",
            Source::OtlpHttp => "otlp_http",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a unit was refused before it reached the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum RejectReason {
    /// A datagram longer than the daemon's 64 KiB read buffer.
    TooLarge,
    /// No `\n` after the header, or nothing after it.
    MissingBody,
    /// The header is not `{"format":"json","version":1}`.
    InvalidHeader,
    /// The segment document is not a JSON object (or not UTF-8).
    InvalidDocument,
    /// An OTLP-over-UDP frame arrived at a receiver without an OTLP decoder.
    OtlpUdpNotBuilt,
    /// An OTLP payload that does not decode (base64, protobuf, JSON).
    OtlpDecode,
    /// An OTLP span that cannot become a segment document.
    OtlpUntranslatable,
    /// An OTLP span refused because the forwarder to the X-Ray OTLP endpoint had
    /// no room (`--otlp-endpoint`; answered with `RESOURCE_EXHAUSTED` / 429, so the
    /// client may retry).
    OtlpOverloaded,
}

impl RejectReason {
    /// Every reason, in a fixed order (the order of the counter slots).
    pub const ALL: [RejectReason; 8] = [
        RejectReason::TooLarge,
        RejectReason::MissingBody,
        RejectReason::InvalidHeader,
        RejectReason::InvalidDocument,
        RejectReason::OtlpUdpNotBuilt,
        RejectReason::OtlpDecode,
        RejectReason::OtlpUntranslatable,
        RejectReason::OtlpOverloaded,
    ];

    /// A stable snake_case name, for logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::TooLarge => "too_large",
            RejectReason::MissingBody => "missing_body",
            RejectReason::InvalidHeader => "invalid_header",
            RejectReason::InvalidDocument => "invalid_document",
            RejectReason::OtlpUdpNotBuilt => "otlp_udp_not_built",
            RejectReason::OtlpDecode => "otlp_decode",
            RejectReason::OtlpUntranslatable => "otlp_untranslatable",
            RejectReason::OtlpOverloaded => "otlp_overloaded",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed PutTraceSegments / PutTelemetryRecords / sampling-proxy attempt, by kind: the
/// daemon's `BackendConnectionErrors` fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum BackendErrorKind {
    /// The attempt timed out.
    Timeout,
    /// The connection was refused.
    ConnectionRefused,
    /// X-Ray answered 4xx.
    Http4xx,
    /// X-Ray answered 5xx.
    Http5xx,
    /// The endpoint's host name did not resolve.
    UnknownHost,
    /// Anything else (TLS, reset connection, credentials...).
    Other,
}

impl BackendErrorKind {
    /// Every kind, in a fixed order (the order of the counter slots).
    pub const ALL: [BackendErrorKind; 6] = [
        BackendErrorKind::Timeout,
        BackendErrorKind::ConnectionRefused,
        BackendErrorKind::Http4xx,
        BackendErrorKind::Http5xx,
        BackendErrorKind::UnknownHost,
        BackendErrorKind::Other,
    ];

    /// A stable snake_case name, for logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            BackendErrorKind::Timeout => "timeout",
            BackendErrorKind::ConnectionRefused => "connection_refused",
            BackendErrorKind::Http4xx => "http_4xx",
            BackendErrorKind::Http5xx => "http_5xx",
            BackendErrorKind::UnknownHost => "unknown_host",
            BackendErrorKind::Other => "other",
        }
    }

    /// The kind for an HTTP status that is not a success, if it is 4xx or 5xx.
    pub fn from_status(status: u16) -> Option<BackendErrorKind> {
        match status {
            400..=499 => Some(BackendErrorKind::Http4xx),
            500..=599 => Some(BackendErrorKind::Http5xx),
            _ => None,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for BackendErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The daemon's live counters, shared (`Arc`) by the receivers, the buffer, the sender and
/// the telemetry. All methods are lock-free except the X-Ray error-code map.
#[derive(Debug, Default)]
pub struct DaemonCounters {
    received: [AtomicU64; Source::ALL.len()],
    rejected: [[AtomicU64; RejectReason::ALL.len()]; Source::ALL.len()],
    spillover: AtomicU64,
    udp_kernel_dropped: AtomicU64,
    buffered: AtomicU64,
    backend_errors: [AtomicU64; BackendErrorKind::ALL.len()],
    proxied: AtomicU64,
    proxy_failed: AtomicU64,
    telemetry_sent: AtomicU64,
    telemetry_failed: AtomicU64,
    sent: AtomicU64,
    backend_rejected: AtomicU64,
    dropped: AtomicU64,
    outage_retries: AtomicU64,
    forwarded: AtomicU64,
    /// The PutTraceSegments exporter's own counters: X-Ray's rejections by error code.
    delivery: OnceLock<otel_xray_exporter::DeliveryCounters>,
    /// The X-Ray OTLP endpoint exporter's counters (`--otlp-endpoint`), in spans.
    otlp_endpoint: OnceLock<otel_xray_exporter::DeliveryCounters>,
}

impl DaemonCounters {
    /// Fresh counters, all zero.
    pub fn new() -> DaemonCounters {
        DaemonCounters::default()
    }

    /// Counts `n` units that arrived from `source` (before any check).
    pub fn add_received(&self, source: Source, n: u64) {
        self.received[source.index()].fetch_add(n, Ordering::Relaxed);
    }

    /// Counts `n` units from `source` refused for `reason` (they were counted as received).
    pub fn add_rejected(&self, source: Source, reason: RejectReason, n: u64) {
        self.rejected[source.index()][reason.index()].fetch_add(n, Ordering::Relaxed);
    }

    /// Counts one failed backend attempt.
    pub fn add_backend_error(&self, kind: BackendErrorKind) {
        self.backend_errors[kind.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add_spillover(&self, n: u64) {
        self.spillover.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts `n` datagrams the kernel dropped because the UDP receive queue was full (they
    /// never reached the daemon, so they are not in `received`).
    pub(crate) fn add_udp_kernel_dropped(&self, n: u64) {
        self.udp_kernel_dropped.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn add_buffered(&self, n: u64) {
        self.buffered.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts what the sender settled for one batch.
    pub(crate) fn add_settled(&self, sent: u64, backend_rejected: u64, dropped: u64) {
        self.sent.fetch_add(sent, Ordering::Relaxed);
        self.backend_rejected
            .fetch_add(backend_rejected, Ordering::Relaxed);
        self.dropped.fetch_add(dropped, Ordering::Relaxed);
    }

    pub(crate) fn add_outage_retry(&self) {
        self.outage_retries.fetch_add(1, Ordering::Relaxed);
    }

    /// Attaches the PutTraceSegments exporter's counters, for X-Ray's error codes.
    pub(crate) fn attach_delivery(&self, delivery: otel_xray_exporter::DeliveryCounters) {
        let _ = self.delivery.set(delivery);
    }

    /// Attaches the X-Ray OTLP endpoint exporter's counters (`--otlp-endpoint`).
    pub(crate) fn attach_otlp_endpoint(&self, delivery: otel_xray_exporter::DeliveryCounters) {
        let _ = self.otlp_endpoint.set(delivery);
    }

    /// Counts `n` spans handed to the X-Ray OTLP endpoint exporter.
    pub(crate) fn add_forwarded(&self, n: u64) {
        self.forwarded.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn add_proxied(&self, ok: bool) {
        let c = if ok {
            &self.proxied
        } else {
            &self.proxy_failed
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add_telemetry(&self, ok: bool) {
        let c = if ok {
            &self.telemetry_sent
        } else {
            &self.telemetry_failed
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// A copy of every counter at one moment.
    pub fn snapshot(&self) -> CountersSnapshot {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut received = BTreeMap::new();
        let mut rejected = BTreeMap::new();
        for source in Source::ALL {
            let n = load(&self.received[source.index()]);
            if n > 0 {
                received.insert(source, n);
            }
            for reason in RejectReason::ALL {
                let n = load(&self.rejected[source.index()][reason.index()]);
                if n > 0 {
                    rejected.insert((source, reason), n);
                }
            }
        }
        let backend_errors = BackendErrorKind::ALL
            .iter()
            .filter_map(|k| {
                let n = load(&self.backend_errors[k.index()]);
                (n > 0).then_some((*k, n))
            })
            .collect();
        let delivery = self.delivery.get().map(|d| d.snapshot());
        CountersSnapshot {
            received,
            rejected,
            spillover: load(&self.spillover),
            udp_kernel_dropped: load(&self.udp_kernel_dropped),
            buffered: load(&self.buffered),
            sent: load(&self.sent),
            backend_rejected: load(&self.backend_rejected),
            backend_rejected_codes: delivery.map(|d| d.rejected).unwrap_or_default(),
            dropped: load(&self.dropped),
            outage_retries: load(&self.outage_retries),
            backend_errors,
            proxied: load(&self.proxied),
            proxy_failed: load(&self.proxy_failed),
            telemetry_sent: load(&self.telemetry_sent),
            telemetry_failed: load(&self.telemetry_failed),
            otlp_endpoint: self.otlp_endpoint.get().map(|d| OtlpEndpointCounts {
                forwarded: load(&self.forwarded),
                delivery: d.snapshot(),
            }),
        }
    }
}

/// A copy of the [`DaemonCounters`] at one moment; zero entries are left out of the maps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CountersSnapshot {
    /// Units that arrived, by source.
    pub received: BTreeMap<Source, u64>,
    /// Units refused before the buffer, by source and reason.
    pub rejected: BTreeMap<(Source, RejectReason), u64>,
    /// Documents refused because the buffer was full.
    pub spillover: u64,
    /// Datagrams the kernel dropped because the UDP port's receive queue was full. They never
    /// reached the daemon, so they are not in [`received`](Self::received): sent by clients =
    /// received (daemon UDP) + this. Seen with the next datagram that arrives after them
    /// (Linux's `SO_RXQ_OVFL`); always 0 where the OS does not report it.
    pub udp_kernel_dropped: u64,
    /// Documents the buffer accepted (since start; they are sent, refused or dropped later).
    pub buffered: u64,
    /// Documents X-Ray accepted.
    pub sent: u64,
    /// Documents X-Ray refused (`UnprocessedTraceSegments` that retrying cannot fix, or a
    /// 4xx for the whole call).
    pub backend_rejected: u64,
    /// [`backend_rejected`](Self::backend_rejected) by X-Ray's error code.
    pub backend_rejected_codes: BTreeMap<String, u64>,
    /// Documents the sender gave up on: part of a batch that failed past the retries while
    /// the rest went through, or not delivered within the shutdown timeout.
    pub dropped: u64,
    /// Whole batches sent again after the backend could not be reached at all.
    pub outage_retries: u64,
    /// Failed backend attempts, by kind.
    pub backend_errors: BTreeMap<BackendErrorKind, u64>,
    /// Sampling requests the proxy answered from X-Ray.
    pub proxied: u64,
    /// Sampling requests the proxy could not forward (answered 502).
    pub proxy_failed: u64,
    /// PutTelemetryRecords calls that succeeded.
    pub telemetry_sent: u64,
    /// PutTelemetryRecords calls that failed.
    pub telemetry_failed: u64,
    /// What became of the spans sent to the X-Ray OTLP endpoint; `None` without
    /// `--otlp-endpoint`.
    pub otlp_endpoint: Option<OtlpEndpointCounts>,
}

/// `--otlp-endpoint`: OTLP spans forwarded untranslated to the X-Ray OTLP endpoint, in spans.
///
/// At rest, `forwarded = delivery.sent + delivery.rejected_total() + delivery.dropped_total()`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OtlpEndpointCounts {
    /// Spans handed to the endpoint exporter (counted as received by their source).
    pub forwarded: u64,
    /// The endpoint exporter's delivery counters: spans sent, rejected by the endpoint (by
    /// `http_<status>` or `partial_success`), dropped by reason, retried and trimmed.
    pub delivery: otel_xray_exporter::DeliveryStats,
}

impl OtlpEndpointCounts {
    /// Forwarded spans whose export has not finished yet.
    pub fn pending(&self) -> u64 {
        let d = &self.delivery;
        self.forwarded
            .saturating_sub(d.sent + d.rejected_total() + d.dropped_total())
    }
}

impl CountersSnapshot {
    /// All units received, whatever the source.
    pub fn received_total(&self) -> u64 {
        self.received.values().sum()
    }

    /// All units rejected before the buffer, whatever the source and reason.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }

    /// Rejected units for one reason, whatever the source.
    pub fn rejected_for(&self, reason: RejectReason) -> u64 {
        self.rejected
            .iter()
            .filter(|((_, r), _)| *r == reason)
            .map(|(_, n)| n)
            .sum()
    }

    /// Failed backend attempts, whatever the kind.
    pub fn backend_errors_total(&self) -> u64 {
        self.backend_errors.values().sum()
    }

    /// Spans forwarded to the X-Ray OTLP endpoint (`--otlp-endpoint`), 0 without it.
    pub fn forwarded(&self) -> u64 {
        self.otlp_endpoint.as_ref().map_or(0, |o| o.forwarded)
    }

    /// Buffered documents not yet settled (queued or in flight).
    pub fn pending(&self) -> u64 {
        self.buffered
            .saturating_sub(self.sent + self.backend_rejected + self.dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_slot_is_its_own() {
        let c = DaemonCounters::new();
        for (i, s) in Source::ALL.iter().enumerate() {
            c.add_received(*s, i as u64 + 1);
            for (j, r) in RejectReason::ALL.iter().enumerate() {
                c.add_rejected(*s, *r, (i * 10 + j) as u64 + 1);
            }
        }
        for (i, k) in BackendErrorKind::ALL.iter().enumerate() {
            for _ in 0..=i {
                c.add_backend_error(*k);
            }
        }
        let snap = c.snapshot();
        for (i, s) in Source::ALL.iter().enumerate() {
            assert_eq!(snap.received[s], i as u64 + 1, "{s}");
            for (j, r) in RejectReason::ALL.iter().enumerate() {
                assert_eq!(snap.rejected[&(*s, *r)], (i * 10 + j) as u64 + 1, "{s} {r}");
            }
        }
        for (i, k) in BackendErrorKind::ALL.iter().enumerate() {
            assert_eq!(snap.backend_errors[k], i as u64 + 1, "{k}");
        }
        assert_eq!(snap.received_total(), 1 + 2 + 3 + 4);
    }

    #[test]
    fn status_kinds() {
        assert_eq!(
            BackendErrorKind::from_status(429),
            Some(BackendErrorKind::Http4xx)
        );
        assert_eq!(
            BackendErrorKind::from_status(503),
            Some(BackendErrorKind::Http5xx)
        );
        assert_eq!(BackendErrorKind::from_status(200), None);
    }
}
