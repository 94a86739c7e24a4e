//! OTLP trace requests → OpenTelemetry SDK [`SpanData`] + [`Resource`], the
//! input of the exporter's `Translator`.
//!
//! Two readers, one result ([`Conversion`]): [`convert_otlp_json`] for OTLP/JSON (the
//! protobuf JSON mapping) and [`convert_otlp_request`] for a decoded protobuf
//! `ExportTraceServiceRequest`. Both map values the SDK cannot hold the same
//! way, so a span reads the same whichever encoding brought it:
//! * `kvlistValue` → the JSON object text (`{"k":v,…}`);
//! * arrays whose elements are not all of one scalar type → the JSON array text;
//! * `bytesValue` → its base64 text as a JSON string;
//! * an `AnyValue` with no value set → the attribute is left out.
//!
//! Each such conversion is reported as a [`Note`]. A malformed span is reported
//! as an [`OtlpError`] with its location and skipped; every other span of the
//! same request is still converted, and [`Conversion::rejected_spans`] counts
//! the spans lost, for an OTLP `partial_success` answer.

use opentelemetry::trace::{SpanKind, Status, TraceFlags};
use opentelemetry::{Array, Key, KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;
use opentelemetry_sdk::Resource;

mod json;
mod json_attributes;
mod json_fields;
mod protobuf;
mod report;
mod static_keys;
mod wire;

pub use json::convert_otlp_json;
pub use protobuf::convert_otlp_request;
#[cfg(test)]
pub(crate) use protobuf::convert_otlp_request_for_translation;
pub use report::{Note, OtlpError, OtlpErrorKind};
pub(crate) use wire::read_request_for_translation;
pub use wire::{read_otlp_request, WireError};

/// Spans that share one `resourceSpans` entry.
#[derive(Debug)]
pub struct ResourceGroup {
    /// The resource of every span in `spans`.
    pub resource: Resource,
    /// The converted spans, in input order.
    pub spans: Vec<SpanData>,
}

/// Everything read from one input: converted spans, rejected parts, lossy conversions.
#[derive(Debug, Default)]
pub struct Conversion {
    /// Converted spans grouped by resource.
    pub groups: Vec<ResourceGroup>,
    /// Parts of the input that could not be converted (and so were skipped).
    pub errors: Vec<OtlpError>,
    /// Values that were converted with a loss of type information, or left out.
    pub notes: Vec<Note>,
    /// Spans lost to [`errors`](Self::errors): the malformed spans, and every
    /// span under a malformed resource or scope.
    pub rejected_spans: usize,
    /// Requests that could not be read at all (not JSON, not an
    /// `ExportTraceServiceRequest`): how many spans they held is unknown.
    pub unreadable_requests: usize,
}

impl Conversion {
    /// Number of converted spans.
    pub fn span_count(&self) -> usize {
        self.groups.iter().map(|g| g.spans.len()).sum()
    }
}

/// Span flags bits (opentelemetry-proto `SpanFlags`).
const FLAGS_TRACE_FLAGS_MASK: u32 = 0xff;
const FLAGS_HAS_IS_REMOTE: u32 = 0x100;
const FLAGS_IS_REMOTE: u32 = 0x200;

/// The W3C trace flags and the "parent is remote" bit of a span's `flags`.
///
/// `flags` 0 is what a request from an exporter that predates the field reads
/// as (proto3 cannot tell absent from zero); such spans were exported, hence
/// sampled.
fn span_flags(flags: u32) -> (TraceFlags, bool) {
    if flags == 0 {
        return (TraceFlags::SAMPLED, false);
    }
    link_flags(flags)
}

/// The W3C trace flags and the "is remote" bit of a link's `flags`.
fn link_flags(flags: u32) -> (TraceFlags, bool) {
    let is_remote = flags & FLAGS_HAS_IS_REMOTE != 0 && flags & FLAGS_IS_REMOTE != 0;
    (
        TraceFlags::new((flags & FLAGS_TRACE_FLAGS_MASK) as u8),
        is_remote,
    )
}

/// `SpanKind` enum names, by number.
const SPAN_KIND_NAMES: [&str; 6] = [
    "SPAN_KIND_UNSPECIFIED",
    "SPAN_KIND_INTERNAL",
    "SPAN_KIND_SERVER",
    "SPAN_KIND_CLIENT",
    "SPAN_KIND_PRODUCER",
    "SPAN_KIND_CONSUMER",
];

/// `StatusCode` enum names, by number.
const STATUS_CODE_NAMES: [&str; 3] = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"];

/// The SDK kind of a `SpanKind` number (already checked to be defined).
fn span_kind(kind: i32) -> SpanKind {
    match kind {
        2 => SpanKind::Server,
        3 => SpanKind::Client,
        4 => SpanKind::Producer,
        5 => SpanKind::Consumer,
        // UNSPECIFIED is what the SDK would have called INTERNAL.
        _ => SpanKind::Internal,
    }
}

/// The SDK status of a `StatusCode` number (already checked to be defined)
/// and message; the SDK keeps a message only for errors, so a message on
/// another status is noted at `location`.
fn status(
    code: i32,
    message: String,
    notes: &mut Vec<Note>,
    location: impl FnOnce() -> String,
) -> Status {
    if code != 2 && !message.is_empty() {
        notes.push(Note {
            location: location(),
            what: "status message without STATUS_CODE_ERROR: the SDK keeps a message only for errors; left out".into(),
        });
    }
    match code {
        1 => Status::Ok,
        2 => Status::error(message),
        _ => Status::Unset,
    }
}

/// The SDK's `Resource` and `InstrumentationScope` keep no dropped-attributes
/// count: a non-zero one is reported as a note rather than lost silently.
fn uncarried_drops_note(
    dropped: u32,
    what: &str,
    location: impl FnOnce() -> String,
) -> Option<Note> {
    (dropped > 0).then(|| Note {
        location: location(),
        what: format!(
            "{dropped} dropped {what} attributes: the SDK {what} has no such count; not carried over"
        ),
    })
}

/// The SDK array when every element is a scalar of one type (an empty array
/// becomes a string array); `None` for mixed or non-scalar elements.
fn scalar_array(scalars: Vec<Value>) -> Option<Array> {
    fn all<T>(values: Vec<Value>, f: impl Fn(Value) -> Option<T>) -> Option<Vec<T>> {
        values.into_iter().map(f).collect()
    }
    Some(match scalars.first() {
        None => Array::String(Vec::new()),
        Some(Value::Bool(_)) => Array::Bool(all(scalars, |v| match v {
            Value::Bool(b) => Some(b),
            _ => None,
        })?),
        Some(Value::I64(_)) => Array::I64(all(scalars, |v| match v {
            Value::I64(n) => Some(n),
            _ => None,
        })?),
        Some(Value::F64(_)) => Array::F64(all(scalars, |v| match v {
            Value::F64(f) => Some(f),
            _ => None,
        })?),
        Some(Value::String(_)) => Array::String(all(scalars, |v| match v {
            Value::String(s) => Some(s),
            _ => None,
        })?),
        Some(_) => return None,
    })
}

/// An `AnyValue` as an SDK value, or as plain JSON when the SDK cannot hold it
/// (with why, for the note).
enum Any {
    Exact(Value),
    Lossy(serde_json::Value, &'static str),
}

/// Why a value was kept as its JSON text.
const MIXED_ARRAY: &str = "array of mixed or nested values";
const BYTES_VALUE: &str = "bytes value (base64)";
const KVLIST_VALUE: &str = "key-value list";

/// Adds attribute `key` to `out` (or leaves it out when it has no value),
/// noting at `location` whatever was not exact.
fn push_attribute(
    key: impl Into<Key>,
    any: Option<Any>,
    location: impl FnOnce() -> String,
    notes: &mut Vec<Note>,
    out: &mut Vec<KeyValue>,
) {
    let key = key.into();
    match any {
        None => notes.push(Note {
            location: location(),
            what: format!("attribute {:?} has no value; left out", key.as_str()),
        }),
        Some(Any::Exact(value)) => out.push(KeyValue::new(key, value)),
        Some(Any::Lossy(json, why)) => {
            notes.push(Note {
                location: location(),
                what: format!("attribute {:?}: {why}, kept as its JSON text", key.as_str()),
            });
            out.push(KeyValue::new(key, json.to_string()));
        }
    }
}
