//! SQS attribute helpers.

use std::collections::HashMap;

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::Context;
use otel_xray_propagator::{sqs, XrayPropagator};

const HEADER: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

/// Stand-in for aws-sdk-sqs's `MessageSystemAttributeName` (an enum with `AsRef<str>`).
#[derive(PartialEq, Eq, Hash)]
enum SystemName {
    AwsTraceHeader,
    SentTimestamp,
}

impl AsRef<str> for SystemName {
    fn as_ref(&self) -> &str {
        match self {
            Self::AwsTraceHeader => "AWSTraceHeader",
            Self::SentTimestamp => "SentTimestamp",
        }
    }
}

#[test]
fn reads_the_system_attribute_from_sdk_shaped_maps() {
    let attrs = HashMap::from([
        (SystemName::SentTimestamp, "1".to_string()),
        (SystemName::AwsTraceHeader, HEADER.to_string()),
    ]);
    assert_eq!(
        sqs::system_attribute(&attrs).map(String::as_str),
        Some(HEADER)
    );
    // Exact name, as SQS matches it.
    let lower = HashMap::from([("awstraceheader".to_string(), HEADER.to_string())]);
    assert_eq!(sqs::system_attribute(&lower), None);
}

#[test]
fn reads_the_message_attribute_any_case() {
    let attrs = vec![("x-amzn-trace-id", HEADER), ("other", "x")];
    assert_eq!(sqs::message_attribute(attrs), Some(HEADER));
    assert_eq!(sqs::message_attribute(vec![("other", "x")]), None);
}

#[test]
fn system_attribute_first_then_message_attribute() {
    let p = XrayPropagator::default();
    let other = "Root=1-6759e988-bd862e3fe1be46a994272793;Parent=1111111111111111;Sampled=0";
    let cx = sqs::extract_message(&p, &Context::new(), Some(HEADER), Some(other));
    assert!(cx.span().span_context().is_sampled());
    let cx = sqs::extract_message(&p, &Context::new(), None, Some(other));
    assert_eq!(
        cx.span().span_context().trace_id(),
        TraceId::from_hex("6759e988bd862e3fe1be46a994272793").unwrap()
    );
    let cx = sqs::extract_message(&p, &Context::new(), Some("bad"), Some("worse"));
    assert!(!cx.has_active_span());
    assert_eq!(p.stats().rejected_missing_root, 2);
}

#[test]
fn value_to_send_matches_inject() {
    let sc = SpanContext::new(
        TraceId::from_hex("5759e988bd862e3fe1be46a994272793").unwrap(),
        SpanId::from_hex("53995c3f42cd8ad8").unwrap(),
        TraceFlags::SAMPLED,
        false,
        TraceState::NONE,
    );
    let cx = Context::new().with_remote_span_context(sc);
    assert_eq!(sqs::trace_header_value(&cx).as_deref(), Some(HEADER));
    assert_eq!(sqs::trace_header_value(&Context::new()), None);
}
