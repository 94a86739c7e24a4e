//! Span → AWS X-Ray segment translation for OpenTelemetry.
//!
//! [`Translator`] turns an [`opentelemetry_sdk::trace::SpanData`] and its
//! [`opentelemetry_sdk::Resource`] into a segment document ([`segment::Segment`])
//! or its JSON, which is always valid against the official segment schema
//! ([`SEGMENT_SCHEMA`]) and never larger than [`MAX_SEGMENT_BYTES`]. Every block
//! of the document has its own module under [`translate`]; the rules are in
//! their docs. [`Translator::stats`] counts every change the translator made to
//! fit the schema or the size limit, and every redaction.
//!
//! Project extensions to the collector's behaviour (all documented in the
//! block modules): `aws.xray.annotation.<key>` attributes, sanitising every
//! name, redaction of secret headers, span events in metadata, Rust panic and
//! backtrace parsing, the Lambda origin, and the size policy ([`limits`]).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod config;
pub mod limits;
pub mod segment;
mod stats;
pub mod translate;

#[cfg(feature = "collector")]
pub mod collector;

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
