//! PutTraceSegments under failure, through a fault-injecting proxy in front of
//! moto: nothing is lost within the retry budget, every loss past it is
//! counted, and an export never outlives its timeout.
#![cfg(feature = "api")]

mod delivery_support;

use std::time::{Duration, Instant};

use aws_sdk_xray::config::retry::RetryConfig;
use delivery_support::document;
use delivery_support::fault_proxy::{Fault, FaultProxy};
use delivery_support::moto::{client, stored_documents, trace_ids};
use otel_xray_exporter::{DeliveryReport, DropReason, XrayExporter};
use otel_xray_testkit::MotoServer;

fn quick_retries(max_attempts: u32) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(max_attempts)
        .with_initial_backoff(Duration::from_millis(20))
        .with_max_backoff(Duration::from_millis(300))
}

fn exporter(endpoint: &str, retry: RetryConfig, timeout: Duration) -> XrayExporter {
    XrayExporter::builder()
        .with_xray_client(client(endpoint))
        .with_retry_config(retry)
        .with_export_timeout(timeout)
        .build()
        .unwrap()
}

fn docs(n: u64) -> Vec<String> {
    (0..n).map(|i| document(i, 64)).collect()
}

fn send(exporter: &XrayExporter, docs: Vec<String>) -> DeliveryReport {
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(exporter.send_documents(docs))
}

/// Asserts moto holds exactly `docs`, byte for byte.
fn assert_all_stored(moto: &MotoServer, docs: &[String]) {
    let stored = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(stored_documents(
            &client(&moto.endpoint_url()),
            &trace_ids(docs),
        ));
    assert_eq!(stored.len(), docs.len(), "documents lost or duplicated");
    for d in docs {
        let v: serde_json::Value = serde_json::from_str(d).unwrap();
        assert_eq!(stored[v["id"].as_str().unwrap()], v);
    }
}

#[test]
fn a_throttling_storm_within_the_budget_loses_nothing() {
    let moto = MotoServer::start();
    let script = vec![Fault::Status(429, "ThrottledException"); 6];
    let proxy = FaultProxy::start(0, &moto.endpoint_url(), script, None);
    let exporter = exporter(
        &proxy.endpoint_url(),
        quick_retries(10),
        Duration::from_secs(60),
    );
    let docs = docs(120);
    let report = send(&exporter, docs.clone());
    assert_eq!((report.sent, report.rejected, report.dropped), (120, 0, 0));
    assert_all_stored(&moto, &docs);
    let seen = proxy.seen();
    assert_eq!(seen.statuses.iter().filter(|s| **s == 429).count(), 6);
    assert!(
        seen.requests.iter().all(|n| *n <= 50),
        "{:?}",
        seen.requests
    );
    let s = exporter.counters().snapshot();
    assert!(s.retried >= 6, "each throttled call was re-sent: {s:?}");
}

#[test]
fn a_5xx_storm_within_the_budget_loses_nothing() {
    let moto = MotoServer::start();
    let script = vec![
        Fault::Status(500, "InternalFailure"),
        Fault::Status(503, "ServiceUnavailable"),
        Fault::Status(502, "BadGateway"),
        Fault::Status(503, "ServiceUnavailable"),
        Fault::Status(500, "InternalFailure"),
    ];
    let proxy = FaultProxy::start(0, &moto.endpoint_url(), script, None);
    let exporter = exporter(
        &proxy.endpoint_url(),
        quick_retries(10),
        Duration::from_secs(60),
    );
    let docs = docs(75);
    let report = send(&exporter, docs.clone());
    assert_eq!((report.sent, report.dropped), (75, 0));
    assert_all_stored(&moto, &docs);
    assert!(exporter.counters().snapshot().retried > 0);
}

#[test]
fn a_storm_past_the_budget_is_counted_and_bounded() {
    let moto = MotoServer::start();
    let proxy = FaultProxy::start(
        0,
        &moto.endpoint_url(),
        Vec::new(),
        Some(Fault::Status(429, "ThrottledException")),
    );
    let exporter = exporter(
        &proxy.endpoint_url(),
        quick_retries(3),
        Duration::from_secs(60),
    );
    let report = send(&exporter, docs(120));
    assert_eq!((report.sent, report.dropped), (0, 120));
    let s = exporter.counters().snapshot();
    assert_eq!(s.dropped_for(DropReason::RetryBudgetExhausted), 120);
    // 3 calls (50 + 50 + 20), 3 attempts each: the work is bounded.
    assert_eq!(proxy.seen().requests.len(), 9);
    assert_eq!(s.retried, 2 * 120);
    // Nothing is held back for later: the next export starts clean.
    let again = send(&exporter, docs(10));
    assert_eq!(again.dropped, 10);
    assert_eq!(exporter.counters().snapshot().dropped_total(), 130);
}

