//! `--otlp-endpoint`: what becomes of the forwarded spans is in the daemon's counters, on
//! `/metrics` and (as segments would be) in the telemetry: spans the endpoint accepted,
//! refused and the exporter dropped, and spans the forwarder had no room for. The endpoint is
//! a real HTTP server on loopback.

mod otlp_support;
mod support;

use std::time::{Duration, SystemTime};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::trace::SpanData;
use otel_xray_daemon::{CountersSnapshot, Forwarder, Intake, OtlpIngest, RejectReason, Source};
use otel_xray_exporter::otlp::XrayOtlpExporter;
use otel_xray_exporter::{DropReason, Translator, TranslatorConfig};
use otlp_support::endpoint::{Answer, EndpointSink};
use otlp_support::{resource, spans, Receivers};
use support::{args, wait_until, Running, WAIT};

fn request(spans: Vec<SpanData>) -> ExportTraceServiceRequest {
    let resource = ResourceAttributesWithSchema::from(&resource());
    ExportTraceServiceRequest {
        resource_spans: group_spans_by_resource_and_scope(spans, &resource),
    }
}

/// [`spans`] with fresh span ids (`n` apart), so each batch is its own.
fn batch(n: u64) -> Vec<SpanData> {
    spans()
        .into_iter()
        .enumerate()
        .map(|(i, mut span)| {
            let id = 0x7000_0000_0000_0000 + n * 16 + i as u64;
            span.span_context = opentelemetry::trace::SpanContext::new(
                span.span_context.trace_id(),
                opentelemetry::trace::SpanId::from(id),
                span.span_context.trace_flags(),
                false,
                span.span_context.trace_state().clone(),
            );
            span
        })
        .collect()
}

async fn export(grpc: std::net::SocketAddr, spans: Vec<SpanData>) -> Result<(), tonic::Status> {
    let mut client = TraceServiceClient::connect(format!("http://{grpc}"))
        .await
        .unwrap();
    client.export(request(spans)).await.map(|_| ())
}

