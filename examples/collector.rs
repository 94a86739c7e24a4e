//! Send traces over OTLP/gRPC to an ADOT collector, keeping X-Ray annotations.
//!
//! The collector's `awsxray` exporter only indexes attributes named in the span
//! attribute `aws.xray.annotations`; `XrayAnnotationExporter` rewrites otel-xray's
//! `aws.xray.annotation.<key>` attributes into that form before they leave the
//! process. `XrayIdGenerator` makes trace IDs X-Ray accepts as they are.
//!
//! ```text
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317 \
//!     cargo run --example collector --features collector
//! ```
//!
//! Without a collector listening, the spans are still built and rewritten; the
//! export error is printed at shutdown.

use std::error::Error;
use std::time::Duration;

use opentelemetry::trace::{Span, SpanKind, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use otel_xray_exporter::{XrayAnnotationExporter, DEFAULT_COLLECTOR_ENDPOINT};
use otel_xray_id::{XrayIdGenerator, XrayTraceId};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error + Send + Sync>> {
    let endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
        .ok()
        .filter(|e| !e.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_COLLECTOR_ENDPOINT.to_owned());

    // Any OTLP setting (headers, TLS, compression) goes on this builder; the
    // wrapper only changes span attributes.
    let otlp = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(&endpoint)
        .with_timeout(Duration::from_secs(5))
        .build()?;
    let exporter = XrayAnnotationExporter::new(otlp);
    let counters = exporter.counters();

    let provider = SdkTracerProvider::builder()
        .with_id_generator(XrayIdGenerator::default())
        .with_resource(
            Resource::builder()
                .with_service_name("otel-xray-collector-example")
                .build(),
        )
        .with_batch_exporter(exporter)
        .build();
    let tracer = provider.tracer("otel-xray-example");

    let mut request = tracer
        .span_builder("GET /orders/{id}")
        .with_kind(SpanKind::Server)
        .start(&tracer);
    // Indexed in X-Ray (searchable with `annotation.customer = "alice"`).
    request.set_attribute(KeyValue::new("aws.xray.annotation.customer", "alice"));
    request.set_attribute(KeyValue::new("aws.xray.annotation.order.id", "o-17"));
    // Plain attributes end up as X-Ray metadata.
    request.set_attribute(KeyValue::new("http.request.method", "GET"));
    let trace_id = request.span_context().trace_id();
    let cx = Context::current_with_span(request);

    let mut query = tracer
        .span_builder("SELECT orders")
        .with_kind(SpanKind::Client)
        .start_with_context(&tracer, &cx);
    query.set_attribute(KeyValue::new("aws.xray.annotation.rows", 3_i64));
    query.end();
    cx.span().end();

    match XrayTraceId::from_trace_id(trace_id) {
        Some(xray) => println!("trace {xray} (W3C {trace_id})"),
        None => println!("trace {trace_id}"),
    }

    // shutdown() blocks until the batch is exported; keep it off the async workers
    // that drive the gRPC connection.
    let shutdown = tokio::task::spawn_blocking(move || provider.shutdown()).await?;
    if let Err(e) = shutdown {
        eprintln!("shutdown: {e}");
    }
    // The batch processor logs but does not return export failures; the wrapper
    // counts them.
    let stats = counters.snapshot();
    println!("{stats}");
    if stats.failed_spans > 0 {
        eprintln!("export to {endpoint} failed; is a collector listening?");
    } else {
        println!("exported to {endpoint}");
    }
    Ok(())
}
