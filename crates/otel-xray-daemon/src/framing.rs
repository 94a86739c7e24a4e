//! The X-Ray daemon's UDP framing, read the way the daemon reads it.
//!
//! A datagram is a JSON header, `\n`, and one segment document. The daemon splits at the
//! first `\n`, rejects an empty body ("Missing header or segment"), decodes the header into
//! `{format, version}` and accepts it only when `format` is `json` (any case) and `version`
//! is the integer 1 ("Invalid header"). The body is passed on unparsed.
//!
//! On Lambda the AWS Distro for OpenTelemetry sends OTLP through the same port: after the
//! header comes `T1S` (sampled), `T1U` (unsampled) or, from older releases, `T1`, then the
//! base64 of an OTLP `ExportTraceServiceRequest`. [`classify_body`] tells the two apart.

use serde_json::Value as Json;

use crate::counters::RejectReason;

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

impl FrameError {
    /// The counter slot for this error.
    pub fn reason(&self) -> RejectReason {
        match self {
            FrameError::MissingBody => RejectReason::MissingBody,
            FrameError::InvalidHeader(_) => RejectReason::InvalidHeader,
            FrameError::TooLarge(_) => RejectReason::TooLarge,
        }
    }
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
    // What every SDK sends, checked without parsing (the hot path).
    const COMMON: [&[u8]; 2] = [
        br#"{"format":"json","version":1}"#,
        br#"{"format": "json", "version": 1}"#,
    ];
    if COMMON.contains(&header) {
        return true;
    }
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

/// The OTLP-over-UDP frame prefixes, longest first (`T1` is a prefix of the others).
const OTLP_PREFIXES: [(&[u8], OtlpFrameKind); 3] = [
    (b"T1S", OtlpFrameKind::Sampled),
    (b"T1U", OtlpFrameKind::Unsampled),
    (b"T1", OtlpFrameKind::Legacy),
];

/// Which OTLP-over-UDP prefix a frame had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpFrameKind {
    /// `T1S`: sampled spans.
    Sampled,
    /// `T1U`: unsampled spans.
    Unsampled,
    /// `T1`: older ADOT releases, sampled or not.
    Legacy,
}

/// What a datagram body holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body<'a> {
    /// A segment document (or in-progress document, or standalone subsegment), unparsed.
    Segment(&'a [u8]),
    /// An OTLP frame: its kind and the base64 text after the prefix.
    Otlp {
        /// The prefix.
        kind: OtlpFrameKind,
        /// The base64 of an `ExportTraceServiceRequest`, undecoded.
        payload: &'a [u8],
    },
}

/// Tells a segment document from an OTLP-over-UDP frame by its first bytes. A JSON document
/// starts with `{` (maybe after whitespace), so it never has an OTLP prefix.
pub fn classify_body(body: &[u8]) -> Body<'_> {
    for (prefix, kind) in OTLP_PREFIXES {
        if let Some(payload) = body.strip_prefix(prefix) {
            return Body::Otlp { kind, payload };
        }
    }
    Body::Segment(body)
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
    fn otlp_frames_are_told_from_documents() {
        assert_eq!(
            classify_body(b"T1SCgA="),
            Body::Otlp {
                kind: OtlpFrameKind::Sampled,
                payload: b"CgA="
            }
        );
        assert_eq!(
            classify_body(b"T1UCgA="),
            Body::Otlp {
                kind: OtlpFrameKind::Unsampled,
                payload: b"CgA="
            }
        );
        assert_eq!(
            classify_body(b"T1CgA="),
            Body::Otlp {
                kind: OtlpFrameKind::Legacy,
                payload: b"CgA="
            }
        );
        assert_eq!(classify_body(b"{\"id\":1}"), Body::Segment(b"{\"id\":1}"));
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
            if let Ok(body) = split_datagram(&bytes) {
                let _ = classify_body(body);
            }
        }
    }
}
