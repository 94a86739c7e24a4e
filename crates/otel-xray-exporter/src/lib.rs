//! Span → AWS X-Ray segment translation and delivery for OpenTelemetry.
//!
//! * [`Translator`] turns an [`opentelemetry_sdk::trace::SpanData`] and its
//!   [`opentelemetry_sdk::Resource`] into a segment document ([`segment::Segment`])
//!   or its JSON, which is always valid against the official segment schema
//!   ([`SEGMENT_SCHEMA`]) and never larger than [`MAX_SEGMENT_BYTES`]. Every block
//!   of the document has its own module under [`translate`]; the rules are in
//!   their docs. [`Translator::stats`] counts every change the translator made to
//!   fit the schema or the size limit, and every redaction.
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
//! backtrace parsing, the Lambda origin, and the size policy ([`limits`]).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod config;
mod counters;
mod exporter;
mod json;
pub mod limits;
pub mod segment;
mod stats;
pub mod translate;
mod transport;

pub use counters::{DeliveryCounters, DeliveryStats, DropReason};
pub use exporter::{BuildError, XrayExporter, XrayExporterBuilder, DEFAULT_EXPORT_TIMEOUT};
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
pub mod collector;
#[cfg(feature = "otlp")]
pub mod otlp;

pub use config::{
    AnnotationKeyMode, TranslatorConfig, TranslatorConfigBuilder, DEFAULT_REDACTED_HEADERS,
    REDACTED,
};
pub use limits::MAX_SEGMENT_BYTES;
pub use segment::Segment;
pub use stats::TranslateStats;
pub use translate::{TranslateError, Translator};

/// The official X-Ray segment document schema (JSON Schema draft-04), as shipped
/// with this crate.
pub const SEGMENT_SCHEMA: &str = include_str!("../schema/xray-segmentdocument-schema-v1.0.0.json");

#[cfg(feature = "collector")]
pub use collector::XrayAnnotationExporter;
#[cfg(feature = "otlp")]
pub use otlp::{XrayOtlpExporter, XrayOtlpExporterBuilder};
