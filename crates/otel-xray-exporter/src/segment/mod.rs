//! The X-Ray segment document, as a serde model that mirrors the official schema.
//!
//! Every optional field is omitted from the JSON when absent, `false` or empty.
//! Strings borrow from the span and resource they were translated from
//! (`Cow<'a, str>`), so a [`Segment`] lives no longer than its inputs; call
//! [`Segment::to_json`] (or serialise it yourself) before dropping them.
//!
//! A document is either a *segment* (no `type`) or an independent *subsegment*
//! (`"type": "subsegment"`, always with a `parent_id`). Both are the same struct
//! here; [`DocumentType`] tells them apart.

mod aws;
mod values;

use std::borrow::Cow;
use std::fmt;

use otel_xray_id::EncodedTraceId;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

pub use aws::{Aws, Ec2, Ecs, Eks, ElasticBeanstalk, LogGroup, SdkName, XraySdk};
pub use values::{
    AnnotationValue, Annotations, AttributeJson, Entry, EntryKey, EntryValue, Metadata,
};

/// A 64-bit segment, subsegment or exception ID: 16 lower-case hex digits.
// Word-aligned so `as_str` checks the digits a word at a time, not byte by byte.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[repr(align(8))]
pub struct Id([u8; 16]);

impl Id {
    /// The ID of an OpenTelemetry span.
    pub fn from_span_id(span_id: opentelemetry::trace::SpanId) -> Id {
        Id(otel_xray_id::encode_span_id(span_id))
    }

    /// The ID whose 16 hex digits spell `v`.
    pub fn from_u64(v: u64) -> Id {
        Id::from_span_id(opentelemetry::trace::SpanId::from_bytes(v.to_be_bytes()))
    }

    /// The 16 hex digits.
    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever written.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// An X-Ray trace ID in its `1-xxxxxxxx-yyyyyyyyyyyyyyyyyyyyyyyy` text form.
// Word-aligned text, as for `Id`.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(C, align(8))]
pub struct TraceIdText(pub EncodedTraceId);

impl fmt::Debug for TraceIdText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0.as_str(), f)
    }
}

impl Serialize for TraceIdText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.as_str())
    }
}

/// Whether a document is a segment or an independently sent subsegment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentType {
    /// A segment: the work one service did for a request (no `type` field).
    Segment,
    /// A subsegment sent on its own: `"type": "subsegment"` plus `parent_id`.
    Subsegment,
}

impl DocumentType {
    fn is_segment(&self) -> bool {
        *self == DocumentType::Segment
    }
}

impl Serialize for DocumentType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match self {
            DocumentType::Segment => "segment",
            DocumentType::Subsegment => "subsegment",
        })
    }
}

/// The `namespace` of a subsegment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Namespace {
    /// An AWS SDK call.
    Aws,
    /// Any other downstream call.
    Remote,
}

/// One segment or subsegment document.
#[derive(Debug, Clone)]
pub struct Segment<'a> {
    /// Logical service (segment) or downstream (subsegment) name; schema class, ≤ 200 chars.
    pub name: Cow<'a, str>,
    /// The span ID.
    pub id: Id,
    /// The trace ID in X-Ray form.
    pub trace_id: TraceIdText,
    /// Epoch seconds, microsecond resolution.
    pub start_time: f64,
    /// Epoch seconds; absent while the span is in progress.
    pub end_time: Option<f64>,
    /// True when the span has no end time yet.
    pub in_progress: bool,
    /// The parent segment or subsegment; never set for a root segment.
    pub parent_id: Option<Id>,
    /// Segment or independent subsegment (only the latter writes `type`).
    pub kind: DocumentType,
    /// `aws` or `remote` for downstream calls.
    pub namespace: Option<Namespace>,
    /// The AWS resource type the service runs on (`AWS::EC2::Instance`, …).
    pub origin: Option<&'static str>,
    /// The end user (`enduser.id`), ≤ 250 chars.
    pub user: Option<Cow<'a, str>>,
    /// The service version.
    pub service: Option<Service<'a>>,
    /// A 5xx status or a failed span.
    pub fault: bool,
    /// A 4xx status.
    pub error: bool,
    /// A 429 status.
    pub throttle: bool,
    /// The HTTP request and response.
    pub http: Option<Http<'a>>,
    /// AWS resource and call details.
    pub aws: Option<Aws<'a>>,
    /// SQL query details.
    pub sql: Option<Sql<'a>>,
    /// Exceptions recorded on the span.
    pub cause: Option<Cause<'a>>,
    /// Indexed key/value pairs (searchable in X-Ray).
    pub annotations: Annotations<'a>,
    /// Everything else, by namespace.
    pub metadata: Metadata<'a>,
    /// OpenTelemetry span links.
    pub links: Vec<Link<'a>>,
}

