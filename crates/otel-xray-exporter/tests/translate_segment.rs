//! Segment structure: type, IDs, parent, times, names, namespaces.
mod translate_support;

use opentelemetry::trace::{SpanId, SpanKind, TraceId};
use opentelemetry::KeyValue;
use serde_json::json;
use translate_support::*;

#[test]
fn server_span_without_parent_is_a_root_segment() {
    let doc = translate(&span(SpanKind::Server, None), &empty_resource());
    assert_eq!(doc["id"], SPAN);
    assert_eq!(doc["trace_id"], "1-6553f100-0123456789abcdef01234567");
    assert_eq!(doc["start_time"], json!(1_700_000_000.123456));
    assert_eq!(doc["end_time"], json!(1_700_000_000.338456));
    assert!(doc.get("parent_id").is_none());
    assert!(doc.get("type").is_none());
    assert!(doc.get("namespace").is_none());
    assert_eq!(doc["name"], "operation");
}

#[test]
fn server_span_with_remote_parent_keeps_parent_id() {
    let doc = translate(&span(SpanKind::Server, Some(PARENT)), &empty_resource());
    assert_eq!(doc["parent_id"], PARENT);
    assert!(doc.get("type").is_none());
}

#[test]
fn client_span_with_parent_is_a_remote_subsegment() {
    let doc = translate(&span(SpanKind::Client, Some(PARENT)), &empty_resource());
    assert_eq!(doc["type"], "subsegment");
    assert_eq!(doc["parent_id"], PARENT);
    assert_eq!(doc["namespace"], "remote");
}

#[test]
fn internal_span_with_parent_is_a_subsegment_without_namespace() {
    let doc = translate(&span(SpanKind::Internal, Some(PARENT)), &empty_resource());
    assert_eq!(doc["type"], "subsegment");
    assert!(doc.get("namespace").is_none());
}

#[test]
fn internal_span_with_remote_parent_or_local_root_is_a_segment() {
    let mut s = span(SpanKind::Internal, Some(PARENT));
    s.parent_span_is_remote = true;
    assert!(translate(&s, &empty_resource()).get("type").is_none());
    let s = with(
        span(SpanKind::Internal, Some(PARENT)),
        vec![
            KeyValue::new("aws.span.kind", "LOCAL_ROOT"),
            KeyValue::new("aws.local.service", "myLocalService"),
        ],
    );
    let doc = translate(&s, &empty_resource());
    assert!(doc.get("type").is_none());
    assert_eq!(doc["name"], "myLocalService");
}

#[test]
fn producer_without_parent_is_a_segment_and_with_parent_a_remote_subsegment() {
    let mut s = span(SpanKind::Producer, None);
    s.name = "my-topic send".into();
    let doc = translate(&s, &empty_resource());
    assert!(doc.get("type").is_none());
    assert!(doc.get("parent_id").is_none());
    assert_eq!(doc["name"], "my-topic send");
    let doc = translate(&span(SpanKind::Producer, Some(PARENT)), &empty_resource());
    assert_eq!(doc["type"], "subsegment");
    assert_eq!(doc["namespace"], "remote");
}

#[test]
fn consumer_span_is_a_segment_named_after_the_service() {
    let s = with(
        span(SpanKind::Consumer, Some(PARENT)),
        vec![KeyValue::new("aws.remote.service", "queue")],
    );
    let doc = translate(&s, &resource(vec![KeyValue::new("service.name", "worker")]));
    assert!(doc.get("type").is_none());
    assert_eq!(doc["parent_id"], PARENT);
    assert_eq!(doc["name"], "worker");
}

#[test]
fn synthetic_root_only_parent_becomes_a_segment_without_parent_id() {
    let trace = TraceId::from_hex(TRACE).unwrap();
    for kind in [SpanKind::Server, SpanKind::Internal, SpanKind::Client] {
        let mut s = span(kind, None);
        s.parent_span_id = otel_xray_id::synthetic_parent_span_id(trace);
        s.parent_span_is_remote = true;
        let doc = translate(&s, &empty_resource());
        assert!(doc.get("parent_id").is_none(), "{doc}");
        assert!(doc.get("type").is_none(), "{doc}");
    }
}

