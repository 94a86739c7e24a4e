//! Send traces straight to the X-Ray OTLP endpoint
//! (`https://xray.<region>.amazonaws.com/v1/traces`), SigV4-signed, without a
//! collector or daemon.
//!
//! Needs Transaction Search enabled on the account and credentials allowed to
//! call `xray:PutTraceSegments` (the `AWSXrayWriteOnlyPolicy` managed policy);
//! see docs/otlp-endpoint.md.
//!
//! ```text
//! AWS_REGION=eu-west-1 cargo run --example otlp_endpoint --features otlp
//! ```
//!
//! Without credentials or network, the spans are still built; the export
//! error and the counters are printed at shutdown.

use std::error::Error;

use opentelemetry::trace::{Span, SpanKind, Tracer, TracerProvider};
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use otel_xray::exporter::otlp::XrayOtlpExporter;
use otel_xray::id::XrayIdGenerator;

fn main() -> Result<(), Box<dyn Error + Send + Sync>> {
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
    // Credentials come from the default AWS chain (environment, profile,
    // IMDS, ...), resolved on the first export and refreshed before expiry.
    let exporter = XrayOtlpExporter::builder().with_region(&region).build()?;
    let counters = exporter.counters();

    let provider = SdkTracerProvider::builder()
        // Optional here: W3C IDs are accepted. X-Ray IDs help when the same
        // trace also goes through a segment path (daemon, PutTraceSegments).
        .with_id_generator(XrayIdGenerator::default())
        .with_resource(
            Resource::builder()
                .with_service_name("otlp-endpoint-example")
                .build(),
        )
        .with_batch_exporter(exporter)
        .build();

    let tracer = provider.tracer("otlp-endpoint-example");
    let mut span = tracer
        .span_builder("GET /orders/{id}")
        .with_kind(SpanKind::Server)
        .start(&tracer);
    span.set_attribute(KeyValue::new("http.request.method", "GET"));
    // Becomes an indexed X-Ray annotation `customer`.
    span.set_attribute(KeyValue::new("aws.xray.annotation.customer", "alice"));
    span.end();

    if let Err(e) = provider.shutdown() {
        eprintln!("shutdown: {e}");
    }
    println!("{:?}", counters.snapshot());
    Ok(())
}
