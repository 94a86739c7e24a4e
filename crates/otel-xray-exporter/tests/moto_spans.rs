//! Spans → BatchSpanProcessor → XrayExporter (translator + PutTraceSegments)
//! → moto, read back with BatchGetTraces / GetTraceSummaries: every span
//! arrives with its annotations, metadata, http block and parent link.
#![cfg(feature = "api")]

mod delivery_support;

use delivery_support::batch_provider;
use delivery_support::moto::{moto_exporter, read_back};
use opentelemetry::trace::{Span, SpanKind, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::KeyValue;
use otel_xray_testkit::MotoServer;

const CHILDREN: i64 = 60;

#[test]
fn every_span_arrives_with_annotations_metadata_http_and_parent() {
    let moto = MotoServer::start();
    let exporter = moto_exporter(&moto);
    let counters = exporter.counters();
    let provider = batch_provider(exporter);
    let tracer = provider.tracer("checkout-service");
    let root = tracer
        .span_builder("POST /checkout")
        .with_kind(SpanKind::Server)
        .with_attributes([
            KeyValue::new("http.request.method", "POST"),
            KeyValue::new("url.full", "https://shop.example/checkout?cart=7"),
            KeyValue::new("http.response.status_code", 201),
            KeyValue::new("aws.xray.annotation.tier", "gold"),
            KeyValue::new("customer.note", "vip"),
        ])
        .start(&tracer);
    let cx = opentelemetry::Context::new().with_span(root);
    for i in 0..CHILDREN {
        tracer
            .span_builder(format!("charge {i}"))
            .with_kind(SpanKind::Client)
            .with_attributes([
                KeyValue::new("http.request.method", "GET"),
                KeyValue::new("url.full", format!("https://pay.example/charge/{i}")),
                KeyValue::new("http.response.status_code", 200),
                KeyValue::new("aws.xray.annotation.attempt", i),
                KeyValue::new("payment.provider", "acme"),
            ])
            .start_with_context(&tracer, &cx)
            .end();
    }
    cx.span().end();
    // 61 spans in one batch: two PutTraceSegments calls of <= 50.
    provider.shutdown().unwrap();
    let s = counters.snapshot();
    assert_eq!(
        (s.sent, s.rejected_total(), s.dropped_total()),
        (1 + CHILDREN as u64, 0, 0),
        "{s:?}"
    );

    let (traces, stored) = read_back(&moto);
    assert_eq!(traces.len(), 1, "{traces:?}");
    assert_eq!(stored.len(), 1 + CHILDREN as usize);
    for d in stored.values() {
        otel_xray_testkit::assert_segment_valid(d);
        assert_eq!(d["trace_id"], traces[0]);
    }

    let root = stored
        .values()
        .find(|d| d["annotations"]["tier"] == "gold")
        .expect("root segment with its annotation");
    assert!(root.get("type").is_none(), "the server span is a segment");
    assert_eq!(root["http"]["request"]["method"], "POST");
    assert_eq!(root["http"]["response"]["status"], 201);
    assert_eq!(root["metadata"]["default"]["customer.note"], "vip");

    let mut attempts: Vec<i64> = Vec::new();
    for d in stored.values().filter(|d| d["id"] != root["id"]) {
        assert_eq!(d["type"], "subsegment");
        assert_eq!(d["parent_id"], root["id"], "parent link");
        assert_eq!(d["http"]["request"]["method"], "GET");
        assert_eq!(d["http"]["response"]["status"], 200);
        assert_eq!(d["metadata"]["default"]["payment.provider"], "acme");
        attempts.push(
            d["annotations"]["attempt"]
                .as_i64()
                .expect("attempt annotation"),
        );
    }
    attempts.sort_unstable();
    assert_eq!(attempts, (0..CHILDREN).collect::<Vec<_>>());
}
