//! `-r/--role-arn`: every call to X-Ray is made with the assumed role's credentials (STS
//! served by moto), not the daemon's own.

#[path = "../../otel-xray-sampler/tests/fake_xray/mod.rs"]
mod fake_xray;
mod support;

use fake_xray::{eventually, FakeXray};
use otel_xray_testkit::MotoServer;
use support::{args, document, send_framed, trace_id, Running};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_use_the_assumed_role() {
    let moto = MotoServer::start();
    // Only this test binary sets it: STS goes to moto, X-Ray to the recording stand-in.
    std::env::set_var("AWS_ENDPOINT_URL_STS", moto.endpoint_url());
    let fake = FakeXray::start(vec![]).await;
    let mut a = args(&format!("http://{}", fake.addr));
    a.role_arn = Some("arn:aws:iam::123456789012:role/xray-upload".into());
    let daemon = Running::start(a).await;
    send_framed(daemon.udp, &document(&trace_id(), 1, 10));
    eventually("PutTraceSegments reaches X-Ray", || {
        fake.state()
            .requests
            .iter()
            .any(|(p, _, _)| p == "/TraceSegments")
    })
    .await;
    let authorization = fake
        .state()
        .requests
        .iter()
        .find(|(p, _, _)| p == "/TraceSegments")
        .and_then(|(_, h, _)| h.iter().find(|(n, _)| n == "authorization").cloned())
        .map(|(_, v)| v)
        .expect("signed");
    let key = authorization
        .split("Credential=")
        .nth(1)
        .and_then(|c| c.split('/').next())
        .unwrap_or_default()
        .to_owned();
    assert!(
        !key.is_empty() && key != "testing",
        "signed with the role's key, got {key:?}"
    );
    assert!(
        key.starts_with("ASIA"),
        "temporary credentials from AssumeRole: {key}"
    );
    daemon.stop().await;
}
