//! The proxy from the environment, as curl and the AWS CLI take it: `HTTP_PROXY` for an
//! `http://` endpoint (`HTTPS_PROXY` for `https://`), and `without_proxy()` ignoring it. One
//! test in its own binary, because it sets process environment variables.
#![cfg(feature = "otlp")]

mod otlp_support;

use std::time::Duration;

use opentelemetry_sdk::trace::SpanExporter;
use otel_xray_exporter::otlp::{XrayOtlpExporter, XrayOtlpExporterBuilder};
use otlp_support::{loopback_proxy, span, static_config, Reply, Sink};

fn builder(sink: &Sink) -> XrayOtlpExporterBuilder {
    XrayOtlpExporter::builder()
        .with_endpoint(sink.url())
        .with_sdk_config(static_config("AKIDENV", "secret"))
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
    let (_runtime, proxy) = loopback_proxy();
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
