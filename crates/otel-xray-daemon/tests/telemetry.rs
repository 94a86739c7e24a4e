//! The daemon's health: PutTelemetryRecords with the counters' changes (read back from a
//! stand-in X-Ray that records requests), and the Prometheus endpoint with `/healthz`.

#[path = "../../otel-xray-sampler/tests/fake_xray/mod.rs"]
mod fake_xray;
mod support;

use std::time::Duration;

use bytes::Bytes;
use fake_xray::{eventually, FakeXray};
use http_body_util::{BodyExt, Empty};
use support::{args, document, send_framed, trace_id, wait_until, Running};

async fn get(url: &str) -> (u16, String) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Empty<Bytes>>();
    let response = client.get(url.parse().unwrap()).await.expect("answered");
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telemetry_records_and_metrics_carry_the_counters() {
    // The stand-in answers PutTraceSegments with 404: every document is refused by "X-Ray".
    let fake = FakeXray::start(vec![]).await;
    let mut a = args(&format!("http://{}", fake.addr));
    a.metrics = Some("127.0.0.1:0".into());
    let daemon = Running::start_with_telemetry(a, Duration::from_millis(300)).await;
    let trace = trace_id();
    for n in 0..3 {
        send_framed(daemon.udp, &document(&trace, n, 10));
    }
    send_framed(daemon.udp, "not a document");
    wait_until(&daemon.counters, |c| c.backend_rejected == 3).await;

    // Telemetry: the records together carry every change.
    eventually("telemetry reports the refused documents", || {
        let records = telemetry_records(&fake);
        let total = |key: &str| {
            records
                .iter()
                .map(|r| r[key].as_i64().unwrap_or(0))
                .sum::<i64>()
        };
        total("SegmentsReceivedCount") == 4 && total("SegmentsRejectedCount") == 4
    })
    .await;
    let records = telemetry_records(&fake);
    let sum = |f: &dyn Fn(&serde_json::Value) -> i64| records.iter().map(f).sum::<i64>();
    assert_eq!(sum(&|r| r["SegmentsSentCount"].as_i64().unwrap_or(0)), 0);
    assert_eq!(
        sum(&|r| r["SegmentsSpilloverCount"].as_i64().unwrap_or(0)),
        0
    );
    assert!(
        sum(&|r| r["BackendConnectionErrors"]["HTTPCode4XXCount"]
            .as_i64()
            .unwrap_or(0))
            >= 1,
        "{records:?}"
    );
    assert!(records.iter().all(|r| r["Timestamp"].is_number()));

    // Metrics.
    let metrics = format!("http://{}", daemon.metrics.expect("--metrics bound"));
    assert_eq!(
        get(&format!("{metrics}/healthz")).await,
        (200, "ok\n".to_owned())
    );
    let (status, text) = get(&format!("{metrics}/metrics")).await;
    assert_eq!(status, 200);
    for line in [
        "xray_daemon_received_total{source=\"daemon_udp\"} 4",
        "xray_daemon_rejected_total{source=\"daemon_udp\",reason=\"invalid_document\"} 1",
        "xray_daemon_spillover_total 0",
        "xray_daemon_udp_kernel_dropped_total 0",
        "xray_daemon_sent_total 0",
        "xray_daemon_buffer_capacity_bytes ",
        "# TYPE xray_daemon_received_total counter",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
    assert!(
        text.lines().any(
            |l| l.starts_with("xray_daemon_backend_rejected_total{code=") && l.ends_with(" 3")
        ),
        "{text}"
    );
    let report = daemon.stop().await;
    assert!(report.counters.telemetry_failed + report.counters.telemetry_sent >= 1);
}

/// The `TelemetryRecords` entries of every PutTelemetryRecords the stand-in received.
fn telemetry_records(fake: &FakeXray) -> Vec<serde_json::Value> {
    fake.state()
        .requests
        .iter()
        .filter(|(path, _, _)| path == "/TelemetryRecords")
        .flat_map(|(_, _, body)| {
            let call: serde_json::Value = serde_json::from_slice(body).unwrap();
            call["TelemetryRecords"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}
