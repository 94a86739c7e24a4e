//! [`XrayRemoteSampler`] and its builder.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::trace::{Link, SpanKind, TraceContextExt, TraceId};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{SamplingDecision, SamplingResult, ShouldSample};
use opentelemetry_sdk::Resource;
use tokio::runtime::Handle;

use crate::engine::Engine;
use crate::error::{BuildError, RuleError};
use crate::poller::{self, PollConfig, Pollers};
use crate::rule::SamplingRule;
use crate::sampling_request::ResourceContext;
use crate::stats::SamplerStats;

/// Default `GetSamplingRules` interval (as the X-Ray SDKs).
pub const DEFAULT_RULES_INTERVAL: Duration = Duration::from_secs(300);
/// Default `GetSamplingTargets` interval (as the X-Ray SDKs; X-Ray may ask for longer per rule).
pub const DEFAULT_TARGETS_INTERVAL: Duration = Duration::from_secs(10);
/// Default age after which polled rules are no longer trusted and the local fallback applies.
pub const DEFAULT_RULES_TTL: Duration = Duration::from_secs(3600);

/// The X-Ray remote sampler: applies the sampling rules configured centrally in X-Ray.
///
/// Rules are tried by ascending priority, then name; the first that matches the span (its
/// attributes, in old and new HTTP semantic conventions) and the service (the resource's
/// `service.name`, `cloud.platform`, ARN) decides: a per-second reservoir first (the quota X-Ray
/// assigns this client, or 1 borrowed request per second until a quota arrives; nothing once the
/// quota's TTL passed), then the rule's fixed rate on the trace id. Until the first successful
/// `GetSamplingRules`, and when the rules are older than the TTL, X-Ray's default rule applies locally:
/// 1 request per second plus 5 %.
///
/// **Parent handling.** The sampler decides every span it is asked about from the rules alone; it
/// reads the parent context only to carry the parent's trace state into the result. Wrap it in
/// `ParentBased` so children follow their parent's decision; with the otel-xray propagator, a header
/// with `Sampled=?` (or no `Sampled`) leaves the decision open and the propagator's ShouldSample
/// wrapper sends such spans to this sampler as if they were roots.
///
/// Clones share rules, statistics and pollers. The pollers stop on [`shutdown`](Self::shutdown) or
/// when the last clone is dropped (e.g. with the tracer provider).
///
/// ```no_run
/// use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
/// use opentelemetry_sdk::Resource;
/// use otel_xray_sampler::XrayRemoteSampler;
///
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
/// let resource = Resource::builder().with_service_name("checkout").build();
/// let sampler = XrayRemoteSampler::builder()
///     .with_resource(resource.clone())
///     .with_sdk_config(&aws)
///     .build()?; // pollers spawned on the current tokio runtime
/// let provider = SdkTracerProvider::builder()
///     .with_resource(resource)
///     .with_sampler(Sampler::ParentBased(Box::new(sampler)))
///     .build();
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct XrayRemoteSampler {
    engine: Arc<Engine>,
    pollers: Option<Arc<Pollers>>,
}

impl fmt::Debug for XrayRemoteSampler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.engine.manifest();
        f.debug_struct("XrayRemoteSampler")
            .field("rules", &m.as_ref().map_or(0, |m| m.rules.len()))
            .field("polling", &self.pollers.is_some())
            .finish()
    }
}

impl XrayRemoteSampler {
    /// Starts configuring a polling sampler.
    pub fn builder() -> XrayRemoteSamplerBuilder {
        XrayRemoteSamplerBuilder::default()
    }

    /// A sampler with fixed local rules and no pollers: the same matching, reservoirs (borrowing
    /// 1/s for rules with a reservoir) and fixed rates, for tests, benchmarks or services that must
    /// not call X-Ray. Fails on the first invalid rule.
    ///
    /// ```
    /// use opentelemetry_sdk::Resource;
    /// use otel_xray_sampler::{SamplingRule, XrayRemoteSampler};
    ///
    /// let resource = Resource::builder_empty().with_service_name("checkout").build();
    /// let sampler = XrayRemoteSampler::from_rules(
    ///     &resource,
    ///     vec![SamplingRule::new("health", 1, 0.0, 0).with_url_path("/health"), SamplingRule::default_rule()],
    /// )
    /// .expect("valid rules");
    /// assert_eq!(sampler.rules().len(), 2);
    /// ```
    pub fn from_rules(resource: &Resource, rules: Vec<SamplingRule>) -> Result<Self, RuleError> {
        for rule in &rules {
            rule.validate()?;
        }
        let engine = Engine::new(ResourceContext::from_resource(resource), DEFAULT_RULES_TTL);
        engine.install(rules, None);
        Ok(Self {
            engine: Arc::new(engine),
            pollers: None,
        })
    }

    /// Stops the pollers (idempotent; they finish their current await promptly). Decisions go on
    /// with the rules and targets already fetched: quotas expire into fixed rates, and after the
    /// rules TTL the local fallback applies.
    pub fn shutdown(&self) {
        if let Some(p) = &self.pollers {
            p.stop();
        }
    }

    /// Counters: polls, rejections, fallback use, live pollers.
    pub fn stats(&self) -> SamplerStats {
        let mut s = self.engine.counters.snapshot();
        let fallback = self.engine.fallback_stats();
        s.fallback_decisions = fallback.requests;
        s.fallback_sampled = fallback.sampled;
        s.in_fallback = self.engine.in_fallback();
        s.rules_in_force = self.engine.manifest().map_or(0, |m| m.rules.len());
        s
    }

