//! The proxy from the environment, as curl and the AWS CLI take it: `HTTP_PROXY` for an
//! `http://` endpoint (`HTTPS_PROXY` for `https://`), and `without_proxy()` ignoring it. One
//! test in its own binary, because it sets process environment variables.
#![cfg(feature = "otlp")]

mod otlp_support;

use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use opentelemetry_sdk::trace::SpanExporter;
use otel_xray_exporter::otlp::{XrayOtlpExporter, XrayOtlpExporterBuilder};
use otel_xray_testkit::HttpProxy;
use otlp_support::{span, Reply, Sink, REGION};

fn builder(sink: &Sink) -> XrayOtlpExporterBuilder {
    let config = SdkConfig::builder()
        .region(Region::new(REGION))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDENV", "secret", None, None, "test",
        )))
        .behavior_version(BehaviorVersion::latest())
        .build();
    XrayOtlpExporter::builder()
        .with_endpoint(sink.url())
        .with_sdk_config(config)
}

fn export(exporter: &XrayOtlpExporter, trace: u128) -> u64 {
    let batch = vec![span(trace, 0, Duration::from_secs(5), Vec::new())];
    let _ = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(exporter.export(batch));
    exporter.counters().snapshot().sent
}

#[test]
fn the_environment_names_the_proxy_unless_the_builder_says_direct() {
    let sink = Sink::start(|_| Reply::Accept);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let proxy = runtime.block_on(HttpProxy::start());
    for name in [
        "HTTPS_PROXY",
        "https_proxy",
        "NO_PROXY",
        "no_proxy",
        "http_proxy",
    ] {
        std::env::remove_var(name);
    }
    std::env::set_var("HTTP_PROXY", proxy.url());
    let authority = sink.base_url().trim_start_matches("http://").to_owned();

    let from_env = builder(&sink).build().unwrap();
    assert_eq!(export(&from_env, 1), 1);
    assert_eq!(proxy.seen(), vec![format!("CONNECT {authority}")]);

    let direct = builder(&sink).without_proxy().build().unwrap();
    assert_eq!(export(&direct, 2), 1);
    assert_eq!(
        proxy.seen().len(),
        1,
        "without_proxy() went through the proxy"
    );
    assert_eq!(sink.received().len(), 2);

    // NO_PROXY names the endpoint's host: direct again.
    std::env::set_var("NO_PROXY", "127.0.0.1");
    let excepted = builder(&sink).build().unwrap();
    assert_eq!(export(&excepted, 3), 1);
    assert_eq!(proxy.seen().len(), 1, "NO_PROXY was not honoured");
    assert_eq!(sink.received().len(), 3);
}
