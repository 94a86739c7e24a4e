//! The Lambda setup: daemon address from the environment, the function's
//! spans nested under Lambda's facade segment. Its own test binary because it
//! sets the environment.
#![cfg(feature = "daemon")]

mod delivery_support;

use delivery_support::{parse_like_daemon, FakeDaemon};
use opentelemetry::trace::{
    Span, SpanContext, SpanId, SpanKind, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer,
    TracerProvider,
};
use opentelemetry_sdk::trace::SdkTracerProvider;
use otel_xray_exporter::{XrayExporter, DAEMON_ADDRESS_ENV};

const FACADE: &str = "53995c3f42cd8ad8";

/// Runs one "invocation" and returns the documents the daemon got.
fn invoke(
    builder: otel_xray_exporter::XrayExporterBuilder,
    daemon: &FakeDaemon,
) -> Vec<serde_json::Value> {
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(builder.build().unwrap())
        .build();
    let tracer = provider.tracer("function");
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as u128;
    let facade = SpanContext::new(
        TraceId::from((secs << 96) | 0xabc),
        SpanId::from_hex(FACADE).unwrap(),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    let cx = opentelemetry::Context::new().with_remote_span_context(facade);
    let handler = tracer
        .span_builder("handler")
        .with_kind(SpanKind::Server)
        .start_with_context(&tracer, &cx);
    let cx = cx.with_span(handler);
    tracer.start_with_context("query", &cx).end();
    cx.span().end();
    provider.force_flush().unwrap();
    let got = daemon.wait_for(2);
    provider.shutdown().unwrap();
    got.iter().map(|d| parse_like_daemon(d).unwrap()).collect()
}

#[test]
fn in_lambda_the_function_s_spans_nest_under_the_facade_segment() {
    let daemon = FakeDaemon::start("127.0.0.1:0");
    // What Lambda sets (its daemon listens on 169.254.79.129:2000).
    std::env::set_var(DAEMON_ADDRESS_ENV, daemon.addr().to_string());
    let docs = invoke(XrayExporter::builder().for_lambda(), &daemon);
    std::env::remove_var(DAEMON_ADDRESS_ENV);

    assert_eq!(docs.len(), 2);
    let handler = docs.iter().find(|d| d["parent_id"] == FACADE).unwrap();
    let query = docs.iter().find(|d| d["parent_id"] != FACADE).unwrap();
    assert_eq!(handler["type"], "subsegment", "{handler}");
    assert_eq!(handler["parent_id"], FACADE);
    assert_eq!(query["parent_id"], handler["id"]);
    assert_eq!(query["trace_id"], handler["trace_id"]);
    for d in &docs {
        otel_xray_testkit::assert_segment_valid(d);
    }

    // Outside Lambda mode the same handler span is a segment of its own.
    let daemon = FakeDaemon::start("127.0.0.1:0");
    let docs = invoke(
        XrayExporter::builder().with_daemon_address(daemon.addr().to_string()),
        &daemon,
    );
    let handler = docs.iter().find(|d| d["parent_id"] == FACADE).unwrap();
    assert!(handler.get("type").is_none(), "{handler}");
}
