//! The size policy: every document ≤ the limit, still valid, every trim counted.
mod translate_support;

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::KeyValue;
use otel_xray_exporter::{Translator, TranslatorConfig, MAX_SEGMENT_BYTES};
use translate_support::*;

fn server(attrs: Vec<KeyValue>) -> opentelemetry_sdk::trace::SpanData {
    with(span(SpanKind::Server, None), attrs)
}

#[test]
fn small_documents_are_untouched() {
    let t = Translator::default();
    let doc = translate_by(
        &t,
        &server(vec![KeyValue::new("a", "b")]),
        &empty_resource(),
    );
    assert!(doc["metadata"].get("otel").is_none());
    let s = t.stats();
    assert_eq!(
        (
            s.metadata_trimmed,
            s.strings_truncated,
            s.documents_minimised
        ),
        (0, 0, 0)
    );
}

#[test]
fn one_huge_metadata_string_is_cut_not_dropped() {
    let t = Translator::default();
    let doc = translate_by(
        &t,
        &server(vec![
            KeyValue::new("body", "x".repeat(200_000)),
            KeyValue::new("small", 1),
        ]),
        &empty_resource(),
    );
    let body = doc["metadata"]["default"]["body"].as_str().unwrap();
    assert_eq!(body.chars().count(), 1024);
    assert!(body.ends_with('…'));
    assert_eq!(doc["metadata"]["default"]["small"], 1);
    let policy = &doc["metadata"]["otel"]["size_policy"];
    assert_eq!(policy["limit_bytes"], MAX_SEGMENT_BYTES);
    assert!(policy["original_bytes"].as_u64().unwrap() > 200_000);
    assert_eq!(policy["strings_truncated"], 1);
    assert_eq!(t.stats().strings_truncated, 1);
    assert_eq!(t.stats().metadata_trimmed, 0);
}

#[test]
fn many_attributes_lose_the_largest_metadata_first_and_keep_annotations() {
    let t = Translator::default();
    let mut attrs: Vec<KeyValue> = (0..3000)
        .map(|i| KeyValue::new(format!("attr.{i:04}"), "v".repeat(50)))
        .collect();
    attrs.push(KeyValue::new("big.one", "\u{1}".repeat(1000)));
    attrs.push(KeyValue::new("aws.xray.annotation.tenant", "acme"));
    let doc = translate_by(&t, &server(attrs), &empty_resource());
    assert_eq!(doc["annotations"]["tenant"], "acme");
    let md = doc["metadata"]["default"].as_object().unwrap();
    assert!(md.get("big.one").is_none(), "largest entry goes first");
    let removed = t.stats().metadata_trimmed;
    assert!(removed > 0);
    assert_eq!(md.len() as u64 + removed, 3001);
    assert_eq!(
        doc["metadata"]["otel"]["size_policy"]["metadata_removed"],
        removed
    );
}

#[test]
fn huge_stack_traces_are_cut_with_truncated_count() {
    let t = Translator::default();
    let mut s = span(SpanKind::Server, None);
    s.status = Status::error("boom");
    let mut trace = String::from("java.lang.StackOverflowError: deep\n");
    for i in 0..20_000 {
        trace.push_str(&format!(
            "\tat com.example.Recursive.call{i}(Recursive.java:{i})\n"
        ));
    }
    add_event(
        &mut s,
        event(
            "exception",
            vec![
                KeyValue::new("exception.type", "java.lang.StackOverflowError"),
                KeyValue::new("exception.stacktrace", trace),
            ],
        ),
    );
    let doc = translate_by(
        &t,
        &s,
        &resource(vec![KeyValue::new("telemetry.sdk.language", "java")]),
    );
    let ex = &doc["cause"]["exceptions"][0];
    let kept = ex["stack"].as_array().unwrap().len() as u64;
    assert_eq!(kept + ex["truncated"].as_u64().unwrap(), 20_000);
    assert_eq!(t.stats().stack_frames_trimmed, 20_000 - kept);
}

#[test]
fn annotations_go_only_after_metadata() {
    let t = Translator::new(
        TranslatorConfig::builder()
            .index_all_attributes(true)
            .resource_in_metadata(false)
            .build(),
    );
    // 50 annotations of ~1000 chars (~51 KB) + 60 KB of metadata that cannot be annotations.
    let mut attrs: Vec<KeyValue> = (0..50)
        .map(|i| KeyValue::new(format!("a{i}"), "y".repeat(1000)))
        .collect();
    attrs.extend((0..60).map(|i| {
        KeyValue::new(
            format!("m{i}"),
            strs(&[Box::leak("z".repeat(1000).into_boxed_str())]),
        )
    }));
    let doc = translate_by(&t, &server(attrs), &empty_resource());
    let stats = t.stats();
    // Just enough metadata goes to fit, and no annotation.
    assert!((1..60).contains(&stats.metadata_trimmed), "{stats:?}");
    assert_eq!(
        doc["metadata"]["default"].as_object().unwrap().len() as u64,
        60 - stats.metadata_trimmed
    );
    assert_eq!(stats.annotations_trimmed, 0, "{stats:?}");
    assert_eq!(doc["annotations"].as_object().unwrap().len(), 50);
}

#[test]
fn a_small_limit_still_gives_a_valid_document() {
    let config = TranslatorConfig::builder()
        .max_document_bytes(4096)
        .index_all_attributes(true)
        .build();
    let t = Translator::new(config);
    let mut s = with(
        span(SpanKind::Client, Some(PARENT)),
        (0..200)
            .map(|i| KeyValue::new(format!("k{i}"), "é".repeat(900)))
            .collect(),
    );
    s.attributes.push(KeyValue::new("db.system", "postgresql"));
    s.attributes
        .push(KeyValue::new("db.statement", "SELECT ".repeat(20_000)));
    s.attributes
        .push(KeyValue::new("aws.operation", "o".repeat(20_000)));
    for i in 0..500 {
        add_link(
            &mut s,
            TRACE,
            PARENT,
            vec![
                KeyValue::new("i", i64::from(i)),
                KeyValue::new("pad", "p".repeat(200)),
            ],
        );
    }
    let doc = translate_by(&t, &s, &empty_resource());
    assert_eq!(doc["id"], SPAN);
    assert_eq!(doc["parent_id"], PARENT);
    assert!(t.stats().annotations_trimmed > 0);
    assert!(t.stats().links_trimmed > 0 || t.stats().documents_minimised > 0);
}

#[test]
fn translate_into_reuses_the_buffer() {
    let t = Translator::default();
    let mut buf = Vec::with_capacity(64);
    let big = server(vec![KeyValue::new("body", "x".repeat(100_000))]);
    t.translate_into(&big, &empty_resource(), &mut buf).unwrap();
    assert!(buf.len() <= MAX_SEGMENT_BYTES);
    t.translate_into(&server(vec![]), &empty_resource(), &mut buf)
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&buf).unwrap();
    otel_xray_testkit::assert_segment_valid(&doc);
    assert!(doc.get("metadata").is_none());
}
