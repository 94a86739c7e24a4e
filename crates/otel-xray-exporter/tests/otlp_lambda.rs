//! XrayLambdaOtlpExporter on loopback UDP: frames decoded back into the spans
//! that were exported.
#![cfg(feature = "otlp")]

mod otlp_support;

use std::collections::BTreeSet;
use std::net::UdpSocket;
use std::time::Duration;

use base64::Engine;
use opentelemetry::trace::{SpanContext, TraceFlags, TraceState};
use opentelemetry::KeyValue;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_sdk::trace::SpanExporter;
use otel_xray_exporter::otlp::{XrayLambdaOtlpExporter, SAMPLED_PREFIX, UNSAMPLED_PREFIX};
use otel_xray_exporter::{DaemonAddress, DAEMON_HEADER};
use otlp_support::span;
use prost::Message;

#[test]
fn frames_decode_back_into_the_exported_spans() {
    let daemon = UdpSocket::bind("127.0.0.1:0").unwrap();
    // The frames go out back to back, each up to 64 KB: at the kernel's default
    // queue (208 KiB) a busy machine drops one before the thread below reads it
    // (the counters still say sent). The real daemon asks for 4 MiB too.
    socket2::SockRef::from(&daemon)
        .set_recv_buffer_size(4 << 20)
        .expect("set the daemon's receive queue");
    daemon
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let address = DaemonAddress::parse(&daemon.local_addr().unwrap().to_string()).unwrap();
    let exporter = XrayLambdaOtlpExporter::new(&address).unwrap();
    let counters = exporter.counters();

    // Drained while the exporter sends.
    let receiver = std::thread::spawn(move || {
        let mut frames = Vec::new();
        let mut buf = vec![0u8; 70_000];
        while let Ok(n) = daemon.recv(&mut buf) {
            frames.push(buf[..n].to_vec());
        }
        frames
    });

    // 240 spans of ~600 bytes each: more than one datagram holds.
    let mut batch = Vec::new();
    let mut sampled = BTreeSet::new();
    let mut unsampled = BTreeSet::new();
    for i in 0..240u64 {
        let mut s = span(
            21,
            i,
            Duration::from_secs(1),
            vec![
                KeyValue::new("aws.xray.annotation.order", i as i64),
                KeyValue::new("padding", "x".repeat(600)),
            ],
        );
        if i % 3 == 0 {
            let c = &s.span_context;
            s.span_context = SpanContext::new(
                c.trace_id(),
                c.span_id(),
                TraceFlags::default(),
                false,
                TraceState::default(),
            );
            unsampled.insert(s.name.to_string());
        } else {
            sampled.insert(s.name.to_string());
        }
        batch.push(s);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(exporter.export(batch)).unwrap();

    let mut got_sampled = BTreeSet::new();
    let mut got_unsampled = BTreeSet::new();
    let frames = receiver.join().unwrap();
    for frame in &frames {
        let frame = std::str::from_utf8(frame).unwrap();
        let rest = frame.strip_prefix(DAEMON_HEADER).expect("daemon header");
        let (prefix, payload) = rest.split_at(3);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(payload)
            .unwrap();
        let request = ExportTraceServiceRequest::decode(&bytes[..]).unwrap();
        for s in request
            .resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .flat_map(|ss| &ss.spans)
        {
            assert!(s.attributes.iter().any(|kv| kv.key == "order"));
            assert!(s
                .attributes
                .iter()
                .any(|kv| kv.key == "aws.xray.annotations"));
            let into = match prefix {
                p if p == SAMPLED_PREFIX => &mut got_sampled,
                p if p == UNSAMPLED_PREFIX => &mut got_unsampled,
                other => panic!("unknown prefix {other}"),
            };
            assert!(into.insert(s.name.clone()), "{} sent twice", s.name);
        }
    }
    assert!(frames.len() >= 3, "{} datagrams for ~150 KB", frames.len());
    assert_eq!(counters.snapshot().sent, 240);
    assert_eq!(got_sampled, sampled);
    assert_eq!(got_unsampled, unsampled);
}
