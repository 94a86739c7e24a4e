//! Cost of one X-Ray remote sampler decision with 20 rules, on 1 and 8 threads, next to the SDK's
//! `TraceIdRatioBased` measured the same way, plus the fixed cost with only the `Default` rule. The
//! span matches only the last rule (`Default`), so every decision scans all 20 rules (worst case).
//!
//! `cargo bench -j2 --features sampler --bench sampler -- --warm-up-time 1 --measurement-time 3`
//!
//! In the 8-thread cases one iteration is one decision on each of 8 threads and the reported time is
//! wall time divided by 8, i.e. the amortised cost per decision at that concurrency (on a machine
//! with fewer than 8 cores, threads share cores).

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry::trace::{SpanKind, TraceId};
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::{Sampler, ShouldSample};
use opentelemetry_sdk::Resource;
use otel_xray_sampler::{SamplingRule, XrayRemoteSampler};

const THREADS: u64 = 8;

fn twenty_rules() -> Vec<SamplingRule> {
    let mut rules: Vec<SamplingRule> = (0..19)
        .map(|i| {
            let rule = SamplingRule::new(format!("rule-{i:02}"), i + 1, 0.1, 5)
                .with_service_name("check*");
            match i % 4 {
                0 => rule.with_url_path(format!("/api/v{i}/*")),
                1 => rule.with_http_method("POST").with_url_path("/orders/*"),
                2 => rule.with_host(format!("shard-{i}.*.internal")),
                _ => rule.with_attribute("tenant", format!("tier-{i}-?")),
            }
        })
        .collect();
    rules.push(SamplingRule::default_rule());
    rules
}

fn span_attributes() -> Vec<KeyValue> {
    vec![
        KeyValue::new("http.request.method", "GET"),
        KeyValue::new("url.path", "/api/other/item/42"),
        KeyValue::new("url.scheme", "https"),
        KeyValue::new("server.address", "shop.example.com"),
        KeyValue::new("tenant", "gold-7"),
        KeyValue::new("user_agent.original", "bench/1.0"),
    ]
}

fn one_thread(c: &mut Criterion, name: &str, sampler: &dyn ShouldSample, attrs: &[KeyValue]) {
    let mut i = 0u128;
    c.bench_function(&format!("{name}/1_thread"), |b| {
        b.iter(|| {
            i = i.wrapping_add(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835);
            black_box(sampler.should_sample(
                None,
                TraceId::from(i),
                "GET /api",
                &SpanKind::Server,
                black_box(attrs),
                &[],
            ))
        })
    });
}

fn eight_threads(
    c: &mut Criterion,
    name: &str,
    sampler: &(dyn ShouldSample + Sync),
    attrs: &[KeyValue],
) {
    c.bench_function(&format!("{name}/8_threads"), |b| {
        b.iter_custom(|iters| {
            let barrier = Barrier::new(THREADS as usize + 1);
            std::thread::scope(|s| {
                for t in 0..THREADS {
                    let barrier = &barrier;
                    s.spawn(move || {
                        barrier.wait();
                        let mut id = u128::from(t) << 64;
                        for _ in 0..iters {
                            id = id.wrapping_add(0x9e37_79b9_7f4a_7c15);
                            black_box(sampler.should_sample(
                                None,
                                TraceId::from(id),
                                "GET /api",
                                &SpanKind::Server,
                                black_box(attrs),
                                &[],
                            ));
                        }
                    });
                }
                barrier.wait();
                let start = Instant::now();
                // Leaving the scope joins every thread.
                start
            })
            .elapsed()
                / THREADS as u32
        })
    });
}

fn bench(c: &mut Criterion) {
    let resource = Resource::builder_empty()
        .with_service_name("checkout")
        .build();
    let attrs = span_attributes();
    let xray = XrayRemoteSampler::from_rules(&resource, twenty_rules()).expect("valid rules");
    let ratio = Sampler::TraceIdRatioBased(0.05);
    let default_only = XrayRemoteSampler::from_rules(&resource, vec![SamplingRule::default_rule()])
        .expect("valid rule");
    one_thread(c, "xray_remote_default_rule_only", &default_only, &attrs);
    one_thread(c, "xray_remote_20_rules", &xray, &attrs);
    one_thread(c, "sdk_trace_id_ratio", &ratio, &attrs);
    eight_threads(c, "xray_remote_20_rules", &xray, &attrs);
    eight_threads(c, "sdk_trace_id_ratio", &ratio, &attrs);
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
