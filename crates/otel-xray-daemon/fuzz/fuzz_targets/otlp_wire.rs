//! Arbitrary bytes as an encoded OTLP `ExportTraceServiceRequest`: the daemon's reader
//! (`read_otlp_request`, spans straight from the bytes) and prost's decoding followed by
//! `convert_otlp_request` refuse the same inputs, and read the same spans, notes and errors
//! from the others.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otel_xray_daemon::otlp_proto::collector::trace::v1::ExportTraceServiceRequest;
use otel_xray_daemon::{convert_otlp_request, read_otlp_request, Conversion};
use prost::Message;

#[path = "../../src/otlp/convert/canonical.rs"]
mod canonical;
use canonical::canonical;

fuzz_target!(|data: &[u8]| {
    let read = read_otlp_request(data).map(|c| canonical(&c));
    let decoded = ExportTraceServiceRequest::decode(data).map(|r| canonical(&convert_otlp_request(r)));
    match (read, decoded) {
        (Ok(read), Ok(decoded)) => assert_eq!(read, decoded),
        (Err(_), Err(_)) => {}
        (read, decoded) => panic!("the reader and prost disagree: {read:?} / {decoded:?}"),
    }
});
