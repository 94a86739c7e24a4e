//! Errors of this crate.

/// Why a sampling rule from X-Ray (or given locally) was not installed. Rejected rules are counted in
/// [`SamplerStats::rules_rejected`](crate::SamplerStats::rules_rejected) and logged at `warn`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleError {
    /// The record has no `SamplingRule`, or the rule no `RuleName` (or an empty one).
    #[error("sampling rule without a name")]
    MissingName,
    /// `RuleName` is longer than the 32 characters X-Ray allows.
    #[error("sampling rule name {rule:?} has {len} characters, more than 32")]
    NameTooLong {
        /// The rule name.
        rule: String,
        /// Its length in characters.
        len: usize,
    },
    /// `Version` is not 1, the only version this sampler understands.
    #[error("sampling rule {rule:?} has version {version}, only version 1 is supported")]
    UnsupportedVersion {
        /// The rule name.
        rule: String,
        /// The version X-Ray sent.
        version: i32,
    },
    /// `FixedRate` is NaN or outside 0.0–1.0.
    #[error("sampling rule {rule:?} has fixed rate {fixed_rate}, outside 0.0..=1.0")]
    FixedRateOutOfRange {
        /// The rule name.
        rule: String,
        /// The rate X-Ray sent.
        fixed_rate: f64,
    },
    /// `ReservoirSize` is negative.
    #[error("sampling rule {rule:?} has a negative reservoir size {reservoir_size}")]
    NegativeReservoir {
        /// The rule name.
        rule: String,
        /// The size X-Ray sent.
        reservoir_size: i32,
    },
    /// A glob is longer than [`MAX_PATTERN_LEN`](crate::MAX_PATTERN_LEN) bytes.
    #[error("sampling rule {rule:?} has a {field} pattern of {len} bytes, over the limit")]
    PatternTooLong {
        /// The rule name.
        rule: String,
        /// The X-Ray field name (`URLPath`, `Attributes`, ...).
        field: &'static str,
        /// The pattern length in bytes.
        len: usize,
    },
}

/// Why [`XrayRemoteSamplerBuilder::build`](crate::XrayRemoteSamplerBuilder::build) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// Neither [`with_client`](crate::XrayRemoteSamplerBuilder::with_client) nor
    /// [`with_sdk_config`](crate::XrayRemoteSamplerBuilder::with_sdk_config) was called.
    #[error("no X-Ray client: call with_client or with_sdk_config")]
    MissingClient,
    /// A polling interval of zero was configured.
    #[error("the {which} polling interval must be greater than zero")]
    ZeroInterval {
        /// `"rules"` or `"targets"`.
        which: &'static str,
    },
    /// No runtime handle was given, none was current, and the dedicated poller thread (with its
    /// own single-threaded tokio runtime) could not be started.
    #[error("could not start the sampler's poller thread: {0}")]
    PollerThread(#[source] std::io::Error),
}
