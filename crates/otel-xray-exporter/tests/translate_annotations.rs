//! Annotation selection, key sanitising, value rules and the 50 limit.
mod translate_support;

use opentelemetry::trace::SpanKind;
use opentelemetry::KeyValue;
use otel_xray_exporter::{AnnotationKeyMode, Translator, TranslatorConfig};
use serde_json::json;
use translate_support::*;

fn server(attrs: Vec<KeyValue>) -> opentelemetry_sdk::trace::SpanData {
    with(span(SpanKind::Server, None), attrs)
}

#[test]
fn prefix_attributes_become_annotations() {
    let s = server(vec![
        KeyValue::new("aws.xray.annotation.tenant", "acme"),
        KeyValue::new("aws.xray.annotation.retries", 3),
        KeyValue::new("aws.xray.annotation.ratio", 0.5),
        KeyValue::new("aws.xray.annotation.cached", true),
        KeyValue::new("aws.xray.annotation.order.id", "o-1"),
    ]);
    let doc = translate(&s, &empty_resource());
    assert_eq!(
        doc["annotations"],
        json!({"tenant": "acme", "retries": 3, "ratio": 0.5, "cached": true, "order_id": "o-1"})
    );
    assert!(doc.get("metadata").is_none());
}

#[test]
fn attributes_are_metadata_unless_indexed() {
    let s = server(vec![
        KeyValue::new("attr1@1", "val1"),
        KeyValue::new("attr2@2", "val2"),
    ]);
    let doc = translate(&s, &empty_resource());
    assert!(doc.get("annotations").is_none());
    assert_eq!(
        doc["metadata"]["default"],
        json!({"attr1@1": "val1", "attr2@2": "val2"})
    );

    let config = TranslatorConfig::builder()
        .indexed_attributes(["attr1@1", "not_exist"])
        .build();
    let doc = translate_with(config, &s, &empty_resource());
    assert_eq!(doc["annotations"], json!({"attr1_1": "val1"}));
    assert_eq!(doc["metadata"]["default"], json!({"attr2@2": "val2"}));

    let config = TranslatorConfig::builder()
        .index_all_attributes(true)
        .build();
    let doc = translate_with(config, &s, &empty_resource());
    assert_eq!(
        doc["annotations"],
        json!({"attr1_1": "val1", "attr2_2": "val2"})
    );
}

#[test]
fn annotations_list_attribute_promotes_keys_and_is_not_exported() {
    let s = server(vec![
        KeyValue::new("attr1@1", "val1"),
        KeyValue::new("attr2@2", "val2"),
        KeyValue::new("aws.xray.annotations", strs(&["attr2@2", "not_exist"])),
    ]);
    let doc = translate(&s, &empty_resource());
    assert_eq!(doc["annotations"], json!({"attr2_2": "val2"}));
    assert_eq!(doc["metadata"]["default"], json!({"attr1@1": "val1"}));
}

#[test]
fn consumed_attributes_can_be_indexed_only_through_config() {
    let attrs = vec![
        KeyValue::new("aws.operation", "GetItem"),
        KeyValue::new("rpc.method", "GetItem"),
        KeyValue::new("aws.xray.annotations", strs(&["aws.operation"])),
    ];
    let s = with(span(SpanKind::Client, Some(PARENT)), attrs);
    assert!(translate(&s, &empty_resource())
        .get("annotations")
        .is_none());
    let config = TranslatorConfig::builder()
        .indexed_attributes(["aws.operation", "rpc.method"])
        .build();
    let doc = translate_with(config, &s, &empty_resource());
    assert_eq!(
        doc["annotations"],
        json!({"aws_operation": "GetItem", "rpc_method": "GetItem"})
    );
    assert_eq!(doc["aws"]["operation"], "GetItem");
    // Index-all skips what the aws block used; rpc.method lost to aws.operation, so it was not used.
    let config = TranslatorConfig::builder()
        .index_all_attributes(true)
        .build();
    let doc = translate_with(config, &s, &empty_resource());
    assert_eq!(doc["annotations"], json!({"rpc_method": "GetItem"}));
}

