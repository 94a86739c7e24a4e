//! An encoded protobuf `ExportTraceServiceRequest` → SDK spans, read from its bytes without
//! decoding it into prost's messages first.
//!
//! Decoding with prost and then converting built every span twice: prost's `Span`, with a
//! `String` per name, key and value, `Vec`s grown one attribute at a time and a reference
//! count taken and dropped per string, then the SDK's `SpanData`, into which those moved.
//! Here the levels every span passes through (request, resource spans, scope spans, span,
//! attribute, scalar value, status) are read in place and each string is copied once, into
//! the SDK value that keeps it. What is rare or once per group (resource, scope, events,
//! links, array, key-value-list and bytes values) is decoded by prost's messages and
//! converted by the same functions as [`convert_otlp_request`](super::convert_otlp_request).
//!
//! Measured on the daemon's OTLP load (`scripts/daemon-instructions.sh otlp 300 900`), per
//! span: reading 8,785 instructions (prost 6,983, conversion 1,802) -> 6,815, and the daemon
//! as a whole 67,287 -> 65,140 (its SigV4 hashing counted in software, as valgrind runs it).
//! `benches/otlp.rs` (`otlp_span_path`, 300 richer spans, scopes kept): 500 µs for prost's
//! decoding and the conversion, 435 µs here. What is left is mostly the copies, their
//! allocations and the UTF-8 checks, which both ways need.
//!
//! The result is what decoding with prost and then converting gives, notes, errors and
//! their order included, and a request prost refuses is refused here too: the tests
//! (`wire_tests.rs`) and the `otlp_wire` fuzz target compare the two. Protobuf lets a field
//! appear more than once and in any order; the last scalar wins and message fields merge, as
//! in prost. One difference remains: prost counts its nesting limit (100 messages) from the
//! request, while a value decoded here by prost counts it from the value, about five levels
//! deeper.

use std::borrow::Cow;
use std::fmt;

use opentelemetry::{InstrumentationScope, Key, KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;
use prost::encoding::{decode_key, decode_varint, skip_field, DecodeContext, WireType};
use prost::Message;

use super::protobuf::{
    any_value, events_of, links_of, resource_of, scope_of, status_of, Scopes, SpanHead, SpanIds,
};
use super::report::{JsonPath, OtlpResult};
use super::static_keys::static_key;
use super::{push_attribute, span_kind, Any, Conversion, Note, ResourceGroup};
use crate::otlp::proto::common::v1::{AnyValue, KeyValue as ProtoKeyValue};
use crate::otlp::proto::trace::v1::{span, Status as ProtoStatus};

/// Why [`read_otlp_request`] could not read a request: the whole request is refused, as
/// prost refuses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError(String);

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "failed to decode Protobuf message: {}", self.0)
    }
}

impl std::error::Error for WireError {}

impl From<prost::DecodeError> for WireError {
    fn from(e: prost::DecodeError) -> Self {
        // prost's own text starts with the same words.
        let text = e.to_string();
        let text = text
            .strip_prefix("failed to decode Protobuf message: ")
            .unwrap_or(&text);
        WireError(text.to_owned())
    }
}

type WireResult<T> = Result<T, WireError>;

/// Reads an encoded protobuf `ExportTraceServiceRequest` into SDK spans: what
/// decoding it with prost and [`convert_otlp_request`](super::convert_otlp_request) give,
/// in one step and with each string copied once.
///
/// # Errors
///
/// The bytes are not such a request (a field of the wrong wire type, a length past the end,
/// text that is not UTF-8, …): nothing of it is taken.
///
/// # Example
///
/// ```
/// use otel_xray_daemon::read_otlp_request;
///
/// // A request with one resource and no spans: field 1, four bytes long, holding an empty
/// // resource (field 1) and a schema URL (field 3, "x").
/// let conversion = read_otlp_request(&[0x0a, 0x05, 0x0a, 0x00, 0x1a, 0x01, b'x']).unwrap();
/// assert_eq!(conversion.groups.len(), 1);
/// assert_eq!(conversion.span_count(), 0);
/// assert!(read_otlp_request(&[0x0a, 0x09]).is_err(), "a length past the end");
/// ```
pub fn read_otlp_request(bytes: &[u8]) -> Result<Conversion, WireError> {
    read_request(bytes, Scopes::Kept)
}

