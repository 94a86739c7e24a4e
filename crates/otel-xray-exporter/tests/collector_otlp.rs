//! End to end over loopback gRPC: SDK → batch processor → XrayAnnotationExporter →
//! opentelemetry-otlp (tonic) → an OTLP trace receiver standing in for the ADOT
//! collector. Asserts what arrives on the wire.
#![cfg(feature = "collector")]

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use opentelemetry::trace::{Span, SpanKind, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::{Context, KeyValue};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue as ProtoKeyValue};
use opentelemetry_proto::tonic::trace::v1::Span as ProtoSpan;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use otel_xray_exporter::{
    otlp_exporter, AnnotationRewriteStats, CollectorCounters, CollectorStats,
};
use otel_xray_id::{EpochWindow, XrayIdGenerator, XrayTraceId};
use tokio::sync::mpsc;

/// Forwards every export request to the test.
struct Receiver(mpsc::UnboundedSender<ExportTraceServiceRequest>);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        // A closed channel only means the test has stopped listening.
        let _ = self.0.send(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

/// Starts the receiver on 127.0.0.1:<free port>; returns its URL and the requests.
async fn start_receiver() -> (String, mpsc::UnboundedReceiver<ExportTraceServiceRequest>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .serve_with_incoming(
                TraceServiceServer::new(Receiver(tx)),
                tonic::transport::server::TcpIncoming::from(listener),
            )
            .await
            .expect("OTLP receiver failed");
    });
    (format!("http://{addr}"), rx)
}

fn string(s: &str) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(any_value::Value::StringValue(s.to_owned())),
    })
}

/// Attribute values by key; panics on a duplicate key, which the rewrite must not create.
fn attributes(kvs: &[ProtoKeyValue]) -> HashMap<&str, &Option<AnyValue>> {
    let mut map = HashMap::new();
    for kv in kvs {
        assert!(
            map.insert(kv.key.as_str(), &kv.value).is_none(),
            "duplicate attribute {}",
            kv.key
        );
    }
    map
}

fn annotation_list(kvs: &[ProtoKeyValue]) -> Vec<String> {
    let value = attributes(kvs)
        .get("aws.xray.annotations")
        .copied()
        .cloned()
        .flatten()
        .and_then(|v| v.value)
        .expect("aws.xray.annotations present");
    let any_value::Value::ArrayValue(array) = value else {
        panic!("aws.xray.annotations is not an array: {value:?}");
    };
    array
        .values
        .into_iter()
        .map(|v| match v.value {
            Some(any_value::Value::StringValue(s)) => s,
            other => panic!("non-string list entry {other:?}"),
        })
        .collect()
}

