//! Delivery throughput of `XrayExporter` on the UDP path, and its per-span
//! cost inside the SDK's batch span processor.
//!
//! `cargo bench --bench export -- --warm-up-time 1 --measurement-time 3`
//!
//! * `udp/documents`: pre-serialised documents → datagrams (transport only).
//! * `udp/spans`: `SpanExporter::export` of finished spans: translation +
//!   datagrams, one core.
//! * `udp_request/*`: `SpanExporter::export` of the spans of typical requests
//!   (`otel_xray_testkit::spans::request_spans`: per request one server span,
//!   an internal child with two client children, and one more client child),
//!   translation + datagrams, against
//!   opentelemetry-aws 0.21's `XrayExporter` with its `XrayDaemonClient`, both
//!   without and with subsegment nesting (`with_subsegment_nesting(true)`;
//!   theirs `always_nest_subsegments()`), both writing every attribute
//!   (`metadata_all_attrs()` on their side) with the same resource.
//! * `batch_processor/{xray_udp,noop}`: start+end spans on a provider with a
//!   batch processor, then `force_flush`; the difference is the exporter's
//!   per-span share.
//!
//! The datagrams go to a bound loopback socket that nobody reads: the kernel
//! drops what overflows its buffer, so the sender's cost is what is measured.

use std::hint::black_box;
use std::net::UdpSocket;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use opentelemetry::trace::{Span, SpanId, SpanKind, TraceId, Tracer, TracerProvider};
use opentelemetry::KeyValue;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider, SpanData, SpanExporter,
};
use otel_xray_exporter::XrayExporter;
use otel_xray_testkit::spans::{finished_span, request_spans};

const BATCH: usize = 512;

fn sink() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").expect("bind sink")
}

/// A client span of an HTTP call, the `seq`th of a batch, in its own trace.
fn span(seq: u64) -> SpanData {
    let end = SystemTime::now();
    let secs = end.duration_since(UNIX_EPOCH).unwrap().as_secs() as u128;
    let mut s = finished_span(
        TraceId::from((secs << 96) | u128::from(seq + 1)),
        SpanId::from(seq + 1),
        SpanKind::Client,
        "GET /orders/{id}",
        end - Duration::from_millis(12),
        end,
    );
    s.parent_span_id = SpanId::from(0xfeed);
    s.attributes = vec![
        KeyValue::new("http.request.method", "GET"),
        KeyValue::new("url.full", "https://orders.internal/orders/42?x=1"),
        KeyValue::new("http.response.status_code", 200),
        KeyValue::new("server.address", "orders.internal"),
        KeyValue::new("customer.tier", "gold"),
        KeyValue::new("retry.count", 0),
    ];
    s
}

