//! Lock-free per-second reservoirs, trace-id fixed rates and striped request statistics.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use opentelemetry::trace::TraceId;

/// A per-second reservoir: at most `quota` takes in each whole second.
///
/// The second and the count used in it share one `AtomicU64` (second in the high half), so a take is
/// one compare-and-swap and an exhausted reservoir costs one load.
#[derive(Debug, Default)]
pub(crate) struct Reservoir {
    state: AtomicU64,
}

impl Reservoir {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Takes one from second `second` if fewer than `quota` were taken in it.
    pub(crate) fn take(&self, second: u32, quota: u32) -> bool {
        if quota == 0 {
            return false;
        }
        let mut current = self.state.load(Ordering::Relaxed);
        loop {
            let window = (current >> 32) as u32;
            let used = current as u32;
            let next = if second > window {
                (u64::from(second) << 32) | 1
            } else if used < quota {
                // A caller that read the clock just before a newer caller moved the window counts
                // against the newer second: never more than `quota` per window.
                (u64::from(window) << 32) | u64::from(used + 1)
            } else {
                return false;
            };
            match self.state.compare_exchange_weak(
                current,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => current = actual,
            }
        }
    }
}

/// The fixed-rate decision as a threshold on the trace id, so every service applying the same rate
/// to the same trace agrees, and no random state is shared between threads.
pub(crate) fn rate_threshold(rate: f64) -> u64 {
    if rate.is_nan() || rate <= 0.0 {
        0
    } else if rate >= 1.0 {
        u64::MAX
    } else {
        (rate * (1u64 << 63) as f64) as u64
    }
}

/// Whether `trace_id` falls under `threshold`: its low 64 bits are random in both W3C and X-Ray
/// trace ids.
pub(crate) fn under_threshold(trace_id: TraceId, threshold: u64) -> bool {
    if threshold == u64::MAX {
        return true;
    }
    let bytes = trace_id.to_bytes();
    let mut low = [0u8; 8];
    low.copy_from_slice(&bytes[8..]);
    (u64::from_be_bytes(low) >> 1) < threshold
}

const STRIPES: usize = 8;

#[derive(Debug, Default)]
#[repr(align(64))]
struct Stripe {
    requests: AtomicU64,
    sampled: AtomicU64,
    borrowed: AtomicU64,
}

/// Counts of one rule for `GetSamplingTargets`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) requests: u64,
    pub(crate) sampled: u64,
    pub(crate) borrowed: u64,
}

/// Request / sampled / borrowed counters spread over cache-line-sized stripes, one chosen per
/// thread, so threads deciding under the same rule do not bounce one cache line.
#[derive(Debug, Default)]
pub(crate) struct StripedStatistics {
    stripes: [Stripe; STRIPES],
}

static NEXT_STRIPE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static STRIPE: Cell<usize> = const { Cell::new(usize::MAX) };
}

fn stripe_index() -> usize {
    STRIPE.with(|s| {
        let mut i = s.get();
        if i == usize::MAX {
            i = NEXT_STRIPE.fetch_add(1, Ordering::Relaxed) % STRIPES;
            s.set(i);
        }
        i
    })
}

impl StripedStatistics {
    pub(crate) fn record(&self, sampled: bool, borrowed: bool) {
        let s = &self.stripes[stripe_index()];
        s.requests.fetch_add(1, Ordering::Relaxed);
        if sampled {
            s.sampled.fetch_add(1, Ordering::Relaxed);
        }
        if borrowed {
            s.borrowed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Puts counts back, e.g. after a `GetSamplingTargets` call that failed.
    pub(crate) fn restore(&self, c: Counts) {
        let s = &self.stripes[stripe_index()];
        s.requests.fetch_add(c.requests, Ordering::Relaxed);
        s.sampled.fetch_add(c.sampled, Ordering::Relaxed);
        s.borrowed.fetch_add(c.borrowed, Ordering::Relaxed);
    }

    /// Reads and resets. Requests are reset first so that concurrent decisions can only make the
    /// reported sampled count lower than the request count, never higher.
    pub(crate) fn take(&self) -> Counts {
        let mut c = Counts::default();
        for s in &self.stripes {
            c.requests += s.requests.swap(0, Ordering::Relaxed);
        }
        for s in &self.stripes {
            c.sampled += s.sampled.swap(0, Ordering::Relaxed);
            c.borrowed += s.borrowed.swap(0, Ordering::Relaxed);
        }
        c
    }

    pub(crate) fn peek(&self) -> Counts {
        let mut c = Counts::default();
        for s in &self.stripes {
            c.requests += s.requests.load(Ordering::Relaxed);
            c.sampled += s.sampled.load(Ordering::Relaxed);
            c.borrowed += s.borrowed.load(Ordering::Relaxed);
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn reservoir_allows_quota_per_second() {
        let r = Reservoir::new();
        for second in 1..=5u32 {
            let taken = (0..100).filter(|_| r.take(second, 7)).count();
            assert_eq!(taken, 7, "second {second}");
        }
        assert!(!Reservoir::new().take(1, 0));
    }

    #[test]
    fn late_caller_counts_against_newer_second() {
        let r = Reservoir::new();
        assert!(r.take(10, 1));
        assert!(!r.take(9, 1), "older second must not open a new window");
        assert!(r.take(11, 1));
    }

    #[test]
    fn reservoir_is_exact_under_contention() {
        let r = Arc::new(Reservoir::new());
        let taken: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    let r = Arc::clone(&r);
                    s.spawn(move || (0..10_000).filter(|_| r.take(3, 250)).count())
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("join")).sum()
        });
        assert_eq!(taken, 250);
    }

    #[test]
    fn threshold_bounds() {
        let id = TraceId::from_bytes([0xff; 16]);
        assert!(under_threshold(id, rate_threshold(1.0)));
        assert!(!under_threshold(id, rate_threshold(0.999)));
        assert!(!under_threshold(
            TraceId::from_bytes([0; 16]),
            rate_threshold(0.0)
        ));
        assert!(under_threshold(
            TraceId::from_bytes([0; 16]),
            rate_threshold(0.001)
        ));
        assert_eq!(rate_threshold(f64::NAN), 0);
    }

    #[test]
    fn fixed_rate_statistics_on_seeded_ids() {
        let mut rng = fastrand::Rng::with_seed(7);
        for rate in [0.01, 0.05, 0.5, 0.9] {
            let n = 200_000;
            let t = rate_threshold(rate);
            let hits = (0..n)
                .filter(|_| under_threshold(TraceId::from(rng.u128(..)), t))
                .count();
            let observed = hits as f64 / n as f64;
            // 5 standard deviations of a binomial proportion.
            let tolerance = 5.0 * (rate * (1.0 - rate) / n as f64).sqrt();
            assert!(
                (observed - rate).abs() < tolerance,
                "rate {rate}: observed {observed}, tolerance {tolerance}"
            );
        }
    }

    #[test]
    fn striped_counts_sum_and_reset() {
        let stats = Arc::new(StripedStatistics::default());
        std::thread::scope(|s| {
            for _ in 0..4 {
                let stats = Arc::clone(&stats);
                s.spawn(move || {
                    for i in 0..1000 {
                        stats.record(i % 2 == 0, i % 10 == 0);
                    }
                });
            }
        });
        assert_eq!(
            stats.take(),
            Counts {
                requests: 4000,
                sampled: 2000,
                borrowed: 400
            }
        );
        assert_eq!(stats.peek(), Counts::default());
        stats.restore(Counts {
            requests: 3,
            sampled: 2,
            borrowed: 1,
        });
        assert_eq!(stats.peek().requests, 3);
    }
}
