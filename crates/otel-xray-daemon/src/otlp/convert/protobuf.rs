//! A decoded protobuf `ExportTraceServiceRequest` → SDK spans.
//!
//! The request is taken by value so names and string values move into the SDK
//! types instead of being copied. Protobuf leaves less to go wrong than JSON
//! (types are fixed by the schema); what remains is checked as the JSON reader
//! checks it: ID lengths, all-zero IDs, enum numbers, the tracestate syntax,
//! and a missing start or end time.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use base64::Engine;
use opentelemetry::trace::{Event, Link, SpanContext, SpanId, Status, TraceId, TraceState};
use opentelemetry::{InstrumentationScope, KeyValue, Value};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use opentelemetry_sdk::Resource;
use serde_json::Value as Json;

use super::report::{JsonPath, OtlpResult};
use super::{
    link_flags, push_attribute, scalar_array, span_flags, span_kind, status, uncarried_drops_note,
    Any, Conversion, Note, OtlpErrorKind, ResourceGroup, BYTES_VALUE, KVLIST_VALUE, MIXED_ARRAY,
    SPAN_KIND_NAMES, STATUS_CODE_NAMES,
};
use crate::otlp::proto::collector::trace::v1::ExportTraceServiceRequest;
use crate::otlp::proto::common::v1::{
    any_value, AnyValue, InstrumentationScope as ProtoScope, KeyValue as ProtoKeyValue,
};
use crate::otlp::proto::resource::v1::Resource as ProtoResource;
use crate::otlp::proto::trace::v1::{span, ResourceSpans, ScopeSpans, Span, Status as ProtoStatus};

/// Converts one decoded request; malformed spans are reported and skipped.
///
/// Error and note locations read `request: resourceSpans[i].scopeSpans[j].spans[k].field`,
/// with the JSON field names, as [`convert_otlp_json`](super::convert_otlp_json) reports them.
pub fn convert_otlp_request(request: ExportTraceServiceRequest) -> Conversion {
    convert(request, Scopes::Kept)
}

/// [`convert_otlp_request`] for spans that are only translated: each span's
/// `instrumentation_scope` is left empty, since segment documents have no place for it and
/// the translator never reads it. Everything else, notes and errors included, is as
/// [`convert_otlp_request`] makes it. The daemon reads such spans straight from the bytes
/// (`wire.rs`); this is what that reading is tested against.
#[cfg(test)]
pub(crate) fn convert_otlp_request_for_translation(
    request: ExportTraceServiceRequest,
) -> Conversion {
    convert(request, Scopes::Left)
}

/// Whether converted spans carry their instrumentation scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scopes {
    Kept,
    Left,
}

fn convert(request: ExportTraceServiceRequest, scopes: Scopes) -> Conversion {
    let mut out = Conversion::default();
    let root = JsonPath::label("request");
    let rs_loc = root.field("resourceSpans");
    for (i, rs) in request.resource_spans.into_iter().enumerate() {
        convert_resource_spans(rs, &rs_loc.index(i), scopes, &mut out);
    }
    out
}

fn convert_resource_spans(rs: ResourceSpans, loc: &JsonPath, scopes: Scopes, out: &mut Conversion) {
    let resource = resource_of(rs.resource, rs.schema_url, loc, &mut out.notes);
    let mut spans = Vec::new();
    let ss_loc = loc.field("scopeSpans");
    for (j, ss) in rs.scope_spans.into_iter().enumerate() {
        convert_scope_spans(ss, &ss_loc.index(j), scopes, &mut spans, out);
    }
    out.groups.push(ResourceGroup { resource, spans });
}

/// The SDK resource of a `resourceSpans` entry at `loc`, noting what it cannot carry.
pub(super) fn resource_of(
    resource: Option<ProtoResource>,
    schema_url: String,
    loc: &JsonPath,
    notes: &mut Vec<Note>,
) -> Resource {
    let mut attributes = Vec::new();
    if let Some(resource) = resource {
        let r_loc = loc.field("resource");
        attributes = convert_attributes(resource.attributes, &r_loc, notes);
        notes.extend(uncarried_drops_note(
            resource.dropped_attributes_count,
            "resource",
            || r_loc.field("droppedAttributesCount").render(),
        ));
    }
    let builder = Resource::builder_empty();
    if schema_url.is_empty() {
        builder.with_attributes(attributes).build()
    } else {
        builder.with_schema_url(attributes, schema_url).build()
    }
}

