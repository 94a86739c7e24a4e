//! Trace-ID generation: otel-xray vs opentelemetry-aws vs the SDK's random generator,
//! and the floor (SDK random ID + one coarse clock read) in the same run.
//!
//! `cargo bench --bench ids`; ratio to the floor:
//! `BASELINE=floor scripts/bench-ratio.sh ids new_trace_id`

use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};
use std::hint::black_box;

fn trace_ids(c: &mut Criterion) {
    let mut group = c.benchmark_group("new_trace_id");
    let ours = otel_xray::id::XrayIdGenerator::default();
    let aws = opentelemetry_aws::trace::XrayIdGenerator::default();
    let sdk = RandomIdGenerator::default();
    group.bench_function("otel_xray", |b| b.iter(|| black_box(ours.new_trace_id())));
    group.bench_function("opentelemetry_aws", |b| {
        b.iter(|| black_box(aws.new_trace_id()))
    });
    group.bench_function("sdk_random", |b| b.iter(|| black_box(sdk.new_trace_id())));
    // The floor: the cheapest work an X-Ray trace ID physically needs, 128 random
    // bits and one coarse monotonic clock read (to know the epoch second).
    group.bench_function("floor", |b| {
        b.iter(|| {
            black_box(coarsetime::Instant::now_without_cache_update());
            black_box(sdk.new_trace_id())
        })
    });
    group.finish();

    let mut group = c.benchmark_group("new_span_id");
    group.bench_function("otel_xray", |b| b.iter(|| black_box(ours.new_span_id())));
    group.bench_function("sdk_random", |b| b.iter(|| black_box(sdk.new_span_id())));
    group.finish();
}

criterion_group!(benches, trace_ids);
criterion_main!(benches);
