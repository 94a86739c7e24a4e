//! XrayLambdaPropagator: carrier first, then the Lambda header; Sampled=0 policy.

use std::collections::HashMap;

use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
use opentelemetry::trace::{TraceContextExt, TraceId};
use opentelemetry::Context;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use otel_xray_propagator::{
    sampling_deferred, LambdaStats, UnsampledLambdaHeader, XrayLambdaPropagator,
};

const CARRIER_HEADER: &str =
    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
const CARRIER_TRACE: &str = "5759e988bd862e3fe1be46a994272793";
const ENV_TRACE: &str = "6759e988bd862e3fe1be46a994272793";

fn env_sampled() -> Option<String> {
    Some("Root=1-6759e988-bd862e3fe1be46a994272793;Parent=1111111111111111;Sampled=1".into())
}
fn env_unsampled() -> Option<String> {
    Some("Root=1-6759e988-bd862e3fe1be46a994272793;Parent=1111111111111111;Sampled=0".into())
}
fn env_unset() -> Option<String> {
    None
}
fn env_empty() -> Option<String> {
    Some(String::new())
}
fn env_garbage() -> Option<String> {
    Some("Root=nope".into())
}

fn trace(cx: &Context) -> TraceId {
    cx.span().span_context().trace_id()
}

fn xray_carrier() -> HashMap<String, String> {
    HashMap::from([("x-amzn-trace-id".into(), CARRIER_HEADER.into())])
}

#[test]
fn carrier_wins_over_environment() {
    let p = XrayLambdaPropagator::default().with_lambda_header_source(env_sampled);
    let cx = p.extract_with_context(&Context::new(), &xray_carrier());
    assert_eq!(trace(&cx), TraceId::from_hex(CARRIER_TRACE).unwrap());
    assert_eq!(p.lambda_stats().used, 0);
}

#[test]
fn environment_used_without_a_valid_carrier_header() {
    let p = XrayLambdaPropagator::default().with_lambda_header_source(env_sampled);
    for carrier in [
        HashMap::new(),
        HashMap::from([("x-amzn-trace-id".to_string(), "garbage".to_string())]),
    ] {
        let cx = p.extract_with_context(&Context::new(), &carrier);
        assert_eq!(trace(&cx), TraceId::from_hex(ENV_TRACE).unwrap());
        assert!(cx.span().span_context().is_remote());
        assert!(cx.span().span_context().is_sampled());
    }
    assert_eq!(p.lambda_stats().used, 2);
    assert_eq!(p.xray().stats().rejected_missing_root, 1);
}

#[test]
fn unset_empty_or_invalid_environment_leaves_the_context() {
    for source in [env_unset as fn() -> Option<String>, env_empty, env_garbage] {
        let p = XrayLambdaPropagator::default().with_lambda_header_source(source);
        let cx = p.extract_with_context(&Context::new(), &HashMap::<String, String>::new());
        assert!(!cx.has_active_span());
        assert_eq!(p.lambda_stats(), LambdaStats::default());
    }
}

#[test]
fn explicit_lambda_header_for_managed_instances() {
    let p = XrayLambdaPropagator::default().with_lambda_header_source(env_unset);
    let from_runtime = "Root=1-7759e988-bd862e3fe1be46a994272793;Parent=2222222222222222;Sampled=1";
    let none: HashMap<String, String> = HashMap::new();
    let cx = p.extract_with_lambda_header(&Context::new(), &none, Some(from_runtime));
    assert_eq!(
        trace(&cx),
        TraceId::from_hex("7759e988bd862e3fe1be46a994272793").unwrap()
    );
    // The explicit header takes the variable's place; the carrier still wins.
    let p = XrayLambdaPropagator::default().with_lambda_header_source(env_sampled);
    let cx = p.extract_with_lambda_header(&Context::new(), &none, Some(from_runtime));
    assert_eq!(
        trace(&cx),
        TraceId::from_hex("7759e988bd862e3fe1be46a994272793").unwrap()
    );
    let cx = p.extract_with_lambda_header(&Context::new(), &xray_carrier(), Some(from_runtime));
    assert_eq!(trace(&cx), TraceId::from_hex(CARRIER_TRACE).unwrap());
    // Empty explicit header falls back to the variable.
    let cx = p.extract_with_lambda_header(&Context::new(), &none, Some(""));
    assert_eq!(trace(&cx), TraceId::from_hex(ENV_TRACE).unwrap());
}

