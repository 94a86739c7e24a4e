#![doc = include_str!("../README.md")]
//!
//! # How it fits together
//!
//! ```text
//! UDP :2000 (daemon frames) ─┐
//! OTLP over UDP (T1S/T1U)  ──┤                 ┌─> sender ─> PutTraceSegments (≤ 50 per call,
//! OTLP gRPC / HTTP         ──┴─> Intake ─> SegmentBuffer      `Concurrency` calls in flight)
//!                                  │  (bounded by bytes; full = spillover)
//!                                  └─> DaemonCounters ─> PutTelemetryRecords, /metrics
//! TCP :2000  POST /GetSamplingRules, /SamplingTargets ─> SigV4 ─> X-Ray
//! ```
//!
//! # For receivers
//!
//! A receiver gets an [`Intake`] (a clone per receiver). For every unit it takes in it calls
//! [`Intake::received`], then either [`Intake::offer`]s the finished segment document (JSON
//! bytes) or [`Intake::reject`]s it with a [`RejectReason`]. `offer` never waits: it returns
//! [`Offer::Spilled`] when the buffer is full, already counted as spillover, so a gRPC/HTTP
//! receiver can answer `RESOURCE_EXHAUSTED`/429. Nothing else is needed to be delivered,
//! counted in telemetry and shown on `/metrics`.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod backend;
mod buffer;
mod config;
mod counters;
mod framing;
mod http_server;
mod intake;
mod metrics;
mod otlp;
mod proxy;
mod sender;
mod service;
mod telemetry;
mod udp;
mod udp_batch;

pub use backend::{Backend, BackendError};
pub use buffer::{buffer_bytes, Offer, SegmentBuffer, Taken, MIN_BUFFER_MB};
pub use config::{
    daemon_style_args, ConfigError, DaemonArgs, DaemonConfig, LogLevel, OtlpEndpoint,
    DEFAULT_ADDRESS, DEFAULT_CONCURRENCY, DEFAULT_SHUTDOWN_TIMEOUT,
};
pub use counters::{
    BackendErrorKind, CountersSnapshot, DaemonCounters, OtlpEndpointCounts, RejectReason, Source,
};
pub use framing::{
    classify_body, is_valid_header, split_datagram, Body, FrameError, OtlpFrameKind,
    DAEMON_BUFFER_BYTES,
};
pub use intake::Intake;
pub use metrics::MetricsServer;
pub use otlp::proto as otlp_proto;
pub use otlp::{
    convert_otlp_json, convert_otlp_request, read_otlp_request, serve_grpc, serve_http, Conversion,
    Forwarder, Note, OtlpCounters, OtlpError, OtlpErrorKind, OtlpIngest, OtlpStats, ResourceGroup,
    UdpFrameError, UdpFrameSpans, WireError, DEFAULT_GRPC_ADDRESS, DEFAULT_HTTP_ADDRESS,
    DEFAULT_MAX_FORWARD_SPANS_IN_FLIGHT, MAX_GRPC_REQUEST_BYTES, MAX_HTTP_BODY_BYTES, TRACES_PATH,
};
pub use proxy::{SamplingProxy, PROXIED_PATHS};
pub use sender::{
    DocumentSink, DrainReport, Sender, SenderOptions, SinkReport, BATCH_DOCUMENTS,
    DEFAULT_FILL_WAIT,
};
pub use service::{shutdown_signal, Daemon, DaemonError, ShutdownReport};
pub use telemetry::TELEMETRY_INTERVAL;
pub use udp::UdpReceiver;
