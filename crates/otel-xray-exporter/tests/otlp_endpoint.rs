//! XrayOtlpExporter against a loopback HTTP server standing in for the X-Ray
//! OTLP endpoint: SigV4 checked by botocore, bodies decoded and compared.
#![cfg(feature = "otlp")]

mod otlp_support;

use std::collections::HashMap;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::{future, ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use opentelemetry::trace::Event;
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue as ProtoKeyValue};
use opentelemetry_sdk::trace::SpanExporter;
use opentelemetry_sdk::Resource;
use otel_xray_exporter::otlp::{Compression, XrayOtlpExporter};
use otel_xray_exporter::{DeliveryStats, DropReason};
use otlp_support::{botocore_mismatches, span, Received, Reply, Secrets, Sink, REGION};

const KEY: &str = "AKIDOTLPTEST";
const SECRET: &str = "otlp/secret/key/for/tests";
const TOKEN: &str = "session-token-otlp";

fn static_config() -> SdkConfig {
    config_with(Credentials::new(
        KEY,
        SECRET,
        Some(TOKEN.into()),
        None,
        "test",
    ))
}

fn config_with(provider: impl ProvideCredentials + 'static) -> SdkConfig {
    SdkConfig::builder()
        .region(Region::new(REGION))
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .behavior_version(BehaviorVersion::latest())
        .build()
}

fn secrets() -> Secrets {
    HashMap::from([(KEY.to_owned(), (SECRET.to_owned(), Some(TOKEN.to_owned())))])
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn string(value: &Option<AnyValue>) -> Option<&str> {
    match value.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s),
        _ => None,
    }
}

fn find<'a>(attrs: &'a [ProtoKeyValue], key: &str) -> Option<&'a Option<AnyValue>> {
    attrs.iter().find(|kv| kv.key == key).map(|kv| &kv.value)
}

fn accounted(stats: &DeliveryStats) -> u64 {
    stats.sent + stats.rejected_total() + stats.dropped_total()
}

fn exporter(sink: &Sink, compression: Compression, config: SdkConfig) -> XrayOtlpExporter {
    let mut exporter = XrayOtlpExporter::builder()
        .with_endpoint(sink.url())
        .with_sdk_config(config)
        .with_compression(compression)
        .with_export_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    exporter.set_resource(
        &Resource::builder_empty()
            .with_attributes([
                KeyValue::new("service.name", "checkout"),
                KeyValue::new("cloud.region", REGION),
            ])
            .build(),
    );
    exporter
}

#[test]
fn signed_requests_verify_with_botocore_and_carry_every_span() {
    for compression in [Compression::Gzip, Compression::None] {
        let sink = Sink::start(|_| Reply::Accept);
        let exporter = exporter(&sink, compression, static_config());
        let counters = exporter.counters();
        let scope = InstrumentationScope::builder("orders")
            .with_version("1.2.3")
            .build();
        let batch: Vec<_> = (0..20)
            .map(|i| {
                let mut s = span(
                    7,
                    i,
                    Duration::from_secs(60),
                    vec![
                        KeyValue::new("aws.xray.annotation.customer", format!("c{i}")),
                        KeyValue::new("http.route", "/orders"),
                    ],
                );
                s.instrumentation_scope = scope.clone();
                s.events.events.push(Event::new(
                    "retry",
                    s.start_time,
                    vec![KeyValue::new("attempt", 2)],
                    0,
                ));
                s
            })
            .collect();
        runtime().block_on(exporter.export(batch)).unwrap();

        let received = sink.received();
        assert_eq!(received.len(), 1, "{compression:?}");
        let request = &received[0];
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/v1/traces");
        assert_eq!(
            request.header("content-type"),
            Some("application/x-protobuf")
        );
        let signed = request.signed_headers();
        for must in ["host", "x-amz-date", "x-amz-security-token", "content-type"] {
            assert!(
                signed.contains(&must.to_owned()),
                "{must} not in {signed:?}"
            );
        }
        for never in ["user-agent", "x-amzn-trace-id", "expect", "authorization"] {
            assert!(!signed.contains(&never.to_owned()), "{never} in {signed:?}");
        }
        match compression {
            Compression::Gzip => {
                assert_eq!(request.header("content-encoding"), Some("gzip"));
                assert!(signed.contains(&"content-encoding".to_owned()));
            }
            _ => assert_eq!(request.header("content-encoding"), None),
        }
        let mismatches = botocore_mismatches(&sink.url(), &received, &secrets());
        assert!(mismatches.is_empty(), "{mismatches:?}");
        // The verifier is not blind: one changed body byte fails it.
        let mut tampered = received.clone();
        tampered[0].body[0] ^= 1;
        assert_eq!(
            botocore_mismatches(&sink.url(), &tampered, &secrets()).len(),
            1
        );

        let decoded = request.decode();
        assert_eq!(decoded.resource_spans.len(), 1);
        let rs = &decoded.resource_spans[0];
        let resource = rs.resource.as_ref().unwrap();
        assert_eq!(
            string(find(&resource.attributes, "service.name").unwrap()),
            Some("checkout")
        );
        assert_eq!(rs.scope_spans.len(), 1);
        let scope = rs.scope_spans[0].scope.as_ref().unwrap();
        assert_eq!(
            (scope.name.as_str(), scope.version.as_str()),
            ("orders", "1.2.3")
        );
        let spans = &rs.scope_spans[0].spans;
        assert_eq!(spans.len(), 20);
        for (i, s) in spans.iter().enumerate() {
            assert_eq!(s.name, format!("span-{i}"));
            assert_eq!(
                string(find(&s.attributes, "customer").unwrap()),
                Some(&*format!("c{i}"))
            );
            assert!(find(&s.attributes, "aws.xray.annotation.customer").is_none());
            let list = find(&s.attributes, "aws.xray.annotations").unwrap();
            let Some(any_value::Value::ArrayValue(list)) = list.as_ref().unwrap().value.as_ref()
            else {
                panic!("aws.xray.annotations is not a list: {list:?}");
            };
            let keys: Vec<_> = list
                .values
                .iter()
                .map(|v| string(&Some(v.clone())).unwrap().to_owned())
                .collect();
            assert_eq!(keys, ["customer"]);
            assert_eq!(
                string(find(&s.attributes, "http.route").unwrap()),
                Some("/orders")
            );
            assert_eq!(s.events.len(), 1);
            assert_eq!(s.events[0].name, "retry");
        }
        let stats = counters.snapshot();
        assert_eq!(stats.sent, 20);
        assert_eq!(accounted(&stats), 20);
    }
}

