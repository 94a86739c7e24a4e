//! The PutTraceSegments body: 50 segment documents, each written as a JSON string, by the
//! exporter's writer (`transport/api/escape.rs`) against sonic-rs's and serde_json's string
//! writers, and against the floor, copying the documents into one buffer unescaped.
//!
//! `cargo bench -p otel-xray-exporter --features api --bench segments_body`
//!
//! The documents are what the translator writes for the testkit's HTTP server span (with an
//! exception event) and its internal span, alternately.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use otel_xray_exporter::{put_trace_segments_body, Translator, TranslatorConfig};
use otel_xray_testkit::spans::{http_server_span, internal_span, resource};

/// The body as sonic-rs or serde_json write it (the exporter's writer before this one).
#[derive(serde::Serialize)]
struct Body<'a> {
    #[serde(rename = "TraceSegmentDocuments")]
    trace_segment_documents: &'a [String],
}

fn documents() -> Vec<String> {
    let translator = Translator::new(TranslatorConfig::default());
    let res = resource();
    let spans = [http_server_span(), internal_span()];
    (0..50)
        .map(|i| translator.translate_json(&spans[i % 2], &res).unwrap())
        .collect()
}

fn bench(c: &mut Criterion) {
    let documents = documents();
    let bytes: usize = documents.iter().map(String::len).sum();
    let body = Body {
        trace_segment_documents: &documents,
    };
    // All three write the same text.
    assert_eq!(
        put_trace_segments_body(&documents),
        sonic_rs::to_vec(&body).unwrap()
    );
    assert_eq!(
        put_trace_segments_body(&documents),
        serde_json::to_vec(&body).unwrap()
    );

    let mut g = c.benchmark_group("segments_body");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("otel_xray", |b| {
        b.iter(|| put_trace_segments_body(black_box(&documents)))
    });
    g.bench_function("sonic_rs", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(bytes + bytes / 4 + 256);
            sonic_rs::to_writer(&mut out, black_box(&body)).unwrap();
            out
        })
    });
    g.bench_function("serde_json", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(bytes + bytes / 4 + 256);
            serde_json::to_writer(&mut out, black_box(&body)).unwrap();
            out
        })
    });
    g.bench_function("floor_copy", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(bytes + bytes / 4 + 256);
            for d in black_box(&documents) {
                out.extend_from_slice(d.as_bytes());
            }
            out
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
