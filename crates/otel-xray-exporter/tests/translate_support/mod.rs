//! Span builders and a translate-and-validate helper shared by the tests.
#![allow(dead_code)]

use std::time::{Duration, SystemTime};

use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, SpanKind, TraceFlags, TraceId, TraceState,
};
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::SpanData;
use opentelemetry_sdk::Resource;
use otel_xray_exporter::{Translator, TranslatorConfig};
use otel_xray_testkit::spans::finished_span;
use serde_json::Value;

pub const TRACE: &str = "6553f1000123456789abcdef01234567";
pub const SPAN: &str = "53995c3f42cd8ad8";
pub const PARENT: &str = "1a2b3c4d5e6f7081";

pub fn start() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456)
}

pub fn span(kind: SpanKind, parent: Option<&str>) -> SpanData {
    let mut s = finished_span(
        TraceId::from_hex(TRACE).unwrap(),
        SpanId::from_hex(SPAN).unwrap(),
        kind,
        "operation",
        start(),
        start() + Duration::from_micros(215_000),
    );
    s.parent_span_id = parent.map_or(SpanId::INVALID, |p| SpanId::from_hex(p).unwrap());
    s
}

pub fn with(mut s: SpanData, attrs: Vec<KeyValue>) -> SpanData {
    s.attributes.extend(attrs);
    s
}

pub fn event(name: &'static str, attrs: Vec<KeyValue>) -> Event {
    Event::new(name, start() + Duration::from_millis(5), attrs, 0)
}

pub fn add_event(s: &mut SpanData, e: Event) {
    s.events.events.push(e);
}

pub fn add_link(s: &mut SpanData, trace: &str, span: &str, attrs: Vec<KeyValue>) {
    let ctx = SpanContext::new(
        TraceId::from_hex(trace).unwrap(),
        SpanId::from_hex(span).unwrap(),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    s.links.links.push(Link::new(ctx, attrs, 0));
}

pub fn resource(attrs: Vec<KeyValue>) -> Resource {
    Resource::builder_empty().with_attributes(attrs).build()
}

pub fn empty_resource() -> Resource {
    Resource::builder_empty().build()
}

/// Translates with `config`, checks the schema and the size limit, returns the JSON.
pub fn translate_with(config: TranslatorConfig, s: &SpanData, r: &Resource) -> Value {
    let t = Translator::new(config);
    translate_by(&t, s, r)
}

pub fn translate_by(t: &Translator, s: &SpanData, r: &Resource) -> Value {
    let json = t.translate_json(s, r).expect("translates");
    assert!(
        json.len() <= t.config().max_document_bytes(),
        "{} bytes",
        json.len()
    );
    let doc: Value = serde_json::from_str(&json).expect("valid JSON");
    otel_xray_testkit::assert_segment_valid(&doc);
    doc
}

pub fn translate(s: &SpanData, r: &Resource) -> Value {
    translate_with(TranslatorConfig::default(), s, r)
}

/// A string-list attribute value.
pub fn strs(items: &[&'static str]) -> opentelemetry::Value {
    opentelemetry::Value::Array(opentelemetry::Array::String(
        items
            .iter()
            .map(|s| opentelemetry::StringValue::from(*s))
            .collect(),
    ))
}