fn convert_scope_spans(
    ss: ScopeSpans,
    loc: &JsonPath,
    scopes: Scopes,
    spans: &mut Vec<SpanData>,
    out: &mut Conversion,
) {
    let scope = scope_of(ss.scope, ss.schema_url, loc, scopes, &mut out.notes);
    let sp_loc = loc.field("spans");
    spans.reserve(ss.spans.len());
    for (k, span) in ss.spans.into_iter().enumerate() {
        match convert_span(span, &sp_loc.index(k), &scope, &mut out.notes) {
            Ok(s) => spans.push(s),
            Err(e) => {
                out.rejected_spans += 1;
                out.errors.push(e);
            }
        }
    }
}

/// The instrumentation scope of a `scopeSpans` entry at `loc` (empty with
/// [`Scopes::Left`]); its notes are taken either way.
pub(super) fn scope_of(
    scope: Option<ProtoScope>,
    schema_url: String,
    loc: &JsonPath,
    scopes: Scopes,
    notes: &mut Vec<Note>,
) -> InstrumentationScope {
    let mut builder = InstrumentationScope::builder("");
    if let Some(scope) = scope {
        let s_loc = loc.field("scope");
        builder = InstrumentationScope::builder(scope.name);
        if !scope.version.is_empty() {
            builder = builder.with_version(scope.version);
        }
        builder = builder.with_attributes(convert_attributes(scope.attributes, &s_loc, notes));
        notes.extend(uncarried_drops_note(
            scope.dropped_attributes_count,
            "scope",
            || s_loc.field("droppedAttributesCount").render(),
        ));
    }
    if !schema_url.is_empty() {
        builder = builder.with_schema_url(schema_url);
    }
    match scopes {
        Scopes::Kept => builder.build(),
        Scopes::Left => InstrumentationScope::default(),
    }
}

fn convert_span(
    span: Span,
    loc: &JsonPath,
    scope: &InstrumentationScope,
    notes: &mut Vec<Note>,
) -> OtlpResult<SpanData> {
    let head = SpanHead::check(
        SpanIds {
            trace_id: &span.trace_id,
            span_id: &span.span_id,
            parent_span_id: &span.parent_span_id,
            trace_state: &span.trace_state,
            flags: span.flags,
        },
        span.kind,
        (span.start_time_unix_nano, span.end_time_unix_nano),
        loc,
    )?;
    // In the JSON reader's order, so both note the same things for a span
    // that is rejected later.
    let attributes = convert_attributes(span.attributes, loc, notes);

    let events = events_of(span.events, span.dropped_events_count, loc, notes)?;
    let links = links_of(span.links, span.dropped_links_count, loc, notes)?;
    let status = status_of(span.status, loc, notes)?;

    Ok(SpanData {
        span_context: head.context,
        parent_span_id: head.parent_span_id,
        parent_span_is_remote: head.parent_span_is_remote,
        span_kind: span_kind(head.kind),
        name: Cow::Owned(span.name),
        start_time: head.start_time,
        end_time: head.end_time,
        attributes,
        dropped_attributes_count: span.dropped_attributes_count,
        events,
        links,
        status,
        instrumentation_scope: scope.clone(),
    })
}

/// A span's events, converted in order; the first malformed one rejects the span.
pub(super) fn events_of(
    events: Vec<span::Event>,
    dropped_count: u32,
    loc: &JsonPath,
    notes: &mut Vec<Note>,
) -> OtlpResult<SpanEvents> {
    let mut out = SpanEvents::default();
    let ev_loc = loc.field("events");
    out.events.reserve(events.len());
    for (i, ev) in events.into_iter().enumerate() {
        out.events.push(convert_event(ev, &ev_loc.index(i), notes)?);
    }
    out.dropped_count = dropped_count;
    Ok(out)
}

/// A span's links, converted in order; the first malformed one rejects the span.
pub(super) fn links_of(
    links: Vec<span::Link>,
    dropped_count: u32,
    loc: &JsonPath,
    notes: &mut Vec<Note>,
) -> OtlpResult<SpanLinks> {
    let mut out = SpanLinks::default();
    let ln_loc = loc.field("links");
    for (i, ln) in links.into_iter().enumerate() {
        out.links.push(convert_link(ln, &ln_loc.index(i), notes)?);
    }
    out.dropped_count = dropped_count;
    Ok(out)
}

/// A span's status (unset when absent).
pub(super) fn status_of(
    given: Option<ProtoStatus>,
    loc: &JsonPath,
    notes: &mut Vec<Note>,
) -> OtlpResult<Status> {
    Ok(match given {
        None => Status::Unset,
        Some(s) => {
            let s_loc = loc.field("status");
            let code = enum_number(
                s.code,
                "StatusCode",
                &STATUS_CODE_NAMES,
                &s_loc.field("code"),
            )?;
            status(code, s.message, notes, || s_loc.field("message").render())
        }
    })
}

