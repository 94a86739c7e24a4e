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

use std::borrow::Cow;
use std::fmt;

use opentelemetry::{Array, Value};
use otel_xray_id::EncodedTraceId;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// A 64-bit segment, subsegment or exception ID: 16 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
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
#[derive(Clone, Copy, PartialEq, Eq)]
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
#[derive(Debug, Clone, Serialize)]
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

/// The `aws` block (segment resource fields and subsegment call fields).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Aws<'a> {
    /// The AWS account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<Cow<'a, str>>,
    /// The API operation (`GetItem`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<Cow<'a, str>>,
    /// The region called.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<Cow<'a, str>>,
    /// The AWS request ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<Cow<'a, str>>,
    /// An SQS queue URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_url: Option<Cow<'a, str>>,
    /// A DynamoDB table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_name: Option<Cow<'a, str>>,
    /// Several DynamoDB tables.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub table_names: Vec<Cow<'a, str>>,
    /// EC2 host details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ec2: Option<Box<Ec2<'a>>>,
    /// ECS task/container details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ecs: Option<Box<Ecs<'a>>>,
    /// EKS pod details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eks: Option<Box<Eks<'a>>>,
    /// Elastic Beanstalk environment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elastic_beanstalk: Option<Box<ElasticBeanstalk<'a>>>,
    /// The tracing SDK.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xray: Option<XraySdk<'a>>,
    /// CloudWatch log groups of the service.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cloudwatch_logs: Vec<LogGroup<'a>>,
}

/// `aws.ec2`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Ec2<'a> {
    /// `host.id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<Cow<'a, str>>,
    /// `cloud.availability_zone`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<Cow<'a, str>>,
    /// `host.type`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_size: Option<Cow<'a, str>>,
    /// `host.image.id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ami_id: Option<Cow<'a, str>>,
}

/// `aws.ecs`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Ecs<'a> {
    /// `container.name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<Cow<'a, str>>,
    /// `container.id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_id: Option<Cow<'a, str>>,
    /// `aws.ecs.container.arn`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_arn: Option<Cow<'a, str>>,
    /// `aws.ecs.cluster.arn`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_arn: Option<Cow<'a, str>>,
    /// `aws.ecs.task.arn`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_arn: Option<Cow<'a, str>>,
    /// `aws.ecs.task.family`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_family: Option<Cow<'a, str>>,
    /// `aws.ecs.launchtype`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<Cow<'a, str>>,
    /// `cloud.availability_zone`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<Cow<'a, str>>,
}

/// `aws.eks`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Eks<'a> {
    /// `k8s.cluster.name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<Cow<'a, str>>,
    /// `k8s.pod.name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod: Option<Cow<'a, str>>,
    /// `container.id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_id: Option<Cow<'a, str>>,
}

/// `aws.elastic_beanstalk`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ElasticBeanstalk<'a> {
    /// `service.namespace`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment_name: Option<Cow<'a, str>>,
    /// `service.version`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_label: Option<Cow<'a, str>>,
    /// `service.instance.id` as a number (0 when not numeric).
    pub deployment_id: i64,
}

/// `aws.xray`: the SDK that produced the trace.
#[derive(Debug, Clone, Default, Serialize)]
pub struct XraySdk<'a> {
    /// `"<telemetry.sdk.name> for <telemetry.sdk.language>"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sdk: Option<SdkName<'a>>,
    /// `telemetry.sdk.version`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sdk_version: Option<Cow<'a, str>>,
    /// True when an auto-instrumentation agent or distro is present.
    pub auto_instrumentation: bool,
}

/// An SDK name, written `"<name> for <language>"` (or `"<name>"`) without
/// building the string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdkName<'a> {
    /// `telemetry.sdk.name`.
    pub name: &'a str,
    /// `telemetry.sdk.language`.
    pub language: Option<&'a str>,
}

