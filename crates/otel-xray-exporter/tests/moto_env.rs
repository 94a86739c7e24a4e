//! `with_api()`: the AWS configuration is loaded from the environment (region,
//! credentials, endpoint) on first use. Its own test binary: it sets the
//! environment.
#![cfg(feature = "api")]

mod delivery_support;

use delivery_support::document;
use delivery_support::moto::{client, stored_documents};
use otel_xray_exporter::{DropReason, XrayExporter};
use otel_xray_testkit::MotoServer;

#[test]
fn with_api_loads_region_credentials_and_endpoint_from_the_environment() {
    let moto = MotoServer::start();
    // The only test in this binary, so no other thread reads the environment.
    for (k, v) in [
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_CONFIG_FILE", "/nonexistent/otel-xray-test-config"),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/otel-xray-test-credentials",
        ),
    ] {
        std::env::set_var(k, v);
    }
    std::env::set_var("AWS_ENDPOINT_URL", moto.endpoint_url());
    let exporter = XrayExporter::builder().with_api().build().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let doc = document(3, 10);
    let report = rt.block_on(exporter.send_documents(vec![doc.clone()]));
    assert_eq!((report.sent, report.dropped), (1, 0));
    let v: serde_json::Value = serde_json::from_str(&doc).unwrap();
    let stored = rt.block_on(stored_documents(
        &client(&moto.endpoint_url()),
        &[v["trace_id"].as_str().unwrap().to_owned()],
    ));
    assert_eq!(stored.len(), 1);

    // Without a region the client cannot be made: counted, not hidden.
    std::env::remove_var("AWS_REGION");
    std::env::remove_var("AWS_DEFAULT_REGION");
    let exporter = XrayExporter::builder().with_api().build().unwrap();
    let report = rt.block_on(exporter.send_documents(vec![document(4, 0)]));
    assert_eq!(report.dropped, 1);
    assert_eq!(
        exporter
            .counters()
            .snapshot()
            .dropped_for(DropReason::Misconfigured),
        1
    );
}
