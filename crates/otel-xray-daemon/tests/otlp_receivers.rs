//! Real OTLP clients (opentelemetry-otlp over gRPC, HTTP protobuf with gzip,
//! HTTP JSON; the upstream tonic client; plain HTTP) → the daemon's
//! receivers on loopback → segment documents in a real buffer.

mod otlp_support;

use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use opentelemetry_sdk::trace::SpanExporter as _;
use otel_xray_daemon::{Offer, RejectReason, Source};
use otlp_support::{assert_blocks_intact, resource, spans, Receivers};
use prost::Message;

const MB: usize = 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_grpc_client_spans_arrive_as_schema_valid_segments() {
    let receivers = Receivers::start(8 * MB).await;
    let mut exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(format!("http://{}", receivers.grpc))
        .with_compression(opentelemetry_otlp::Compression::Gzip)
        .build()
        .unwrap();
    exporter.set_resource(&resource());
    exporter.export(spans()).await.unwrap();
    assert_blocks_intact(receivers.documents(3).await);
    let counters = receivers.ingest.intake().counters().snapshot();
    assert_eq!(counters.received_total(), 3);
    assert_eq!(counters.rejected_total(), 0);
    assert_eq!(
        receivers
            .ingest
            .counters()
            .snapshot()
            .requests_for(Source::OtlpGrpc),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_http_protobuf_gzip_and_json_clients_arrive_intact() {
    let receivers = Receivers::start(8 * MB).await;
    for protocol in [Protocol::HttpBinary, Protocol::HttpJson] {
        let mut exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(protocol)
            .with_endpoint(receivers.http_url())
            .with_compression(opentelemetry_otlp::Compression::Gzip)
            .build()
            .unwrap();
        exporter.set_resource(&resource());
        exporter.export(spans()).await.unwrap();
        assert_blocks_intact(receivers.documents(3).await);
    }
    let stats = receivers.ingest.counters().snapshot();
    assert_eq!(stats.requests_for(Source::OtlpHttp), 2);
    assert_eq!(stats.malformed_for(Source::OtlpHttp), 0);
}

/// Two good spans around one whose trace ID has 15 bytes.
fn request_with_a_bad_span() -> ExportTraceServiceRequest {
    let good = |id: u8| Span {
        trace_id: vec![0x65; 16],
        span_id: vec![id; 8],
        name: "op".into(),
        kind: 2,
        start_time_unix_nano: 1_795_246_848_000_000_000,
        end_time_unix_nano: 1_795_246_848_100_000_000,
        ..Default::default()
    };
    let bad = Span {
        trace_id: vec![0x65; 15],
        ..good(2)
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![good(1), bad, good(3)],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// [`request_with_a_bad_span`] as an OTLP/HTTP protobuf POST.
async fn post_bad_span_request(receivers: &Receivers) -> reqwest::Response {
    reqwest::Client::new()
        .post(receivers.http_url())
        .header("content-type", "application/x-protobuf")
        .body(request_with_a_bad_span().encode_to_vec())
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_span_is_answered_with_partial_success_over_grpc_and_http() {
    let receivers = Receivers::start(8 * MB).await;
    let mut client = TraceServiceClient::connect(format!("http://{}", receivers.grpc))
        .await
        .unwrap();
    let answer = client
        .export(request_with_a_bad_span())
        .await
        .unwrap()
        .into_inner();
    let partial = answer.partial_success.expect("partial_success");
    assert_eq!(partial.rejected_spans, 1);
    assert!(
        partial.error_message.contains("spans[1].traceId"),
        "{}",
        partial.error_message
    );
    assert_eq!(receivers.documents(2).await.len(), 2);

    let response = post_bad_span_request(&receivers).await;
    assert_eq!(response.status(), 200);
    let answer = ExportTraceServiceResponse::decode(response.bytes().await.unwrap()).unwrap();
    assert_eq!(answer.partial_success.unwrap().rejected_spans, 1);
    assert_eq!(receivers.documents(2).await.len(), 2);

    let counters = receivers.ingest.intake().counters().snapshot();
    assert_eq!(counters.received_total(), 6);
    assert_eq!(counters.rejected_for(RejectReason::OtlpDecode), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_buffer_is_answered_resource_exhausted_and_429() {
    let receivers = Receivers::start(4096).await;
    // Segment documents from the daemon port filled the buffer.
    let intake = receivers.ingest.intake();
    intake.received(Source::DaemonUdp, 1);
    assert_eq!(intake.offer(" ".repeat(4000)), Offer::Accepted);
    let mut exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(format!("http://{}", receivers.grpc))
        .build()
        .unwrap();
    exporter.set_resource(&resource());
    let error = exporter.export(spans()).await.unwrap_err();
    let mut client = TraceServiceClient::connect(format!("http://{}", receivers.grpc))
        .await
        .unwrap();
    let status = client.export(request_with_a_bad_span()).await.unwrap_err();
    assert_eq!(
        status.code(),
        tonic::Code::ResourceExhausted,
        "{status:?} / {error:?}"
    );
    assert!(status.message().contains("buffer is full"), "{status:?}");

    let response = post_bad_span_request(&receivers).await;
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));

    let counters = receivers.ingest.intake().counters().snapshot();
    let stats = receivers.ingest.counters().snapshot();
    assert_eq!(counters.spillover, 3 + 2 + 2, "{counters:?}");
    assert_eq!(stats.refused_for(Source::OtlpGrpc), 2);
    assert_eq!(stats.refused_for(Source::OtlpHttp), 1);
    // Every span is accounted for: buffered, spilled or rejected.
    assert_eq!(
        counters.received_total(),
        counters.buffered + counters.spillover + counters.rejected_total()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_is_refused_and_counted() {
    let receivers = Receivers::start(8 * MB).await;
    let http = reqwest::Client::new();
    let post = |content_type: &'static str, encoding: Option<&'static str>, body: Vec<u8>| {
        let mut request = http
            .post(receivers.http_url())
            .header("content-type", content_type)
            .body(body);
        if let Some(encoding) = encoding {
            request = request.header("content-encoding", encoding);
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let garbage = vec![0xff, 0x13, 0x00, 0x7f, 0x42, 0x99];
    assert_eq!(
        post("application/x-protobuf", None, garbage.clone()).await,
        400
    );
    assert_eq!(
        post("application/json", None, b"{\"resourceSpans\": [".to_vec()).await,
        400
    );
    assert_eq!(
        post("application/json", None, b"[1, 2]".to_vec()).await,
        400
    );
    assert_eq!(
        post("application/x-protobuf", Some("gzip"), garbage.clone()).await,
        400
    );
    assert_eq!(
        post("application/x-protobuf", Some("br"), garbage.clone()).await,
        415
    );
    assert_eq!(post("text/plain", None, garbage.clone()).await, 415);
    let status = http
        .get(receivers.http_url())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 405);

    // gRPC: a message whose field 1 is a varint where the request has spans.
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", receivers.grpc))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let path = http::uri::PathAndQuery::from_static(
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    );
    let codec =
        tonic_prost::ProstCodec::<prost_types::Duration, ExportTraceServiceResponse>::default();
    let wrong = prost_types::Duration {
        seconds: 5,
        nanos: 0,
    };
    let status = grpc
        .unary(tonic::Request::new(wrong), path, codec)
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Internal, "{status:?}");

    let stats = receivers.ingest.counters().snapshot();
    assert_eq!(stats.malformed_for(Source::OtlpHttp), 6);
    assert_eq!(stats.malformed_for(Source::OtlpGrpc), 1);
    let counters = receivers.ingest.intake().counters().snapshot();
    assert_eq!(counters.rejected_for(RejectReason::OtlpDecode), 7);
    assert!(receivers.ingest.intake().buffer().is_empty());
    // The receivers still work after all that.
    let response = post_bad_span_request(&receivers).await;
    assert_eq!(response.status(), 200);
}
