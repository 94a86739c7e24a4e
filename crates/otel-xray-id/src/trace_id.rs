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
    #[inline]
    pub fn encode(self) -> EncodedTraceId {
        let mut buf = [0u8; XRAY_TRACE_ID_LEN];
        buf[0] = b'1';
        buf[1] = b'-';
        buf[10] = b'-';
        buf[2..10].copy_from_slice(&hex_word(self.epoch_seconds()));
        buf[11..19].copy_from_slice(&hex_word((self.0 >> 64) as u32));
        buf[19..].copy_from_slice(&hex16(self.0 as u64));
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
        Self::parse_bytes(s.as_bytes())
    }
}

impl XrayTraceId {
    /// Parses from bytes (for carriers that are not UTF-8 checked); same rules as [`FromStr`].
    #[inline]
    pub fn parse_bytes(s: &[u8]) -> Result<Self, ParseTraceIdError> {
        // Inlined into callers for the canonical form; everything else, and every
        // error, takes the general path.
        match canonical(s) {
            Some(id) => Ok(id),
            None => parse(s),
        }
    }
}

/// The canonical `1-{8}-{24}` form at fixed offsets, or `None` to use [`parse`].
// Always inlined, so that the header parser decodes a trace ID in its own
// frame (see `otel_xray_propagator`'s extract).
#[inline(always)]
fn canonical(s: &[u8]) -> Option<XrayTraceId> {
    if s.len() != XRAY_TRACE_ID_LEN || s[0] != b'1' || s[1] != b'-' || s[10] != b'-' {
        return None;
    }
    let (epoch, high, mid, low) = (
        hex8(&s[2..10])?,
        hex8(&s[11..19])?,
        hex8(&s[19..27])?,
        hex8(&s[27..35])?,
    );
    let v = (u128::from(epoch) << 96)
        | (u128::from(high) << 64)
        | (u128::from(mid) << 32)
        | u128::from(low);
    (v != 0).then_some(XrayTraceId(v))
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
    let mut start = 0;
    // In 16-digit chunks: u64 arithmetic is cheaper than u128 per digit.
    for chunk in digits.chunks(16) {
        let x = hex_u64(chunk).map_err(|i| ParseTraceIdError::InvalidHex {
            position: offset + start + i,
        })?;
        v = (v << (4 * chunk.len())) | u128::from(x);
        start += chunk.len();
    }
    Ok(v)
}

/// Up to 16 hex digits (either case) as a u64; `Err(i)` gives the first bad index.
///
/// Whole groups of 8 digits are validated and converted at once with SWAR
/// arithmetic (this is on the hot path of every extracted header); the rest, and
/// the search for the bad index, use a table.
#[inline]
pub(crate) fn hex_u64(digits: &[u8]) -> Result<u64, usize> {
    let first_bad = || {
        digits
            .iter()
            .position(|&b| HEX_VALUE[usize::from(b)] == INVALID)
            .unwrap_or(0)
    };
    let mut v: u64 = 0;
    let mut groups = digits.chunks_exact(8);
    for group in &mut groups {
        v = (v << 32) | u64::from(hex8(group).ok_or_else(first_bad)?);
    }
    for &b in groups.remainder() {
        let d = HEX_VALUE[usize::from(b)];
        if d == INVALID {
            return Err(first_bad());
        }
        v = (v << 4) | u64::from(d);
    }
    Ok(v)
}

const ONES: u64 = 0x0101_0101_0101_0101;

/// Eight hex digits as a u32, or `None` if any is not a hex digit.
///
/// Decodes first, then validates by re-encoding: a byte is a hex digit exactly
/// when its decoded nibble encodes back to the byte itself with letters
/// lower-cased (so no range compares per class).
// Always inlined: left to itself the compiler calls it out of line for half
// the groups of a trace ID, and the call costs as much as the decoding
// (callgrind, `benches/propagator.rs` extract).
#[inline(always)]
pub(crate) fn hex8(group: &[u8]) -> Option<u32> {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(group);
    let x = u64::from_be_bytes(bytes);
    // Letters (0x41.., 0x61..) have bit 6 set, digits (0x30..) do not.
    let alpha = (x >> 6) & ONES;
    // Per byte at most 15 + 9: no carries between bytes.
    let nibbles = (x & 0x0f0f_0f0f_0f0f_0f0f) + alpha * 9;
    // Nibbles 10..=15 get the extra offset from '0'+10 to 'a'.
    let letters = ((nibbles + 0x0606_0606_0606_0606) >> 4) & ONES;
    // Only the low four bits are re-encoded. A "nibble" of 16 to 24 comes from
    // a letter past `f` (`G`..`O`, `g`..`o`); it has `letters` set and
    // re-encodes to 0x57..=0x5f, below the lower-cased byte (0x67..=0x6f), so
    // this one comparison also rejects it: no separate range check.
    let encoded = (nibbles & 0x0f0f_0f0f_0f0f_0f0f) + 0x3030_3030_3030_3030 + letters * 39;
    if encoded != x | (alpha << 5) {
        return None;
    }
    let pairs = (nibbles | (nibbles >> 4)) & 0x00ff_00ff_00ff_00ff;
    let quads = (pairs | (pairs >> 8)) & 0x0000_ffff_0000_ffff;
    Some((quads | (quads >> 16)) as u32)
}

