//! OTLP/JSON `ExportTraceServiceRequest` → OpenTelemetry SDK [`SpanData`] + [`Resource`]
//! (moved here from the CLI's `translate`, which now uses it from this crate).
//!
//! This follows the protobuf JSON mapping used by OTLP/HTTP JSON and the collector's file
//! exporter: lowerCamelCase (snake_case also accepted, as proto3 JSON parsers must), trace and
//! span IDs as hex, 64-bit integers as strings or numbers, enums as integers or names, `null`
//! as the default value, unknown fields ignored.
//!
//! The input is walked as a [`serde_json::Value`] rather than through a derived model, so that
//! one malformed span is reported with its JSON path and skipped while every valid span in the
//! same input is still converted.
//!
//! The SDK's attribute model is narrower than OTLP's `AnyValue`. Where a value has no exact
//! counterpart it is converted to a string and the conversion is reported as a [`Note`]:
//! * `kvlistValue` → the JSON object text (`{"k":v,…}`);
//! * arrays whose elements are not all of one scalar type → the JSON array text;
//! * `bytesValue` → its base64 text, unchanged;
//! * an `AnyValue` with no value set → the attribute is left out.

use std::borrow::Cow;

use opentelemetry::trace::{Event, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags};
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use opentelemetry_sdk::Resource;
use serde_json::{Map, Value as Json};

use super::json_attributes::convert_attributes;
use super::json_fields::{
    array_field, as_object, dropped_attributes_count, enum_field, get, span_id_field, string_field,
    time_field, trace_id_field, trace_state_field, u32_field,
};
use super::report::{JsonPath, OtlpResult};
use super::{
    link_flags, span_flags, span_kind, status, uncarried_drops_note, Conversion, Note, OtlpError,
    OtlpErrorKind, ResourceGroup, SPAN_KIND_NAMES, STATUS_CODE_NAMES,
};

/// Converts OTLP/JSON text: one `ExportTraceServiceRequest` (pretty-printed or not), several
/// back to back, or JSON lines as the collector's file exporter writes them.
///
/// JSON lines are recognised by a first line that is a complete JSON value on its own; each
/// line is then read separately, so a syntax error costs only its own line. Otherwise a syntax
/// error ends the input, since nothing after it can be located reliably.
pub fn convert_otlp_json(text: &str) -> Conversion {
    let mut out = Conversion::default();
    if text.trim().is_empty() {
        out.unreadable_requests += 1;
        out.errors.push(OtlpError {
            location: "input".into(),
            kind: OtlpErrorKind::Missing("ExportTraceServiceRequest (the input is empty)"),
        });
        return out;
    }
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next().unwrap_or("");
    let json_lines = lines.next().is_some() && serde_json::from_str::<Json>(first).is_ok();
    if json_lines {
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Json>(line) {
                Ok(doc) => convert_json_request(&doc, &JsonPath::line(n + 1), &mut out),
                Err(e) => {
                    out.unreadable_requests += 1;
                    out.errors.push(OtlpError {
                        location: format!("line {}, column {}", n + 1, e.column()),
                        kind: OtlpErrorKind::Syntax(e.to_string()),
                    });
                }
            }
        }
        return out;
    }
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Json>();
    loop {
        let at = stream.byte_offset();
        let start = at + leading_ws(&text[at..]);
        match stream.next() {
            None => break,
            Some(Ok(doc)) => {
                convert_json_request(&doc, &JsonPath::line(line_of(text, start)), &mut out)
            }
            Some(Err(e)) => {
                out.unreadable_requests += 1;
                out.errors.push(OtlpError {
                    location: format!("line {}, column {}", e.line(), e.column()),
                    kind: OtlpErrorKind::Syntax(e.to_string()),
                });
                break;
            }
        }
    }
    out
}

fn leading_ws(s: &str) -> usize {
    s.len() - s.trim_start().len()
}

