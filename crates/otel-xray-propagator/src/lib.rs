//! The AWS X-Ray `X-Amzn-Trace-Id` propagator for OpenTelemetry, with Lambda and
//! SQS helpers.
//!
//! * [`XrayPropagator`] — a [`TextMapPropagator`](opentelemetry::propagation::TextMapPropagator)
//!   for `X-Amzn-Trace-Id`, lenient where peers disagree harmlessly (spaces, order,
//!   unknown keys, header-name case) and strict on IDs;
//! * [`XrayLambdaPropagator`] — the `xray-lambda` behaviour: carrier first, then
//!   `_X_AMZN_TRACE_ID` or the Lambda runtime's trace header;
//! * [`TraceHeader`] — the header model, usable without a propagator;
//! * [`XrayParentBased`] / [`DeferredToRoot`] — samplers that let the local root
//!   sampler decide when the upstream decision was deferred (`Sampled=?` or absent),
//!   see [`sampling_deferred`];
//! * [`sqs`] — the `AWSTraceHeader` system attribute and a message attribute.
//!
//! ```
//! use opentelemetry::propagation::TextMapCompositePropagator;
//! use opentelemetry_sdk::propagation::TraceContextPropagator;
//! use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
//! use otel_xray_propagator::{XrayParentBased, XrayPropagator};
//!
//! opentelemetry::global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
//!     Box::new(TraceContextPropagator::new()),
//!     Box::new(XrayPropagator::default()),
//! ]));
//! let provider = SdkTracerProvider::builder()
//!     .with_sampler(XrayParentBased::new(Sampler::TraceIdRatioBased(0.05)))
//!     .build();
//! # drop(provider);
//! ```

mod header;
mod lambda;
mod lineage;
mod propagator;
mod remote;
mod sampler;
pub mod sqs;

pub use header::{
    EncodedHeader, HeaderError, ParseReport, Sampling, TraceHeader, MAX_ENCODED_LEN, MAX_HEADER_LEN,
};
pub use lambda::{
    LambdaHeaderPrecedence, LambdaStats, UnsampledLambdaHeader, XrayLambdaPropagator,
    LAMBDA_TRACE_HEADER_ENV,
};
pub use lineage::{Lineage, LineageError};
pub use propagator::{
    context_with_header, AnyCaseMap, PropagatorStats, XrayPropagator, TRACE_HEADER_NAME,
};
pub use remote::{lineage, sampling_deferred, trace_header_for};
pub use sampler::{DeferredToRoot, XrayParentBased};
