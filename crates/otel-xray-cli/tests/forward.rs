//! `otel-xray listen --forward` into moto, read back with BatchGetTraces.

mod support;

use otel_xray_testkit::MotoServer;
use serde_json::json;
use support::{send_framed, stored_documents, Listener};

#[test]
fn forwarded_documents_reach_put_trace_segments() {
    let moto = MotoServer::start();
    let url = moto.endpoint_url();
    let l = Listener::start(
        &[
            "--forward",
            "--endpoint-url",
            &url,
            "--region",
            "us-east-1",
            "--settle-ms",
            "50",
        ],
        &otel_xray_testkit::MOTO_CREDENTIALS_ENV,
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let trace_id = format!("1-{:08x}-a006649127e371903a2de979", now as u32);
    let root = json!({"name": "checkout", "id": "70de5b6f19ff9a0a", "trace_id": trace_id,
        "start_time": now - 1.0, "end_time": now - 0.5})
    .to_string();
    let child = json!({"name": "db", "id": "70de5b6f19ff9a0b", "trace_id": trace_id,
        "parent_id": "70de5b6f19ff9a0a", "type": "subsegment", "start_time": now - 0.9,
        "end_time": now - 0.6})
    .to_string();
    send_framed(l.addr, &child);
    send_framed(l.addr, &root);
    l.wait_for(|out, _| out.contains("2 documents  complete"))
        .unwrap_or_else(|| panic!("{} / {}", l.stdout(), l.stderr()));
    let (status, _, err) = l.interrupt();
    assert!(status.success(), "{err}");
    assert!(
        err.contains("received 2, invalid 0, forwarded 2, forward failures 0"),
        "{err}"
    );

    let mut stored = stored_documents(&url, &trace_id, 2);
    stored.sort();
    let mut sent = vec![root, child];
    sent.sort();
    assert_eq!(stored, sent, "moto returns exactly the bytes sent");
}