#[test]
fn w3c_context_from_an_earlier_propagator_wins() {
    let composite = TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(XrayLambdaPropagator::default().with_lambda_header_source(env_unsampled)),
    ]);
    let carrier = HashMap::from([(
        "traceparent".to_string(),
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_string(),
    )]);
    let cx = composite.extract_with_context(&Context::new(), &carrier);
    assert_eq!(
        trace(&cx),
        TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap()
    );
    assert!(cx.span().span_context().is_sampled());
}

#[test]
fn sampled_zero_from_lambda_policies() {
    let none: HashMap<String, String> = HashMap::new();
    let base = XrayLambdaPropagator::default().with_lambda_header_source(env_unsampled);

    let cx = base.extract_with_context(&Context::new(), &none);
    assert_eq!(trace(&cx), TraceId::from_hex(ENV_TRACE).unwrap());
    assert!(!cx.span().span_context().is_sampled());
    assert!(!sampling_deferred(&cx), "Honour is the default");

    let defer = base
        .clone()
        .with_unsampled_lambda_header(UnsampledLambdaHeader::Defer);
    let cx = defer.extract_with_context(&Context::new(), &none);
    assert_eq!(trace(&cx), TraceId::from_hex(ENV_TRACE).unwrap());
    assert!(sampling_deferred(&cx));

    let ignore = XrayLambdaPropagator::default()
        .with_lambda_header_source(env_unsampled)
        .with_unsampled_lambda_header(UnsampledLambdaHeader::Ignore);
    let cx = ignore.extract_with_context(&Context::new(), &none);
    assert!(!cx.has_active_span());
    assert_eq!(
        ignore.lambda_stats(),
        LambdaStats {
            used: 0,
            ignored_unsampled: 1
        }
    );

    // The policy applies to the Lambda header only, never to the carrier.
    let carrier = HashMap::from([(
        "x-amzn-trace-id".to_string(),
        CARRIER_HEADER.replace("Sampled=1", "Sampled=0"),
    )]);
    let cx = defer.extract_with_context(&Context::new(), &carrier);
    assert_eq!(trace(&cx), TraceId::from_hex(CARRIER_TRACE).unwrap());
    assert!(!sampling_deferred(&cx));
}

#[test]
fn inject_and_fields_match_xray() {
    let p = XrayLambdaPropagator::default().with_lambda_header_source(env_unset);
    let cx = p.extract_with_context(&Context::new(), &xray_carrier());
    let mut out = HashMap::new();
    p.inject_context(&cx, &mut out);
    assert_eq!(out["x-amzn-trace-id"], CARRIER_HEADER);
    assert_eq!(p.fields().collect::<Vec<_>>(), vec!["X-Amzn-Trace-Id"]);
}

#[test]
fn specification_precedence_lets_lambda_win_over_the_carrier() {
    use otel_xray_propagator::LambdaHeaderPrecedence;
    let p = XrayLambdaPropagator::default()
        .with_lambda_header_source(env_sampled)
        .with_precedence(LambdaHeaderPrecedence::Specification);
    let cx = p.extract_with_context(&Context::new(), &xray_carrier());
    assert_eq!(trace(&cx), TraceId::from_hex(ENV_TRACE).unwrap());
    // ... but not over a context an earlier propagator already found.
    let composite =
        TextMapCompositePropagator::new(vec![Box::new(TraceContextPropagator::new()), Box::new(p)]);
    let carrier = HashMap::from([(
        "traceparent".to_string(),
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_string(),
    )]);
    let cx = composite.extract_with_context(&Context::new(), &carrier);
    assert_eq!(
        trace(&cx),
        TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap()
    );
    // Without a Lambda header, the carrier is used.
    let p = XrayLambdaPropagator::default()
        .with_lambda_header_source(env_unset)
        .with_precedence(LambdaHeaderPrecedence::Specification);
    let cx = p.extract_with_context(&Context::new(), &xray_carrier());
    assert_eq!(trace(&cx), TraceId::from_hex(CARRIER_TRACE).unwrap());
}