/// The counters once `spans` spans have been delivered or failed (60 s at most).
fn wait_for_outcome(counters: &CollectorCounters, spans: u64) -> CollectorStats {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let stats = counters.snapshot();
        if stats.exported_spans + stats.failed_spans >= spans || Instant::now() >= deadline {
            return stats;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn annotations_reach_the_collector_rewritten() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let (endpoint, mut requests) = runtime.block_on(start_receiver());

    // Built inside the runtime: the tonic channel spawns its worker there.
    let exporter = runtime
        .block_on(async { otlp_exporter(&endpoint) })
        .expect("OTLP exporter");
    let counters = exporter.counters();
    let provider = SdkTracerProvider::builder()
        .with_id_generator(XrayIdGenerator::default())
        .with_resource(
            Resource::builder_empty()
                .with_service_name("checkout")
                .build(),
        )
        .with_batch_exporter(exporter)
        .build();
    let tracer = provider.tracer("collector-test");

    let mut root = tracer
        .span_builder("GET /orders")
        .with_kind(SpanKind::Server)
        .with_attributes([
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new(
                "aws.xray.annotations",
                opentelemetry::Value::Array(
                    vec![opentelemetry::StringValue::from("http.request.method")].into(),
                ),
            ),
            KeyValue::new("region", "eu-west-1"),
        ])
        .start(&tracer);
    // Set after start: a span processor's on_start would never see these.
    root.set_attribute(KeyValue::new("aws.xray.annotation.customer", "alice"));
    root.set_attribute(KeyValue::new("aws.xray.annotation.retries", 3_i64));
    root.set_attribute(KeyValue::new("aws.xray.annotation.vip", true));
    root.set_attribute(KeyValue::new("aws.xray.annotation.score", 0.5_f64));
    root.set_attribute(KeyValue::new("aws.xray.annotation.order.id", "o-17"));
    root.set_attribute(KeyValue::new("aws.xray.annotation.region", "us-east-1"));
    root.set_attribute(KeyValue::new(
        "aws.xray.annotation.tags",
        opentelemetry::Value::Array(vec![opentelemetry::StringValue::from("a")].into()),
    ));
    let root_context = root.span_context().clone();
    let parent = Context::current_with_span(root);

    let mut child = tracer
        .span_builder("SELECT orders")
        .with_kind(SpanKind::Client)
        .start_with_context(&tracer, &parent);
    child.set_attribute(KeyValue::new("aws.xray.annotation.table", "orders"));
    child.set_attribute(KeyValue::new("db.system.name", "postgresql"));
    let child_context = child.span_context().clone();
    child.end();
    drop(parent); // ends the root span

    // Blocks until the batch is exported. This thread is not one of the runtime's
    // workers, which keep driving the tonic connection meanwhile. On a very loaded
    // machine shutdown may time out while the export goes on; the waits below cover it.
    let _ = provider.shutdown();

    let mut spans: Vec<(ProtoSpan, Vec<ProtoKeyValue>)> = Vec::new();
    runtime.block_on(async {
        while spans.len() < 2 {
            let request = tokio::time::timeout(Duration::from_secs(60), requests.recv())
                .await
                .expect("no OTLP request within 60 s")
                .expect("receiver stopped");
            for resource_spans in request.resource_spans {
                let resource = resource_spans.resource.expect("resource").attributes;
                for scope in resource_spans.scope_spans {
                    spans.extend(scope.spans.into_iter().map(|s| (s, resource.clone())));
                }
            }
        }
    });
    assert_eq!(spans.len(), 2, "exactly the two spans arrive");

    let (root_span, resource) = spans
        .iter()
        .find(|(s, _)| s.name == "GET /orders")
        .expect("root span received");
    let (child_span, _) = spans
        .iter()
        .find(|(s, _)| s.name == "SELECT orders")
        .expect("child span received");

    // The resource went through the wrapper's set_resource to the OTLP exporter.
    assert_eq!(
        attributes(resource).get("service.name"),
        Some(&&string("checkout"))
    );

    // IDs: unchanged on the wire, and X-Ray-valid thanks to XrayIdGenerator.
    let trace_id = root_context.trace_id().to_bytes();
    assert_eq!(root_span.trace_id, trace_id);
    assert_eq!(child_span.trace_id, trace_id);
    assert_eq!(root_span.span_id, root_context.span_id().to_bytes());
    assert_eq!(child_span.span_id, child_context.span_id().to_bytes());
    assert_eq!(child_span.parent_span_id, root_span.span_id);
    assert!(root_span.parent_span_id.is_empty());
    let xray = XrayTraceId::from_trace_id(root_context.trace_id()).expect("X-Ray trace id");
    xray.check_epoch(SystemTime::now(), EpochWindow::XRAY)
        .expect("epoch within X-Ray's window");

    // Root: rewritten keys with their typed values; the existing list is merged.
    let attrs = attributes(&root_span.attributes);
    assert_eq!(attrs.get("customer"), Some(&&string("alice")));
    assert_eq!(attrs.get("order.id"), Some(&&string("o-17")));
    assert_eq!(
        attrs
            .get("retries")
            .copied()
            .cloned()
            .flatten()
            .and_then(|v| v.value),
        Some(any_value::Value::IntValue(3))
    );
    assert_eq!(
        attrs
            .get("vip")
            .copied()
            .cloned()
            .flatten()
            .and_then(|v| v.value),
        Some(any_value::Value::BoolValue(true))
    );
    assert_eq!(
        attrs
            .get("score")
            .copied()
            .cloned()
            .flatten()
            .and_then(|v| v.value),
        Some(any_value::Value::DoubleValue(0.5))
    );
    assert_eq!(attrs.get("http.request.method"), Some(&&string("GET")));
    for gone in ["customer", "retries", "vip", "score", "order.id"] {
        assert!(
            !attrs.contains_key(format!("aws.xray.annotation.{gone}").as_str()),
            "{gone} still prefixed"
        );
    }
    // Conflict (default KeepBoth): both values survive, region is not annotated.
    assert_eq!(attrs.get("region"), Some(&&string("eu-west-1")));
    assert_eq!(
        attrs.get("aws.xray.annotation.region"),
        Some(&&string("us-east-1"))
    );
    // Arrays cannot be annotations: left under the prefixed key, unlisted.
    assert!(attrs.contains_key("aws.xray.annotation.tags"));
    assert_eq!(
        annotation_list(&root_span.attributes),
        [
            "http.request.method",
            "customer",
            "retries",
            "vip",
            "score",
            "order.id"
        ]
    );

    let child_attrs = attributes(&child_span.attributes);
    assert_eq!(child_attrs.get("table"), Some(&&string("orders")));
    assert_eq!(
        child_attrs.get("db.system.name"),
        Some(&&string("postgresql"))
    );
    assert_eq!(annotation_list(&child_span.attributes), ["table"]);

    assert_eq!(
        wait_for_outcome(&counters, 2),
        CollectorStats {
            annotations: AnnotationRewriteStats {
                spans: 2,
                rewritten: 6,
                conflicts_kept: 1,
                not_annotatable: 1,
                ..Default::default()
            },
            exported_spans: 2,
            failed_spans: 0,
        }
    );
}

#[test]
fn an_unreachable_collector_is_counted_not_hidden() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    // A loopback port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let exporter = runtime
        .block_on(async { otlp_exporter(&format!("http://127.0.0.1:{port}")) })
        .expect("OTLP exporter");
    let counters = exporter.counters();
    let provider = SdkTracerProvider::builder()
        .with_id_generator(XrayIdGenerator::default())
        .with_batch_exporter(exporter)
        .build();
    let tracer = provider.tracer("collector-test");
    for i in 0..3_i64 {
        let mut span = tracer.start("unsent");
        span.set_attribute(KeyValue::new("aws.xray.annotation.n", i));
        span.end();
    }
    // opentelemetry_sdk 0.33 returns Ok here although the export failed (and Err if
    // its retries outlast the shutdown timeout), so the wrapper's counters are where
    // the loss shows. Wait for the export to finish either way, boundedly.
    let _ = provider.shutdown();
    let stats = wait_for_outcome(&counters, 3);
    assert_eq!(stats.failed_spans, 3, "{stats}");
    assert_eq!(stats.exported_spans, 0, "{stats}");
    assert_eq!(stats.annotations.rewritten, 3, "{stats}");
}
