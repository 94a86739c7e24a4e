//! Metadata namespaces, resource copies, events and redaction.
mod translate_support;

use opentelemetry::trace::SpanKind;
use opentelemetry::KeyValue;
use otel_xray_exporter::{Translator, TranslatorConfig};
use serde_json::json;
use translate_support::*;

#[test]
fn typed_attributes_and_resource_on_segments() {
    let s = with(
        span(SpanKind::Server, None),
        vec![
            KeyValue::new("string", "s"),
            KeyValue::new("int", 10),
            KeyValue::new("double", 5.0),
            KeyValue::new("bool", true),
            KeyValue::new("empty", ""),
            KeyValue::new("ints", opentelemetry::Value::Array(vec![1i64, 2].into())),
        ],
    );
    let res = resource(vec![
        KeyValue::new("service.name", "svc"),
        KeyValue::new("deployment.environment", "prod"),
    ]);
    let doc = translate(&s, &res);
    assert_eq!(
        doc["metadata"]["default"],
        json!({
            "string": "s", "int": 10, "double": 5.0, "bool": true, "ints": [1, 2],
            "otel.resource.service.name": "svc", "otel.resource.deployment.environment": "prod",
        })
    );
    // Subsegments never carry the resource.
    let doc = translate(
        &with(
            span(SpanKind::Client, Some(PARENT)),
            vec![KeyValue::new("a", 1)],
        ),
        &res,
    );
    assert_eq!(doc["metadata"]["default"], json!({"a": 1}));
    // And it can be turned off.
    let config = TranslatorConfig::builder()
        .resource_in_metadata(false)
        .build();
    assert!(translate_with(config, &span(SpanKind::Server, None), &res)
        .get("metadata")
        .is_none());
}

#[test]
fn xray_metadata_namespaces() {
    let s = with(
        span(SpanKind::Server, None),
        vec![
            KeyValue::new("attr1@1", "val1"),
            KeyValue::new(
                "aws.xray.metadata.default",
                r#"{"custom_key":"custom_value"}"#,
            ),
            KeyValue::new(
                "aws.xray.metadata.http",
                r#"{"connection":{"reused":false,"was_idle":false}}"#,
            ),
            KeyValue::new("aws.xray.metadata.non-xray-sdk", "retain-value"),
            KeyValue::new("aws.xray.metadata.list", "[1,2]"),
        ],
    );
    let doc = translate(&s, &empty_resource());
    assert_eq!(
        doc["metadata"],
        json!({
            "default": {
                "attr1@1": "val1", "custom_key": "custom_value",
                "aws.xray.metadata.non-xray-sdk": "retain-value", "aws.xray.metadata.list": "[1,2]",
            },
            "http": {"connection": {"reused": false, "was_idle": false}},
        })
    );
}

#[test]
fn non_exception_events_and_sdk_drops_in_the_otel_namespace() {
    let mut s = span(SpanKind::Server, None);
    add_event(
        &mut s,
        event("cache.miss", vec![KeyValue::new("key", "user:1")]),
    );
    add_event(&mut s, event("retry", vec![]));
    s.dropped_attributes_count = 3;
    s.events.dropped_count = 1;
    let doc = translate(&s, &empty_resource());
    let otel = &doc["metadata"]["otel"];
    assert_eq!(otel["events"][0]["name"], "cache.miss");
    assert_eq!(otel["events"][0]["attributes"], json!({"key": "user:1"}));
    assert_eq!(otel["events"][0]["time"], json!(1_700_000_000.128456));
    assert_eq!(
        otel["events"][1],
        json!({"name": "retry", "time": 1_700_000_000.128456})
    );
    assert_eq!(otel["dropped_attributes_count"], 3);
    assert_eq!(otel["dropped_events_count"], 1);
    let config = TranslatorConfig::builder()
        .events_in_metadata(false)
        .build();
    assert!(
        translate_with(config, &s, &empty_resource())["metadata"]["otel"]
            .get("events")
            .is_none()
    );
}

#[test]
fn secret_headers_and_configured_keys_are_redacted_everywhere() {
    let t = Translator::new(
        TranslatorConfig::builder()
            .redact_attribute("db.password")
            .redact_attribute("card")
            .build(),
    );
    let mut s = with(
        span(SpanKind::Server, None),
        vec![
            KeyValue::new(
                "http.request.header.authorization",
                strs(&["Bearer abc.def"]),
            ),
            KeyValue::new("http.request.header.cookie", strs(&["session=s3cr3t"])),
            KeyValue::new("http.response.header.set-cookie", strs(&["id=42"])),
            KeyValue::new("http.request.header.x-api-key", strs(&["k-123"])),
            KeyValue::new("http.request.header.x-vendor-api-key", strs(&["k-456"])),
            KeyValue::new("http.request.header.accept", strs(&["text/html"])),
            KeyValue::new("db.password", "pw-789"),
            KeyValue::new("aws.xray.annotation.card", "4111"),
        ],
    );
    add_link(
        &mut s,
        TRACE,
        PARENT,
        vec![KeyValue::new("db.password", "pw-link")],
    );
    add_event(
        &mut s,
        event(
            "login",
            vec![KeyValue::new(
                "http.request.header.authorization",
                "Basic x",
            )],
        ),
    );
    let doc = translate_by(&t, &s, &empty_resource());
    let text = doc.to_string();
    for secret in [
        "abc.def", "s3cr3t", "id=42", "k-123", "k-456", "pw-789", "pw-link", "Basic x", "4111",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    let md = &doc["metadata"]["default"];
    assert_eq!(md["http.request.header.authorization"], "[REDACTED]");
    assert_eq!(md["http.request.header.accept"], json!(["text/html"]));
    assert_eq!(doc["annotations"]["card"], "[REDACTED]");
    assert_eq!(t.stats().redactions, 9);

    let open = TranslatorConfig::builder().redaction(false).build();
    let doc = translate_with(open, &s, &empty_resource());
    assert_eq!(
        doc["metadata"]["default"]["http.request.header.cookie"],
        json!(["session=s3cr3t"])
    );
}

#[test]
fn a_namespace_is_written_once() {
    let mut s = with(
        span(SpanKind::Server, None),
        vec![KeyValue::new("aws.xray.metadata.otel", r#"{"mine":1}"#)],
    );
    add_event(&mut s, event("retry", vec![]));
    let json = Translator::default()
        .translate_json(&s, &empty_resource())
        .unwrap();
    assert_eq!(json.matches("\"otel\":").count(), 1, "{json}");
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["metadata"]["otel"]["mine"], 1);
    assert_eq!(doc["metadata"]["otel"]["events"][0]["name"], "retry");
}

#[test]
fn resource_metadata_is_written_in_key_order() {
    // Resources are hash maps: the same resource built twice may iterate differently.
    let keys = [
        "zone",
        "alpha",
        "k8s.pod.name",
        "build",
        "mid",
        "Upper",
        "deploy",
    ];
    let res = resource(
        keys.iter()
            .map(|k| KeyValue::new(*k, format!("v-{k}")))
            .collect(),
    );
    let text = Translator::new(TranslatorConfig::default())
        .translate_json(&span(SpanKind::Server, None), &res)
        .unwrap();
    let mut positions: Vec<(usize, &str)> = keys
        .iter()
        .map(|k| {
            let at = text.find(&format!("\"otel.resource.{k}\""));
            (at.expect("every resource key is written"), *k)
        })
        .collect();
    positions.sort();
    let written: Vec<&str> = positions.into_iter().map(|(_, k)| k).collect();
    let mut sorted = keys.to_vec();
    sorted.sort();
    assert_eq!(written, sorted);
}
