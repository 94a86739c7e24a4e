//! Parsing, formatting and epoch-window rules of `XrayTraceId` and span IDs.

use std::time::{Duration, UNIX_EPOCH};

use opentelemetry::trace::TraceId;
use otel_xray_id::{
    parse_span_id, EpochWindow, EpochWindowError, ParseSpanIdError, ParseTraceIdError, XrayTraceId,
};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use regex::Regex;

const GOOD: &str = "1-5759e988-bd862e3fe1be46a994272793";

#[test]
fn canonical_form_round_trips_to_the_same_otel_trace_id() {
    let id: XrayTraceId = GOOD.parse().unwrap();
    assert_eq!(
        id.trace_id(),
        TraceId::from_hex("5759e988bd862e3fe1be46a994272793").unwrap()
    );
    assert_eq!(id.to_string(), GOOD);
    assert_eq!(id.encode().as_str(), GOOD);
    assert_eq!(id.epoch_seconds(), 0x5759_e988);
    assert_eq!(id.random_part(), 0xbd86_2e3f_e1be_46a9_9427_2793);
}

#[test]
fn upper_case_is_accepted_and_normalised() {
    let id: XrayTraceId = "1-5759E988-BD862E3FE1BE46A994272793".parse().unwrap();
    assert_eq!(id.to_string(), GOOD);
}

#[test]
fn short_epoch_is_left_padded() {
    let id: XrayTraceId = "1-59e988-bd862e3fe1be46a994272793".parse().unwrap();
    assert_eq!(id.to_string(), "1-0059e988-bd862e3fe1be46a994272793");
    let one_digit: XrayTraceId = "1-a-bd862e3fe1be46a994272793".parse().unwrap();
    assert_eq!(one_digit.epoch_seconds(), 10);
}

#[test]
fn every_malformed_form_is_rejected_with_its_reason() {
    use ParseTraceIdError::*;
    let cases: &[(&str, ParseTraceIdError)] = &[
        ("", Empty),
        ("1-5759e988-bd862e3fe1be46a9942727930", TooLong { len: 36 }),
        (" 1-5759e988-bd862e3fe1be46a994272793", TooLong { len: 36 }),
        ("2-5759e988-bd862e3fe1be46a994272793", UnsupportedVersion),
        ("15759e988-bd862e3fe1be46a994272793", UnsupportedVersion),
        ("x", UnsupportedVersion),
        ("1", UnsupportedVersion),
        ("1-5759e988bd862e3fe1be46a994272793", MissingDelimiter),
        ("1--bd862e3fe1be46a994272793", EpochLength { len: 0 }),
        (
            "1-5759e9880-bd862e3fe1be46a99427279",
            EpochLength { len: 9 },
        ),
        (
            "1-5759e988-bd862e3fe1be46a99427279",
            RandomLength { len: 23 },
        ),
        (
            "1-5759e988-bd862e3fe1be46a9942727-3",
            InvalidHex { position: 33 },
        ),
        (
            "1-575988-bd862e3fe1be46a99427279312",
            RandomLength { len: 26 },
        ),
        (
            "1-5759g988-bd862e3fe1be46a994272793",
            InvalidHex { position: 6 },
        ),
        (
            "1-5759e988-bd862e3fe1be46a99427279z",
            InvalidHex { position: 34 },
        ),
        (
            "1-+759e988-bd862e3fe1be46a994272793",
            InvalidHex { position: 2 },
        ),
        (
            "1-5759e988-bd862e3fe1be46a99427279\u{e9}",
            TooLong { len: 36 },
        ),
        ("1-00000000-000000000000000000000000", Zero),
        ("1-0-000000000000000000000000", Zero),
    ];
    for (input, want) in cases {
        assert_eq!(input.parse::<XrayTraceId>(), Err(*want), "input {input:?}");
        // Every error explains itself.
        assert!(!want.to_string().is_empty());
    }
}

