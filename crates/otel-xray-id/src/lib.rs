//! X-Ray trace IDs for OpenTelemetry.
//!
//! AWS X-Ray writes a trace ID as `1-{8 hex digits}-{24 hex digits}`: a version,
//! the epoch second the trace started, and 96 random bits. OpenTelemetry's
//! [`TraceId`](opentelemetry::trace::TraceId) is the same 128 bits without the
//! dashes, so the two convert freely — but X-Ray only accepts IDs whose first 32
//! bits are a recent epoch second. This crate provides:
//!
//! * [`XrayTraceId`] — parse, format and inspect the X-Ray form;
//! * [`XrayIdGenerator`] — an [`IdGenerator`](opentelemetry_sdk::trace::IdGenerator)
//!   that makes such IDs, for `SdkTracerProvider::builder().with_id_generator(..)`;
//! * [`parse_span_id`] — the 16-hex-digit span (segment) ID rule;
//! * [`synthetic_parent_span_id`] / [`is_synthetic_parent`] — the parent the
//!   propagator gives a Root-only header, which the exporter turns back into a
//!   root segment.
//!
//! ```
//! use opentelemetry_sdk::trace::IdGenerator;
//! use otel_xray_id::{XrayIdGenerator, XrayTraceId};
//!
//! let trace_id = XrayIdGenerator::default().new_trace_id();
//! let xray: XrayTraceId = trace_id.try_into()?;
//! let round_trip: XrayTraceId = xray.to_string().parse()?;
//! assert_eq!(round_trip.trace_id(), trace_id);
//! # Ok::<(), otel_xray_id::ParseTraceIdError>(())
//! ```

mod generator;
mod span_id;
mod synthetic;
mod trace_id;

pub use generator::{epoch_seconds, XrayIdGenerator};
pub use span_id::{encode_span_id, parse_span_id, parse_span_id_bytes, ParseSpanIdError};
pub use synthetic::{is_synthetic_parent, synthetic_parent_span_id};
pub use trace_id::{
    EncodedTraceId, EpochWindow, EpochWindowError, ParseTraceIdError, XrayTraceId,
    XRAY_TRACE_ID_LEN,
};
