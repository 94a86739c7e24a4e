//! Quickstart: X-Ray trace IDs from an OpenTelemetry provider.
//!
//! `cargo run --example quickstart`
//!
//! (The exporter work turns this into the full tour: a request with an
//! `X-Amzn-Trace-Id` header, subsegments, and real segment documents.)

use opentelemetry::trace::{Span, Tracer, TracerProvider};
use opentelemetry_sdk::trace::SdkTracerProvider;
use otel_xray::{XrayIdGenerator, XrayTraceId};

fn main() {
    let provider = SdkTracerProvider::builder()
        .with_id_generator(XrayIdGenerator::default())
        .build();
    let tracer = provider.tracer("quickstart");
    for name in ["GET /orders", "GET /users"] {
        let span = tracer.start(name);
        let cx = span.span_context();
        let trace_id = XrayTraceId::from_trace_id(cx.trace_id()).expect("valid trace id");
        println!(
            "{name}: trace {trace_id} (started at epoch {}), span {}",
            trace_id.epoch_seconds(),
            cx.span_id()
        );
    }
}
