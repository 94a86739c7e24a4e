//! The sampler as the root of `ParentBased`, and on its own for deferred (`Sampled=?`) parents.

use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, TraceContextExt, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{Sampler, SamplingDecision, ShouldSample};
use opentelemetry_sdk::Resource;
use otel_xray_sampler::{SamplingRule, XrayRemoteSampler};

/// X-Ray propagator's "decision deferred" flag (`Sampled=?`).
const DEFERRED: TraceFlags = TraceFlags::new(0x02);

fn sampler() -> XrayRemoteSampler {
    let resource = Resource::builder_empty()
        .with_service_name("checkout")
        .build();
    XrayRemoteSampler::from_rules(
        &resource,
        vec![
            SamplingRule::new("keep-post", 1, 1.0, 0).with_http_method("POST"),
            SamplingRule::new("Default", 10_000, 0.0, 0),
        ],
    )
    .expect("valid rules")
}

fn parent(flags: TraceFlags) -> Context {
    let state = TraceState::from_key_value([("self", "1-abc")]).expect("valid trace state");
    Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from(0x1234u128),
        SpanId::from(0x99u64),
        flags,
        true,
        state,
    ))
}

fn decide(s: &dyn ShouldSample, cx: Option<&Context>, method: &'static str) -> SamplingDecision {
    let attrs = [KeyValue::new("http.request.method", method)];
    s.should_sample(
        cx,
        TraceId::from(0x1234u128),
        "op",
        &SpanKind::Server,
        &attrs,
        &[],
    )
    .decision
}

#[test]
fn parent_based_follows_parents_and_asks_the_rules_for_roots() {
    let pb = Sampler::ParentBased(Box::new(sampler()));
    use SamplingDecision::{Drop, RecordAndSample};
    assert_eq!(decide(&pb, None, "POST"), RecordAndSample);
    assert_eq!(decide(&pb, None, "GET"), Drop);
    let sampled = parent(TraceFlags::SAMPLED);
    let not_sampled = parent(TraceFlags::default());
    assert_eq!(decide(&pb, Some(&sampled), "GET"), RecordAndSample);
    assert_eq!(decide(&pb, Some(&not_sampled), "POST"), Drop);
}

#[test]
fn the_sampler_itself_ignores_parent_flags() {
    // This is what the propagator's wrapper relies on for deferred parents.
    let s = sampler();
    use SamplingDecision::{Drop, RecordAndSample};
    for flags in [DEFERRED, TraceFlags::SAMPLED, TraceFlags::default()] {
        let cx = parent(flags);
        assert_eq!(decide(&s, Some(&cx), "POST"), RecordAndSample, "{flags:?}");
        assert_eq!(decide(&s, Some(&cx), "GET"), Drop, "{flags:?}");
    }
}

#[test]
fn trace_state_is_carried_over() {
    let s = sampler();
    let cx = parent(DEFERRED);
    let r = s.should_sample(
        Some(&cx),
        TraceId::from(1u128),
        "op",
        &SpanKind::Server,
        &[],
        &[],
    );
    assert_eq!(r.trace_state.get("self"), Some("1-abc"));
    assert!(r.attributes.is_empty());
    let root = s.should_sample(
        None,
        TraceId::from(1u128),
        "op",
        &SpanKind::Server,
        &[],
        &[],
    );
    assert_eq!(root.trace_state, TraceState::default());
}
