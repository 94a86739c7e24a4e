//! The AWS X-Ray remote sampler for OpenTelemetry.
//!
//! Sampling rules are configured centrally in X-Ray (priority, reservoir per second, fixed rate,
//! and globs on service name/type, host, HTTP method, URL path, resource ARN and span attributes).
//! [`XrayRemoteSampler`] polls them with `GetSamplingRules`, reports per-rule request / sampled /
//! borrowed counts and receives its reservoir quota with `GetSamplingTargets`, and decides each span
//! without locks or allocation.
//!
//! Wiring: the sampler is the *root* sampler. Wrap it in a parent-based sampler so
//! children follow their parent. With the otel-xray propagator, prefer
//! `otel_xray_propagator::XrayParentBased::new(xray)`: it also hands spans whose
//! upstream header deferred the decision (`Sampled=?`, or no `Sampled`) to these
//! rules, where the SDK's `ParentBased` (below) would treat them as not sampled.
//!
//! ```no_run
//! use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
//! use opentelemetry_sdk::Resource;
//! use otel_xray_sampler::XrayRemoteSampler;
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
//! let resource = Resource::builder().with_service_name("checkout").build();
//! let xray = XrayRemoteSampler::builder()
//!     .with_resource(resource.clone())
//!     .with_sdk_config(&aws)
//!     .build()?;
//! // Children follow their parent; roots (and deferred parents, via the propagator's wrapper)
//! // are decided by the X-Ray rules.
//! let provider = SdkTracerProvider::builder()
//!     .with_resource(resource)
//!     .with_sampler(Sampler::ParentBased(Box::new(xray.clone())))
//!     .build();
//! // ... on exit:
//! xray.shutdown();
//! # Ok(()) }
//! ```
//!
//! Two behaviours the X-Ray SDKs do not agree on, decided here as the OpenTelemetry Java contrib
//! X-Ray sampler decides them (pinned by `tests/rule_matching.rs` and `tests/targets_limits.rs`): a
//! request value that is missing matches only the pattern `*`, while an empty value is matched as
//! the empty string (the Python X-Ray SDK lets both match any pattern); and once a rule's reservoir
//! quota has expired, the rule samples at its fixed rate and does not borrow again until X-Ray
//! sends a new quota (the Python SDK borrows one request per second again).
//!
//! To reach X-Ray through the X-Ray daemon or an ADOT collector's proxy instead of the public
//! endpoint, give [`XrayRemoteSamplerBuilder::with_client`] a client configured with
//! `endpoint_url("http://localhost:2000")`.

mod ascii_glob;
mod engine;
mod error;
mod live_rule;
mod manifest;
mod matcher;
mod poller;
mod reservoir;
mod rule;
mod rule_index;
mod sampler;
mod sampling_request;
mod stats;

pub use error::{BuildError, RuleError};
pub use rule::{SamplingRule, MAX_PATTERN_LEN, MAX_RULE_NAME_LEN, SUPPORTED_RULE_VERSION};
pub use sampler::{
    XrayRemoteSampler, XrayRemoteSamplerBuilder, DEFAULT_RULES_INTERVAL, DEFAULT_RULES_TTL,
    DEFAULT_TARGETS_INTERVAL,
};
pub use stats::SamplerStats;
