//! X-Ray's API limits and the quota lifecycle, against the loopback fake of X-Ray:
//!
//! * `GetSamplingTargets` takes at most 25 `SamplingStatisticsDocuments` (API reference), so
//!   statistics of many rules go out in several requests, none over 25, none lost.
//! * `GetSamplingRules` is paged (`NextToken`): every page is read before the rules apply.
//! * After a reservoir quota's TTL passes, the rule samples at its fixed rate only: it does **not**
//!   go back to borrowing 1 request per second. Source: the OpenTelemetry Java contrib X-Ray
//!   sampler (`SamplingRuleApplier`: borrowing only until the first target; past
//!   `reservoirEndTimeNanos` the reservoir answers DROP and the fixed rate decides). The Python
//!   X-Ray SDK borrows again once a quota has expired (`Reservoir._borrow_or_take`); with a
//!   reservoir shared across a fleet, every expired client borrowing would exceed it.

mod fake_xray;

use std::time::{Duration, SystemTime};

use fake_xray::{epoch_secs, eventually, rule, FakeXray};
use opentelemetry::trace::{SpanKind, TraceId};
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::{SamplingDecision, ShouldSample};
use opentelemetry_sdk::Resource;
use otel_xray_sampler::XrayRemoteSampler;
use serde_json::json;

fn resource() -> Resource {
    Resource::builder_empty()
        .with_service_name("checkout")
        .build()
}

fn decide(s: &XrayRemoteSampler, trace_id: u128, path: &str) -> bool {
    let attrs = [KeyValue::new("url.path", path.to_string())];
    s.should_sample(
        None,
        TraceId::from(trace_id),
        "span",
        &SpanKind::Server,
        &attrs,
        &[],
    )
    .decision
        == SamplingDecision::RecordAndSample
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_rules_page_in_and_report_in_requests_of_at_most_25() {
    const RULES: usize = 60;
    let mut rules: Vec<_> = (0..RULES)
        .map(|i| {
            let mut r = rule(&format!("r{i}"), i as i32 + 1, 0.0, 1);
            r["URLPath"] = json!(format!("/r{i}"));
            r
        })
        .collect();
    rules.push(rule("Default", 10_000, 0.0, 0));
    let fake = FakeXray::start(rules).await;
    fake.state().page_size = 7;
    let sampler = XrayRemoteSampler::builder()
        .with_resource(resource())
        .with_client(fake.client())
        .with_rules_interval(Duration::from_secs(3600))
        .with_targets_interval(Duration::from_millis(500))
        .build()
        .expect("sampler");
    eventually("all pages installed", || sampler.rules().len() == RULES + 1).await;
    // 61 rules, 7 a page: 9 pages, each one call, all in the first poll.
    assert_eq!(fake.state().rules_pages, 9);
    assert_eq!(fake.state().rules_calls, 9);

    for i in 0..RULES {
        decide(&sampler, i as u128 + 1, &format!("/r{i}"));
    }
    eventually("every rule reported", || {
        let s = fake.state();
        s.statistics
            .iter()
            .filter(|d| d["RequestCount"].as_u64() > Some(0))
            .count()
            >= RULES
    })
    .await;
    let s = fake.state();
    assert!(
        s.statistics_per_request.iter().all(|n| *n <= 25),
        "{:?}",
        s.statistics_per_request
    );
    // 60 rules due at once (at most split by one poll) fill at least one request.
    assert!(
        s.statistics_per_request.contains(&25),
        "{:?}",
        s.statistics_per_request
    );
    let mut reported: Vec<&str> = s
        .statistics
        .iter()
        .filter(|d| d["RequestCount"].as_u64() > Some(0))
        .map(|d| d["RuleName"].as_str().unwrap())
        .collect();
    reported.sort_unstable();
    let mut want: Vec<String> = (0..RULES).map(|i| format!("r{i}")).collect();
    want.sort_unstable();
    assert_eq!(reported, want, "each rule once, none lost");
    drop(s);
    sampler.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_quota_falls_back_to_the_fixed_rate_without_borrowing() {
    let fake = FakeXray::start(vec![rule("Default", 10_000, 0.0, 5)]).await;
    let expiry = SystemTime::now() + Duration::from_secs(2);
    fake.state().targets.insert(
        "Default".into(),
        json!({"FixedRate": 0.0, "ReservoirQuota": 3, "ReservoirQuotaTTL": epoch_secs(expiry),
               "Interval": 1}),
    );
    let sampler = XrayRemoteSampler::builder()
        .with_resource(resource())
        .with_client(fake.client())
        .with_rules_interval(Duration::from_secs(3600))
        .with_targets_interval(Duration::from_millis(100))
        .build()
        .expect("sampler");
    eventually("rules installed", || sampler.rules().len() == 1).await;
    // Traffic makes the rule due, so the fake's target is fetched and applied.
    decide(&sampler, 1, "/");
    eventually("quota applied", || {
        sampler.reservoir_quota("Default") == Some(3)
    })
    .await;
    // While the quota lives: up to 3 a second.
    let live = (0..50).filter(|i| decide(&sampler, *i, "/")).count();
    assert!((1..=6).contains(&live), "sampled {live} within the quota");

    let wait = expiry.duration_since(SystemTime::now()).unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_millis(1200)).await;
    let from = fake.state().statistics.len();
    // Spread over more than a second: borrowing (1/s) would sample at least one.
    let mut sampled = 0;
    for round in 0..3u128 {
        sampled += (0..40)
            .filter(|i| decide(&sampler, round * 100 + i, "/"))
            .count();
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
    assert_eq!(sampled, 0, "fixed rate 0, no borrowing after expiry");
    eventually("post-expiry decisions reported", || {
        fake.state().statistics[from..]
            .iter()
            .filter_map(|d| d["RequestCount"].as_u64())
            .sum::<u64>()
            >= 120
    })
    .await;
    let s = fake.state();
    let borrowed: u64 = s.statistics[from..]
        .iter()
        .filter_map(|d| d["BorrowCount"].as_u64())
        .sum();
    assert_eq!(borrowed, 0);
    drop(s);
    sampler.shutdown();
}
