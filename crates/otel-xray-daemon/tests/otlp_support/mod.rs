//! The OTLP receivers on loopback over a real buffer, and spans that exercise
//! every segment block.
#![allow(dead_code)]

pub mod endpoint;

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{
    Event, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use opentelemetry_sdk::Resource;
use otel_xray_daemon::{serve_grpc, serve_http, Intake, OtlpIngest};
use otel_xray_exporter::{Translator, TranslatorConfig};
use serde_json::Value as Json;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// gRPC and HTTP receivers over one buffer, stopped on drop.
pub struct Receivers {
    pub grpc: SocketAddr,
    pub http: SocketAddr,
    pub ingest: OtlpIngest,
    stop: watch::Sender<bool>,
}

impl Receivers {
    /// Receivers over a buffer of `capacity_bytes`.
    pub async fn start(capacity_bytes: usize) -> Receivers {
        let ingest = OtlpIngest::new(
            Translator::new(TranslatorConfig::default()),
            Intake::with_capacity(capacity_bytes),
        );
        Receivers::start_with(ingest).await
    }

    /// Receivers taking into `ingest`.
    pub async fn start_with(ingest: OtlpIngest) -> Receivers {
        let grpc_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let http_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (stop, _) = watch::channel(false);
        let receivers = Receivers {
            grpc: grpc_listener.local_addr().unwrap(),
            http: http_listener.local_addr().unwrap(),
            ingest: ingest.clone(),
            stop,
        };
        let grpc_ingest = ingest.clone();
        let stopped = receivers.stop.subscribe();
        tokio::spawn(async move {
            serve_grpc(grpc_listener, grpc_ingest, stopped)
                .await
                .unwrap()
        });
        tokio::spawn(serve_http(
            http_listener,
            ingest,
            receivers.stop.subscribe(),
        ));
        receivers
    }

    pub fn http_url(&self) -> String {
        format!("http://{}/v1/traces", self.http)
    }

    /// Exactly `n` documents from the buffer (waits up to 10 s for them).
    pub async fn documents(&self, n: usize) -> Vec<Json> {
        let buffer = self.ingest.intake().buffer().clone();
        let mut out = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while out.len() < n {
            let batch = tokio::time::timeout_at(deadline, buffer.next_batch(n - out.len()))
                .await
                .unwrap_or_else(|_| panic!("only {} of {n} documents arrived", out.len()));
            buffer.release(batch.charge());
            for doc in &batch.documents {
                out.push(serde_json::from_str(doc).unwrap());
            }
        }
        assert!(buffer.is_empty(), "more documents than expected");
        out
    }
}

impl Drop for Receivers {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

pub const TRACE_ID: &str = "6553f1000123456789abcdef01234567";

pub fn resource() -> Resource {
    Resource::builder_empty()
        .with_service_name("checkout")
        .with_attribute(KeyValue::new("cloud.provider", "aws"))
        .build()
}

fn span(
    span_id: u64,
    parent: u64,
    kind: SpanKind,
    name: &'static str,
    attributes: Vec<KeyValue>,
) -> SpanData {
    // A minute ago, within the OTLP endpoint's time window, and the same for
    // every call so that spans() made twice are equal.
    static START: std::sync::OnceLock<SystemTime> = std::sync::OnceLock::new();
    let start = *START.get_or_init(|| SystemTime::now() - Duration::from_secs(60));
    SpanData {
        span_context: SpanContext::new(
            TraceId::from_hex(TRACE_ID).unwrap(),
            SpanId::from_bytes(span_id.to_be_bytes()),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ),
        parent_span_id: SpanId::from_bytes(parent.to_be_bytes()),
        parent_span_is_remote: false,
        span_kind: kind,
        name: name.into(),
        start_time: start,
        end_time: start + Duration::from_millis(40),
        attributes,
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::Unset,
        instrumentation_scope: InstrumentationScope::builder("checkout-app").build(),
    }
}

/// A server span (annotations, http, an exception), a DynamoDB client span
/// (aws) and a database span (sql).
pub fn spans() -> Vec<SpanData> {
    let mut server = span(
        0x1001,
        0,
        SpanKind::Server,
        "GET /orders/{id}",
        vec![
            KeyValue::new("aws.xray.annotation.tenant", "acme"),
            KeyValue::new("aws.xray.annotation.priority", 3i64),
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("url.full", "https://shop.example/orders/7"),
            KeyValue::new("http.response.status_code", 500i64),
            KeyValue::new("order.note", "left in metadata"),
        ],
    );
    server.status = Status::error("order lookup failed");
    let mut events = SpanEvents::default();
    events.events.push(Event::new(
        "exception",
        server.start_time + Duration::from_millis(30),
        vec![
            KeyValue::new("exception.type", "OrderError"),
            KeyValue::new("exception.message", "no such order"),
            KeyValue::new(
                "exception.stacktrace",
                "OrderError: no such order\n    at lookup (orders.rs:42)",
            ),
        ],
        0,
    ));
    server.events = events;
    let dynamo = span(
        0x1002,
        0x1001,
        SpanKind::Client,
        "DynamoDB.GetItem",
        vec![
            KeyValue::new("rpc.system", "aws-api"),
            KeyValue::new("rpc.service", "DynamoDB"),
            KeyValue::new("rpc.method", "GetItem"),
            KeyValue::new("aws.request_id", "R3QUEST1D"),
            KeyValue::new(
                "aws.dynamodb.table_names",
                opentelemetry::Value::Array(opentelemetry::Array::String(vec!["orders".into()])),
            ),
            KeyValue::new("cloud.region", "eu-west-1"),
        ],
    );
    let sql = span(
        0x1003,
        0x1001,
        SpanKind::Client,
        "SELECT orders",
        vec![
            KeyValue::new("db.system.name", "postgresql"),
            KeyValue::new("db.namespace", "shop"),
            KeyValue::new("db.query.text", "SELECT * FROM orders WHERE id = $1"),
            KeyValue::new("server.address", "db.internal"),
            KeyValue::new("db.user", "app"),
        ],
    );
    vec![server, dynamo, sql]
}

/// What [`spans`] must look like after the trip: each document is what the
/// exporter's translator makes of the original span (nothing lost or changed
/// on the way), schema-valid, with every block there.
pub fn assert_blocks_intact(documents: Vec<Json>) {
    let translator = Translator::new(TranslatorConfig::default());
    let expected: std::collections::BTreeMap<String, Json> = spans()
        .iter()
        .map(|span| {
            let doc: Json =
                serde_json::from_str(&translator.translate_json(span, &resource()).unwrap())
                    .unwrap();
            (doc["id"].as_str().unwrap().to_owned(), doc)
        })
        .collect();
    assert_eq!(documents.len(), expected.len(), "{documents:#?}");
    for doc in &documents {
        otel_xray_testkit::assert_segment_valid(doc);
        let id = doc["id"].as_str().unwrap();
        assert_eq!(
            doc, &expected[id],
            "document {id} differs from a direct translation"
        );
    }
    let by_id = |id: &str| documents.iter().find(|d| d["id"] == id).unwrap();
    let server = by_id("0000000000001001");
    assert_eq!(server["trace_id"], "1-6553f100-0123456789abcdef01234567");
    assert_eq!(server["annotations"]["tenant"], "acme");
    assert_eq!(server["annotations"]["priority"], 3);
    assert_eq!(server["http"]["request"]["method"], "GET");
    assert_eq!(server["http"]["response"]["status"], 500);
    assert_eq!(server["fault"], true);
    assert_eq!(server["cause"]["exceptions"][0]["type"], "OrderError");
    let dynamo = by_id("0000000000001002");
    assert_eq!(dynamo["parent_id"], "0000000000001001");
    assert_eq!(dynamo["aws"]["operation"], "GetItem");
    assert_eq!(dynamo["aws"]["table_name"], "orders");
    let sql = by_id("0000000000001003");
    assert_eq!(sql["sql"]["database_type"], "postgresql");
    assert_eq!(
        sql["sql"]["sanitized_query"],
        "SELECT * FROM orders WHERE id = $1"
    );
}
