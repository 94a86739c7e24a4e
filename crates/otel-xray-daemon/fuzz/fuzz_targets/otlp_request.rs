//! Arbitrary bytes as the protobuf of an OTLP `ExportTraceServiceRequest`, delivered the way
//! Lambda sends it (base64 in a `T1S` frame): most inputs fail to decode and are counted as
//! malformed; those that decode reach the translator with arbitrary ids, times, names and
//! attribute values. Nothing panics, every span is counted once, every document is JSON.
#![no_main]

mod common;

use base64::Engine;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let payload = base64::engine::general_purpose::STANDARD.encode(data);
    let ingest = common::ingest();
    if let Ok(spans) = ingest.ingest_udp_payload(payload.as_bytes()) {
        assert!(spans.rejected + spans.spilled <= spans.received);
    }
    common::check(&ingest);
});
