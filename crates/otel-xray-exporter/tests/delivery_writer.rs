//! The writer transport and the exporter's own bookkeeping.

mod delivery_support;

use std::io::{self, Write};

use delivery_support::{
    batch_provider, block_on, document, make_spans, span_data, SharedWriter as Shared,
};
use opentelemetry_sdk::trace::SpanExporter;
use otel_xray_exporter::{DropReason, XrayExporter};

/// Fails every other write.
struct Flaky(usize, Shared);

impl Write for Flaky {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += 1;
        if self.0.is_multiple_of(2) {
            Err(io::Error::other("disk full"))
        } else {
            self.1.write(buf)
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn every_span_becomes_one_valid_line() {
    let out = Shared::default();
    let exporter = XrayExporter::builder()
        .with_writer(out.clone())
        .build()
        .unwrap();
    let counters = exporter.counters();
    let provider = batch_provider(exporter);
    make_spans(&provider, 120);
    provider.force_flush().unwrap();
    provider.shutdown().unwrap();

    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    assert!(text.ends_with('\n'));
    let docs: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), 120);
    for d in &docs {
        otel_xray_testkit::assert_segment_valid(d);
    }
    let root = docs.iter().find(|d| d.get("parent_id").is_none()).unwrap();
    let children = docs
        .iter()
        .filter(|d| d.get("parent_id") == root.get("id"))
        .count();
    assert_eq!(children, 119, "parent links survive");
    assert_eq!(counters.snapshot().sent, 120);
}

#[test]
fn a_failing_writer_loses_only_the_failed_lines_and_counts_them() {
    let out = Shared::default();
    let exporter = XrayExporter::builder()
        .with_writer(Flaky(0, out.clone()))
        .build()
        .unwrap();
    let docs: Vec<String> = (0..10).map(|i| document(i, 0)).collect();
    let report = block_on(exporter.send_documents(docs));
    assert_eq!((report.sent, report.dropped), (5, 5));
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    assert_eq!(text.lines().count(), 5);
    let s = exporter.counters().snapshot();
    assert_eq!(s.dropped_for(DropReason::WriteFailed), 5);
}

#[test]
fn the_export_result_reports_losses() {
    let exporter = XrayExporter::builder()
        .with_writer(Flaky(0, Shared::default()))
        .build()
        .unwrap();
    let one = vec![span_data("a", 1)];
    assert!(block_on(exporter.export(one)).is_ok());
    let err = block_on(exporter.export(vec![span_data("b", 2)])).unwrap_err();
    assert!(err.to_string().contains("1 dropped"), "{err}");
    assert!(block_on(exporter.export(Vec::new())).is_ok());
}

#[cfg(feature = "daemon")]
#[test]
fn two_transports_are_a_build_error() {
    let err = XrayExporter::builder()
        .with_writer(io::sink())
        .with_daemon_address("127.0.0.1:2000")
        .build()
        .unwrap_err();
    assert!(matches!(
        err,
        otel_xray_exporter::BuildError::ConflictingTransports {
            first: "writer",
            second: "daemon"
        }
    ));
    // Re-choosing the same kind just replaces the setting.
    assert!(XrayExporter::builder()
        .with_writer(io::sink())
        .with_stdout()
        .build()
        .is_ok());
}

#[test]
fn shutdown_twice_is_refused_and_export_after_it_counts() {
    let exporter = XrayExporter::builder()
        .with_writer(io::sink())
        .build()
        .unwrap();
    exporter.shutdown().unwrap();
    assert!(exporter.shutdown().is_err());
    let r = block_on(exporter.send_documents(vec![document(1, 0)]));
    assert_eq!(r.dropped, 1);
    assert_eq!(
        exporter
            .counters()
            .snapshot()
            .dropped_for(DropReason::AfterShutdown),
        1
    );
}
