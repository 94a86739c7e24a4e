//! `AWS_XRAY_DAEMON_ADDRESS` (its own test binary: it sets the environment).
#![cfg(feature = "daemon")]

mod delivery_support;

use delivery_support::{document, parse_like_daemon, FakeDaemon};
use otel_xray_exporter::{XrayExporter, DAEMON_ADDRESS_ENV};

#[test]
fn the_daemon_address_comes_from_the_environment_in_both_forms() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let a = FakeDaemon::start("127.0.0.1:0");
    let b = FakeDaemon::start("127.0.0.1:0");
    // The only test in this binary, so no other thread reads the environment.
    std::env::set_var(DAEMON_ADDRESS_ENV, a.addr().to_string());
    let exporter = XrayExporter::builder().with_daemon().build().unwrap();
    assert_eq!(
        rt.block_on(exporter.send_documents(vec![document(1, 0)]))
            .sent,
        1
    );

    std::env::set_var(
        DAEMON_ADDRESS_ENV,
        format!("tcp:127.0.0.1:1 udp:127.0.0.1:{}", b.addr().port()),
    );
    let exporter = XrayExporter::builder().with_daemon().build().unwrap();
    assert_eq!(
        rt.block_on(exporter.send_documents(vec![document(2, 0)]))
            .sent,
        1
    );

    assert_eq!(
        parse_like_daemon(&a.wait_for(1)[0]).unwrap()["name"],
        "svc-1"
    );
    assert_eq!(
        parse_like_daemon(&b.wait_for(1)[0]).unwrap()["name"],
        "svc-2"
    );

    std::env::set_var(DAEMON_ADDRESS_ENV, "not an address");
    assert!(XrayExporter::builder().with_daemon().build().is_err());
    std::env::remove_var(DAEMON_ADDRESS_ENV);
}
