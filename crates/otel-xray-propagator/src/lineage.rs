//! The `Lineage` field of the trace header, in its V2 form `counter:hash:counter`.

use std::fmt;

/// Longest V2 lineage: 5 digits, `:`, 8 hex digits, `:`, 3 digits.
const MAX_LEN: usize = 18;
/// Shortest V2 lineage: 1 digit, `:`, 8 hex digits, `:`, 1 digit.
const MIN_LEN: usize = 12;

/// A validated V2 `Lineage` value, `{0..=32767}:{8 lower-case hex}:{0..=255}`.
///
/// AWS services use it to detect request loops (for example a Lambda function that
/// triggers itself through a queue). The propagator does not interpret it: it is
/// validated on extract and written back unchanged, byte for byte, on inject for
/// every span of the same trace. Stored inline, so it is `Copy` and never allocates.
///
/// ```
/// use otel_xray_propagator::Lineage;
///
/// let lineage: Lineage = "25:a87bd80c:1".parse()?;
/// assert_eq!(lineage.first_counter(), 25);
/// assert_eq!(lineage.hash(), "a87bd80c");
/// assert_eq!(lineage.second_counter(), 1);
/// assert_eq!(lineage.as_str(), "25:a87bd80c:1");
/// assert!("25:A87BD80C:1".parse::<Lineage>().is_err());
/// # Ok::<(), otel_xray_propagator::LineageError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Lineage {
    text: [u8; MAX_LEN],
    len: u8,
    first: u16,
    second: u8,
}

impl Lineage {
    /// Parses the V2 form; see [`LineageError`] for what is rejected.
    pub fn parse_bytes(s: &[u8]) -> Result<Self, LineageError> {
        if !(MIN_LEN..=MAX_LEN).contains(&s.len()) {
            return Err(LineageError::Length { len: s.len() });
        }
        let mut parts = s.splitn(3, |&b| b == b':');
        let (Some(first), Some(hash), Some(second)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(LineageError::Separators);
        };
        if second.contains(&b':') {
            return Err(LineageError::Separators);
        }
        let first = decimal(first, 5)
            .filter(|&v| v <= 32_767)
            .ok_or(LineageError::FirstCounter)?;
        if hash.len() != 8 || !hash.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(LineageError::Hash);
        }
        let second = decimal(second, 3)
            .filter(|&v| v <= 255)
            .ok_or(LineageError::SecondCounter)?;
        let mut text = [0u8; MAX_LEN];
        text[..s.len()].copy_from_slice(s);
        Ok(Self {
            text,
            len: s.len() as u8,
            first: first as u16,
            second: second as u8,
        })
    }

    /// The value exactly as received.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits, hex digits and `:` pass validation.
        std::str::from_utf8(&self.text[..usize::from(self.len)]).unwrap_or_default()
    }

    /// The first counter (0 to 32767).
    pub fn first_counter(&self) -> u16 {
        self.first
    }

    /// The 8-hex-digit hash between the counters.
    pub fn hash(&self) -> &str {
        let s = self.as_str();
        let start = s.find(':').map_or(0, |i| i + 1);
        s.get(start..start + 8).unwrap_or_default()
    }

    /// The second counter (0 to 255).
    pub fn second_counter(&self) -> u8 {
        self.second
    }
}

/// 1 to `max_digits` ASCII decimal digits, no sign.
fn decimal(s: &[u8], max_digits: usize) -> Option<u32> {
    if s.is_empty() || s.len() > max_digits {
        return None;
    }
    s.iter().try_fold(0u32, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

impl std::str::FromStr for Lineage {
    type Err = LineageError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_bytes(s.as_bytes())
    }
}

impl fmt::Display for Lineage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Lineage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Lineage({})", self.as_str())
    }
}

/// Why a `Lineage` value is not the V2 form. The header itself stays valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LineageError {
    /// Not 12 to 18 characters long.
    Length {
        /// Length of the value in bytes.
        len: usize,
    },
    /// Not exactly two `:` separators.
    Separators,
    /// The first counter is not a decimal number from 0 to 32767.
    FirstCounter,
    /// The middle part is not 8 lower-case hex digits.
    Hash,
    /// The second counter is not a decimal number from 0 to 255.
    SecondCounter,
}

impl fmt::Display for LineageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Length { len } => write!(f, "lineage is {len} bytes, expected 12 to 18"),
            Self::Separators => f.write_str("lineage does not have exactly two `:` separators"),
            Self::FirstCounter => f.write_str("lineage first counter is not 0 to 32767"),
            Self::Hash => f.write_str("lineage hash is not 8 lower-case hex digits"),
            Self::SecondCounter => f.write_str("lineage second counter is not 0 to 255"),
        }
    }
}

impl std::error::Error for LineageError {}
