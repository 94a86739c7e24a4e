//! # otel-xray
//!
//! AWS X-Ray for OpenTelemetry in Rust. This facade re-exports the member crates
//! behind feature flags so one dependency line is enough:
//!
//! | feature | default | what it brings |
//! |---|---|---|
//! | *(always)* | yes | [`XrayIdGenerator`], [`XrayTraceId`] (crate `otel-xray-id`) |
//! | `propagator` | yes | `XrayPropagator`, `XrayLambdaPropagator`, SQS helpers (crate `otel-xray-propagator`) |
//! | `exporter` | yes | span → segment translation and the writer transport (crate `otel-xray-exporter`) |
//! | `daemon` | yes | UDP delivery to the X-Ray daemon; no AWS SDK |
//! | `api` | no | PutTraceSegments through `aws-sdk-xray` |
//! | `collector` | no | OTLP export to an ADOT collector with annotations preserved |
//! | `sampler` | no | the X-Ray remote sampler (crate `otel-xray-sampler`) |
//!
//! ```
//! use opentelemetry_sdk::trace::SdkTracerProvider;
//!
//! let provider = SdkTracerProvider::builder()
//!     .with_id_generator(otel_xray::XrayIdGenerator::default())
//!     .build();
//! # drop(provider);
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub use otel_xray_id as id;
pub use otel_xray_id::{XrayIdGenerator, XrayTraceId};

/// The `X-Amzn-Trace-Id` propagator crate.
#[cfg(feature = "propagator")]
pub use otel_xray_propagator as propagator;
#[cfg(feature = "propagator")]
pub use otel_xray_propagator::{XrayLambdaPropagator, XrayParentBased, XrayPropagator};

/// The span → segment translator and `XrayExporter` crate.
#[cfg(feature = "exporter")]
pub use otel_xray_exporter as exporter;
#[cfg(feature = "collector")]
pub use otel_xray_exporter::XrayAnnotationExporter;
#[cfg(feature = "otlp")]
pub use otel_xray_exporter::XrayOtlpExporter;
#[cfg(feature = "exporter")]
pub use otel_xray_exporter::{Translator, TranslatorConfig, XrayExporter};

/// The X-Ray remote sampler crate.
#[cfg(feature = "sampler")]
pub use otel_xray_sampler as sampler;
#[cfg(feature = "sampler")]
pub use otel_xray_sampler::XrayRemoteSampler;
