use super::*;
use crate::otlp::convert::convert_otlp_json;
use opentelemetry::trace::{SpanKind, TraceFlags};
use opentelemetry::Array;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest as UpRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value::Value as UpValue, AnyValue as UpAny, ArrayValue, InstrumentationScope as UpScope,
    KeyValue as UpKv, KeyValueList,
};
use opentelemetry_proto::tonic::resource::v1::Resource as UpResource;
use opentelemetry_proto::tonic::trace::v1::{
    span::Event as UpEvent, span::Link as UpLink, ResourceSpans as UpResourceSpans,
    ScopeSpans as UpScopeSpans, Span as UpSpan, Status as UpStatus,
};
use proptest::prelude::*;

/// Encodes with the upstream `opentelemetry-proto` messages (what real
/// exporters send), decodes with ours, converts.
fn via_protobuf(request: &UpRequest) -> Conversion {
    let bytes = prost::Message::encode_to_vec(request);
    let ours = <ExportTraceServiceRequest as prost::Message>::decode(bytes.as_slice()).unwrap();
    convert_otlp_request(ours)
}

/// The same request through the upstream crate's JSON mapping and our JSON reader.
fn via_json(request: &UpRequest) -> Conversion {
    convert_otlp_json(&serde_json::to_string(request).unwrap())
}

fn kv(key: &str, value: UpValue) -> UpKv {
    UpKv {
        key: key.into(),
        value: Some(UpAny { value: Some(value) }),
        ..Default::default()
    }
}

fn span(trace_id: Vec<u8>, span_id: Vec<u8>) -> UpSpan {
    UpSpan {
        trace_id,
        span_id,
        name: "op".into(),
        kind: 2,
        start_time_unix_nano: 1_795_246_848_000_000_000,
        end_time_unix_nano: 1_795_246_848_500_000_000,
        ..Default::default()
    }
}

