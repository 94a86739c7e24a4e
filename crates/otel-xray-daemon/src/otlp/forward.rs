//! `--otlp-endpoint`: OTLP spans go to the X-Ray OTLP traces endpoint as they
//! came (no segment translation), through the exporter crate's SigV4-signing
//! [`XrayOtlpExporter`], which applies the endpoint's limits, rewrites
//! `aws.xray.annotation.<key>` attributes, retries and counts every span.
//! Segment documents from UDP still go to PutTraceSegments.
//!
//! Memory stays bounded: at most `max_spans_in_flight` spans are held by
//! exports not yet finished; past that, requests are refused
//! (`RESOURCE_EXHAUSTED` / 429) as when the segment buffer is full.

use std::sync::Arc;

use otel_xray_exporter::otlp::XrayOtlpExporter;
use otel_xray_exporter::DeliveryCounters;
use tokio::sync::Semaphore;

use super::convert::ResourceGroup;

/// Default bound on spans held by unfinished exports to the OTLP endpoint.
pub const DEFAULT_MAX_FORWARD_SPANS_IN_FLIGHT: usize = 100_000;

/// Hands OTLP spans to an [`XrayOtlpExporter`], each resource's spans with
/// their own resource.
#[derive(Debug)]
pub struct Forwarder {
    exporter: Arc<XrayOtlpExporter>,
    in_flight: Arc<Semaphore>,
    /// The semaphore's permits when nothing is in flight.
    room: u32,
}

impl Forwarder {
    /// Forwards through `exporter`, with at most `max_spans_in_flight` spans
    /// (at least 1) waiting on unfinished exports.
    pub fn new(exporter: XrayOtlpExporter, max_spans_in_flight: usize) -> Forwarder {
        let room =
            u32::try_from(max_spans_in_flight.clamp(1, Semaphore::MAX_PERMITS)).unwrap_or(u32::MAX);
        Forwarder {
            exporter: Arc::new(exporter),
            in_flight: Arc::new(Semaphore::new(room as usize)),
            room,
        }
    }

    /// The exporter's delivery counters (in spans: sent, rejected by the
    /// endpoint, dropped by reason).
    pub fn counters(&self) -> DeliveryCounters {
        self.exporter.counters()
    }

    /// Waits up to `limit` for every export started to finish (each ends within the
    /// exporter's own timeout, counted as sent, rejected or dropped); returns how many spans
    /// were still in flight when `limit` ran out.
    pub(crate) async fn drain(&self, limit: std::time::Duration) -> u64 {
        let all = self.in_flight.acquire_many(self.room);
        match tokio::time::timeout(limit, all).await {
            Ok(_) => 0,
            Err(_) => u64::from(self.room) - self.in_flight.available_permits() as u64,
        }
    }

    /// Starts exporting `group`; `false` when there is no room (too many
    /// spans in flight, or not called from a Tokio runtime), and nothing was
    /// taken.
    pub(crate) fn forward(&self, group: ResourceGroup) -> bool {
        let spans = group.spans.len();
        if spans == 0 {
            return true;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::error!("OTLP forwarding needs a Tokio runtime; spans refused");
            return false;
        };
        let Ok(permits) = u32::try_from(spans) else {
            return false;
        };
        let Ok(permit) = Arc::clone(&self.in_flight).try_acquire_many_owned(permits) else {
            return false;
        };
        let export = self
            .exporter
            .export_with_resource(group.spans, &group.resource);
        runtime.spawn(async move {
            // Failures are counted by the exporter (DeliveryCounters) and
            // logged there; the permit is what must not leak.
            let _ = export.await;
            drop(permit);
        });
        true
    }
}
