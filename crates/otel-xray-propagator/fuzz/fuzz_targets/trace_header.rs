//! Arbitrary bytes as an X-Amzn-Trace-Id value: parsing and extract never panic,
//! and whatever is accepted formats to a canonical header that parses back to the
//! same value.
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::Context;
use otel_xray_propagator::{TraceHeader, XrayPropagator};

fuzz_target!(|data: &[u8]| {
    if let Ok((header, _report)) = TraceHeader::parse_with_report(data) {
        let text = header.encode();
        assert!(text.as_str().len() <= 256);
        assert_eq!(TraceHeader::parse(text.as_str()), Ok(header));
    }
    if let Ok(value) = std::str::from_utf8(data) {
        let propagator = XrayPropagator::default();
        let carrier = HashMap::from([("x-amzn-trace-id".to_string(), value.to_string())]);
        let cx = propagator.extract_with_context(&Context::new(), &carrier);
        let mut out = HashMap::new();
        propagator.inject_context(&cx, &mut out);
        if let Some(injected) = out.get("x-amzn-trace-id") {
            let reparsed = TraceHeader::parse(injected).expect("inject writes a valid header");
            assert_eq!(&reparsed.to_string(), injected);
        }
    }
});
