//! The wire reader against prost's decoding followed by `convert_otlp_request_for_translation`,
//! on arbitrary requests, on requests laid out as prost never writes them (fields repeated,
//! out of order, unknown), and on damaged bytes.

use super::*;
use crate::otlp::convert::{convert_otlp_request, convert_otlp_request_for_translation};
use crate::otlp::proto::collector::trace::v1::ExportTraceServiceRequest;
use crate::otlp::proto::common::v1::{
    any_value::Value as V, ArrayValue, InstrumentationScope as ProtoScope, KeyValueList,
};
use crate::otlp::proto::resource::v1::Resource as ProtoResource;
use crate::otlp::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
use proptest::collection::vec;
use proptest::prelude::*;
use prost::encoding::{encode_key, encode_varint};

#[path = "canonical.rs"]
mod canonical;
use canonical::canonical;

/// What prost's decoding and the conversions make of `bytes`, with and without scopes:
/// `Err` when prost refuses the request.
fn via_prost(bytes: &[u8]) -> Result<(String, String), ()> {
    let request = ExportTraceServiceRequest::decode(bytes).map_err(|_| ())?;
    Ok((
        canonical(&convert_otlp_request(request.clone())),
        canonical(&convert_otlp_request_for_translation(request)),
    ))
}

fn via_wire(bytes: &[u8]) -> Result<(String, String), ()> {
    let kept = read_otlp_request(bytes).map(|c| canonical(&c));
    let left = read_request_for_translation(bytes).map(|c| canonical(&c));
    match (kept, left) {
        (Ok(kept), Ok(left)) => Ok((kept, left)),
        (Err(_), Err(_)) => Err(()),
        (kept, left) => panic!("one reading failed, not the other: {kept:?} {left:?}"),
    }
}

fn assert_same(bytes: &[u8]) {
    assert_eq!(via_wire(bytes), via_prost(bytes));
}

fn id(len: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => vec(any::<u8>(), len),
        1 => Just(Vec::new()),
        1 => Just(vec![0; len]),
        1 => vec(any::<u8>(), 0..20),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("http.request.method".to_owned()),
        "[a-z.]{1,12}",
        any::<String>(),
    ]
}

fn any_value() -> impl Strategy<Value = AnyValue> {
    let scalar = prop_oneof![
        text().prop_map(V::StringValue),
        any::<bool>().prop_map(V::BoolValue),
        any::<i64>().prop_map(V::IntValue),
        any::<f64>().prop_map(V::DoubleValue),
        vec(any::<u8>(), 0..6).prop_map(|b| V::BytesValue(b.into())),
        any::<i32>().prop_map(V::StringValueStrindex),
    ];
    let leaf = proptest::option::weighted(0.9, scalar).prop_map(|value| AnyValue { value });
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..3).prop_map(|values| AnyValue {
                value: Some(V::ArrayValue(ArrayValue { values })),
            }),
            vec((text(), proptest::option::of(inner)), 0..3).prop_map(|kvs| AnyValue {
                value: Some(V::KvlistValue(KeyValueList {
                    values: kvs
                        .into_iter()
                        .map(|(key, value)| ProtoKeyValue {
                            key,
                            value,
                            ..Default::default()
                        })
                        .collect(),
                })),
            }),
        ]
    })
}

fn attributes() -> impl Strategy<Value = Vec<ProtoKeyValue>> {
    vec(
        (text(), proptest::option::weighted(0.9, any_value())).prop_map(|(key, value)| {
            ProtoKeyValue {
                key,
                value,
                ..Default::default()
            }
        }),
        0..4,
    )
}

fn time() -> impl Strategy<Value = u64> {
    prop_oneof![Just(0), Just(1_795_246_848_000_000_000), any::<u64>()]
}

fn event() -> impl Strategy<Value = span::Event> {
    (time(), text(), attributes(), 0..3u32).prop_map(|(time_unix_nano, name, attributes, d)| {
        span::Event {
            time_unix_nano,
            name,
            attributes,
            dropped_attributes_count: d,
        }
    })
}

