//! A decision allocates nothing (no parent trace state to carry): checked with a counting allocator.
//!
//! The only `unsafe` here is delegating `GlobalAlloc` to `System`, which the trait requires.

// A counting `GlobalAlloc` cannot be written without `unsafe` (the workspace denies it elsewhere).
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use opentelemetry::trace::{SpanKind, TraceId};
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::ShouldSample;
use opentelemetry_sdk::Resource;
use otel_xray_sampler::{SamplingRule, XrayRemoteSampler};

thread_local! {
    // `const` and no destructor: reading it never allocates.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

struct Counting;

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn decisions_do_not_allocate() {
    let resource = Resource::builder_empty()
        .with_service_name("checkout")
        .with_attribute(KeyValue::new("cloud.platform", "aws_ec2"))
        .build();
    let mut rules: Vec<SamplingRule> = (0..19)
        .map(|i| {
            SamplingRule::new(format!("r{i}"), i, 0.5, 2)
                .with_url_path(format!("/api/v{i}/*"))
                .with_http_method("G*")
                .with_attribute("tenant", "gold-?")
                .with_attribute("retries", "3")
        })
        .collect();
    rules.push(SamplingRule::default_rule());
    let sampler = XrayRemoteSampler::from_rules(&resource, rules).expect("valid");
    let attrs = [
        KeyValue::new("http.request.method", "GET"),
        KeyValue::new("url.full", "https://h.example/api/v7/x?y"),
        KeyValue::new("server.address", "h.example"),
        KeyValue::new("tenant", "gold-1"),
        KeyValue::new("retries", 3),
    ];
    let decide = |i: u128| {
        sampler
            .should_sample(None, TraceId::from(i), "op", &SpanKind::Server, &attrs, &[])
            .decision
    };
    // Warm up thread-locals (stripe index) and lazy statics outside the measured window.
    decide(1);
    let before = ALLOCATIONS.with(Cell::get);
    for i in 0..10_000u128 {
        std::hint::black_box(decide(i.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
    }
    let after = ALLOCATIONS.with(Cell::get);
    assert_eq!(after - before, 0, "allocations during 10 000 decisions");
    // The counter does see allocations on this thread.
    std::hint::black_box(Box::new(after));
    assert!(ALLOCATIONS.with(Cell::get) > after);
}
