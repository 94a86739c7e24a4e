//! Cost of one X-Ray remote sampler decision with 20 rules, on 1 and 8 threads, next to the SDK's
//! `TraceIdRatioBased` measured the same way in the same run, plus the fixed cost with only the
//! `Default` rule. The span matches only the last rule (`Default`), so every rule is considered on
//! every decision. In `20_rules` the patterns start with literal text (`/api/v3/*`, `POST`,
//! `shard-2.*.internal`, `tier-3-?`) as most rules do, and the sampler's tables rule most of them out
//! by those starts; `20_wildcard_rules` starts every pattern with `*`, so nothing is ruled out early
//! and all 19 rules are glob-matched in full (the worst case). Every reported time is **per
//! decision**.
//!
//! `cargo bench -j2 --features sampler --bench sampler -- --warm-up-time 1 --measurement-time 3`
//!
//! The 8-thread cases run 8 threads deciding concurrently on one shared sampler (shared rules,
//! reservoirs and statistics), each making every one of the iterations. The reported time is the
//! core time per decision: wall time × cores in use (8, or fewer on a smaller machine) / (8 ×
//! iterations). With 8 cores that is what each thread waits per decision; with fewer, threads take
//! turns on the cores and this divides that out. Contention (shared cache lines) shows up as a higher
//! 8-thread figure than 1-thread. On a machine shared with other work the absolute times inflate;
//! compare the X-Ray and SDK figures of the same run.

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use opentelemetry::trace::{SpanKind, TraceId};
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::{Sampler, ShouldSample};
use opentelemetry_sdk::Resource;
use otel_xray_sampler::{SamplingRule, XrayRemoteSampler};

const THREADS: u32 = 8;

/// 19 rules the span does not match, then `Default`. Every pattern starts with `lead`: `""` for
/// patterns with a literal start, `"*"` for the all-wildcard worst case.
fn twenty_rules(lead: &str) -> Vec<SamplingRule> {
    let mut rules: Vec<SamplingRule> = (0..19)
        .map(|i| {
            let rule = SamplingRule::new(format!("rule-{i:02}"), i + 1, 0.1, 5)
                .with_service_name("check*");
            match i % 4 {
                0 => rule.with_url_path(format!("{lead}/api/v{i}/*")),
                1 => rule
                    .with_http_method(format!("{lead}POST"))
                    .with_url_path(format!("{lead}/orders/*")),
                2 => rule.with_host(format!("{lead}shard-{i}.*.internal")),
                _ => rule.with_attribute("tenant", format!("{lead}tier-{i}-?")),
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

fn decide(sampler: &dyn ShouldSample, id: u128, attrs: &[KeyValue]) {
    black_box(sampler.should_sample(
        None,
        TraceId::from(id),
        "GET /api",
        &SpanKind::Server,
        black_box(attrs),
        &[],
    ));
}

/// One iteration is one decision.
fn one_thread(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    sampler: &dyn ShouldSample,
    attrs: &[KeyValue],
) {
    let mut id = 0u128;
    g.bench_function(format!("{name}/1_thread"), |b| {
        b.iter(|| {
            id = id.wrapping_add(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835);
            decide(sampler, id, attrs)
        })
    });
}

/// One iteration is one decision on each of 8 threads; see the module docs for the time reported.
fn eight_threads(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    sampler: &(dyn ShouldSample + Sync),
    attrs: &[KeyValue],
) {
    let cores = std::thread::available_parallelism()
        .map_or(1, |n| n.get() as u32)
        .min(THREADS);
    g.bench_function(format!("{name}/8_threads"), |b| {
        b.iter_custom(|iters| {
            let barrier = Barrier::new(THREADS as usize + 1);
            let wall = std::thread::scope(|s| {
                for t in 0..THREADS {
                    let barrier = &barrier;
                    s.spawn(move || {
                        barrier.wait();
                        let mut id = u128::from(t) << 64;
                        for _ in 0..iters {
                            id = id.wrapping_add(0x9e37_79b9_7f4a_7c15);
                            decide(sampler, id, attrs);
                        }
                    });
                }
                barrier.wait();
                // Leaving the scope joins every thread.
                Instant::now()
            })
            .elapsed();
            wall * cores / THREADS
        })
    });
}

fn bench(c: &mut Criterion) {
    let resource = Resource::builder_empty()
        .with_service_name("checkout")
        .build();
    let attrs = span_attributes();
    let xray = XrayRemoteSampler::from_rules(&resource, twenty_rules("")).expect("valid rules");
    let wildcards =
        XrayRemoteSampler::from_rules(&resource, twenty_rules("*")).expect("valid rules");
    let ratio = Sampler::TraceIdRatioBased(0.05);
    let default_only = XrayRemoteSampler::from_rules(&resource, vec![SamplingRule::default_rule()])
        .expect("valid rule");
    let mut g = c.benchmark_group("per_decision");
    g.throughput(Throughput::Elements(1));
    one_thread(
        &mut g,
        "xray_remote_default_rule_only",
        &default_only,
        &attrs,
    );
    one_thread(&mut g, "xray_remote_20_rules", &xray, &attrs);
    one_thread(&mut g, "xray_remote_20_wildcard_rules", &wildcards, &attrs);
    one_thread(&mut g, "sdk_trace_id_ratio", &ratio, &attrs);
    eight_threads(&mut g, "xray_remote_20_rules", &xray, &attrs);
    eight_threads(&mut g, "xray_remote_20_wildcard_rules", &wildcards, &attrs);
    eight_threads(&mut g, "sdk_trace_id_ratio", &ratio, &attrs);
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