/// [`read_otlp_request`] for spans that are only translated: without their instrumentation
/// scope, which no segment document carries (the SDK span owns its scope, so keeping it
/// meant copying a named, versioned scope into every span).
pub(crate) fn read_request_for_translation(bytes: &[u8]) -> WireResult<Conversion> {
    read_request(bytes, Scopes::Left)
}

fn read_request(bytes: &[u8], scopes: Scopes) -> WireResult<Conversion> {
    let mut out = Conversion::default();
    let root = JsonPath::label("request");
    let rs_loc = root.field("resourceSpans");
    let mut fields = Fields(bytes);
    let mut i = 0;
    while let Some((tag, field)) = fields.next()? {
        if tag == 1 {
            let bytes = field.delimited("ExportTraceServiceRequest.resource_spans")?;
            read_resource_spans(bytes, &rs_loc.index(i), scopes, &mut out)?;
            i += 1;
        }
    }
    Ok(out)
}

/// One field's value, as its wire type carries it.
#[derive(Debug, Clone, Copy)]
enum Field<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Delimited(&'a [u8]),
    /// A (deprecated) group, skipped whole.
    Group,
}

impl<'a> Field<'a> {
    fn wrong(self, name: &str, expected: &str) -> WireError {
        let found = match self {
            Field::Varint(_) => "Varint",
            Field::Fixed64(_) => "SixtyFourBit",
            Field::Fixed32(_) => "ThirtyTwoBit",
            Field::Delimited(_) => "LengthDelimited",
            Field::Group => "StartGroup",
        };
        WireError(format!(
            "{name}: invalid wire type: {found} (expected {expected})"
        ))
    }

    fn delimited(self, name: &str) -> WireResult<&'a [u8]> {
        match self {
            Field::Delimited(bytes) => Ok(bytes),
            _ => Err(self.wrong(name, "LengthDelimited")),
        }
    }

    fn text(self, name: &str) -> WireResult<&'a str> {
        std::str::from_utf8(self.delimited(name)?).map_err(|_| {
            WireError(format!(
                "{name}: invalid string value: data is not UTF-8 encoded"
            ))
        })
    }

    fn varint(self, name: &str) -> WireResult<u64> {
        match self {
            Field::Varint(n) => Ok(n),
            _ => Err(self.wrong(name, "Varint")),
        }
    }

    fn fixed64(self, name: &str) -> WireResult<u64> {
        match self {
            Field::Fixed64(n) => Ok(n),
            _ => Err(self.wrong(name, "SixtyFourBit")),
        }
    }

    fn fixed32(self, name: &str) -> WireResult<u32> {
        match self {
            Field::Fixed32(n) => Ok(n),
            _ => Err(self.wrong(name, "ThirtyTwoBit")),
        }
    }
}

/// The fields of one message's bytes, in order.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    /// The next field, `None` at the end.
    ///
    /// Inlined into each message's loop: a call per field was a quarter of the reading.
    #[inline(always)]
    fn next(&mut self) -> WireResult<Option<(u32, Field<'a>)>> {
        if self.0.is_empty() {
            return Ok(None);
        }
        let (tag, wire_type) = self.key()?;
        let field = match wire_type {
            WireType::Varint => Field::Varint(self.varint()?),
            WireType::SixtyFourBit => Field::Fixed64(u64::from_le_bytes(self.take()?)),
            WireType::ThirtyTwoBit => Field::Fixed32(u32::from_le_bytes(self.take()?)),
            WireType::LengthDelimited => {
                let len = self.varint()?;
                let len = usize::try_from(len)
                    .ok()
                    .filter(|&len| len <= self.0.len())
                    .ok_or_else(underflow)?;
                let (bytes, rest) = self.0.split_at(len);
                self.0 = rest;
                Field::Delimited(bytes)
            }
            // prost's skipping: to the matching end of a group, or an error for an end
            // without a start.
            WireType::StartGroup | WireType::EndGroup => {
                skip_field(wire_type, tag, &mut self.0, DecodeContext::default())?;
                Field::Group
            }
        };
        Ok(Some((tag, field)))
    }

    /// A field key. Tags below 16 fit in one byte with their wire type, and every tag read
    /// here is one of them: that byte is read here, anything else by prost.
    #[inline(always)]
    fn key(&mut self) -> WireResult<(u32, WireType)> {
        if let [byte @ 0x08..=0x7f, rest @ ..] = self.0 {
            if let Ok(wire_type) = WireType::try_from(u64::from(byte & 7)) {
                self.0 = rest;
                return Ok((u32::from(byte >> 3), wire_type));
            }
        }
        Ok(decode_key(&mut self.0)?)
    }

    /// A varint: lengths and small numbers take one byte, read here; longer ones are read by
    /// prost.
    #[inline(always)]
    fn varint(&mut self) -> WireResult<u64> {
        if let [byte @ 0..=0x7f, rest @ ..] = self.0 {
            self.0 = rest;
            return Ok(u64::from(*byte));
        }
        Ok(decode_varint(&mut self.0)?)
    }

    fn take<const N: usize>(&mut self) -> WireResult<[u8; N]> {
        let (bytes, rest) = self.0.split_first_chunk::<N>().ok_or_else(underflow)?;
        self.0 = rest;
        Ok(*bytes)
    }
}

