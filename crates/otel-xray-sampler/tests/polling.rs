//! The pollers against a loopback fake of X-Ray: rules served, changed, paginated, rejected; targets
//! reported and applied; the endpoint going down; shutdown and drop stopping the pollers.

mod fake_xray;

use std::time::{Duration, SystemTime};

use fake_xray::{client_for, epoch_secs, eventually, rule, FakeXray};
use opentelemetry::trace::{SpanKind, TraceId};
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::{SamplingDecision, ShouldSample};
use opentelemetry_sdk::Resource;
use otel_xray_sampler::XrayRemoteSampler;
use serde_json::json;

const FAST: Duration = Duration::from_millis(100);

fn resource() -> Resource {
    Resource::builder_empty()
        .with_service_name("checkout")
        .build()
}

fn decide(s: &XrayRemoteSampler, trace_id: u128, method: &'static str) -> bool {
    let attrs = [KeyValue::new("http.request.method", method)];
    let r = s.should_sample(
        None,
        TraceId::from(trace_id),
        "span",
        &SpanKind::Server,
        &attrs,
        &[],
    );
    r.decision == SamplingDecision::RecordAndSample
}

/// Sum of a statistics field over the documents the fake received from index `from` on.
fn sum(fake: &FakeXray, from: usize, field: &str) -> u64 {
    let s = fake.state();
    s.statistics
        .get(from..)
        .unwrap_or_default()
        .iter()
        .filter_map(|d| d[field].as_u64())
        .sum()
}