#[test]
fn retryable_unprocessed_segments_are_resent_alone() {
    let moto = MotoServer::start();
    let script = vec![
        Fault::HoldBackHalf("ThrottledException"),
        Fault::HoldBackHalf("ThrottledException"),
    ];
    let proxy = FaultProxy::start(0, &moto.endpoint_url(), script, None);
    let exporter = XrayExporter::builder()
        .with_xray_client(client(&proxy.endpoint_url()))
        .with_retry_config(quick_retries(5))
        .with_max_concurrent_requests(1)
        .build()
        .unwrap();
    let docs = docs(40);
    let report = send(&exporter, docs.clone());
    assert_eq!((report.sent, report.rejected, report.dropped), (40, 0, 0));
    assert_all_stored(&moto, &docs);
    // 40 -> 20 held back -> 10 held back -> done.
    assert_eq!(proxy.seen().requests, vec![40, 20, 10]);
    assert_eq!(exporter.counters().snapshot().retried, 30);
}

#[test]
fn permanent_unprocessed_segments_are_rejected_not_retried() {
    let moto = MotoServer::start();
    let proxy = FaultProxy::start(
        0,
        &moto.endpoint_url(),
        vec![Fault::HoldBackHalf("InvalidTraceId")],
        None,
    );
    let exporter = exporter(
        &proxy.endpoint_url(),
        quick_retries(5),
        Duration::from_secs(60),
    );
    let docs = docs(30);
    let report = send(&exporter, docs.clone());
    assert_eq!((report.sent, report.rejected, report.dropped), (15, 15, 0));
    let s = exporter.counters().snapshot();
    assert_eq!(s.rejected.get("InvalidTraceId"), Some(&15));
    assert_eq!(s.retried, 0);
    assert_eq!(proxy.seen().requests, vec![30]);
    let kept: Vec<String> = docs.iter().step_by(2).cloned().collect();
    assert_all_stored(&moto, &kept);
}

#[test]
fn a_server_down_for_two_seconds_is_waited_out() {
    let moto = MotoServer::start();
    let port = otel_xray_testkit::free_port();
    let upstream = moto.endpoint_url();
    // Plenty of attempts: full-jitter backoff capped at 1 s has to cover 2 s.
    let retry = RetryConfig::standard()
        .with_max_attempts(30)
        .with_initial_backoff(Duration::from_millis(50))
        .with_max_backoff(Duration::from_secs(1));
    let exporter = XrayExporter::builder()
        .with_xray_client(client(&format!("http://127.0.0.1:{port}")))
        .with_retry_config(retry)
        .with_max_concurrent_requests(1)
        .with_export_timeout(Duration::from_secs(90))
        .build()
        .unwrap();
    let starter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(2));
        FaultProxy::start(port, &upstream, Vec::new(), None)
    });
    let docs = docs(20);
    let report = send(&exporter, docs.clone());
    let proxy = starter.join().unwrap();
    assert_eq!(
        (report.sent, report.dropped),
        (20, 0),
        "{:?}",
        exporter.counters().snapshot()
    );
    assert!(exporter.counters().snapshot().retried > 0);
    assert_eq!(proxy.seen().requests, vec![20]);
    assert_all_stored(&moto, &docs);
}

#[test]
fn slow_answers_past_the_export_timeout_are_counted_as_timeouts() {
    let moto = MotoServer::start();
    let proxy = FaultProxy::start(
        0,
        &moto.endpoint_url(),
        Vec::new(),
        Some(Fault::Delay(Duration::from_secs(60))),
    );
    let exporter = exporter(
        &proxy.endpoint_url(),
        quick_retries(3),
        Duration::from_secs(2),
    );
    let started = Instant::now();
    let report = send(&exporter, docs(120));
    // Generous bound: the point is that it does not wait the 60 s.
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert_eq!((report.sent, report.dropped), (0, 120));
    assert_eq!(
        exporter
            .counters()
            .snapshot()
            .dropped_for(DropReason::Timeout),
        120
    );
}

#[test]
fn calls_run_concurrently_up_to_the_bound() {
    let moto = MotoServer::start();
    let proxy = FaultProxy::start(
        0,
        &moto.endpoint_url(),
        Vec::new(),
        Some(Fault::Delay(Duration::from_millis(400))),
    );
    let exporter = XrayExporter::builder()
        .with_xray_client(client(&proxy.endpoint_url()))
        .with_max_concurrent_requests(2)
        .with_export_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let docs = docs(260);
    let report = send(&exporter, docs.clone());
    assert_eq!((report.sent, report.dropped), (260, 0));
    let seen = proxy.seen();
    let mut sizes = seen.requests.clone();
    sizes.sort_unstable();
    assert_eq!(sizes, vec![10, 50, 50, 50, 50, 50]);
    assert_eq!(seen.max_in_flight, 2, "{seen:?}");
    assert_all_stored(&moto, &docs);
}
