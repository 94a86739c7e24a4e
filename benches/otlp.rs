//! Per-span cost of `XrayOtlpExporter::export` (annotation rewrite, limits,
//! split, encode, gzip, SigV4) against plain `opentelemetry-otlp` HTTP/protobuf
//! export (encode, gzip) of the same spans to the same loopback sink, in the
//! same run. Target: at most 1.15× the plain export.
//!
//! `cargo bench --bench otlp --features otlp`

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::KeyValue;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanExporter, SpanLinks};
use opentelemetry_sdk::Resource;
use otel_xray_exporter::otlp::{Compression, XrayOtlpExporter};

const SPANS: usize = 1_000;

fn batch() -> Vec<SpanData> {
    let now = SystemTime::now();
    (0..SPANS as u64)
        .map(|i| SpanData {
            span_context: SpanContext::new(
                TraceId::from(u128::from(i / 10) + 1),
                SpanId::from(i + 1),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Server,
            name: format!("GET /orders/{}", i % 7).into(),
            start_time: now,
            end_time: now + Duration::from_millis(12),
            attributes: vec![
                KeyValue::new("http.request.method", "GET"),
                KeyValue::new("http.route", "/orders/{id}"),
                KeyValue::new("http.response.status_code", 200),
                KeyValue::new("url.path", format!("/orders/{i}")),
                KeyValue::new("aws.xray.annotation.customer", format!("c-{}", i % 50)),
            ],
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: Default::default(),
        })
        .collect()
}

/// A loopback endpoint that answers every POST with an empty 200.
fn sink(runtime: &tokio::runtime::Runtime) -> String {
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route("/v1/traces", axum::routing::post(|| async { "" }));
    runtime.spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/v1/traces")
}

fn export(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let url = sink(&runtime);
    let resource = Resource::builder_empty()
        .with_attributes([KeyValue::new("service.name", "bench")])
        .build();

    let mut ours = XrayOtlpExporter::builder()
        .with_endpoint(&url)
        .with_sdk_config(
            SdkConfig::builder()
                .region(Region::new("us-east-1"))
                .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                    "AKIDBENCH",
                    "secret",
                    Some("token".into()),
                    None,
                    "bench",
                )))
                .behavior_version(BehaviorVersion::latest())
                .build(),
        )
        .with_compression(Compression::Gzip)
        .build()
        .unwrap();
    ours.set_resource(&resource);

    let mut plain = runtime.block_on(async {
        opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(&url)
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_compression(opentelemetry_otlp::Compression::Gzip)
            .build()
            .unwrap()
    });
    plain.set_resource(&resource);

    let spans = batch();
    let mut group = c.benchmark_group("otlp_export");
    group.throughput(Throughput::Elements(SPANS as u64));
    group.bench_function("xray_otlp_exporter", |b| {
        b.iter_batched(
            || spans.clone(),
            |batch| black_box(runtime.block_on(ours.export(batch))).unwrap(),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("opentelemetry_otlp_http_proto", |b| {
        b.iter_batched(
            || spans.clone(),
            |batch| black_box(runtime.block_on(plain.export(batch))).unwrap(),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, export);
criterion_main!(benches);
