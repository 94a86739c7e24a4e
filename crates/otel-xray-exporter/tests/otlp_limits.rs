//! XrayOtlpExporter keeps every request within the X-Ray OTLP endpoint's
//! limits, and accounts for every span, checked on what a loopback server
//! received.
#![cfg(feature = "otlp")]

mod otlp_support;

use std::io::Read;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::SpanExporter;
use opentelemetry_sdk::Resource;
use otel_xray_exporter::otlp::{
    Compression, XrayOtlpExporter, MAX_REQUEST_BYTES, MAX_REQUEST_SPREAD, MAX_RESOURCE_SCOPE_BYTES,
    MAX_SPANS_PER_REQUEST, MAX_SPAN_BYTES,
};
use otel_xray_exporter::DropReason;
use otlp_support::{span, Reply, Sink, REGION};
use prost::Message;

#[test]
fn a_large_mixed_batch_is_split_within_every_limit_and_fully_accounted() {
    let sink = Sink::start(|_| Reply::Accept);
    let mut exporter = XrayOtlpExporter::builder()
        .with_endpoint(sink.url())
        .with_sdk_config(
            SdkConfig::builder()
                .region(Region::new(REGION))
                .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                    "AKID", "secret", None, None, "test",
                )))
                .behavior_version(BehaviorVersion::latest())
                .build(),
        )
        .with_compression(Compression::Gzip)
        .with_export_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    // 40 KB of resource attributes: 30 KB + 10 KB values.
    exporter.set_resource(
        &Resource::builder_empty()
            .with_attributes([
                KeyValue::new("service.name", "bulk"),
                KeyValue::new("big.one", "r".repeat(30_000)),
                KeyValue::new("big.two", "s".repeat(10_000)),
            ])
            .build(),
    );
    let counters = exporter.counters();

    let day = Duration::from_secs(24 * 3600);
    let mut batch = Vec::new();
    // 25,000 spans of ~400 bytes: more than 10,000 spans and 5 MB.
    for i in 0..25_000u64 {
        batch.push(span(
            u128::from(i / 100) + 1,
            i,
            Duration::from_secs(i % 3600),
            vec![KeyValue::new("padding", "p".repeat(300))],
        ));
    }
    // One 500 KB span: trimmed, not dropped.
    batch.push(span(
        9_000,
        100_000,
        Duration::from_secs(5),
        vec![
            KeyValue::new("huge", "h".repeat(500_000)),
            KeyValue::new("keep", "small"),
        ],
    ));
    // Stale and future spans: dropped.
    for i in 0..7u64 {
        batch.push(span(9_001, 200_000 + i, 20 * day, vec![]));
    }
    for i in 0..5u64 {
        let mut s = span(9_002, 300_000 + i, Duration::ZERO, vec![]);
        s.start_time += Duration::from_secs(3 * 3600);
        s.end_time += Duration::from_secs(3 * 3600);
        batch.push(s);
    }
    // Old but inside the window, 12 days from the rest: forces its own request.
    for i in 0..3u64 {
        batch.push(span(9_003, 400_000 + i, 12 * day, vec![]));
    }
    let total = batch.len() as u64;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(exporter.export(batch)).unwrap();

    let received = sink.received();
    assert!(received.len() >= 3, "{} requests", received.len());
    let mut delivered = 0u64;
    let mut huge_seen = false;
    for r in &received {
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(&r.body[..])
            .read_to_end(&mut raw)
            .unwrap();
        assert!(raw.len() <= MAX_REQUEST_BYTES, "{} bytes", raw.len());
        let request = r.decode();
        let mut spans_here = 0;
        let (mut earliest, mut latest) = (u64::MAX, 0);
        for rs in &request.resource_spans {
            let resource_len = rs.resource.as_ref().map_or(0, Message::encoded_len);
            for ss in &rs.scope_spans {
                let scope_len = ss.scope.as_ref().map_or(0, Message::encoded_len);
                assert!(resource_len + scope_len <= MAX_RESOURCE_SCOPE_BYTES);
                for s in &ss.spans {
                    assert!(
                        s.encoded_len() <= MAX_SPAN_BYTES,
                        "span {} too large",
                        s.name
                    );
                    earliest = earliest.min(s.start_time_unix_nano);
                    latest = latest.max(s.end_time_unix_nano);
                    if s.name == "span-100000" {
                        huge_seen = true;
                        assert!(s.attributes.iter().any(|kv| kv.key == "keep"));
                    }
                }
                spans_here += ss.spans.len();
            }
        }
        assert!(spans_here <= MAX_SPANS_PER_REQUEST);
        assert!(latest - earliest <= MAX_REQUEST_SPREAD.as_nanos() as u64);
        delivered += spans_here as u64;
    }
    assert!(huge_seen, "the 500 KB span was dropped instead of trimmed");

    let stats = counters.snapshot();
    assert_eq!(stats.sent, delivered);
    assert_eq!(stats.dropped_for(DropReason::OutsideTimeWindow), 12);
    assert_eq!(
        stats.sent + stats.rejected_total() + stats.dropped_total(),
        total
    );
    // Every span carried the trimmed resource.
    assert_eq!(stats.trimmed, stats.sent);
}