const INVALID: u8 = 0x80;

/// Digit value of each byte, or [`INVALID`].
static HEX_VALUE: [u8; 256] = {
    let mut t = [INVALID; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Sixteen lower-case hex digits of `v`, most significant first. Formatting works
/// on whole words with SWAR arithmetic: inject formats IDs on every outgoing request.
#[inline]
pub(crate) fn hex16(v: u64) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&hex_word((v >> 32) as u32));
    out[8..].copy_from_slice(&hex_word(v as u32));
    out
}

/// Eight lower-case hex digits of `v`, most significant first.
#[inline]
pub(crate) fn hex_word(v: u32) -> [u8; 8] {
    let x = u64::from(v);
    // Spread the 8 nibbles into the 8 bytes of a u64, keeping their order.
    let x = ((x & 0xffff_0000) << 16) | (x & 0xffff);
    let x = ((x & 0x0000_ff00_0000_ff00) << 8) | (x & 0x0000_00ff_0000_00ff);
    let x = ((x & 0x00f0_00f0_00f0_00f0) << 4) | (x & 0x000f_000f_000f_000f);
    // Nibbles 10..=15 get the extra offset from '0'+10 to 'a'.
    let letters = ((x + 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101;
    (x + 0x3030_3030_3030_3030 + letters * 39).to_be_bytes()
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

    /// The same text as bytes (no UTF-8 check, for callers copying it on).
    pub fn as_bytes(&self) -> &[u8; XRAY_TRACE_ID_LEN] {
        &self.0
    }
}

impl fmt::Debug for EncodedTraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// Why a string is not an X-Ray trace ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
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
#[non_exhaustive]
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

#[cfg(test)]
mod hex_tests {
    use super::*;

    /// The SWAR paths agree with a byte-at-a-time reference on every byte value
    /// in every position.
    #[test]
    fn swar_hex_matches_reference() {
        let reference = |s: &[u8]| -> Result<u64, usize> {
            s.iter().enumerate().try_fold(0u64, |v, (i, &b)| {
                let d = (b as char).to_digit(16).ok_or(i)?;
                Ok((v << 4) | u64::from(d))
            })
        };
        let base = *b"0123456789abcDEF";
        for pos in 0..16 {
            for b in 0..=255u8 {
                let mut s = base;
                s[pos] = b;
                assert_eq!(hex_u64(&s), reference(&s), "byte {b:#x} at {pos}");
                assert_eq!(hex_u64(&s[..8]), reference(&s[..8]));
                assert_eq!(hex_u64(&s[..5]), reference(&s[..5]));
            }
        }
        for v in [0u32, 1, 0x9abc_def0, u32::MAX, 0x0a0b_0c0d] {
            assert_eq!(&hex_word(v), format!("{v:08x}").as_bytes());
        }
    }
}

#[cfg(test)]
mod hex8_tests {
    use super::hex8;

    /// Every single-byte change of a valid group, in every position.
    #[test]
    fn hex8_accepts_exactly_hex_digits() {
        let base = *b"09afAF5c";
        for pos in 0..8 {
            for b in 0..=255u8 {
                let mut g = base;
                g[pos] = b;
                let want = std::str::from_utf8(&g)
                    .ok()
                    .filter(|t| t.bytes().all(|c| c.is_ascii_hexdigit()))
                    .map(|t| u32::from_str_radix(t, 16).unwrap());
                assert_eq!(hex8(&g), want, "{g:?}");
            }
        }
    }
}

#[cfg(test)]
mod hex8_props {
    use super::hex8;
    use proptest::prelude::*;

    /// The simple decoder: one digit at a time.
    fn per_digit(group: &[u8]) -> Option<u32> {
        group
            .iter()
            .try_fold(0u32, |v, &b| Some((v << 4) | (b as char).to_digit(16)?))
    }

    /// Mostly hex digits, so that a group has one or two bad bytes among
    /// good ones: near misses (the bytes next to each class, letters just past
    /// `f`) or any byte at all.
    fn byte() -> impl Strategy<Value = u8> {
        prop_oneof![
            12 => prop::sample::select(b"0123456789abcdefABCDEF".to_vec()),
            1 => prop::sample::select(b"/:@`GgOoPp".to_vec()),
            1 => any::<u8>(),
        ]
    }

    proptest! {
        /// Groups with any number of bad bytes, anywhere.
        #[test]
        fn hex8_matches_the_per_digit_decoder(group in prop::array::uniform8(byte())) {
            prop_assert_eq!(hex8(&group), per_digit(&group));
        }
    }
}
