//! The glob patterns of X-Ray sampling rules.
//!
//! X-Ray rule fields (service name, host, URL path, attribute values, ...) are globs: `*` matches any
//! run of characters (possibly empty), `?` exactly one character, everything else itself, compared
//! case-insensitively over the *whole* value. A value the span does not carry at all matches only a
//! pattern made of `*` alone, so a rule that names a host never matches a span without one.

use crate::ascii_glob::AsciiGlob;

/// A rule field compiled once when the rule set is loaded, so matching allocates nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pattern {
    /// Only `*` characters: matches anything, including an absent value.
    Any,
    /// No wildcard: case-insensitive equality.
    Exact { text: String, ascii: bool },
    /// Contains `*` or `?`.
    Glob(Glob),
}

/// A glob with the cheap facts that reject most non-matching values before the full match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Glob {
    chars: Vec<char>,
    /// Literal ASCII characters before the first wildcard.
    prefix: Box<[u8]>,
    /// Literal ASCII characters after the last wildcard.
    suffix: Box<[u8]>,
    /// Characters other than `*`; a value needs at least this many bytes.
    min_len: usize,
    /// The byte-wise form, when the pattern is ASCII (used for ASCII values).
    ascii: Option<AsciiGlob>,
}

impl Glob {
    fn new(pattern: &str) -> Self {
        let literal = |c: &char| c.is_ascii() && *c != '*' && *c != '?';
        let prefix: Vec<u8> = pattern
            .chars()
            .take_while(literal)
            .map(|c| c as u8)
            .collect();
        let mut suffix: Vec<u8> = pattern
            .chars()
            .rev()
            .take_while(literal)
            .map(|c| c as u8)
            .collect();
        suffix.reverse();
        Self {
            chars: pattern.chars().collect(),
            prefix: prefix.into(),
            suffix: suffix.into(),
            min_len: pattern.chars().filter(|&c| c != '*').count(),
            ascii: AsciiGlob::new(pattern),
        }
    }

    /// The first literal byte rejects most values; checked inline, the rest out of line.
    #[inline(always)]
    fn matches(&self, text: &str) -> bool {
        let bytes = text.as_bytes();
        if let (Some(&p), Some(&t)) = (self.prefix.first(), bytes.first()) {
            if t.is_ascii() && !t.eq_ignore_ascii_case(&p) {
                return false;
            }
        }
        self.matches_rest(bytes, text)
    }

    #[inline(never)]
    fn matches_rest(&self, bytes: &[u8], text: &str) -> bool {
        bytes.len() >= self.min_len
            && literal_may_match(bytes.get(..self.prefix.len()), &self.prefix)
            && literal_may_match(
                bytes.get(bytes.len().wrapping_sub(self.suffix.len())..),
                &self.suffix,
            )
            && match &self.ascii {
                Some(glob) if bytes.is_ascii() => glob.matches(bytes),
                _ => glob_match(&self.chars, text),
            }
    }
}

/// Compares a literal ASCII part of the pattern with the value's bytes at the same place (`None`:
/// the value is shorter). `false` only when the value certainly does not match; a non-ASCII value
/// byte leaves the decision to the full (Unicode case-folding) match.
#[inline]
fn literal_may_match(value: Option<&[u8]>, literal: &[u8]) -> bool {
    match value {
        // All value bytes before the literal's end are ASCII here only if the value is ASCII
        // there; a shorter all-ASCII value has fewer characters than the literal.
        None => false,
        Some(v) => v.eq_ignore_ascii_case(literal) || !v.is_ascii(),
    }
}

impl Pattern {
    /// Compiles a rule field.
    pub(crate) fn new(pattern: &str) -> Self {
        if !pattern.is_empty() && pattern.chars().all(|c| c == '*') {
            Pattern::Any
        } else if pattern.contains(['*', '?']) {
            Pattern::Glob(Glob::new(pattern))
        } else {
            Pattern::Exact {
                text: pattern.to_owned(),
                ascii: pattern.is_ascii(),
            }
        }
    }