fn udp(c: &mut Criterion) {
    let rx = sink();
    let exporter = XrayExporter::builder()
        .with_daemon_address(rx.local_addr().unwrap().to_string())
        .build()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let spans: Vec<SpanData> = (0..BATCH as u64).map(span).collect();
    // The same documents the span path produces, serialised once.
    let translator = otel_xray_exporter::Translator::default();
    let resource = opentelemetry_sdk::Resource::builder_empty().build();
    let docs: Vec<String> = spans
        .iter()
        .map(|s| translator.translate_json(s, &resource).unwrap())
        .collect();
    assert_eq!(docs.len(), BATCH);

    let mut group = c.benchmark_group("udp");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("documents", |b| {
        b.iter_batched(
            || docs.clone(),
            |d| black_box(rt.block_on(exporter.send_documents(d))),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("spans", |b| {
        b.iter_batched(
            || spans.clone(),
            |s| black_box(rt.block_on(exporter.export(s))),
            BatchSize::LargeInput,
        )
    });
    group.finish();
    let stats = exporter.counters().snapshot();
    assert_eq!(stats.dropped_total(), 0, "{stats:?}");
}

#[derive(Debug)]
struct Noop;

impl SpanExporter for Noop {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        black_box(batch);
        Ok(())
    }
}

fn provider<E: SpanExporter + 'static>(exporter: E) -> SdkTracerProvider {
    let config = BatchConfigBuilder::default()
        .with_max_queue_size(16_384)
        .with_max_export_batch_size(BATCH)
        .build();
    SdkTracerProvider::builder()
        .with_span_processor(BatchSpanProcessor::new(exporter, config))
        .build()
}

fn batch_processor(c: &mut Criterion) {
    const SPANS: u64 = 4096;
    let rx = sink();
    let xray = provider(
        XrayExporter::builder()
            .with_daemon_address(rx.local_addr().unwrap().to_string())
            .build()
            .unwrap(),
    );
    let noop = provider(Noop);
    let mut group = c.benchmark_group("batch_processor");
    group.throughput(Throughput::Elements(SPANS));
    for (name, p) in [("xray_udp", &xray), ("noop", &noop)] {
        let tracer = p.tracer("bench");
        group.bench_function(name, |b| {
            b.iter(|| {
                for i in 0..SPANS {
                    let mut s = tracer
                        .span_builder("GET /orders/{id}")
                        .with_kind(SpanKind::Client)
                        .with_attributes([
                            KeyValue::new("http.request.method", "GET"),
                            KeyValue::new("http.response.status_code", 200),
                            KeyValue::new("retry.count", i as i64),
                        ])
                        .start(&tracer);
                    s.end();
                }
                p.force_flush().unwrap();
            })
        });
    }
    group.finish();
}

fn bench_resource() -> opentelemetry_sdk::Resource {
    opentelemetry_sdk::Resource::builder_empty()
        .with_service_name("orders")
        .with_attributes([
            KeyValue::new("service.version", "1.4.2"),
            KeyValue::new("cloud.provider", "aws"),
            KeyValue::new("cloud.platform", "aws_ecs"),
            KeyValue::new("deployment.environment.name", "prod"),
        ])
        .build()
}

fn udp_request(c: &mut Criterion) {
    use opentelemetry_aws::xray_exporter::daemon_client::XrayDaemonClient;
    use opentelemetry_aws::xray_exporter::{SegmentTranslator, XrayExporter as TheirExporter};

    const REQUESTS: u64 = 100;
    let rx = sink();
    let addr = rx.local_addr().unwrap();
    let res = bench_resource();
    let ours = |nesting: bool| {
        let mut e = XrayExporter::builder()
            .with_daemon_address(addr.to_string())
            .with_subsegment_nesting(nesting)
            .build()
            .unwrap();
        e.set_resource(&res);
        e
    };
    let theirs = |nesting: bool| {
        let mut translator = SegmentTranslator::new().metadata_all_attrs();
        if nesting {
            translator = translator.always_nest_subsegments();
        }
        let mut e =
            TheirExporter::new(XrayDaemonClient::new(addr).unwrap()).with_translator(translator);
        e.set_resource(&res);
        e
    };
    let (flat, nested) = (ours(false), ours(true));
    let (their_flat, their_nested) = (theirs(false), theirs(true));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let spans = request_spans(REQUESTS);

    let mut group = c.benchmark_group("udp_request");
    group.throughput(Throughput::Elements(spans.len() as u64));
    group.bench_function("otel_xray", |b| {
        b.iter_batched(
            || spans.clone(),
            |s| rt.block_on(flat.export(s)).unwrap(),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("otel_xray_nested", |b| {
        b.iter_batched(
            || spans.clone(),
            |s| rt.block_on(nested.export(s)).unwrap(),
            BatchSize::LargeInput,
        )
    });
    // Their client stops at the first failed send and says so: unwrap, so
    // a shortened run cannot pass for a fast one.
    group.bench_function("opentelemetry_aws", |b| {
        b.iter_batched(
            || spans.clone(),
            |s| rt.block_on(their_flat.export(s)).unwrap(),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("opentelemetry_aws_nested", |b| {
        b.iter_batched(
            || spans.clone(),
            |s| rt.block_on(their_nested.export(s)).unwrap(),
            BatchSize::LargeInput,
        )
    });
    group.finish();
    for (name, e) in [("flat", &flat), ("nested", &nested)] {
        let stats = e.counters().snapshot();
        assert_eq!(stats.dropped_total(), 0, "{name}: {stats:?}");
    }
}

criterion_group!(benches, udp, udp_request, batch_processor);
criterion_main!(benches);
