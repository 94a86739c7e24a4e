//! `XrayLambdaPropagator`: the `xray-lambda` behaviour of the OpenTelemetry
//! specification for AWS Lambda.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry::Context;

use crate::header::Sampling;
use crate::propagator::{context_with_header, XrayPropagator};

/// The environment variable Lambda sets to the invocation's trace header.
pub const LAMBDA_TRACE_HEADER_ENV: &str = "_X_AMZN_TRACE_ID";

/// What to do with a Lambda-supplied header that says `Sampled=0`.
///
/// Lambda sets `_X_AMZN_TRACE_ID` even when the function's *active tracing* is off,
/// and then it always says `Sampled=0` (opentelemetry-lambda #1782): the decision
/// means "X-Ray tracing is disabled for this function", not "the caller dropped
/// this trace". Under the specification's behaviour ([`Honour`](Self::Honour), the
/// default) every span of such a function is dropped by a parent-based sampler.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UnsampledLambdaHeader {
    /// Use it as any `Sampled=0` header: the trace is not sampled (specification).
    #[default]
    Honour,
    /// Keep the trace ID and parent, but let the local root sampler decide, as for
    /// `Sampled=?` (with [`XrayParentBased`](crate::XrayParentBased)).
    Defer,
    /// Do not use the Lambda header at all: spans start a new trace.
    Ignore,
}

/// Which header wins when both the carrier and Lambda have one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LambdaHeaderPrecedence {
    /// A valid X-Ray header in the carrier wins; the Lambda header is used only when
    /// the carrier (and any earlier propagator) gave no valid span context.
    #[default]
    CarrierFirst,
    /// The specification's pseudo-code: if the context passed *in* already has a
    /// valid span (an earlier propagator in a composite found one), the carrier
    /// result is returned; otherwise a valid Lambda header wins over the carrier,
    /// so the function's spans hang under its own Lambda segment.
    Specification,
}

/// The `xray-lambda` propagator: the carrier first, then the Lambda trace header.
///
/// Extract runs [`XrayPropagator`] on the carrier. If the result has a valid span
/// context (from this carrier, or from a propagator earlier in a composite, e.g. a
/// W3C `traceparent`), that is returned. Otherwise the Lambda trace header is used:
/// the value passed to [`extract_with_lambda_header`](Self::extract_with_lambda_header)
/// (for Lambda Managed Instances, where `_X_AMZN_TRACE_ID` is not set, pass
/// `lambda_runtime::Context::xray_trace_id`), else the `_X_AMZN_TRACE_ID` variable.
/// A `Sampled=0` Lambda header is treated per [`UnsampledLambdaHeader`].
///
/// The specification's pseudo-code lets the Lambda header win over a valid X-Ray
/// carrier when nothing came before it; by default this type prefers the carrier
/// (a header on the incoming event is never overridden); choose
/// [`LambdaHeaderPrecedence::Specification`] for the specification's order.
///
/// Inject and `fields()` are those of [`XrayPropagator`].
///
/// ```
/// use std::collections::HashMap;
/// use opentelemetry::propagation::TextMapPropagator;
/// use opentelemetry::trace::TraceContextExt;
/// use opentelemetry::Context;
/// use otel_xray_propagator::{UnsampledLambdaHeader, XrayLambdaPropagator};
///
/// let propagator = XrayLambdaPropagator::default()
///     .with_unsampled_lambda_header(UnsampledLambdaHeader::Defer);
/// // In a handler: `event_ctx.xray_trace_id.as_deref()` from lambda_runtime.
/// let from_runtime = Some("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1");
/// let no_headers: HashMap<String, String> = HashMap::new();
/// let cx = propagator.extract_with_lambda_header(&Context::new(), &no_headers, from_runtime);
/// assert!(cx.span().span_context().is_sampled());
/// ```
#[derive(Clone, Debug)]
pub struct XrayLambdaPropagator {
    xray: XrayPropagator,
    unsampled: UnsampledLambdaHeader,
    precedence: LambdaHeaderPrecedence,
    read_env: fn() -> Option<String>,
    counters: Arc<LambdaCounters>,
}

