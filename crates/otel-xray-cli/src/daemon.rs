//! The X-Ray daemon's UDP framing: the rules live in `otel-xray-daemon` (the daemon replacement
//! reads datagrams with them); `validate` also needs to spot a header line among documents.

use serde_json::Value as Json;

pub use otel_xray_daemon::{is_valid_header, split_datagram, FrameError, DAEMON_BUFFER_BYTES};

/// Whether a parsed JSON value looks like a daemon header rather than a segment: an object
/// holding `format` and/or `version` and nothing else.
pub fn looks_like_header(value: &Json) -> bool {
    value
        .as_object()
        .is_some_and(|o| !o.is_empty() && o.keys().all(|k| k == "format" || k == "version"))
}
