//! UDP delivery against a loopback listener that parses like the X-Ray daemon.
#![cfg(feature = "daemon")]

mod delivery_support;

use std::time::{Duration, Instant};

use delivery_support::{
    batch_provider, block_on, daemon_exporter, document, make_spans, parse_like_daemon, FakeDaemon,
    DAEMON_BUFFER,
};
use opentelemetry_sdk::trace::SpanExporter;
use otel_xray_exporter::{
    DropReason, XrayExporter, DAEMON_HEADER, MAX_DAEMON_DOCUMENT_BYTES, MAX_DATAGRAM_BYTES,
};

#[test]
fn spans_through_the_batch_processor_arrive_one_per_datagram() {
    let daemon = FakeDaemon::start("127.0.0.1:0");
    let exporter = daemon_exporter(&daemon);
    let counters = exporter.counters();
    let provider = batch_provider(exporter);
    make_spans(&provider, 60);
    provider.shutdown().unwrap();

    let got = daemon.wait_for(60);
    assert_eq!(got.len(), 60);
    let mut names: Vec<String> = got
        .iter()
        .map(|d| {
            assert!(d.starts_with(DAEMON_HEADER.as_bytes()));
            let doc = parse_like_daemon(d).unwrap_or_else(|e| panic!("daemon would reject: {e}"));
            otel_xray_testkit::assert_segment_valid(&doc);
            doc["name"].as_str().unwrap().to_owned()
        })
        .collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 60, "one datagram per span, no duplicates");
    let s = counters.snapshot();
    assert_eq!((s.sent, s.dropped_total()), (60, 0));
}

#[test]
fn daemon_parse_rules_are_the_daemon_s() {
    assert!(parse_like_daemon(b"{\"format\":\"json\",\"version\":1}\n{}").is_ok());
    assert!(parse_like_daemon(b"{\"format\": \"JSON\", \"version\": 1}\n{}").is_ok());
    assert!(parse_like_daemon(b"{\"format\":\"json\",\"version\":1}\n").is_err());
    assert!(parse_like_daemon(b"{\"format\":\"json\",\"version\":2}\n{}").is_err());
    assert!(parse_like_daemon(b"{\"format\":\"xml\",\"version\":1}\n{}").is_err());
    assert!(parse_like_daemon(b"{}").is_err());
}

#[test]
fn no_datagram_exceeds_64kb_and_oversized_documents_are_counted_not_sent() {
    let daemon = FakeDaemon::start("127.0.0.1:0");
    let exporter = daemon_exporter(&daemon);
    let counters = exporter.counters();
    // Pad so the documents land right at, and just past, the datagram limit.
    let base = document(1, 0).len();
    let fits = MAX_DAEMON_DOCUMENT_BYTES - base;
    let docs = vec![
        document(1, 10),
        document(2, fits + 1),
        document(3, fits),
        document(4, 200_000),
        document(5, 10),
    ];
    assert_eq!(docs[2].len(), MAX_DAEMON_DOCUMENT_BYTES);
    let report = block_on(exporter.send_documents(docs));
    assert_eq!((report.sent, report.dropped), (3, 2));

    let got = daemon.wait_for(3);
    assert_eq!(got.len(), 3);
    for d in &got {
        assert!(
            d.len() <= MAX_DATAGRAM_BYTES && d.len() <= DAEMON_BUFFER,
            "{} bytes",
            d.len()
        );
        parse_like_daemon(d).unwrap();
    }
    assert!(got.iter().any(|d| d.len() == MAX_DATAGRAM_BYTES));
    assert_eq!(counters.snapshot().dropped_for(DropReason::TooLarge), 2);
}

