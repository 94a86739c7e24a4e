//! Name and namespace derivation; every name sanitised.
mod translate_support;

use opentelemetry::trace::SpanKind;
use opentelemetry::KeyValue;
use translate_support::*;

fn name_of(
    kind: SpanKind,
    parent: Option<&str>,
    attrs: Vec<KeyValue>,
    res: Vec<KeyValue>,
) -> serde_json::Value {
    translate(&with(span(kind, parent), attrs), &resource(res))
}

#[test]
fn aws_sdk_client_is_named_after_the_service_in_the_aws_namespace() {
    let doc = name_of(
        SpanKind::Client,
        Some(PARENT),
        vec![
            KeyValue::new("rpc.system", "aws-api"),
            KeyValue::new("rpc.service", "DynamoDB"),
            KeyValue::new("rpc.method", "GetItem"),
        ],
        vec![],
    );
    assert_eq!(doc["name"], "DynamoDB");
    assert_eq!(doc["namespace"], "aws");
    assert_eq!(doc["aws"]["operation"], "GetItem");
}

#[test]
fn legacy_aws_service_sets_the_aws_namespace_and_peer_service_wins() {
    let base = vec![
        KeyValue::new("aws.service", "DynamoDB"),
        KeyValue::new("aws.operation", "GetItem"),
        KeyValue::new("rpc.method", "Wrong"),
    ];
    let doc = name_of(SpanKind::Client, Some(PARENT), base.clone(), vec![]);
    assert_eq!(doc["name"], "DynamoDB");
    assert_eq!(doc["namespace"], "aws");
    assert_eq!(doc["aws"]["operation"], "GetItem");
    let mut with_peer = base;
    with_peer.push(KeyValue::new("peer.service", "cats-table"));
    assert_eq!(
        name_of(SpanKind::Client, Some(PARENT), with_peer, vec![])["name"],
        "cats-table"
    );
}

#[test]
fn remote_service_names_client_producer_spans_with_sdk_prefix_stripped() {
    let doc = name_of(
        SpanKind::Producer,
        Some(PARENT),
        vec![KeyValue::new("aws.remote.service", "PaymentService")],
        vec![],
    );
    assert_eq!(doc["name"], "PaymentService");
    assert_eq!(doc["namespace"], "remote");
    for remote in ["AWS.SDK.DynamoDb", "AWS::DynamoDb"] {
        let doc = name_of(
            SpanKind::Client,
            Some(PARENT),
            vec![
                KeyValue::new("rpc.system", "aws-api"),
                KeyValue::new("aws.remote.service", remote),
            ],
            vec![],
        );
        assert_eq!(doc["name"], "DynamoDb");
        assert_eq!(doc["namespace"], "aws");
    }
}

#[test]
fn server_prefers_local_service_then_resource_service_name() {
    let doc = name_of(
        SpanKind::Server,
        None,
        vec![
            KeyValue::new("aws.local.service", "PaymentLocalService"),
            KeyValue::new("aws.remote.service", "x"),
        ],
        vec![KeyValue::new("service.name", "svc")],
    );
    assert_eq!(doc["name"], "PaymentLocalService");
    let doc = name_of(
        SpanKind::Server,
        None,
        vec![],
        vec![KeyValue::new("service.name", "signup_aggregator")],
    );
    assert_eq!(doc["name"], "signup_aggregator");
}

#[test]
fn db_name_with_host_from_jdbc_connection_string() {
    let doc = name_of(
        SpanKind::Client,
        Some(PARENT),
        vec![
            KeyValue::new("db.system", "mysql"),
            KeyValue::new("db.name", "customers"),
            KeyValue::new(
                "db.connection_string",
                "jdbc:mysql://db.dev.example.com:3306",
            ),
        ],
        vec![],
    );
    assert_eq!(doc["name"], "customers@db.dev.example.com");
    assert_eq!(doc["namespace"], "remote");
}

#[test]
fn http_host_then_rpc_service_then_peer_name() {
    let net = vec![
        KeyValue::new("net.peer.name", "bar.com"),
        KeyValue::new("net.peer.port", 8080),
        KeyValue::new("net.peer.ip", "10.0.0.1"),
    ];
    let mut a = net.clone();
    a.push(KeyValue::new("http.host", "foo.com"));
    assert_eq!(
        name_of(SpanKind::Client, Some(PARENT), a, vec![])["name"],
        "foo.com"
    );
    assert_eq!(
        name_of(SpanKind::Client, Some(PARENT), net.clone(), vec![])["name"],
        "bar.com"
    );
    let mut c = net;
    c.push(KeyValue::new("rpc.service", "com.foo.AnimalService"));
    assert_eq!(
        name_of(SpanKind::Client, Some(PARENT), c, vec![])["name"],
        "com.foo.AnimalService"
    );
}

#[test]
fn every_derived_name_is_sanitised_and_counted() {
    let t = otel_xray_exporter::Translator::default();
    // Attribute-derived names: the collector passes these through and X-Ray rejects them.
    let s = with(
        span(SpanKind::Client, Some(PARENT)),
        vec![KeyValue::new("peer.service", "host,1433")],
    );
    assert_eq!(translate_by(&t, &s, &empty_resource())["name"], "host1433");
    let s = with(
        span(SpanKind::Client, Some(PARENT)),
        vec![
            KeyValue::new("db.system", "h2"),
            KeyValue::new("db.name", "offers?database_to_upper=false"),
        ],
    );
    assert_eq!(
        translate_by(&t, &s, &empty_resource())["name"],
        "offersdatabase_to_upper=false"
    );
    assert_eq!(t.stats().names_sanitised, 2);
}

#[test]
fn a_name_that_sanitises_to_nothing_falls_through() {
    let mut s = with(
        span(SpanKind::Client, Some(PARENT)),
        vec![KeyValue::new("peer.service", "<>()")],
    );
    s.name = "GET /x".into();
    assert_eq!(translate(&s, &empty_resource())["name"], "GET /x");
    s.name = "\u{0}\t<>".into();
    assert_eq!(translate(&s, &empty_resource())["name"], "span");
}

#[test]
fn long_unicode_names_are_cut_on_a_char_boundary() {
    let mut s = span(SpanKind::Server, None);
    s.name = "ß".repeat(500).into();
    let doc = translate(&s, &empty_resource());
    assert_eq!(doc["name"].as_str().unwrap().chars().count(), 200);
}
