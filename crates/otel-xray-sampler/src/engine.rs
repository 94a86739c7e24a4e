//! The decision engine shared by the sampler's clones and its pollers: the manifest in force, the
//! local fallback rule, engine time, and the decision made on the hot path.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwapOption;
use opentelemetry::trace::TraceId;
use opentelemetry::KeyValue;

use crate::live_rule::{AttributeValues, LiveRule, INDEXED_KEYS};
use crate::manifest::Manifest;
use crate::rule::SamplingRule;
use crate::rule_index::{Probe, Probes};
use crate::sampling_request::{length_bit, FieldReader, ResourceContext};
use crate::stats::Counters;

/// The kernel's coarse monotonic clock: a fraction of the cost of `Instant::now()` on every decision,
/// and no shared cache line written (unlike coarsetime's cached `now()`).
fn coarse_ticks() -> u64 {
    coarsetime::Instant::now_without_cache_update().as_ticks()
}

/// Coarse ticks are seconds with 32 fractional bits.
fn ticks_to_ms(ticks: u64) -> u64 {
    ((u128::from(ticks) * 1000) >> 32) as u64
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
        let expires_at_ms = match ttl {
            Some(ttl) => self.now_ms().saturating_add(ttl.as_millis() as u64),
            None => u64::MAX,
        };
        self.manifest
            .store(Some(Arc::new(Manifest::new(live, expires_at_ms))));
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
#[path = "engine_tests.rs"]
mod tests;
