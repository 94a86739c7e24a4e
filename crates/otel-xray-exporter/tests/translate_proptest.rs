//! Arbitrary spans → schema-valid documents within the size limit, never a panic.
//! A third of the spans are roots (no parent) and one in eight has a zero end
//! time (a span still in progress), so both shapes are reached every run.
mod translate_support;

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{Event, SpanContext, SpanId, SpanKind, Status, TraceId};
use opentelemetry::{Array, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::SpanData;
use otel_xray_exporter::{Translator, TranslatorConfig};
use proptest::prelude::*;

const KNOWN_KEYS: &[&str] = &[
    "aws.local.service",
    "aws.remote.service",
    "aws.span.kind",
    "peer.service",
    "aws.service",
    "db.name",
    "db.connection_string",
    "rpc.service",
    "rpc.system",
    "http.host",
    "net.peer.name",
    "http.method",
    "http.request.method",
    "http.client_ip",
    "http.user_agent",
    "user_agent.original",
    "http.status_code",
    "http.response.status_code",
    "http.url",
    "url.full",
    "http.scheme",
    "url.scheme",
    "http.target",
    "http.server_name",
    "net.host.port",
    "host.name",
    "net.peer.port",
    "net.peer.ip",
    "network.peer.address",
    "client.address",
    "url.path",
    "url.query",
    "server.address",
    "server.port",
    "http.status_text",
    "message.type",
    "messaging.message_payload_size_bytes",
    "aws.operation",
    "rpc.method",
    "aws.account_id",
    "aws.region",
    "aws.request_id",
    "aws.queue_url",
    "messaging.url",
    "aws.table_name",
    "aws.dynamodb.table_names",
    "db.system",
    "db.system.name",
    "db.statement",
    "db.user",
    "enduser.id",
    "aws.xray.annotations",
    "http.request.header.authorization",
];

const RESOURCE_KEYS: &[&str] = &[
    "cloud.provider",
    "cloud.platform",
    "cloud.account.id",
    "host.id",
    "container.name",
    "k8s.cluster.name",
    "service.name",
    "service.version",
    "service.instance.id",
    "telemetry.sdk.name",
    "telemetry.sdk.language",
    "telemetry.sdk.version",
    "aws.log.group.arns",
    "aws.log.group.names",
    "aws.ecs.launchtype",
];

/// Any text: control characters, surrogate-free unicode, sometimes very long.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::collection::vec(any::<char>(), 0..40).prop_map(String::from_iter),
        2 => prop::sample::select(vec!["aws-api", "aws_ec2", "aws_ecs", "aws_lambda", "aws", "mysql", "MySQL",
            "java", "python", "nodejs", "dotnet", "go", "rust", "RECEIVED", "LOCAL_ROOT", "500", "",
            "https://u:p@h.example:8443/p?q=1", "jdbc:mysql://db:3306", "{\"a\":{\"b\":1}}"])
            .prop_map(String::from),
        1 => (any::<char>(), 0usize..120_000).prop_map(|(c, n)| std::iter::repeat_n(c, n).collect()),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(KNOWN_KEYS).prop_map(String::from),
        3 => text(),
        1 => text().prop_map(|k| format!("aws.xray.annotation.{k}")),
        1 => text().prop_map(|k| format!("aws.xray.metadata.{k}")),
        1 => text().prop_map(|k| format!("http.request.header.{k}")),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::I64),
        any::<f64>().prop_map(Value::F64),
        prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(-0.0)].prop_map(Value::F64),
        text().prop_map(|s| Value::String(s.into())),
        prop::collection::vec(any::<bool>(), 0..5).prop_map(|v| Value::Array(Array::Bool(v))),
        prop::collection::vec(any::<i64>(), 0..5).prop_map(|v| Value::Array(Array::I64(v))),
        prop::collection::vec(any::<f64>(), 0..5).prop_map(|v| Value::Array(Array::F64(v))),
        prop::collection::vec(text(), 0..5).prop_map(|v| Value::Array(Array::String(
            v.into_iter().map(StringValue::from).collect()
        ))),
    ]
}

fn attrs(max: usize) -> impl Strategy<Value = Vec<KeyValue>> {
    prop_oneof![
        8 => prop::collection::vec((key(), value()), 0..max),
        1 => (0usize..3000).prop_map(|n| (0..n).map(|i| (format!("bulk.{i}"), Value::I64(i as i64))).collect()),
    ]
    .prop_map(|kvs| kvs.into_iter().map(|(k, v)| KeyValue::new(k, v)).collect())
}

fn stack_text() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        Just("\tat a.B.c(B.java:1)".to_string()),
        Just("Caused by: x.Y: z".to_string()),
        Just("  File \"a.py\", line 3, in f".to_string()),
        Just("During handling of the above exception, another exception occurred:".to_string()),
        Just("    at f (/a.js:1:2)".to_string()),
        Just("   at N.M() in C:\\a.cs:line 4".to_string()),
        Just("goroutine 1 [running]:".to_string()),
        Just("\t/src/a.go:9 +0x1".to_string()),
        Just("thread 'main' panicked at src/a.rs:1:1:".to_string()),
        Just("   0: app::f".to_string()),
        Just("             at ./src/a.rs:3:4".to_string()),
        Just("Backtrace [{ fn: \"a\", file: \"b\", line: 1 }".to_string()),
        text(),
    ];
    prop::collection::vec(line, 0..60).prop_map(|l| l.join("\n"))
}

