//! Span → AWS X-Ray segment translation and delivery for OpenTelemetry.
//!
//! * [`Translator`] turns an [`opentelemetry_sdk::trace::SpanData`] and its
//!   [`opentelemetry_sdk::Resource`] into a segment document ([`segment::Segment`])
//!   or its JSON, which is always valid against the official segment schema
//!   ([`SEGMENT_SCHEMA`]) and never larger than [`MAX_SEGMENT_BYTES`].
//!   [`Translator::translate_into`] says what it wrote for one span
//!   ([`Translated`]); [`Translator::stats`] counts every change the translator
//!   made to fit the schema or the size limit, and every redaction. Every block
//!   of the document has its own source file under `src/translate/`, whose
//!   docs give the mapping rules.
//! * [`XrayExporter`] is an `opentelemetry_sdk` `SpanExporter` that translates
//!   spans and delivers the documents through one of three transports:
//!   newline-delimited documents to a writer (stdout by default), UDP to the
//!   X-Ray daemon (feature `daemon`), or PutTraceSegments through
//!   `aws-sdk-xray` (feature `api`). Every document ends up counted as sent,
//!   rejected or dropped in [`DeliveryCounters`].
//!
//! Project extensions to the collector's behaviour (all documented in the
//! block modules): `aws.xray.annotation.<key>` attributes, sanitising every
//! name, redaction of secret headers, span events in metadata, Rust panic and
//! backtrace parsing, the Lambda origin, and the size policy (below).
//!
//! # Size policy
//!
//! Fixed limits are applied while translating (name 200 chars, `http.request`
//! strings and `user` 250, annotation strings 1000, 50 annotations). Then, if the
//! serialised document is still over the limit, these steps run in order until
//! it fits, each counted in [`TranslateStats`]:
//!
//! 1. metadata strings longer than the configured length (1024 chars) are cut;
//! 2. metadata entries are removed, largest first, just enough to fit;
//! 3. stack traces are cut to 64 frames (`truncated` says how many went) and
//!    exception messages to 1024 chars; then to 8 frames and 10 exceptions;
//! 4. annotations are removed, largest first, just enough to fit;
//! 5. span links are removed and every other string is cut to 256 chars;
//! 6. the document keeps only its identity, times, flags, name, origin and
//!    response status.
//!
//! A cut string ends with `…` (U+2026) and is never longer than its limit. A
//! trimmed document carries `metadata.otel.size_policy` with what was removed.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod config;
mod delivery_stats;
mod exporter;
mod json;
mod limits;
pub mod segment;
mod text;
mod translate;
mod translate_stats;
mod transport;

#[cfg(feature = "collector")]
mod collector;
/// Direct export to the X-Ray OTLP traces endpoint (SigV4-signed OTLP/HTTP), and
/// OTLP over UDP for Lambda. A module of its own because its limits and options
/// are the endpoint's, not the segment paths'.
#[cfg(feature = "otlp")]
pub mod otlp;
#[cfg(feature = "otlp")]
mod sigv4;

pub use config::{
    AnnotationKeyMode, TranslatorConfig, TranslatorConfigBuilder, DEFAULT_REDACTED_HEADERS,
    REDACTED,
};
pub use delivery_stats::{DeliveryCounters, DeliveryStats, DropReason};
pub use exporter::{BuildError, XrayExporter, XrayExporterBuilder, DEFAULT_EXPORT_TIMEOUT};
pub use limits::MAX_SEGMENT_BYTES;
#[cfg(feature = "otlp")]
pub use sigv4::{SigningError, XraySigner, REFRESH_BEFORE_EXPIRY, XRAY_SIGNING_NAME};
pub use text::TRUNCATION_MARK;
pub use translate::{
    is_name_char, sanitize_annotation_key, sanitize_name, span_attribute_keys, TranslateError,
    Translated, Translator, ANNOTATIONS_LIST_KEY, ANNOTATION_PREFIX, MAX_ANNOTATIONS,
    MAX_ANNOTATION_KEY_CHARS, MAX_ANNOTATION_VALUE_CHARS, MAX_HTTP_CHARS, MAX_NAME_CHARS,
    MAX_NESTING_DEPTH, METADATA_PREFIX, OTEL_NAMESPACE, RESOURCE_PREFIX,
};
pub use translate_stats::TranslateStats;
#[cfg(feature = "api")]
#[doc(hidden)]
pub use transport::api::put_trace_segments_body;
#[cfg(feature = "api")]
pub use transport::api::{
    default_retry_config, DEFAULT_MAX_CONCURRENT_REQUESTS, MAX_DOCUMENTS_PER_CALL,
};
#[cfg(feature = "daemon")]
pub use transport::daemon::DaemonError;
pub use transport::daemon_address::{
    AddressError, DaemonAddress, HostPort, DAEMON_ADDRESS_ENV, DEFAULT_DAEMON_ADDRESS,
};
pub use transport::{DeliveryReport, DAEMON_HEADER, MAX_DAEMON_DOCUMENT_BYTES, MAX_DATAGRAM_BYTES};
/// The AWS SDK crates the `api` transport is built on, at matching versions.
#[cfg(feature = "api")]
pub use {aws_config, aws_sdk_xray};

#[cfg(feature = "collector")]
pub use collector::{
    otlp_exporter, rewrite_annotations, AnnotationRewriteStats, CollectorCounters, CollectorStats,
    ConflictPolicy, XrayAnnotationExporter, DEFAULT_COLLECTOR_ENDPOINT,
};

/// The official X-Ray segment document schema (JSON Schema draft-04), as shipped
/// with this crate.
pub const SEGMENT_SCHEMA: &str = include_str!("../schema/xray-segmentdocument-schema-v1.0.0.json");