fn link() -> impl Strategy<Value = span::Link> {
    (id(16), id(8), attributes(), any::<u32>()).prop_map(
        |(trace_id, span_id, attributes, flags)| span::Link {
            trace_id: trace_id.into(),
            span_id: span_id.into(),
            attributes,
            flags,
            ..Default::default()
        },
    )
}

fn span() -> impl Strategy<Value = Span> {
    (
        (
            id(16),
            id(8),
            id(8),
            prop_oneof![Just(String::new()), Just("a=1".to_owned()), text()],
        ),
        (
            text(),
            -1..7i32,
            time(),
            time(),
            prop_oneof![Just(0u32), Just(0x301), any::<u32>()],
        ),
        (attributes(), vec(event(), 0..2), vec(link(), 0..2)),
        proptest::option::of(
            (-1..4i32, text()).prop_map(|(code, message)| ProtoStatus { code, message }),
        ),
        (0..3u32, 0..3u32, 0..3u32),
    )
        .prop_map(
            |(
                (trace_id, span_id, parent, trace_state),
                (name, kind, start, end, flags),
                (attributes, events, links),
                status,
                (da, de, dl),
            )| Span {
                trace_id: trace_id.into(),
                span_id: span_id.into(),
                parent_span_id: parent.into(),
                trace_state,
                flags,
                name,
                kind,
                start_time_unix_nano: start,
                end_time_unix_nano: end,
                attributes,
                dropped_attributes_count: da,
                events,
                dropped_events_count: de,
                links,
                dropped_links_count: dl,
                status,
            },
        )
}

fn request() -> impl Strategy<Value = ExportTraceServiceRequest> {
    let scope =
        (text(), text(), attributes(), 0..2u32).prop_map(|(name, version, attributes, d)| {
            ProtoScope {
                name,
                version,
                attributes,
                dropped_attributes_count: d,
            }
        });
    let scope_spans = (proptest::option::of(scope), vec(span(), 0..4), text()).prop_map(
        |(scope, spans, schema_url)| ScopeSpans {
            scope,
            spans,
            schema_url,
        },
    );
    let resource = (attributes(), 0..2u32).prop_map(|(attributes, d)| ProtoResource {
        attributes,
        dropped_attributes_count: d,
        ..Default::default()
    });
    let resource_spans = (
        proptest::option::of(resource),
        vec(scope_spans, 0..3),
        text(),
    )
        .prop_map(|(resource, scope_spans, schema_url)| ResourceSpans {
            resource,
            scope_spans,
            schema_url,
        });
    vec(resource_spans, 0..3)
        .prop_map(|resource_spans| ExportTraceServiceRequest { resource_spans })
}

