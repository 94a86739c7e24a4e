// The README is the crate documentation, so every `rust` block in it is compiled (and, unless
// marked `no_run`, run) by `cargo test --doc`. Its examples use every feature; with fewer
// features the crate documentation is the short text below instead.
#![cfg_attr(
    all(feature = "api", feature = "collector", feature = "otlp", feature = "sampler"),
    doc = include_str!("../README.md")
)]
#![cfg_attr(
    not(all(
        feature = "api",
        feature = "collector",
        feature = "otlp",
        feature = "sampler"
    )),
    doc = "AWS X-Ray for OpenTelemetry in Rust: the facade over the `otel-xray-*` crates, one \
           module per crate, picked with feature flags. The full guide is the README (build the \
           documentation with `--all-features` to read it here)."
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

/// X-Ray trace IDs and the ID generator (crate `otel-xray-id`), always present.
pub use otel_xray_id as id;

/// The `X-Amzn-Trace-Id` propagator, Lambda and SQS helpers, and the deferred-sampling wrappers
/// (crate `otel-xray-propagator`, feature `propagator`).
#[cfg(feature = "propagator")]
pub use otel_xray_propagator as propagator;

/// The span → segment translator and `XrayExporter` (crate `otel-xray-exporter`, feature
/// `exporter`; its transports with `daemon`, `api` and `collector`).
#[cfg(feature = "exporter")]
pub use otel_xray_exporter as exporter;

/// The X-Ray remote sampler (crate `otel-xray-sampler`, feature `sampler`).
#[cfg(feature = "sampler")]
pub use otel_xray_sampler as sampler;
