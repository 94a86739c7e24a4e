//! The `X-Amzn-Trace-Id` header value: parse and format, without OpenTelemetry types
//! beyond the IDs.

use std::fmt;
use std::str::FromStr;

use opentelemetry::trace::SpanId;
use otel_xray_id::{
    encode_span_id, parse_span_id_bytes, ParseSpanIdError, ParseTraceIdError, XrayTraceId,
};

use crate::lineage::{Lineage, LineageError};

/// Longest header value [`TraceHeader::parse`] looks at, in bytes.
///
/// AWS caps the header it writes at 256 characters; four times that leaves room
/// for proxies that append their own keys. Longer values are rejected whole
/// ([`HeaderError::TooLong`]) before any scanning, so hostile input costs nothing.
pub const MAX_HEADER_LEN: usize = 1024;

/// Longest value [`TraceHeader::encode`] can produce:
/// `Root=` 35 + `;Parent=` 16 + `;Sampled=` 1 + `;Lineage=` 18.
pub const MAX_ENCODED_LEN: usize = 5 + 35 + 8 + 16 + 9 + 1 + 9 + 18;

/// The sampling decision carried by the `Sampled` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sampling {
    /// `Sampled=1`: the upstream service recorded the trace.
    Sampled,
    /// `Sampled=0`: the upstream service dropped the trace.
    NotSampled,
    /// `Sampled=?` or no `Sampled` key: no decision was made upstream; the receiving
    /// service decides as if it were the root, while keeping the trace ID.
    Deferred,
}

impl Sampling {
    fn as_byte(self) -> u8 {
        match self {
            Self::Sampled => b'1',
            Self::NotSampled => b'0',
            Self::Deferred => b'?',
        }
    }
}

/// A parsed `X-Amzn-Trace-Id` value.
///
/// ```
/// use otel_xray_propagator::{Sampling, TraceHeader};
///
/// let h: TraceHeader = " Sampled=1 ; Self=1-aa-bb; Root=1-5759E988-BD862E3FE1BE46A994272793;Parent=53995c3f42cd8ad8;"
///     .parse()?;
/// assert_eq!(h.sampling, Sampling::Sampled);
/// assert_eq!(
///     h.to_string(),
///     "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
/// );
///
/// // ALB / API Gateway: a trace ID and nothing else.
/// let alb: TraceHeader = "Root=1-5759e988-bd862e3fe1be46a994272793".parse()?;
/// assert_eq!((alb.parent, alb.sampling), (None, Sampling::Deferred));
/// # Ok::<(), otel_xray_propagator::HeaderError>(())
/// ```
///
/// # Accepted text
///
/// `;`-separated `key=value` parts in any order. Each part is split at its first `=`;
/// spaces and tabs around parts and around `=` are ignored, as are empty parts, a
/// trailing `;`, parts without `=`, and unknown keys (including `Self`). Keys match
/// ASCII case-insensitively. When a key repeats, the last one wins.
///
/// * `Root` (required): an [`XrayTraceId`], strict — version `1`, 1–8 + 24 hex
///   digits, non-zero; upper case is normalised.
/// * `Parent` (optional): 16 hex digits, non-zero. Present but invalid rejects the
///   header: continuing the trace under a made-up parent would misplace the span.
/// * `Sampled`: `1`, `0`, `?`; missing or any other value means [`Sampling::Deferred`]
///   (an unrecognised value is reported in [`ParseReport::unrecognised_sampled`]).
/// * `Lineage` (optional): see [`Lineage`]; an invalid value is dropped and reported
///   in [`ParseReport::lineage_error`], the header stays valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceHeader {
    /// The trace ID (`Root`).
    pub root: XrayTraceId,
    /// The upstream segment or subsegment (`Parent`); `None` for a Root-only header.
    pub parent: Option<SpanId>,
    /// The upstream sampling decision (`Sampled`).
    pub sampling: Sampling,
    /// Loop-detection lineage (`Lineage`), passed through unchanged.
    pub lineage: Option<Lineage>,
}

