//! The synthetic parent span ID for headers that carry a trace ID but no parent.
//!
//! An `X-Amzn-Trace-Id: Root=…` header from an ALB or API Gateway names the trace
//! but no parent segment. OpenTelemetry needs a *valid* remote span context to keep
//! the trace ID, and a valid context needs a non-zero span ID. Instead of inventing
//! a random parent (which X-Ray would show as a missing segment), the propagator
//! derives one deterministically from the trace ID with [`synthetic_parent_span_id`];
//! the exporter recognises it with [`is_synthetic_parent`] and writes the span as a
//! root segment with no `parent_id`.
//!
//! The derivation is a fixed mix of the 128 trace-ID bits. A real span ID equals it
//! with probability 2⁻⁶⁴ per trace, the same odds as any span-ID collision.

use opentelemetry::trace::{SpanId, TraceId};

/// Mixes the trace ID into the span ID used as the parent of a Root-only header.
///
/// Deterministic (the same trace ID always gives the same span ID), never zero,
/// and different for every trace ID in practice.
///
/// ```
/// use opentelemetry::trace::TraceId;
/// use otel_xray_id::{is_synthetic_parent, synthetic_parent_span_id};
///
/// let trace = TraceId::from_hex("5759e988bd862e3fe1be46a994272793").unwrap();
/// let parent = synthetic_parent_span_id(trace);
/// assert_eq!(parent, synthetic_parent_span_id(trace));
/// assert!(is_synthetic_parent(trace, parent));
/// ```
pub fn synthetic_parent_span_id(trace_id: TraceId) -> SpanId {
    let v = u128::from_be_bytes(trace_id.to_bytes());
    // Hash the halves in sequence (not XORed together, which would collide for
    // IDs whose halves differ by the same pattern); "XRAYROOT" seeds the mix.
    let high = splitmix64_finish((v >> 64) as u64 ^ 0x5852_4159_524f_4f54);
    let mut z = splitmix64_finish(high ^ (v as u64));
    if z == 0 {
        z = 1;
    }
    SpanId::from_bytes(z.to_be_bytes())
}

/// True if `span_id` is the synthetic parent [`synthetic_parent_span_id`] derives
/// for `trace_id`, i.e. the span's remote parent came from a Root-only header.
pub fn is_synthetic_parent(trace_id: TraceId, span_id: SpanId) -> bool {
    span_id != SpanId::INVALID && synthetic_parent_span_id(trace_id) == span_id
}

fn splitmix64_finish(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differs_between_trace_ids_and_is_never_zero() {
        let mut seen = std::collections::HashSet::new();
        for i in 0u128..10_000 {
            let t = TraceId::from_bytes((i << 64 | i.wrapping_mul(31)).to_be_bytes());
            let s = synthetic_parent_span_id(t);
            assert_ne!(s, SpanId::INVALID);
            assert!(seen.insert(s), "collision at {i}");
        }
    }

    #[test]
    fn a_random_span_is_not_synthetic() {
        let t = TraceId::from_hex("5759e988bd862e3fe1be46a994272793").unwrap();
        assert!(!is_synthetic_parent(
            t,
            SpanId::from_hex("53995c3f42cd8ad8").unwrap()
        ));
        assert!(!is_synthetic_parent(t, SpanId::INVALID));
    }
}
