//! OpenTelemetry traffic end to end: an opentelemetry-otlp gRPC client →
//! `otel-xray daemon` → PutTraceSegments → moto, and with `--otlp-endpoint`
//! the same spans → the OTLP endpoint untranslated while UDP segments still
//! reach moto.

mod otlp_support;
mod support;

use opentelemetry_otlp::WithExportConfig;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_sdk::trace::SpanExporter as _;
use otel_xray_daemon::Source;
use otel_xray_testkit::MotoServer;
use otlp_support::endpoint::{Answer, EndpointSink};
use otlp_support::{assert_blocks_intact, resource, spans, TRACE_ID};
use prost::Message;
use support::{args, send_framed, stored_documents, wait_until, xray_client, Running, WAIT};

async fn export_over_grpc(daemon: &Running) {
    let mut exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(format!("http://{}", daemon.otlp_grpc.expect("OTLP/gRPC")))
        .build()
        .unwrap();
    exporter.set_resource(&resource());
    exporter.export(spans()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_spans_reach_xray_as_segments_with_every_block() {
    let moto = MotoServer::start();
    let daemon = Running::start(args(&moto.endpoint_url())).await;
    export_over_grpc(&daemon).await;
    let counters = wait_until(&daemon.counters, |c| c.sent >= 3).await;
    assert_eq!(counters.sent, 3, "{counters:?}");
    assert_eq!(counters.received.get(&Source::OtlpGrpc), Some(&3));

    let client = xray_client(&moto.endpoint_url());
    let xray_trace_id = format!("1-{}-{}", &TRACE_ID[..8], &TRACE_ID[8..]);
    let stored = stored_documents(&client, &xray_trace_id, |d| d.len() >= 3).await;
    assert_blocks_intact(stored);
    let report = daemon.stop().await;
    assert_eq!(report.drain.undelivered, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_otlp_over_udp_reaches_xray_through_the_daemon_port() {
    let moto = MotoServer::start();
    let daemon = Running::start(args(&moto.endpoint_url())).await;
    let address = otel_xray_exporter::DaemonAddress::parse(&daemon.udp.to_string()).unwrap();
    let mut exporter = otel_xray_exporter::otlp::XrayLambdaOtlpExporter::new(&address).unwrap();
    exporter.set_resource(&resource());
    exporter.export(spans()).await.unwrap();
    let counters = wait_until(&daemon.counters, |c| c.sent >= 3).await;
    assert_eq!(
        counters.received.get(&Source::OtlpUdp),
        Some(&3),
        "{counters:?}"
    );
    assert_eq!(counters.sent, 3);

    let client = xray_client(&moto.endpoint_url());
    let xray_trace_id = format!("1-{}-{}", &TRACE_ID[..8], &TRACE_ID[8..]);
    let stored = stored_documents(&client, &xray_trace_id, |d| d.len() >= 3).await;
    let server = stored
        .iter()
        .find(|d| d["id"] == "0000000000001001")
        .expect("the server segment is stored");
    assert_eq!(server["annotations"]["tenant"], "acme");
    assert_eq!(server["http"]["request"]["method"], "GET");
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_otlp_endpoint_otlp_goes_untranslated_and_segments_still_to_xray() {
    let moto = MotoServer::start();
    let sink = EndpointSink::start(|_| Answer::Accept).await;
    let mut daemon_args = args(&moto.endpoint_url());
    daemon_args.otlp_endpoint = Some(sink.url());
    let daemon = Running::start(daemon_args).await;

    export_over_grpc(&daemon).await;
    send_framed(
        daemon.udp,
        r#"{"name":"legacy","id":"70de5b6f19ff9a0a","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1478293361.271,"end_time":1478293361.449}"#,
    );
    let counters = wait_until(&daemon.counters, |c| c.sent >= 1).await;
    assert_eq!(
        counters.sent, 1,
        "only the UDP segment takes the segment path"
    );
    assert_eq!(counters.received.get(&Source::OtlpGrpc), Some(&3));

    let requests = sink.wait_for_requests(1, WAIT).await;
    assert_eq!(requests.len(), 1, "one request to the OTLP endpoint");
    let request = &requests[0];
    let authorization = request.headers()["authorization"].to_str().unwrap();
    assert!(
        authorization.starts_with("AWS4-HMAC-SHA256") && authorization.contains("/us-east-1/xray/"),
        "{authorization}"
    );
    let body = if request
        .headers()
        .get("content-encoding")
        .map(|v| v.as_bytes())
        == Some(b"gzip")
    {
        let mut out = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(request.body().as_ref()),
            &mut out,
        )
        .unwrap();
        out
    } else {
        request.body().to_vec()
    };
    let forwarded = ExportTraceServiceRequest::decode(body.as_slice()).unwrap();
    let resource_spans = &forwarded.resource_spans[0];
    let service = resource_spans
        .resource
        .as_ref()
        .unwrap()
        .attributes
        .iter()
        .find(|kv| kv.key == "service.name");
    assert_eq!(
        service
            .and_then(|kv| kv.value.clone())
            .and_then(|v| v.value),
        Some(AnyValue::StringValue("checkout".into())),
        "the spans keep their own resource"
    );
    let forwarded_spans: Vec<_> = resource_spans
        .scope_spans
        .iter()
        .flat_map(|s| &s.spans)
        .collect();
    assert_eq!(forwarded_spans.len(), 3);
    let server = forwarded_spans
        .iter()
        .find(|s| s.name == "GET /orders/{id}")
        .unwrap();
    // Untranslated, with the annotation convention the endpoint reads.
    assert!(server
        .attributes
        .iter()
        .any(|kv| kv.key == "aws.xray.annotations"));
    assert!(server
        .attributes
        .iter()
        .any(|kv| kv.key == "http.request.method"));
    let counters = wait_until(&daemon.counters, |c| {
        c.otlp_endpoint
            .as_ref()
            .is_some_and(|o| o.delivery.sent == 3)
    })
    .await;
    let endpoint = counters.otlp_endpoint.expect("--otlp-endpoint counters");
    assert_eq!(
        (endpoint.forwarded, endpoint.pending()),
        (3, 0),
        "{endpoint:?}"
    );

    let client = xray_client(&moto.endpoint_url());
    let stored = stored_documents(&client, "1-581cf771-a006649127e371903a2de979", |d| {
        !d.is_empty()
    })
    .await;
    assert_eq!(stored.len(), 1);
    daemon.stop().await;
}