/// What [`TraceHeader::parse_with_report`] accepted but did not use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParseReport {
    /// Non-empty parts that were skipped: unknown keys, `Self`, parts without `=`.
    pub ignored_parts: u32,
    /// Why a `Lineage` value was dropped, if one was.
    pub lineage_error: Option<LineageError>,
    /// `Sampled` had a value other than `1`, `0` or `?` (read as deferred).
    pub unrecognised_sampled: bool,
}

/// Why a header value gives no trace context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderError {
    /// Longer than [`MAX_HEADER_LEN`].
    TooLong {
        /// Length of the value in bytes.
        len: usize,
    },
    /// No `Root` key.
    MissingRoot,
    /// `Root` is not a valid X-Ray trace ID.
    InvalidRoot(ParseTraceIdError),
    /// `Parent` is present but not a valid span ID.
    InvalidParent(ParseSpanIdError),
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong { len } => write!(
                f,
                "trace header is {len} bytes, more than the {MAX_HEADER_LEN} accepted"
            ),
            Self::MissingRoot => f.write_str("trace header has no Root"),
            Self::InvalidRoot(e) => write!(f, "trace header Root: {e}"),
            Self::InvalidParent(e) => write!(f, "trace header Parent: {e}"),
        }
    }
}

impl std::error::Error for HeaderError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidRoot(e) => Some(e),
            Self::InvalidParent(e) => Some(e),
            _ => None,
        }
    }
}

impl TraceHeader {
    /// Parses a header value; see the type docs for the rules.
    pub fn parse(s: &str) -> Result<Self, HeaderError> {
        Self::parse_bytes(s.as_bytes())
    }

    /// [`TraceHeader::parse`] over bytes (carriers that are not UTF-8 checked).
    pub fn parse_bytes(s: &[u8]) -> Result<Self, HeaderError> {
        Self::parse_with_report(s).map(|(h, _)| h)
    }

    /// Parses and also reports what was ignored or dropped.
    ///
    /// ```
    /// use otel_xray_propagator::{LineageError, TraceHeader};
    ///
    /// let (h, report) = TraceHeader::parse_with_report(
    ///     b"Root=1-5759e988-bd862e3fe1be46a994272793;Lineage=bogus;Foo=bar;junk",
    /// )?;
    /// assert_eq!(h.lineage, None);
    /// assert_eq!(report.lineage_error, Some(LineageError::Length { len: 5 }));
    /// assert_eq!(report.ignored_parts, 2);
    /// # Ok::<(), otel_xray_propagator::HeaderError>(())
    /// ```
    pub fn parse_with_report(s: &[u8]) -> Result<(Self, ParseReport), HeaderError> {
        if s.len() > MAX_HEADER_LEN {
            return Err(HeaderError::TooLong { len: s.len() });
        }
        if let Some(header) = canonical(s) {
            return Ok((header, ParseReport::default()));
        }
        let mut report = ParseReport::default();
        let (mut root, mut parent, mut sampled, mut lineage) = (None, None, None, None);
        for part in s.split(|&b| b == b';') {
            let part = trim(part);
            if part.is_empty() {
                continue;
            }
            let Some(eq) = part.iter().position(|&b| b == b'=') else {
                report.ignored_parts += 1;
                continue;
            };
            let (key, value) = (trim(&part[..eq]), trim(&part[eq + 1..]));
            let slot = if key.eq_ignore_ascii_case(b"Root") {
                &mut root
            } else if key.eq_ignore_ascii_case(b"Parent") {
                &mut parent
            } else if key.eq_ignore_ascii_case(b"Sampled") {
                &mut sampled
            } else if key.eq_ignore_ascii_case(b"Lineage") {
                &mut lineage
            } else {
                report.ignored_parts += 1;
                continue;
            };
            *slot = Some(value);
        }

        let root = XrayTraceId::parse_bytes(root.ok_or(HeaderError::MissingRoot)?)
            .map_err(HeaderError::InvalidRoot)?;
        let parent = parent
            .map(parse_span_id_bytes)
            .transpose()
            .map_err(HeaderError::InvalidParent)?;
        let sampling = match sampled {
            Some(b"1") => Sampling::Sampled,
            Some(b"0") => Sampling::NotSampled,
            Some(b"?") | None => Sampling::Deferred,
            Some(_) => {
                report.unrecognised_sampled = true;
                Sampling::Deferred
            }
        };
        let lineage = lineage.and_then(|v| match Lineage::parse_bytes(v) {
            Ok(l) => Some(l),
            Err(e) => {
                report.lineage_error = Some(e);
                None
            }
        });
        Ok((
            Self {
                root,
                parent,
                sampling,
                lineage,
            },
            report,
        ))
    }