impl Segment<'_> {
    /// The compact JSON text of this document.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

// Written by hand rather than derived for two reasons. The three IDs are
// checked as UTF-8 in one pass: `str::from_utf8` goes a byte at a time through
// the last 16 bytes of any input, so three short checks cost twice one long
// one. And a derived impl evaluates every skip condition twice (once to count
// the fields). Absent, false and empty fields are left out, as documented on
// the fields.
impl Serialize for Segment<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut ids = [b'0'; IDS_CHARS];
        let (id, trace_id, parent_id) = document_ids(self, &mut ids);
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("name", &self.name)?;
        m.serialize_entry("id", id)?;
        m.serialize_entry("trace_id", trace_id)?;
        m.serialize_entry("start_time", &self.start_time)?;
        entry_if(&mut m, "end_time", &self.end_time)?;
        if self.in_progress {
            m.serialize_entry("in_progress", &true)?;
        }
        entry_if(&mut m, "parent_id", &parent_id)?;
        if !self.kind.is_segment() {
            m.serialize_entry("type", &self.kind)?;
        }
        entry_if(&mut m, "namespace", &self.namespace)?;
        entry_if(&mut m, "origin", &self.origin)?;
        entry_if(&mut m, "user", &self.user)?;
        entry_if(&mut m, "service", &self.service)?;
        for (key, set) in [
            ("fault", self.fault),
            ("error", self.error),
            ("throttle", self.throttle),
        ] {
            if set {
                m.serialize_entry(key, &true)?;
            }
        }
        entry_if(&mut m, "http", &self.http)?;
        entry_if(&mut m, "aws", &self.aws)?;
        entry_if(&mut m, "sql", &self.sql)?;
        entry_if(&mut m, "cause", &self.cause)?;
        if !self.annotations.is_empty() {
            m.serialize_entry("annotations", &self.annotations)?;
        }
        if !self.metadata.is_empty() {
            m.serialize_entry("metadata", &self.metadata)?;
        }
        if !self.links.is_empty() {
            m.serialize_entry("links", &self.links)?;
        }
        m.end()
    }
}

/// Writes `key` when `value` is present.
fn entry_if<M: SerializeMap, T: Serialize>(
    m: &mut M,
    key: &'static str,
    value: &Option<T>,
) -> Result<(), M::Error> {
    match value {
        Some(v) => m.serialize_entry(key, v),
        None => Ok(()),
    }
}

const TRACE_ID_CHARS: usize = otel_xray_id::XRAY_TRACE_ID_LEN;
/// The text of `id`, `trace_id` and `parent_id`, side by side.
const IDS_CHARS: usize = 16 + TRACE_ID_CHARS + 16;

