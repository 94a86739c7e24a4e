//! PutTraceSegments under failure, through a fault-injecting proxy in front of
//! moto: nothing is lost within the retry budget, every loss past it is
//! counted, and an export never outlives its timeout.
//!
//! Every test reads moto back and compares the exporter's accounting with the
//! number of copies moto holds of each document (moto keeps every copy).
//!
//! Lost answers: when moto stored a call but the answer never reached the
//! exporter (`ForwardThenReset`), the SDK sends the call again and moto holds
//! two identical copies. The exporter counts such a document once in `sent`
//! and its re-send in `retried`, so `sent + retried` bounds the copies the
//! service can hold. X-Ray keeps the last copy of a segment id, and both copies
//! are the same bytes, so the stored trace is unchanged. A call whose answer
//! does not come back before the export deadline (`ForwardThenStall`) is
//! counted as dropped for `Timeout`: the outcome is unknown, and it may have
//! been stored.
#![cfg(feature = "api")]

mod delivery_support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_xray::config::retry::RetryConfig;
use delivery_support::document;
use delivery_support::fault_proxy::{Fault, FaultProxy, NO_ANSWER};
use delivery_support::moto::{client, stored_copies, stored_documents, trace_ids};
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

/// moto behind a fault proxy, and an exporter calling the proxy.
struct Rig {
    moto: MotoServer,
    proxy: FaultProxy,
    exporter: XrayExporter,
}

