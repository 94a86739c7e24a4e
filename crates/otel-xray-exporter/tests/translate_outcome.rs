//! What `Translator::translate_into` reports for one span, the Lambda option,
//! and the exporter's per-document trim count built on them.
mod translate_support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use opentelemetry::trace::SpanKind;
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use otel_xray_exporter::segment::DocumentType;
use otel_xray_exporter::{Translator, TranslatorConfig, XrayExporter};
use translate_support::*;

const PARENT: &str = "53995c3f42cd8ad8";

fn huge() -> SpanData {
    with(
        span(SpanKind::Server, None),
        vec![KeyValue::new("body", "x".repeat(100_000))],
    )
}

#[test]
fn the_outcome_names_the_kind_and_exactly_this_document_s_changes() {
    let t = Translator::default();
    let mut buf = Vec::new();

    let small = t
        .translate_into(
            &span(SpanKind::Client, Some(PARENT)),
            &empty_resource(),
            &mut buf,
        )
        .unwrap();
    assert_eq!(small.kind, DocumentType::Subsegment);
    assert!(!small.trimmed);
    assert_eq!(small.changes.documents, 1);
    assert_eq!(small.changes.subsegments, 1);
    assert_eq!(
        small.changes,
        t.stats(),
        "the first document's changes are all the stats"
    );

    let before = t.stats();
    let big = t
        .translate_into(&huge(), &empty_resource(), &mut buf)
        .unwrap();
    let after = t.stats();
    assert_eq!(big.kind, DocumentType::Segment);
    assert!(big.trimmed);
    assert!(big.changes.strings_truncated > 0, "{:?}", big.changes);
    assert_eq!(
        big.changes.strings_truncated,
        after.strings_truncated - before.strings_truncated
    );
    assert_eq!(big.changes.segments, 1);
    let doc: serde_json::Value = serde_json::from_slice(&buf).unwrap();
    assert!(
        doc["metadata"]["otel"].get("size_policy").is_some(),
        "{doc}"
    );
}

#[test]
fn a_clone_s_translations_do_not_show_in_another_outcome() {
    // Clones share counters: a document trimmed on one thread must not make a
    // small document on another look trimmed.
    let t = Translator::default();
    let other = t.clone();
    let busy = std::thread::spawn(move || {
        let mut buf = Vec::new();
        for _ in 0..50 {
            assert!(
                other
                    .translate_into(&huge(), &empty_resource(), &mut buf)
                    .unwrap()
                    .trimmed
            );
        }
    });
    let mut buf = Vec::new();
    for _ in 0..200 {
        let small = span(SpanKind::Internal, Some(PARENT));
        let out = t
            .translate_into(&small, &empty_resource(), &mut buf)
            .unwrap();
        assert!(!out.trimmed && out.changes.strings_truncated == 0);
    }
    busy.join().unwrap();
}

/// The span as the Lambda option means it: local work under its remote parent.
fn as_local_work(s: &SpanData) -> SpanData {
    let mut s = s.clone();
    s.span_kind = SpanKind::Internal;
    s.parent_span_is_remote = false;
    s
}

#[test]
fn the_lambda_option_translates_remote_children_as_local_subsegments() {
    let lambda = Translator::new(TranslatorConfig::builder().lambda_subsegments(true).build());
    let plain = Translator::default();
    let res = resource(vec![KeyValue::new("cloud.platform", "aws_lambda")]);
    for kind in [SpanKind::Server, SpanKind::Consumer, SpanKind::Internal] {
        let mut s = with(
            span(kind.clone(), Some(PARENT)),
            vec![
                KeyValue::new("http.request.method", "GET"),
                KeyValue::new("server.address", "api.example.com"),
                KeyValue::new("url.path", "/orders"),
            ],
        );
        s.parent_span_is_remote = true;
        let got = lambda.translate_json(&s, &res).unwrap();
        let want = plain.translate_json(&as_local_work(&s), &res).unwrap();
        assert_eq!(got, want, "{kind:?}");
        let doc: serde_json::Value = serde_json::from_str(&got).unwrap();
        assert_eq!(doc["type"], "subsegment", "{kind:?}: {doc}");
        assert_eq!(doc["parent_id"], PARENT);
        // Without the option the same span is a segment of its own.
        let own: serde_json::Value =
            serde_json::from_str(&plain.translate_json(&s, &res).unwrap()).unwrap();
        assert!(own.get("type").is_none(), "{kind:?}: {own}");
    }
    // Spans that are not under a remote parent are left as they are.
    for s in [
        span(SpanKind::Server, None),
        span(SpanKind::Client, Some(PARENT)),
        span(SpanKind::Server, Some(PARENT)),
    ] {
        assert_eq!(
            lambda.translate_json(&s, &res).unwrap(),
            plain.translate_json(&s, &res).unwrap()
        );
    }
}

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_exporter_counts_each_trimmed_document_once() {
    let out = Shared::default();
    let exporter = XrayExporter::builder()
        .with_writer(out.clone())
        .build()
        .unwrap();
    let counters = exporter.counters();
    let batch = vec![
        huge(),
        span(SpanKind::Client, Some(PARENT)),
        huge(),
        span(SpanKind::Internal, None),
    ];
    block_on(exporter.export(batch)).unwrap();
    let stats = counters.snapshot();
    assert_eq!(stats.trimmed, 2, "{stats:?}");
    assert_eq!(stats.sent, 4, "{stats:?}");
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    let docs: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), 4);
    for d in &docs {
        otel_xray_testkit::assert_segment_valid(d);
    }
}

/// `export` on the writer transport finishes without awaiting anything real.
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}
