//! Subsegment nesting over the real transports: UDP to a loopback daemon
//! stand-in, and PutTraceSegments to moto read back with BatchGetTraces. The
//! same spans make the same tree with and without nesting, in fewer documents.
#![cfg(any(feature = "daemon", feature = "api"))]

mod delivery_support;
mod nesting_support;

use std::collections::BTreeMap;

use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use otel_xray_exporter::XrayExporter;

use nesting_support::{request_spans, spans_in, tree, tree_by_name, Found};

fn export(exporter: &XrayExporter, batch: Vec<SpanData>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(exporter.export(batch)).unwrap();
}

/// The tree `batch` describes: each span's parent id by span id.
fn expected_tree(batch: &[SpanData]) -> BTreeMap<String, Option<String>> {
    batch
        .iter()
        .map(|s| {
            let parent = (s.parent_span_id != opentelemetry::trace::SpanId::INVALID)
                .then(|| format!("{}", s.parent_span_id));
            (format!("{}", s.span_context.span_id()), parent)
        })
        .collect()
}

#[cfg(feature = "daemon")]
#[test]
fn udp_datagrams_carry_the_same_tree_in_fewer_datagrams() {
    use delivery_support::{parse_like_daemon, FakeDaemon, DAEMON_BUFFER};

    const REQUESTS: u64 = 40;
    // Request 0's call span alone is over one datagram: it goes out on its
    // own, trimmed by the size policy; every other request is one datagram.
    let mut batch = request_spans(1, 0..REQUESTS, 10);
    batch.extend(request_spans(1, REQUESTS..REQUESTS + 1, 70_000));
    let spans = batch.len();

    let mut trees = Vec::new();
    let mut datagram_counts = Vec::new();
    for nesting in [false, true] {
        let daemon = FakeDaemon::start("127.0.0.1:0");
        let exporter = XrayExporter::builder()
            .with_daemon_address(daemon.addr().to_string())
            .with_subsegment_nesting(nesting)
            .build()
            .unwrap();
        let counters = exporter.counters();
        export(&exporter, batch.clone());
        let s = counters.snapshot();
        assert_eq!(
            (s.sent, s.dropped_total()),
            (spans as u64, 0),
            "nesting {nesting}: {s:?}"
        );
        let expected_datagrams = if nesting {
            REQUESTS as usize + 2
        } else {
            spans
        };
        let datagrams = daemon.wait_for(expected_datagrams);
        let docs: Vec<serde_json::Value> = datagrams
            .iter()
            .map(|d| {
                assert!(d.len() <= DAEMON_BUFFER, "{} bytes", d.len());
                let doc = parse_like_daemon(d).unwrap();
                otel_xray_testkit::assert_segment_valid(&doc);
                doc
            })
            .collect();
        let found = spans_in(&docs);
        assert_eq!(found.len(), spans, "nesting {nesting}");
        trees.push(tree(&found));
        datagram_counts.push(docs.len());
        if nesting {
            let nested = found.values().filter(|f| f.depth > 0).count();
            assert_eq!(nested, spans - (REQUESTS as usize + 2));
        }
    }
    assert_eq!(trees[0], expected_tree(&batch));
    assert_eq!(trees[1], trees[0], "the same tree with and without nesting");
    assert_eq!(datagram_counts, vec![spans, REQUESTS as usize + 2]);
}

#[cfg(feature = "api")]
#[test]
fn batch_get_traces_returns_the_same_tree_with_and_without_nesting() {
    use delivery_support::moto::{client, read_back};
    use otel_xray_testkit::MotoServer;

    const REQUESTS: u64 = 30;
    let moto = MotoServer::start();
    // Families 1 (flat) and 2 (nested): the same shapes in different traces.
    let mut sent_docs = Vec::new();
    for (seed, nesting) in [(1, false), (2, true)] {
        let exporter = XrayExporter::builder()
            .with_xray_client(client(&moto.endpoint_url()))
            .with_subsegment_nesting(nesting)
            .build()
            .unwrap();
        let counters = exporter.counters();
        let mut batch = request_spans(seed, 0..REQUESTS, 10);
        batch.extend(request_spans(seed, REQUESTS..REQUESTS + 1, 70_000));
        let spans = batch.len() as u64;
        export(&exporter, batch);
        let s = counters.snapshot();
        assert_eq!(
            (s.sent, s.rejected_total(), s.dropped_total()),
            (spans, 0, 0),
            "nesting {nesting}: {s:?}"
        );
        sent_docs.push(spans);
    }

    let (traces, stored) = read_back(&moto);
    assert_eq!(traces.len(), 2 * (REQUESTS as usize + 1), "{traces:?}");
    // Top-level documents as moto stores them, split by family.
    let mut families: [Vec<serde_json::Value>; 2] = Default::default();
    for doc in stored.values() {
        otel_xray_testkit::assert_segment_valid(doc);
        let trace = doc["trace_id"].as_str().unwrap();
        // 1-<8 hex secs>-<8 hex seed><16 hex request>
        let seed = u32::from_str_radix(&trace[11..19], 16).unwrap();
        families[usize::from(seed == 2)].push(doc.clone());
    }
    let flat = spans_in(&families[0]);
    let nested = spans_in(&families[1]);
    assert_eq!(flat.len() as u64, sent_docs[0]);
    assert_eq!(nested.len() as u64, sent_docs[1]);
    assert!(flat.values().all(|f: &Found| f.depth == 0));
    assert_eq!(tree_by_name(&nested), tree_by_name(&flat));
    // One document per request, plus the oversized call span on its own.
    assert_eq!(families[0].len(), flat.len());
    assert_eq!(families[1].len(), REQUESTS as usize + 2);
}
