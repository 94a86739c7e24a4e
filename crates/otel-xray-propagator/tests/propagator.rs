//! XrayPropagator extract / inject over carriers and in composites.

use std::collections::HashMap;

use opentelemetry::propagation::{
    Extractor, Injector, TextMapCompositePropagator, TextMapPropagator,
};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::Context;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use otel_xray_id::{is_synthetic_parent, synthetic_parent_span_id};
use otel_xray_propagator::{
    lineage, sampling_deferred, AnyCaseMap, PropagatorStats, XrayPropagator, TRACE_HEADER_NAME,
};

const ROOT: &str = "1-5759e988-bd862e3fe1be46a994272793";
const TRACE_HEX: &str = "5759e988bd862e3fe1be46a994272793";
const PARENT: &str = "53995c3f42cd8ad8";

fn trace_id() -> TraceId {
    TraceId::from_hex(TRACE_HEX).unwrap()
}

fn carrier(value: &str) -> HashMap<String, String> {
    HashMap::from([("x-amzn-trace-id".to_string(), value.to_string())])
}

fn extract(value: &str) -> Context {
    XrayPropagator::default().extract_with_context(&Context::new(), &carrier(value))
}

fn inject(cx: &Context) -> Option<String> {
    let mut out = HashMap::new();
    XrayPropagator::default().inject_context(cx, &mut out);
    assert!(out.len() <= 1);
    out.remove("x-amzn-trace-id")
}

/// Case-sensitive, exact-key carrier (like a gRPC metadata view or a custom map).
struct ExactCarrier(Vec<(String, String)>);

impl Extractor for ExactCarrier {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(k, _)| k.as_str()).collect()
    }
}

#[test]
fn sampled_not_sampled_and_deferred_flags() {
    for (sampled, flags, deferred) in [
        (";Sampled=1", TraceFlags::SAMPLED, false),
        (";Sampled=0", TraceFlags::default(), false),
        (";Sampled=?", TraceFlags::default(), true),
        ("", TraceFlags::default(), true),
    ] {
        let cx = extract(&format!("Root={ROOT};Parent={PARENT}{sampled}"));
        let span = cx.span();
        let sc = span.span_context();
        assert!(sc.is_valid() && sc.is_remote());
        assert_eq!(sc.trace_id(), trace_id());
        assert_eq!(sc.span_id().to_string(), PARENT);
        assert_eq!(sc.trace_flags(), flags, "{sampled}");
        assert_eq!(sampling_deferred(&cx), deferred, "{sampled}");
    }
}

#[test]
fn header_name_any_casing() {
    let value = format!("Root={ROOT};Parent={PARENT};Sampled=1");
    let p = XrayPropagator::default();
    for name in [
        "X-Amzn-Trace-Id",
        "x-amzn-trace-id",
        "X-AMZN-TRACE-ID",
        "x-Amzn-trace-ID",
    ] {
        let exact = ExactCarrier(vec![
            ("other".into(), "x".into()),
            (name.into(), value.clone()),
        ]);
        let cx = p.extract_with_context(&Context::new(), &exact);
        assert!(cx.span().span_context().is_sampled(), "{name}");
        let map = HashMap::from([(name.to_string(), value.clone())]);
        let cx = p.extract_with_context(&Context::new(), &AnyCaseMap(&map));
        assert!(cx.span().span_context().is_sampled(), "AnyCaseMap {name}");
    }
    // HashMap's own Extractor finds the lower-case key that its Injector writes.
    let cx = p.extract_with_context(&Context::new(), &carrier(&value));
    assert!(cx.span().span_context().is_sampled());
}

#[test]
fn garbage_leaves_context_unchanged() {
    let p = XrayPropagator::default();
    let prior = SpanContext::new(
        TraceId::from_bytes([7; 16]),
        SpanId::from_bytes([9; 8]),
        TraceFlags::SAMPLED,
        true,
        TraceState::NONE,
    );
    let base = Context::new().with_remote_span_context(prior.clone());
    for bad in [
        "",
        "garbage",
        "Root=1-xyz;Parent=53995c3f42cd8ad8;Sampled=1",
        "Parent=53995c3f42cd8ad8;Sampled=1",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=0000000000000000",
        "\u{0}\u{ff}=;;==",
    ] {
        let cx = p.extract_with_context(&base, &carrier(bad));
        assert_eq!(cx.span().span_context(), &prior, "{bad:?}");
        let cx = p.extract_with_context(&Context::new(), &carrier(bad));
        assert!(!cx.has_active_span(), "{bad:?}");
    }
    let stats = p.stats();
    assert_eq!(
        stats,
        PropagatorStats {
            rejected_missing_root: 2 * 4,
            rejected_invalid_root: 2,
            rejected_invalid_parent: 2,
            ..PropagatorStats::default()
        }
    );
    // No header at all is not a rejection.
    p.extract_with_context(&Context::new(), &HashMap::<String, String>::new());
    assert_eq!(p.stats(), stats);
}

