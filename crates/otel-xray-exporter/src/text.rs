//! Text helpers shared by every block: cutting a string to a char limit, finding a URL's
//! authority.

use std::borrow::Cow;

use crate::translate_stats::TranslationCounts;

/// Appended to every string the translator cuts.
pub const TRUNCATION_MARK: char = '…';

/// `s` cut to at most `max_chars` chars (the last being [`TRUNCATION_MARK`]).
// The common case, a string whose bytes alone fit, is inlined: callers then
// keep the string where it is instead of moving it through a call and back.
#[inline]
pub(crate) fn truncate<'a>(
    s: Cow<'a, str>,
    max_chars: usize,
    tally: &mut TranslationCounts,
) -> Cow<'a, str> {
    if s.len() <= max_chars {
        return s;
    }
    truncate_chars(s, max_chars, tally)
}

/// [`truncate`] for a string with more bytes than `max_chars`.
fn truncate_chars<'a>(
    s: Cow<'a, str>,
    max_chars: usize,
    tally: &mut TranslationCounts,
) -> Cow<'a, str> {
    let Some((cut, _)) = s.char_indices().nth(max_chars.saturating_sub(1)) else {
        return s;
    };
    if s[cut..].chars().nth(1).is_none() {
        // Exactly `max_chars` chars: fits.
        return s;
    }
    tally.strings_truncated += 1;
    let mut out = match s {
        Cow::Borrowed(b) => String::from(&b[..cut]),
        Cow::Owned(mut o) => {
            o.truncate(cut);
            o
        }
    };
    out.push(TRUNCATION_MARK);
    Cow::Owned(out)
}

/// Where the authority of `url` starts: just after the first `://`.
///
/// `str::find("://")` sets up a two-way string search on every call, about 350 instructions
/// for an `http.url` (callgrind on the daemon's OTLP load); looking for each `:` and checking
/// what follows costs a few dozen.
pub(crate) fn authority_start(url: &str) -> Option<usize> {
    url.match_indices(':')
        .map(|(i, _)| i)
        .find(|&i| url[i..].starts_with("://"))
        .map(|i| i + 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_counts_chars_and_marks() {
        let mut t = TranslationCounts::default();
        assert_eq!(truncate(Cow::Borrowed("abc"), 3, &mut t), "abc");
        assert_eq!(truncate(Cow::Borrowed("éééé"), 4, &mut t), "éééé");
        assert_eq!(t.strings_truncated, 0);
        assert_eq!(truncate(Cow::Borrowed("abcdef"), 4, &mut t), "abc…");
        assert_eq!(truncate(Cow::Owned("ééééé".into()), 3, &mut t), "éé…");
        assert_eq!(t.strings_truncated, 2);
    }

    proptest::proptest! {
        #[test]
        fn authority_start_is_after_the_first_scheme_separator(url in "[a-z:/@?#é]{0,24}") {
            proptest::prop_assert_eq!(authority_start(&url), url.find("://").map(|i| i + 3));
        }
    }
}