    /// Formats as `Root=1-{8}-{24}[;Parent={16}];Sampled={1|0|?}[;Lineage=…]`, lower
    /// case, into a stack buffer. At most [`MAX_ENCODED_LEN`] (101) bytes, well under
    /// X-Ray's 256-character limit.
    pub fn encode(&self) -> EncodedHeader {
        let mut buf = [0u8; MAX_ENCODED_LEN];
        buf[..5].copy_from_slice(b"Root=");
        buf[5..40].copy_from_slice(self.root.encode().as_bytes());
        let mut len = 40;
        if let Some(parent) = self.parent {
            buf[40..48].copy_from_slice(b";Parent=");
            buf[48..64].copy_from_slice(&encode_span_id(parent));
            len = 64;
        }
        let mut put = |bytes: &[u8]| {
            buf[len..len + bytes.len()].copy_from_slice(bytes);
            len += bytes.len();
        };
        put(b";Sampled=");
        put(&[self.sampling.as_byte()]);
        if let Some(lineage) = &self.lineage {
            put(b";Lineage=");
            put(lineage.as_str().as_bytes());
        }
        EncodedHeader {
            buf,
            len: len as u8,
        }
    }
}

/// The exact text inject writes (and AWS services send):
/// `Root=1-{8}-{24};Parent={16};Sampled={0|1|?}`, 74 bytes. Checked at fixed offsets
/// so the common case reads each byte once; anything else, including invalid IDs,
/// goes through the general scan, which gives the same result and the error.
// Always inlined: extract calls it first and builds the context from its result
// in the same frame (see `XrayPropagator::extract_with_context`).
#[inline(always)]
pub(crate) fn canonical(s: &[u8]) -> Option<TraceHeader> {
    if s.len() != 74
        || &s[..5] != b"Root="
        || &s[40..48] != b";Parent="
        || &s[64..73] != b";Sampled="
    {
        return None;
    }
    let sampling = match s[73] {
        b'1' => Sampling::Sampled,
        b'0' => Sampling::NotSampled,
        b'?' => Sampling::Deferred,
        _ => return None,
    };
    Some(TraceHeader {
        root: XrayTraceId::parse_bytes(&s[5..40]).ok()?,
        parent: Some(parse_span_id_bytes(&s[48..64]).ok()?),
        sampling,
        lineage: None,
    })
}

/// Spaces and tabs are the only whitespace HTTP allows inside a header value.
fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

impl FromStr for TraceHeader {
    type Err = HeaderError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for TraceHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.encode().as_str())
    }
}

/// A formatted [`TraceHeader`], on the stack.
#[derive(Clone, Copy)]
pub struct EncodedHeader {
    buf: [u8; MAX_ENCODED_LEN],
    len: u8,
}

impl EncodedHeader {
    /// The header value.
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever written.
        std::str::from_utf8(&self.buf[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl fmt::Debug for EncodedHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}
