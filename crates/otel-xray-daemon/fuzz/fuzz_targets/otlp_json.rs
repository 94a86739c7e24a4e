//! Arbitrary text as an OTLP/JSON request body (the HTTP receiver's `application/json`):
//! the reader never panics, and every loss it counts (an unreadable request, a rejected span)
//! comes with its reason.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otel_xray_daemon::convert_otlp_json;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let conversion = convert_otlp_json(text);
    // Counted losses always come with their reasons (one request may hold JSON lines that
    // read and others that do not, so readable spans and unreadable lines can coexist).
    if conversion.unreadable_requests > 0 || conversion.rejected_spans > 0 {
        assert!(!conversion.errors.is_empty(), "a loss without a reason: {conversion:?}");
    }
});
