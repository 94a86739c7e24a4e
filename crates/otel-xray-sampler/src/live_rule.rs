//! A rule in force: its compiled patterns, the target X-Ray assigned it, its statistics, and the
//! per-rule half of a decision (does the span match, does the reservoir or fixed rate sample it).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use opentelemetry::trace::TraceId;
use opentelemetry::{KeyValue, Value};

use crate::matcher::Pattern;
use crate::reservoir::{rate_threshold, under_threshold, Reservoir, StripedStatistics};
use crate::rule::SamplingRule;
use crate::sampling_request::{with_value_text, ResourceContext, SpanFields};

/// Distinct attribute keys (across a manifest's candidate rules) looked up in one pass over the span's
/// attributes; with more, each rule scans the attributes for its own keys.
pub(crate) const INDEXED_KEYS: usize = 8;

/// The span's value for each indexed attribute key (the first attribute with that key).
pub(crate) type AttributeValues<'a> = [Option<&'a Value>; INDEXED_KEYS];

/// `quota_expiry_ms` before the first target: the rule borrows 1 request per second.
const NO_TARGET: u64 = u64::MAX;

/// A rule in force: compiled patterns, the target X-Ray assigned, and statistics to report.
#[derive(Debug)]
pub(crate) struct LiveRule {
    pub(crate) rule: SamplingRule,
    http_method: Pattern,
    host: Pattern,
    url_path: Pattern,
    resource_arn: Pattern,
    pub(crate) attributes: Vec<(String, Pattern)>,
    /// Service name, service type and (when the resource has it) resource ARN all match.
    pub(crate) applies_to_service: bool,
    /// On Lambda the ARN is the span's `cloud.resource_id`, so it is checked per span.
    arn_per_span: bool,
    pub(crate) stats: StripedStatistics,
    /// 1 per second until X-Ray assigns a quota.
    borrowing: Reservoir,
    /// The assigned quota per second.
    reservoir: Reservoir,
    quota: AtomicU32,
    quota_expiry_ms: AtomicU64,
    fixed_rate: AtomicU64,
    /// Engine time at which statistics for this rule are next due (the target's `Interval`).
    pub(crate) next_report_ms: AtomicU64,
}

impl LiveRule {
    pub(crate) fn new(rule: SamplingRule, ctx: &ResourceContext) -> Self {
        let service_name = Pattern::new(&rule.service_name);
        let service_type = Pattern::new(&rule.service_type);
        let resource_arn = Pattern::new(&rule.resource_arn);
        let arn_per_span = ctx.arn_from_span && !resource_arn.is_any();
        let applies_to_service = service_name.matches_opt(ctx.service_name.as_deref())
            && service_type.matches_opt(ctx.service_type)
            && (arn_per_span || resource_arn.matches_opt(ctx.resource_arn.as_deref()));
        Self {
            http_method: Pattern::new(&rule.http_method),
            host: Pattern::new(&rule.host),
            url_path: Pattern::new(&rule.url_path),
            attributes: rule
                .attributes
                .iter()
                .map(|(k, v)| (k.clone(), Pattern::new(v)))
                .collect(),
            resource_arn,
            applies_to_service,
            arn_per_span,
            stats: StripedStatistics::default(),
            borrowing: Reservoir::new(),
            reservoir: Reservoir::new(),
            quota: AtomicU32::new(0),
            quota_expiry_ms: AtomicU64::new(NO_TARGET),
            fixed_rate: AtomicU64::new(rate_threshold(rule.fixed_rate)),
            next_report_ms: AtomicU64::new(0),
            rule,
        }
    }

    /// The HTTP method, URL path and host patterns.
    pub(crate) fn request_patterns(&self) -> (&Pattern, &Pattern, &Pattern) {
        (&self.http_method, &self.url_path, &self.host)
    }

    /// The rule's condition on attribute `key`, if it has one.
    pub(crate) fn attribute_pattern(&self, key: &str) -> Option<&Pattern> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, pattern)| pattern)
    }

    pub(crate) fn uses_span_fields(&self) -> bool {
        self.arn_per_span
            || !self.http_method.is_any()
            || !self.url_path.is_any()
            || !self.host.is_any()
    }

    /// Request-side matching; the service side was decided when the rule was loaded. `slots` gives,
    /// per attribute condition, its key's index in `values` (`None`: scan `attributes`).
    #[inline]
    pub(crate) fn matches(
        &self,
        fields: &SpanFields<'_>,
        slots: Option<&[u8]>,
        values: &AttributeValues<'_>,
        attributes: &[KeyValue],
    ) -> bool {
        self.http_method.matches_opt(fields.http_method)
            && self.url_path.matches_opt(fields.url_path)
            && self.host.matches_opt(fields.host)
            && (!self.arn_per_span || self.resource_arn.matches_opt(fields.cloud_resource_id))
            && self
                .attributes
                .iter()
                .enumerate()
                .all(|(j, (key, pattern))| {
                    let value = match slots {
                        Some(slots) => values[usize::from(slots[j])],
                        None => attributes
                            .iter()
                            .find(|kv| kv.key.as_str() == key)
                            .map(|kv| &kv.value),
                    };
                    value
                        .and_then(|v| with_value_text(v, |text| pattern.matches(text)))
                        .unwrap_or(false)
                })
    }

    /// Reservoir first (borrowed 1/s until X-Ray assigns a quota, then the quota until its TTL),
    /// then the fixed rate.
    pub(crate) fn sample(&self, now_ms: u64, trace_id: TraceId) -> bool {
        let second = (now_ms / 1000) as u32;
        let expiry = self.quota_expiry_ms.load(Ordering::Acquire);
        let (sampled, borrowed) = if expiry == NO_TARGET {
            if self.rule.reservoir_size > 0 && self.borrowing.take(second, 1) {
                (true, true)
            } else {
                (self.fixed_rate_sample(trace_id), false)
            }
        } else if now_ms < expiry
            && self
                .reservoir
                .take(second, self.quota.load(Ordering::Relaxed))
        {
            (true, false)
        } else {
            (self.fixed_rate_sample(trace_id), false)
        };
        self.stats.record(sampled, borrowed);
        sampled
    }

    fn fixed_rate_sample(&self, trace_id: TraceId) -> bool {
        under_threshold(trace_id, self.fixed_rate.load(Ordering::Relaxed))
    }

    /// Installs a target from `GetSamplingTargets`. `quota` is `(per second, expiry in engine ms)`;
    /// without one the previous quota (if any) stays until its own expiry.
    pub(crate) fn apply_target(&self, fixed_rate: f64, quota: Option<(u32, u64)>) {
        self.fixed_rate
            .store(rate_threshold(fixed_rate), Ordering::Relaxed);
        if let Some((per_second, expiry_ms)) = quota {
            self.quota.store(per_second, Ordering::Relaxed);
            // Release: a decision that sees the expiry also sees the quota stored before it.
            self.quota_expiry_ms
                .store(expiry_ms.min(NO_TARGET - 1), Ordering::Release);
        }
    }

    /// The quota per second and its expiry (engine ms), once X-Ray has assigned one.
    pub(crate) fn target(&self) -> Option<(u32, u64)> {
        let expiry = self.quota_expiry_ms.load(Ordering::Acquire);
        (expiry != NO_TARGET).then(|| (self.quota.load(Ordering::Relaxed), expiry))
    }
}