fn underflow() -> WireError {
    WireError("buffer underflow".into())
}

/// Merges one occurrence of a message field into `message`, as prost merges a field that
/// appears more than once.
fn merge<M: Message + Default>(
    message: &mut Option<M>,
    field: Field<'_>,
    name: &str,
) -> WireResult<()> {
    let bytes = field.delimited(name)?;
    message.get_or_insert_with(M::default).merge(bytes)?;
    Ok(())
}

fn read_resource_spans(
    bytes: &[u8],
    loc: &JsonPath,
    scopes: Scopes,
    out: &mut Conversion,
) -> WireResult<()> {
    // The resource is read first wherever it is, so that its notes come before the spans'.
    let mut resource = None;
    let mut schema_url = "";
    let mut fields = Fields(bytes);
    while let Some((tag, field)) = fields.next()? {
        match tag {
            1 => merge(&mut resource, field, "ResourceSpans.resource")?,
            2 => drop(field.delimited("ResourceSpans.scope_spans")?),
            3 => schema_url = field.text("ResourceSpans.schema_url")?,
            _ => {}
        }
    }
    let resource = resource_of(resource, schema_url.to_owned(), loc, &mut out.notes);
    let mut spans = Vec::new();
    let ss_loc = loc.field("scopeSpans");
    let mut fields = Fields(bytes);
    let mut j = 0;
    while let Some((tag, field)) = fields.next()? {
        if tag == 2 {
            read_scope_spans(
                field.delimited("")?,
                &ss_loc.index(j),
                scopes,
                &mut spans,
                out,
            )?;
            j += 1;
        }
    }
    out.groups.push(ResourceGroup { resource, spans });
    Ok(())
}

fn read_scope_spans(
    bytes: &[u8],
    loc: &JsonPath,
    scopes: Scopes,
    spans: &mut Vec<SpanData>,
    out: &mut Conversion,
) -> WireResult<()> {
    let mut scope = None;
    let mut schema_url = "";
    let mut count = 0;
    let mut fields = Fields(bytes);
    while let Some((tag, field)) = fields.next()? {
        match tag {
            1 => merge(&mut scope, field, "ScopeSpans.scope")?,
            2 => {
                field.delimited("ScopeSpans.spans")?;
                count += 1;
            }
            3 => schema_url = field.text("ScopeSpans.schema_url")?,
            _ => {}
        }
    }
    let scope = scope_of(scope, schema_url.to_owned(), loc, scopes, &mut out.notes);
    let sp_loc = loc.field("spans");
    spans.reserve(count);
    let mut fields = Fields(bytes);
    let mut k = 0;
    while let Some((tag, field)) = fields.next()? {
        if tag == 2 {
            let kept = read_span(
                field.delimited("")?,
                &sp_loc.index(k),
                &scope,
                &mut out.notes,
                spans,
            )?;
            if let Err(e) = kept {
                out.rejected_spans += 1;
                out.errors.push(e);
            }
            k += 1;
        }
    }
    Ok(())
}

