//! Span (segment) IDs: 16 hex digits, non-zero.

use std::fmt;

use opentelemetry::trace::SpanId;

use crate::trace_id::{hex16, hex8, hex_u64};

/// Parses a span ID as X-Ray writes it: exactly 16 hex digits (either case), not all zero.
///
/// This is the rule for the `Parent` field of `X-Amzn-Trace-Id` and for segment `id` /
/// `parent_id` fields.
///
/// ```
/// use otel_xray_id::{parse_span_id, ParseSpanIdError};
///
/// assert_eq!(parse_span_id("53995C3F42CD8AD8").unwrap().to_string(), "53995c3f42cd8ad8");
/// assert_eq!(parse_span_id("0000000000000000"), Err(ParseSpanIdError::Zero));
/// ```
pub fn parse_span_id(s: &str) -> Result<SpanId, ParseSpanIdError> {
    parse_span_id_bytes(s.as_bytes())
}

/// [`parse_span_id`] over bytes.
// Always inlined: extract parses a `Parent` on every incoming request, and
// the compiler otherwise keeps one out-of-line copy for the whole parser.
#[inline(always)]
pub fn parse_span_id_bytes(s: &[u8]) -> Result<SpanId, ParseSpanIdError> {
    if s.len() != 16 {
        return Err(ParseSpanIdError::Length { len: s.len() });
    }
    let v = match (hex8(&s[..8]), hex8(&s[8..])) {
        (Some(high), Some(low)) => (u64::from(high) << 32) | u64::from(low),
        _ => {
            // Only to locate the bad digit.
            hex_u64(s).map_err(|position| ParseSpanIdError::InvalidHex { position })?
        }
    };
    if v == 0 {
        return Err(ParseSpanIdError::Zero);
    }
    Ok(SpanId::from_bytes(v.to_be_bytes()))
}

/// Writes a span ID as 16 lower-case hex digits into a stack buffer.
///
/// ```
/// use opentelemetry::trace::SpanId;
/// let buf = otel_xray_id::encode_span_id(SpanId::from_bytes([0xab; 8]));
/// assert_eq!(std::str::from_utf8(&buf).unwrap(), "abababababababab");
/// ```
#[inline]
pub fn encode_span_id(span_id: SpanId) -> [u8; 16] {
    hex16(u64::from_be_bytes(span_id.to_bytes()))
}

/// Why a string is not a span ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseSpanIdError {
    /// Not exactly 16 characters.
    Length {
        /// Length of the input in bytes.
        len: usize,
    },
    /// A character that is not a hex digit.
    InvalidHex {
        /// Byte offset of the character.
        position: usize,
    },
    /// All zeros, which OpenTelemetry reserves for "no span".
    Zero,
}

impl fmt::Display for ParseSpanIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Length { len } => {
                write!(f, "span ID has {len} characters, expected 16 hex digits")
            }
            Self::InvalidHex { position } => {
                write!(f, "span ID has a non-hex character at byte {position}")
            }
            Self::Zero => f.write_str("span ID is all zeros"),
        }
    }
}

impl std::error::Error for ParseSpanIdError {}