#[test]
fn root_only_continues_the_trace_with_the_synthetic_parent() {
    for (header, sampled, deferred) in [
        (format!("Root={ROOT}"), false, true),
        (format!("Root={ROOT};Sampled=1"), true, false),
        (format!("Root={ROOT};Sampled=0"), false, false),
    ] {
        let cx = extract(&header);
        let span = cx.span();
        let sc = span.span_context();
        assert!(sc.is_valid() && sc.is_remote());
        assert_eq!(sc.trace_id(), trace_id());
        assert_eq!(sc.span_id(), synthetic_parent_span_id(trace_id()));
        assert!(is_synthetic_parent(sc.trace_id(), sc.span_id()));
        assert_eq!(sc.is_sampled(), sampled);
        assert_eq!(sampling_deferred(&cx), deferred);
        // A pass-through proxy forwards it as Root-only (no invented Parent).
        let want = match (sampled, deferred) {
            (true, _) => format!("Root={ROOT};Sampled=1"),
            (false, true) => format!("Root={ROOT};Sampled=?"),
            (false, false) => format!("Root={ROOT};Sampled=0"),
        };
        assert_eq!(inject(&cx).unwrap(), want);
    }
}

#[test]
fn inject_format_and_invalid_context() {
    let sc = |flags| {
        SpanContext::new(
            trace_id(),
            SpanId::from_hex(PARENT).unwrap(),
            flags,
            false,
            TraceState::from_key_value([("congo", "t61rcWkgMzE")]).unwrap(),
        )
    };
    let cx = Context::new().with_remote_span_context(sc(TraceFlags::SAMPLED));
    assert_eq!(
        inject(&cx).unwrap(),
        format!("Root={ROOT};Parent={PARENT};Sampled=1")
    );
    // W3C's random bit (0x02) never turns into Sampled=?.
    let cx = Context::new().with_remote_span_context(sc(TraceFlags::new(0x02)));
    assert_eq!(
        inject(&cx).unwrap(),
        format!("Root={ROOT};Parent={PARENT};Sampled=0")
    );
    let cx = Context::new().with_remote_span_context(sc(TraceFlags::new(0x03)));
    assert_eq!(
        inject(&cx).unwrap(),
        format!("Root={ROOT};Parent={PARENT};Sampled=1")
    );
    assert_eq!(inject(&Context::new()), None);
    let invalid = SpanContext::new(
        TraceId::INVALID,
        SpanId::from_hex(PARENT).unwrap(),
        TraceFlags::SAMPLED,
        true,
        TraceState::NONE,
    );
    assert_eq!(
        inject(&Context::new().with_remote_span_context(invalid)),
        None
    );
}

#[test]
fn fields_lists_exactly_what_inject_writes() {
    struct Keys(Vec<String>);
    impl Injector for Keys {
        fn set(&mut self, key: &str, _: String) {
            self.0.push(key.to_string());
        }
    }
    let p = XrayPropagator::default();
    let cx = extract(&format!(
        "Root={ROOT};Parent={PARENT};Sampled=1;Lineage=1:a87bd80c:1"
    ));
    let mut keys = Keys(Vec::new());
    p.inject_context(&cx, &mut keys);
    let fields: Vec<&str> = p.fields().collect();
    assert_eq!(fields, vec![TRACE_HEADER_NAME]);
    assert_eq!(keys.0, vec![TRACE_HEADER_NAME.to_string()]);
}

#[test]
fn lineage_and_deferred_survive_extract_to_inject() {
    let incoming = format!("Root={ROOT};Parent={PARENT};Lineage=12:a87bd80c:3;Self=1-aa-bb");
    let cx = extract(&incoming);
    assert_eq!(lineage(&cx).unwrap().as_str(), "12:a87bd80c:3");
    assert_eq!(
        inject(&cx).unwrap(),
        format!("Root={ROOT};Parent={PARENT};Sampled=?;Lineage=12:a87bd80c:3")
    );
    // Lineage of another trace is not attached to an unrelated span.
    let other = SpanContext::new(
        TraceId::from_bytes([1; 16]),
        SpanId::from_bytes([2; 8]),
        TraceFlags::SAMPLED,
        false,
        TraceState::NONE,
    );
    let unrelated = cx.with_remote_span_context(other);
    assert_eq!(lineage(&unrelated), None);
    assert!(!inject(&unrelated).unwrap().contains("Lineage"));
}

