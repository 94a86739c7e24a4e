//! Property tests: inject∘extract is the identity on valid contexts; hostile input
//! never panics.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::Context;
use otel_xray_id::XrayTraceId;
use otel_xray_propagator::{
    sampling_deferred, Lineage, Sampling, TraceHeader, XrayPropagator, MAX_HEADER_LEN,
};
use proptest::prelude::*;

fn header_strategy() -> impl Strategy<Value = TraceHeader> {
    (
        any::<u128>().prop_filter("non-zero", |v| *v != 0),
        proptest::option::of(any::<u64>().prop_filter("non-zero", |v| *v != 0)),
        prop_oneof![
            Just(Sampling::Sampled),
            Just(Sampling::NotSampled),
            Just(Sampling::Deferred)
        ],
        proptest::option::of((0u16..=32767, any::<u32>(), any::<u8>())),
    )
        .prop_map(|(trace, parent, sampling, lineage)| TraceHeader {
            root: XrayTraceId::from_trace_id(TraceId::from_bytes(trace.to_be_bytes())).unwrap(),
            parent: parent.map(|p| SpanId::from_bytes(p.to_be_bytes())),
            sampling,
            lineage: lineage
                .map(|(a, h, b)| format!("{a}:{h:08x}:{b}").parse::<Lineage>().unwrap()),
        })
}

fn carrier(value: &str) -> HashMap<String, String> {
    HashMap::from([("x-amzn-trace-id".to_string(), value.to_string())])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn header_parse_format_round_trip(h in header_strategy()) {
        let text = h.to_string();
        prop_assert!(text.len() <= 256);
        prop_assert_eq!(TraceHeader::parse(&text), Ok(h));
    }

    /// A canonical header survives extract then inject unchanged.
    #[test]
    fn inject_after_extract_is_identity_on_headers(h in header_strategy()) {
        let p = XrayPropagator::default();
        let text = h.to_string();
        let cx = p.extract_with_context(&Context::new(), &carrier(&text));
        let mut out = HashMap::new();
        p.inject_context(&cx, &mut out);
        prop_assert_eq!(out.get("x-amzn-trace-id"), Some(&text));
    }

    /// A valid span context survives inject then extract (as a remote context).
    #[test]
    fn extract_after_inject_is_identity_on_contexts(
        trace in any::<u128>().prop_filter("non-zero", |v| *v != 0),
        span in any::<u64>().prop_filter("non-zero", |v| *v != 0),
        sampled in any::<bool>(),
        remote in any::<bool>(),
    ) {
        let flags = if sampled { TraceFlags::SAMPLED } else { TraceFlags::default() };
        let sc = SpanContext::new(
            TraceId::from_bytes(trace.to_be_bytes()),
            SpanId::from_bytes(span.to_be_bytes()),
            flags,
            remote,
            TraceState::NONE,
        );
        let p = XrayPropagator::default();
        let mut out = HashMap::new();
        p.inject_context(&Context::new().with_remote_span_context(sc.clone()), &mut out);
        let cx = p.extract_with_context(&Context::new(), &out);
        let back = cx.span().span_context().clone();
        prop_assert_eq!(back.trace_id(), sc.trace_id());
        prop_assert_eq!(back.span_id(), sc.span_id());
        prop_assert_eq!(back.trace_flags(), sc.trace_flags());
        prop_assert!(back.is_remote());
        prop_assert!(!sampling_deferred(&cx));
    }

    /// Reordering, spacing, case of keys and extra junk parts change nothing.
    #[test]
    fn noise_does_not_change_the_result(
        h in header_strategy(),
        order in Just(()).prop_perturb(|_, mut rng| {
            let mut v: Vec<usize> = (0..6).collect();
            for i in (1..v.len()).rev() {
                let j = (rng.next_u32() as usize) % (i + 1);
                v.swap(i, j);
            }
            v
        }),
        pad in "[ \t]{0,2}",
        junk in "[A-Za-z_]{1,6}=[ -:<-~]{0,10}",
        upper in any::<bool>(),
    ) {
        let text = h.to_string();
        let mut parts: Vec<String> = text.split(';').map(|p| {
            let (k, v) = p.split_once('=').unwrap();
            let k = if upper { k.to_ascii_uppercase() } else { k.to_string() };
            format!("{pad}{k}{pad}={pad}{v}{pad}")
        }).collect();
        let junk_key = junk.split('=').next().unwrap().to_ascii_lowercase();
        if !["root", "parent", "sampled", "lineage"].contains(&junk_key.as_str()) {
            parts.push(junk.clone());
        }
        parts.push(String::new());
        parts.push("noequals".into());
        let mut shuffled = Vec::new();
        for i in order {
            if let Some(p) = parts.get(i) {
                shuffled.push(p.clone());
            }
        }
        for p in parts.iter().skip(6) {
            shuffled.push(p.clone());
        }
        let noisy = shuffled.join(";");
        prop_assert_eq!(TraceHeader::parse(&noisy), Ok(h), "{}", noisy);
    }

    #[test]
    fn parse_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2 * MAX_HEADER_LEN)) {
        let _ = TraceHeader::parse_bytes(&bytes);
        let _ = TraceHeader::parse_with_report(&bytes);
    }

    #[test]
    fn extract_never_panics_on_near_miss_text(
        s in "(([RrPpSsLl][a-z]{0,6}|[ -~]{0,4})[ ]?=[ ]?[0-9a-fA-F:?=+-]{0,40};?){0,8}"
    ) {
        let p = XrayPropagator::default();
        let cx = p.extract_with_context(&Context::new(), &carrier(&s));
        // Whatever came in, what goes out is canonical or nothing.
        let mut out = HashMap::new();
        p.inject_context(&cx, &mut out);
        if let Some(v) = out.get("x-amzn-trace-id") {
            let reparsed = TraceHeader::parse(v).map(|h| h.to_string());
            prop_assert_eq!(reparsed.as_ref(), Ok(v));
        }
    }
}
