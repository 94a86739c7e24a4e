//! X-Amzn-Trace-Id extract and inject: otel-xray-propagator vs opentelemetry-aws 0.21,
//! side by side in one run.
//!
//! `cargo bench -j2 --bench propagator -- --warm-up-time 1 --measurement-time 3`

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::Context;

const HEADER: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

/// A carrier whose lookups cost nothing, so the propagators' own work is measured.
struct StaticCarrier(&'static str);

impl Extractor for StaticCarrier {
    fn get(&self, key: &str) -> Option<&str> {
        key.eq_ignore_ascii_case("x-amzn-trace-id")
            .then_some(self.0)
    }
    fn keys(&self) -> Vec<&str> {
        vec!["x-amzn-trace-id"]
    }
}

/// Keeps the last value: no map insertion cost.
struct Slot(Option<String>);

impl Injector for Slot {
    fn set(&mut self, _: &str, value: String) {
        self.0 = Some(value);
    }
}

fn extract(c: &mut Criterion) {
    let ours = otel_xray_propagator::XrayPropagator::default();
    let theirs = opentelemetry_aws::trace::XrayPropagator::default();
    let base = Context::new();
    let map = HashMap::from([("x-amzn-trace-id".to_string(), HEADER.to_string())]);
    let fixed = StaticCarrier(HEADER);
    for (name, p) in [
        ("ours", &ours as &dyn TextMapPropagator),
        ("opentelemetry-aws", &theirs),
    ] {
        // Both must produce the same sampled remote context.
        let cx = p.extract_with_context(&base, &fixed);
        assert!(cx.span().span_context().is_sampled());
        let mut g = c.benchmark_group("extract");
        g.bench_function(format!("static-carrier/{name}"), |b| {
            b.iter(|| p.extract_with_context(black_box(&base), black_box(&fixed)))
        });
        g.bench_function(format!("hashmap/{name}"), |b| {
            b.iter(|| p.extract_with_context(black_box(&base), black_box(&map)))
        });
        g.finish();
    }
}

fn inject(c: &mut Criterion) {
    let ours = otel_xray_propagator::XrayPropagator::default();
    let theirs = opentelemetry_aws::trace::XrayPropagator::default();
    let sc = SpanContext::new(
        TraceId::from_hex("5759e988bd862e3fe1be46a994272793").unwrap(),
        SpanId::from_hex("53995c3f42cd8ad8").unwrap(),
        TraceFlags::SAMPLED,
        false,
        TraceState::NONE,
    );
    let cx = Context::new().with_remote_span_context(sc);
    for (name, p) in [
        ("ours", &ours as &dyn TextMapPropagator),
        ("opentelemetry-aws", &theirs),
    ] {
        let mut slot = Slot(None);
        p.inject_context(&cx, &mut slot);
        assert_eq!(slot.0.as_deref(), Some(HEADER));
        let mut g = c.benchmark_group("inject");
        g.bench_function(format!("slot/{name}"), |b| {
            b.iter(|| p.inject_context(black_box(&cx), black_box(&mut slot)))
        });
        g.bench_function(format!("hashmap/{name}"), |b| {
            b.iter(|| {
                let mut m = HashMap::with_capacity(1);
                p.inject_context(black_box(&cx), &mut m);
                m
            })
        });
        g.finish();
    }
}

criterion_group!(benches, extract, inject);
criterion_main!(benches, more);

fn parts(c: &mut Criterion) {
    let mut g = c.benchmark_group("parts");
    let sc = SpanContext::new(
        TraceId::from_hex("5759e988bd862e3fe1be46a994272793").unwrap(),
        SpanId::from_hex("53995c3f42cd8ad8").unwrap(),
        TraceFlags::SAMPLED,
        true,
        TraceState::NONE,
    );
    let base = Context::new();
    g.bench_function("parse", |b| {
        b.iter(|| otel_xray_propagator::TraceHeader::parse(black_box(HEADER)))
    });
    g.bench_function("trace-id", |b| {
        b.iter(|| {
            otel_xray_id::XrayTraceId::parse_bytes(black_box(
                b"1-5759e988-bd862e3fe1be46a994272793",
            ))
        })
    });
    g.bench_function("span-id", |b| {
        b.iter(|| otel_xray_id::parse_span_id_bytes(black_box(b"53995c3f42cd8ad8")))
    });
    let cx = base.with_remote_span_context(sc.clone());
    g.bench_function("header-for-context", |b| {
        b.iter(|| otel_xray_propagator::trace_header_for(black_box(&cx)))
    });
    let h = otel_xray_propagator::trace_header_for(&cx).unwrap();
    g.bench_function("encode", |b| b.iter(|| black_box(&h).encode()));
    g.bench_function("encode-string", |b| {
        b.iter(|| black_box(&h).encode().as_str().to_owned())
    });
    let parsed = otel_xray_propagator::TraceHeader::parse(HEADER).unwrap();
    g.bench_function("context-with-header", |b| {
        b.iter(|| otel_xray_propagator::context_with_header(black_box(&base), black_box(&parsed)))
    });
    let p = otel_xray_propagator::XrayPropagator::default();
    g.bench_function("parse-header-counted", |b| {
        b.iter(|| p.parse_header(black_box(HEADER.as_bytes())))
    });
    g.bench_function("context", |b| {
        b.iter(|| black_box(&base).with_remote_span_context(black_box(&sc).clone()))
    });
    g.finish();
}
criterion_group!(more, parts);
