//! Span → X-Ray JSON: otel-xray's `Translator` against opentelemetry-aws 0.21's
//! `SegmentTranslator`, in the same run, plus serialising a finished document
//! (with serde_json, and with sonic-rs, the writer the translator uses).
//!
//! `cargo bench --bench translate -- --warm-up-time 1 --measurement-time 3`
//!
//! Both translators write every attribute (opentelemetry-aws with
//! `metadata_all_attrs`, as otel-xray does by default) into a reused buffer, and
//! opentelemetry-aws skips its trace-ID age check so the same spans pass.
//!
//! Before timing, [`assert_equivalent`] checks that both sides write the same
//! document for each span, except where they differ by design (listed there).

use std::borrow::Cow;
use std::hint::black_box;
use std::time::{Duration, SystemTime};

use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry::trace::{
    Event, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{KeyValue, Value};
use opentelemetry_aws::xray_exporter::SegmentTranslator;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use opentelemetry_sdk::Resource;
use otel_xray_exporter::{Translator, TranslatorConfig};

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
fn http_server_span() -> SpanData {
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
fn http_server_no_events_span() -> SpanData {
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
fn aws_client_span() -> SpanData {
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
fn internal_span() -> SpanData {
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

fn resource() -> Resource {
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

/// Panics unless `ours` and `theirs` are the same document, apart from these
/// differences by design:
/// * times: ours are whole microseconds, theirs carry sub-microsecond digits
///   (equal within 2 µs, the rounding of two f64 epoch values);
/// * `metadata`: ours nests span attributes under `default` and resource
///   attributes as `otel.resource.*`, and leaves out attributes it turned into
///   fields; theirs writes every attribute flat (which the schema rejects). Every
///   span attribute ours keeps has the same value in theirs, or theirs moved
///   the value into its `aws` block (ours keeps e.g. `aws.dynamodb.table_names`
///   and `cloud.region` in metadata as well), or it is an `rpc.*` attribute of
///   an AWS call, which theirs consumes without a trace;
/// * `http`: theirs adds `x_forwarded_for: true` for `client.address`, ours adds
///   `response.content_length` from `http.response.body.size` and, for an AWS
///   call, `request.url` from `server.address` / `server.port`; the rest is equal;
/// * `cause`: exception ids are random; theirs repeats the message as a first
///   stack frame and loses the path and line of the last frame; the other
///   frames are equal;
/// * `aws`, `origin`, `service`: ours puts the resource's origin and
///   `service.version` on every document and `aws.xray.auto_instrumentation`;
///   theirs writes `elastic_beanstalk.version_label` / `region` instead. The
///   `aws.xray` SDK name and version are equal where ours writes them (segments;
///   theirs repeats them on subsegments too).
///
/// * `annotations`: ours also indexes `aws.xray.annotation.<key>` attributes, a
///   convention of this project that opentelemetry-aws does not know: theirs
///   keeps such an attribute in its flat metadata under the full key. Each
///   annotation ours has is either theirs too, with the same value, or in their
///   metadata as `aws.xray.annotation.<key>` with that value.
///
/// * `sql`: for an AWS SDK call (`rpc.system` = `aws-api`, DynamoDB here)
///   theirs writes an `sql` block holding only the endpoint; ours does not, since DynamoDB is no
///   SQL database and the call is described by the `aws` block, as the X-Ray
///   SDKs do. Where ours writes `sql`, theirs must be equal.
///
/// Every other top-level field (name, ids, parent, type, namespace, flags, ...)
/// must be equal.
/// Whether `block` holds `value` anywhere inside it (an array value: each of
/// its elements).
fn holds(block: &serde_json::Value, value: &serde_json::Value) -> bool {
    use serde_json::Value;
    if block == value {
        return true;
    }
    if let Value::Array(items) = value {
        if !items.is_empty() && items.iter().all(|item| holds(block, item)) {
            return true;
        }
    }
    match block {
        Value::Object(map) => map.values().any(|child| holds(child, value)),
        Value::Array(items) => items.iter().any(|child| holds(child, value)),
        _ => false,
    }
}

fn assert_equivalent(label: &str, ours: &serde_json::Value, theirs: &serde_json::Value) {
    use serde_json::Value;
    const BY_DESIGN: &[&str] = &[
        "start_time",
        "end_time",
        "metadata",
        "http",
        "cause",
        "aws",
        "origin",
        "service",
        "annotations",
        "sql",
    ];
    let (o, t) = (ours.as_object().unwrap(), theirs.as_object().unwrap());
    for key in o.keys().chain(t.keys()) {
        if !BY_DESIGN.contains(&key.as_str()) {
            assert_eq!(o.get(key), t.get(key), "{label}: {key}");
        }
    }
    if let Some(Value::Object(annotations)) = o.get("annotations") {
        for (k, v) in annotations {
            let theirs = t.get("annotations").and_then(|a| a.get(k));
            let in_metadata = t
                .get("metadata")
                .and_then(|m| m.get(format!("aws.xray.annotation.{k}")));
            assert_eq!(Some(v), theirs.or(in_metadata), "{label}: annotation {k}");
        }
    }
    match (o.get("sql"), t.get("sql")) {
        (Some(ours_sql), theirs_sql) => assert_eq!(Some(ours_sql), theirs_sql, "{label}: sql"),
        (None, Some(_)) => assert!(
            o.get("aws").and_then(|a| a.get("operation")).is_some(),
            "{label}: theirs has sql, ours neither sql nor an AWS call"
        ),
        (None, None) => {}
    }
    if let Some(Value::Object(annotations)) = t.get("annotations") {
        for (k, v) in annotations {
            assert_eq!(o["annotations"].get(k), Some(v), "{label}: annotation {k}");
        }
    }
    for key in ["start_time", "end_time"] {
        let (a, b) = (o[key].as_f64().unwrap(), t[key].as_f64().unwrap());
        assert!((a - b).abs() < 2e-6, "{label}: {key} {a} vs {b}");
    }
    if let Some(Value::Object(meta)) = o.get("metadata").and_then(|m| m.get("default")) {
        for (k, v) in meta
            .iter()
            .filter(|(k, _)| !k.starts_with("otel.resource."))
        {
            let consumed_by_theirs = t["metadata"].get(k).is_none()
                && t.get("aws")
                    .is_some_and(|a| holds(a, v) || k.starts_with("rpc."));
            if !consumed_by_theirs {
                assert_eq!(Some(v), t["metadata"].get(k), "{label}: metadata {k}");
            }
        }
    }
    if o.contains_key("http") || t.contains_key("http") {
        for field in ["method", "url", "user_agent", "client_ip"] {
            let theirs = t["http"]["request"].get(field);
            // Ours may add a field theirs lacks (the `url` of an AWS call, from
            // `server.address` and `server.port`); what theirs has, ours has too.
            if theirs.is_some() {
                assert_eq!(
                    o["http"]["request"].get(field),
                    theirs,
                    "{label}: http.request.{field}"
                );
            }
        }
        assert_eq!(
            o["http"]["response"]["status"],
            t["http"]["response"]["status"]
        );
    }
    if o.contains_key("cause") || t.contains_key("cause") {
        let (oe, te) = (&o["cause"]["exceptions"], &t["cause"]["exceptions"]);
        assert_eq!(oe.as_array().unwrap().len(), te.as_array().unwrap().len());
        for (a, b) in oe.as_array().unwrap().iter().zip(te.as_array().unwrap()) {
            assert_eq!(
                (&a["type"], &a["message"]),
                (&b["type"], &b["message"]),
                "{label}"
            );
            let ours_frames = a["stack"].as_array().unwrap();
            let theirs_frames = &b["stack"].as_array().unwrap()[1..];
            let labels = |f: &[Value]| f.iter().map(|x| x["label"].clone()).collect::<Vec<_>>();
            assert_eq!(labels(ours_frames), labels(theirs_frames), "{label}");
            let n = ours_frames.len().saturating_sub(1);
            assert_eq!(ours_frames[..n], theirs_frames[..n], "{label}");
        }
    }
    // Ours names the SDK (`aws.xray`) on segments only, as the X-Ray SDKs do;
    // theirs repeats it on every subsegment.
    let ours_names_sdk = o.get("aws").is_some_and(|a| a.get("xray").is_some());
    if let (Some(a), Some(b), true) = (o.get("aws"), t.get("aws"), ours_names_sdk) {
        for field in ["sdk", "sdk_version"] {
            assert_eq!(
                a["xray"][field], b["xray"][field],
                "{label}: aws.xray.{field}"
            );
        }
    }
}

fn bench(c: &mut Criterion) {
    let res = resource();
    let ours = Translator::new(TranslatorConfig::default());
    let mut theirs = SegmentTranslator::new()
        .skip_timestamp_validation()
        .metadata_all_attrs();
    theirs.set_resource(&res);

    for (label, span) in [
        ("http_server", http_server_span()),
        ("http_server_no_events", http_server_no_events_span()),
        ("aws_client", aws_client_span()),
        ("internal", internal_span()),
    ] {
        let spans = [span];
        let mut buf = Vec::with_capacity(8 * 1024);
        // Both produce a document for the span.
        ours.translate_into(&spans[0], &res, &mut buf).unwrap();
        assert_eq!(
            theirs.translate_spans(&spans).len(),
            1,
            "opentelemetry-aws dropped {label}"
        );

        let mut theirs_buf = Vec::new();
        for doc in theirs.translate_spans(&spans) {
            doc.to_writer(&mut theirs_buf);
        }
        assert_equivalent(
            label,
            &serde_json::from_slice(&buf).unwrap(),
            &serde_json::from_slice(&theirs_buf).unwrap(),
        );

        let mut g = c.benchmark_group(label);
        g.bench_function("otel_xray", |b| {
            b.iter(|| {
                ours.translate_into(black_box(&spans[0]), &res, &mut buf)
                    .unwrap();
                black_box(buf.len())
            })
        });
        g.bench_function("opentelemetry_aws", |b| {
            b.iter(|| {
                buf.clear();
                for doc in theirs.translate_spans(black_box(&spans)) {
                    doc.to_writer(&mut buf);
                }
                black_box(buf.len())
            })
        });
        let seg = ours.translate(&spans[0], &res).unwrap();
        g.bench_function("serialise_only", |b| {
            b.iter(|| {
                buf.clear();
                serde_json::to_writer(&mut buf, black_box(&seg)).unwrap();
                black_box(buf.len())
            })
        });
        // The translator's own writer (sonic-rs), for the same document.
        g.bench_function("serialise_only_sonic", |b| {
            b.iter(|| {
                buf.clear();
                sonic_rs::to_writer(&mut buf, black_box(&seg)).unwrap();
                black_box(buf.len())
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