/// A span's fields as read in a first pass; the attributes are read in a second, once the
/// span is known to be kept.
#[derive(Default)]
struct SpanFields<'a> {
    trace_id: &'a [u8],
    span_id: &'a [u8],
    trace_state: &'a str,
    parent_span_id: &'a [u8],
    flags: u32,
    name: &'a str,
    kind: i32,
    start: u64,
    end: u64,
    /// How many attributes, and where they are: from the first one's key to the last one's
    /// end, so that the second pass reads only those bytes.
    attributes: usize,
    attributes_at: std::ops::Range<usize>,
    dropped_attributes_count: u32,
    events: Vec<span::Event>,
    dropped_events_count: u32,
    links: Vec<span::Link>,
    dropped_links_count: u32,
    status: Option<ProtoStatus>,
}

/// The span tag of `attributes`.
const SPAN_ATTRIBUTES: u32 = 9;

impl<'a> SpanFields<'a> {
    fn read(bytes: &'a [u8]) -> WireResult<Self> {
        let mut s = SpanFields::default();
        let mut fields = Fields(bytes);
        loop {
            let at = bytes.len() - fields.0.len();
            let Some((tag, field)) = fields.next()? else {
                break;
            };
            match tag {
                1 => s.trace_id = field.delimited("Span.trace_id")?,
                2 => s.span_id = field.delimited("Span.span_id")?,
                3 => s.trace_state = field.text("Span.trace_state")?,
                4 => s.parent_span_id = field.delimited("Span.parent_span_id")?,
                5 => s.name = field.text("Span.name")?,
                6 => s.kind = field.varint("Span.kind")? as i32,
                7 => s.start = field.fixed64("Span.start_time_unix_nano")?,
                8 => s.end = field.fixed64("Span.end_time_unix_nano")?,
                SPAN_ATTRIBUTES => {
                    field.delimited("Span.attributes")?;
                    if s.attributes == 0 {
                        s.attributes_at.start = at;
                    }
                    s.attributes_at.end = bytes.len() - fields.0.len();
                    s.attributes += 1;
                }
                10 => {
                    s.dropped_attributes_count =
                        field.varint("Span.dropped_attributes_count")? as u32
                }
                11 => s
                    .events
                    .push(span::Event::decode(field.delimited("Span.events")?)?),
                12 => s.dropped_events_count = field.varint("Span.dropped_events_count")? as u32,
                13 => s
                    .links
                    .push(span::Link::decode(field.delimited("Span.links")?)?),
                14 => s.dropped_links_count = field.varint("Span.dropped_links_count")? as u32,
                15 => read_status(
                    field.delimited("Span.status")?,
                    s.status.get_or_insert_with(ProtoStatus::default),
                )?,
                16 => s.flags = field.fixed32("Span.flags")?,
                _ => {}
            }
        }
        Ok(s)
    }
}

/// One span, pushed onto `spans`: `Err` when the bytes are not a span (the request is
/// refused), `Ok(Err)` when the span is malformed (it alone is rejected).
fn read_span(
    bytes: &[u8],
    loc: &JsonPath,
    scope: &InstrumentationScope,
    notes: &mut Vec<Note>,
    spans: &mut Vec<SpanData>,
) -> WireResult<OtlpResult<()>> {
    let s = SpanFields::read(bytes)?;
    let head = SpanHead::check(
        SpanIds {
            trace_id: s.trace_id,
            span_id: s.span_id,
            parent_span_id: s.parent_span_id,
            trace_state: s.trace_state,
            flags: s.flags,
        },
        s.kind,
        (s.start, s.end),
        loc,
    );
    let head = match head {
        Ok(head) => head,
        Err(e) => {
            // Rejected before its attributes were read: they must still be a request's
            // attributes, or prost would have refused the whole request.
            let mut fields = Fields(&bytes[s.attributes_at.clone()]);
            while let Some((tag, field)) = fields.next()? {
                if tag == SPAN_ATTRIBUTES {
                    ProtoKeyValue::decode(field.delimited("")?)?;
                }
            }
            return Ok(Err(e));
        }
    };
    // In the order of `convert_span`, so both note the same things for a span rejected
    // later.
    let attributes = read_attributes(&bytes[s.attributes_at.clone()], s.attributes, loc, notes)?;
    let rest = (|| {
        let events = events_of(s.events, s.dropped_events_count, loc, notes)?;
        let links = links_of(s.links, s.dropped_links_count, loc, notes)?;
        let status = status_of(s.status, loc, notes)?;
        Ok((events, links, status))
    })();
    let (events, links, status) = match rest {
        Ok(rest) => rest,
        Err(e) => return Ok(Err(e)),
    };
    // Pushed here rather than returned: the span, a few hundred bytes, is moved once, not twice.
    spans.push(SpanData {
        span_context: head.context,
        parent_span_id: head.parent_span_id,
        parent_span_is_remote: head.parent_span_is_remote,
        span_kind: span_kind(head.kind),
        name: Cow::Owned(s.name.to_owned()),
        start_time: head.start_time,
        end_time: head.end_time,
        attributes,
        dropped_attributes_count: s.dropped_attributes_count,
        events,
        links,
        status,
        instrumentation_scope: scope.clone(),
    });
    Ok(Ok(()))
}

