//! `links`: OpenTelemetry span links as `{"trace_id", "id", "attributes"}`.
//!
//! Attributes keep their types (redaction applies). A link whose trace ID is
//! all zeros cannot be written in X-Ray form; it is left out and counted
//! (`links_invalid`) instead of failing the whole span as the collector does.

use opentelemetry_sdk::trace::SpanData;
use otel_xray_id::XrayTraceId;

use crate::segment::{Id, Link, TraceIdText};
use crate::translate_stats::TranslationCounts;
use crate::TranslatorConfig;

/// The links of a span.
pub(crate) fn make_links<'a>(
    span: &'a SpanData,
    config: &TranslatorConfig,
    tally: &mut TranslationCounts,
) -> Vec<Link<'a>> {
    if span.links.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(span.links.len());
    for link in span.links.iter() {
        let ctx = &link.span_context;
        let Some(trace_id) = XrayTraceId::from_trace_id(ctx.trace_id()) else {
            tally.links_invalid += 1;
            continue;
        };
        out.push(Link {
            trace_id: TraceIdText(trace_id.encode()),
            id: Id::from_span_id(ctx.span_id()),
            attributes: link
                .attributes
                .iter()
                .map(|kv| super::metadata::entry(kv, config, tally))
                .collect(),
        });
    }
    out
}
