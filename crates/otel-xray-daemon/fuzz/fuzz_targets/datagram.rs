//! Arbitrary bytes as a datagram on the daemon's UDP port: the daemon's framing checks,
//! then an OTLP-over-UDP payload through the decoder and the translator. Nothing panics,
//! and every unit is counted once.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use otel_xray_daemon::{classify_body, split_datagram, Body, DAEMON_BUFFER_BYTES};

fuzz_target!(|data: &[u8]| {
    let Ok(body) = split_datagram(data) else {
        return;
    };
    assert!(data.len() <= DAEMON_BUFFER_BYTES);
    assert!(!body.is_empty());
    if let Body::Otlp { payload, .. } = classify_body(body) {
        let ingest = common::ingest();
        let _ = ingest.ingest_udp_payload(payload);
        common::check(&ingest);
    }
});
