//! Span → AWS X-Ray segment translation and delivery for OpenTelemetry.
//!
//! [`XrayExporter`] is an `opentelemetry_sdk` `SpanExporter` with one of three
//! transports: newline-delimited documents to a writer (stdout by default),
//! UDP to the X-Ray daemon (feature `daemon`), or PutTraceSegments through
//! `aws-sdk-xray` (feature `api`). Every document ends up counted as sent,
//! rejected or dropped in [`DeliveryCounters`].
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod counters;
mod exporter;
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
#[cfg(feature = "collector")]
pub use collector::XrayAnnotationExporter;
