//! `XrayOtlpExporterBuilder::with_proxy`: requests to the OTLP endpoint go through a real
//! HTTP proxy on loopback, in a `CONNECT` tunnel, and arrive signed as if sent directly
//! (botocore checks the signature). A proxy that is down is a counted failure, never a
//! direct call.
#![cfg(feature = "otlp")]

mod otlp_support;

use std::collections::HashMap;
use std::time::Duration;

use opentelemetry_sdk::trace::SpanExporter;
use otel_xray_exporter::otlp::{OtlpBuildError, XrayOtlpExporter};
use otel_xray_exporter::DropReason;
use otlp_support::{
    botocore_mismatches, loopback_proxy, span, static_config, Reply, Secrets, Sink,
};

const KEY: &str = "AKIDPROXYTEST";
const SECRET: &str = "proxy/secret";

fn export(exporter: &XrayOtlpExporter, spans: u64) {
    let batch = (0..spans)
        .map(|i| span(11, i, Duration::from_secs(5), Vec::new()))
        .collect();
    let _ = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(exporter.export(batch));
}

#[test]
fn requests_go_through_the_proxy_in_a_tunnel_and_stay_signed() {
    let sink = Sink::start(|_| Reply::Accept);
    let (_runtime, proxy) = loopback_proxy();
    let exporter = XrayOtlpExporter::builder()
        .with_endpoint(sink.url())
        .with_sdk_config(static_config(KEY, SECRET))
        .with_proxy(proxy.url())
        .build()
        .unwrap();
    export(&exporter, 3);

    let stats = exporter.counters().snapshot();
    assert_eq!((stats.sent, stats.dropped_total()), (3, 0), "{stats:?}");
    let authority = sink.base_url().trim_start_matches("http://").to_owned();
    assert_eq!(proxy.seen(), vec![format!("CONNECT {authority}")]);
    let received = sink.received();
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0].decode().resource_spans[0].scope_spans[0]
            .spans
            .len(),
        3
    );
    let secrets: Secrets = HashMap::from([(KEY.to_owned(), (SECRET.to_owned(), None))]);
    assert_eq!(
        botocore_mismatches(&sink.url(), &received, &secrets),
        Vec::<String>::new()
    );
}

#[test]
fn a_proxy_that_is_down_is_a_counted_failure_not_a_direct_call() {
    let sink = Sink::start(|_| Reply::Accept);
    let closed = format!("http://127.0.0.1:{}", otel_xray_testkit::free_port());
    let exporter = XrayOtlpExporter::builder()
        .with_endpoint(sink.url())
        .with_sdk_config(static_config(KEY, SECRET))
        .with_proxy(closed)
        .with_export_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    export(&exporter, 2);

    let stats = exporter.counters().snapshot();
    assert_eq!(stats.sent, 0, "{stats:?}");
    assert_eq!(stats.dropped_total(), 2, "{stats:?}");
    // Connection errors are retried, then given up on.
    assert!(stats.retried > 0, "{stats:?}");
    assert_eq!(
        stats.dropped.get(&DropReason::RetryBudgetExhausted),
        Some(&2),
        "{stats:?}"
    );
    assert!(
        sink.received().is_empty(),
        "the endpoint was called directly"
    );
}

#[test]
fn a_proxy_that_is_not_an_http_url_is_refused_at_build() {
    let error = XrayOtlpExporter::builder()
        .with_region("us-east-1")
        .with_proxy("proxy.internal:3128")
        .build()
        .unwrap_err();
    assert!(
        matches!(&error, OtlpBuildError::InvalidProxy { proxy } if proxy == "proxy.internal:3128"),
        "{error}"
    );
}
