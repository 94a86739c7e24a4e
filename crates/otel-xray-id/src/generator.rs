//! [`XrayIdGenerator`]: trace IDs that X-Ray accepts, built without strings.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::IdGenerator;

use crate::XrayTraceId;

/// An [`IdGenerator`] whose trace IDs start with the current epoch second, as X-Ray
/// requires (`1-{epoch}-{random}`), followed by 96 random bits.
///
/// The 16 bytes are assembled directly: a big-endian `u32` of seconds and 12 bytes
/// from a thread-local PRNG ([`fastrand`], seeded per thread from the OS), so
/// generation takes no lock and allocates nothing. Span IDs are 64 random bits,
/// never zero.
///
/// Reading the wall clock costs more than the rest of the generator, so each
/// thread reads it at most once a second and advances it in between with the
/// kernel's coarse monotonic clock (a few milliseconds of resolution). The epoch
/// second is therefore exact to within a few milliseconds, and a step of the wall
/// clock (NTP, a restored VM) is picked up within one second.
///
/// The PRNG is not cryptographic; trace and span IDs are identifiers, not secrets.
///
/// # Clocks out of range
///
/// The epoch field is 32 bits. A clock before 1970 gives epoch `0`; a clock past
/// 2106-02-07T06:28:15Z gives `0xffffffff` (saturating, never wrapping to a small
/// value). Both IDs are still valid OpenTelemetry IDs; X-Ray would reject them by
/// age, which [`XrayTraceId::check_epoch`] can report.
///
/// ```
/// use opentelemetry_sdk::trace::{IdGenerator, SdkTracerProvider};
/// use otel_xray_id::{XrayIdGenerator, XrayTraceId};
///
/// let id = XrayIdGenerator::default().new_trace_id();
/// let xray = XrayTraceId::from_trace_id(id).unwrap();
/// assert!(xray.to_string().starts_with("1-"));
///
/// // Wire it into a provider:
/// let provider = SdkTracerProvider::builder()
///     .with_id_generator(XrayIdGenerator::default())
///     .build();
/// # drop(provider);
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct XrayIdGenerator {
    _private: (),
}

impl XrayIdGenerator {
    /// A trace ID stamped with the epoch second of `now` (see the type docs for
    /// clocks out of range). [`IdGenerator::new_trace_id`] calls this with the
    /// system clock.
    pub fn trace_id_at(&self, now: SystemTime) -> TraceId {
        self.trace_id_with_epoch(epoch_seconds(now))
    }

    fn trace_id_with_epoch(&self, epoch: u32) -> TraceId {
        loop {
            let random = (u128::from(fastrand::u32(..)) << 64) | u128::from(fastrand::u64(..));
            // Only epoch 0 with 96 zero bits can fail: retry rather than return an invalid ID.
            if let Some(id) = XrayTraceId::from_parts(epoch, random) {
                return id.trace_id();
            }
        }
    }
}

impl IdGenerator for XrayIdGenerator {
    fn new_trace_id(&self) -> TraceId {
        let (epoch, random) = next_trace_parts();
        match XrayTraceId::from_parts(epoch, random) {
            Some(id) => id.trace_id(),
            // Epoch 0 (a clock before 1970) with 96 zero bits: draw again.
            None => self.trace_id_with_epoch(epoch),
        }
    }

    fn new_span_id(&self) -> SpanId {
        loop {
            let v = fastrand::u64(..);
            if v != 0 {
                return SpanId::from_bytes(v.to_be_bytes());
            }
        }
    }
}

/// The 32-bit epoch second for `now`: 0 before 1970, saturating at `u32::MAX` after 2106.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use otel_xray_id::epoch_seconds;
/// assert_eq!(epoch_seconds(UNIX_EPOCH - Duration::from_secs(5)), 0);
/// assert_eq!(epoch_seconds(UNIX_EPOCH + Duration::from_secs(1 << 40)), u32::MAX);
/// ```
pub fn epoch_seconds(now: SystemTime) -> u32 {
    match now.duration_since(UNIX_EPOCH) {
        Ok(d) => u32::try_from(d.as_secs()).unwrap_or(u32::MAX),
        Err(_) => 0,
    }
}

/// Fixed-point seconds with 32 fractional bits: coarsetime's tick unit.
const TICKS_PER_SECOND: u64 = 1 << 32;

/// Per-thread generator state: one thread-local access per ID.
struct ThreadState {
    rng: fastrand::Rng,
    /// Coarse monotonic ticks at the last wall-clock read.
    mono_at_sync: u64,
    /// Wall-clock ticks since the epoch at that read (saturated below 2^64).
    wall_at_sync: u64,
    synced: bool,
}

thread_local! {
    // `const`: no lazy-initialisation check per ID. The PRNG gets its seed from
    // the OS in `sync_wall_clock`, which a thread's first ID always runs.
    static STATE: RefCell<ThreadState> = const {
        RefCell::new(ThreadState {
            rng: fastrand::Rng::with_seed(0),
            mono_at_sync: 0,
            wall_at_sync: 0,
            synced: false,
        })
    };
}

/// 96 random bits and the current epoch second, read from the wall clock at most
/// once a second per thread.
fn next_trace_parts() -> (u32, u128) {
    let mono = coarsetime::Instant::now_without_cache_update().as_ticks();
    STATE.with(|state| {
        let mut st = state.borrow_mut();
        let elapsed = mono.wrapping_sub(st.mono_at_sync);
        if !st.synced || elapsed >= TICKS_PER_SECOND {
            sync_wall_clock(&mut st, mono);
        }
        let wall = st
            .wall_at_sync
            .saturating_add(mono.wrapping_sub(st.mono_at_sync));
        let random = (u128::from(st.rng.u32(..)) << 64) | u128::from(st.rng.u64(..));
        ((wall >> 32) as u32, random)
    })
}

/// Reads the wall clock (at most once a second per thread), and on a thread's
/// first ID seeds its PRNG. Out of line: the per-ID path then needs fewer
/// registers saved around it.
#[cold]
#[inline(never)]
fn sync_wall_clock(st: &mut ThreadState, mono: u64) {
    if !st.synced {
        st.rng = fastrand::Rng::new();
        st.synced = true;
    }
    st.wall_at_sync = wall_ticks(SystemTime::now());
    st.mono_at_sync = mono;
}

/// Wall-clock ticks since the epoch; 0 before 1970, `u64::MAX` (epoch second
/// `u32::MAX`) from 2106 on.
fn wall_ticks(now: SystemTime) -> u64 {
    match now.duration_since(UNIX_EPOCH) {
        Ok(d) if d.as_secs() < 1 << 32 => {
            let frac = (u64::from(d.subsec_nanos()) << 32) / 1_000_000_000;
            (d.as_secs() << 32) | frac
        }
        Ok(_) => u64::MAX,
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn wall_ticks_clamp_like_epoch_seconds() {
        let before_1970 = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(wall_ticks(before_1970), 0);
        let after_2106 = UNIX_EPOCH + Duration::from_secs(1 << 32);
        assert_eq!(wall_ticks(after_2106) >> 32, u64::from(u32::MAX));
        let half = UNIX_EPOCH + Duration::from_millis(12_500);
        assert_eq!(wall_ticks(half), (12 << 32) | (1 << 31));
        for t in [before_1970, after_2106, half] {
            assert_eq!((wall_ticks(t) >> 32) as u32, epoch_seconds(t));
        }
    }
}
