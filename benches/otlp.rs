//! Per-span cost of `XrayOtlpExporter::export` (annotation rewrite, limits,
//! split, encode, gzip, SigV4) against plain `opentelemetry-otlp` HTTP/protobuf
//! export (encode, gzip) of the same spans to the same loopback sink, in the
//! same run. Target: at most 1.15× the plain export.
//!
//! `cargo bench --bench otlp --features otlp`
//!
//! Outside criterion, for instruction counts and peak memory, the same binary
//! runs exports of one side only: `OTLP_PROFILE=ours` (or `plain`),
//! `OTLP_PROFILE_SPANS` spans per batch (default 1000), `OTLP_PROFILE_EXPORTS`
//! exports (default 1); it prints the peak heap the exports needed beyond
//! their batches. Under `valgrind --tool=callgrind`, the difference between
//! runs of 11 and 1 exports, divided by 10, is the cost of one export without
//! the one-time setup (connection, credentials).
//!
//! Figures (December 2026, 1,000 spans with one annotation each): callgrind
//! 31.7M instructions per export for `XrayOtlpExporter` against 29.8M for the
//! plain export (1.06x). Each span is encoded once, while it is fitted into
//! the limits, and the request is framed around those bytes; prost's own
//! request encoding sizes every span again at each level of nesting, which
//! the plain export pays for. The difference, by self cost: the
//! `aws.xray.annotation` rewrite (0.8M), SHA-256 of the body for SigV4
//! (0.5M), gzip of the longer body (the `aws.xray.annotations` lists, 0.5M)
//! and allocator calls. Gzip is the same level (6) on both sides and is
//! 13M of each export. Peak heap beyond the batch for 10,000 spans: 4.5 MiB
//! against 7.6 MiB (the spans are dropped as they are encoded).

// A counting `GlobalAlloc` cannot be written without `unsafe` (the workspace denies it elsewhere).
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use criterion::{criterion_group, BatchSize, Criterion, Throughput};
use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::KeyValue;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanExporter, SpanLinks};
use opentelemetry_sdk::Resource;
use otel_xray_exporter::otlp::{Compression, XrayOtlpExporter};

const SPANS: usize = 1_000;

/// Heap bytes allocated minus freed since counting started (negative once the
/// batch is freed) and its highest value, counted only while `COUNTING` is set
/// (a relaxed load per allocation otherwise, the same for both sides).
static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

struct Counting;

impl Counting {
    fn grow(size: usize) {
        if COUNTING.load(Ordering::Relaxed) {
            let size = size as isize;
            let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
    }
    fn shrink(size: usize) {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_sub(size as isize, Ordering::Relaxed);
        }
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Counting::grow(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        Counting::shrink(layout.size());
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Counting::grow(new_size);
        Counting::shrink(layout.size());
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn batch(spans: usize) -> Vec<SpanData> {
    let now = SystemTime::now();
    (0..spans as u64)
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

/// The two exporters, built the same way, sending to one loopback sink.
struct Sides {
    runtime: tokio::runtime::Runtime,
    ours: XrayOtlpExporter,
    plain: opentelemetry_otlp::SpanExporter,
}

fn sides() -> Sides {
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
    Sides {
        runtime,
        ours,
        plain,
    }
}

fn export(c: &mut Criterion) {
    let Sides {
        runtime,
        ours,
        plain,
    } = sides();
    let spans = batch(SPANS);
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

/// Exports of one side, outside criterion (see the module docs).
fn profile(side: &str) {
    let number = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .map_or(default, |v| v.parse().expect("a number"))
    };
    let spans = number("OTLP_PROFILE_SPANS", SPANS);
    let exports = number("OTLP_PROFILE_EXPORTS", 1);
    let Sides {
        runtime,
        ours,
        plain,
    } = sides();
    let mut peak = 0;
    let mut elapsed = Duration::ZERO;
    for _ in 0..exports {
        let batch = batch(spans);
        LIVE.store(0, Ordering::Relaxed);
        PEAK.store(0, Ordering::Relaxed);
        COUNTING.store(true, Ordering::Relaxed);
        let start = Instant::now();
        let result = match side {
            "ours" => runtime.block_on(ours.export(batch)),
            "plain" => runtime.block_on(plain.export(batch)),
            other => panic!("OTLP_PROFILE={other}: ours or plain"),
        };
        elapsed += start.elapsed();
        COUNTING.store(false, Ordering::Relaxed);
        result.unwrap();
        peak = peak.max(PEAK.load(Ordering::Relaxed));
    }
    println!(
        "{side}: {exports} exports of {spans} spans, {:.0} spans/s, \
         peak heap beyond the batch {peak} bytes ({:.1} MiB)",
        (exports * spans) as f64 / elapsed.as_secs_f64(),
        peak as f64 / (1024.0 * 1024.0)
    );
}

criterion_group!(benches, export);

fn main() {
    if let Ok(side) = std::env::var("OTLP_PROFILE") {
        profile(&side);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