/// Everything received is accounted for, the forwarded spans included.
fn assert_balanced(c: &CountersSnapshot) {
    assert_eq!(
        c.received_total(),
        c.spillover + c.rejected_total() + c.sent + c.backend_rejected + c.dropped + c.forwarded(),
        "{c:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_spans_sent_refused_and_dropped_are_counted_and_shown() {
    // The first request is accepted, every later one refused.
    let sink = EndpointSink::start(|n| match n {
        0 => Answer::Accept,
        _ => Answer::Refuse(400, "InvalidParameterException: not today"),
    })
    .await;
    let mut daemon_args = args("http://127.0.0.1:9");
    daemon_args.otlp_endpoint = Some(sink.url());
    daemon_args.metrics = Some("127.0.0.1:0".into());
    let daemon = Running::start(daemon_args).await;
    let grpc = daemon.otlp_grpc.expect("OTLP/gRPC");

    export(grpc, batch(1)).await.unwrap();
    sink.wait_for_requests(1, WAIT).await;
    let sent = |c: &CountersSnapshot| c.otlp_endpoint.as_ref().map_or(0, |o| o.delivery.sent);
    assert_eq!(
        sent(&wait_until(&daemon.counters, |c| sent(c) == 3).await),
        3
    );
    export(grpc, batch(2)).await.unwrap();
    // Older than the endpoint takes (14 days): dropped by the exporter, never sent.
    let mut old = batch(3);
    old.truncate(1);
    let weeks_ago = SystemTime::now() - Duration::from_secs(20 * 24 * 3600);
    old[0].start_time = weeks_ago;
    old[0].end_time = weeks_ago + Duration::from_millis(5);
    export(grpc, old).await.unwrap();

    let c = wait_until(&daemon.counters, |c| {
        c.otlp_endpoint
            .as_ref()
            .is_some_and(|o| o.forwarded == 7 && o.pending() == 0)
    })
    .await;
    let endpoint = c.otlp_endpoint.clone().expect("--otlp-endpoint counters");
    assert_eq!(endpoint.forwarded, 7, "{endpoint:?}");
    assert_eq!(endpoint.delivery.sent, 3, "{endpoint:?}");
    assert_eq!(
        endpoint.delivery.rejected.get("http_400"),
        Some(&3),
        "{endpoint:?}"
    );
    assert_eq!(
        endpoint.delivery.dropped_for(DropReason::OutsideTimeWindow),
        1,
        "{endpoint:?}"
    );
    assert_eq!(c.received.get(&Source::OtlpGrpc), Some(&7));
    assert_eq!(c.sent, 0, "nothing took the segment path");
    assert_balanced(&c);
    assert_eq!(sink.requests().len(), 2, "the old span was never sent");

    let metrics = format!("http://{}/metrics", daemon.metrics.expect("--metrics"));
    let text = get(&metrics).await;
    for line in [
        "xray_daemon_received_total{source=\"otlp_grpc\"} 7",
        "xray_daemon_otlp_endpoint_forwarded_total 7",
        "xray_daemon_otlp_endpoint_sent_total 3",
        "xray_daemon_otlp_endpoint_rejected_total{code=\"http_400\"} 3",
        "xray_daemon_otlp_endpoint_dropped_total{reason=\"outside_time_window\"} 1",
        "xray_daemon_otlp_endpoint_pending_spans 0",
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
    }
    let report = daemon.stop().await;
    assert_balanced(&report.counters);
}

/// `ProxyAddress` carries the `--otlp-endpoint` exports too, in a `CONNECT` tunnel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_spans_go_through_the_proxy_address() {
    let sink = EndpointSink::start(|_| Answer::Accept).await;
    let proxy = otel_xray_testkit::HttpProxy::start().await;
    let mut daemon_args = args("http://127.0.0.1:9");
    daemon_args.otlp_endpoint = Some(sink.url());
    daemon_args.proxy_address = Some(proxy.url().to_owned());
    let daemon = Running::start(daemon_args).await;

    export(daemon.otlp_grpc.expect("OTLP/gRPC"), batch(1))
        .await
        .unwrap();
    sink.wait_for_requests(1, WAIT).await;
    let sent = |c: &CountersSnapshot| c.otlp_endpoint.as_ref().map_or(0, |o| o.delivery.sent);
    assert_eq!(
        sent(&wait_until(&daemon.counters, |c| sent(c) == 3).await),
        3
    );
    let authority = sink.url();
    let authority = authority
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap();
    assert_eq!(proxy.seen(), vec![format!("CONNECT {authority}")]);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_forwarder_answers_resource_exhausted_and_counts_the_spans() {
    // The first export is held at the endpoint: its 3 spans fill the forwarder's room.
    let sink = EndpointSink::start(|n| match n {
        0 => Answer::HoldThenAccept,
        _ => Answer::Accept,
    })
    .await;
    support::test_credentials();
    let sdk = otel_xray_exporter::aws_config::defaults(
        otel_xray_exporter::aws_config::BehaviorVersion::latest(),
    )
    .region(otel_xray_exporter::aws_config::Region::new("us-east-1"))
    .load()
    .await;
    let exporter = XrayOtlpExporter::builder()
        .with_endpoint(sink.url())
        .with_sdk_config(sdk)
        .with_export_timeout(WAIT)
        .build()
        .unwrap();
    let ingest = OtlpIngest::new(
        Translator::new(TranslatorConfig::default()),
        Intake::with_capacity(1 << 20),
    )
    .with_forwarder(Forwarder::new(exporter, 3));
    let receivers = Receivers::start_with(ingest).await;

    export(receivers.grpc, batch(1)).await.unwrap();
    sink.wait_for_requests(1, WAIT).await;
    let status = export(receivers.grpc, batch(2)).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().contains("X-Ray OTLP endpoint"),
        "{status:?}"
    );

    let counters = receivers.ingest.intake().counters().clone();
    let c = counters.snapshot();
    assert_eq!(c.received.get(&Source::OtlpGrpc), Some(&6), "{c:?}");
    assert_eq!(
        c.rejected
            .get(&(Source::OtlpGrpc, RejectReason::OtlpOverloaded)),
        Some(&3),
        "{c:?}"
    );
    let endpoint = c.otlp_endpoint.clone().expect("counters attached");
    assert_eq!(
        (endpoint.forwarded, endpoint.pending()),
        (3, 3),
        "{endpoint:?}"
    );
    let requests = receivers.ingest.counters().snapshot();
    assert_eq!(requests.refused_for(Source::OtlpGrpc), 1);

    sink.release();
    let c = wait_until(&counters, |c| {
        c.otlp_endpoint.as_ref().is_some_and(|o| o.pending() == 0)
    })
    .await;
    assert_eq!(c.otlp_endpoint.as_ref().map(|o| o.delivery.sent), Some(3));
    assert_balanced(&c);
    // With room again, the sender's retry goes through.
    export(receivers.grpc, batch(2)).await.unwrap();
    sink.wait_for_requests(2, WAIT).await;
}

async fn get(url: &str) -> String {
    use http_body_util::{BodyExt, Empty};
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Empty<bytes::Bytes>>();
    let response = client.get(url.parse().unwrap()).await.expect("answered");
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(body.to_vec()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_waits_for_forwarded_spans_and_reports_those_still_in_flight() {
    // Accepted at once: the drain has nothing to wait for.
    let sink = EndpointSink::start(|_| Answer::Accept).await;
    let mut daemon_args = args("http://127.0.0.1:9");
    daemon_args.otlp_endpoint = Some(sink.url());
    let daemon = Running::start(daemon_args).await;
    export(daemon.otlp_grpc.expect("OTLP/gRPC"), batch(1))
        .await
        .unwrap();
    let report = daemon.stop().await;
    assert_eq!(report.otlp_endpoint_undelivered, 0);
    let endpoint = report.counters.otlp_endpoint.expect("counters");
    assert_eq!((endpoint.forwarded, endpoint.delivery.sent), (3, 3));

    // Held past the shutdown timeout: reported, not forgotten.
    let sink = EndpointSink::start(|_| Answer::HoldThenAccept).await;
    let mut daemon_args = args("http://127.0.0.1:9");
    daemon_args.otlp_endpoint = Some(sink.url());
    daemon_args.shutdown_timeout = 0.5;
    let daemon = Running::start(daemon_args).await;
    export(daemon.otlp_grpc.expect("OTLP/gRPC"), batch(2))
        .await
        .unwrap();
    sink.wait_for_requests(1, WAIT).await;
    let report = daemon.stop().await;
    assert_eq!(report.otlp_endpoint_undelivered, 3);
    let endpoint = report.counters.otlp_endpoint.expect("counters");
    assert_eq!((endpoint.forwarded, endpoint.pending()), (3, 3));
    sink.release();
}
