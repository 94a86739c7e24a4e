//! What the sampler did, for operators: polls, rejections, fallback use.

use std::sync::atomic::{AtomicU64, Ordering};

/// Internal counters; read through [`SamplerStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) rules_polls_ok: AtomicU64,
    pub(crate) rules_polls_failed: AtomicU64,
    pub(crate) rules_rejected: AtomicU64,
    pub(crate) targets_polls_ok: AtomicU64,
    pub(crate) targets_polls_failed: AtomicU64,
    pub(crate) targets_applied: AtomicU64,
    pub(crate) targets_rejected: AtomicU64,
    pub(crate) unprocessed_statistics: AtomicU64,
    pub(crate) statistics_lost: AtomicU64,
    pub(crate) unmatched: AtomicU64,
    pub(crate) live_pollers: AtomicU64,
}

/// A snapshot of the sampler's counters since it was built.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SamplerStats {
    /// Successful `GetSamplingRules` polls (all pages).
    pub rules_polls_ok: u64,
    /// Failed `GetSamplingRules` polls; the previous rules (or the fallback) stay in force.
    pub rules_polls_failed: u64,
    /// Rules not installed: invalid (see [`RuleError`](crate::RuleError)) or duplicate names.
    pub rules_rejected: u64,
    /// Successful `GetSamplingTargets` calls.
    pub targets_polls_ok: u64,
    /// Failed `GetSamplingTargets` calls; their statistics are kept for the next call.
    pub targets_polls_failed: u64,
    /// Target documents applied to a rule.
    pub targets_applied: u64,
    /// Target documents ignored: naming a rule not in force, or with a fixed rate outside 0–1.
    pub targets_rejected: u64,
    /// `UnprocessedStatistics` entries X-Ray returned (those statistics are lost).
    pub unprocessed_statistics: u64,
    /// Statistics documents not reported because a rule's counts exceeded what the API can carry,
    /// or the rule disappeared before its statistics were restored.
    pub statistics_lost: u64,
    /// Decisions for spans no rule matched (X-Ray's `Default` missing); they used the fallback.
    pub unmatched: u64,
    /// Decisions made by the local fallback (1/s + 5 %): before the first rules, when the rules are
    /// stale, or unmatched.
    pub fallback_decisions: u64,
    /// Of those, sampled.
    pub fallback_sampled: u64,
    /// Poller tasks still running (0 after [`shutdown`](crate::XrayRemoteSampler::shutdown)).
    pub live_pollers: u64,
    /// Whether the fallback is in force right now.
    pub in_fallback: bool,
    /// Rules in force.
    pub rules_in_force: usize,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> SamplerStats {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        SamplerStats {
            rules_polls_ok: l(&self.rules_polls_ok),
            rules_polls_failed: l(&self.rules_polls_failed),
            rules_rejected: l(&self.rules_rejected),
            targets_polls_ok: l(&self.targets_polls_ok),
            targets_polls_failed: l(&self.targets_polls_failed),
            targets_applied: l(&self.targets_applied),
            targets_rejected: l(&self.targets_rejected),
            unprocessed_statistics: l(&self.unprocessed_statistics),
            statistics_lost: l(&self.statistics_lost),
            unmatched: l(&self.unmatched),
            live_pollers: l(&self.live_pollers),
            ..SamplerStats::default()
        }
    }
}