    /// The rules in force, in matching order (empty before the first successful poll).
    pub fn rules(&self) -> Vec<SamplingRule> {
        self.engine
            .manifest()
            .map(|m| m.rules.iter().map(|r| r.rule.clone()).collect())
            .unwrap_or_default()
    }

    /// The reservoir quota per second X-Ray currently assigns to `rule_name`, if it assigned one.
    pub fn reservoir_quota(&self, rule_name: &str) -> Option<u32> {
        let m = self.engine.manifest()?;
        let rule = m.rules.iter().find(|r| r.rule.rule_name == rule_name)?;
        rule.target().map(|(quota, _)| quota)
    }

    /// The `ClientID` this process reports in statistics documents (24 hex digits).
    pub fn client_id() -> &'static str {
        poller::client_id()
    }
}

impl ShouldSample for XrayRemoteSampler {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        _name: &str,
        _span_kind: &SpanKind,
        attributes: &[KeyValue],
        _links: &[Link],
    ) -> SamplingResult {
        let decision = if self.engine.decide(trace_id, attributes) {
            SamplingDecision::RecordAndSample
        } else {
            SamplingDecision::Drop
        };
        SamplingResult {
            decision,
            attributes: Vec::new(),
            // Carried over as the SDK's own samplers do; only allocates when the parent has one.
            trace_state: parent_context
                .filter(|cx| cx.has_active_span())
                .map(|cx| cx.span().span_context().trace_state().clone())
                .unwrap_or_default(),
        }
    }
}

/// Configures an [`XrayRemoteSampler`] that polls X-Ray.
///
/// **Runtime.** The pollers run on the runtime given to [`with_runtime`](Self::with_runtime), else
/// on the tokio runtime current when [`build`](Self::build) is called, else on a dedicated thread
/// `otel-xray-sampler` with its own single-threaded runtime — so the sampler can be built inside or
/// outside a runtime. The first `GetSamplingRules` is sent right away; the first
/// `GetSamplingTargets` after one targets interval.
#[derive(Debug)]
pub struct XrayRemoteSamplerBuilder {
    resource: Resource,
    client: Option<aws_sdk_xray::Client>,
    rules_interval: Duration,
    targets_interval: Duration,
    rules_ttl: Duration,
    runtime: Option<Handle>,
}

impl Default for XrayRemoteSamplerBuilder {
    fn default() -> Self {
        Self {
            resource: Resource::builder_empty().build(),
            client: None,
            rules_interval: DEFAULT_RULES_INTERVAL,
            targets_interval: DEFAULT_TARGETS_INTERVAL,
            rules_ttl: DEFAULT_RULES_TTL,
            runtime: None,
        }
    }
}

impl XrayRemoteSamplerBuilder {
    /// The resource of the tracer provider: `service.name`, `cloud.platform`,
    /// `aws.ecs.container.arn`, `cloud.resource_id` are matched against rules. Pass the same
    /// resource as the provider's; the SDK does not hand it to samplers.
    pub fn with_resource(mut self, resource: Resource) -> Self {
        self.resource = resource;
        self
    }

    /// The X-Ray client to poll with (its region, credentials, endpoint, retries and timeouts).
    pub fn with_client(mut self, client: aws_sdk_xray::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Builds the X-Ray client from a shared AWS configuration.
    pub fn with_sdk_config(mut self, config: &aws_config::SdkConfig) -> Self {
        self.client = Some(aws_sdk_xray::Client::new(config));
        self
    }

    /// `GetSamplingRules` interval (default 5 minutes, plus up to 1 % jitter).
    pub fn with_rules_interval(mut self, interval: Duration) -> Self {
        self.rules_interval = interval;
        self
    }

    /// `GetSamplingTargets` interval (default 10 seconds).
    pub fn with_targets_interval(mut self, interval: Duration) -> Self {
        self.targets_interval = interval;
        self
    }

    /// How long polled rules stay in force without a successful poll (default 1 hour).
    pub fn with_rules_ttl(mut self, ttl: Duration) -> Self {
        self.rules_ttl = ttl;
        self
    }

    /// The runtime to spawn the pollers on.
    pub fn with_runtime(mut self, handle: Handle) -> Self {
        self.runtime = Some(handle);
        self
    }

    /// Starts the pollers and returns the sampler, which uses the local fallback until X-Ray answers.
    pub fn build(self) -> Result<XrayRemoteSampler, BuildError> {
        let client = self.client.ok_or(BuildError::MissingClient)?;
        if self.rules_interval.is_zero() {
            return Err(BuildError::ZeroInterval { which: "rules" });
        }
        if self.targets_interval.is_zero() {
            return Err(BuildError::ZeroInterval { which: "targets" });
        }
        let engine = Arc::new(Engine::new(
            ResourceContext::from_resource(&self.resource),
            self.rules_ttl,
        ));
        let config = PollConfig {
            rules_interval: self.rules_interval,
            targets_interval: self.targets_interval,
        };
        let pollers = poller::start(&engine, client, config, self.runtime)?;
        Ok(XrayRemoteSampler {
            engine,
            pollers: Some(Arc::new(pollers)),
        })
    }
}
