//! The spans the benchmarks translate, shared so that every bench (and the CI
//! speed guard) measures the same documents.

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

/// The trace ID of the single spans below: a current-epoch X-Ray style one.
const TRACE_ID: &str = "6553f1000123456789abcdef01234567";

/// A sampled, finished span of `kind` named `name`, with the given trace and
/// span IDs, that ran from `start` to `end`: a root, without attributes,
/// events or links (callers set what their span has).
pub fn finished_span(
    trace_id: TraceId,
    span_id: SpanId,
    kind: SpanKind,
    name: &'static str,
    start: SystemTime,
    end: SystemTime,
) -> SpanData {
    SpanData {
        span_context: SpanContext::new(
            trace_id,
            span_id,
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ),
        parent_span_id: SpanId::INVALID,
        parent_span_is_remote: false,
        span_kind: kind,
        name: Cow::Borrowed(name),
        start_time: start,
        end_time: end,
        attributes: Vec::new(),
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::Unset,
        instrumentation_scope: Default::default(),
    }
}

/// A sampled span of `kind` that ended 23 ms after it started, a second ago.
fn base(kind: SpanKind, parent: Option<u64>, name: &'static str) -> SpanData {
    let start = SystemTime::now() - Duration::from_secs(1);
    let mut s = finished_span(
        TraceId::from_hex(TRACE_ID).unwrap(),
        SpanId::from_hex("53995c3f42cd8ad8").unwrap(),
        kind,
        name,
        start,
        start + Duration::from_millis(23),
    );
    s.parent_span_id = parent.map_or(SpanId::INVALID, |p| SpanId::from_bytes(p.to_be_bytes()));
    s
}

/// The current-semconv attributes of an HTTP server span answering a GET for
/// `path` (and `query`) on `route` with `status`: method, scheme, path, query,
/// server address and port, route, status code, client address and user agent.
pub fn http_server_attributes(
    path: &'static str,
    query: Option<&'static str>,
    route: &'static str,
    status: i64,
) -> Vec<KeyValue> {
    let mut attributes = vec![
        KeyValue::new("http.request.method", "GET"),
        KeyValue::new("url.scheme", "https"),
        KeyValue::new("url.path", path),
    ];
    attributes.extend(query.map(|q| KeyValue::new("url.query", q)));
    attributes.extend([
        KeyValue::new("server.address", "api.shop.example.com"),
        KeyValue::new("server.port", 443),
        KeyValue::new("http.route", route),
        KeyValue::new("http.response.status_code", status),
        KeyValue::new("client.address", "203.0.113.7"),
        KeyValue::new(
            "user_agent.original",
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
        ),
    ]);
    attributes
}

/// The server span of `GET /users/42?expand=orders`, answered with `status`,
/// continuing a trace from an upstream caller, with the HTTP attributes only.
fn users_request(status: i64) -> SpanData {
    let mut s = base(
        SpanKind::Server,
        Some(0x1a2b_3c4d_5e6f_7081),
        "GET /users/{id}",
    );
    s.parent_span_is_remote = true;
    s.attributes =
        http_server_attributes("/users/42", Some("expand=orders"), "/users/{id}", status);
    s
}

/// A server span with 20 attributes and one exception event.
pub fn http_server_span() -> SpanData {
    let mut s = users_request(500);
    s.attributes.extend([
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
    ]);
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
    let mut s = users_request(200);
    s.attributes.extend([
        KeyValue::new("aws.xray.annotation.tenant", "acme"),
        KeyValue::new("aws.xray.annotation.plan", "gold"),
        KeyValue::new("enduser.id", "user-42"),
        KeyValue::new("retry.count", 0),
        KeyValue::new("cache.hit", false),
    ]);
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

/// The spans of `requests` typical requests, children before parents (as a
/// batch processor receives them), all ended just now: per request a server
/// span (continuing a trace from an upstream caller) with an internal child,
/// itself the parent of a database and a cache call, and an outgoing HTTP
/// call. Five spans per request, request `r` in its own trace.
pub fn request_spans(requests: u64) -> Vec<SpanData> {
    let end = SystemTime::now();
    let secs = end.duration_since(UNIX_EPOCH).unwrap().as_secs() as u128;
    let mut out = Vec::new();
    for r in 0..requests {
        let trace = TraceId::from((secs << 96) | u128::from(r + 1));
        let id = |k: u64| SpanId::from((r << 8) | k);
        // Span `k` of the request, a child of span `parent` (`None`: of the
        // upstream caller); later spans of a request end earlier.
        let span = |k: u64, parent: Option<u64>, kind, name, attributes| {
            let mut s = finished_span(
                trace,
                id(k),
                kind,
                name,
                end - Duration::from_millis(20 - k),
                end - Duration::from_millis(k),
            );
            s.parent_span_id = parent.map_or(SpanId::from(0x5eed), id);
            s.parent_span_is_remote = parent.is_none();
            s.attributes = attributes;
            s
        };
        out.push(span(
            3,
            Some(2),
            SpanKind::Client,
            "SELECT orders",
            vec![
                KeyValue::new("db.system", "postgresql"),
                KeyValue::new("db.name", "shop"),
                KeyValue::new("db.statement", "SELECT * FROM orders WHERE id = $1"),
                KeyValue::new("server.address", "db.internal"),
            ],
        ));
        out.push(span(
            4,
            Some(2),
            SpanKind::Client,
            "GET",
            vec![
                KeyValue::new("http.request.method", "GET"),
                KeyValue::new("url.full", "http://cache.internal/orders/42"),
                KeyValue::new("http.response.status_code", 200),
                KeyValue::new("server.address", "cache.internal"),
            ],
        ));
        out.push(span(
            2,
            Some(1),
            SpanKind::Internal,
            "load_order",
            vec![
                KeyValue::new("order.id", 42),
                KeyValue::new("cache.hit", false),
            ],
        ));
        out.push(span(
            5,
            Some(1),
            SpanKind::Client,
            "POST",
            vec![
                KeyValue::new("http.request.method", "POST"),
                KeyValue::new("url.full", "https://pay.example/charge?order=42"),
                KeyValue::new("http.response.status_code", 201),
                KeyValue::new("server.address", "pay.example"),
                KeyValue::new("retry.count", 0),
            ],
        ));
        let mut server = http_server_attributes("/orders/42", None, "/orders/{id}", 200);
        server.extend([
            KeyValue::new("aws.xray.annotation.tenant", "acme"),
            KeyValue::new("customer.tier", "gold"),
        ]);
        out.push(span(1, None, SpanKind::Server, "GET /orders/{id}", server));
    }
    out
}
