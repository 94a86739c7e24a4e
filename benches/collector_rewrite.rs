//! Cost of the `aws.xray.annotation.*` rewrite per span, on the batch exporter's
//! thread: a span without annotations (the fast path), a typical annotated span,
//! and one that also merges an existing list and resolves a conflict.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use opentelemetry::{Array, KeyValue, StringValue, Value};
use otel_xray_exporter::{rewrite_annotations, ConflictPolicy};

fn plain(n: usize) -> Vec<KeyValue> {
    (0..n)
        .map(|i| KeyValue::new(format!("app.attribute.{i}"), format!("value-{i}")))
        .collect()
}

fn annotated(n: usize) -> Vec<KeyValue> {
    let mut attrs = plain(n);
    attrs.push(KeyValue::new("aws.xray.annotation.customer", "alice"));
    attrs.push(KeyValue::new("aws.xray.annotation.order.id", "o-17"));
    attrs.push(KeyValue::new("aws.xray.annotation.retries", 3_i64));
    attrs.push(KeyValue::new("aws.xray.annotation.vip", true));
    attrs
}

fn merged(n: usize) -> Vec<KeyValue> {
    let mut attrs = annotated(n);
    attrs.push(KeyValue::new(
        "aws.xray.annotations",
        Value::Array(Array::String(vec![StringValue::from("app.attribute.0")])),
    ));
    attrs.push(KeyValue::new("customer", "bob"));
    attrs
}

fn rewrite(c: &mut Criterion) {
    let mut group = c.benchmark_group("collector_rewrite");
    for (name, attrs) in [
        ("16_plain", plain(16)),
        ("16_plain_4_annotations", annotated(16)),
        ("16_plain_4_annotations_list_conflict", merged(16)),
    ] {
        group.bench_function(name, |b| {
            b.iter_batched(
                || attrs.clone(),
                |mut attrs| {
                    let stats = rewrite_annotations(&mut attrs, ConflictPolicy::KeepBoth);
                    black_box((attrs, stats))
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, rewrite);
criterion_main!(benches);