#[derive(Debug, Default)]
struct LambdaCounters {
    used: AtomicU64,
    ignored_unsampled: AtomicU64,
}

/// How often [`XrayLambdaPropagator`] fell back to the Lambda header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LambdaStats {
    /// Extracts that used the Lambda header.
    pub used: u64,
    /// Valid `Sampled=0` Lambda headers not used under [`UnsampledLambdaHeader::Ignore`].
    pub ignored_unsampled: u64,
}

fn read_lambda_env() -> Option<String> {
    std::env::var(LAMBDA_TRACE_HEADER_ENV).ok()
}

impl Default for XrayLambdaPropagator {
    fn default() -> Self {
        Self {
            xray: XrayPropagator::default(),
            unsampled: UnsampledLambdaHeader::default(),
            precedence: LambdaHeaderPrecedence::default(),
            read_env: read_lambda_env,
            counters: Arc::default(),
        }
    }
}

impl XrayLambdaPropagator {
    /// Same as [`XrayLambdaPropagator::default`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets how a `Sampled=0` Lambda header is used.
    pub fn with_unsampled_lambda_header(mut self, policy: UnsampledLambdaHeader) -> Self {
        self.unsampled = policy;
        self
    }

    /// Sets which header wins when both the carrier and Lambda have one.
    pub fn with_precedence(mut self, precedence: LambdaHeaderPrecedence) -> Self {
        self.precedence = precedence;
        self
    }

    /// Replaces the `_X_AMZN_TRACE_ID` lookup (for custom runtimes that keep the
    /// header elsewhere, and for tests).
    pub fn with_lambda_header_source(mut self, source: fn() -> Option<String>) -> Self {
        self.read_env = source;
        self
    }

    /// The inner [`XrayPropagator`] (its [`stats`](XrayPropagator::stats) count
    /// rejected carrier and Lambda headers alike).
    pub fn xray(&self) -> &XrayPropagator {
        &self.xray
    }

    /// How the Lambda header was used since construction.
    pub fn lambda_stats(&self) -> LambdaStats {
        LambdaStats {
            used: self.counters.used.load(Ordering::Relaxed),
            ignored_unsampled: self.counters.ignored_unsampled.load(Ordering::Relaxed),
        }
    }

    /// Extract with an explicit Lambda trace header, which takes the place of
    /// `_X_AMZN_TRACE_ID` when it is `Some` and non-empty.
    pub fn extract_with_lambda_header(
        &self,
        cx: &Context,
        extractor: &dyn Extractor,
        lambda_header: Option<&str>,
    ) -> Context {
        let from_carrier = self.xray.extract_with_context(cx, extractor);
        let settled = match self.precedence {
            LambdaHeaderPrecedence::CarrierFirst => &from_carrier,
            LambdaHeaderPrecedence::Specification => cx,
        };
        if settled.span().span_context().is_valid() {
            return from_carrier;
        }
        let env;
        let header = match lambda_header.filter(|h| !h.is_empty()) {
            Some(h) => h,
            None => {
                env = (self.read_env)();
                match env.as_deref().filter(|h| !h.is_empty()) {
                    Some(h) => h,
                    None => return from_carrier,
                }
            }
        };
        let Ok(mut parsed) = self.xray.parse_header(header.as_bytes()) else {
            return from_carrier;
        };
        if parsed.sampling == Sampling::NotSampled {
            match self.unsampled {
                UnsampledLambdaHeader::Honour => {}
                UnsampledLambdaHeader::Defer => parsed.sampling = Sampling::Deferred,
                UnsampledLambdaHeader::Ignore => {
                    self.counters
                        .ignored_unsampled
                        .fetch_add(1, Ordering::Relaxed);
                    return from_carrier;
                }
            }
        }
        self.counters.used.fetch_add(1, Ordering::Relaxed);
        context_with_header(&from_carrier, &parsed)
    }
}

impl TextMapPropagator for XrayLambdaPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        self.xray.inject_context(cx, injector);
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        self.extract_with_lambda_header(cx, extractor, None)
    }

    fn fields(&self) -> FieldIter<'_> {
        self.xray.fields()
    }
}
