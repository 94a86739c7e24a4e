//! `ProxyAddress` / `-p`: the daemon's X-Ray calls — segments and the sampling proxy's
//! requests — go through an HTTP proxy (here a real forwarding and tunnelling proxy on
//! loopback in front of moto) and still reach X-Ray.

#[path = "../../otel-xray-sampler/tests/fake_xray/mod.rs"]
mod fake_xray;
mod support;

use otel_xray_testkit::{HttpProxy, MotoServer};
use support::{
    args, document, post, send_framed, stored_documents, trace_id, wait_until, xray_client, Running,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segments_reach_xray_through_the_proxy_address() {
    let moto = MotoServer::start();
    let proxy = HttpProxy::start().await;
    let mut daemon_args = args(&moto.endpoint_url());
    daemon_args.proxy_address = Some(proxy.url().to_owned());
    let daemon = Running::start(daemon_args).await;

    let trace = trace_id();
    let segment = document(&trace, 1, 10);
    send_framed(daemon.udp, &segment);
    let counters = wait_until(&daemon.counters, |c| c.sent >= 1).await;
    assert_eq!(
        counters.sent,
        1,
        "{counters:?}, through the proxy: {:?}",
        proxy.seen()
    );

    let target = format!("POST {}/TraceSegments", moto.endpoint_url());
    let through_proxy = proxy.seen();
    assert!(
        through_proxy.contains(&target),
        "PutTraceSegments did not go through {}: {through_proxy:?}",
        proxy.url()
    );
    let stored = stored_documents(&xray_client(&moto.endpoint_url()), &trace, |d| {
        !d.is_empty()
    })
    .await;
    let sent: serde_json::Value = serde_json::from_str(&segment).unwrap();
    assert_eq!(stored, vec![sent]);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sampling_requests_are_tunnelled_through_the_proxy_address() {
    // moto has no sampling rules: the sampler's fake X-Ray answers them.
    let fake = fake_xray::FakeXray::start(vec![fake_xray::rule("checkout", 10, 0.25, 3)]).await;
    let proxy = HttpProxy::start().await;
    let mut daemon_args = args(&format!("http://{}", fake.addr));
    daemon_args.proxy_address = Some(proxy.url().to_owned());
    let daemon = Running::start(daemon_args).await;

    let (status, _, body) = post(&format!("http://{}/GetSamplingRules", daemon.tcp), "{}").await;
    let body = String::from_utf8_lossy(&body);
    assert_eq!(status, 200, "{body}");
    let rules: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        rules["SamplingRuleRecords"][0]["SamplingRule"]["RuleName"], "checkout",
        "{rules}"
    );
    let through_proxy = proxy.seen();
    assert_eq!(
        through_proxy,
        vec![format!("CONNECT {}", fake.addr)],
        "GetSamplingRules did not go through {}",
        proxy.url()
    );
    assert_eq!(daemon.counters.snapshot().proxied, 1);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_proxy_address_is_a_counted_backend_error_not_a_direct_call() {
    let moto = MotoServer::start();
    // A port nothing listens on: connections to the proxy are refused.
    let closed = format!("http://127.0.0.1:{}", otel_xray_testkit::free_port());
    let mut daemon_args = args(&moto.endpoint_url());
    daemon_args.proxy_address = Some(closed);
    daemon_args.shutdown_timeout = 1.0;
    let daemon = Running::start(daemon_args).await;

    let trace = trace_id();
    send_framed(daemon.udp, &document(&trace, 2, 10));
    let counters = wait_until(&daemon.counters, |c| c.backend_errors_total() >= 1).await;
    assert!(counters.backend_errors_total() >= 1, "{counters:?}");
    assert_eq!(counters.sent, 0, "X-Ray was called directly: {counters:?}");
    // The sampling proxy's requests do not go around it either.
    let (status, _, body) = post(&format!("http://{}/GetSamplingRules", daemon.tcp), "{}").await;
    assert_eq!(status, 502, "{}", String::from_utf8_lossy(&body));
    assert_eq!(daemon.counters.snapshot().proxy_failed, 1);
    let report = daemon.stop().await;
    assert_eq!(report.counters.sent, 0);
    let stored = stored_documents(&xray_client(&moto.endpoint_url()), &trace, |_| true).await;
    assert!(stored.is_empty(), "{stored:?}");
}
