//! OTLP in → segment documents out.
//!
//! `cargo bench -p otel-xray-daemon --bench otlp`
//!
//! * `otlp_span_path`: per request of 300 spans (the test suite's server,
//!   DynamoDB and SQL spans, 100 each), the steps a span takes: protobuf
//!   decode with prost; decode + conversion to SDK `SpanData`; the same spans
//!   read straight from the bytes (`read`, what the receivers do: no prost
//!   messages in between); and the translation itself. Reading's share of the
//!   whole is the cost of reusing the exporter's `Translator` unchanged.
//! * `otlp_grpc_in`: the same request through the gRPC receiver on loopback
//!   (upstream tonic client, one connection) into a buffer that a task drains,
//!   as the daemon's sender would: spans per second through the receiver.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use opentelemetry::trace::SpanId;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest as UpRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::trace::SpanData;
use otel_xray_daemon::otlp_proto::collector::trace::v1::ExportTraceServiceRequest;
use otel_xray_daemon::{convert_otlp_request, read_otlp_request, Intake, OtlpIngest};
use otel_xray_exporter::{Translator, TranslatorConfig};
use prost::Message;

#[path = "../tests/otlp_support/mod.rs"]
mod otlp_support;

const COPIES: u64 = 100;

/// 300 spans with distinct IDs, as an OTLP exporter would send them.
fn request() -> (UpRequest, usize) {
    let mut spans: Vec<SpanData> = Vec::new();
    for copy in 0..COPIES {
        for mut span in otlp_support::spans() {
            let id = u64::from_be_bytes(span.span_context.span_id().to_bytes()) + (copy << 32);
            span.span_context = opentelemetry::trace::SpanContext::new(
                span.span_context.trace_id(),
                SpanId::from_bytes(id.to_be_bytes()),
                span.span_context.trace_flags(),
                false,
                span.span_context.trace_state().clone(),
            );
            spans.push(span);
        }
    }
    let count = spans.len();
    let resource = ResourceAttributesWithSchema::from(&otlp_support::resource());
    let request = UpRequest {
        resource_spans: group_spans_by_resource_and_scope(spans, &resource),
    };
    (request, count)
}

fn span_path(c: &mut Criterion) {
    let (request, spans) = request();
    let bytes = request.encode_to_vec();
    let translator = Translator::new(TranslatorConfig::default());
    let conversion =
        convert_otlp_request(ExportTraceServiceRequest::decode(bytes.as_slice()).unwrap());
    assert_eq!(conversion.span_count(), spans);

    let mut group = c.benchmark_group("otlp_span_path");
    group.throughput(Throughput::Elements(spans as u64));
    group.bench_function("decode", |b| {
        b.iter(|| ExportTraceServiceRequest::decode(black_box(bytes.as_slice())).unwrap())
    });
    group.bench_function("decode_convert", |b| {
        b.iter(|| {
            let request = ExportTraceServiceRequest::decode(black_box(bytes.as_slice())).unwrap();
            convert_otlp_request(request)
        })
    });
    // The reader must give what prost and the conversion give (its tests compare them in
    // depth); here, the same spans.
    let read = read_otlp_request(&bytes).unwrap();
    assert_eq!(read.span_count(), spans);
    assert_eq!(read.groups[0].spans, conversion.groups[0].spans);
    group.bench_function("read", |b| {
        b.iter(|| read_otlp_request(black_box(bytes.as_slice())).unwrap())
    });
    let mut buf = Vec::with_capacity(4096);
    group.bench_function("translate", |b| {
        b.iter(|| {
            for g in &conversion.groups {
                for span in &g.spans {
                    translator
                        .translate_into(black_box(span), &g.resource, &mut buf)
                        .unwrap();
                }
            }
        })
    });
    group.finish();
}

fn grpc_in(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (request, spans) = request();
    let (receivers, mut client) = runtime.block_on(async {
        let ingest = OtlpIngest::new(
            Translator::new(TranslatorConfig::default()),
            Intake::with_capacity(64 * 1024 * 1024),
        );
        let receivers = otlp_support::Receivers::start_with(ingest.clone()).await;
        // The sender's part: take documents out so the buffer never fills.
        let buffer = ingest.intake().buffer().clone();
        tokio::spawn(async move {
            loop {
                let batch = buffer.next_batch(50).await;
                if batch.is_empty() {
                    break;
                }
                buffer.release(batch.charge());
            }
        });
        let client = TraceServiceClient::connect(format!("http://{}", receivers.grpc))
            .await
            .unwrap();
        (receivers, client)
    });

    let mut group = c.benchmark_group("otlp_grpc_in");
    group.throughput(Throughput::Elements(spans as u64));
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("export_300_spans", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let answer = client.export(request.clone()).await.unwrap().into_inner();
                assert!(answer.partial_success.is_none(), "{answer:?}");
            })
        })
    });
    group.finish();
    let counters = receivers.ingest.intake().counters().snapshot();
    assert_eq!(counters.spillover, 0, "the buffer filled: {counters:?}");
    drop(receivers);
}

criterion_group!(benches, span_path, grpc_in);
criterion_main!(benches);
