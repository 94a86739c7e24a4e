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

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry_aws::xray_exporter::SegmentTranslator;
use otel_xray_exporter::{Translator, TranslatorConfig};
use otel_xray_testkit::spans::{
    aws_client_span, http_server_no_events_span, http_server_span, internal_span, resource,
};

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
