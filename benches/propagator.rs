//! X-Amzn-Trace-Id extract and inject: otel-xray-propagator vs opentelemetry-aws 0.21,
//! side by side in one run.
//!
//! `cargo bench -j2 --bench propagator -- --warm-up-time 1 --measurement-time 3`
//!
//! Each `extract_*` / `inject_*` group has a `floor`, the least work the job needs
//! with that carrier; `BASELINE=floor scripts/bench-ratio.sh propagator inject_hashmap`
//! gives the median ratio.

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::Context;
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use otel_xray_propagator::TRACE_HEADER_NAME;

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

fn remote_context() -> SpanContext {
    SpanContext::new(
        TraceId::from_hex("5759e988bd862e3fe1be46a994272793").unwrap(),
        SpanId::from_hex("53995c3f42cd8ad8").unwrap(),
        TraceFlags::SAMPLED,
        true,
        TraceState::NONE,
    )
}

fn extract(c: &mut Criterion) {
    let ours = otel_xray_propagator::XrayPropagator::default();
    let theirs = opentelemetry_aws::trace::XrayPropagator::default();
    let base = Context::new();
    let map = HashMap::from([("x-amzn-trace-id".to_string(), HEADER.to_string())]);
    let mut headers = http::HeaderMap::new();
    headers.insert("x-amzn-trace-id", HEADER.parse().unwrap());
    let fixed = StaticCarrier(HEADER);
    let propagators = [
        ("otel_xray", &ours as &dyn TextMapPropagator),
        ("opentelemetry_aws", &theirs),
    ];
    for (name, p) in propagators {
        // Both must produce the same sampled remote context.
        for carrier in [&fixed as &dyn Extractor, &map, &HeaderExtractor(&headers)] {
            let cx = p.extract_with_context(&base, carrier);
            assert_eq!(cx.span().span_context(), &remote_context(), "{name}");
        }
    }
    let sc = remote_context();
    let carriers: [(&str, &dyn Extractor); 3] = [
        ("static", &fixed),
        ("hashmap", &map),
        ("headermap", &HeaderExtractor(&headers)),
    ];
    for (carrier_name, carrier) in carriers {
        let mut g = c.benchmark_group(format!("extract_{carrier_name}"));
        for (name, p) in propagators {
            g.bench_function(name, |b| {
                b.iter(|| p.extract_with_context(black_box(&base), black_box(carrier)))
            });
        }
        // The floor: the carrier lookup and the remote `Context` built from the
        // span context the header describes, without parsing it.
        g.bench_function("floor", |b| {
            b.iter(|| {
                black_box(black_box(carrier).get("x-amzn-trace-id"));
                black_box(&base).with_remote_span_context(black_box(&sc).clone())
            })
        });
        g.finish();
    }
}

fn inject(c: &mut Criterion) {
    let ours = otel_xray_propagator::XrayPropagator::default();
    let theirs = opentelemetry_aws::trace::XrayPropagator::default();
    let mut sc = remote_context();
    sc = SpanContext::new(
        sc.trace_id(),
        sc.span_id(),
        sc.trace_flags(),
        false,
        TraceState::NONE,
    );
    let cx = Context::new().with_remote_span_context(sc);
    let propagators = [
        ("otel_xray", &ours as &dyn TextMapPropagator),
        ("opentelemetry_aws", &theirs),
    ];
    for (name, p) in propagators {
        let mut slot = Slot(None);
        p.inject_context(&cx, &mut slot);
        assert_eq!(slot.0.as_deref(), Some(HEADER), "{name}");
    }

    let mut g = c.benchmark_group("inject_slot");
    for (name, p) in propagators {
        let mut slot = Slot(None);
        g.bench_function(name, |b| {
            b.iter(|| p.inject_context(black_box(&cx), black_box(&mut slot)))
        });
    }
    g.finish();

    // The floors: the header `String` built from a finished value and set in the
    // carrier under the header name, what any propagator must do at least.
    let mut g = c.benchmark_group("inject_hashmap");
    for (name, p) in propagators {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut m = HashMap::with_capacity(1);
                p.inject_context(black_box(&cx), &mut m);
                m
            })
        });
    }
    g.bench_function("floor", |b| {
        b.iter(|| {
            let mut m: HashMap<String, String> = HashMap::with_capacity(1);
            m.set(TRACE_HEADER_NAME, black_box(HEADER).to_owned());
            m
        })
    });
    g.finish();

    let mut g = c.benchmark_group("inject_headermap");
    for (name, p) in propagators {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut m = http::HeaderMap::with_capacity(1);
                p.inject_context(black_box(&cx), &mut HeaderInjector(&mut m));
                m
            })
        });
    }
    g.bench_function("floor", |b| {
        b.iter(|| {
            let mut m = http::HeaderMap::with_capacity(1);
            HeaderInjector(&mut m).set(TRACE_HEADER_NAME, black_box(HEADER).to_owned());
            m
        })
    });
    g.finish();
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
