//! The translator's cache of prepared resources: a document always describes
//! the resource it was translated with, however resources alternate, are
//! rebuilt or shared between threads, and old resources are let go.
mod translate_support;

use std::sync::Arc;

use opentelemetry::trace::SpanKind;
use opentelemetry::{KeyValue, StringValue};
use opentelemetry_sdk::trace::SpanData;
use opentelemetry_sdk::Resource;
use otel_xray_exporter::Translator;
use translate_support::*;

/// A root segment: every resource-derived part of the document is written.
fn root() -> SpanData {
    with(
        span(SpanKind::Server, None),
        vec![KeyValue::new("http.request.method", "GET")],
    )
}

/// Resource `i`: differs from every other `i` in name, origin, `aws` and metadata.
fn numbered(i: usize) -> Resource {
    let platforms = ["aws_ec2", "aws_ecs", "aws_eks", "aws_lambda", "gcp"];
    let mut attrs = vec![
        KeyValue::new("service.name", format!("svc-{i}")),
        KeyValue::new("cloud.platform", platforms[i % platforms.len()]),
        KeyValue::new("host.id", format!("i-{i:08x}")),
        KeyValue::new("telemetry.sdk.name", "opentelemetry"),
    ];
    attrs.extend((0..i % 3).map(|n| KeyValue::new(format!("extra.{n}"), i as i64)));
    resource(attrs)
}

/// The document from a scan of `resource` (`translate` borrows from it, no cache).
fn scanned(t: &Translator, span: &SpanData, resource: &Resource) -> String {
    serde_json::to_string(&t.translate(span, resource).unwrap()).unwrap()
}

/// A translator, a root span, six resources and their scanned documents.
fn six_resources() -> (Translator, SpanData, Vec<Resource>, Vec<String>) {
    let t = Translator::default();
    let span = root();
    let resources: Vec<_> = (0..6).map(numbered).collect();
    let expected = resources.iter().map(|r| scanned(&t, &span, r)).collect();
    (t, span, resources, expected)
}

#[test]
fn alternating_resources_get_their_own_documents() {
    let (t, span, resources, expected) = six_resources();
    assert!(expected.windows(2).all(|w| w[0] != w[1]));
    for round in 0..3 {
        for (r, want) in resources.iter().zip(&expected) {
            assert_eq!(&t.translate_json(&span, r).unwrap(), want, "round {round}");
        }
        for i in [0, 1, 0, 1, 5, 0] {
            assert_eq!(t.translate_json(&span, &resources[i]).unwrap(), expected[i]);
        }
    }
}

#[test]
fn rebuilt_resources_are_never_mistaken_for_the_old_ones() {
    let t = Translator::default();
    let span = root();
    for i in 0..64 {
        // Built, used and dropped each round, so allocations are reused.
        let r = numbered(i);
        let want = scanned(&t, &span, &r);
        assert!(want.contains(&format!("\"svc-{i}\"")));
        assert_eq!(t.translate_json(&span, &r).unwrap(), want, "resource {i}");
        // A clone shares the attribute table; a rebuilt resource has its own.
        assert_eq!(t.translate_json(&span, &r.clone()).unwrap(), want);
        let mut attrs: Vec<_> = r
            .iter()
            .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
            .collect();
        attrs.push(KeyValue::new("service.version", format!("{i}.0")));
        let rebuilt = resource(attrs);
        let want = scanned(&t, &span, &rebuilt);
        assert!(want.contains(&format!("\"{i}.0\"")));
        assert_eq!(t.translate_json(&span, &rebuilt).unwrap(), want);
    }
    let empty = empty_resource();
    assert_eq!(
        t.translate_json(&span, &empty).unwrap(),
        scanned(&t, &span, &empty)
    );
}

#[test]
fn threads_sharing_a_translator_get_their_resources_documents() {
    let (t, span, resources, expected) = six_resources();
    std::thread::scope(|s| {
        for thread in 0..4 {
            let (t, span, resources, expected) = (&t, &span, &resources, &expected);
            s.spawn(move || {
                for n in 0..300 {
                    let i = (n * (thread + 1)) % resources.len();
                    assert_eq!(t.translate_json(span, &resources[i]).unwrap(), expected[i]);
                }
            });
        }
    });
    assert_eq!(t.stats().documents, 4 * 300 + 6);
}

#[test]
fn the_cache_is_bounded_and_lets_go_of_old_resources() {
    let t = Translator::default();
    let span = root();
    let names: Vec<Arc<str>> = (0..16).map(|i| Arc::from(format!("svc-{i}"))).collect();
    for name in &names {
        let r = resource(vec![KeyValue::new(
            "service.name",
            StringValue::from(name.clone()),
        )]);
        t.translate_json(&span, &r).unwrap();
    }
    let held = |names: &[Arc<str>]| names.iter().filter(|n| Arc::strong_count(n) > 1).count();
    // The last four resources stay prepared after their owners dropped them.
    assert_eq!(held(&names), 4);
    assert!(names[12..].iter().all(|n| Arc::strong_count(n) > 1));
    // A clone of the translator starts with its own, empty cache.
    let other = t.clone();
    other.translate_json(&span, &numbered(1)).unwrap();
    assert_eq!(held(&names), 4);
    drop((t, other));
    assert_eq!(held(&names), 0, "released with the translator");
}