#[test]
fn zero_trace_id_has_no_xray_form() {
    assert_eq!(XrayTraceId::from_trace_id(TraceId::INVALID), None);
    assert_eq!(
        XrayTraceId::try_from(TraceId::INVALID),
        Err(ParseTraceIdError::Zero)
    );
}

#[test]
fn span_ids_are_sixteen_nonzero_hex_digits() {
    assert_eq!(
        parse_span_id("53995c3f42cd8ad8").unwrap().to_string(),
        "53995c3f42cd8ad8"
    );
    assert_eq!(
        parse_span_id("53995c3f42cd8ad"),
        Err(ParseSpanIdError::Length { len: 15 })
    );
    assert_eq!(
        parse_span_id("+3995c3f42cd8ad8"),
        Err(ParseSpanIdError::InvalidHex { position: 0 })
    );
    assert_eq!(
        parse_span_id("0000000000000000"),
        Err(ParseSpanIdError::Zero)
    );
}

#[test]
fn epoch_window_reports_age_and_skew_without_rejecting_by_default() {
    let id = XrayTraceId::from_parts(2_000_000_000, 1).unwrap();
    let at = |s: u64| UNIX_EPOCH + Duration::from_secs(s);
    assert_eq!(id.check_epoch(at(2_000_000_000), EpochWindow::XRAY), Ok(()));
    assert_eq!(
        id.check_epoch(at(2_000_000_000 - 300), EpochWindow::XRAY),
        Ok(())
    );
    assert_eq!(
        id.check_epoch(at(2_000_000_000 - 301), EpochWindow::XRAY),
        Err(EpochWindowError::InFuture { seconds_ahead: 301 })
    );
    let thirty_days = 30 * 86_400;
    assert_eq!(
        id.check_epoch(at(2_000_000_000 + thirty_days), EpochWindow::XRAY),
        Ok(())
    );
    assert_eq!(
        id.check_epoch(at(2_000_000_000 + thirty_days + 1), EpochWindow::XRAY),
        Err(EpochWindowError::TooOld {
            age_seconds: thirty_days + 1
        })
    );
}

proptest! {
    #[test]
    fn format_then_parse_is_identity(epoch in any::<u32>(), random in any::<u128>()) {
        prop_assume!(XrayTraceId::from_parts(epoch, random).is_some());
        let id = XrayTraceId::from_parts(epoch, random).unwrap();
        let text = id.to_string();
        prop_assert_eq!(text.len(), 35);
        prop_assert_eq!(text.parse::<XrayTraceId>(), Ok(id));
        prop_assert_eq!(text.to_uppercase().parse::<XrayTraceId>(), Ok(id));
        prop_assert_eq!(XrayTraceId::from_trace_id(id.trace_id()), Some(id));
    }

    #[test]
    fn parse_never_panics_and_accepts_only_canonical_shapes(s in ".{0,40}") {
        if let Ok(id) = s.parse::<XrayTraceId>() {
            // Anything accepted re-parses from its canonical form.
            prop_assert_eq!(id.to_string().parse::<XrayTraceId>(), Ok(id));
            prop_assert!(s.starts_with("1-"));
        }
    }

    #[test]
    fn span_id_round_trip(v in 1u64..) {
        let text = format!("{v:016x}");
        let id = parse_span_id(&text).unwrap();
        let encoded = otel_xray_id::encode_span_id(id);
        prop_assert_eq!(std::str::from_utf8(&encoded).unwrap(), text.as_str());
    }
}

/// One edit of a trace ID's text.
#[derive(Debug, Clone)]
enum Edit {
    Replace(prop::sample::Index, char),
    Insert(prop::sample::Index, char),
    Delete(prop::sample::Index),
    Upper,
    /// Rewrite the text between the first and second `-` (length boundaries, empty).
    Epoch(String),
    /// Rewrite the text after the second `-`.
    Random(String),
}

/// Characters a near miss is made of: hex digits, their neighbours, the
/// delimiter, and a few that never belong.
const NEAR: &[char] = &[
    '0', '1', '9', 'a', 'f', 'A', 'F', 'g', 'G', 'x', '-', ' ', '+', '\u{e9}',
];