/// A span's identity fields as they arrive.
pub(super) struct SpanIds<'a> {
    pub(super) trace_id: &'a [u8],
    pub(super) span_id: &'a [u8],
    pub(super) parent_span_id: &'a [u8],
    pub(super) trace_state: &'a str,
    pub(super) flags: u32,
}

/// What is checked of a span before its attributes: IDs, trace state, kind and times.
pub(super) struct SpanHead {
    pub(super) context: SpanContext,
    pub(super) parent_span_id: SpanId,
    pub(super) parent_span_is_remote: bool,
    pub(super) kind: i32,
    pub(super) start_time: SystemTime,
    pub(super) end_time: SystemTime,
}

impl SpanHead {
    /// Checks, in this order, the IDs, the trace state, the kind and the (start, end) times
    /// of the span at `loc`.
    pub(super) fn check(
        ids: SpanIds<'_>,
        kind: i32,
        (start, end): (u64, u64),
        loc: &JsonPath,
    ) -> OtlpResult<SpanHead> {
        let trace_id = parse_trace_id(ids.trace_id, &loc.field("traceId"))?;
        let span_id = parse_span_id(ids.span_id, &loc.field("spanId"))?
            .ok_or_else(|| loc.field("spanId").err(OtlpErrorKind::Missing("span ID")))?;
        let parent_span_id = parse_span_id(ids.parent_span_id, &loc.field("parentSpanId"))?
            .unwrap_or(SpanId::INVALID);
        let state = trace_state(ids.trace_state, loc)?;
        let (trace_flags, parent_span_is_remote) = span_flags(ids.flags);
        let kind = enum_number(kind, "SpanKind", &SPAN_KIND_NAMES, &loc.field("kind"))?;
        let start_time = time(start).ok_or_else(|| {
            loc.field("startTimeUnixNano")
                .err(OtlpErrorKind::Missing("start time"))
        })?;
        let end_time = time(end).ok_or_else(|| {
            loc.field("endTimeUnixNano")
                .err(OtlpErrorKind::Missing("end time"))
        })?;
        Ok(SpanHead {
            context: SpanContext::new(trace_id, span_id, trace_flags, false, state),
            parent_span_id,
            parent_span_is_remote,
            kind,
            start_time,
            end_time,
        })
    }
}

pub(super) fn convert_event(
    ev: span::Event,
    loc: &JsonPath,
    notes: &mut Vec<Note>,
) -> OtlpResult<Event> {
    let timestamp = time(ev.time_unix_nano).ok_or_else(|| {
        loc.field("timeUnixNano")
            .err(OtlpErrorKind::Missing("event time"))
    })?;
    let attributes = convert_attributes(ev.attributes, loc, notes);
    Ok(Event::new(
        ev.name,
        timestamp,
        attributes,
        ev.dropped_attributes_count,
    ))
}

pub(super) fn convert_link(
    ln: span::Link,
    loc: &JsonPath,
    notes: &mut Vec<Note>,
) -> OtlpResult<Link> {
    let trace_id = parse_trace_id(&ln.trace_id, &loc.field("traceId"))?;
    let span_id = parse_span_id(&ln.span_id, &loc.field("spanId"))?
        .ok_or_else(|| loc.field("spanId").err(OtlpErrorKind::Missing("span ID")))?;
    let trace_state = trace_state(&ln.trace_state, loc)?;
    let (trace_flags, is_remote) = link_flags(ln.flags);
    let context = SpanContext::new(trace_id, span_id, trace_flags, is_remote, trace_state);
    let attributes = convert_attributes(ln.attributes, loc, notes);
    Ok(Link::new(context, attributes, ln.dropped_attributes_count))
}

fn parse_trace_id(bytes: &[u8], loc: &JsonPath) -> OtlpResult<TraceId> {
    if bytes.is_empty() {
        return Err(loc.err(OtlpErrorKind::Missing("trace ID")));
    }
    let id: [u8; 16] = bytes.try_into().map_err(|_| bad_id(32, bytes, loc))?;
    let id = TraceId::from_bytes(id);
    if id == TraceId::INVALID {
        return Err(loc.err(OtlpErrorKind::ZeroId));
    }
    Ok(id)
}

/// `None` when empty (an empty parent means a root span).
fn parse_span_id(bytes: &[u8], loc: &JsonPath) -> OtlpResult<Option<SpanId>> {
    if bytes.is_empty() {
        return Ok(None);
    }
    let id: [u8; 8] = bytes.try_into().map_err(|_| bad_id(16, bytes, loc))?;
    let id = SpanId::from_bytes(id);
    if id == SpanId::INVALID {
        return Err(loc.err(OtlpErrorKind::ZeroId));
    }
    Ok(Some(id))
}

