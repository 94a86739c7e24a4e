//! An AWS Lambda function (`lambda_runtime`) traced into X-Ray.
//!
//! In Lambda, the function's spans become **subsegments of Lambda's own facade
//! segment**: the parent comes from the invocation's trace header
//! (`_X_AMZN_TRACE_ID`, or `Context::xray_trace_id` on Lambda Managed Instances,
//! where the variable is not set), and the documents go over UDP to the X-Ray
//! daemon Lambda runs beside the function (`AWS_XRAY_DAEMON_ADDRESS`).
//!
//! Build for Lambda as usual (e.g. `cargo lambda build --example lambda`). To run it
//! locally, stand in for the runtime API and the daemon, then set the variables
//! Lambda would set:
//!
//! ```sh
//! otel-xray listen --udp 127.0.0.1:2000 &                  # the daemon stand-in
//! AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001 AWS_LAMBDA_FUNCTION_NAME=orders \
//! AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128 AWS_LAMBDA_FUNCTION_VERSION=1 \
//! AWS_XRAY_DAEMON_ADDRESS=127.0.0.1:2000 \
//!   cargo run --example lambda
//! ```
//! (any Lambda runtime-API emulator on 127.0.0.1:9001 drives the invocations).

use lambda_runtime::{service_fn, Error, LambdaEvent};
use opentelemetry::trace::{Span, SpanKind, TraceContextExt, Tracer, TracerProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use otel_xray::exporter::XrayExporter;
use otel_xray::id::XrayIdGenerator;
use otel_xray::propagator::{UnsampledLambdaHeader, XrayLambdaPropagator};
use serde_json::{json, Value};
use std::collections::HashMap;

#[tokio::main]
async fn main() -> Result<(), Error> {
    // UDP to the daemon from AWS_XRAY_DAEMON_ADDRESS; remote parents (the facade
    // segment) make our spans subsegments.
    let exporter = XrayExporter::builder().for_lambda().build()?;
    // A simple (synchronous) processor: Lambda may freeze the sandbox as soon as
    // the handler returns, so nothing may wait in a batch queue.
    let provider = SdkTracerProvider::builder()
        .with_id_generator(XrayIdGenerator::default())
        .with_resource(
            Resource::builder()
                .with_service_name(std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default())
                .with_attribute(KeyValue::new("cloud.provider", "aws"))
                .with_attribute(KeyValue::new("cloud.platform", "aws_lambda"))
                .build(),
        )
        .with_simple_exporter(exporter)
        .build();
    let tracer = provider.tracer("lambda-example");
    // With active tracing off, Lambda still sets the header with Sampled=0; defer
    // to our sampler then instead of dropping every span.
    let propagator =
        XrayLambdaPropagator::default().with_unsampled_lambda_header(UnsampledLambdaHeader::Defer);

    let result = lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        handle(&tracer, &propagator, event)
    }))
    .await;
    provider.shutdown()?;
    result
}

async fn handle(
    tracer: &SdkTracer,
    propagator: &XrayLambdaPropagator,
    event: LambdaEvent<Value>,
) -> Result<Value, Error> {
    // An API Gateway event may carry its own X-Amzn-Trace-Id header; the carrier wins,
    // then the runtime's header (Managed Instances), then _X_AMZN_TRACE_ID.
    let headers: HashMap<String, String> = event.payload["headers"]
        .as_object()
        .map(|h| {
            h.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    let parent = propagator.extract_with_lambda_header(
        &opentelemetry::Context::new(),
        &headers,
        event.context.xray_trace_id.as_deref(),
    );

    let mut span = tracer
        .span_builder("handle-order")
        .with_kind(SpanKind::Server)
        .with_attributes([
            KeyValue::new("faas.invocation_id", event.context.request_id.clone()),
            KeyValue::new("aws.xray.annotation.cold_start", false),
        ])
        .start_with_context(tracer, &parent);
    let order = event.payload["order_id"]
        .as_str()
        .unwrap_or("unknown")
        .to_owned();
    span.set_attribute(KeyValue::new("aws.xray.annotation.order_id", order.clone()));
    let cx = parent.with_span(span);
    // A child of the handler span: another subsegment under the same facade.
    tracer.start_with_context("validate", &cx).end();
    cx.span().end();
    Ok(json!({ "order_id": order, "status": "accepted" }))
}