#[test]
fn throttling_resets_and_gateway_errors_are_retried_until_accepted() {
    let sink = Sink::start(|n| match n {
        0 => Reply::Status {
            code: 429,
            retry_after: Some("1".into()),
            body: "slow down".into(),
        },
        1 => Reply::Reset,
        2 => Reply::Status {
            code: 503,
            retry_after: None,
            body: String::new(),
        },
        3 => Reply::Status {
            code: 502,
            retry_after: None,
            body: String::new(),
        },
        _ => Reply::Accept,
    });
    let exporter = exporter(&sink, Compression::Gzip, static_config());
    let counters = exporter.counters();
    let batch: Vec<_> = (0..5).map(|i| span(1, i, Duration::ZERO, vec![])).collect();
    let started = std::time::Instant::now();
    runtime().block_on(exporter.export(batch)).unwrap();
    // Retry-After: 1 was honoured before the second attempt.
    assert!(started.elapsed() >= Duration::from_secs(1));
    let received = sink.received();
    assert_eq!(received.len(), 5);
    // Every attempt was signed anew and verifies.
    assert!(botocore_mismatches(&sink.url(), &received, &secrets()).is_empty());
    let stats = counters.snapshot();
    assert_eq!(stats.sent, 5);
    assert_eq!(stats.retried, 4 * 5);
    assert_eq!(accounted(&stats), 5);
}

#[test]
fn a_503_storm_past_the_export_timeout_is_dropped_and_counted() {
    let sink = Sink::start(|_| Reply::Status {
        code: 503,
        retry_after: None,
        body: "unavailable".into(),
    });
    let exporter = XrayOtlpExporter::builder()
        .with_endpoint(sink.url())
        .with_sdk_config(static_config())
        .with_export_timeout(Duration::from_millis(1500))
        .build()
        .unwrap();
    let counters = exporter.counters();
    let batch: Vec<_> = (0..8).map(|i| span(2, i, Duration::ZERO, vec![])).collect();
    let error = runtime().block_on(exporter.export(batch)).unwrap_err();
    // Usually the last 503 with no time left to retry; the deadline may also
    // fall inside an attempt.
    let error = error.to_string();
    assert!(
        error.contains("503") || error.contains("export timeout"),
        "{error}"
    );
    let stats = counters.snapshot();
    assert_eq!(stats.sent, 0);
    assert_eq!(
        stats.dropped_for(DropReason::RetryBudgetExhausted)
            + stats.dropped_for(DropReason::Timeout),
        8
    );
    assert_eq!(accounted(&stats), 8);
    assert!(sink.received().len() >= 2, "no retry happened");
}

#[test]
fn client_errors_are_rejected_with_status_and_message() {
    let sink = Sink::start(|_| Reply::Status {
        code: 400,
        retry_after: None,
        body: r#"{"message":"Transaction Search is not enabled"}"#.into(),
    });
    let exporter = exporter(&sink, Compression::Gzip, static_config());
    let counters = exporter.counters();
    let batch: Vec<_> = (0..3).map(|i| span(3, i, Duration::ZERO, vec![])).collect();
    let error = runtime().block_on(exporter.export(batch)).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("Transaction Search is not enabled"),
        "{error}"
    );
    assert_eq!(sink.received().len(), 1, "a 400 must not be retried");
    let stats = counters.snapshot();
    assert_eq!(stats.rejected.get("http_400"), Some(&3));
    assert_eq!(accounted(&stats), 3);
}