fn bad_id(digits: usize, bytes: &[u8], loc: &JsonPath) -> super::OtlpError {
    let found: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    loc.err(OtlpErrorKind::BadId { digits, found })
}

fn trace_state(text: &str, loc: &JsonPath) -> OtlpResult<TraceState> {
    if text.is_empty() {
        return Ok(TraceState::NONE);
    }
    text.parse::<TraceState>().map_err(|_| {
        loc.field("traceState")
            .err(OtlpErrorKind::BadTraceState(text.to_owned()))
    })
}

fn enum_number(n: i32, enum_name: &'static str, names: &[&str], loc: &JsonPath) -> OtlpResult<i32> {
    if usize::try_from(n).is_ok_and(|i| i < names.len()) {
        Ok(n)
    } else {
        Err(loc.err(OtlpErrorKind::BadEnum {
            enum_name,
            found: n.to_string(),
        }))
    }
}

/// Nanoseconds since the epoch; `None` when zero (proto3's "not set").
fn time(nanos: u64) -> Option<SystemTime> {
    (nanos != 0).then(|| SystemTime::UNIX_EPOCH + Duration::from_nanos(nanos))
}

pub(super) fn convert_attributes(
    attributes: Vec<ProtoKeyValue>,
    loc: &JsonPath,
    notes: &mut Vec<Note>,
) -> Vec<KeyValue> {
    let a_loc = loc.field("attributes");
    let mut out = Vec::with_capacity(attributes.len());
    for (i, kv) in attributes.into_iter().enumerate() {
        let any = kv.value.and_then(any_value);
        push_attribute(kv.key, any, || a_loc.index(i).render(), notes, &mut out);
    }
    out
}

/// The SDK value of an `AnyValue`, or its JSON text where the SDK has no such
/// type; `None` when no value is set (or only a profiles string-table index,
/// which means nothing in a trace).
pub(super) fn any_value(value: AnyValue) -> Option<Any> {
    use any_value::Value as V;
    Some(match value.value? {
        V::StringValue(s) => Any::Exact(Value::from(s)),
        V::BoolValue(b) => Any::Exact(Value::Bool(b)),
        V::IntValue(n) => Any::Exact(Value::I64(n)),
        V::DoubleValue(f) => Any::Exact(Value::F64(f)),
        V::StringValueStrindex(_) => return None,
        V::BytesValue(bytes) => Any::Lossy(Json::from(base64_text(&bytes)), BYTES_VALUE),
        V::KvlistValue(list) => Any::Lossy(kvlist_json(list.values), KVLIST_VALUE),
        V::ArrayValue(array) => {
            let scalars: Option<Vec<Value>> = array.values.iter().map(scalar).collect();
            match scalars.and_then(scalar_array) {
                Some(a) => Any::Exact(Value::Array(a)),
                None => Any::Lossy(array_json(array.values), MIXED_ARRAY),
            }
        }
    })
}

/// A scalar `AnyValue` as an SDK value; `None` for anything else.
fn scalar(value: &AnyValue) -> Option<Value> {
    use any_value::Value as V;
    match value.value.as_ref()? {
        V::StringValue(s) => Some(Value::from(s.clone())),
        V::BoolValue(b) => Some(Value::Bool(*b)),
        V::IntValue(n) => Some(Value::I64(*n)),
        V::DoubleValue(f) => Some(Value::F64(*f)),
        _ => None,
    }
}

/// The plain JSON of an `AnyValue` nested in a list or array (`null` when unset;
/// NaN and infinities are `null` too, as JSON has no such numbers).
fn plain_json(value: Option<AnyValue>) -> Json {
    use any_value::Value as V;
    match value.and_then(|v| v.value) {
        None | Some(V::StringValueStrindex(_)) => Json::Null,
        Some(V::StringValue(s)) => Json::from(s),
        Some(V::BoolValue(b)) => Json::from(b),
        Some(V::IntValue(n)) => Json::from(n),
        Some(V::DoubleValue(f)) => Json::from(f),
        Some(V::BytesValue(bytes)) => Json::from(base64_text(&bytes)),
        Some(V::ArrayValue(array)) => array_json(array.values),
        Some(V::KvlistValue(list)) => kvlist_json(list.values),
    }
}

fn array_json(values: Vec<AnyValue>) -> Json {
    Json::Array(values.into_iter().map(|v| plain_json(Some(v))).collect())
}

fn kvlist_json(values: Vec<ProtoKeyValue>) -> Json {
    Json::Object(
        values
            .into_iter()
            .map(|kv| (kv.key, plain_json(kv.value)))
            .collect(),
    )
}

/// Bytes as the protobuf JSON mapping writes them (standard base64, padded).
fn base64_text(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
#[path = "protobuf_tests.rs"]
mod tests;
