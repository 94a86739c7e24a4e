//! The X-Ray daemon's UDP framing, read the way the daemon reads it.
//!
//! A datagram is a JSON header, `\n`, and one segment document. The daemon splits at the
//! first `\n`, rejects an empty body ("Missing header or segment"), decodes the header into
//! `{format, version}` and accepts it only when `format` is `json` (any case) and `version`
//! is the integer 1 ("Invalid header"). The body is passed on unparsed.

use serde_json::Value as Json;

/// The daemon's read buffer: a datagram longer than this is cut short by the daemon.
pub const DAEMON_BUFFER_BYTES: usize = 64 * 1024;

/// Why the daemon would reject a datagram.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// No `\n`, or nothing after it.
    #[error("missing header or segment (no newline-separated body)")]
    MissingBody,
    /// The header is not JSON, or not `{"format":"json","version":1}`.
    #[error("invalid daemon header {0:?}: want {{\"format\":\"json\",\"version\":1}}")]
    InvalidHeader(String),
    /// Longer than the daemon's 64 KiB read buffer.
    #[error("datagram of {0} bytes exceeds the daemon's {DAEMON_BUFFER_BYTES}-byte buffer")]
    TooLarge(usize),
}

/// Splits a datagram into its header and body, applying the daemon's checks.
pub fn split_datagram(datagram: &[u8]) -> Result<&[u8], FrameError> {
    if datagram.len() > DAEMON_BUFFER_BYTES {
        return Err(FrameError::TooLarge(datagram.len()));
    }
    let Some(nl) = datagram.iter().position(|&b| b == b'\n') else {
        return Err(FrameError::MissingBody);
    };
    let (header, body) = (&datagram[..nl], &datagram[nl + 1..]);
    if body.is_empty() {
        return Err(FrameError::MissingBody);
    }
    if !is_valid_header(header) {
        return Err(FrameError::InvalidHeader(
            String::from_utf8_lossy(header).into_owned(),
        ));
    }
    Ok(body)
}

/// Whether `header` decodes to `format` = "json" (any case) and `version` = 1.
pub fn is_valid_header(header: &[u8]) -> bool {
    let Ok(Json::Object(h)) = serde_json::from_slice::<Json>(header) else {
        return false;
    };
    let format_ok = h
        .get("format")
        .and_then(Json::as_str)
        .is_some_and(|f| f.eq_ignore_ascii_case("json"));
    let version_ok = h.get("version").and_then(Json::as_u64) == Some(1);
    format_ok && version_ok
}

/// Whether a parsed JSON value looks like a daemon header rather than a segment: an object
/// holding `format` and/or `version` and nothing else.
pub fn looks_like_header(value: &Json) -> bool {
    value
        .as_object()
        .is_some_and(|o| !o.is_empty() && o.keys().all(|k| k == "format" || k == "version"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_both_header_spellings_and_any_case() {
        for h in [
            r#"{"format":"json","version":1}"#,
            r#"{"format": "json", "version": 1}"#,
            r#"{"version":1,"format":"JSON","extra":true}"#,
        ] {
            let dgram = format!("{h}\n{{\"id\":\"x\"}}");
            assert_eq!(split_datagram(dgram.as_bytes()), Ok(&b"{\"id\":\"x\"}"[..]));
        }
    }

    #[test]
    fn rejects_what_the_daemon_rejects() {
        for (dgram, want_header_error) in [
            (
                r#"{"format":"json","version":2}"#.to_string() + "\n{}",
                true,
            ),
            (
                r#"{"format":"text","version":1}"#.to_string() + "\n{}",
                true,
            ),
            (
                r#"{"format":"json","version":1.0}"#.to_string() + "\n{}",
                true,
            ),
            (
                r#"{"format":"json","version":"1"}"#.to_string() + "\n{}",
                true,
            ),
            ("not json\n{}".to_string(), true),
            (r#"{"format":"json","version":1}"#.to_string() + "\n", false),
            (r#"{"format":"json","version":1}"#.to_string(), false),
        ] {
            let got = split_datagram(dgram.as_bytes());
            if want_header_error {
                assert!(
                    matches!(got, Err(FrameError::InvalidHeader(_))),
                    "{dgram}: {got:?}"
                );
            } else {
                assert_eq!(got, Err(FrameError::MissingBody), "{dgram}");
            }
        }
        let big = vec![b'x'; DAEMON_BUFFER_BYTES + 1];
        assert_eq!(split_datagram(&big), Err(FrameError::TooLarge(big.len())));
    }

    proptest! {
        #[test]
        fn arbitrary_datagrams_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = split_datagram(&bytes);
        }
    }
}