fn request(spans: Vec<UpSpan>) -> UpRequest {
    UpRequest {
        resource_spans: vec![UpResourceSpans {
            resource: Some(UpResource {
                attributes: vec![kv("service.name", UpValue::StringValue("checkout".into()))],
                ..Default::default()
            }),
            scope_spans: vec![UpScopeSpans {
                scope: Some(UpScope {
                    name: "axum".into(),
                    version: "0.8".into(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

#[test]
fn every_field_arrives() {
    let mut s = span(vec![0x65; 16], vec![0x53; 8]);
    s.parent_span_id = vec![0x11; 8];
    s.flags = 0x301;
    s.trace_state = "vendor=1".into();
    s.attributes = vec![
        kv("http.request.method", UpValue::StringValue("GET".into())),
        kv("n", UpValue::IntValue(-7)),
        kv("ok", UpValue::BoolValue(true)),
        kv("ratio", UpValue::DoubleValue(0.5)),
    ];
    s.events = vec![UpEvent {
        time_unix_nano: 1_795_246_848_100_000_000,
        name: "exception".into(),
        attributes: vec![kv("exception.type", UpValue::StringValue("E".into()))],
        dropped_attributes_count: 1,
    }];
    s.links = vec![UpLink {
        trace_id: vec![0x66; 16],
        span_id: vec![0x22; 8],
        flags: 0x301,
        ..Default::default()
    }];
    s.dropped_links_count = 4;
    s.status = Some(UpStatus {
        message: "boom".into(),
        code: 2,
    });
    let c = via_protobuf(&request(vec![s]));
    assert!(c.errors.is_empty() && c.notes.is_empty(), "{c:?}");
    let group = &c.groups[0];
    assert_eq!(
        group.resource.get(&"service.name".into()),
        Some(Value::from("checkout"))
    );
    let span = &group.spans[0];
    assert_eq!(
        span.span_context.trace_id(),
        TraceId::from_bytes([0x65; 16])
    );
    assert_eq!(span.span_context.span_id(), SpanId::from_bytes([0x53; 8]));
    assert_eq!(span.parent_span_id, SpanId::from_bytes([0x11; 8]));
    assert!(span.parent_span_is_remote);
    assert_eq!(span.span_context.trace_flags(), TraceFlags::SAMPLED);
    assert_eq!(span.span_context.trace_state().get("vendor"), Some("1"));
    assert_eq!(span.span_kind, SpanKind::Server);
    assert_eq!(span.status, Status::error("boom"));
    assert_eq!(attr(span, "n"), Some(&Value::I64(-7)));
    assert_eq!(attr(span, "ratio"), Some(&Value::F64(0.5)));
    assert_eq!(span.events[0].dropped_attributes_count, 1);
    assert_eq!(
        span.links[0].span_context.span_id(),
        SpanId::from_bytes([0x22; 8])
    );
    assert!(span.links[0].span_context.is_remote());
    assert_eq!(span.links.dropped_count, 4);
    assert_eq!(span.instrumentation_scope.name(), "axum");
    assert_eq!(span.instrumentation_scope.version(), Some("0.8"));
}

#[test]
fn spans_converted_for_translation_differ_only_in_their_empty_scope() {
    let mut s = span(vec![0x65; 16], vec![0x53; 8]);
    s.name = "GET /orders".into();
    s.attributes = vec![
        kv("http.request.method", UpValue::StringValue("GET".into())),
        // No value: a note.
        UpKv {
            key: "empty".into(),
            ..Default::default()
        },
    ];
    // An all-zero span ID: an error, and a rejected span.
    let bad = span(vec![0x65; 16], vec![0; 8]);
    let bytes = prost::Message::encode_to_vec(&request(vec![s, bad]));
    let decode =
        || <ExportTraceServiceRequest as prost::Message>::decode(bytes.as_slice()).unwrap();
    let full = convert_otlp_request(decode());
    let lean = convert_otlp_request_for_translation(decode());

    let kept = &full.groups[0].spans[0].instrumentation_scope;
    assert_eq!((kept.name(), kept.version()), ("axum", Some("0.8")));
    let left = &lean.groups[0].spans[0].instrumentation_scope;
    assert_eq!((left.name(), left.version()), ("", None));

    let mut without_scopes = full.groups[0].spans.clone();
    for span in &mut without_scopes {
        span.instrumentation_scope = InstrumentationScope::default();
    }
    assert_eq!(
        format!("{without_scopes:?}"),
        format!("{:?}", lean.groups[0].spans)
    );
    assert_eq!(full.rejected_spans, 1);
    assert_eq!(lean.rejected_spans, full.rejected_spans);
    assert_eq!(format!("{:?}", lean.errors), format!("{:?}", full.errors));
    assert_eq!(lean.notes.len(), 1);
    assert_eq!(format!("{:?}", lean.notes), format!("{:?}", full.notes));
}

#[test]
fn malformed_spans_are_located_counted_and_skipped() {
    let good = span(vec![0x65; 16], vec![0x53; 8]);
    let cases: Vec<(UpSpan, &str)> = vec![
        (span(vec![0x65; 15], vec![0x53; 8]), "spans[1].traceId"),
        (span(vec![0; 16], vec![0x53; 8]), "spans[1].traceId"),
        (span(vec![0x65; 16], vec![]), "spans[1].spanId"),
        (span(vec![0x65; 16], vec![0; 8]), "spans[1].spanId"),
        (
            UpSpan {
                kind: 9,
                ..good.clone()
            },
            "spans[1].kind",
        ),
        (
            UpSpan {
                start_time_unix_nano: 0,
                ..good.clone()
            },
            "spans[1].startTimeUnixNano",
        ),
        (
            UpSpan {
                trace_state: "a=b=c".into(),
                ..good.clone()
            },
            "spans[1].traceState",
        ),
        (
            UpSpan {
                status: Some(UpStatus {
                    message: String::new(),
                    code: 5,
                }),
                ..good.clone()
            },
            "spans[1].status.code",
        ),
    ];
    for (bad, field) in cases {
        let c = via_protobuf(&request(vec![good.clone(), bad, good.clone()]));
        assert_eq!(c.span_count(), 2, "{field}");
        assert_eq!(c.rejected_spans, 1, "{field}");
        assert_eq!(c.errors.len(), 1, "{field}: {:?}", c.errors);
        assert_eq!(
            c.errors[0].location,
            format!("request: resourceSpans[0].scopeSpans[0].{field}")
        );
    }
}

#[test]
fn values_the_sdk_cannot_hold_are_kept_as_json_and_noted() {
    let mut s = span(vec![0x65; 16], vec![0x53; 8]);
    s.attributes = vec![
        kv("blob", UpValue::BytesValue(vec![0, 1, 2])),
        kv(
            "map",
            UpValue::KvlistValue(KeyValueList {
                values: vec![
                    kv("carrier", UpValue::StringValue("ups".into())),
                    kv("days", UpValue::IntValue(3)),
                ],
            }),
        ),
        kv(
            "mixed",
            UpValue::ArrayValue(ArrayValue {
                values: vec![
                    UpAny {
                        value: Some(UpValue::IntValue(1)),
                    },
                    UpAny {
                        value: Some(UpValue::StringValue("a".into())),
                    },
                ],
            }),
        ),
        kv(
            "skus",
            UpValue::ArrayValue(ArrayValue {
                values: vec![UpAny {
                    value: Some(UpValue::StringValue("SKU-1".into())),
                }],
            }),
        ),
        UpKv {
            key: "none".into(),
            value: None,
            ..Default::default()
        },
    ];
    let c = via_protobuf(&request(vec![s]));
    let span = &c.groups[0].spans[0];
    assert_eq!(attr(span, "blob"), Some(&Value::from(r#""AAEC""#)));
    assert_eq!(
        attr(span, "map"),
        Some(&Value::from(r#"{"carrier":"ups","days":3}"#))
    );
    assert_eq!(attr(span, "mixed"), Some(&Value::from(r#"[1,"a"]"#)));
    assert_eq!(
        attr(span, "skus"),
        Some(&Value::Array(Array::String(vec!["SKU-1".into()])))
    );
    assert_eq!(attr(span, "none"), None);
    assert_eq!(c.notes.len(), 4, "{:?}", c.notes);
    assert!(c.notes[3].what.contains("\"none\" has no value"));
}

fn any_value(depth: u32) -> impl Strategy<Value = UpAny> {
    let leaf = prop_oneof![
        "[a-z]{0,6}".prop_map(UpValue::StringValue),
        any::<bool>().prop_map(UpValue::BoolValue),
        any::<i64>().prop_map(UpValue::IntValue),
        (-1e9f64..1e9).prop_map(UpValue::DoubleValue),
        proptest::collection::vec(any::<u8>(), 0..6).prop_map(UpValue::BytesValue),
    ];
    let value = leaf.prop_recursive(depth, 12, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(|vs| {
                UpValue::ArrayValue(ArrayValue {
                    values: vs.into_iter().map(|v| UpAny { value: Some(v) }).collect(),
                })
            }),
            proptest::collection::vec(("[a-z]{1,4}", inner), 0..4).prop_map(|kvs| {
                UpValue::KvlistValue(KeyValueList {
                    values: kvs.into_iter().map(|(k, v)| kv(&k, v)).collect(),
                })
            }),
        ]
    });
    proptest::option::weighted(0.9, value).prop_map(|value| UpAny { value })
}

fn id(len: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => proptest::collection::vec(any::<u8>(), len),
        1 => proptest::collection::vec(any::<u8>(), 0..20),
        1 => Just(vec![0; len]),
    ]
}

prop_compose! {
    fn up_span()(
        trace_id in id(16),
        span_id in id(8),
        parent in prop_oneof![Just(Vec::new()), id(8)],
        name in "[ -~]{0,12}",
        kind in 0i32..7,
        flags in prop_oneof![Just(0u32), Just(1), Just(0x101), Just(0x301)],
        start in prop_oneof![Just(0u64), 1u64..u64::MAX / 2],
        len in 0u64..1_000_000_000,
        attributes in proptest::collection::vec(("[a-z.]{1,8}", any_value(2)), 0..5),
        code in 0i32..4,
        message in "[a-z ]{0,8}",
    ) -> UpSpan {
        UpSpan {
            trace_id,
            span_id,
            parent_span_id: parent,
            name,
            kind,
            flags,
            start_time_unix_nano: start,
            end_time_unix_nano: start.saturating_add(len),
            attributes: attributes
                .into_iter()
                .map(|(key, value)| UpKv { key, value: Some(value), ..Default::default() })
                .collect(),
            status: Some(UpStatus { message, code }),
            ..Default::default()
        }
    }
}

/// Error locations without the reader's root (`request at line 1: ` / `request: `).
fn locations(c: &Conversion) -> Vec<String> {
    c.errors
        .iter()
        .map(|e| {
            e.location
                .split_once(": ")
                .map_or("", |(_, l)| l)
                .to_owned()
        })
        .collect()
}

proptest! {
    /// The protobuf and JSON readers agree on every span, error and note, so a
    /// span translates the same whichever OTLP encoding brought it.
    #[test]
    fn protobuf_and_json_readers_agree(spans in proptest::collection::vec(up_span(), 0..6)) {
        let request = request(spans);
        let p = via_protobuf(&request);
        let j = via_json(&request);
        prop_assert_eq!(locations(&p), locations(&j));
        prop_assert_eq!(p.rejected_spans, j.rejected_spans);
        prop_assert_eq!(p.notes.len(), j.notes.len());
        prop_assert_eq!(p.groups.len(), j.groups.len());
        for (pg, jg) in p.groups.iter().zip(&j.groups) {
            prop_assert_eq!(&pg.resource, &jg.resource);
            prop_assert_eq!(&pg.spans, &jg.spans);
        }
    }

    /// Arbitrary bytes never panic the decoder or the reader.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(request) = <ExportTraceServiceRequest as prost::Message>::decode(bytes.as_slice()) {
            let c = convert_otlp_request(request);
            prop_assert!(c.rejected_spans == c.errors.len());
        }
    }
}
