//! The Python X-Ray SDK (a real application peer) → `otel-xray daemon` → moto: BatchGetTraces
//! returns every document the SDK sent — the segment and its standalone subsegments — with
//! their annotations, metadata and HTTP blocks.

mod support;

use std::process::Command;

use otel_xray_daemon::Source;
use otel_xray_testkit::MotoServer;
use support::{args, document_ids, stored_documents, wait_until, xray_client, Running};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_xray_sdk_reaches_xray_through_the_daemon() {
    let moto = MotoServer::start();
    let daemon = Running::start(args(&moto.endpoint_url())).await;

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/xray_sdk_app.py");
    let out = tokio::task::spawn_blocking({
        let udp = daemon.udp.to_string();
        move || {
            let mut app = Command::new("python3");
            app.arg(script).env("AWS_XRAY_DAEMON_ADDRESS", udp);
            otel_xray_testkit::output_bounded(&mut app, "", otel_xray_testkit::WAIT)
        }
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "the SDK app failed (pip install -r tests/python/requirements.txt): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sent: serde_json::Value = serde_json::from_slice(&out.stdout).expect("app prints JSON");
    let trace_id = sent["trace_id"].as_str().unwrap().to_owned();
    let mut sent_ids: Vec<String> = sent["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap().to_owned())
        .collect();
    sent_ids.sort();

    let client = xray_client(&moto.endpoint_url());
    // A subsegment may be stored inside its segment or on its own.
    let stored = stored_documents(&client, &trace_id, |d| document_ids(d) == sent_ids).await;
    let stored_ids = document_ids(&stored);
    assert_eq!(
        stored_ids, sent_ids,
        "every document the SDK sent is stored: {stored:#?}"
    );
    let segment = stored
        .iter()
        .find(|d| d["name"] == "checkout")
        .expect("the segment is stored");
    assert_eq!(segment["annotations"]["order"], "A-17");
    assert_eq!(segment["http"]["request"]["method"], "POST");
    assert_eq!(segment["http"]["response"]["status"], 201);
    let standalone: Vec<_> = stored
        .iter()
        .filter(|d| d["type"] == "subsegment")
        .collect();
    assert!(
        !standalone.is_empty(),
        "the streaming threshold sends subsegments on their own"
    );
    for sub in standalone {
        assert_eq!(sub["trace_id"], trace_id.as_str());
        assert_eq!(sub["metadata"]["default"]["step"], sub["name"]);
    }

    let counters = wait_until(&daemon.counters, |s| s.sent == stored.len() as u64).await;
    let report = daemon.stop().await;
    assert_eq!(
        counters.received.get(&Source::DaemonUdp).copied(),
        Some(stored.len() as u64)
    );
    assert_eq!(report.counters.rejected_total(), 0);
    assert_eq!(report.counters.spillover, 0);
    assert_eq!(report.counters.sent, stored.len() as u64);
    assert_eq!(report.drain.undelivered, 0);
}
