//! Quickstart: one traced request, turned into real X-Ray segment documents.
//!
//! ```sh
//! cargo run --example quickstart                       # documents on stdout, no AWS account
//! AWS_XRAY_DAEMON_ADDRESS=127.0.0.1:2000 cargo run --example quickstart   # to a daemon
//! cargo run --example quickstart --features api -- --api                   # PutTraceSegments
//! ```
//!
//! A request arrives with an `X-Amzn-Trace-Id` header. The service handles it
//! with a server span (annotations, metadata), calls another service over HTTP,
//! reads DynamoDB, runs a SQL query — three subsegments — and fails its payment
//! step with an exception. The documents printed are exactly what `XrayExporter`
//! sends (re-indented for reading); the header the service would pass on goes to
//! stderr with the delivery counters.

use std::io::Write;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{Span, SpanKind, Status, TraceContextExt, Tracer, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{IdGenerator, Sampler, SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use otel_xray::exporter::XrayExporter;
use otel_xray::id::{XrayIdGenerator, XrayTraceId};
use otel_xray::propagator::{XrayParentBased, XrayPropagator};
use std::collections::HashMap;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let exporter = build_exporter()?;
    let counters = exporter.counters();
    let provider = SdkTracerProvider::builder()
        .with_id_generator(XrayIdGenerator::default())
        .with_sampler(XrayParentBased::new(Sampler::AlwaysOn))
        .with_resource(
            Resource::builder()
                .with_service_name("orders-api")
                .with_attributes([
                    KeyValue::new("service.version", "1.4.2"),
                    KeyValue::new("cloud.provider", "aws"),
                    KeyValue::new("cloud.platform", "aws_ec2"),
                    KeyValue::new("host.id", "i-0123456789abcdef0"),
                ])
                .build(),
        )
        .with_batch_exporter(exporter)
        .build();
    let tracer = provider.tracer("quickstart");
    let propagator = XrayPropagator::default();

    // 1. The request arrives from a caller that already traces (say, another service).
    let upstream = upstream_header();
    eprintln!("incoming  X-Amzn-Trace-Id: {upstream}");
    let carrier = HashMap::from([("x-amzn-trace-id".to_owned(), upstream)]);
    let parent = propagator.extract(&carrier);

    // 2. The server span: a segment of the caller's trace.
    let server = tracer
        .span_builder("GET /orders/{id}")
        .with_kind(SpanKind::Server)
        .with_attributes([
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("url.scheme", "https"),
            KeyValue::new("server.address", "api.example.com"),
            KeyValue::new("url.path", "/orders/42"),
            KeyValue::new("http.route", "/orders/{id}"),
            KeyValue::new("client.address", "203.0.113.7"),
            KeyValue::new("user_agent.original", "curl/8.5.0"),
            KeyValue::new("enduser.id", "customer-981"),
            // Our convention: indexed, searchable annotations.
            KeyValue::new("aws.xray.annotation.order_id", "42"),
            KeyValue::new("aws.xray.annotation.customer_tier", "gold"),
            KeyValue::new("aws.xray.annotation.retry", false),
            // Metadata in a namespace of its own (a JSON object).
            KeyValue::new(
                "aws.xray.metadata.orders",
                r#"{"items":3,"currency":"EUR","total":129.5}"#,
            ),
            // Never exported: redacted by default.
            KeyValue::new("http.request.header.authorization", "Bearer s3cr3t"),
        ])
        .start_with_context(&tracer, &parent);
    let cx = parent.with_span(server);

    // 3. Three downstream calls: subsegments under the server segment.
    let outgoing = call_inventory(&tracer, &cx, &propagator);
    read_dynamodb(&tracer, &cx);
    query_postgres(&tracer, &cx);

    // 4. The payment step fails with an exception; the request answers 500.
    charge_payment(&tracer, &cx);
    let server = cx.span();
    server.set_attribute(KeyValue::new("http.response.status_code", 500));
    server.set_status(Status::error("payment failed"));
    server.end();

    eprintln!("outgoing  X-Amzn-Trace-Id: {outgoing}");
    provider.shutdown()?;
    let stats = counters.snapshot();
    eprintln!(
        "delivered {} documents ({} dropped, {} rejected, {} trimmed)",
        stats.sent,
        stats.dropped_total(),
        stats.rejected_total(),
        stats.trimmed
    );
    Ok(())
}

/// stdout (re-indented) unless the environment or `--api` picks a real transport.
fn build_exporter() -> Result<XrayExporter, Box<dyn std::error::Error>> {
    if std::env::args().any(|a| a == "--api") {
        #[cfg(feature = "api")]
        return Ok(XrayExporter::builder().with_api().build()?);
        #[cfg(not(feature = "api"))]
        return Err("--api needs: cargo run --example quickstart --features api -- --api".into());
    }
    if std::env::var_os("AWS_XRAY_DAEMON_ADDRESS").is_some() {
        eprintln!("sending to the X-Ray daemon at $AWS_XRAY_DAEMON_ADDRESS");
        return Ok(XrayExporter::builder().with_daemon().build()?);
    }
    Ok(XrayExporter::builder()
        .with_writer(PrettyLines::default())
        .build()?)
}

/// A caller's header, as a service upstream of us would send it.
fn upstream_header() -> String {
    let ids = XrayIdGenerator::default();
    let trace = XrayTraceId::from_trace_id(ids.new_trace_id()).expect("generator IDs are valid");
    format!("Root={trace};Parent={};Sampled=1", ids.new_span_id())
}

fn call_inventory(tracer: &SdkTracer, cx: &Context, propagator: &XrayPropagator) -> String {
    let span = tracer
        .span_builder("GET inventory")
        .with_kind(SpanKind::Client)
        .with_attributes([
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new(
                "url.full",
                "https://inventory.internal:8443/items/42?fields=stock",
            ),
            KeyValue::new("server.address", "inventory.internal"),
            KeyValue::new("http.response.status_code", 200),
        ])
        .start_with_context(tracer, cx);
    let call = cx.with_span(span);
    // The header the inventory service receives: same trace, this call as parent.
    let mut headers = HashMap::new();
    propagator.inject_context(&call, &mut headers);
    call.span().end();
    headers.remove("x-amzn-trace-id").unwrap_or_default()
}

fn read_dynamodb(tracer: &SdkTracer, cx: &Context) {
    tracer
        .span_builder("DynamoDB.GetItem")
        .with_kind(SpanKind::Client)
        .with_attributes([
            KeyValue::new("rpc.system", "aws-api"),
            KeyValue::new("rpc.service", "DynamoDB"),
            KeyValue::new("rpc.method", "GetItem"),
            KeyValue::new("cloud.region", "eu-west-1"),
            KeyValue::new("aws.request_id", "V4KQNSO5AEMVJF66Q9ASUAAJG"),
            KeyValue::new(
                "aws.dynamodb.table_names",
                opentelemetry::Value::Array(
                    vec![opentelemetry::StringValue::from("orders")].into(),
                ),
            ),
            KeyValue::new("http.response.status_code", 200),
        ])
        .start_with_context(tracer, cx)
        .end();
}

fn query_postgres(tracer: &SdkTracer, cx: &Context) {
    tracer
        .span_builder("SELECT orders")
        .with_kind(SpanKind::Client)
        .with_attributes([
            KeyValue::new("db.system", "postgresql"),
            KeyValue::new("db.namespace", "shop"),
            KeyValue::new("db.user", "orders_rw"),
            KeyValue::new(
                "db.query.text",
                "SELECT id, status FROM orders WHERE customer_id = $1",
            ),
            KeyValue::new("server.address", "db.internal"),
            KeyValue::new("server.port", 5432),
        ])
        .start_with_context(tracer, cx)
        .end();
}

fn charge_payment(tracer: &SdkTracer, cx: &Context) {
    let mut span = tracer
        .span_builder("charge payment")
        .with_kind(SpanKind::Internal)
        .start_with_context(tracer, cx);
    span.add_event(
        "exception",
        vec![
            KeyValue::new("exception.type", "PaymentError"),
            KeyValue::new("exception.message", "card declined: insufficient funds"),
            KeyValue::new(
                "exception.stacktrace",
                "thread 'main' panicked at src/payment.rs:88:14:\n\
                 card declined: insufficient funds\n\
                 stack backtrace:\n   \
                 0: orders_api::payment::charge\n             at ./src/payment.rs:88:14\n   \
                 1: orders_api::handlers::get_order\n             at ./src/handlers.rs:41:5\n",
            ),
        ],
    );
    span.set_status(Status::error("card declined"));
    span.end();
}

/// Re-indents each newline-delimited document the exporter writes.
#[derive(Default)]
struct PrettyLines {
    pending: Vec<u8>,
}

impl Write for PrettyLines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let doc: serde_json::Value = serde_json::from_slice(&line)?;
            let mut out = std::io::stdout().lock();
            serde_json::to_writer_pretty(&mut out, &doc)?;
            out.write_all(b"\n")?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stdout().flush()
    }
}
