//! `XrayIdGenerator`: valid, unique, correctly stamped IDs under many threads.

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::IdGenerator;
use otel_xray_id::{XrayIdGenerator, XrayTraceId};

#[test]
fn ids_from_eight_threads_are_valid_and_unique() {
    const THREADS: usize = 8;
    const PER_THREAD: usize = 100_000;
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            std::thread::spawn(|| {
                let g = XrayIdGenerator::default();
                (0..PER_THREAD)
                    .map(|_| (g.new_trace_id(), g.new_span_id()))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut traces = HashSet::with_capacity(THREADS * PER_THREAD);
    let mut spans = HashSet::with_capacity(THREADS * PER_THREAD);
    for h in handles {
        for (t, s) in h.join().unwrap() {
            assert_ne!(t, TraceId::INVALID);
            assert_ne!(s, SpanId::INVALID);
            assert!(traces.insert(t), "duplicate trace id {t}");
            spans.insert(s);
        }
    }
    assert_eq!(traces.len(), THREADS * PER_THREAD);
    // 64-bit span IDs: a birthday collision among 800k has probability ~2e-8.
    assert_eq!(spans.len(), THREADS * PER_THREAD);
}

#[test]
fn trace_id_epoch_is_within_a_second_of_the_clock() {
    let g = XrayIdGenerator::default();
    for _ in 0..1000 {
        let before = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let id = XrayTraceId::from_trace_id(g.new_trace_id()).unwrap();
        let after = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let epoch = u64::from(id.epoch_seconds());
        assert!(
            before.saturating_sub(1) <= epoch && epoch <= after + 1,
            "epoch {epoch} not within [{before}, {after}] ± 1"
        );
    }
}

#[test]
fn random_bits_vary_in_every_position() {
    // All 96 random bits must be used: OR and AND over many IDs reach all-ones / all-zeros.
    let g = XrayIdGenerator::default();
    let (mut or, mut and) = (0u128, u128::MAX);
    for _ in 0..1000 {
        let r = XrayTraceId::from_trace_id(g.new_trace_id())
            .unwrap()
            .random_part();
        or |= r;
        and &= r;
    }
    assert_eq!(or, (1u128 << 96) - 1);
    assert_eq!(and, 0);
}

#[test]
fn clock_before_1970_gives_epoch_zero_and_a_valid_id() {
    let g = XrayIdGenerator::default();
    let t = g.trace_id_at(UNIX_EPOCH - Duration::from_secs(86_400));
    let id = XrayTraceId::from_trace_id(t).expect("valid");
    assert_eq!(id.epoch_seconds(), 0);
    assert_ne!(id.random_part(), 0);
}

#[test]
fn clock_after_2106_saturates_instead_of_wrapping() {
    let g = XrayIdGenerator::default();
    let past_2106 = UNIX_EPOCH + Duration::from_secs(u64::from(u32::MAX) + 10);
    let id = XrayTraceId::from_trace_id(g.trace_id_at(past_2106)).unwrap();
    assert_eq!(id.epoch_seconds(), u32::MAX);
    let exact = UNIX_EPOCH + Duration::from_secs(0x6000_0000);
    let id = XrayTraceId::from_trace_id(g.trace_id_at(exact)).unwrap();
    assert_eq!(id.epoch_seconds(), 0x6000_0000);
}

#[test]
fn generator_plugs_into_the_sdk_provider() {
    use opentelemetry::trace::{Span, Tracer, TracerProvider};
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_id_generator(XrayIdGenerator::default())
        .build();
    let span = provider.tracer("t").start("op");
    let trace_id = span.span_context().trace_id();
    let id = XrayTraceId::from_trace_id(trace_id).unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(now.abs_diff(u64::from(id.epoch_seconds())) <= 1);
}
