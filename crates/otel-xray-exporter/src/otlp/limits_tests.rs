//! `prepare` on generated batches: every request within the limits, every
//! span accounted for exactly once.

use std::borrow::Cow;
use std::collections::BTreeSet;

use opentelemetry::trace::{
    Event, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};
use opentelemetry_sdk::Resource;
use proptest::prelude::*;

use super::*;

/// (age in seconds, may be negative: ahead; attribute bytes; event bytes; scope)
type SpanSpec = (i64, usize, usize, usize);

fn build(index: usize, spec: SpanSpec, now: SystemTime) -> SpanData {
    let (age, attr_bytes, event_bytes, scope) = spec;
    let start = if age >= 0 {
        now - Duration::from_secs(age.unsigned_abs())
    } else {
        now + Duration::from_secs(age.unsigned_abs())
    };
    let mut events = SpanEvents::default();
    if event_bytes > 0 {
        events.events.push(Event::new(
            "e",
            start,
            vec![KeyValue::new("detail", "d".repeat(event_bytes))],
            0,
        ));
    }
    SpanData {
        span_context: SpanContext::new(
            TraceId::from(1u128),
            SpanId::from(index as u64 + 1),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ),
        parent_span_id: SpanId::INVALID,
        parent_span_is_remote: false,
        span_kind: SpanKind::Internal,
        name: Cow::Owned(format!("s{index}")),
        start_time: start,
        end_time: start + Duration::from_millis(5),
        attributes: vec![
            KeyValue::new("blob", "b".repeat(attr_bytes)),
            KeyValue::new("small", index as i64),
        ],
        dropped_attributes_count: 0,
        events,
        links: SpanLinks::default(),
        status: Status::Unset,
        instrumentation_scope: InstrumentationScope::builder(format!("scope-{scope}"))
            .with_attributes([KeyValue::new("scope.blob", "s".repeat(scope * 3000))])
            .build(),
    }
}

