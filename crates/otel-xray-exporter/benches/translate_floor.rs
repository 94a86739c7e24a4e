//! The translator against its floor: translating a span into a segment document
//! versus serialising the finished document with serde_json, in the same run.
//!
//! `cargo bench -p otel-xray-exporter --bench translate_floor`
//!
//! This is the CI speed guard (`scripts/bench-guard.sh`). It lives in this crate,
//! not beside the peer comparison in the workspace's `benches/translate.rs`, so
//! that its release build needs only the exporter and its own dev-dependencies:
//! the workspace benches pull in the AWS SDK, opentelemetry-aws and an HTTP
//! stack, which in release take most of CI's build time.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use otel_xray_exporter::{Translator, TranslatorConfig};
use otel_xray_testkit::spans::{http_server_span, internal_span, resource};

fn bench(c: &mut Criterion) {
    let res = resource();
    let translator = Translator::new(TranslatorConfig::default());
    for (label, span) in [
        ("http_server", http_server_span()),
        ("internal", internal_span()),
    ] {
        let mut buf = Vec::with_capacity(8 * 1024);
        // The floor serialises the document the translator writes (the writer's
        // output equals serde_json's, which the exporter's proptests pin).
        let segment = translator.translate(&span, &res).unwrap();

        let mut g = c.benchmark_group(label);
        g.bench_function("otel_xray", |b| {
            b.iter(|| {
                translator
                    .translate_into(black_box(&span), &res, &mut buf)
                    .unwrap();
                black_box(buf.len())
            })
        });
        g.bench_function("serialise_only", |b| {
            b.iter(|| {
                buf.clear();
                serde_json::to_writer(&mut buf, black_box(&segment)).unwrap();
                black_box(buf.len())
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
