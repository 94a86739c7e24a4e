use super::*;
use opentelemetry::trace::TraceId;
use opentelemetry::{Array, KeyValue, Value};
use proptest::prelude::*;
use std::time::SystemTime;

// The CLI's `translate` fixtures: the same files its command is tested with.
const FIXTURE: &str =
    include_str!("../../../../otel-xray-cli/tests/fixtures/checkout-trace.otlp.json");
const PARTLY_MALFORMED: &str =
    include_str!("../../../../otel-xray-cli/tests/fixtures/partly-malformed.otlp.json");

fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attrs
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

fn nanos(t: SystemTime) -> u128 {
    t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos()
}

fn one_span(span_json: &str) -> Conversion {
    convert_otlp_json(&format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{span_json}]}}]}}]}}"#
    ))
}

const MINIMAL: &str = r#""traceId":"6b014b00a1f3c9d2e4b5f60718293a4b","spanId":"53995c3f42cd8ad8","startTimeUnixNano":"1","endTimeUnixNano":"2""#;

#[test]
fn fixture_converts_every_span_field() {
    let c = convert_otlp_json(FIXTURE);
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    assert_eq!(c.groups.len(), 1);
    let group = &c.groups[0];
    assert_eq!(
        group.resource.get(&"service.name".into()),
        Some(Value::from("checkout"))
    );
    assert_eq!(
        group.resource.get(&"host.cpu.count".into()),
        Some(Value::I64(8))
    );
    assert_eq!(group.spans.len(), 3);

    let server = &group.spans[0];
    assert_eq!(
        server.span_context.trace_id(),
        TraceId::from_hex("6b014b00a1f3c9d2e4b5f60718293a4b").unwrap()
    );
    assert_eq!(
        server.span_context.span_id(),
        SpanId::from_hex("53995c3f42cd8ad8").unwrap()
    );
    assert!(server.span_context.is_sampled());
    assert_eq!(server.parent_span_id, SpanId::INVALID);
    assert_eq!(server.span_kind, SpanKind::Server);
    assert_eq!(server.name, "GET /orders/{id}");
    assert_eq!(nanos(server.start_time), 1_795_246_848_120_000_000);
    assert_eq!(nanos(server.end_time), 1_795_246_848_368_500_000);
    assert_eq!(
        server.status,
        Status::error("order lookup failed".to_string())
    );
    assert_eq!(
        server.instrumentation_scope.name(),
        "axum-tracing-opentelemetry"
    );
    assert_eq!(server.instrumentation_scope.version(), Some("0.32.0"));
    let a = &server.attributes;
    assert_eq!(attr(a, "http.response.status_code"), Some(&Value::I64(500)));
    assert_eq!(attr(a, "order.priority"), Some(&Value::Bool(true)));
    assert_eq!(attr(a, "order.total"), Some(&Value::F64(129.95)));
    assert_eq!(
        attr(a, "order.skus"),
        Some(&Value::Array(Array::String(vec![
            "SKU-1".into(),
            "SKU-7".into()
        ])))
    );
    assert_eq!(
        attr(a, "order.quantities"),
        Some(&Value::Array(Array::I64(vec![2, 1])))
    );
    assert_eq!(
        attr(a, "order.shipping"),
        Some(&Value::from(r#"{"carrier":"ups","days":3}"#))
    );
    // The kvlist is the only lossy value in the fixture, and it is reported.
    assert_eq!(c.notes.len(), 1, "{:?}", c.notes);
    assert!(c.notes[0].location.ends_with("spans[0].attributes[13]"));

    let client = &group.spans[1];
    assert_eq!(client.span_kind, SpanKind::Client);
    assert_eq!(client.parent_span_id, server.span_context.span_id());
    assert_eq!(client.status, Status::Unset);

    let db = &group.spans[2];
    assert_eq!(db.instrumentation_scope.name(), "sqlx");
    assert_eq!(db.events.len(), 1);
    let ev = &db.events[0];
    assert_eq!(ev.name, "exception");
    assert_eq!(nanos(ev.timestamp), 1_795_246_848_359_900_000);
    assert_eq!(
        attr(&ev.attributes, "exception.type"),
        Some(&Value::from("sqlx::Error::PoolTimedOut"))
    );
}

#[test]
fn malformed_spans_are_named_and_the_rest_converted() {
    let c = convert_otlp_json(PARTLY_MALFORMED);
    assert_eq!(c.span_count(), 1);
    assert_eq!(c.groups[0].spans[0].name, "charge");
    let msgs: Vec<String> = c.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert_eq!(c.rejected_spans, 2);
    assert_eq!(c.unreadable_requests, 0);
    assert_eq!(
        c.errors[0].location,
        "request at line 1: resourceSpans[0].scopeSpans[0].spans[1].spanId"
    );
    assert!(matches!(
        c.errors[0].kind,
        OtlpErrorKind::BadId { digits: 16, .. }
    ));
    assert_eq!(
        c.errors[1].location,
        "request at line 1: resourceSpans[0].scopeSpans[0].spans[2].attributes[0].value.intValue"
    );
}

#[test]
fn enums_by_name_snake_case_and_numeric_int64() {
    let c = one_span(
        r#"{"trace_id":"6B014B00A1F3C9D2E4B5F60718293A4B","span_id":"53995c3f42cd8ad8",
            "kind":"SPAN_KIND_CONSUMER","start_time_unix_nano":1795246848000000000,
            "end_time_unix_nano":"1795246849000000000","status":{"code":"STATUS_CODE_OK"},
            "attributes":[{"key":"n","value":{"int_value":42}},{"key":"d","value":{"doubleValue":"NaN"}}]}"#,
    );
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    let s = &c.groups[0].spans[0];
    assert_eq!(s.span_kind, SpanKind::Consumer);
    assert_eq!(s.status, Status::Ok);
    assert_eq!(nanos(s.start_time), 1_795_246_848_000_000_000);
    assert_eq!(attr(&s.attributes, "n"), Some(&Value::I64(42)));
    assert!(matches!(attr(&s.attributes, "d"), Some(Value::F64(f)) if f.is_nan()));
    assert_eq!(
        s.span_context.trace_id(),
        TraceId::from_hex("6b014b00a1f3c9d2e4b5f60718293a4b").unwrap()
    );
}

#[test]
fn bad_ids_enums_and_numbers_are_rejected_with_their_field() {
    let cases = [
        (
            r#""traceId":"6b014b00a1f3c9d2e4b5f60718293a4","spanId":"53995c3f42cd8ad8""#,
            "traceId",
        ),
        (
            r#""traceId":"00000000000000000000000000000000","spanId":"53995c3f42cd8ad8""#,
            "traceId",
        ),
        (
            r#""traceId":"6b014b00a1f3c9d2e4b5f60718293a4b","spanId":"0x995c3f42cd8ad8""#,
            "spanId",
        ),
        (r#""traceId":"6b014b00a1f3c9d2e4b5f60718293a4b""#, "spanId"),
        (
            r##""traceId":"6b014b00a1f3c9d2e4b5f60718293a4b","spanId":"53995c3f42cd8ad8","parentSpanId":"53995c3f42cd8ad""##,
            "parentSpanId",
        ),
    ];
    for (ids, field) in cases {
        let c = one_span(&format!(
            r#"{{{ids},"startTimeUnixNano":"1","endTimeUnixNano":"2"}}"#
        ));
        assert_eq!(c.span_count(), 0, "{ids}");
        assert_eq!(c.errors.len(), 1, "{ids}: {:?}", c.errors);
        assert!(c.errors[0].location.ends_with(field), "{:?}", c.errors[0]);
    }
    for (extra, field) in [
        (r#""kind":9"#, "kind"),
        (r#""kind":"SERVER""#, "kind"),
        (r#""status":{"code":"STATUS_CODE_FAIL"}"#, "status.code"),
        (r#""droppedEventsCount":"-1""#, "droppedEventsCount"),
        (r#""flags":4294967296"#, "flags"),
        (r#""traceState":"a=b=c""#, "traceState"),
        (r#""events":[{"name":"e"}]"#, "events[0].timeUnixNano"),
        (
            r#""attributes":[{"key":"k","value":{"boolValue":"yes"}}]"#,
            "attributes[0].value.boolValue",
        ),
    ] {
        let c = one_span(&format!("{{{MINIMAL},{extra}}}"));
        assert_eq!(c.span_count(), 0, "{extra}");
        assert!(
            c.errors[0].location.ends_with(field),
            "{extra}: {:?}",
            c.errors
        );
    }
}

#[test]
fn links_flags_and_remote_parent() {
    let c = one_span(&format!(
        r#"{{{MINIMAL},"flags":769,"parentSpanId":"1111111111111111","links":[{{
            "traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"2222222222222222",
            "traceState":"vendor=1","flags":1,"attributes":[{{"key":"link.kind","value":{{"stringValue":"batch"}}}}],
            "droppedAttributesCount":3}}],"droppedLinksCount":2}}"#
    ));
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    let s = &c.groups[0].spans[0];
    assert!(s.parent_span_is_remote);
    assert!(s.span_context.is_sampled());
    assert_eq!(s.links.dropped_count, 2);
    let link = &s.links[0];
    assert_eq!(link.span_context.trace_state().get("vendor"), Some("1"));
    assert_eq!(link.dropped_attributes_count, 3);
    assert_eq!(
        attr(&link.attributes, "link.kind"),
        Some(&Value::from("batch"))
    );
}

#[test]
fn lossy_values_are_reported() {
    let c = one_span(&format!(
        r#"{{{MINIMAL},"attributes":[
            {{"key":"mixed","value":{{"arrayValue":{{"values":[{{"intValue":"1"}},{{"stringValue":"a"}}]}}}}}},
            {{"key":"blob","value":{{"bytesValue":"AAEC"}}}},
            {{"key":"empty","value":{{}}}},
            {{"key":"none"}}],
            "status":{{"code":1,"message":"ignored"}}}}"#
    ));
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    let s = &c.groups[0].spans[0];
    assert_eq!(
        attr(&s.attributes, "mixed"),
        Some(&Value::from(r#"[1,"a"]"#))
    );
    assert_eq!(attr(&s.attributes, "blob"), Some(&Value::from(r#""AAEC""#)));
    assert_eq!(s.attributes.len(), 2);
    assert_eq!(c.notes.len(), 5, "{:?}", c.notes);
}

#[test]
fn json_lines_resume_after_a_syntax_error() {
    let good = FIXTURE.replace('\n', "");
    let text = format!("{good}\n\n{{\"resourceSpans\": [\n{good}\n");
    let c = convert_otlp_json(&text);
    assert_eq!(c.span_count(), 6);
    assert_eq!(c.errors.len(), 1, "{:?}", c.errors);
    assert!(
        c.errors[0].location.starts_with("line 3, column"),
        "{:?}",
        c.errors
    );
    assert!(c.groups[1].spans[0].name == "GET /orders/{id}");

    // A pretty-printed request with a syntax error is one error, not one per line.
    let broken = FIXTURE.replacen("\"spans\": [", "\"spans\": [[", 1);
    let c = convert_otlp_json(&broken);
    assert_eq!(c.span_count(), 0);
    assert_eq!(c.errors.len(), 1, "{:?}", c.errors);
}

#[test]
fn agrees_with_opentelemetry_proto_serialization() {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue as PKv};
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span as PSpan};
    let span = PSpan {
        trace_id: vec![0x6b, 0x01, 0x4b, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
        span_id: vec![0xab; 8],
        parent_span_id: vec![0xcd; 8],
        name: "proto".into(),
        kind: 3,
        start_time_unix_nano: u64::MAX / 4,
        end_time_unix_nano: u64::MAX / 3,
        attributes: vec![PKv {
            key: "big".into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::IntValue(i64::MIN)),
            }),
            ..Default::default()
        }],
        ..Default::default()
    };
    let req = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![span],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let text = serde_json::to_string(&req).unwrap();
    let c = convert_otlp_json(&text);
    assert!(c.errors.is_empty(), "{text}: {:?}", c.errors);
    let s = &c.groups[0].spans[0];
    assert_eq!(s.span_context.span_id(), SpanId::from_bytes([0xab; 8]));
    assert_eq!(s.parent_span_id, SpanId::from_bytes([0xcd; 8]));
    assert_eq!(nanos(s.end_time), (u64::MAX / 3) as u128);
    assert_eq!(attr(&s.attributes, "big"), Some(&Value::I64(i64::MIN)));
}

#[test]
fn spans_under_a_malformed_resource_or_scope_count_as_rejected() {
    let c = convert_otlp_json(
        r#"{"resourceSpans":[
            {"resource":5,"scopeSpans":[{"spans":[{},{}]},{"spans":[{}]}]},
            {"scopeSpans":[{"scope":"x","spans":[{},{}]},{"spans":"no"}]}]}"#,
    );
    assert_eq!(c.errors.len(), 3, "{:?}", c.errors);
    assert_eq!(c.rejected_spans, 5);
    assert_eq!(c.unreadable_requests, 0);
    for text in [r#"{"resourceSpans":5}"#, "[1]", "{\"resourceSpans\": ["] {
        let c = convert_otlp_json(text);
        assert_eq!((c.unreadable_requests, c.rejected_spans), (1, 0), "{text}");
    }
}

#[test]
fn empty_input_is_an_error() {
    for text in ["", " \n\t\n"] {
        let c = convert_otlp_json(text);
        assert_eq!(c.errors.len(), 1);
        assert_eq!(c.errors[0].location, "input");
    }
    // An empty request is valid: it just has no spans.
    let c = convert_otlp_json("{}");
    assert!(c.errors.is_empty() && c.span_count() == 0);
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = convert_otlp_json(&text);
    }

    #[test]
    fn mutated_fixture_never_panics_and_errors_are_located(pos in 0usize..FIXTURE.len(), byte in 0x20u8..0x7f) {
        let mut bytes = FIXTURE.as_bytes().to_vec();
        bytes[pos] = byte;
        if let Ok(text) = String::from_utf8(bytes) {
            let c = convert_otlp_json(&text);
            prop_assert!(c.span_count() <= 3);
            for e in &c.errors {
                prop_assert!(e.location.starts_with("line ") || e.location.starts_with("request at line "));
            }
        }
    }
}