fn fast_sampler(fake: &FakeXray) -> XrayRemoteSampler {
    XrayRemoteSampler::builder()
        .with_resource(resource())
        .with_client(fake.client())
        .with_rules_interval(FAST)
        .with_targets_interval(FAST)
        .build()
        .expect("sampler")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_rules_then_changes_them_then_goes_down() {
    let mut get = rule("get", 1, 1.0, 0);
    get["HTTPMethod"] = json!("GET");
    let fake = FakeXray::start(vec![rule("Default", 10_000, 0.0, 0), get]).await;
    let sampler = XrayRemoteSampler::builder()
        .with_resource(resource())
        .with_client(fake.client())
        .with_rules_interval(FAST)
        .with_targets_interval(FAST)
        .with_rules_ttl(Duration::from_millis(1500))
        .build()
        .expect("sampler");

    eventually("rules installed", || sampler.rules().len() == 2).await;
    assert_eq!(sampler.rules()[0].rule_name, "get", "priority order");
    assert!(!sampler.stats().in_fallback);
    // `get` samples every GET; `Default` (0 reservoir, 0 %) drops the rest.
    assert!(decide(&sampler, u128::MAX, "GET"));
    assert!(!decide(&sampler, 1, "POST"));

    // Change the rule: GETs are now dropped too.
    fake.state().rules[1]["FixedRate"] = json!(0.0);
    eventually("changed rule in force", || {
        sampler
            .rules()
            .iter()
            .any(|r| r.rule_name == "get" && r.fixed_rate == 0.0)
    })
    .await;
    assert!(!decide(&sampler, u128::MAX, "GET"));

    // Down: the rules stay in force until their TTL, then the local fallback applies.
    let failed_before = sampler.stats().rules_polls_failed;
    fake.state().up = false;
    eventually("failed polls counted", || {
        sampler.stats().rules_polls_failed > failed_before
    })
    .await;
    eventually("fallback after the rules TTL", || {
        sampler.stats().in_fallback
    })
    .await;
    let fallback_before = sampler.stats().fallback_decisions;
    decide(&sampler, 1, "GET");
    assert_eq!(sampler.stats().fallback_decisions, fallback_before + 1);

    // Back up: rules again.
    fake.state().up = true;
    eventually("rules again after recovery", || {
        !sampler.stats().in_fallback
    })
    .await;
    sampler.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_statistics_and_applies_targets() {
    let fake = FakeXray::start(vec![rule("Default", 10_000, 0.0, 5)]).await;
    let ttl = epoch_secs(SystemTime::now() + Duration::from_secs(120));
    fake.state().targets.insert(
        "Default".into(),
        json!({"FixedRate": 0.0, "ReservoirQuota": 7, "ReservoirQuotaTTL": ttl, "Interval": 1}),
    );
    let sampler = fast_sampler(&fake);
    eventually("rules installed", || sampler.rules().len() == 1).await;
    assert_eq!(
        sampler.reservoir_quota("Default"),
        None,
        "borrowing until a target"
    );

    // Before a quota: 1 borrowed per second, fixed rate 0.
    let sampled = (0..50).filter(|i| decide(&sampler, *i, "GET")).count() as u64;
    assert!((1..=2).contains(&sampled), "borrowed {sampled}");
    eventually("quota applied", || {
        sampler.reservoir_quota("Default") == Some(7)
    })
    .await;
    eventually("first decisions reported", || {
        sum(&fake, 0, "RequestCount") == 50
    })
    .await;
    assert_eq!(sum(&fake, 0, "SampledCount"), sampled);
    assert_eq!(sum(&fake, 0, "BorrowCount"), sampled);
    {
        let s = fake.state();
        let first = s.statistics.first().expect("a statistics document");
        assert_eq!(first["RuleName"], "Default");
        let id = first["ClientID"].as_str().expect("client id");
        assert_eq!(id, XrayRemoteSampler::client_id());
        assert_eq!(id.len(), 24);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
        assert!(first["Timestamp"].is_number(), "epoch seconds");
    }

    // With the quota: at most 7 per second (a burst may straddle two seconds), never borrowed.
    let from = fake.state().statistics.len();
    let sampled = (0..200).filter(|i| decide(&sampler, *i, "GET")).count() as u64;
    assert!((7..=14).contains(&sampled), "quota sampled {sampled}");
    eventually("quota decisions reported", || {
        sum(&fake, from, "RequestCount") == 200
    })
    .await;
    assert_eq!(sum(&fake, from, "SampledCount"), sampled);
    assert_eq!(sum(&fake, from, "BorrowCount"), 0);
    assert!(sampler.stats().targets_applied >= 1);
    sampler.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paginates_and_rejects_invalid_rules() {
    let mut v2 = rule("v2", 5, 1.0, 0);
    v2["Version"] = json!(2);
    let mut nan_like = rule("too-high", 6, 1.0, 0);
    nan_like["FixedRate"] = json!(3.0);
    let fake = FakeXray::start(vec![
        rule("a", 1, 1.0, 0),
        v2,
        rule("b", 2, 1.0, 0),
        nan_like,
        rule("Default", 10_000, 0.05, 1),
    ])
    .await;
    fake.state().page_size = 2;
    let sampler = fast_sampler(&fake);
    eventually("rules installed", || !sampler.rules().is_empty()).await;
    let names: Vec<_> = sampler.rules().into_iter().map(|r| r.rule_name).collect();
    assert_eq!(names, ["a", "b", "Default"]);
    assert!(sampler.stats().rules_rejected >= 2);
    sampler.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_modification_and_unprocessed_4xx_trigger_a_rules_refresh() {
    let fake = FakeXray::start(vec![rule("Default", 10_000, 0.0, 1)]).await;
    fake.state().last_rule_modification =
        Some(epoch_secs(SystemTime::now() + Duration::from_secs(3600)));
    let sampler = XrayRemoteSampler::builder()
        .with_resource(resource())
        .with_client(fake.client())
        .with_rules_interval(Duration::from_secs(3600))
        .with_targets_interval(FAST)
        .build()
        .expect("sampler");
    eventually("rules installed", || sampler.rules().len() == 1).await;
    let calls = fake.state().rules_calls;
    // Traffic makes the rule due for reporting; the response says the rules changed.
    decide(&sampler, 1, "GET");
    eventually("refresh after LastRuleModification", || {
        fake.state().rules_calls > calls
    })
    .await;

    fake.state().last_rule_modification = None;
    fake.state().unprocessed =
        vec![json!({"RuleName": "Default", "ErrorCode": "400", "Message": "gone"})];
    let calls = fake.state().rules_calls;
    decide(&sampler, 1, "GET");
    eventually("refresh after a 4xx unprocessed statistic", || {
        fake.state().rules_calls > calls
    })
    .await;
    assert!(sampler.stats().unprocessed_statistics >= 1);
    sampler.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_endpoint_keeps_the_fallback() {
    // Bind then drop: nothing listens on this loopback port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let sampler = XrayRemoteSampler::builder()
        .with_resource(resource())
        .with_client(client_for(&format!("http://127.0.0.1:{port}")))
        .with_rules_interval(FAST)
        .with_targets_interval(FAST)
        .build()
        .expect("sampler");
    eventually("failed polls", || sampler.stats().rules_polls_failed >= 2).await;
    let stats = sampler.stats();
    assert!(stats.in_fallback);
    assert_eq!(stats.rules_polls_ok, 0);
    assert!(sampler.rules().is_empty());
    // Trace ids with high low halves are above the 5 % threshold: only the 1/s reservoir samples
    // (twice if the burst straddles a second boundary).
    let sampled = (0..1000u128)
        .filter(|i| decide(&sampler, u128::MAX - i, "GET"))
        .count();
    assert_eq!(sampler.stats().fallback_decisions, 1000);
    assert!((1..=2).contains(&sampled), "sampled {sampled}");
    sampler.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_the_pollers() {
    let fake = FakeXray::start(vec![rule("Default", 10_000, 0.0, 1)]).await;
    let sampler = fast_sampler(&fake);
    eventually("pollers running", || sampler.stats().live_pollers == 2).await;
    eventually("first rules poll", || fake.state().rules_calls >= 2).await;
    sampler.shutdown();
    eventually("pollers stopped", || sampler.stats().live_pollers == 0).await;
    let before = fake.calls();
    // Traffic would make the targets poller report, if it were still running.
    decide(&sampler, 1, "GET");
    tokio::time::sleep(FAST * 8).await;
    assert_eq!(fake.calls(), before);
    // Decisions go on with the last rules.
    assert!(!sampler.stats().in_fallback);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_last_clone_stops_the_pollers() {
    let fake = FakeXray::start(vec![rule("Default", 10_000, 0.0, 1)]).await;
    let sampler = fast_sampler(&fake);
    let clone = sampler.clone();
    eventually("polling", || fake.state().rules_calls >= 2).await;
    drop(sampler);
    let calls = fake.state().rules_calls;
    tokio::time::sleep(FAST * 4).await;
    assert!(fake.state().rules_calls > calls, "a clone keeps polling");
    drop(clone);
    tokio::time::sleep(FAST * 3).await;
    let calls = fake.state().rules_calls;
    tokio::time::sleep(FAST * 8).await;
    assert_eq!(fake.state().rules_calls, calls);
}

#[test]
fn builds_outside_a_runtime_on_its_own_thread() {
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime for the fake");
    let fake = server_rt.block_on(FakeXray::start(vec![rule("Default", 10_000, 0.0, 1)]));
    // No runtime is current here.
    let sampler = fast_sampler(&fake);
    server_rt.block_on(async {
        eventually("rules via the poller thread", || sampler.rules().len() == 1).await;
        sampler.shutdown();
        eventually("poller thread done", || sampler.stats().live_pollers == 0).await;
    });
    drop(fake);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builds_on_a_given_runtime_handle() {
    let fake = FakeXray::start(vec![rule("Default", 10_000, 0.0, 1)]).await;
    let sampler = XrayRemoteSampler::builder()
        .with_resource(resource())
        .with_client(fake.client())
        .with_rules_interval(FAST)
        .with_runtime(tokio::runtime::Handle::current())
        .build()
        .expect("sampler");
    eventually("rules", || sampler.rules().len() == 1).await;
    sampler.shutdown();
}

#[test]
fn build_errors_say_what_is_missing() {
    use otel_xray_sampler::BuildError;
    assert!(matches!(
        XrayRemoteSampler::builder().build(),
        Err(BuildError::MissingClient)
    ));
    let err = XrayRemoteSampler::builder()
        .with_client(client_for("http://127.0.0.1:9"))
        .with_targets_interval(Duration::ZERO)
        .build()
        .expect_err("zero interval");
    assert!(matches!(err, BuildError::ZeroInterval { which: "targets" }));
}