fn events() -> impl Strategy<Value = Vec<Event>> {
    let event = (
        prop_oneof![
            Just("exception".to_string()),
            Just("HTTP request failure".to_string()),
            text()
        ],
        attrs(6),
        stack_text(),
        text(),
        any::<u32>(),
    )
        .prop_map(|(name, mut attrs, stack, message, t)| {
            attrs.push(KeyValue::new("exception.stacktrace", stack));
            attrs.push(KeyValue::new("exception.message", message));
            attrs.push(KeyValue::new("aws.http.error_message", "e"));
            Event::new(
                name,
                SystemTime::UNIX_EPOCH + Duration::from_secs(u64::from(t)),
                attrs,
                0,
            )
        });
    prop::collection::vec(event, 0..4)
}

fn kind() -> impl Strategy<Value = SpanKind> {
    prop::sample::select(vec![
        SpanKind::Server,
        SpanKind::Client,
        SpanKind::Producer,
        SpanKind::Consumer,
        SpanKind::Internal,
    ])
}

/// How a generated span ends.
#[derive(Debug, Clone, Copy)]
enum End {
    /// `end_time` is the epoch: the span has not ended.
    Zero,
    /// This many microseconds after the start.
    After(u32),
}

fn end() -> impl Strategy<Value = End> {
    prop_oneof![1 => Just(End::Zero), 7 => any::<u32>().prop_map(End::After)]
}

fn span_data() -> impl Strategy<Value = SpanData> {
    (
        (
            any::<u128>().prop_filter("valid", |v| *v != 0),
            any::<u64>().prop_filter("valid", |v| *v != 0),
            prop_oneof![1 => Just(0u64), 2 => any::<u64>()],
            any::<bool>(),
        ),
        (kind(), text(), any::<u64>(), end()),
        attrs(120),
        events(),
        prop::collection::vec((any::<u128>(), any::<u64>(), attrs(4)), 0..4),
        (
            prop_oneof![
                Just(Status::Unset),
                Just(Status::Ok),
                text().prop_map(Status::error)
            ],
            any::<u32>(),
        ),
    )
        .prop_map(
            |(
                (trace, id, parent, remote),
                (kind, name, start, dur),
                attributes,
                events,
                links,
                (status, dropped),
            )| {
                let start =
                    SystemTime::UNIX_EPOCH + Duration::from_micros(start % 4_000_000_000_000_000);
                let mut s = translate_support::span(kind, None);
                s.span_context = SpanContext::new(
                    TraceId::from_bytes(trace.to_be_bytes()),
                    SpanId::from_bytes(id.to_be_bytes()),
                    Default::default(),
                    false,
                    Default::default(),
                );
                s.parent_span_id = SpanId::from_bytes(parent.to_be_bytes());
                s.parent_span_is_remote = remote;
                s.name = Cow::Owned(name);
                s.start_time = start;
                s.end_time = match dur {
                    End::Zero => SystemTime::UNIX_EPOCH,
                    End::After(micros) => start + Duration::from_micros(u64::from(micros)),
                };
                s.attributes = attributes;
                s.events.events = events;
                s.dropped_attributes_count = dropped % 3;
                for (t, sid, a) in links {
                    let ctx = SpanContext::new(
                        TraceId::from_bytes(t.to_be_bytes()),
                        SpanId::from_bytes(sid.to_be_bytes()),
                        Default::default(),
                        true,
                        Default::default(),
                    );
                    s.links
                        .links
                        .push(opentelemetry::trace::Link::new(ctx, a, 0));
                }
                s.status = status;
                s
            },
        )
}

fn resource_attrs() -> impl Strategy<Value = Vec<KeyValue>> {
    prop::collection::vec(
        (prop_oneof![3 => prop::sample::select(RESOURCE_KEYS).prop_map(String::from), 1 => text()], value()),
        0..20,
    )
    .prop_map(|kvs| kvs.into_iter().map(|(k, v)| KeyValue::new(k, v)).collect())
}

fn config() -> impl Strategy<Value = TranslatorConfig> {
    (
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(prop::sample::select(KNOWN_KEYS), 0..4),
        prop_oneof![Just(65_536usize), Just(8_192), 4096usize..65_536],
    )
        .prop_map(|(all, events, indexed, max)| {
            TranslatorConfig::builder()
                .index_all_attributes(all)
                .events_in_metadata(events)
                .indexed_attributes(indexed.into_iter().chain(["otel.resource.service.name"]))
                .max_document_bytes(max)
                .build()
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn any_span_gives_a_valid_bounded_document(span in span_data(), res in resource_attrs(), config in config()) {
        let resource = translate_support::resource(res);
        let t = Translator::new(config);
        let max = t.config().max_document_bytes();
        let model = t.translate(&span, &resource);
        prop_assert!(model.is_ok());
        let json = t.translate_json(&span, &resource).expect("valid IDs translate");
        prop_assert!(json.len() <= max, "{} > {}", json.len(), max);
        let doc: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        let errors = otel_xray_testkit::segment_schema_errors(&doc);
        prop_assert!(errors.is_empty(), "{:?}\n{}", errors, &json[..json.len().min(2000)]);
        prop_assert_eq!(t.stats().documents, 2);
        // A root span (no parent) is a segment: no parent_id, no type.
        if span.parent_span_id == SpanId::INVALID {
            prop_assert!(doc.get("parent_id").is_none(), "{}", json);
            prop_assert!(doc.get("type").is_none(), "{}", json);
        } else {
            prop_assert_eq!(&doc["parent_id"], &format!("{}", span.parent_span_id));
        }
        // A span that has not ended is sent in progress, without end_time (X-Ray
        // developer guide: a segment has end_time or in_progress: true).
        if span.end_time == SystemTime::UNIX_EPOCH {
            prop_assert_eq!(&doc["in_progress"], true);
            prop_assert!(doc.get("end_time").is_none(), "{}", json);
        } else {
            prop_assert!(doc["end_time"].is_number(), "{}", json);
            prop_assert!(doc.get("in_progress").is_none_or(|p| p == false), "{}", json);
        }
    }
}
