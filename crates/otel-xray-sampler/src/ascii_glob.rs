//! ASCII globs matched segment by segment.
//!
//! A glob is literal segments (which may hold `?`) separated by runs of `*`. When pattern and value
//! are both ASCII, a match is: the first segment at the start (unless the glob starts with `*`), the
//! last at the end (unless it ends with `*`), and every segment in between found left to right, each
//! at its leftmost place after the previous one. Taking the leftmost place never loses a match, so
//! there is no backtracking, and each comparison is one byte, case-folded. Rules like `*/api/*` or
//! `*.example.com` are the common case; the character-by-character glob in `matcher` stays for
//! Unicode values, where `?` is one character of several bytes and case folding crosses scripts.

/// An all-ASCII glob, lowercased, split at its `*`s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AsciiGlob {
    /// The non-empty runs between `*`s, lowercased; `?` kept as the one-byte wildcard.
    segments: Vec<Box<[u8]>>,
    /// The glob does not start with `*`: the first segment is anchored at the start.
    anchored_start: bool,
    /// The glob does not end with `*`: the last segment is anchored at the end.
    anchored_end: bool,
    /// The glob has no `*`: one segment, the whole value.
    starless: bool,
}

impl AsciiGlob {
    /// `None` when the pattern is not all ASCII (or empty).
    pub(crate) fn new(pattern: &str) -> Option<Self> {
        if pattern.is_empty() || !pattern.is_ascii() {
            return None;
        }
        let segments = pattern
            .as_bytes()
            .split(|&b| b == b'*')
            .filter(|s| !s.is_empty())
            .map(|s| s.to_ascii_lowercase().into_boxed_slice())
            .collect();
        Some(Self {
            segments,
            anchored_start: !pattern.starts_with('*'),
            anchored_end: !pattern.ends_with('*'),
            starless: !pattern.contains('*'),
        })
    }

    /// Whether the ASCII `value` matches.
    pub(crate) fn matches(&self, value: &[u8]) -> bool {
        let mut segments = &self.segments[..];
        if self.starless {
            return match segments {
                [only] => only.len() == value.len() && at(value, only),
                _ => false,
            };
        }
        let mut rest = value;
        if self.anchored_start {
            let Some((first, others)) = segments.split_first() else {
                return false;
            };
            if !at(rest, first) {
                return false;
            }
            rest = &rest[first.len()..];
            segments = others;
        }
        if self.anchored_end {
            let Some((last, others)) = segments.split_last() else {
                // The glob ends with a literal, so it has a last segment unless it was the first
                // one, which a glob with a `*` cannot be when both ends are anchored.
                return false;
            };
            let Some(start) = rest.len().checked_sub(last.len()) else {
                return false;
            };
            if !at(&rest[start..], last) {
                return false;
            }
            rest = &rest[..start];
            segments = others;
        }
        for segment in segments {
            match find(rest, segment) {
                Some(i) => rest = &rest[i + segment.len()..],
                None => return false,
            }
        }
        true
    }
}

/// Whether `segment` matches at the start of `value`.
#[inline]
fn at(value: &[u8], segment: &[u8]) -> bool {
    value.len() >= segment.len()
        && segment
            .iter()
            .zip(value)
            .all(|(&p, &v)| p == b'?' || p == v.to_ascii_lowercase())
}

/// The leftmost place of `segment` in `value`: candidates are found by the segment's first byte, so
/// most positions cost one comparison.
fn find(value: &[u8], segment: &[u8]) -> Option<usize> {
    let last_start = value.len().checked_sub(segment.len())?;
    let (&first, tail) = segment.split_first()?;
    if first == b'?' {
        return (0..=last_start).find(|&i| at(&value[i..], segment));
    }
    let mut i = 0;
    while i <= last_start {
        i += value[i..=last_start]
            .iter()
            .position(|&v| v.to_ascii_lowercase() == first)?;
        if at(&value[i + 1..], tail) {
            return Some(i);
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_and_anchors() {
        let table: &[(&str, &str, bool)] = &[
            ("*/v1/*", "/api/v1/users", true),
            ("*/v1/*", "/api/v2/users", false),
            ("*.example.com", "WWW.Example.COM", true),
            ("*.example.com", "example.com", false),
            ("a*a", "a", false),
            ("a*a", "aa", true),
            ("ab*ba", "aba", false),
            ("a?c", "abc", true),
            ("a?c", "abbc", false),
            ("*a?c*", "xxabcxx", true),
            ("**x", "yx", true),
            ("x**", "xy", true),
            ("*?", "", false),
            ("?*?", "ab", true),
            ("a*b*c", "abbbc", true),
            ("a*b*c", "acb", false),
        ];
        for &(pattern, value, expected) in table {
            let glob = AsciiGlob::new(pattern).expect("ascii");
            assert_eq!(
                glob.matches(value.as_bytes()),
                expected,
                "{pattern:?} {value:?}"
            );
        }
        assert_eq!(AsciiGlob::new("caf\u{e9}*"), None);
    }
}