#[test]
fn a_later_definite_header_clears_an_earlier_deferred_marker() {
    let p = XrayPropagator::default();
    let deferred = p.extract_with_context(
        &Context::new(),
        &carrier(&format!(
            "Root={ROOT};Parent={PARENT};Sampled=?;Lineage=1:a87bd80c:1"
        )),
    );
    assert!(sampling_deferred(&deferred));
    let decided = p.extract_with_context(
        &deferred,
        &carrier(&format!("Root={ROOT};Parent={PARENT};Sampled=0")),
    );
    assert!(!sampling_deferred(&decided));
    assert_eq!(lineage(&decided), None);
    assert_eq!(
        inject(&decided).unwrap(),
        format!("Root={ROOT};Parent={PARENT};Sampled=0")
    );
}

const TRACEPARENT: &str = "00-5759e988bd862e3fe1be46a994272793-1111111111111111-01";
const W3C_OTHER: &str = "00-0af7651916cd43dd8448eb211c80319c-2222222222222222-01";

fn both_headers(traceparent: &str, xray: &str) -> HashMap<String, String> {
    HashMap::from([
        ("traceparent".to_string(), traceparent.to_string()),
        (
            "tracestate".to_string(),
            "congo=t61rcWkgMzE,rojo=00f067aa".to_string(),
        ),
        ("x-amzn-trace-id".to_string(), xray.to_string()),
    ])
}

#[test]
fn composite_w3c_then_xray() {
    let composite = TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(XrayPropagator::default()),
    ]);
    // Same trace: X-Ray (last) sets the span, W3C trace state is kept.
    let xray = format!("Root={ROOT};Parent={PARENT};Sampled=?");
    let cx = composite.extract_with_context(&Context::new(), &both_headers(TRACEPARENT, &xray));
    let span = cx.span();
    assert_eq!(span.span_context().span_id().to_string(), PARENT);
    assert_eq!(
        span.span_context().trace_state().get("congo"),
        Some("t61rcWkgMzE")
    );
    assert!(sampling_deferred(&cx));
    // Inject writes both; tracestate never leaks into the X-Ray header.
    let mut out = HashMap::new();
    composite.inject_context(&cx, &mut out);
    assert_eq!(out["x-amzn-trace-id"], xray);
    assert_eq!(out["tracestate"], "congo=t61rcWkgMzE,rojo=00f067aa");
    assert!(out["traceparent"].starts_with("00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-"));
    // Different trace: the X-Ray header wins, the other trace's state is not kept.
    let cx = composite.extract_with_context(&Context::new(), &both_headers(W3C_OTHER, &xray));
    assert_eq!(cx.span().span_context().trace_id(), trace_id());
    assert_eq!(cx.span().span_context().trace_state().header(), "");
    // Bad X-Ray header: the W3C context stands.
    let cx = composite.extract_with_context(&Context::new(), &both_headers(W3C_OTHER, "Root=bad"));
    assert_eq!(
        cx.span().span_context().trace_id(),
        TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap()
    );
}

#[test]
fn composite_xray_then_w3c() {
    let composite = TextMapCompositePropagator::new(vec![
        Box::new(XrayPropagator::default()),
        Box::new(TraceContextPropagator::new()),
    ]);
    let xray = format!("Root={ROOT};Parent={PARENT};Sampled=?");
    let cx = composite.extract_with_context(&Context::new(), &both_headers(TRACEPARENT, &xray));
    let span = cx.span();
    let sc = span.span_context();
    // W3C (last) wins and carries a decision, so nothing is deferred any more.
    assert_eq!(sc.span_id().to_string(), "1111111111111111");
    assert!(sc.is_sampled());
    assert!(!sampling_deferred(&cx));
    let mut out = HashMap::new();
    composite.inject_context(&cx, &mut out);
    assert_eq!(
        out["x-amzn-trace-id"],
        format!("Root={ROOT};Parent=1111111111111111;Sampled=1")
    );
    // No W3C headers: X-Ray's context stands.
    let cx = composite.extract_with_context(&Context::new(), &carrier(&xray));
    assert!(sampling_deferred(&cx));
}