/// `id`, `trace_id` and `parent_id` of `seg`, written into `text` and checked
/// as UTF-8 once (only ASCII is ever written, so the empty fallbacks are never
/// taken). The caller owns `text`: an array built here and moved out would be
/// read back before its stores land.
fn document_ids<'t>(
    seg: &Segment<'_>,
    text: &'t mut [u8; IDS_CHARS],
) -> (&'t str, &'t str, Option<&'t str>) {
    text[..16].copy_from_slice(&seg.id.0);
    text[16..16 + TRACE_ID_CHARS].copy_from_slice(seg.trace_id.0.as_bytes());
    if let Some(parent) = &seg.parent_id {
        text[16 + TRACE_ID_CHARS..].copy_from_slice(&parent.0);
    }
    let text = std::str::from_utf8(&text[..]).unwrap_or_default();
    let (id, rest) = text.split_at_checked(16).unwrap_or_default();
    let (trace_id, parent) = rest.split_at_checked(TRACE_ID_CHARS).unwrap_or_default();
    (id, trace_id, seg.parent_id.is_some().then_some(parent))
}

/// The `service` block.
#[derive(Debug, Clone, Serialize)]
pub struct Service<'a> {
    /// `service.version` (or `container.image.tag`).
    pub version: Cow<'a, str>,
}

/// The `http` block.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Http<'a> {
    /// The request half.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<HttpRequest<'a>>,
    /// The response half.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<HttpResponse>,
}

/// `http.request`; every string ≤ 250 chars.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HttpRequest<'a> {
    /// GET, POST, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<Cow<'a, str>>,
    /// The full request URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<Cow<'a, str>>,
    /// The `User-Agent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<Cow<'a, str>>,
    /// The caller's IP address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<Cow<'a, str>>,
    /// True when `client_ip` came from a forwarded header rather than the socket.
    #[serde(skip_serializing_if = "is_false")]
    pub x_forwarded_for: bool,
}

/// `http.response`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HttpResponse {
    /// The HTTP status code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<i64>,
    /// The body size in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_length: Option<i64>,
}

/// The `sql` block (subsegments calling an SQL database).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Sql<'a> {
    /// Connection string without credentials, or `host/database`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_string: Option<Cow<'a, str>>,
    /// The span name, as the collector does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<Cow<'a, str>>,
    /// The query text as recorded by the instrumentation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sanitized_query: Option<Cow<'a, str>>,
    /// `db.system`, lower-cased.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_type: Option<Cow<'a, str>>,
    /// `db.user`, ≤ 250 chars.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<Cow<'a, str>>,
}

/// The `cause` block: exceptions recorded on the span.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Cause<'a> {
    /// The exceptions, outermost first; `cause` links chain them.
    pub exceptions: Vec<Exception<'a>>,
}

/// One exception of a [`Cause`].
#[derive(Debug, Clone, Serialize)]
pub struct Exception<'a> {
    /// A 16-hex-digit ID, unique in the document.
    pub id: Id,
    /// The exception message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<Cow<'a, str>>,
    /// The exception type.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<Cow<'a, str>>,
    /// True when the exception came from a downstream service (CLIENT/PRODUCER spans).
    #[serde(skip_serializing_if = "is_false")]
    pub remote: bool,
    /// Frames removed from the end of `stack` by the size policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<u32>,
    /// The ID of the exception that caused this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<Id>,
    /// The parsed stack trace, innermost call first where the format allows.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stack: Vec<StackFrame<'a>>,
}

/// One stack frame.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StackFrame<'a> {
    /// Source file (or module).
    #[serde(skip_serializing_if = "str::is_empty")]
    pub path: Cow<'a, str>,
    /// Line number (0 = unknown, omitted).
    #[serde(skip_serializing_if = "is_zero")]
    pub line: u32,
    /// Function or method.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub label: Cow<'a, str>,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

/// One OpenTelemetry span link.
#[derive(Debug, Clone, Serialize)]
pub struct Link<'a> {
    /// The linked trace.
    pub trace_id: TraceIdText,
    /// The linked span.
    pub id: Id,
    /// The link's attributes.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "values::entries"
    )]
    pub attributes: Vec<Entry<'a>>,
}
