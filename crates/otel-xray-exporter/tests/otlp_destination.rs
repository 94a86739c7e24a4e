//! `XrayOtlpExporter::check_destination` against a loopback server answering
//! `GetTraceSegmentDestination` as X-Ray does (moto does not implement it);
//! every answer is first parsed by botocore with its X-Ray model, so the
//! stand-in speaks the real API, and every request's SigV4 is recomputed by
//! botocore.
#![cfg(all(feature = "otlp", feature = "api"))]

mod otlp_support;

use std::collections::HashMap;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use otel_xray_exporter::otlp::{TransactionSearch, XrayOtlpExporter};
use otlp_support::{botocore_mismatches, botocore_parse, Reply, Sink, REGION};

const OPERATION: &str = "GetTraceSegmentDestination";

fn check(status: u16, body: &str) -> (Sink, Result<TransactionSearch, String>) {
    let answer = body.to_owned();
    let sink = Sink::start(move |_| Reply::Status {
        code: status,
        retry_after: None,
        body: answer.clone(),
    });
    let exporter = XrayOtlpExporter::builder()
        .with_endpoint(sink.url())
        .with_sdk_config(
            SdkConfig::builder()
                .region(Region::new(REGION))
                .endpoint_url(sink.base_url())
                .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                    "AKIDDEST",
                    "dest-secret",
                    None,
                    None,
                    "test",
                )))
                .behavior_version(BehaviorVersion::latest())
                .build(),
        )
        .build()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let result = runtime
        .block_on(exporter.check_destination())
        .map_err(|e| e.to_string());
    (sink, result)
}

#[test]
fn each_destination_answer_reads_as_its_state_with_advice() {
    let cases = [
        ("CloudWatchLogs", "ACTIVE", TransactionSearch::Ready),
        ("CloudWatchLogs", "PENDING", TransactionSearch::Pending),
        ("XRay", "ACTIVE", TransactionSearch::NotEnabled),
    ];
    for (destination, status, expected) in cases {
        let body = format!(r#"{{"Destination":"{destination}","Status":"{status}"}}"#);
        let parsed = botocore_parse(OPERATION, 200, &body);
        assert_eq!(parsed["Destination"], destination);
        assert_eq!(parsed["Status"], status);

        let (sink, result) = check(200, &body);
        let state = result.unwrap();
        assert_eq!(state, expected);
        assert_eq!(state.is_ready(), expected == TransactionSearch::Ready);
        let text = state.to_string();
        match expected {
            TransactionSearch::NotEnabled => assert!(text.contains("enable Transaction Search")),
            TransactionSearch::Pending => assert!(text.contains("wait")),
            _ => assert!(text.contains("ACTIVE")),
        }

        let received = sink.received();
        assert_eq!(received.len(), 1);
        assert_eq!(received[0].method, "POST");
        assert_eq!(received[0].path, "/GetTraceSegmentDestination");
        let url = format!("{}/GetTraceSegmentDestination", sink.base_url());
        let secrets = HashMap::from([("AKIDDEST".to_owned(), ("dest-secret".to_owned(), None))]);
        assert!(botocore_mismatches(&url, &received, &secrets).is_empty());
    }
}

#[test]
fn access_denied_names_the_missing_permission() {
    let body = r#"{"__type":"AccessDeniedException","message":"User is not authorized"}"#;
    assert_eq!(
        botocore_parse(OPERATION, 403, body)["Error"]["Code"],
        "AccessDeniedException"
    );
    let (_sink, result) = check(403, body);
    let error = result.unwrap_err();
    assert!(error.contains("xray:GetTraceSegmentDestination"), "{error}");
    assert!(error.contains("not authorized"), "{error}");
}
