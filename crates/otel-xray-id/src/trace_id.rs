//! The X-Ray trace ID: `1-{8 hex epoch seconds}-{24 hex random}`.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::TraceId;

/// Length of the canonical text form, `1-xxxxxxxx-yyyyyyyyyyyyyyyyyyyyyyyy`.
pub const XRAY_TRACE_ID_LEN: usize = 35;

/// An X-Ray trace ID: an OpenTelemetry [`TraceId`] whose first 32 bits are read as
/// the epoch second at which the trace started.
///
/// The value is never zero. Conversion to and from [`TraceId`] is free: X-Ray's
/// `1-{epoch}-{random}` is the same 128 bits written in hex with two dashes.
///
/// # Accepted text
///
/// [`FromStr`] is strict about structure and lenient only where peers disagree
/// harmlessly:
///
/// * version must be `1`, followed by `-`, the epoch, `-` and exactly 24 hex digits;
/// * the epoch is 8 hex digits, or **1 to 7** digits (the short form Java's
///   propagator accepts, written by generators that do not zero-pad); it is
///   left-padded with zeros;
/// * hex digits may be upper case; the value is normalised, so [`Display`](fmt::Display)
///   always writes lower case and exactly 35 characters;
/// * nothing else is accepted: no sign, no whitespace, no zero ID.
///
/// ```
/// use otel_xray_id::XrayTraceId;
///
/// let id: XrayTraceId = "1-5759E988-BD862E3FE1BE46A994272793".parse()?;
/// assert_eq!(id.to_string(), "1-5759e988-bd862e3fe1be46a994272793");
/// assert_eq!(id.epoch_seconds(), 0x5759_e988);
/// # Ok::<(), otel_xray_id::ParseTraceIdError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct XrayTraceId(u128);

impl XrayTraceId {
    /// Wraps an OpenTelemetry trace ID. Returns `None` for the invalid (all-zero) ID.
    ///
    /// Any non-zero trace ID has an X-Ray form; whether X-Ray *accepts* it depends on
    /// its epoch, see [`XrayTraceId::check_epoch`].
    pub fn from_trace_id(trace_id: TraceId) -> Option<Self> {
        let v = u128::from_be_bytes(trace_id.to_bytes());
        (v != 0).then_some(Self(v))
    }

    /// Builds an ID from its epoch second and 96 random bits (the high 32 bits of
    /// `random` are ignored). Returns `None` only if both are zero.
    pub fn from_parts(epoch_seconds: u32, random: u128) -> Option<Self> {
        let v = (u128::from(epoch_seconds) << 96) | (random & RANDOM_MASK);
        (v != 0).then_some(Self(v))
    }

    /// The OpenTelemetry trace ID with the same 128 bits.
    pub fn trace_id(self) -> TraceId {
        TraceId::from_bytes(self.0.to_be_bytes())
    }

    /// The epoch second stored in the first 32 bits.
    pub fn epoch_seconds(self) -> u32 {
        (self.0 >> 96) as u32
    }

    /// The 96 bits after the epoch.
    pub fn random_part(self) -> u128 {
        self.0 & RANDOM_MASK
    }

    /// Writes the canonical lower-case form into a stack buffer, without allocating.
    ///
    /// ```
    /// use otel_xray_id::XrayTraceId;
    /// let id: XrayTraceId = "1-5759e988-bd862e3fe1be46a994272793".parse().unwrap();
    /// assert_eq!(id.encode().as_str(), "1-5759e988-bd862e3fe1be46a994272793");
    /// ```
    pub fn encode(self) -> EncodedTraceId {
        let mut buf = [0u8; XRAY_TRACE_ID_LEN];
        buf[0] = b'1';
        buf[1] = b'-';
        buf[10] = b'-';
        let bytes = self.0.to_be_bytes();
        write_hex(&bytes[..4], &mut buf[2..10]);
        write_hex(&bytes[4..], &mut buf[11..]);
        EncodedTraceId(buf)
    }

