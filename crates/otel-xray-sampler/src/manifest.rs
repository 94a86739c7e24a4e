//! The manifest: the sorted rule set in force, each rule with its live target and statistics, and the
//! decision made on the hot path.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwapOption;
use opentelemetry::trace::TraceId;
use opentelemetry::{KeyValue, Value};

use crate::matcher::Pattern;
use crate::reservoir::{rate_threshold, under_threshold, Reservoir, StripedStatistics};
use crate::rule::SamplingRule;
use crate::rule_index::{Probe, Probes, RuleBlock};
use crate::sampling_request::{
    length_bit, with_value_text, FieldReader, ResourceContext, SpanFields,
};
use crate::stats::Counters;

/// Distinct attribute keys (across a manifest's candidate rules) looked up in one pass over the span's
/// attributes; with more, each rule scans the attributes for its own keys.
const INDEXED_KEYS: usize = 8;

/// The span's value for each indexed attribute key (the first attribute with that key).
type AttributeValues<'a> = [Option<&'a Value>; INDEXED_KEYS];

/// `quota_expiry_ms` before the first target: the rule borrows 1 request per second.
const NO_TARGET: u64 = u64::MAX;

/// The kernel's coarse monotonic clock: a fraction of the cost of `Instant::now()` on every decision,
/// and no shared cache line written (unlike coarsetime's cached `now()`).
fn coarse_ticks() -> u64 {
    coarsetime::Instant::now_without_cache_update().as_ticks()
}

/// Coarse ticks are seconds with 32 fractional bits.
fn ticks_to_ms(ticks: u64) -> u64 {
    ((u128::from(ticks) * 1000) >> 32) as u64
}

/// A rule in force: compiled patterns, the target X-Ray assigned, and statistics to report.
#[derive(Debug)]
pub(crate) struct LiveRule {
    pub(crate) rule: SamplingRule,
    http_method: Pattern,
    host: Pattern,
    url_path: Pattern,
    resource_arn: Pattern,
    attributes: Vec<(String, Pattern)>,
    /// Service name, service type and (when the resource has it) resource ARN all match.
    applies_to_service: bool,
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

    fn uses_span_fields(&self) -> bool {
        self.arn_per_span
            || !self.http_method.is_any()
            || !self.url_path.is_any()
            || !self.host.is_any()
    }