    /// Whether the pattern accepts everything (the rule does not constrain this field).
    pub(crate) fn is_any(&self) -> bool {
        matches!(self, Pattern::Any)
    }

    /// Matches a present value. Inlined into the rule loop: most checks end at a length or first
    /// byte comparison.
    #[inline(always)]
    pub(crate) fn matches(&self, text: &str) -> bool {
        match self {
            Pattern::Any => true,
            // An ASCII pattern needs one value character per byte: a value of the same length
            // compares bytewise; a shorter one cannot match; a longer one only with non-ASCII
            // characters that fold to ASCII (e.g. the Kelvin sign).
            Pattern::Exact {
                text: p,
                ascii: true,
            } => match text.len().cmp(&p.len()) {
                std::cmp::Ordering::Equal => text.as_bytes().eq_ignore_ascii_case(p.as_bytes()),
                std::cmp::Ordering::Less => false,
                std::cmp::Ordering::Greater => longer_value_matches(p, text),
            },
            Pattern::Exact { text: p, .. } => eq_ignore_case(p, text),
            Pattern::Glob(g) => g.matches(text),
        }
    }

    /// Matches a value the span may not carry.
    #[inline(always)]
    pub(crate) fn matches_opt(&self, text: Option<&str>) -> bool {
        match text {
            Some(t) => self.matches(t),
            None => self.is_any(),
        }
    }
}

/// The first (up to) 8 bytes of a span value, lowercased and zero-padded, for [`PrefixFilter`];
/// `None` when a byte there is not ASCII (the filter then leaves the value to the full match).
#[inline]
pub(crate) fn prefix_word(value: &str) -> Option<u64> {
    let bytes = value.as_bytes();
    let word = match bytes.first_chunk::<8>() {
        Some(head) => u64::from_le_bytes(*head),
        // Byte by byte: a variable-length copy would be a `memcpy` call.
        None => bytes
            .iter()
            .rev()
            .fold(0u64, |word, &b| (word << 8) | u64::from(b)),
    };
    if word & (BYTE_ONES * 0x80) != 0 {
        return None;
    }
    Some(ascii_lowercase_word(word))
}

const BYTE_ONES: u64 = 0x0101_0101_0101_0101;

/// Lowercases 8 ASCII bytes at once: every byte is below 0x80, so adding at most 0x3f to each never
/// carries into the next, and a byte's high bit then tells whether it reached the threshold.
#[inline]
fn ascii_lowercase_word(word: u64) -> u64 {
    let at_least_a = word + BYTE_ONES * (0x80 - u64::from(b'A'));
    let above_z = word + BYTE_ONES * (0x7f - u64::from(b'Z'));
    let upper = at_least_a & !above_z & (BYTE_ONES * 0x80);
    // 0x80 >> 2 is the ASCII case bit.
    word | (upper >> 2)
}

/// The literal ASCII start of a pattern (up to 8 bytes) as a masked word: comparing it with
/// [`prefix_word`] rejects most non-matching rules without touching the rule's patterns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PrefixFilter {
    value: u64,
    mask: u64,
}

impl PrefixFilter {
    pub(crate) fn of(pattern: &Pattern) -> Self {
        let literal: &[u8] = match pattern {
            Pattern::Any => &[],
            Pattern::Exact { text, .. } => text.as_bytes(),
            Pattern::Glob(g) => &g.prefix,
        };
        let mut value = [0u8; 8];
        let mut mask = [0u8; 8];
        for ((v, m), &b) in value.iter_mut().zip(mask.iter_mut()).zip(literal) {
            if !b.is_ascii() {
                break;
            }
            *v = b.to_ascii_lowercase();
            *m = 0xff;
        }
        Self {
            value: u64::from_le_bytes(value),
            mask: u64::from_le_bytes(mask),
        }
    }

    /// The literal start, lowercased, in the low bytes (the rest zero).
    pub(crate) fn value(&self) -> u64 {
        self.value
    }

    /// `0xff` for each byte of the literal start: zero when the pattern starts with a wildcard or a
    /// non-ASCII character, so every present value may match.
    pub(crate) fn mask(&self) -> u64 {
        self.mask
    }

