//! PutTraceSegments against moto on loopback, read back with BatchGetTraces
//! and GetTraceSummaries.
#![cfg(feature = "api")]

mod delivery_support;

use delivery_support::moto::{
    client, moto_exporter, read_back, stored_documents, summarised_traces, trace_ids,
};
use delivery_support::{batch_provider, document, make_spans};
use opentelemetry_sdk::trace::SpanExporter;
use otel_xray_exporter::{DropReason, XrayExporter};
use otel_xray_testkit::MotoServer;

#[test]
fn documents_arrive_byte_for_byte_in_calls_of_fifty() {
    let moto = MotoServer::start();
    let exporter = moto_exporter(&moto);
    let counters = exporter.counters();
    let docs: Vec<String> = (0..137).map(|i| document(i, 100)).collect();
    let rt = tokio::runtime::Runtime::new().unwrap();
    // Awaited from a runtime that is not the exporter's: both work.
    let report = rt.block_on(exporter.send_documents(docs.clone()));
    assert_eq!((report.sent, report.rejected, report.dropped), (137, 0, 0));

    let reader = client(&moto.endpoint_url());
    let stored = rt.block_on(stored_documents(&reader, &trace_ids(&docs)));
    assert_eq!(stored.len(), 137);
    for d in &docs {
        let v: serde_json::Value = serde_json::from_str(d).unwrap();
        assert_eq!(stored[v["id"].as_str().unwrap()], v);
    }
    let listed = rt.block_on(summarised_traces(&reader));
    for t in trace_ids(&docs) {
        assert!(listed.contains(&t), "{t} missing from GetTraceSummaries");
    }
    let s = counters.snapshot();
    assert_eq!((s.sent, s.retried, s.dropped_total()), (137, 0, 0));
}

/// The request body is written by the exporter, not the SDK (`transport/api/body.rs`): every
/// character a JSON string must escape, and some it need not, survive the trip.
#[test]
fn documents_with_every_kind_of_escape_arrive_intact() {
    let moto = MotoServer::start();
    let exporter = moto_exporter(&moto);
    let texts = [
        r#"quote " backslash \ slash / "#,
        "controls \u{0}\u{1}\u{8}\u{c}\u{1f} tab\t newline\n return\r",
        "non-ASCII é ß 漢字 😀, line separator \u{2028}, DEL \u{7f}",
        r#"a document inside: {"name":"x","id":"\"y\""}"#,
    ];
    let docs: Vec<String> = (0..texts.len() as u64)
        .map(|i| {
            let mut v: serde_json::Value = serde_json::from_str(&document(i, 0)).unwrap();
            v["metadata"]["default"]["text"] = texts[i as usize].into();
            v["annotations"] = serde_json::json!({ "text": texts[i as usize] });
            v.to_string()
        })
        .collect();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let report = rt.block_on(exporter.send_documents(docs.clone()));
    assert_eq!((report.sent, report.rejected, report.dropped), (4, 0, 0));

    let reader = client(&moto.endpoint_url());
    let stored = rt.block_on(stored_documents(&reader, &trace_ids(&docs)));
    assert_eq!(stored.len(), docs.len());
    for d in &docs {
        let v: serde_json::Value = serde_json::from_str(d).unwrap();
        assert_eq!(stored[v["id"].as_str().unwrap()], v);
    }
}

#[test]
fn a_document_moto_rejects_is_counted_under_its_code() {
    let moto = MotoServer::start();
    let exporter = moto_exporter(&moto);
    let mut bad: serde_json::Value = serde_json::from_str(&document(99, 0)).unwrap();
    bad.as_object_mut().unwrap().remove("end_time");
    let docs = vec![document(1, 0), bad.to_string(), document(2, 0)];
    let rt = tokio::runtime::Runtime::new().unwrap();
    let report = rt.block_on(exporter.send_documents(docs.clone()));
    assert_eq!((report.sent, report.rejected, report.dropped), (2, 1, 0));
    let s = exporter.counters().snapshot();
    assert_eq!(s.rejected.get("MissingParam"), Some(&1), "{s:?}");
    assert_eq!(s.retried, 0, "a document error is not retried");
    let stored = rt.block_on(stored_documents(
        &client(&moto.endpoint_url()),
        &trace_ids(&docs),
    ));
    assert_eq!(stored.len(), 2);
}

#[test]
fn spans_through_the_batch_processor_reach_moto_with_their_parent_links() {
    let moto = MotoServer::start();
    let exporter = moto_exporter(&moto);
    let counters = exporter.counters();
    // The default batch processor runs export on its own thread, outside
    // any tokio runtime.
    let provider = batch_provider(exporter);
    make_spans(&provider, 75);
    provider.shutdown().unwrap();
    let s = counters.snapshot();
    assert_eq!(
        (s.sent, s.dropped_total(), s.rejected_total()),
        (75, 0, 0),
        "{s:?}"
    );

    let (listed, stored) = read_back(&moto);
    assert_eq!(listed.len(), 1, "one trace: {listed:?}");
    assert_eq!(stored.len(), 75);
    let root = stored
        .values()
        .find(|d| d.get("parent_id").is_none())
        .unwrap();
    let root_id = root["id"].as_str().unwrap();
    for d in stored.values() {
        otel_xray_testkit::assert_segment_valid(d);
        if d["id"] != root_id {
            assert_eq!(d["parent_id"], root_id);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tokio_app_can_lend_its_runtime() {
    let moto = MotoServer::start();
    let exporter = XrayExporter::builder()
        .with_xray_client(client(&moto.endpoint_url()))
        .with_tokio_handle(tokio::runtime::Handle::current())
        .build()
        .unwrap();
    let spans = (0..3)
        .map(|i| delivery_support::span_data("lent", i))
        .collect();
    exporter.export(spans).await.unwrap();
    assert_eq!(exporter.counters().snapshot().sent, 3);
    exporter.shutdown().unwrap();
    let report = exporter.send_documents(vec![document(5, 0)]).await;
    assert_eq!(report.dropped, 1);
    assert_eq!(
        exporter
            .counters()
            .snapshot()
            .dropped_for(DropReason::AfterShutdown),
        1
    );
}

#[tokio::test(flavor = "current_thread")]
async fn the_private_runtime_works_and_drops_inside_an_async_context() {
    let moto = MotoServer::start();
    let exporter = moto_exporter(&moto);
    // Awaited on a current-thread runtime: the calls run on the exporter's
    // own runtime thread, so this does not deadlock.
    let report = exporter.send_documents(vec![document(1, 0)]).await;
    assert_eq!(report.sent, 1);
    // Dropping here must not tear a runtime down inside this async context.
    drop(exporter);
}