impl fmt::Display for SdkName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)?;
        if let Some(l) = self.language {
            f.write_str(" for ")?;
            f.write_str(l)?;
        }
        Ok(())
    }
}

impl Serialize for SdkName<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.language {
            Some(l) => serialize_joined(s, &[self.name, " for ", l]),
            None => s.serialize_str(self.name),
        }
    }
}

/// One `aws.cloudwatch_logs` entry.
#[derive(Debug, Clone, Serialize)]
pub struct LogGroup<'a> {
    /// The log group name.
    pub log_group: Cow<'a, str>,
    /// Its ARN, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<Cow<'a, str>>,
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
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "entries")]
    pub attributes: Vec<Entry<'a>>,
}

/// An annotation value: the schema only allows string, number and boolean.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum AnnotationValue<'a> {
    /// A string, ≤ 1000 chars.
    Str(Cow<'a, str>),
    /// An integer.
    Int(i64),
    /// A finite float (non-finite floats become strings).
    Float(f64),
    /// A boolean.
    Bool(bool),
}

/// The `annotations` object, in insertion order (≤ 50 entries, keys `[A-Za-z0-9_]{1,500}`).
#[derive(Debug, Clone, Default)]
pub struct Annotations<'a>(pub Vec<(Cow<'a, str>, AnnotationValue<'a>)>);

impl Annotations<'_> {
    /// No annotations.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&AnnotationValue<'_>> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

impl Serialize for Annotations<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// A metadata or attribute-map key.
#[derive(Debug, Clone, PartialEq)]
pub enum EntryKey<'a> {
    /// The key as is.
    Plain(Cow<'a, str>),
    /// `prefix` immediately followed by the key (e.g. `otel.resource.` + `host.name`),
    /// written without building the joined string.
    Prefixed(&'static str, &'a str),
}

impl EntryKey<'_> {
    /// True if the written key equals `s`.
    pub fn matches(&self, s: &str) -> bool {
        match self {
            EntryKey::Plain(k) => k == s,
            EntryKey::Prefixed(p, k) => s.strip_prefix(p) == Some(k),
        }
    }
}

impl fmt::Display for EntryKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntryKey::Plain(k) => f.write_str(k),
            EntryKey::Prefixed(p, k) => {
                f.write_str(p)?;
                f.write_str(k)
            }
        }
    }
}

impl Serialize for EntryKey<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            EntryKey::Plain(k) => s.serialize_str(k),
            EntryKey::Prefixed(p, k) => serialize_joined(s, &[p, k]),
        }
    }
}

/// Serialises the concatenation of `parts` as one string, on the stack when short
/// (the `fmt` route of `collect_str` costs more than the copy).
fn serialize_joined<S: Serializer>(s: S, parts: &[&str]) -> Result<S::Ok, S::Error> {
    let mut buf = [0u8; 192];
    let mut len = 0;
    for p in parts {
        let end = len + p.len();
        if end > buf.len() {
            return s.collect_str(&Joined(parts));
        }
        buf[len..end].copy_from_slice(p.as_bytes());
        len = end;
    }
    match std::str::from_utf8(&buf[..len]) {
        Ok(joined) => s.serialize_str(joined),
        Err(_) => s.collect_str(&Joined(parts)),
    }
}

struct Joined<'p>(&'p [&'p str]);

impl fmt::Display for Joined<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|p| f.write_str(p))
    }
}