fn line_of(text: &str, byte: usize) -> usize {
    text.as_bytes()[..byte.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn convert_json_request(doc: &Json, loc: &JsonPath, out: &mut Conversion) {
    let resource_spans = match as_object(doc, loc)
        .and_then(|o| array_field(o, "resourceSpans", "resource_spans", loc))
    {
        Ok(a) => a,
        Err(e) => {
            out.unreadable_requests += 1;
            return out.errors.push(e);
        }
    };
    let rs_loc = loc.field("resourceSpans");
    for (i, rs) in resource_spans.iter().enumerate() {
        let rs_loc = rs_loc.index(i);
        if let Err(e) = convert_resource_spans(rs, &rs_loc, out) {
            // Raised before any of its spans was converted: all of them are lost.
            out.rejected_spans +=
                spans_in(rs, &[("scopeSpans", "scope_spans"), ("spans", "spans")]);
            out.errors.push(e);
        }
    }
}

fn convert_resource_spans(rs: &Json, loc: &JsonPath, out: &mut Conversion) -> OtlpResult<()> {
    let obj = as_object(rs, loc)?;
    let schema_url = string_field(obj, "schemaUrl", "schema_url", loc)?;
    let mut attributes = Vec::new();
    if let Some(resource) = get(obj, "resource", "resource") {
        let r_loc = loc.field("resource");
        let r_obj = as_object(resource, &r_loc)?;
        attributes = convert_attributes(r_obj, &r_loc, &mut out.notes)?;
        note_uncarried_drops(r_obj, &r_loc, "resource", &mut out.notes)?;
    }
    let builder = Resource::builder_empty();
    let resource = if schema_url.is_empty() {
        builder.with_attributes(attributes).build()
    } else {
        builder.with_schema_url(attributes, schema_url).build()
    };
    let mut spans = Vec::new();
    let ss_loc = loc.field("scopeSpans");
    for (j, ss) in array_field(obj, "scopeSpans", "scope_spans", loc)?
        .iter()
        .enumerate()
    {
        let ss_loc = ss_loc.index(j);
        if let Err(e) = convert_scope_spans(ss, &ss_loc, &mut spans, out) {
            // Raised before any of its spans was converted: all of them are lost.
            out.rejected_spans += spans_in(ss, &[("spans", "spans")]);
            out.errors.push(e);
        }
    }
    out.groups.push(ResourceGroup { resource, spans });
    Ok(())
}

/// How many spans `value` holds, following `path` (pairs of JSON and proto field names)
/// through nested arrays; parts that are not the expected shape hold none.
fn spans_in(value: &Json, path: &[(&str, &str)]) -> usize {
    let Some(((camel, snake), rest)) = path.split_first() else {
        return 1;
    };
    let items = value
        .as_object()
        .and_then(|o| get(o, camel, snake))
        .and_then(Json::as_array);
    items.map_or(0, |items| {
        items.iter().map(|item| spans_in(item, rest)).sum()
    })
}

/// A note for a non-zero dropped-attributes count the SDK type cannot carry.
fn note_uncarried_drops(
    obj: &Map<String, Json>,
    loc: &JsonPath,
    what: &str,
    notes: &mut Vec<Note>,
) -> OtlpResult<()> {
    let dropped = dropped_attributes_count(obj, loc)?;
    notes.extend(uncarried_drops_note(dropped, what, || {
        loc.field("droppedAttributesCount").render()
    }));
    Ok(())
}

fn convert_scope_spans(
    ss: &Json,
    loc: &JsonPath,
    spans: &mut Vec<SpanData>,
    out: &mut Conversion,
) -> OtlpResult<()> {
    let obj = as_object(ss, loc)?;
    let schema_url = string_field(obj, "schemaUrl", "schema_url", loc)?;
    let mut builder = InstrumentationScope::builder("");
    if let Some(scope) = get(obj, "scope", "scope") {
        let s_loc = loc.field("scope");
        let s_obj = as_object(scope, &s_loc)?;
        builder = InstrumentationScope::builder(string_field(s_obj, "name", "name", &s_loc)?);
        let version = string_field(s_obj, "version", "version", &s_loc)?;
        if !version.is_empty() {
            builder = builder.with_version(version);
        }
        builder = builder.with_attributes(convert_attributes(s_obj, &s_loc, &mut out.notes)?);
        note_uncarried_drops(s_obj, &s_loc, "scope", &mut out.notes)?;
    }
    if !schema_url.is_empty() {
        builder = builder.with_schema_url(schema_url);
    }
    let scope = builder.build();
    let sp_loc = loc.field("spans");
    for (k, span) in array_field(obj, "spans", "spans", loc)?.iter().enumerate() {
        match convert_span(span, &sp_loc.index(k), &scope, &mut out.notes) {
            Ok(s) => spans.push(s),
            Err(e) => {
                out.rejected_spans += 1;
                out.errors.push(e);
            }
        }
    }
    Ok(())
}

fn convert_span(
    span: &Json,
    loc: &JsonPath,
    scope: &InstrumentationScope,
    notes: &mut Vec<Note>,
) -> OtlpResult<SpanData> {
    let obj = as_object(span, loc)?;
    let trace_id = trace_id_field(obj, loc)?;
    let span_id = span_id_field(obj, "spanId", "span_id", loc)?
        .ok_or_else(|| loc.field("spanId").err(OtlpErrorKind::Missing("span ID")))?;
    let parent_span_id =
        span_id_field(obj, "parentSpanId", "parent_span_id", loc)?.unwrap_or(SpanId::INVALID);
    let trace_state = trace_state_field(obj, loc)?;
    let flags = match get(obj, "flags", "flags") {
        // Spans from exporters that predate the field were exported, hence sampled.
        None => TraceFlags::SAMPLED.to_u8() as u32,
        Some(_) => u32_field(obj, "flags", "flags", loc)?,
    };
    let (trace_flags, parent_span_is_remote) = span_flags(flags);
    let name = string_field(obj, "name", "name", loc)?;
    let span_kind = span_kind_field(obj, loc)?;
    let start_time = time_field(obj, "startTimeUnixNano", "start_time_unix_nano", loc)?
        .ok_or_else(|| {
            loc.field("startTimeUnixNano")
                .err(OtlpErrorKind::Missing("start time"))
        })?;
    let end_time =
        time_field(obj, "endTimeUnixNano", "end_time_unix_nano", loc)?.ok_or_else(|| {
            loc.field("endTimeUnixNano")
                .err(OtlpErrorKind::Missing("end time"))
        })?;
    let attributes = convert_attributes(obj, loc, notes)?;
    let dropped_attributes_count = dropped_attributes_count(obj, loc)?;

    let mut events = SpanEvents::default();
    let ev_loc = loc.field("events");
    for (i, ev) in array_field(obj, "events", "events", loc)?
        .iter()
        .enumerate()
    {
        events
            .events
            .push(convert_event(ev, &ev_loc.index(i), notes)?);
    }
    events.dropped_count = u32_field(obj, "droppedEventsCount", "dropped_events_count", loc)?;

    let mut links = SpanLinks::default();
    let ln_loc = loc.field("links");
    for (i, ln) in array_field(obj, "links", "links", loc)?.iter().enumerate() {
        links.links.push(convert_link(ln, &ln_loc.index(i), notes)?);
    }
    links.dropped_count = u32_field(obj, "droppedLinksCount", "dropped_links_count", loc)?;

    let status = status_field(obj, loc, notes)?;

    Ok(SpanData {
        span_context: SpanContext::new(trace_id, span_id, trace_flags, false, trace_state),
        parent_span_id,
        parent_span_is_remote,
        span_kind,
        name: Cow::Owned(name),
        start_time,
        end_time,
        attributes,
        dropped_attributes_count,
        events,
        links,
        status,
        instrumentation_scope: scope.clone(),
    })
}

fn convert_event(ev: &Json, loc: &JsonPath, notes: &mut Vec<Note>) -> OtlpResult<Event> {
    let obj = as_object(ev, loc)?;
    let timestamp = time_field(obj, "timeUnixNano", "time_unix_nano", loc)?.ok_or_else(|| {
        loc.field("timeUnixNano")
            .err(OtlpErrorKind::Missing("event time"))
    })?;
    let name = string_field(obj, "name", "name", loc)?;
    let attributes = convert_attributes(obj, loc, notes)?;
    let dropped = dropped_attributes_count(obj, loc)?;
    Ok(Event::new(name, timestamp, attributes, dropped))
}

fn convert_link(ln: &Json, loc: &JsonPath, notes: &mut Vec<Note>) -> OtlpResult<Link> {
    let obj = as_object(ln, loc)?;
    let trace_id = trace_id_field(obj, loc)?;
    let span_id = span_id_field(obj, "spanId", "span_id", loc)?
        .ok_or_else(|| loc.field("spanId").err(OtlpErrorKind::Missing("span ID")))?;
    let trace_state = trace_state_field(obj, loc)?;
    let flags = u32_field(obj, "flags", "flags", loc)?;
    let (trace_flags, is_remote) = link_flags(flags);
    let context = SpanContext::new(trace_id, span_id, trace_flags, is_remote, trace_state);
    let attributes = convert_attributes(obj, loc, notes)?;
    let dropped = dropped_attributes_count(obj, loc)?;
    Ok(Link::new(context, attributes, dropped))
}

fn status_field(
    obj: &Map<String, Json>,
    loc: &JsonPath,
    notes: &mut Vec<Note>,
) -> OtlpResult<Status> {
    let Some(status_obj) = get(obj, "status", "status") else {
        return Ok(Status::Unset);
    };
    let s_loc = loc.field("status");
    let s_obj = as_object(status_obj, &s_loc)?;
    let message = string_field(s_obj, "message", "message", &s_loc)?;
    let code = enum_field(s_obj, "code", "StatusCode", &STATUS_CODE_NAMES, &s_loc)?;
    Ok(status(code as i32, message, notes, || {
        s_loc.field("message").render()
    }))
}

fn span_kind_field(obj: &Map<String, Json>, loc: &JsonPath) -> OtlpResult<SpanKind> {
    let kind = enum_field(obj, "kind", "SpanKind", &SPAN_KIND_NAMES, loc)?;
    Ok(span_kind(kind as i32))
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;
