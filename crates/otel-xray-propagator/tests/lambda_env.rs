//! The default Lambda header source reads `_X_AMZN_TRACE_ID` (its own test binary:
//! it is the only test that changes the process environment).

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{TraceContextExt, TraceId};
use opentelemetry::Context;
use otel_xray_propagator::{XrayLambdaPropagator, LAMBDA_TRACE_HEADER_ENV};

#[test]
fn reads_the_lambda_environment_variable_per_extract() {
    let p = XrayLambdaPropagator::default();
    let none: HashMap<String, String> = HashMap::new();
    std::env::remove_var(LAMBDA_TRACE_HEADER_ENV);
    assert!(!p
        .extract_with_context(&Context::new(), &none)
        .has_active_span());
    std::env::set_var(
        LAMBDA_TRACE_HEADER_ENV,
        "Root=1-6759e988-bd862e3fe1be46a994272793;Parent=1111111111111111;Sampled=1",
    );
    let cx = p.extract_with_context(&Context::new(), &none);
    assert_eq!(
        cx.span().span_context().trace_id(),
        TraceId::from_hex("6759e988bd862e3fe1be46a994272793").unwrap()
    );
    std::env::remove_var(LAMBDA_TRACE_HEADER_ENV);
}
