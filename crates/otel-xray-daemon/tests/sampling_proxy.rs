//! The sampling proxy on the daemon's TCP port: unsigned SDK requests are signed (checked by
//! botocore, an independent SigV4 implementation), forwarded, and answered unchanged; the
//! project's remote sampler gets its rules through it.

#[path = "../../otel-xray-sampler/tests/fake_xray/mod.rs"]
mod fake_xray;
mod support;

use fake_xray::{client_for, eventually, rule, FakeXray};
use otel_xray_sampler::XrayRemoteSampler;
use support::{args, post, Running};

/// botocore's verdict on each signed request the fake received.
fn botocore_verdicts(fake: &FakeXray) -> Vec<serde_json::Value> {
    let signed: Vec<serde_json::Value> = fake
        .state()
        .requests
        .iter()
        .filter(|(_, headers, _)| headers.iter().any(|(n, _)| n == "authorization"))
        .map(|(path, headers, body)| {
            serde_json::json!({
                "method": "POST",
                "url": format!("http://{}{path}", fake.addr),
                "headers": headers,
                "body_hex": body.iter().map(|b| format!("{b:02x}")).collect::<String>(),
                "access_key": "testing",
                "secret_key": "testing",
                "token": "testing",
                "region": "us-east-1",
            })
        })
        .collect();
    otel_xray_testkit::botocore_sigv4_verdicts(&signed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_requests_are_signed_forwarded_and_answered_unchanged() {
    let fake = FakeXray::start(vec![rule("checkout", 10, 0.25, 3)]).await;
    let xray = format!("http://{}", fake.addr);
    let daemon = Running::start(args(&xray)).await;
    let proxy = format!("http://{}", daemon.tcp);

    for (path, body) in [
        ("/GetSamplingRules", "{}".to_owned()),
        (
            "/SamplingTargets",
            serde_json::json!({"SamplingStatisticsDocuments": [{
                "RuleName": "checkout", "ClientID": "0123456789abcdef01234567",
                "Timestamp": 1.7e9, "RequestCount": 10, "SampledCount": 2, "BorrowCount": 0}]})
            .to_string(),
        ),
    ] {
        let direct = post(&format!("{xray}{path}"), &body).await;
        let proxied = post(&format!("{proxy}{path}"), &body).await;
        assert_eq!(proxied, direct, "{path}: the answer comes back unchanged");
        assert_eq!(proxied.0, 200, "{path}");
    }
    let verdicts = botocore_verdicts(&fake);
    assert_eq!(verdicts.len(), 2, "both proxied requests arrived signed");
    for v in &verdicts {
        assert_eq!(v["ok"], true, "botocore recomputes the signature: {v}");
    }
    // The daemon's own paths only.
    let (status, _, _) = post(&format!("{proxy}/TraceSegments"), "{}").await;
    assert_eq!(status, 404);
    let report = daemon.stop().await;
    assert_eq!(report.counters.proxied, 2);
    assert_eq!(report.counters.proxy_failed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_remote_sampler_gets_its_rules_through_the_daemon() {
    let fake = FakeXray::start(vec![rule("checkout", 10, 0.25, 3)]).await;
    let daemon = Running::start(args(&format!("http://{}", fake.addr))).await;
    // The sampler signs with its own (other) credentials; the daemon re-signs with its own.
    let sampler = XrayRemoteSampler::builder()
        .with_client(client_for(&format!("http://{}", daemon.tcp)))
        .with_runtime(tokio::runtime::Handle::current())
        .build()
        .unwrap();
    eventually("the sampler has X-Ray's rules", || {
        sampler.rules().iter().any(|r| r.rule_name == "checkout")
    })
    .await;
    let rules_request = fake
        .state()
        .requests
        .iter()
        .find(|(path, _, _)| path == "/GetSamplingRules")
        .cloned()
        .expect("GetSamplingRules reached X-Ray");
    let authorization = rules_request
        .1
        .iter()
        .find(|(n, _)| n == "authorization")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    assert!(
        authorization.contains("Credential=testing/"),
        "signed by the daemon, not the sampler: {authorization}"
    );
    assert!(botocore_verdicts(&fake).iter().all(|v| v["ok"] == true));
    sampler.shutdown();
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_xray_is_a_502_and_counted() {
    let dead = format!("http://127.0.0.1:{}", otel_xray_testkit::free_port());
    let daemon = Running::start(args(&dead)).await;
    let (status, _, body) = post(&format!("http://{}/GetSamplingRules", daemon.tcp), "{}").await;
    assert_eq!(status, 502, "{body:?}");
    let report = daemon.stop().await;
    assert_eq!(report.counters.proxy_failed, 1);
    assert!(report
        .counters
        .backend_errors
        .contains_key(&otel_xray_daemon::BackendErrorKind::ConnectionRefused));
}
