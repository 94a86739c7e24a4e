//! The daemon's own health, reported to X-Ray with `PutTelemetryRecords` every 60 s (and once
//! more at shutdown): what changed in the counters since the last report.

use std::sync::Arc;
use std::time::Duration;

use otel_xray_exporter::aws_sdk_xray;
use otel_xray_exporter::aws_sdk_xray::primitives::DateTime;
use otel_xray_exporter::aws_sdk_xray::types::{BackendConnectionErrors, TelemetryRecord};
use tokio::sync::watch;

use crate::counters::{BackendErrorKind, CountersSnapshot, DaemonCounters};

/// The daemon's reporting interval.
pub const TELEMETRY_INTERVAL: Duration = Duration::from_secs(60);

/// One telemetry record: the change from `before` to `now`.
pub(crate) fn record(before: &CountersSnapshot, now: &CountersSnapshot) -> Option<TelemetryRecord> {
    let delta = |b: u64, n: u64| i32::try_from(n.saturating_sub(b)).unwrap_or(i32::MAX);
    // Spans forwarded to the X-Ray OTLP endpoint count like segments: received, then sent
    // or refused by the endpoint exporter.
    let endpoint = |s: &CountersSnapshot| {
        s.otlp_endpoint.as_ref().map_or((0, 0), |o| {
            let d = &o.delivery;
            (d.sent, d.rejected_total() + d.dropped_total())
        })
    };
    let sent = |s: &CountersSnapshot| s.sent + endpoint(s).0;
    let refused =
        |s: &CountersSnapshot| s.rejected_total() + s.backend_rejected + s.dropped + endpoint(s).1;
    let errors = |kind| {
        delta(
            before.backend_errors.get(&kind).copied().unwrap_or(0),
            now.backend_errors.get(&kind).copied().unwrap_or(0),
        )
    };
    TelemetryRecord::builder()
        .timestamp(DateTime::from(std::time::SystemTime::now()))
        .segments_received_count(delta(before.received_total(), now.received_total()))
        .segments_sent_count(delta(sent(before), sent(now)))
        .segments_spillover_count(delta(before.spillover, now.spillover))
        .segments_rejected_count(delta(refused(before), refused(now)))
        .backend_connection_errors(
            BackendConnectionErrors::builder()
                .timeout_count(errors(BackendErrorKind::Timeout))
                .connection_refused_count(errors(BackendErrorKind::ConnectionRefused))
                .http_code4_xx_count(errors(BackendErrorKind::Http4xx))
                .http_code5_xx_count(errors(BackendErrorKind::Http5xx))
                .unknown_host_count(errors(BackendErrorKind::UnknownHost))
                .other_count(errors(BackendErrorKind::Other))
                .build(),
        )
        .build()
        // Only a missing timestamp fails, and it is always set.
        .ok()
}

/// Reports every `interval` until `stop`, then once more.
pub(crate) async fn run(
    client: aws_sdk_xray::Client,
    counters: Arc<DaemonCounters>,
    resource_arn: Option<String>,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok();
    // From zero: what arrived before this task first ran belongs in the first record.
    let mut before = CountersSnapshot::default();
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    loop {
        let last = tokio::select! {
            _ = tick.tick() => false,
            _ = stop.wait_for(|s| *s) => true,
        };
        let now = counters.snapshot();
        let sent = client
            .put_telemetry_records()
            .set_telemetry_records(record(&before, &now).map(|r| vec![r]))
            .set_hostname(hostname.clone())
            .set_resource_arn(resource_arn.clone())
            .send()
            .await;
        match sent {
            Ok(_) => counters.add_telemetry(true),
            Err(e) => {
                counters.add_telemetry(false);
                tracing::warn!(
                    "PutTelemetryRecords failed: {}",
                    aws_smithy_types::error::display::DisplayErrorContext(&e)
                );
            }
        }
        before = now;
        if last {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counters::{RejectReason, Source};

    #[test]
    fn a_record_is_the_change_since_the_last() {
        let c = DaemonCounters::new();
        c.add_received(Source::DaemonUdp, 10);
        c.add_backend_error(BackendErrorKind::Timeout);
        let before = c.snapshot();
        c.add_received(Source::DaemonUdp, 7);
        c.add_received(Source::OtlpGrpc, 3);
        c.add_rejected(Source::DaemonUdp, RejectReason::InvalidHeader, 2);
        c.add_spillover(1);
        c.add_settled(5, 1, 1);
        c.add_backend_error(BackendErrorKind::Timeout);
        c.add_backend_error(BackendErrorKind::Http5xx);
        let r = record(&before, &c.snapshot()).unwrap();
        assert_eq!(r.segments_received_count(), Some(10));
        assert_eq!(r.segments_sent_count(), Some(5));
        assert_eq!(r.segments_spillover_count(), Some(1));
        assert_eq!(r.segments_rejected_count(), Some(4));
        let e = r.backend_connection_errors().unwrap();
        assert_eq!(e.timeout_count(), Some(1));
        assert_eq!(e.http_code5_xx_count(), Some(1));
        assert_eq!(e.connection_refused_count(), Some(0));
    }

    #[test]
    fn spans_forwarded_to_the_otlp_endpoint_count_as_segments() {
        let endpoint = |forwarded, sent, rejected, dropped| {
            let mut delivery = otel_xray_exporter::DeliveryStats::default();
            delivery.sent = sent;
            delivery.rejected.insert("http_400".to_owned(), rejected);
            delivery
                .dropped
                .insert(otel_xray_exporter::DropReason::Timeout, dropped);
            Some(crate::counters::OtlpEndpointCounts {
                forwarded,
                delivery,
            })
        };
        let mut before = CountersSnapshot::default();
        before.received.insert(Source::OtlpGrpc, 10);
        before.otlp_endpoint = endpoint(10, 6, 1, 1);
        let mut now = before.clone();
        now.received.insert(Source::OtlpGrpc, 25);
        now.rejected
            .insert((Source::OtlpGrpc, RejectReason::OtlpOverloaded), 5);
        now.otlp_endpoint = endpoint(20, 14, 2, 3);
        let r = record(&before, &now).unwrap();
        assert_eq!(r.segments_received_count(), Some(15));
        assert_eq!(r.segments_sent_count(), Some(8));
        // 5 overloaded, 1 more refused by the endpoint, 2 more dropped.
        assert_eq!(r.segments_rejected_count(), Some(8));
    }
}