fn edit() -> impl Strategy<Value = Edit> {
    let c = || prop::sample::select(NEAR);
    prop_oneof![
        4 => (any::<prop::sample::Index>(), c()).prop_map(|(i, c)| Edit::Replace(i, c)),
        2 => (any::<prop::sample::Index>(), c()).prop_map(|(i, c)| Edit::Insert(i, c)),
        2 => any::<prop::sample::Index>().prop_map(Edit::Delete),
        1 => Just(Edit::Upper),
        1 => "[0-9a-fA-Fg]{0,10}".prop_map(Edit::Epoch),
        1 => "[0-9a-fA-F]{22,26}".prop_map(Edit::Random),
    ]
}

fn apply(text: &str, edit: &Edit) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    match edit {
        Edit::Replace(i, c) if !chars.is_empty() => {
            let at = i.index(chars.len());
            chars[at] = *c;
        }
        Edit::Insert(i, c) => chars.insert(i.index(chars.len() + 1), *c),
        Edit::Delete(i) if !chars.is_empty() => {
            chars.remove(i.index(chars.len()));
        }
        Edit::Upper => return text.to_uppercase(),
        Edit::Epoch(e) => {
            let mut parts: Vec<&str> = text.splitn(3, '-').collect();
            if parts.len() == 3 {
                parts[1] = e;
                return parts.join("-");
            }
        }
        Edit::Random(r) => {
            let mut parts: Vec<&str> = text.splitn(3, '-').collect();
            if parts.len() == 3 {
                parts[2] = r;
                return parts.join("-");
            }
        }
        _ => {}
    }
    chars.into_iter().collect()
}

/// A valid trace ID (sometimes zero, sometimes with a short epoch), then zero
/// to three edits.
fn near_miss() -> impl Strategy<Value = String> {
    (
        prop_oneof![1 => Just(0u32), 4 => any::<u32>()],
        prop_oneof![1 => Just(0u128), 4 => any::<u128>()],
        any::<bool>(),
        prop::collection::vec(edit(), 0..4),
    )
        .prop_map(|(epoch, random, short, edits)| {
            let random = random & ((1u128 << 96) - 1);
            let start = if short {
                format!("1-{epoch:x}-{random:024x}")
            } else {
                format!("1-{epoch:08x}-{random:024x}")
            };
            edits.iter().fold(start, |t, e| apply(&t, e))
        })
}

/// The independent judge: the X-Ray developer guide's trace ID format (`1-`,
/// up to 8 hex digits of epoch, `-`, 24 hex digits), any case, not all zero;
/// the canonical form pads the epoch to 8 digits, lower case.
fn oracle(text: &str) -> Option<String> {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| Regex::new(r"^1-([0-9a-fA-F]{1,8})-([0-9a-fA-F]{24})$").unwrap());
    let caps = re.captures(text)?;
    let (epoch, random) = (&caps[1], &caps[2]);
    if epoch.chars().chain(random.chars()).all(|c| c == '0') {
        return None;
    }
    Some(format!(
        "1-{:0>8}-{}",
        epoch.to_ascii_lowercase(),
        random.to_ascii_lowercase()
    ))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn near_miss_trace_ids_are_judged_like_the_documented_format(text in near_miss()) {
        let parsed = text.parse::<XrayTraceId>().ok().map(|id| id.to_string());
        prop_assert_eq!(parsed, oracle(&text), "input {:?}", text);
    }
}

/// The near misses reach both sides of the judgement often, so the property
/// above is not decided by one branch.
#[test]
fn near_misses_are_accepted_and_rejected_in_good_measure() {
    let mut runner = TestRunner::deterministic();
    let strategy = near_miss();
    let total = 2000;
    let accepted = (0..total)
        .filter(|_| {
            let text = strategy.new_tree(&mut runner).unwrap().current();
            oracle(&text).is_some()
        })
        .count();
    assert!(
        (total / 5..=total * 4 / 5).contains(&accepted),
        "{accepted} of {total} accepted"
    );
}