#[test]
fn an_absent_daemon_costs_nothing_but_counted_drops() {
    // A port that was free a moment ago: nothing listens there.
    let port = otel_xray_testkit::free_port();
    let exporter = XrayExporter::builder()
        .with_daemon_address(format!("127.0.0.1:{port}"))
        .build()
        .unwrap();
    let counters = exporter.counters();
    let docs: Vec<String> = (0..200).map(|i| document(i, 50)).collect();
    let started = Instant::now();
    let report = block_on(exporter.send_documents(docs));
    // Generous: a blocking exporter would hang, not merely be slow.
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(report.sent + report.dropped, 200);
    assert!(
        report.dropped > 0,
        "the closed port must show up as drops: {report:?}"
    );
    // A failed send never ends the batch: datagrams after a failure still go.
    assert!(report.sent > 0, "{report:?}");
    let s = counters.snapshot();
    assert_eq!(s.dropped_for(DropReason::SendFailed), report.dropped);
}

#[test]
fn ipv6_loopback_is_reached() {
    let daemon = FakeDaemon::start("[::1]:0");
    let exporter = XrayExporter::builder()
        .with_daemon_address(format!(
            "udp:[::1]:{} tcp:127.0.0.1:2000",
            daemon.addr().port()
        ))
        .build()
        .unwrap();
    let report = block_on(exporter.send_documents(vec![document(7, 0)]));
    assert_eq!(report.sent, 1);
    let got = daemon.wait_for(1);
    assert_eq!(
        parse_like_daemon(&got[0]).unwrap()["id"],
        format!("{:016x}", 7)
    );
}

#[test]
fn hostnames_are_resolved() {
    let daemon = FakeDaemon::start("127.0.0.1:0");
    // "localhost" has both families; the exporter picks IPv4 like the SDKs.
    let exporter = XrayExporter::builder()
        .with_daemon_address(format!("localhost:{}", daemon.addr().port()))
        .build();
    let exporter = match exporter {
        Ok(e) => e,
        Err(e) => panic!("localhost must resolve: {e}"),
    };
    let report = block_on(exporter.send_documents(vec![document(8, 0)]));
    assert_eq!(report.sent, 1);
    assert_eq!(daemon.wait_for(1).len(), 1);
}

#[test]
fn export_after_shutdown_is_refused_and_counted() {
    let daemon = FakeDaemon::start("127.0.0.1:0");
    let exporter = daemon_exporter(&daemon);
    let counters = exporter.counters();
    exporter.shutdown().unwrap();
    let report = block_on(exporter.send_documents(vec![document(1, 0), document(2, 0)]));
    assert_eq!(report.dropped, 2);
    assert_eq!(
        counters.snapshot().dropped_for(DropReason::AfterShutdown),
        2
    );
    assert!(daemon.settle().is_empty());
}

#[test]
fn bad_addresses_fail_the_build() {
    for bad in ["nohost", "[::1]", "127.0.0.1:0", "udp:127.0.0.1:1"] {
        assert!(
            XrayExporter::builder()
                .with_daemon_address(bad)
                .build()
                .is_err(),
            "{bad}"
        );
    }
}

#[test]
fn huge_spans_are_trimmed_to_fit_one_datagram() {
    let daemon = FakeDaemon::start("127.0.0.1:0");
    let exporter = daemon_exporter(&daemon);
    let counters = exporter.counters();
    let provider = batch_provider(exporter);
    let tracer = opentelemetry::trace::TracerProvider::tracer(&provider, "huge");
    for n in 0..3 {
        let attrs: Vec<opentelemetry::KeyValue> = (0..300)
            .map(|i| opentelemetry::KeyValue::new(format!("blob.{i}"), "x".repeat(1000 + n)))
            .collect();
        let mut span = opentelemetry::trace::Tracer::span_builder(&tracer, format!("huge {n}"))
            .with_attributes(attrs)
            .start(&tracer);
        opentelemetry::trace::Span::end(&mut span);
    }
    provider.shutdown().unwrap();
    let got = daemon.wait_for(3);
    assert_eq!(got.len(), 3);
    for d in &got {
        assert!(d.len() <= MAX_DATAGRAM_BYTES, "{} bytes", d.len());
        let doc = parse_like_daemon(d).unwrap();
        otel_xray_testkit::assert_segment_valid(&doc);
    }
    let s = counters.snapshot();
    assert_eq!((s.sent, s.dropped_total()), (3, 0), "{s:?}");
    assert_eq!(s.trimmed, 3, "each span was trimmed to fit: {s:?}");
}
