//! The glob patterns of X-Ray sampling rules.
//!
//! X-Ray rule fields (service name, host, URL path, attribute values, ...) are globs: `*` matches any
//! run of characters (possibly empty), `?` exactly one character, everything else itself, compared
//! case-insensitively over the *whole* value. A value the span does not carry at all matches only a
//! pattern made of `*` alone, so a rule that names a host never matches a span without one.

/// A rule field compiled once when the rule set is loaded, so matching allocates nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pattern {
    /// Only `*` characters: matches anything, including an absent value.
    Any,
    /// No wildcard: case-insensitive equality.
    Exact(String),
    /// Contains `*` or `?`.
    Glob(Vec<char>),
}

impl Pattern {
    /// Compiles a rule field.
    pub(crate) fn new(pattern: &str) -> Self {
        if !pattern.is_empty() && pattern.chars().all(|c| c == '*') {
            Pattern::Any
        } else if pattern.contains(['*', '?']) {
            Pattern::Glob(pattern.chars().collect())
        } else {
            Pattern::Exact(pattern.to_owned())
        }
    }

    /// Whether the pattern accepts everything (the rule does not constrain this field).
    pub(crate) fn is_any(&self) -> bool {
        matches!(self, Pattern::Any)
    }

    /// Matches a present value.
    pub(crate) fn matches(&self, text: &str) -> bool {
        match self {
            Pattern::Any => true,
            Pattern::Exact(p) => eq_ignore_case(p, text),
            Pattern::Glob(p) => glob_match(p, text),
        }
    }

    /// Matches a value the span may not carry.
    pub(crate) fn matches_opt(&self, text: Option<&str>) -> bool {
        match text {
            Some(t) => self.matches(t),
            None => self.is_any(),
        }
    }
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

    proptest! {
        #[test]
        fn matches_reference(pattern in "[ab*?é]{0,8}", text in "[abAé]{0,10}") {
            prop_assert_eq!(Pattern::new(&pattern).matches(&text), reference(&pattern, &text));
        }

        #[test]
        fn hostile_input_never_panics(pattern in "\\PC{0,40}", text in "\\PC{0,200}") {
            let _ = Pattern::new(&pattern).matches(&text);
        }
    }
}
