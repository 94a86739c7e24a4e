//! `NO_PROXY` beside `ProxyAddress`: the addresses it names are called directly. Its own test
//! binary, as it sets the process environment.

mod support;

use otel_xray_testkit::MotoServer;
use support::{args, document, send_framed, trace_id, wait_until, Running};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_proxy_addresses_are_called_directly() {
    std::env::set_var("NO_PROXY", "127.0.0.1");
    let moto = MotoServer::start();
    let mut daemon_args = args(&moto.endpoint_url());
    // Nothing listens there: only a direct call can deliver.
    daemon_args.proxy_address = Some(format!(
        "http://127.0.0.2:{}",
        otel_xray_testkit::free_port()
    ));
    let daemon = Running::start(daemon_args).await;
    send_framed(daemon.udp, &document(&trace_id(), 1, 10));
    let counters = wait_until(&daemon.counters, |c| c.sent >= 1).await;
    assert_eq!(
        (counters.sent, counters.backend_errors_total()),
        (1, 0),
        "{counters:?}"
    );
    daemon.stop().await;
}
