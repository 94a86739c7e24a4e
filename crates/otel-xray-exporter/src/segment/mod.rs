//! The X-Ray segment document, as a serde model that mirrors the official schema.
//!
//! [`Translator::translate`](crate::Translator::translate) returns it, to read
//! or adjust a document before serialising it. Its `Serialize` is derived and
//! writes the same text as [`Translator::translate_json`](crate::Translator::translate_json)
//! before the size policy (which only `translate_json` / `translate_into` apply).
//! The structs are `#[non_exhaustive]`: documents come from the translator, and
//! new schema fields can be added without a breaking change.
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
use serde::{Serialize, Serializer};

pub use aws::{Aws, Ec2, Ecs, Eks, ElasticBeanstalk, LogGroup, SdkName, XraySdk};
pub use values::{
    AnnotationValue, Annotations, AttributeJson, Entry, EntryKey, EntryValue, Metadata,
};

/// A 64-bit segment, subsegment or exception ID: 16 lower-case hex digits.
// Word-aligned so `as_str` checks the digits a word at a time, not byte by byte.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[repr(align(8))]
pub struct Id(pub(crate) [u8; 16]);

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
    pub(crate) fn is_segment(&self) -> bool {
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
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<f64>,
    /// True when the span has no end time yet.
    #[serde(skip_serializing_if = "is_false")]
    pub in_progress: bool,
    /// The parent segment or subsegment; never set for a root segment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<Id>,
    /// Segment or independent subsegment (only the latter writes `type`).
    #[serde(rename = "type", skip_serializing_if = "DocumentType::is_segment")]
    pub kind: DocumentType,
    /// `aws` or `remote` for downstream calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<Namespace>,
    /// The AWS resource type the service runs on (`AWS::EC2::Instance`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<&'static str>,
    /// The end user (`enduser.id`), ≤ 250 chars.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<Cow<'a, str>>,
    /// The service version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<Service<'a>>,
    /// A 5xx status or a failed span.
    #[serde(skip_serializing_if = "is_false")]
    pub fault: bool,
    /// A 4xx status.
    #[serde(skip_serializing_if = "is_false")]
    pub error: bool,
    /// A 429 status.
    #[serde(skip_serializing_if = "is_false")]
    pub throttle: bool,
    /// The HTTP request and response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<Http<'a>>,
    /// AWS resource and call details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws: Option<Aws<'a>>,
    /// SQL query details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql: Option<Sql<'a>>,
    /// Exceptions recorded on the span.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<Cause<'a>>,
    /// Indexed key/value pairs (searchable in X-Ray).
    #[serde(skip_serializing_if = "Annotations::is_empty")]
    pub annotations: Annotations<'a>,
    /// Everything else, by namespace.
    #[serde(skip_serializing_if = "Metadata::is_empty")]
    pub metadata: Metadata<'a>,
    /// OpenTelemetry span links.
    #[serde(skip_serializing_if = "Vec::is_empty")]
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

/// The `service` block.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Service<'a> {
    /// `service.version` (or `container.image.tag`).
    pub version: Cow<'a, str>,
}

/// The `http` block.
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
pub struct Cause<'a> {
    /// The exceptions, outermost first; `cause` links chain them.
    pub exceptions: Vec<Exception<'a>>,
}

/// One exception of a [`Cause`].
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
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

/// Epoch seconds with microsecond resolution (0 before the epoch).
pub(crate) fn epoch_seconds(t: std::time::SystemTime) -> f64 {
    match t.duration_since(std::time::UNIX_EPOCH) {
        // Via u64: u128→f64 is a slow library call; u64 micros last 584,000 years.
        Ok(d) => u64::try_from(d.as_micros()).unwrap_or(u64::MAX) as f64 / 1e6,
        Err(_) => 0.0,
    }
}