fn span_spec() -> impl Strategy<Value = SpanSpec> {
    (
        prop_oneof![
            8 => 0i64..(3 * 86_400),
            1 => -(3 * 3600)..0i64,
            1 => (13 * 86_400)..(20 * 86_400i64),
        ],
        prop_oneof![4 => 0usize..500, 1 => 500usize..20_000],
        prop_oneof![4 => Just(0usize), 1 => 0usize..12_000],
        0usize..4,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn every_request_fits_and_every_span_is_accounted(
        specs in proptest::collection::vec(span_spec(), 0..120),
        resource_bytes in 0usize..30_000,
        max_spans in 1usize..40,
        max_request_bytes in 30_000usize..120_000,
    ) {
        let now = SystemTime::now();
        let batch: Vec<SpanData> =
            specs.iter().enumerate().map(|(i, s)| build(i, *s, now)).collect();
        let resource = Resource::builder_empty()
            .with_attributes([
                KeyValue::new("service.name", "prop"),
                KeyValue::new("resource.blob", "r".repeat(resource_bytes)),
            ])
            .build();
        let limits = Limits {
            max_spans,
            max_request_bytes,
            max_resource_scope_bytes: 8_000,
            max_span_bytes: 10_000,
        };
        let prepared = prepare(batch, &(&resource).into(), &limits, now);

        let mut names = BTreeSet::new();
        for planned in &prepared.requests {
            prop_assert!(planned.body.len() <= limits.max_request_bytes);
            let request = ExportTraceServiceRequest::decode(&*planned.body).unwrap();
            // The framing around the span bytes is prost's own encoding.
            prop_assert_eq!(&request.encode_to_vec(), &planned.body);
            let mut count = 0u64;
            let (mut earliest, mut latest) = (u64::MAX, 0);
            for rs in &request.resource_spans {
                let resource_len = rs.resource.as_ref().map_or(0, Message::encoded_len);
                for ss in &rs.scope_spans {
                    let scope_len = ss.scope.as_ref().map_or(0, Message::encoded_len);
                    prop_assert!(resource_len + scope_len <= limits.max_resource_scope_bytes);
                    for span in &ss.spans {
                        prop_assert!(span.encoded_len() <= limits.max_span_bytes);
                        earliest = earliest.min(span.start_time_unix_nano);
                        latest = latest.max(span.end_time_unix_nano);
                        prop_assert!(names.insert(span.name.clone()), "{} twice", span.name);
                        count += 1;
                    }
                }
            }
            prop_assert_eq!(count, planned.spans);
            prop_assert!(count as usize <= limits.max_spans);
            prop_assert!(latest - earliest <= MAX_REQUEST_SPREAD.as_nanos() as u64);
        }
        let outside = specs
            .iter()
            .filter(|(age, ..)| {
                *age > MAX_AGE.as_secs() as i64 || *age <= -(MAX_FUTURE.as_secs() as i64)
            })
            .count() as u64;
        prop_assert_eq!(prepared.outside_window, outside);
        prop_assert_eq!(
            names.len() as u64 + prepared.outside_window + prepared.too_large,
            specs.len() as u64
        );
    }
}

/// A span of scope `scope` (with a `scope_bytes` attribute) starting `age`
/// seconds ago.
fn scoped(name: &str, scope: &InstrumentationScope, age: u64, now: SystemTime) -> SpanData {
    let mut span = build(0, (age as i64, 0, 0, 0), now);
    span.name = Cow::Owned(name.to_owned());
    span.instrumentation_scope = scope.clone();
    span
}

fn scope(name: &str, blob: usize) -> InstrumentationScope {
    InstrumentationScope::builder(name.to_owned())
        .with_schema_url(format!("https://schema/{name}"))
        .with_attributes([KeyValue::new("blob", "s".repeat(blob))])
        .build()
}

#[test]
fn body_groups_spans_by_scope_in_start_order() {
    let now = SystemTime::now();
    let (first, second) = (scope("first", 10), scope("second", 10));
    // Interleaved scopes, newest first.
    let batch = vec![
        scoped("a3", &first, 1, now),
        scoped("b2", &second, 2, now),
        scoped("a1", &first, 5, now),
        scoped("b1", &second, 6, now),
        scoped("a2", &first, 3, now),
    ];
    let resource = Resource::builder_empty()
        .with_schema_url(
            [KeyValue::new("service.name", "grouped")],
            "https://schema/r",
        )
        .build();
    let prepared = prepare(batch, &(&resource).into(), &Limits::ENDPOINT, now);

    assert_eq!(prepared.requests.len(), 1);
    assert_eq!(prepared.requests[0].spans, 5);
    assert_eq!(prepared.trimmed, 0);
    let body = &prepared.requests[0].body;
    let request = ExportTraceServiceRequest::decode(&**body).unwrap();
    assert_eq!(&request.encode_to_vec(), body);
    let [rs] = &request.resource_spans[..] else {
        panic!("one ResourceSpans: {request:?}");
    };
    assert_eq!(rs.schema_url, "https://schema/r");
    let resource = rs.resource.as_ref().unwrap();
    assert_eq!(resource.attributes[0].key, "service.name");
    let scopes: Vec<(&str, &str, Vec<&str>)> = rs
        .scope_spans
        .iter()
        .map(|ss| {
            let scope = ss.scope.as_ref().unwrap();
            assert_eq!(scope.attributes[0].key, "blob");
            let names = ss.spans.iter().map(|s| s.name.as_str()).collect();
            (scope.name.as_str(), ss.schema_url.as_str(), names)
        })
        .collect();
    assert_eq!(
        scopes,
        [
            ("first", "https://schema/first", vec!["a1", "a2", "a3"]),
            ("second", "https://schema/second", vec!["b1", "b2"]),
        ]
    );
}

#[test]
fn resource_shortened_for_a_later_scope_counts_every_span_trimmed() {
    let now = SystemTime::now();
    let limits = Limits {
        max_resource_scope_bytes: 8_000,
        ..Limits::ENDPOINT
    };
    // The resource fits beside the small scope, not beside the large one,
    // where it is the larger side and is shortened for both.
    let (small, large) = (scope("small", 10), scope("large", 3_000));
    let batch = vec![
        scoped("s1", &small, 1, now),
        scoped("s2", &small, 2, now),
        scoped("l1", &large, 3, now),
    ];
    let resource = Resource::builder_empty()
        .with_attributes([KeyValue::new("resource.blob", "r".repeat(6_000))])
        .build();
    let prepared = prepare(batch, &(&resource).into(), &limits, now);

    assert_eq!(prepared.trimmed, 3);
    assert_eq!(prepared.too_large + prepared.outside_window, 0);
    let request = ExportTraceServiceRequest::decode(&*prepared.requests[0].body).unwrap();
    let rs = &request.resource_spans[0];
    let resource_len = rs.resource.as_ref().unwrap().encoded_len();
    assert!(resource_len < 6_000);
    for ss in &rs.scope_spans {
        assert!(resource_len + ss.scope.as_ref().unwrap().encoded_len() <= 8_000);
    }
}