#[test]
fn partial_success_counts_rejected_spans() {
    let sink = Sink::start(|_| Reply::Partial {
        rejected: 3,
        message: "3 spans had invalid trace ids".into(),
    });
    let exporter = exporter(&sink, Compression::Gzip, static_config());
    let counters = exporter.counters();
    let batch: Vec<_> = (0..10)
        .map(|i| span(4, i, Duration::ZERO, vec![]))
        .collect();
    runtime().block_on(exporter.export(batch)).unwrap();
    let stats = counters.snapshot();
    assert_eq!(stats.sent, 7);
    assert_eq!(stats.rejected.get("partial_success"), Some(&3));
    assert_eq!(accounted(&stats), 10);
}

/// Fails every time, the way a broken credential source does.
#[derive(Debug)]
struct NoCredentials;

impl ProvideCredentials for NoCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::ready(Err(
            aws_credential_types::provider::error::CredentialsError::not_loaded(
                "the instance profile has no role",
            ),
        ))
    }
}

#[test]
fn a_credentials_failure_fails_the_export_naming_the_cause() {
    let sink = Sink::start(|_| Reply::Accept);
    let exporter = exporter(&sink, Compression::Gzip, config_with(NoCredentials));
    let counters = exporter.counters();
    let batch: Vec<_> = (0..4).map(|i| span(5, i, Duration::ZERO, vec![])).collect();
    let error = runtime().block_on(exporter.export(batch)).unwrap_err();
    assert!(
        error.to_string().contains("instance profile has no role"),
        "{error}"
    );
    assert!(sink.received().is_empty());
    let stats = counters.snapshot();
    assert_eq!(stats.dropped_for(DropReason::Misconfigured), 4);
    assert_eq!(accounted(&stats), 4);
}

#[test]
fn spans_outside_the_time_window_are_dropped_and_counted() {
    let sink = Sink::start(|_| Reply::Accept);
    let exporter = exporter(&sink, Compression::Gzip, static_config());
    let counters = exporter.counters();
    let day = Duration::from_secs(24 * 3600);
    let mut batch = vec![
        span(6, 0, Duration::ZERO, vec![]),
        span(6, 1, 20 * day, vec![]),
        span(6, 2, day * 13, vec![]),
    ];
    let mut ahead = span(6, 3, Duration::ZERO, vec![]);
    ahead.start_time += Duration::from_secs(3 * 3600);
    ahead.end_time += Duration::from_secs(3 * 3600);
    batch.push(ahead);
    runtime().block_on(exporter.export(batch)).unwrap();
    let stats = counters.snapshot();
    assert_eq!(stats.dropped_for(DropReason::OutsideTimeWindow), 2);
    assert_eq!(stats.sent, 2);
    // The 13-day-old span and the current one are 13 days apart: two requests.
    let received: Vec<Received> = sink.received();
    assert_eq!(received.len(), 2);
    // One span per request; the requests go out concurrently, in any order.
    let mut names: Vec<Vec<String>> = received
        .iter()
        .map(|r| {
            r.decode()
                .resource_spans
                .into_iter()
                .flat_map(|rs| rs.scope_spans)
                .flat_map(|ss| ss.spans)
                .map(|s| s.name)
                .collect()
        })
        .collect();
    names.sort();
    assert_eq!(names, [["span-0"], ["span-2"]]);
}

#[test]
fn requests_in_flight_stay_within_the_bound() {
    let sink = Sink::start(|_| Reply::SlowAccept(Duration::from_millis(300)));
    let exporter = XrayOtlpExporter::builder()
        .with_endpoint(sink.url())
        .with_sdk_config(static_config())
        .with_max_concurrent_requests(2)
        .build()
        .unwrap();
    let counters = exporter.counters();
    // Spans 25 h apart cannot share a request: six requests.
    let batch: Vec<_> = (0..6u32)
        .map(|i| span(8, u64::from(i), Duration::from_secs(25 * 3600) * i, vec![]))
        .collect();
    runtime().block_on(exporter.export(batch)).unwrap();
    assert_eq!(sink.received().len(), 6);
    assert_eq!(sink.max_in_flight(), 2);
    assert_eq!(counters.snapshot().sent, 6);
}

#[test]
fn a_503_storm_within_the_export_timeout_ends_in_delivery() {
    let sink = Sink::start(|n| {
        if n < 4 {
            Reply::Status {
                code: 503,
                retry_after: None,
                body: "busy".into(),
            }
        } else {
            Reply::Accept
        }
    });
    let exporter = exporter(&sink, Compression::Gzip, static_config());
    let counters = exporter.counters();
    let batch: Vec<_> = (0..9).map(|i| span(9, i, Duration::ZERO, vec![])).collect();
    runtime().block_on(exporter.export(batch)).unwrap();
    let stats = counters.snapshot();
    assert_eq!(stats.sent, 9);
    assert_eq!(stats.retried, 4 * 9);
    assert_eq!(accounted(&stats), 9);
    assert_eq!(sink.received().len(), 5);
}