#[test]
fn resource_attributes_can_be_indexed_on_segments_only() {
    let res = resource(vec![
        KeyValue::new("string.key", "string"),
        KeyValue::new("int.key", 10),
        KeyValue::new("array.key", strs(&["foo", "bar"])),
    ]);
    let config = || {
        TranslatorConfig::builder()
            .indexed_attributes([
                "otel.resource.string.key",
                "otel.resource.int.key",
                "otel.resource.array.key",
            ])
            .build()
    };
    let doc = translate_with(config(), &span(SpanKind::Server, None), &res);
    assert_eq!(
        doc["annotations"],
        json!({"otel_resource_string_key": "string", "otel_resource_int_key": 10})
    );
    assert_eq!(
        doc["metadata"]["default"],
        json!({"otel.resource.array.key": ["foo", "bar"]})
    );
    let doc = translate_with(config(), &span(SpanKind::Client, Some(PARENT)), &res);
    assert!(doc.get("annotations").is_none());
    assert!(doc.get("metadata").is_none());
}

#[test]
fn keep_dots_mode_keeps_dots() {
    let config = TranslatorConfig::builder()
        .annotation_key_mode(AnnotationKeyMode::KeepDots)
        .build();
    let t = Translator::new(config);
    let doc: serde_json::Value = serde_json::from_str(
        &t.translate_json(
            &server(vec![KeyValue::new("aws.xray.annotation.Key.1", "v")]),
            &empty_resource(),
        )
        .unwrap(),
    )
    .unwrap();
    // Accepted by the service, rejected by the 2017 schema: not schema-checked here.
    assert_eq!(doc["annotations"], json!({"Key.1": "v"}));
}

#[test]
fn values_that_cannot_be_annotations_go_to_metadata_and_are_counted() {
    let t = Translator::default();
    let s = server(vec![
        KeyValue::new("aws.xray.annotation.list", strs(&["a"])),
        KeyValue::new("aws.xray.annotation.", "empty key"),
        KeyValue::new("aws.xray.annotation.nan", f64::NAN),
        KeyValue::new("aws.xray.annotation.long", "x".repeat(1500)),
    ]);
    let doc = translate_by(&t, &s, &empty_resource());
    assert_eq!(doc["annotations"]["nan"], "NaN");
    let long = doc["annotations"]["long"].as_str().unwrap();
    assert_eq!(long.chars().count(), 1000);
    assert!(long.ends_with('…'));
    assert_eq!(
        doc["metadata"]["default"],
        json!({"aws.xray.annotation.list": ["a"], "aws.xray.annotation.": "empty key"})
    );
    let stats = t.stats();
    assert_eq!(stats.annotations_to_metadata, 2);
    assert_eq!(stats.strings_truncated, 1);
}

#[test]
fn at_most_fifty_annotations_the_rest_in_metadata() {
    let t = Translator::new(
        TranslatorConfig::builder()
            .index_all_attributes(true)
            .build(),
    );
    let attrs = (0..80)
        .map(|i| KeyValue::new(format!("k{i}"), i as i64))
        .collect();
    let doc = translate_by(&t, &server(attrs), &empty_resource());
    assert_eq!(doc["annotations"].as_object().unwrap().len(), 50);
    assert_eq!(doc["annotations"]["k49"], 49);
    assert_eq!(doc["metadata"]["default"].as_object().unwrap().len(), 30);
    assert_eq!(doc["metadata"]["default"]["k79"], 79);
    assert_eq!(t.stats().annotations_to_metadata, 30);
}

#[test]
fn long_and_unicode_keys_are_sanitised() {
    let t = Translator::default();
    let key = format!("aws.xray.annotation.ключ{}", "k".repeat(600));
    let doc = translate_by(&t, &server(vec![KeyValue::new(key, 1)]), &empty_resource());
    let (k, _) = doc["annotations"]
        .as_object()
        .unwrap()
        .iter()
        .next()
        .unwrap();
    assert_eq!(k.len(), 500);
    assert!(k.starts_with("____k"));
    assert_eq!(t.stats().annotation_keys_sanitised, 1);
}
