//! `otel-xray listen` end to end: a real UDP sender, the tree output, --json, Ctrl-C summary.

mod support;

use serde_json::json;
use support::{send_framed, Listener};

const TRACE: &str = "1-6b014b00-a1f3c9d2e4b5f60718293a4b";

fn root() -> serde_json::Value {
    json!({"name": "checkout", "id": "53995c3f42cd8ad8", "trace_id": TRACE,
        "start_time": 1795246848.12, "end_time": 1795246848.3685, "fault": true,
        "http": {"response": {"status": 500}}, "annotations": {"order_id": "1042"}})
}

fn db() -> serde_json::Value {
    json!({"name": "orders-db", "id": "f3a9b10c5d6e7f80", "parent_id": "53995c3f42cd8ad8",
        "trace_id": TRACE, "type": "subsegment", "namespace": "remote",
        "start_time": 1795246848.201, "end_time": 1795246848.3602, "error": true,
        "cause": {"exceptions": [{"id": "0123456789abcdef", "type": "PoolTimedOut", "message": "pool timed out"}]}})
}

#[test]
fn prints_the_tree_once_the_trace_is_complete() {
    let l = Listener::start(&["--idle-ms", "60000", "--settle-ms", "100"], &[]);
    // Child first, as a batch span processor sends them: nothing is printed until the root.
    send_framed(l.addr, &db().to_string());
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert!(
        !l.stdout().contains("trace "),
        "printed before complete: {}",
        l.stdout()
    );
    send_framed(l.addr, &root().to_string());
    let (out, _) = l
        .wait_for(|out, _| out.contains("PoolTimedOut"))
        .unwrap_or_else(|| panic!("no tree: {} / {}", l.stdout(), l.stderr()));
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with(&format!("trace {TRACE}  248.5 ms  2 documents  complete")),
        "{out}"
    );
    assert!(
        lines[1].starts_with("  checkout ") && lines[1].contains("FAULT 500"),
        "{out}"
    );
    assert!(out.contains("@ order_id=1042"), "{out}");
    assert!(
        out.contains("└─ orders-db ") && out.contains("159.2 ms"),
        "{out}"
    );
    let (status, _, err) = l.interrupt();
    assert!(status.success(), "{err}");
    assert!(
        err.contains("received 2, invalid 0, forwarded 0, forward failures 0, traces printed 1"),
        "{err}"
    );
}

#[test]
fn invalid_documents_are_reported_and_incomplete_traces_flushed() {
    let l = Listener::start(&["--idle-ms", "60000"], &[]);
    let mut bad = db();
    bad["id"] = json!("F3A9B10C5D6E7F80");
    send_framed(l.addr, &bad.to_string());
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.send_to(b"{\"format\":\"json\",\"version\":2}\n{}", l.addr)
        .unwrap();
    l.wait_for(|_, err| err.contains("invalid daemon header"))
        .unwrap_or_else(|| panic!("{}", l.stderr()));
    let (status, out, err) = l.interrupt();
    assert!(status.success());
    assert!(
        err.contains("invalid F3A9B10C5D6E7F80: /id: id must be 16 lowercase hex digits"),
        "{err}"
    );
    assert!(
        out.contains("incomplete (shutdown), missing parents 53995c3f42cd8ad8"),
        "{out}"
    );
    assert!(out.contains("INVALID"), "{out}");
    assert!(err.contains("received 2, invalid 2,"), "{err}");
}

#[test]
fn json_mode_prints_raw_documents() {
    let l = Listener::start(&["--json"], &[]);
    let doc = root().to_string();
    send_framed(l.addr, &doc);
    let (out, _) = l
        .wait_for(|out, _| !out.is_empty())
        .unwrap_or_else(|| panic!("{}", l.stderr()));
    assert_eq!(out, format!("{doc}\n"));
    let (status, out, _) = l.interrupt();
    assert!(status.success());
    assert!(!out.contains("trace "), "{out}");
}

#[test]
fn receives_spans_from_the_exporters_udp_transport() {
    use opentelemetry::trace::{Span, SpanKind, Status, TraceContextExt, Tracer, TracerProvider};
    use opentelemetry::KeyValue;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use opentelemetry_sdk::Resource;

    let l = Listener::start(&["--settle-ms", "100", "--idle-ms", "60000"], &[]);
    let exporter = otel_xray_exporter::XrayExporter::builder()
        .with_daemon_address(l.addr.to_string())
        .build()
        .unwrap();
    let counters = exporter.counters();
    let provider = SdkTracerProvider::builder()
        .with_id_generator(otel_xray_id::XrayIdGenerator::default())
        .with_resource(
            Resource::builder_empty()
                .with_service_name("checkout")
                .build(),
        )
        .with_simple_exporter(exporter)
        .build();
    let tracer = provider.tracer("listen-test");
    let mut server = tracer
        .span_builder("GET /orders/{id}")
        .with_kind(SpanKind::Server)
        .with_attributes([
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("http.response.status_code", 503),
        ])
        .start(&tracer);
    server.set_status(Status::error("unavailable"));
    let cx = opentelemetry::Context::current_with_span(server);
    let mut client = tracer
        .span_builder("GET")
        .with_kind(SpanKind::Client)
        .with_attributes([KeyValue::new("peer.service", "inventory")])
        .start_with_context(&tracer, &cx);
    client.end();
    cx.span().end();
    provider.force_flush().unwrap();

    let (out, err) = l
        .wait_for(|out, _| out.contains("2 documents  complete"))
        .unwrap_or_else(|| panic!("{} / {}", l.stdout(), l.stderr()));
    assert!(!err.contains("invalid"), "{err}");
    assert!(
        out.contains("  checkout ") && out.contains("FAULT 503"),
        "{out}"
    );
    assert!(
        out.contains("└─ inventory ") && out.contains("remote"),
        "{out}"
    );
    assert_eq!(counters.snapshot().sent, 2);
    let (status, _, err) = l.interrupt();
    assert!(status.success());
    assert!(err.contains("received 2, invalid 0,"), "{err}");
    provider.shutdown().unwrap();
}
