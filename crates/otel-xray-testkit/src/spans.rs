//! The spans the benchmarks translate, shared so that every bench (and the CI
//! speed guard) measures the same documents.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{
    Event, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use opentelemetry_sdk::Resource;

/// A Rust panic message with a backtrace, as an `exception.stacktrace`.
const STACK: &str = "thread 'tokio-runtime-worker' panicked at src/routes/users.rs:88:14:
called `Result::unwrap()` on an `Err` value: NotFound
stack backtrace:
   0: rust_begin_unwind
             at /rustc/abc/library/std/src/panicking.rs:665:5
   1: core::result::unwrap_failed
             at /rustc/abc/library/core/src/result.rs:1699:5
   2: shop::routes::users::get_user
             at ./src/routes/users.rs:88:14
   3: shop::routes::users::handler::{{closure}}
             at ./src/routes/users.rs:40:9
   4: tokio::runtime::task::core::Core<T,S>::poll
             at /cargo/tokio-1.44.0/src/runtime/task/core.rs:331:17";

/// A sampled span of `kind` that ended 23 ms after it started, a second ago.
fn base(kind: SpanKind, parent: Option<u64>, name: &'static str) -> SpanData {
    let start = SystemTime::now() - Duration::from_secs(1);
    SpanData {
        span_context: SpanContext::new(
            // A current-epoch X-Ray style trace ID.
            TraceId::from_hex("6553f1000123456789abcdef01234567").unwrap(),
            SpanId::from_hex("53995c3f42cd8ad8").unwrap(),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ),
        parent_span_id: parent.map_or(SpanId::INVALID, |p| SpanId::from_bytes(p.to_be_bytes())),
        parent_span_is_remote: false,
        span_kind: kind,
        name: Cow::Borrowed(name),
        start_time: start,
        end_time: start + Duration::from_millis(23),
        attributes: Vec::new(),
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::Unset,
        instrumentation_scope: Default::default(),
    }
}

/// A server span with 20 attributes and one exception event.
pub fn http_server_span() -> SpanData {
    let mut s = base(
        SpanKind::Server,
        Some(0x1a2b_3c4d_5e6f_7081),
        "GET /users/{id}",
    );
    s.parent_span_is_remote = true;
    s.attributes = vec![
        KeyValue::new("http.request.method", "GET"),
        KeyValue::new("url.scheme", "https"),
        KeyValue::new("url.path", "/users/42"),
        KeyValue::new("url.query", "expand=orders"),
        KeyValue::new("server.address", "api.shop.example.com"),
        KeyValue::new("server.port", 443),
        KeyValue::new("http.route", "/users/{id}"),
        KeyValue::new("http.response.status_code", 500),
        KeyValue::new(
            "user_agent.original",
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
        ),
        KeyValue::new("client.address", "203.0.113.7"),
        KeyValue::new("network.peer.address", "10.0.3.17"),
        KeyValue::new("network.peer.port", 51234),
        KeyValue::new("network.protocol.version", "1.1"),
        KeyValue::new("http.request.body.size", 0),
        KeyValue::new("http.response.body.size", 173),
        KeyValue::new("enduser.id", "user-42"),
        KeyValue::new("tenant.id", "acme"),
        KeyValue::new(
            "feature.flags",
            Value::Array(opentelemetry::Array::String(vec![
                "new-checkout".into(),
                "beta".into(),
            ])),
        ),
        KeyValue::new("retry.count", 0),
        KeyValue::new("cache.hit", false),
    ];
    s.status = Status::error("handler panicked");
    s.events.events.push(Event::new(
        "exception",
        s.start_time + Duration::from_millis(20),
        vec![
            KeyValue::new("exception.type", "panic"),
            KeyValue::new(
                "exception.message",
                "called `Result::unwrap()` on an `Err` value: NotFound",
            ),
            KeyValue::new("exception.stacktrace", STACK),
        ],
        0,
    ));
    s
}

/// A typical HTTP server span without events: remote parent, the current-semconv
/// HTTP attributes, two annotations and three custom attributes (metadata).
pub fn http_server_no_events_span() -> SpanData {
    let mut s = base(
        SpanKind::Server,
        Some(0x1a2b_3c4d_5e6f_7081),
        "GET /users/{id}",
    );
    s.parent_span_is_remote = true;
    s.attributes = vec![
        KeyValue::new("http.request.method", "GET"),
        KeyValue::new("url.scheme", "https"),
        KeyValue::new("url.path", "/users/42"),
        KeyValue::new("url.query", "expand=orders"),
        KeyValue::new("server.address", "api.shop.example.com"),
        KeyValue::new("server.port", 443),
        KeyValue::new("http.route", "/users/{id}"),
        KeyValue::new("http.response.status_code", 200),
        KeyValue::new("client.address", "203.0.113.7"),
        KeyValue::new(
            "user_agent.original",
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
        ),
        KeyValue::new("aws.xray.annotation.tenant", "acme"),
        KeyValue::new("aws.xray.annotation.plan", "gold"),
        KeyValue::new("enduser.id", "user-42"),
        KeyValue::new("retry.count", 0),
        KeyValue::new("cache.hit", false),
    ];
    s
}

/// A client span for a DynamoDB call made with the AWS SDK (a remote subsegment
/// with the `aws` block).
pub fn aws_client_span() -> SpanData {
    let mut s = base(
        SpanKind::Client,
        Some(0x1a2b_3c4d_5e6f_7081),
        "DynamoDB.GetItem",
    );
    s.attributes = vec![
        KeyValue::new("rpc.system", "aws-api"),
        KeyValue::new("rpc.service", "DynamoDB"),
        KeyValue::new("rpc.method", "GetItem"),
        KeyValue::new("cloud.region", "eu-west-1"),
        KeyValue::new(
            "aws.request_id",
            "Q8RIL0PVSCLEBN5OT4BCLPD3KFVV4KQNSO5AEMVJF66Q9ASUAAJG",
        ),
        KeyValue::new(
            "aws.dynamodb.table_names",
            Value::Array(opentelemetry::Array::String(vec!["users".into()])),
        ),
        KeyValue::new("server.address", "dynamodb.eu-west-1.amazonaws.com"),
        KeyValue::new("server.port", 443),
        KeyValue::new("http.request.method", "POST"),
        KeyValue::new("http.response.status_code", 200),
    ];
    s
}

/// A small internal span (subsegment) with two attributes.
pub fn internal_span() -> SpanData {
    let mut s = base(
        SpanKind::Internal,
        Some(0x1a2b_3c4d_5e6f_7081),
        "render_invoice",
    );
    s.attributes = vec![
        KeyValue::new("invoice.lines", 12),
        KeyValue::new("template", "invoice.html"),
    ];
    s
}

/// The resource of a service on ECS: name, version, SDK and cloud attributes.
pub fn resource() -> Resource {
    Resource::builder_empty()
        .with_attributes([
            KeyValue::new("service.name", "shop-api"),
            KeyValue::new("service.version", "2.4.1"),
            KeyValue::new("telemetry.sdk.name", "opentelemetry"),
            KeyValue::new("telemetry.sdk.language", "rust"),
            KeyValue::new("telemetry.sdk.version", "0.33.0"),
            KeyValue::new("cloud.provider", "aws"),
            KeyValue::new("cloud.platform", "aws_ecs"),
            KeyValue::new("cloud.region", "eu-west-1"),
        ])
        .build()
}