    /// Checks the epoch second against `window` around `now`.
    ///
    /// X-Ray has historically rejected trace IDs older than 30 days or more than
    /// 5 minutes in the future ([`EpochWindow::XRAY`]). This is a tool for callers
    /// that want to know in advance; nothing in this crate rejects IDs by age.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use otel_xray_id::{EpochWindow, EpochWindowError, XrayTraceId};
    ///
    /// let id = XrayTraceId::from_parts(1_000_000, 7).unwrap();
    /// let now = UNIX_EPOCH + Duration::from_secs(1_000_060);
    /// assert_eq!(id.check_epoch(now, EpochWindow::XRAY), Ok(()));
    /// let later = now + Duration::from_secs(31 * 86_400);
    /// assert!(matches!(id.check_epoch(later, EpochWindow::XRAY), Err(EpochWindowError::TooOld { .. })));
    /// ```
    pub fn check_epoch(self, now: SystemTime, window: EpochWindow) -> Result<(), EpochWindowError> {
        let now_secs = match now.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_secs(),
            Err(_) => 0,
        };
        let epoch = u64::from(self.epoch_seconds());
        if epoch > now_secs {
            let ahead = epoch - now_secs;
            if ahead > window.max_future.as_secs() {
                return Err(EpochWindowError::InFuture {
                    seconds_ahead: ahead,
                });
            }
        } else {
            let age = now_secs - epoch;
            if age > window.max_age.as_secs() {
                return Err(EpochWindowError::TooOld { age_seconds: age });
            }
        }
        Ok(())
    }
}

const RANDOM_MASK: u128 = (1u128 << 96) - 1;

impl From<XrayTraceId> for TraceId {
    fn from(id: XrayTraceId) -> Self {
        id.trace_id()
    }
}

impl TryFrom<TraceId> for XrayTraceId {
    type Error = ParseTraceIdError;
    fn try_from(trace_id: TraceId) -> Result<Self, Self::Error> {
        Self::from_trace_id(trace_id).ok_or(ParseTraceIdError::Zero)
    }
}

impl fmt::Display for XrayTraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.encode().as_str())
    }
}

impl fmt::Debug for XrayTraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "XrayTraceId({self})")
    }
}

impl FromStr for XrayTraceId {
    type Err = ParseTraceIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s.as_bytes())
    }
}

impl XrayTraceId {
    /// Parses from bytes (for carriers that are not UTF-8 checked); same rules as [`FromStr`].
    pub fn parse_bytes(s: &[u8]) -> Result<Self, ParseTraceIdError> {
        parse(s)
    }
}

fn parse(s: &[u8]) -> Result<XrayTraceId, ParseTraceIdError> {
    if s.is_empty() {
        return Err(ParseTraceIdError::Empty);
    }
    if s.len() > XRAY_TRACE_ID_LEN {
        return Err(ParseTraceIdError::TooLong { len: s.len() });
    }
    if s[0] != b'1' || s.get(1) != Some(&b'-') {
        return Err(ParseTraceIdError::UnsupportedVersion);
    }
    let rest = &s[2..];
    let dash = rest
        .iter()
        .position(|&b| b == b'-')
        .ok_or(ParseTraceIdError::MissingDelimiter)?;
    let (epoch, random) = (&rest[..dash], &rest[dash + 1..]);
    if epoch.is_empty() || epoch.len() > 8 {
        return Err(ParseTraceIdError::EpochLength { len: epoch.len() });
    }
    if random.len() != 24 {
        return Err(ParseTraceIdError::RandomLength { len: random.len() });
    }
    let epoch_val = hex_value(epoch, 2)?;
    let random_val = hex_value(random, 2 + dash + 1)?;
    let v = (epoch_val << 96) | random_val;
    if v == 0 {
        return Err(ParseTraceIdError::Zero);
    }
    Ok(XrayTraceId(v))
}

/// Parses up to 32 hex digits (either case); `offset` locates errors in the whole input.
pub(crate) fn hex_value(digits: &[u8], offset: usize) -> Result<u128, ParseTraceIdError> {
    let mut v: u128 = 0;
    for (i, &b) in digits.iter().enumerate() {
        let d = hex_digit(b).ok_or(ParseTraceIdError::InvalidHex {
            position: offset + i,
        })?;
        v = (v << 4) | u128::from(d);
    }
    Ok(v)
}