/// The span's attributes (`count` of them, among the span fields in `bytes`), noted as
/// `convert_attributes` notes them.
fn read_attributes(
    bytes: &[u8],
    count: usize,
    loc: &JsonPath,
    notes: &mut Vec<Note>,
) -> WireResult<Vec<KeyValue>> {
    let a_loc = loc.field("attributes");
    let mut out = Vec::with_capacity(count);
    let mut fields = Fields(bytes);
    let mut i = 0;
    while let Some((tag, field)) = fields.next()? {
        if tag == SPAN_ATTRIBUTES {
            let (key, any) = read_key_value(field.delimited("")?)?;
            push_attribute(key, any, || a_loc.index(i).render(), notes, &mut out);
            i += 1;
        }
    }
    Ok(out)
}

/// Merges the fields of one occurrence of a span's `status` into `status`: all scalars, so
/// the last of each wins, as when prost merges the occurrences.
fn read_status(bytes: &[u8], status: &mut ProtoStatus) -> WireResult<()> {
    let mut fields = Fields(bytes);
    while let Some((tag, field)) = fields.next()? {
        match tag {
            2 => status.message = field.text("Status.message")?.to_owned(),
            3 => status.code = field.varint("Status.code")? as i32,
            _ => {}
        }
    }
    Ok(())
}

/// A `KeyValue`: its key and its value (`None` when it has none).
fn read_key_value(bytes: &[u8]) -> WireResult<(Key, Option<Any>)> {
    let mut key = Key::from_static_str("");
    let mut first = None;
    // A value that appears more than once is merged, as prost merges it: rare.
    let mut merged: Option<AnyValue> = None;
    let mut fields = Fields(bytes);
    while let Some((tag, field)) = fields.next()? {
        match tag {
            // A key the translator reads is a static key: no UTF-8 check, no copy
            // (static_keys.rs).
            1 => {
                key = match static_key(field.delimited("KeyValue.key")?) {
                    Some(known) => Key::from_static_str(known),
                    None => Key::from(field.text("KeyValue.key")?.to_owned()),
                }
            }
            2 => {
                let value = field.delimited("KeyValue.value")?;
                match (&mut merged, first) {
                    (Some(m), _) => m.merge(value)?,
                    (None, None) => first = Some(value),
                    (None, Some(earlier)) => {
                        let mut m = AnyValue::decode(earlier)?;
                        m.merge(value)?;
                        merged = Some(m);
                    }
                }
            }
            3 => drop(field.varint("KeyValue.key_strindex")?),
            _ => {}
        }
    }
    let any = match (merged, first) {
        (Some(m), _) => any_value(m),
        (None, Some(value)) => read_any_value(value)?,
        (None, None) => None,
    };
    Ok((key, any))
}

/// An `AnyValue` holding one scalar is read here; anything else (arrays, lists, bytes,
/// unknown or repeated fields) is decoded by prost and converted as
/// `convert_otlp_request` converts it.
fn read_any_value(bytes: &[u8]) -> WireResult<Option<Any>> {
    let mut fields = Fields(bytes);
    let only = match (fields.next()?, fields.0.is_empty()) {
        (Some(only), true) => only,
        _ => return Ok(any_value(AnyValue::decode(bytes)?)),
    };
    let value = match only {
        (1, Field::Delimited(_)) => Value::from(only.1.text("AnyValue.string_value")?.to_owned()),
        (2, Field::Varint(n)) => Value::Bool(n != 0),
        (3, Field::Varint(n)) => Value::I64(n as i64),
        (4, Field::Fixed64(bits)) => Value::F64(f64::from_bits(bits)),
        _ => return Ok(any_value(AnyValue::decode(bytes)?)),
    };
    Ok(Some(Any::Exact(value)))
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