#[test]
fn invalid_ids_are_errors_and_counted() {
    let t = otel_xray_exporter::Translator::default();
    let r = empty_resource();
    let mut s = span(SpanKind::Server, None);
    s.span_context = opentelemetry::trace::SpanContext::new(
        TraceId::INVALID,
        SpanId::from_hex(SPAN).unwrap(),
        Default::default(),
        false,
        Default::default(),
    );
    assert!(matches!(
        t.translate_json(&s, &r),
        Err(otel_xray_exporter::TranslateError::InvalidTraceId)
    ));
    let mut s = span(SpanKind::Server, None);
    s.span_context = opentelemetry::trace::SpanContext::new(
        TraceId::from_hex(TRACE).unwrap(),
        SpanId::INVALID,
        Default::default(),
        false,
        Default::default(),
    );
    assert!(matches!(
        t.translate(&s, &r),
        Err(otel_xray_exporter::TranslateError::InvalidSpanId)
    ));
    assert_eq!(t.stats().failed, 2);
    assert_eq!(t.stats().documents, 0);
}

#[test]
fn random_w3c_trace_ids_are_translated_verbatim() {
    let mut s = span(SpanKind::Server, None);
    s.span_context = opentelemetry::trace::SpanContext::new(
        TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
        SpanId::from_hex(SPAN).unwrap(),
        Default::default(),
        false,
        Default::default(),
    );
    let doc = translate(&s, &empty_resource());
    assert_eq!(doc["trace_id"], "1-4bf92f35-77b34da6a3ce929d0e0e4736");
}

#[test]
fn unended_span_is_in_progress() {
    let mut s = span(SpanKind::Server, None);
    s.end_time = std::time::SystemTime::UNIX_EPOCH;
    let doc = translate(&s, &empty_resource());
    assert_eq!(doc["in_progress"], true);
    assert!(doc.get("end_time").is_none());
}

#[test]
fn enduser_id_becomes_user_and_service_version_service() {
    let s = with(
        span(SpanKind::Client, Some(PARENT)),
        vec![KeyValue::new("enduser.id", "alice")],
    );
    let doc = translate(
        &s,
        &resource(vec![KeyValue::new("service.version", "1.2.3")]),
    );
    assert_eq!(doc["user"], "alice");
    assert_eq!(doc["service"]["version"], "1.2.3");
    assert!(doc["metadata"]["default"].get("enduser.id").is_none());
    let doc = translate(
        &span(SpanKind::Server, None),
        &resource(vec![KeyValue::new("container.image.tag", "v7")]),
    );
    assert_eq!(doc["service"]["version"], "v7");
    assert!(translate(&span(SpanKind::Server, None), &empty_resource())
        .get("service")
        .is_none());
}

#[test]
fn links_keep_ids_and_typed_attributes() {
    let mut s = span(SpanKind::Server, None);
    add_link(
        &mut s,
        "5759e988bd862e3fe1be46a994272793",
        "0102030405060708",
        vec![],
    );
    add_link(
        &mut s,
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "1112131415161718",
        vec![
            KeyValue::new("s", "v"),
            KeyValue::new("b", true),
            KeyValue::new("i", 3),
            KeyValue::new("d", 1.5),
            KeyValue::new("l", opentelemetry::Value::Array(vec![1i64, 2].into())),
        ],
    );
    let doc = translate(&s, &empty_resource());
    let links = doc["links"].as_array().unwrap();
    assert_eq!(links.len(), 2);
    assert_eq!(
        links[0],
        json!({"trace_id": "1-5759e988-bd862e3fe1be46a994272793", "id": "0102030405060708"})
    );
    assert_eq!(
        links[1]["attributes"],
        json!({"s": "v", "b": true, "i": 3, "d": 1.5, "l": [1, 2]})
    );
    assert!(translate(&span(SpanKind::Server, None), &empty_resource())
        .get("links")
        .is_none());
}

#[test]
fn translator_is_shareable_and_clones_share_counters() {
    fn shareable<T: Send + Sync + Clone + 'static>() {}
    shareable::<otel_xray_exporter::Translator>();
    let t = otel_xray_exporter::Translator::default();
    let clone = t.clone();
    let s = span(SpanKind::Server, None);
    let r = empty_resource();
    std::thread::scope(|scope| {
        scope.spawn(|| clone.translate_json(&s, &r).unwrap());
    });
    t.translate_json(&span(SpanKind::Client, Some(PARENT)), &r)
        .unwrap();
    let stats = t.stats();
    assert_eq!(
        (stats.documents, stats.segments, stats.subsegments),
        (2, 1, 1)
    );
    assert_eq!(clone.stats(), stats);
}

#[test]
fn schema_constant_is_the_vendored_schema() {
    let schema: serde_json::Value =
        serde_json::from_str(otel_xray_exporter::SEGMENT_SCHEMA).unwrap();
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-04/schema#");
    assert_eq!(
        otel_xray_exporter::SEGMENT_SCHEMA,
        otel_xray_testkit::SEGMENT_SCHEMA
    );
    assert_eq!(otel_xray_exporter::MAX_SEGMENT_BYTES, 65_536);
}
