//! OTLP over UDP as ADOT sends it on Lambda: the exporter crate's
//! `XrayLambdaOtlpExporter` (header + `T1S`/`T1U` + base64 protobuf) → a UDP
//! socket on loopback → the daemon's frame decoding → segment documents.

mod otlp_support;

use std::net::UdpSocket;
use std::time::Duration;

use opentelemetry::trace::TraceFlags;
use opentelemetry_sdk::trace::SpanExporter as _;
use otel_xray_daemon::{
    classify_body, split_datagram, Body, Intake, OtlpIngest, RejectReason, Source, UdpFrameError,
};
use otel_xray_exporter::otlp::XrayLambdaOtlpExporter;
use otel_xray_exporter::{DaemonAddress, Translator, TranslatorConfig};
use otlp_support::{resource, spans};

fn ingest() -> OtlpIngest {
    OtlpIngest::new(
        Translator::new(TranslatorConfig::default()),
        Intake::with_capacity(8 * 1024 * 1024),
    )
}

/// Feeds one datagram as the daemon's UDP receiver does.
fn take(ingest: &OtlpIngest, datagram: &[u8]) -> Result<usize, UdpFrameError> {
    let body = split_datagram(datagram).expect("daemon header");
    let Body::Otlp { payload, .. } = classify_body(body) else {
        panic!("not an OTLP frame: {:?}", String::from_utf8_lossy(body));
    };
    ingest
        .ingest_udp_payload(payload)
        .map(|spans| spans.received)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_frames_become_segments_with_their_annotations() {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let address = DaemonAddress::parse(&socket.local_addr().unwrap().to_string()).unwrap();
    let mut exporter = XrayLambdaOtlpExporter::new(&address).unwrap();
    exporter.set_resource(&resource());
    let mut batch = spans();
    // One unsampled span: it travels in a T1U frame of its own.
    let unsampled = &mut batch[2].span_context;
    *unsampled = opentelemetry::trace::SpanContext::new(
        unsampled.trace_id(),
        unsampled.span_id(),
        TraceFlags::NOT_SAMPLED,
        false,
        unsampled.trace_state().clone(),
    );
    exporter.export(batch).await.unwrap();

    let ingest = ingest();
    let mut prefixes = Vec::new();
    let mut received = 0;
    let mut datagram = vec![0; 65_536];
    while received < 3 {
        let n = socket.recv(&mut datagram).unwrap();
        let body = split_datagram(&datagram[..n]).unwrap();
        prefixes.push(String::from_utf8_lossy(&body[..3]).into_owned());
        received += take(&ingest, &datagram[..n]).unwrap();
    }
    prefixes.sort();
    assert_eq!(prefixes, ["T1S", "T1U"]);

    let buffer = ingest.intake().buffer();
    let batch = buffer.next_batch(10).await;
    assert_eq!(batch.documents.len(), 3);
    // The buffer's bound holds for the memory really held, not only for the bytes written:
    // a shared text holds its bytes and two counts.
    let held: usize = (batch.documents.iter())
        .map(|d| d.len() + 2 * std::mem::size_of::<usize>())
        .sum();
    assert!(
        held <= batch.charge(),
        "documents hold {held} bytes, charged {}",
        batch.charge()
    );
    let docs: Vec<serde_json::Value> = batch
        .documents
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    for doc in &docs {
        otel_xray_testkit::assert_segment_valid(doc);
    }
    let server = docs.iter().find(|d| d["id"] == "0000000000001001").unwrap();
    // The Lambda exporter rewrote `aws.xray.annotation.tenant` into the
    // `aws.xray.annotations` list; the annotation survives either way.
    assert_eq!(server["annotations"]["tenant"], "acme");
    assert_eq!(server["http"]["request"]["method"], "GET");
    let counters = ingest.intake().counters().snapshot();
    assert_eq!(counters.received.get(&Source::OtlpUdp), Some(&3));
    assert_eq!(
        ingest.counters().snapshot().requests_for(Source::OtlpUdp),
        2
    );
}

#[test]
fn malformed_frames_are_counted_not_fatal() {
    let ingest = ingest();
    let header = otel_xray_exporter::DAEMON_HEADER;
    let frames: [&[u8]; 3] = [b"T1S!!not base64!!", b"T1U/////", b"T1AAEC"];
    for frame in frames {
        let datagram = [header.as_bytes(), frame].concat();
        let error = take(&ingest, &datagram).unwrap_err();
        assert!(
            matches!(error, UdpFrameError::Base64(_) | UdpFrameError::Protobuf(_)),
            "{error:?}"
        );
    }
    let counters = ingest.intake().counters().snapshot();
    assert_eq!(counters.rejected_for(RejectReason::OtlpDecode), 3);
    assert_eq!(
        ingest.counters().snapshot().malformed_for(Source::OtlpUdp),
        3
    );
    // An empty request is a valid frame with no spans.
    let empty = [header.as_bytes(), b"T1S"].concat();
    assert_eq!(take(&ingest, &empty), Ok(0));
}