    /// Request-side matching; the service side was decided when the rule was loaded. `slots` gives,
    /// per attribute condition, its key's index in `values` (`None`: scan `attributes`).
    #[inline]
    fn matches(
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
    fn sample(&self, now_ms: u64, trace_id: TraceId) -> bool {
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

/// One immutable rule set, swapped atomically when X-Ray serves new rules.
#[derive(Debug)]
pub(crate) struct Manifest {
    /// All valid rules, by priority then name.
    pub(crate) rules: Vec<Arc<LiveRule>>,
    /// The subset that can match this service, in matching order, with their lookup tables.
    blocks: Vec<RuleBlock>,
    /// Distinct attribute keys of the candidates' conditions, when there are at most
    /// [`INDEXED_KEYS`]; empty otherwise.
    attribute_keys: Vec<String>,
    /// [`length_bit`]s of the request-field keys when a candidate looks at HTTP fields or the span's
    /// ARN (else 0: the attributes are not read for them).
    field_lengths: u64,
    /// The [`length_bit`]s of `attribute_keys`.
    attribute_lengths: u64,
    /// `field_lengths | attribute_lengths`: the attributes a decision reads.
    key_lengths: u64,
    /// Engine time after which the rules are too old to trust (no successful poll for the TTL).
    expires_at_ms: u64,
    /// Wall-clock time the rules were fetched, compared with `LastRuleModification`.
    pub(crate) fetched_at: SystemTime,
}

static NEXT_ENGINE_ID: AtomicU64 = AtomicU64::new(1);

/// The manifest a thread last decided with. Loading from the `ArcSwap` on every decision costs
/// more than the decision itself (it registers the reader with a shared debt list); a thread keeps
/// the manifest until the engine's generation moves on. It holds at most one superseded manifest
/// (kept until the thread's next decision).
struct CachedManifest {
    engine: u64,
    generation: u64,
    manifest: Option<Arc<Manifest>>,
}

thread_local! {
    static CURRENT_MANIFEST: std::cell::RefCell<CachedManifest> = const {
        std::cell::RefCell::new(CachedManifest { engine: 0, generation: 0, manifest: None })
    };
}

/// The decision engine shared by the sampler's clones and its pollers.
#[derive(Debug)]
pub(crate) struct Engine {
    manifest: ArcSwapOption<Manifest>,
    /// Distinguishes engines in the per-thread manifest cache (never reused, unlike an address).
    id: u64,
    /// Bumped after every manifest store: a thread whose cached generation is current holds the
    /// manifest in force without loading it again.
    generation: AtomicU64,
    resource: ResourceContext,
    /// X-Ray's default rule applied locally: 1/s reservoir + 5 %.
    fallback: LiveRule,
    /// Coarse monotonic ticks (32 fractional bits of a second) when the engine was created.
    base_ticks: u64,
    manifest_ttl: Duration,
    pub(crate) counters: Counters,
}

impl Engine {
    pub(crate) fn new(resource: ResourceContext, manifest_ttl: Duration) -> Self {
        Self {
            manifest: ArcSwapOption::empty(),
            id: NEXT_ENGINE_ID.fetch_add(1, Ordering::Relaxed),
            generation: AtomicU64::new(0),
            fallback: LiveRule::new(SamplingRule::default_rule(), &ResourceContext::default()),
            resource,
            base_ticks: coarse_ticks(),
            manifest_ttl,
            counters: Counters::default(),
        }
    }

    /// Milliseconds since the engine was created (monotonic, a few milliseconds of resolution:
    /// reservoirs count whole seconds and quotas expire after seconds).
    pub(crate) fn now_ms(&self) -> u64 {
        ticks_to_ms(coarse_ticks().saturating_sub(self.base_ticks))
    }

    /// Converts an absolute wall-clock time (a quota TTL) to engine time.
    pub(crate) fn engine_ms_at(&self, when: SystemTime) -> u64 {
        let now_ms = self.now_ms();
        match when.duration_since(SystemTime::now()) {
            Ok(ahead) => now_ms.saturating_add(ahead.as_millis() as u64),
            Err(behind) => now_ms.saturating_sub(behind.duration().as_millis() as u64),
        }
    }

    pub(crate) fn decide(&self, trace_id: TraceId, attributes: &[KeyValue]) -> bool {
        self.decide_at(self.now_ms(), trace_id, attributes)
    }

    pub(crate) fn decide_at(
        &self,
        now_ms: u64,
        trace_id: TraceId,
        attributes: &[KeyValue],
    ) -> bool {
        let generation = self.generation.load(Ordering::Acquire);
        let cached = CURRENT_MANIFEST.try_with(|cell| {
            let mut cache = cell.try_borrow_mut().ok()?;
            if cache.engine != self.id || cache.generation != generation {
                *cache = CachedManifest {
                    engine: self.id,
                    generation,
                    manifest: self.manifest.load_full(),
                };
            }
            Some(self.decide_with(cache.manifest.as_deref(), now_ms, trace_id, attributes))
        });
        match cached {
            Ok(Some(sampled)) => sampled,
            // The thread is exiting (its cache is gone), or its cache is in use by a decision
            // further up this thread's stack: load the manifest directly.
            _ => self.decide_with(
                self.manifest.load().as_deref(),
                now_ms,
                trace_id,
                attributes,
            ),
        }
    }

    fn decide_with(
        &self,
        manifest: Option<&Manifest>,
        now_ms: u64,
        trace_id: TraceId,
        attributes: &[KeyValue],
    ) -> bool {
        let Some(manifest) = manifest.filter(|m| now_ms < m.expires_at_ms) else {
            return self.fallback.sample(now_ms, trace_id);
        };
        let mut reader = FieldReader::default();
        let mut values: AttributeValues<'_> = [None; INDEXED_KEYS];
        if manifest.key_lengths != 0 {
            // One pass over the span for the request fields and the rules' attribute keys; the first
            // occurrence of an attribute key wins.
            for kv in attributes {
                let key = kv.key.as_str();
                let bit = length_bit(key);
                if manifest.key_lengths & bit == 0 {
                    continue;
                }
                if manifest.field_lengths & bit != 0 {
                    reader.offer(key, &kv.value);
                }
                if manifest.attribute_lengths & bit != 0 {
                    for (slot, wanted) in values.iter_mut().zip(&manifest.attribute_keys) {
                        if key == wanted {
                            slot.get_or_insert(&kv.value);
                            break;
                        }
                    }
                }
            }
        }
        let fields = reader.finish();
        let keys = manifest.attribute_keys.len();
        let mut attribute_probes = [Probe::Absent; INDEXED_KEYS];
        for (probe, value) in attribute_probes.iter_mut().zip(&values[..keys]) {
            *probe = Probe::of_value(*value);
        }
        let probes = Probes {
            http_method: Probe::of_text(fields.http_method),
            url_path: Probe::of_text(fields.url_path),
            host: Probe::of_text(fields.host),
            attributes: &attribute_probes[..keys],
        };
        for block in &manifest.blocks {
            // Only rules whose literal pattern starts agree with the span, still in matching order.
            let mut bits = block.candidates(&probes);
            while bits != 0 {
                let (rule, slots) = block.rule(bits.trailing_zeros() as usize);
                bits &= bits - 1;
                if rule.matches(&fields, slots, &values, attributes) {
                    return rule.sample(now_ms, trace_id);
                }
            }
        }
        // X-Ray always serves the catch-all `Default`; reaching here means it was left out.
        self.counters.unmatched.fetch_add(1, Ordering::Relaxed);
        self.fallback.sample(now_ms, trace_id)
    }

    /// Replaces the rule set. A rule whose definition did not change keeps its target and unreported
    /// statistics. `ttl` of `None` never expires (local rules).
    pub(crate) fn install(&self, mut rules: Vec<SamplingRule>, ttl: Option<Duration>) {
        rules.sort_by(|a, b| {
            a.priority
                .cmp(&b.priority)
                .then_with(|| a.rule_name.cmp(&b.rule_name))
        });
        // Names are unique in X-Ray; a duplicate from a broken endpoint would share statistics.
        rules.dedup_by(|b, a| {
            let dup = a.rule_name == b.rule_name;
            if dup {
                self.counters.rules_rejected.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(rule = %b.rule_name, "duplicate X-Ray sampling rule name ignored");
            }
            dup
        });
        let previous = self.manifest.load_full();
        let live: Vec<Arc<LiveRule>> = rules
            .into_iter()
            .map(|rule| {
                previous
                    .as_ref()
                    .and_then(|m| m.rules.iter().find(|old| old.rule == rule).cloned())
                    .unwrap_or_else(|| Arc::new(LiveRule::new(rule, &self.resource)))
            })
            .collect();
        let candidates: Vec<Arc<LiveRule>> = live
            .iter()
            .filter(|r| r.applies_to_service)
            .cloned()
            .collect();
        let needs_fields = candidates.iter().any(|r| r.uses_span_fields());
        let mut attribute_keys: Vec<String> = Vec::new();
        for (key, _) in candidates.iter().flat_map(|r| &r.attributes) {
            if !attribute_keys.contains(key) {
                attribute_keys.push(key.clone());
            }
        }
        if attribute_keys.len() > INDEXED_KEYS {
            attribute_keys.clear();
        }
        let attribute_slots = candidates
            .iter()
            .map(|r| {
                r.attributes
                    .iter()
                    .map(|(key, _)| {
                        let i = attribute_keys.iter().position(|k| k == key)?;
                        u8::try_from(i).ok()
                    })
                    .collect::<Option<Box<[u8]>>>()
            })
            .collect();
        let field_lengths = if needs_fields {
            FieldReader::KEY_LENGTHS
        } else {
            0
        };
        let attribute_lengths = attribute_keys
            .iter()
            .fold(0, |bits, key| bits | length_bit(key));
        let blocks = RuleBlock::build(&candidates, attribute_slots, &attribute_keys);
        let expires_at_ms = match ttl {
            Some(ttl) => self.now_ms().saturating_add(ttl.as_millis() as u64),
            None => u64::MAX,
        };
        self.manifest.store(Some(Arc::new(Manifest {
            rules: live,
            blocks,
            attribute_keys,
            field_lengths,
            attribute_lengths,
            key_lengths: field_lengths | attribute_lengths,
            expires_at_ms,
            fetched_at: SystemTime::now(),
        })));
        // Release: a thread that sees the new generation loads the manifest stored above.
        self.generation.fetch_add(1, Ordering::Release);
    }

    pub(crate) fn install_polled(&self, rules: Vec<SamplingRule>) {
        self.install(rules, Some(self.manifest_ttl));
    }

    pub(crate) fn manifest(&self) -> Option<Arc<Manifest>> {
        self.manifest.load_full()
    }

    /// Whether the fallback is in force (no rules yet, or rules older than the TTL).
    pub(crate) fn in_fallback(&self) -> bool {
        let now = self.now_ms();
        self.manifest
            .load()
            .as_ref()
            .is_none_or(|m| now >= m.expires_at_ms)
    }

    pub(crate) fn fallback_stats(&self) -> crate::reservoir::Counts {
        self.fallback.stats.peek()
    }
}

#[cfg(test)]
#[path = "manifest_tests.rs"]
mod tests;