/// Field `tag` holding `bytes`, length-delimited.
fn delimited(tag: u32, bytes: &[u8], out: &mut Vec<u8>) {
    encode_key(tag, WireType::LengthDelimited, out);
    encode_varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

/// A request of one resource and one scope whose spans are `spans`, as given.
fn request_of_span_bytes(spans: &[Vec<u8>]) -> Vec<u8> {
    let mut scope_spans = Vec::new();
    for span in spans {
        delimited(2, span, &mut scope_spans);
    }
    let mut resource_spans = Vec::new();
    delimited(2, &scope_spans, &mut resource_spans);
    let mut request = Vec::new();
    delimited(1, &resource_spans, &mut request);
    request
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn reads_what_prost_and_the_conversion_make(request in request()) {
        assert_same(&request.encode_to_vec());
    }

    /// Two encoded spans one after the other are one span to protobuf: the last scalar of
    /// each field wins, lists are joined, the status and repeated values merge.
    #[test]
    fn merges_a_span_given_twice(a in span(), b in span()) {
        let mut merged = a.encode_to_vec();
        merged.extend(b.encode_to_vec());
        assert_same(&request_of_span_bytes(&[merged]));
    }

    /// A span's fields in any order, with unknown fields among them.
    #[test]
    fn reads_fields_in_any_order(span in span(), order in Just(()).prop_perturb(|_, mut rng| rng.random::<u64>())) {
        let mut fields = Vec::new();
        let bytes = span.encode_to_vec();
        let mut rest = bytes.as_slice();
        while !rest.is_empty() {
            let start = rest;
            let (tag, wire_type) = decode_key(&mut rest).unwrap();
            skip_field(wire_type, tag, &mut rest, DecodeContext::default()).unwrap();
            fields.push(start[..start.len() - rest.len()].to_vec());
        }
        // Unknown fields of each wire type, and an empty group.
        let mut unknown = Vec::new();
        encode_key(90, WireType::Varint, &mut unknown);
        encode_varint(7, &mut unknown);
        delimited(91, b"xyz", &mut unknown);
        encode_key(92, WireType::StartGroup, &mut unknown);
        encode_key(92, WireType::EndGroup, &mut unknown);
        fields.push(unknown);
        let n = fields.len();
        for i in 0..n {
            let j = ((order >> (i % 60)) as usize + i) % n;
            fields.swap(i, j);
        }
        assert_same(&request_of_span_bytes(&[fields.concat()]));
    }

    /// Damaged requests: refused by both, or read the same by both.
    #[test]
    fn refuses_what_prost_refuses(request in request(), at in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<bool>()) {
        let mut bytes = request.encode_to_vec();
        if !bytes.is_empty() {
            let at = at.index(bytes.len());
            if cut {
                bytes.truncate(at);
            } else {
                bytes[at] = byte;
            }
        }
        assert_same(&bytes);
    }

    #[test]
    fn refuses_arbitrary_bytes_as_prost_does(bytes in vec(any::<u8>(), 0..64)) {
        assert_same(&bytes);
    }
}

#[test]
fn the_resource_is_read_before_the_spans_wherever_it_is() {
    let resource = ProtoResource {
        attributes: vec![ProtoKeyValue {
            key: "no.value".into(),
            value: None,
            ..Default::default()
        }],
        dropped_attributes_count: 2,
        ..Default::default()
    };
    let span_with_note = Span {
        trace_id: vec![1; 16].into(),
        span_id: vec![2; 8].into(),
        name: "op".into(),
        start_time_unix_nano: 1,
        end_time_unix_nano: 2,
        attributes: vec![ProtoKeyValue {
            key: "also.no.value".into(),
            value: None,
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut scope_spans = Vec::new();
    delimited(2, &span_with_note.encode_to_vec(), &mut scope_spans);
    let mut resource_spans = Vec::new();
    delimited(2, &scope_spans, &mut resource_spans);
    delimited(1, &resource.encode_to_vec(), &mut resource_spans);
    let mut request = Vec::new();
    delimited(1, &resource_spans, &mut request);
    assert_same(&request);
    let conversion = read_request_for_translation(&request).unwrap();
    assert_eq!(conversion.notes.len(), 3, "{:?}", conversion.notes);
    assert!(conversion.notes[0].location.contains("resource"));
    assert!(conversion.notes[2].location.contains("spans[0]"));
}

#[test]
fn a_span_rejected_early_still_has_its_attributes_checked() {
    let mut span = Vec::new();
    // No trace ID: the span is rejected before its attributes are read.
    let mut kv = Vec::new();
    delimited(1, &[0xff, 0xfe], &mut kv); // a key that is not UTF-8
    delimited(SPAN_ATTRIBUTES, &kv, &mut span);
    let request = request_of_span_bytes(&[span]);
    assert_eq!(via_prost(&request), Err(()));
    assert!(read_request_for_translation(&request)
        .unwrap_err()
        .to_string()
        .contains("UTF-8"));
}

#[test]
fn errors_name_the_field() {
    let mut span = Vec::new();
    encode_key(5, WireType::Varint, &mut span);
    encode_varint(1, &mut span);
    let e = read_request_for_translation(&request_of_span_bytes(&[span])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "failed to decode Protobuf message: Span.name: invalid wire type: Varint (expected LengthDelimited)"
    );
}
