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
    let refused = |s: &CountersSnapshot| s.rejected_total() + s.backend_rejected + s.dropped;
    let errors = |kind| {
        delta(
            before.backend_errors.get(&kind).copied().unwrap_or(0),
            now.backend_errors.get(&kind).copied().unwrap_or(0),
        )
    };
    TelemetryRecord::builder()
        .timestamp(DateTime::from(std::time::SystemTime::now()))
        .segments_received_count(delta(before.received_total(), now.received_total()))
        .segments_sent_count(delta(before.sent, now.sent))
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
}
