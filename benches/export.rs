//! Delivery throughput of `XrayExporter` on the UDP path, and its per-span
//! cost inside the SDK's batch span processor.
//!
//! `cargo bench --bench export -- --warm-up-time 1 --measurement-time 3`
//!
//! * `udp/documents`: pre-serialised documents → datagrams (transport only).
//! * `udp/spans`: `SpanExporter::export` of finished spans: translation +
//!   datagrams, one core.
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
use opentelemetry::trace::{
    Span, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState, Tracer,
    TracerProvider,
};
use opentelemetry::KeyValue;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider, SpanData, SpanExporter,
};
use otel_xray_exporter::XrayExporter;

const BATCH: usize = 512;

fn sink() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").expect("bind sink")
}

fn span(seq: u64) -> SpanData {
    let end = SystemTime::now();
    let secs = end.duration_since(UNIX_EPOCH).unwrap().as_secs() as u128;
    SpanData {
        span_context: SpanContext::new(
            TraceId::from((secs << 96) | u128::from(seq + 1)),
            SpanId::from(seq + 1),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ),
        parent_span_id: SpanId::from(0xfeed),
        parent_span_is_remote: false,
        span_kind: SpanKind::Client,
        name: "GET /orders/{id}".into(),
        start_time: end - Duration::from_millis(12),
        end_time: end,
        attributes: vec![
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("url.full", "https://orders.internal/orders/42?x=1"),
            KeyValue::new("http.response.status_code", 200),
            KeyValue::new("server.address", "orders.internal"),
            KeyValue::new("customer.tier", "gold"),
            KeyValue::new("retry.count", 0),
        ],
        dropped_attributes_count: 0,
        events: Default::default(),
        links: Default::default(),
        status: Status::Unset,
        instrumentation_scope: opentelemetry::InstrumentationScope::builder("bench").build(),
    }
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

criterion_group!(benches, udp, batch_processor);
criterion_main!(benches);