    /// `false` only if a value with this [`prefix_word`] certainly does not match the pattern. A
    /// value shorter than the literal is zero-padded, which differs from every literal byte except
    /// NUL, and a shorter value cannot match an ASCII literal (one character per byte). The rule
    /// tables apply the same test by lookup; this form pins it in tests.
    #[cfg(test)]
    pub(crate) fn admits(&self, word: u64) -> bool {
        word & self.mask == self.value
    }
}

#[inline(never)]
fn longer_value_matches(pattern: &str, text: &str) -> bool {
    !text.is_ascii() && eq_ignore_case(pattern, text)
}

fn chars_eq(a: char, b: char) -> bool {
    a == b
        || if a.is_ascii() && b.is_ascii() {
            a.eq_ignore_ascii_case(&b)
        } else {
            a.to_lowercase().eq(b.to_lowercase())
        }
}

fn eq_ignore_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    let mut x = a.chars();
    let mut y = b.chars();
    loop {
        match (x.next(), y.next()) {
            (None, None) => return true,
            (Some(c), Some(d)) if chars_eq(c, d) => {}
            _ => return false,
        }
    }
}

/// Whole-string glob match; backtracks only to the last `*`, so the cost is bounded by
/// `pattern.len() * text.len()` character steps and nothing is allocated.
pub(crate) fn glob_match(pattern: &[char], text: &str) -> bool {
    let mut p = 0usize;
    let mut t = 0usize;
    // (pattern index after the last `*`, text byte index that `*` currently extends to)
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        let Some(c) = text[t..].chars().next() else {
            return false;
        };
        match pattern.get(p) {
            Some('*') => {
                p += 1;
                star = Some((p, t));
                continue;
            }
            Some(&pc) if pc == '?' || chars_eq(pc, c) => {
                p += 1;
                t += c.len_utf8();
                continue;
            }
            _ => {}
        }
        let Some((after_star, covered)) = star else {
            return false;
        };
        let Some(skipped) = text[covered..].chars().next() else {
            return false;
        };
        let next = covered + skipped.len_utf8();
        star = Some((after_star, next));
        p = after_star;
        t = next;
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn glob_table() {
        let table: &[(&str, &str, bool)] = &[
            ("*", "", true),
            ("*", "anything", true),
            ("", "", true),
            ("", "a", false),
            ("a", "", false),
            ("abc", "ABC", true),
            ("abc", "abcd", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("a?c", "a€c", true),
            ("/api/*", "/api/users/1", true),
            ("/api/*", "/apx/users", false),
            ("/api/*", "/api/", true),
            ("*/users", "/api/users", true),
            ("*/users", "/api/users/2", false),
            ("*a*b*", "xxaxxbxx", true),
            ("*a*b*", "xxbxxaxx", false),
            ("a*a*a", "aaaa", true),
            ("a*a*a", "aa", false),
            ("??", "ab", true),
            ("??", "a", false),
            ("???", "a€b", true),
            ("GET", "get", true),
            ("ÄPFEL", "äpfel", true),
            ("*.example.com", "WWW.EXAMPLE.COM", true),
            ("*.example.com", "example.com", false),
            ("**", "", true),
            ("k", "\u{212A}", true),
            ("a*k", "a\u{212A}", true),
            ("a*k", "ax", false),
            ("k?", "\u{212A}x", true),
            ("ab*ba", "aba", false),
            ("ab*ba", "abba", true),
            ("x?", "x", false),
            ("a**", "a", true),
            ("*?", "", false),
            ("*?", "x", true),
        ];
        for &(pattern, text, expected) in table {
            let compiled = Pattern::new(pattern);
            assert_eq!(
                compiled.matches(text),
                expected,
                "pattern {pattern:?} text {text:?}"
            );
        }
    }

    #[test]
    fn absent_value_matches_only_star() {
        assert!(Pattern::new("*").matches_opt(None));
        assert!(Pattern::new("***").matches_opt(None));
        assert!(!Pattern::new("").matches_opt(None));
        assert!(!Pattern::new("*?").matches_opt(None));
        assert!(!Pattern::new("GET").matches_opt(None));
    }

    #[test]
    fn prefix_filter_table() {
        let table: &[(&str, Option<&str>, bool)] = &[
            ("/api/v1/*", Some("/API/V1/users"), true),
            ("/api/v1/*", Some("/api/other"), false),
            ("/api/v1/*", Some("/api"), false),
            ("*", Some("anything"), true),
            ("GET", Some("get"), true),
            ("GET", Some("POST"), false),
            ("GET", Some("GETX"), true),
            ("GET", None, true),
            ("k", Some("\u{212A}"), true),
            ("abcdefghij", Some("ABCDEFGHxx"), true),
        ];
        for &(pattern, value, admitted) in table {
            let f = PrefixFilter::of(&Pattern::new(pattern));
            // An absent value or a non-ASCII start is left to the full match.
            let admits = value.and_then(prefix_word).is_none_or(|w| f.admits(w));
            assert_eq!(admits, admitted, "{pattern:?} {value:?}");
        }
    }

    /// Reference semantics by dynamic programming, to check the backtracking matcher against.
    fn reference(pattern: &str, text: &str) -> bool {
        let p: Vec<char> = pattern.chars().collect();
        let t: Vec<char> = text.chars().collect();
        let mut dp = vec![vec![false; t.len() + 1]; p.len() + 1];
        dp[0][0] = true;
        for i in 1..=p.len() {
            dp[i][0] = dp[i - 1][0] && p[i - 1] == '*';
            for j in 1..=t.len() {
                dp[i][j] = match p[i - 1] {
                    '*' => dp[i - 1][j] || dp[i][j - 1],
                    '?' => dp[i - 1][j - 1],
                    c => dp[i - 1][j - 1] && chars_eq(c, t[j - 1]),
                };
            }
        }
        dp[p.len()][t.len()]
    }

    #[test]
    fn prefix_word_lowercases_ascii_only() {
        for b in 0u8..0x80 {
            let text = [b'x', b, b'Z', b'@', b'[', b'a', b'`', b'{', b'Q'];
            let text = std::str::from_utf8(&text).expect("ascii");
            let mut expected = [0u8; 8];
            for (e, c) in expected.iter_mut().zip(text.bytes()) {
                *e = c.to_ascii_lowercase();
            }
            assert_eq!(
                prefix_word(text),
                Some(u64::from_le_bytes(expected)),
                "{b:#x}"
            );
        }
        assert_eq!(prefix_word(""), Some(0));
        assert_eq!(
            prefix_word("aB"),
            Some(u64::from_le_bytes(*b"ab\0\0\0\0\0\0"))
        );
        assert_eq!(prefix_word("abcdefg\u{e9}"), None);
        assert!(prefix_word("abcdefgh\u{e9}").is_some());
    }

    proptest! {
        #[test]
        fn matches_reference(pattern in "[abk*?é]{0,8}", text in "[abAé\u{212A}K]{0,10}") {
            prop_assert_eq!(Pattern::new(&pattern).matches(&text), reference(&pattern, &text));
        }

        #[test]
        fn ascii_matches_reference(pattern in "[abAB*?/.]{0,12}", text in "[abAB/.]{0,16}") {
            prop_assert_eq!(Pattern::new(&pattern).matches(&text), reference(&pattern, &text));
        }

        #[test]
        fn printable_ascii_matches_reference(pattern in "[ -~]{0,24}", text in "[ -~]{0,48}") {
            prop_assert_eq!(Pattern::new(&pattern).matches(&text), reference(&pattern, &text));
        }

        #[test]
        fn prefix_filter_never_rejects_a_match(pattern in "[abk*?é/]{0,10}", text in "[abAé\u{212A}K/]{0,12}") {
            let compiled = Pattern::new(&pattern);
            if compiled.matches(&text) {
                prop_assert!(prefix_word(&text).is_none_or(|w| PrefixFilter::of(&compiled).admits(w)));
            }
        }

        #[test]
        fn hostile_input_never_panics(pattern in "\\PC{0,40}", text in "\\PC{0,200}") {
            let _ = Pattern::new(&pattern).matches(&text);
        }
    }
}
