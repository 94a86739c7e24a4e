//! `ProxyAddress` / `-p`: the daemon's X-Ray calls — segments and the sampling proxy's
//! requests — go through an HTTP proxy (here a real forwarding and tunnelling proxy on
//! loopback in front of moto) and still reach X-Ray.

#[path = "../../otel-xray-sampler/tests/fake_xray/mod.rs"]
mod fake_xray;
mod support;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use otel_xray_testkit::MotoServer;
use support::{
    args, document, post, send_framed, stored_documents, trace_id, wait_until, xray_client, Running,
};

/// An HTTP proxy: sends absolute-form requests (`POST http://host/path`) on, and tunnels
/// `CONNECT host:port`; keeps each request's method and target.
async fn forwarding_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let keep = seen.clone();
    let upstream =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http::<Full<Bytes>>();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let (keep, upstream) = (keep.clone(), upstream.clone());
            let service =
                hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let (keep, upstream) = (keep.clone(), upstream.clone());
                    async move {
                        keep.lock()
                            .unwrap()
                            .push(format!("{} {}", req.method(), req.uri()));
                        if req.method() == http::Method::CONNECT {
                            return Ok::<_, Infallible>(tunnel(req));
                        }
                        let (mut parts, body) = req.into_parts();
                        parts.headers.remove("proxy-connection");
                        parts.headers.remove("proxy-authorization");
                        let body = body.collect().await.unwrap().to_bytes();
                        let answer = match upstream
                            .request(http::Request::from_parts(parts, Full::new(body)))
                            .await
                        {
                            Ok(answer) => {
                                let (parts, body) = answer.into_parts();
                                let body = body.collect().await.unwrap().to_bytes();
                                http::Response::from_parts(parts, Full::new(body))
                            }
                            Err(e) => http::Response::builder()
                                .status(502)
                                .body(Full::new(Bytes::from(e.to_string())))
                                .unwrap(),
                        };
                        Ok::<_, Infallible>(answer)
                    }
                });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .with_upgrades(),
            );
        }
    });
    (url, seen)
}

/// Answers a `CONNECT` with 200 and then relays bytes both ways to its target.
fn tunnel(req: http::Request<hyper::body::Incoming>) -> http::Response<Full<Bytes>> {
    let target = req.uri().authority().map(|a| a.to_string());
    let Some(target) = target else {
        let mut answer = http::Response::new(Full::new(Bytes::from("CONNECT needs host:port")));
        *answer.status_mut() = http::StatusCode::BAD_REQUEST;
        return answer;
    };
    tokio::spawn(async move {
        let client = hyper::upgrade::on(req).await.unwrap();
        let mut server = tokio::net::TcpStream::connect(target).await.unwrap();
        let mut client = hyper_util::rt::TokioIo::new(client);
        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
    });
    http::Response::new(Full::new(Bytes::new()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segments_reach_xray_through_the_proxy_address() {
    let moto = MotoServer::start();
    let (proxy, seen) = forwarding_proxy().await;
    let mut daemon_args = args(&moto.endpoint_url());
    daemon_args.proxy_address = Some(proxy.clone());
    let daemon = Running::start(daemon_args).await;

    let trace = trace_id();
    let segment = document(&trace, 1, 10);
    send_framed(daemon.udp, &segment);
    let counters = wait_until(&daemon.counters, |c| c.sent >= 1).await;
    assert_eq!(
        counters.sent,
        1,
        "{counters:?}, through the proxy: {:?}",
        seen.lock().unwrap()
    );

    let target = format!("POST {}/TraceSegments", moto.endpoint_url());
    let through_proxy = seen.lock().unwrap().clone();
    assert!(
        through_proxy.contains(&target),
        "PutTraceSegments did not go through {proxy}: {through_proxy:?}"
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
    let (proxy, seen) = forwarding_proxy().await;
    let mut daemon_args = args(&format!("http://{}", fake.addr));
    daemon_args.proxy_address = Some(proxy.clone());
    let daemon = Running::start(daemon_args).await;

    let (status, _, body) = post(&format!("http://{}/GetSamplingRules", daemon.tcp), "{}").await;
    let body = String::from_utf8_lossy(&body);
    assert_eq!(status, 200, "{body}");
    let rules: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        rules["SamplingRuleRecords"][0]["SamplingRule"]["RuleName"], "checkout",
        "{rules}"
    );
    let through_proxy = seen.lock().unwrap().clone();
    assert_eq!(
        through_proxy,
        vec![format!("CONNECT {}", fake.addr)],
        "GetSamplingRules did not go through {proxy}"
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