/// A metadata (or link/event attribute) value.
#[derive(Debug, Clone, PartialEq)]
pub enum EntryValue<'a> {
    /// An OpenTelemetry attribute value, written as its JSON equivalent
    /// (non-finite floats as `null`).
    Attribute(&'a Value),
    /// A string (truncated or redacted values).
    Str(Cow<'a, str>),
    /// An integer.
    Int(i64),
    /// Parsed JSON (from `aws.xray.metadata.<ns>` attributes).
    Json(serde_json::Value),
    /// A nested object.
    Map(Vec<Entry<'a>>),
    /// A list of objects.
    List(Vec<EntryValue<'a>>),
    /// A timestamp in epoch seconds.
    Time(f64),
}

/// A key/value pair of metadata, link or event attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry<'a> {
    /// The key.
    pub key: EntryKey<'a>,
    /// The value.
    pub value: EntryValue<'a>,
}

fn entries<S: Serializer>(list: &[Entry<'_>], s: S) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(list.len()))?;
    for e in list {
        m.serialize_entry(&e.key, &e.value)?;
    }
    m.end()
}

struct Entries<'e, 'a>(&'e [Entry<'a>]);

impl Serialize for Entries<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        entries(self.0, s)
    }
}

impl Serialize for EntryValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            EntryValue::Attribute(v) => AttributeJson(v).serialize(s),
            EntryValue::Str(v) => s.serialize_str(v),
            EntryValue::Int(v) => s.serialize_i64(*v),
            EntryValue::Json(v) => v.serialize(s),
            EntryValue::Map(v) => entries(v, s),
            EntryValue::List(v) => {
                let mut seq = s.serialize_seq(Some(v.len()))?;
                for item in v {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            EntryValue::Time(t) => s.serialize_f64(*t),
        }
    }
}

/// Writes an OpenTelemetry [`Value`] as JSON without an intermediate tree.
pub struct AttributeJson<'v>(pub &'v Value);

impl Serialize for AttributeJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Bool(b) => s.serialize_bool(*b),
            Value::I64(i) => s.serialize_i64(*i),
            Value::F64(f) => s.serialize_f64(*f),
            Value::String(v) => s.serialize_str(v.as_str()),
            Value::Array(a) => match a {
                Array::Bool(v) => v.serialize(s),
                Array::I64(v) => v.serialize(s),
                Array::F64(v) => v.serialize(s),
                Array::String(v) => {
                    let mut seq = s.serialize_seq(Some(v.len()))?;
                    for item in v {
                        seq.serialize_element(item.as_str())?;
                    }
                    seq.end()
                }
                other => s.collect_str(other),
            },
            other => s.collect_str(other),
        }
    }
}

/// The `metadata` object: namespaces in insertion order, `default` first when present.
#[derive(Debug, Clone, Default)]
pub struct Metadata<'a> {
    /// `(namespace, entries)` pairs.
    pub namespaces: Vec<(Cow<'a, str>, Vec<Entry<'a>>)>,
}

impl<'a> Metadata<'a> {
    /// No namespace has an entry.
    pub fn is_empty(&self) -> bool {
        self.namespaces.iter().all(|(_, e)| e.is_empty())
    }

    /// The entries of namespace `ns`, created (empty) if missing.
    pub fn namespace_mut(&mut self, ns: &str) -> &mut Vec<Entry<'a>> {
        let at = match self.namespaces.iter().position(|(n, _)| n == ns) {
            Some(i) => i,
            None => {
                self.namespaces
                    .push((Cow::Owned(ns.to_owned()), Vec::new()));
                self.namespaces.len() - 1
            }
        };
        &mut self.namespaces[at].1
    }

    /// The entries of namespace `ns`.
    pub fn namespace(&self, ns: &str) -> Option<&[Entry<'a>]> {
        self.namespaces
            .iter()
            .find(|(n, _)| n == ns)
            .map(|(_, e)| e.as_slice())
    }

    /// The value under `key` in namespace `ns`.
    pub fn get(&self, ns: &str, key: &str) -> Option<&EntryValue<'a>> {
        self.namespace(ns)?
            .iter()
            .find(|e| e.key.matches(key))
            .map(|e| &e.value)
    }
}

impl Serialize for Metadata<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for (ns, list) in &self.namespaces {
            if !list.is_empty() {
                m.serialize_entry(ns, &Entries(list))?;
            }
        }
        m.end()
    }
}
