//! The PutTraceSegments request body the exporter writes itself (`transport/api/body.rs`),
//! seen by a loopback server: it carries exactly the documents, its `Content-Length` is its
//! length, and botocore finds the SigV4 signature right for it, on the first attempt and on
//! the SDK's retry.
#![cfg(all(feature = "api", feature = "otlp"))]

mod otlp_support;

use std::time::Duration;

use aws_sdk_xray::config::retry::RetryConfig;
use aws_sdk_xray::config::{BehaviorVersion, Credentials, Region};
use otel_xray_exporter::XrayExporter;
use otlp_support::{botocore_mismatches, Reply, Secrets, Sink, REGION};

fn status(code: u16, body: &str) -> Reply {
    Reply::Status {
        code,
        retry_after: None,
        body: body.to_owned(),
    }
}

#[test]
fn the_body_carries_the_documents_and_is_what_was_signed() {
    // First attempt: a 503, which the SDK retries; then success.
    let sink = Sink::start(|n| match n {
        0 => status(503, r#"{"message":"busy"}"#),
        _ => status(200, r#"{"UnprocessedTraceSegments":[]}"#),
    });
    let config = aws_sdk_xray::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(
            "AKIDBODY",
            "body-secret",
            None,
            None,
            "test",
        ))
        .endpoint_url(sink.base_url())
        .build();
    let exporter = XrayExporter::builder()
        .with_xray_client(aws_sdk_xray::Client::from_conf(config))
        .with_retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(10)),
        )
        .build()
        .unwrap();
    let documents: Vec<String> = [
        r#"{"name":"quote \" and backslash \\","id":"a"}"#,
        "{\"name\":\"controls \\u0001\\t\\n, non-ASCII é 😀 \u{2028}\",\"id\":\"b\"}",
        "not JSON at all: \u{0} \u{1f} \\",
    ]
    .map(str::to_owned)
    .to_vec();
    let report = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(exporter.send_documents(documents.clone()));
    assert_eq!((report.sent, report.dropped), (3, 0), "{report:?}");

    let received = sink.received();
    assert_eq!(received.len(), 2, "one failed attempt and its retry");
    for request in &received {
        assert_eq!(
            (request.method.as_str(), request.path.as_str()),
            ("POST", "/TraceSegments")
        );
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({ "TraceSegmentDocuments": documents })
        );
        assert_eq!(
            request.header("content-length"),
            Some(request.body.len().to_string().as_str())
        );
    }
    let secrets: Secrets = [("AKIDBODY".to_owned(), ("body-secret".to_owned(), None))].into();
    let url = format!("{}/TraceSegments", sink.base_url());
    assert_eq!(
        botocore_mismatches(&url, &received, &secrets),
        Vec::<String>::new()
    );
}
