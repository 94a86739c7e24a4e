//! Arbitrary bytes as an encoded OTLP `ExportTraceServiceRequest`: the daemon's reader
//! (`read_otlp_request`, spans straight from the bytes) and prost's decoding followed by
//! `convert_otlp_request` refuse the same inputs, and read the same spans, notes and errors
//! from the others.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::SpanData;
use otel_xray_daemon::otlp_proto::collector::trace::v1::ExportTraceServiceRequest;
use otel_xray_daemon::{convert_otlp_request, read_otlp_request, Conversion};
use prost::Message;

/// A conversion as text, each resource's attributes sorted (a resource keeps them in a
/// hash map).
fn canonical(conversion: &Conversion) -> String {
    let groups: Vec<String> = conversion
        .groups
        .iter()
        .map(|g| {
            let mut attributes: Vec<String> =
                g.resource.iter().map(|(k, v)| format!("{k:?}={v:?}")).collect();
            attributes.sort();
            // A key is static or owned depending on the reader: compared as text.
            let spans: Vec<SpanData> = g
                .spans
                .iter()
                .cloned()
                .map(|mut span| {
                    span.attributes = (span.attributes.into_iter())
                        .map(|kv| KeyValue::new(kv.key.as_str().to_owned(), kv.value))
                        .collect();
                    span
                })
                .collect();
            format!("{attributes:?} {:?} {spans:?}", g.resource.schema_url())
        })
        .collect();
    format!(
        "{groups:?} {:?} {:?} {}",
        conversion.errors, conversion.notes, conversion.rejected_spans
    )
}

fuzz_target!(|data: &[u8]| {
    let read = read_otlp_request(data).map(|c| canonical(&c));
    let decoded = ExportTraceServiceRequest::decode(data).map(|r| canonical(&convert_otlp_request(r)));
    match (read, decoded) {
        (Ok(read), Ok(decoded)) => assert_eq!(read, decoded),
        (Err(_), Err(_)) => {}
        (read, decoded) => panic!("the reader and prost disagree: {read:?} / {decoded:?}"),
    }
});
