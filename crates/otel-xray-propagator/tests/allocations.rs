//! Extract allocates nothing beyond building the Context; inject allocates only the
//! header String. Counted with a per-thread counting allocator.

// A counting `GlobalAlloc` cannot be written without `unsafe` (the workspace denies it elsewhere).
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::Context;
use otel_xray_propagator::XrayPropagator;

struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let before = ALLOCS.with(Cell::get);
    let out = f();
    (ALLOCS.with(Cell::get) - before, out)
}

/// Holds the header as a static string: lookups allocate nothing.
struct StaticCarrier(&'static str);

impl Extractor for StaticCarrier {
    fn get(&self, key: &str) -> Option<&str> {
        key.eq_ignore_ascii_case("x-amzn-trace-id")
            .then_some(self.0)
    }
    fn keys(&self) -> Vec<&str> {
        vec!["x-amzn-trace-id"]
    }
}

struct Slot(Option<String>);

impl Injector for Slot {
    fn set(&mut self, _: &str, value: String) {
        self.0 = Some(value);
    }
}

const TRACE: &str = "5759e988bd862e3fe1be46a994272793";
const PARENT: &str = "53995c3f42cd8ad8";

#[test]
fn extract_allocates_only_the_context_and_inject_one_string() {
    let p = XrayPropagator::default();
    let base = Context::new();
    let sc = SpanContext::new(
        TraceId::from_hex(TRACE).unwrap(),
        SpanId::from_hex(PARENT).unwrap(),
        TraceFlags::SAMPLED,
        true,
        TraceState::NONE,
    );
    // Warm up lazy statics (fields, thread locals) outside the measurement.
    let _ = p.extract_with_context(
        &base,
        &StaticCarrier("Root=1-5759e988-bd862e3fe1be46a994272793"),
    );

    let (minimal, _) = allocations(|| base.with_remote_span_context(sc.clone()));
    let carrier = StaticCarrier(
        "Root=1-5759e988-bd862e3fe1be46a994272793; Parent=53995c3f42cd8ad8 ;Sampled=1;Self=x;Foo=bar",
    );
    let (n, cx) = allocations(|| p.extract_with_context(&base, &carrier));
    assert_eq!(
        n, minimal,
        "extract = building the remote span context only"
    );
    assert!(cx.span().span_context().is_sampled());

    // A deferred header adds exactly one context value.
    let (with_value, _) = allocations(|| base.with_remote_span_context(sc.clone()).with_value(0u8));
    let deferred = StaticCarrier(
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Lineage=1:a87bd80c:1",
    );
    let (n, cx) = allocations(|| p.extract_with_context(&base, &deferred));
    assert_eq!(n, with_value);

    let mut slot = Slot(None);
    let (n, ()) = allocations(|| p.inject_context(&cx, &mut slot));
    assert_eq!(n, 1, "inject = the one header String");
    assert_eq!(
        slot.0.as_deref(),
        Some("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=?;Lineage=1:a87bd80c:1")
    );

    // A rejected header allocates nothing at all.
    let (n, _) = allocations(|| p.extract_with_context(&base, &StaticCarrier("Root=bad;Parent=1")));
    assert_eq!(n, 0);
}