/// A [`Rig`] whose proxy applies `script`, then `otherwise`, and whose exporter makes up to
/// `max_attempts` attempts per call within `timeout`.
fn rig(script: Vec<Fault>, otherwise: Option<Fault>, max_attempts: u32, timeout: Duration) -> Rig {
    let moto = MotoServer::start();
    let proxy = FaultProxy::start(0, &moto.endpoint_url(), script, otherwise);
    let exporter = exporter(&proxy.endpoint_url(), quick_retries(max_attempts), timeout);
    Rig {
        moto,
        proxy,
        exporter,
    }
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

/// Every copy moto holds of the documents of `docs`' traces, by segment id.
fn copies_of(moto: &MotoServer, docs: &[String]) -> BTreeMap<String, Vec<serde_json::Value>> {
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(stored_copies(
            &client(&moto.endpoint_url()),
            &trace_ids(docs),
        ))
}

/// How many of `docs` moto holds 0, 1, 2, ... copies of.
fn copies_histogram(moto: &MotoServer, docs: &[String]) -> BTreeMap<usize, u64> {
    let copies = copies_of(moto, docs);
    let mut histogram = BTreeMap::new();
    for d in docs {
        let v: serde_json::Value = serde_json::from_str(d).unwrap();
        let held = copies.get(v["id"].as_str().unwrap()).map_or(0, Vec::len);
        *histogram.entry(held).or_insert(0) += 1;
    }
    histogram
}

/// Checks one export's report against the exporter's counters and against
/// what moto holds: every document is accounted for exactly once, everything
/// counted as sent is stored, and no document is stored more often than
/// it was sent (`1 + retried` at most, summed over all documents). Returns
/// moto's copies histogram for the test's exact expectation.
fn assert_accounted(
    moto: &MotoServer,
    exporter: &XrayExporter,
    report: &DeliveryReport,
    docs: &[String],
) -> BTreeMap<usize, u64> {
    let total = docs.len() as u64;
    assert_eq!(
        report.sent + report.rejected + report.dropped,
        total,
        "{report:?}"
    );
    let s = exporter.counters().snapshot();
    assert_eq!(
        (s.sent, s.rejected_total(), s.dropped_total()),
        (report.sent, report.rejected, report.dropped),
        "counters and report disagree"
    );
    let histogram = copies_histogram(moto, docs);
    let stored: u64 = histogram
        .iter()
        .filter(|(c, _)| **c > 0)
        .map(|(_, n)| n)
        .sum();
    let copies: u64 = histogram.iter().map(|(c, n)| *c as u64 * n).sum();
    assert!(
        stored >= report.sent,
        "sent but not stored: {histogram:?} {report:?}"
    );
    assert!(
        copies <= stored + s.retried,
        "more copies than sends: {histogram:?} {s:?}"
    );
    histogram
}

#[test]
fn a_throttling_storm_within_the_budget_loses_nothing() {
    let script = vec![Fault::Status(429, "ThrottledException"); 6];
    let Rig {
        moto,
        proxy,
        exporter,
    } = rig(script, None, 10, Duration::from_secs(60));
    let docs = docs(120);
    let report = send(&exporter, docs.clone());
    assert_eq!((report.sent, report.rejected, report.dropped), (120, 0, 0));
    assert_eq!(
        assert_accounted(&moto, &exporter, &report, &docs),
        BTreeMap::from([(1, 120)])
    );
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
    let script = vec![
        Fault::Status(500, "InternalFailure"),
        Fault::Status(503, "ServiceUnavailable"),
        Fault::Status(502, "BadGateway"),
        Fault::Status(503, "ServiceUnavailable"),
        Fault::Status(500, "InternalFailure"),
    ];
    let Rig {
        moto,
        proxy: _proxy,
        exporter,
    } = rig(script, None, 10, Duration::from_secs(60));
    let docs = docs(75);
    let report = send(&exporter, docs.clone());
    assert_eq!((report.sent, report.dropped), (75, 0));
    assert_eq!(
        assert_accounted(&moto, &exporter, &report, &docs),
        BTreeMap::from([(1, 75)])
    );
    assert_all_stored(&moto, &docs);
    assert!(exporter.counters().snapshot().retried > 0);
}

#[test]
fn a_storm_past_the_budget_is_counted_and_bounded() {
    let Rig {
        moto,
        proxy,
        exporter,
    } = rig(
        Vec::new(),
        Some(Fault::Status(429, "ThrottledException")),
        3,
        Duration::from_secs(60),
    );
    let first = docs(120);
    let report = send(&exporter, first.clone());
    assert_eq!((report.sent, report.dropped), (0, 120));
    assert_eq!(
        assert_accounted(&moto, &exporter, &report, &first),
        BTreeMap::from([(0, 120)])
    );
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
    assert_eq!(
        assert_accounted(&moto, &exporter, &report, &docs),
        BTreeMap::from([(1, 40)])
    );
    assert_all_stored(&moto, &docs);
    // 40 -> 20 held back -> 10 held back -> done.
    assert_eq!(proxy.seen().requests, vec![40, 20, 10]);
    assert_eq!(exporter.counters().snapshot().retried, 30);
}

#[test]
fn permanent_unprocessed_segments_are_rejected_not_retried() {
    let Rig {
        moto,
        proxy,
        exporter,
    } = rig(
        vec![Fault::HoldBackHalf("InvalidTraceId")],
        None,
        5,
        Duration::from_secs(60),
    );
    let docs = docs(30);
    let report = send(&exporter, docs.clone());
    assert_eq!((report.sent, report.rejected, report.dropped), (15, 15, 0));
    assert_eq!(
        assert_accounted(&moto, &exporter, &report, &docs),
        BTreeMap::from([(0, 15), (1, 15)])
    );
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
    assert_eq!(
        assert_accounted(&moto, &exporter, &report, &docs),
        BTreeMap::from([(1, 20)])
    );
    assert_all_stored(&moto, &docs);
}

#[test]
fn slow_answers_past_the_export_timeout_are_counted_as_timeouts() {
    let Rig {
        moto,
        proxy: _proxy,
        exporter,
    } = rig(
        Vec::new(),
        Some(Fault::Delay(Duration::from_secs(60))),
        3,
        Duration::from_secs(2),
    );
    let started = Instant::now();
    let docs = docs(120);
    let report = send(&exporter, docs.clone());
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
    // The proxy holds the calls back: nothing reached moto.
    assert_eq!(
        assert_accounted(&moto, &exporter, &report, &docs),
        BTreeMap::from([(0, 120)])
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
    assert_eq!(
        assert_accounted(&moto, &exporter, &report, &docs),
        BTreeMap::from([(1, 260)])
    );
    assert_all_stored(&moto, &docs);
}

#[test]
fn reset_connections_are_retried_and_store_each_document_once() {
    let Rig {
        moto,
        proxy,
        exporter,
    } = rig(
        vec![Fault::Reset, Fault::Reset],
        None,
        5,
        Duration::from_secs(60),
    );
    let docs = docs(30);
    let report = send(&exporter, docs.clone());
    assert_eq!((report.sent, report.rejected, report.dropped), (30, 0, 0));
    assert_eq!(proxy.seen().statuses, vec![NO_ANSWER, NO_ANSWER, 200]);
    assert_eq!(exporter.counters().snapshot().retried, 2 * 30);
    assert_eq!(
        assert_accounted(&moto, &exporter, &report, &docs),
        BTreeMap::from([(1, 30)])
    );
    assert_all_stored(&moto, &docs);
}

#[test]
fn an_answer_lost_after_delivery_is_resent_and_counted_as_retried() {
    let Rig {
        moto,
        proxy,
        exporter,
    } = rig(
        vec![Fault::ForwardThenReset],
        None,
        5,
        Duration::from_secs(60),
    );
    let docs = docs(30);
    let report = send(&exporter, docs.clone());
    // Counted once as sent, and once as re-sent: the duplicate is visible.
    assert_eq!((report.sent, report.rejected, report.dropped), (30, 0, 0));
    assert_eq!(exporter.counters().snapshot().retried, 30);
    assert_eq!(proxy.seen().statuses, vec![NO_ANSWER, 200]);
    assert_eq!(
        assert_accounted(&moto, &exporter, &report, &docs),
        BTreeMap::from([(2, 30)])
    );
    // Both copies are the same document, so keeping the last one (as X-Ray
    // does) stores exactly what was sent.
    let copies = copies_of(&moto, &docs);
    for d in &docs {
        let v: serde_json::Value = serde_json::from_str(d).unwrap();
        assert_eq!(copies[v["id"].as_str().unwrap()], vec![v.clone(), v]);
    }
}

#[test]
fn an_answer_stalled_past_the_deadline_is_a_timeout_though_stored() {
    let Rig {
        moto,
        proxy,
        exporter,
    } = rig(
        Vec::new(),
        Some(Fault::ForwardThenStall(Duration::from_secs(60))),
        3,
        Duration::from_secs(2),
    );
    let docs = docs(20);
    let report = send(&exporter, docs.clone());
    assert_eq!((report.sent, report.rejected, report.dropped), (0, 0, 20));
    let s = exporter.counters().snapshot();
    assert_eq!(s.dropped_for(DropReason::Timeout), 20, "{s:?}");
    // On a loaded machine moto may answer after the exporter's deadline: wait
    // for the answer to reach the proxy (so moto has stored the documents)
    // rather than read the proxy and moto at the deadline.
    let seen = proxy.wait_for(|s| !s.statuses.is_empty(), otel_xray_testkit::WAIT);
    assert_eq!(seen.statuses, vec![NO_ANSWER]);
    // The outcome was unknown to the exporter; moto did store them, once.
    assert_eq!(
        assert_accounted(&moto, &exporter, &report, &docs),
        BTreeMap::from([(1, 20)])
    );
}

#[test]
fn retryable_unprocessed_segments_past_the_budget_are_dropped_and_counted() {
    let moto = MotoServer::start();
    let proxy = FaultProxy::start(
        0,
        &moto.endpoint_url(),
        Vec::new(),
        Some(Fault::HoldBackHalf("ThrottledException")),
    );
    let exporter = XrayExporter::builder()
        .with_xray_client(client(&proxy.endpoint_url()))
        .with_retry_config(quick_retries(3))
        .with_max_concurrent_requests(1)
        .with_export_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let docs = docs(40);
    let report = send(&exporter, docs.clone());
    // 3 attempts: 40 -> 20 stored, 20 held back -> 10 stored, 10 held back
    // -> 5 stored, 5 held back and out of attempts.
    assert_eq!(proxy.seen().requests, vec![40, 20, 10]);
    assert_eq!((report.sent, report.rejected, report.dropped), (35, 0, 5));
    let s = exporter.counters().snapshot();
    assert_eq!(s.dropped_for(DropReason::RetryBudgetExhausted), 5, "{s:?}");
    assert_eq!(s.retried, 20 + 10);
    assert_eq!(
        assert_accounted(&moto, &exporter, &report, &docs),
        BTreeMap::from([(0, 5), (1, 35)])
    );
}