#[inline]
pub(crate) fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[inline]
pub(crate) fn write_hex(bytes: &[u8], out: &mut [u8]) {
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = HEX[usize::from(b >> 4)];
        out[2 * i + 1] = HEX[usize::from(b & 0x0f)];
    }
}

/// The canonical text of an [`XrayTraceId`], on the stack.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EncodedTraceId([u8; XRAY_TRACE_ID_LEN]);

impl EncodedTraceId {
    /// The 35-character `1-xxxxxxxx-yyyyyyyyyyyyyyyyyyyyyyyy` text.
    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits, '1' and '-' are ever written.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Debug for EncodedTraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// Why a string is not an X-Ray trace ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseTraceIdError {
    /// The input is empty.
    Empty,
    /// The input is longer than the 35 characters of the canonical form.
    TooLong {
        /// Length of the input in bytes.
        len: usize,
    },
    /// The input does not start with `1-` (only version 1 exists).
    UnsupportedVersion,
    /// No `-` separates the epoch from the random part.
    MissingDelimiter,
    /// The epoch part is not 1 to 8 hex digits.
    EpochLength {
        /// Length of the epoch part.
        len: usize,
    },
    /// The random part is not exactly 24 hex digits.
    RandomLength {
        /// Length of the random part.
        len: usize,
    },
    /// A character that is not a hex digit.
    InvalidHex {
        /// Byte offset of the character in the input.
        position: usize,
    },
    /// All 128 bits are zero, which OpenTelemetry reserves for "no trace".
    Zero,
}

impl fmt::Display for ParseTraceIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("empty X-Ray trace ID"),
            Self::TooLong { len } => {
                write!(f, "X-Ray trace ID is {len} bytes, more than the 35 allowed")
            }
            Self::UnsupportedVersion => f.write_str("X-Ray trace ID does not start with `1-`"),
            Self::MissingDelimiter => {
                f.write_str("X-Ray trace ID has no `-` between epoch and random part")
            }
            Self::EpochLength { len } => {
                write!(
                    f,
                    "X-Ray trace ID epoch has {len} hex digits, expected 1 to 8"
                )
            }
            Self::RandomLength { len } => {
                write!(
                    f,
                    "X-Ray trace ID random part has {len} hex digits, expected 24"
                )
            }
            Self::InvalidHex { position } => {
                write!(
                    f,
                    "X-Ray trace ID has a non-hex character at byte {position}"
                )
            }
            Self::Zero => f.write_str("X-Ray trace ID is all zeros"),
        }
    }
}

impl std::error::Error for ParseTraceIdError {}

/// How far from now a trace ID's epoch may be, for [`XrayTraceId::check_epoch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochWindow {
    /// The oldest accepted epoch, as an age before now.
    pub max_age: Duration,
    /// The furthest accepted epoch ahead of now (clock skew).
    pub max_future: Duration,
}

impl EpochWindow {
    /// X-Ray's documented window: 30 days old, 5 minutes ahead.
    pub const XRAY: EpochWindow = EpochWindow {
        max_age: Duration::from_secs(30 * 24 * 3600),
        max_future: Duration::from_secs(5 * 60),
    };
}

/// A trace ID's epoch is outside an [`EpochWindow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpochWindowError {
    /// The epoch is older than the window allows.
    TooOld {
        /// Seconds between the epoch and now.
        age_seconds: u64,
    },
    /// The epoch is further in the future than the window allows.
    InFuture {
        /// Seconds between now and the epoch.
        seconds_ahead: u64,
    },
}

impl fmt::Display for EpochWindowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooOld { age_seconds } => {
                write!(f, "trace ID epoch is {age_seconds} s old")
            }
            Self::InFuture { seconds_ahead } => {
                write!(f, "trace ID epoch is {seconds_ahead} s in the future")
            }
        }
    }
}

impl std::error::Error for EpochWindowError {}
