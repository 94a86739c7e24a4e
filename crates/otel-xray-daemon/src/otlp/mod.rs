//! OTLP in: the gRPC and HTTP trace receivers, OTLP-over-UDP frames, and the
//! way from an OTLP span to a segment document in the buffer.
//!
//! Every receiver reads its protobuf request straight into OpenTelemetry SDK
//! spans ([`read_otlp_request`]; the messages generated from the vendored
//! `proto/` ([`proto`]) serve for what is rare, and [`convert_otlp_request`]
//! converts a request already decoded) — or reads OTLP/JSON
//! ([`convert_otlp_json`]) — and hands them to [`OtlpIngest`], which translates each
//! with the exporter's `Translator` (the same rules, stats and limits as the
//! exporter) and offers the document to the buffer. With a [`Forwarder`]
//! (`--otlp-endpoint`) the spans go to the X-Ray OTLP endpoint untranslated
//! instead.
//!
//! The SDK span is the translator's input type, so converting to it is the
//! price of sharing the exporter's translation rules exactly; the `daemon`
//! benchmark measures it beside the translation itself.
//!
//! Nothing is dropped silently: [`OtlpCounters`] counts requests by transport,
//! malformed and refused requests, and spans received, translated,
//! forwarded, spilled and rejected by reason; senders learn of refused spans
//! through `partial_success`, and of a full buffer through
//! `RESOURCE_EXHAUSTED` (gRPC) or 429 (HTTP), so they retry instead of the
//! daemon buffering without bound.

mod codec;
mod convert;
mod counters;
mod forward;
mod grpc;
mod http;
mod ingest;
pub mod proto;
mod udp;

pub use convert::{
    convert_otlp_json, convert_otlp_request, read_otlp_request, Conversion, Note, OtlpError,
    OtlpErrorKind, ResourceGroup, WireError,
};
pub use counters::{OtlpCounters, OtlpStats};
pub use forward::{Forwarder, DEFAULT_MAX_FORWARD_SPANS_IN_FLIGHT};
pub use grpc::{serve_grpc, DEFAULT_GRPC_ADDRESS, MAX_GRPC_REQUEST_BYTES};
pub use http::{serve_http, DEFAULT_HTTP_ADDRESS, MAX_HTTP_BODY_BYTES, TRACES_PATH};
pub use ingest::OtlpIngest;
pub use udp::{UdpFrameError, UdpFrameSpans};
