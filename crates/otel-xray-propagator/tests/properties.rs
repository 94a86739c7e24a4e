//! Property tests: inject∘extract is the identity on valid contexts; hostile input
//! never panics.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::Context;
use otel_xray_id::XrayTraceId;
use otel_xray_propagator::{
    sampling_deferred, Lineage, Sampling, TraceHeader, XrayPropagator, MAX_HEADER_LEN,
};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use regex::Regex;

fn header_strategy() -> impl Strategy<Value = TraceHeader> {
    (
        any::<u128>().prop_filter("non-zero", |v| *v != 0),
        proptest::option::of(any::<u64>().prop_filter("non-zero", |v| *v != 0)),
        prop_oneof![
            Just(Sampling::Sampled),
            Just(Sampling::NotSampled),
            Just(Sampling::Deferred)
        ],
        proptest::option::of((0u16..=32767, any::<u32>(), any::<u8>())),
    )
        .prop_map(|(trace, parent, sampling, lineage)| TraceHeader {
            root: XrayTraceId::from_trace_id(TraceId::from_bytes(trace.to_be_bytes())).unwrap(),
            parent: parent.map(|p| SpanId::from_bytes(p.to_be_bytes())),
            sampling,
            lineage: lineage
                .map(|(a, h, b)| format!("{a}:{h:08x}:{b}").parse::<Lineage>().unwrap()),
        })
}

fn carrier(value: &str) -> HashMap<String, String> {
    HashMap::from([("x-amzn-trace-id".to_string(), value.to_string())])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn header_parse_format_round_trip(h in header_strategy()) {
        let text = h.to_string();
        prop_assert!(text.len() <= 256);
        prop_assert_eq!(TraceHeader::parse(&text), Ok(h));
    }

    /// A canonical header survives extract then inject unchanged.
    #[test]
    fn inject_after_extract_is_identity_on_headers(h in header_strategy()) {
        let p = XrayPropagator::default();
        let text = h.to_string();
        let cx = p.extract_with_context(&Context::new(), &carrier(&text));
        let mut out = HashMap::new();
        p.inject_context(&cx, &mut out);
        prop_assert_eq!(out.get("x-amzn-trace-id"), Some(&text));
    }

    /// A valid span context survives inject then extract (as a remote context).
    #[test]
    fn extract_after_inject_is_identity_on_contexts(
        trace in any::<u128>().prop_filter("non-zero", |v| *v != 0),
        span in any::<u64>().prop_filter("non-zero", |v| *v != 0),
        sampled in any::<bool>(),
        remote in any::<bool>(),
    ) {
        let flags = if sampled { TraceFlags::SAMPLED } else { TraceFlags::default() };
        let sc = SpanContext::new(
            TraceId::from_bytes(trace.to_be_bytes()),
            SpanId::from_bytes(span.to_be_bytes()),
            flags,
            remote,
            TraceState::NONE,
        );
        let p = XrayPropagator::default();
        let mut out = HashMap::new();
        p.inject_context(&Context::new().with_remote_span_context(sc.clone()), &mut out);
        let cx = p.extract_with_context(&Context::new(), &out);
        let back = cx.span().span_context().clone();
        prop_assert_eq!(back.trace_id(), sc.trace_id());
        prop_assert_eq!(back.span_id(), sc.span_id());
        prop_assert_eq!(back.trace_flags(), sc.trace_flags());
        prop_assert!(back.is_remote());
        prop_assert!(!sampling_deferred(&cx));
    }

    /// Reordering, spacing, case of keys and extra junk parts change nothing.
    #[test]
    fn noise_does_not_change_the_result(
        h in header_strategy(),
        order in Just(()).prop_perturb(|_, mut rng| {
            let mut v: Vec<usize> = (0..6).collect();
            for i in (1..v.len()).rev() {
                let j = (rng.next_u32() as usize) % (i + 1);
                v.swap(i, j);
            }
            v
        }),
        pad in "[ \t]{0,2}",
        junk in "[A-Za-z_]{1,6}=[ -:<-~]{0,10}",
        upper in any::<bool>(),
    ) {
        let text = h.to_string();
        let mut parts: Vec<String> = text.split(';').map(|p| {
            let (k, v) = p.split_once('=').unwrap();
            let k = if upper { k.to_ascii_uppercase() } else { k.to_string() };
            format!("{pad}{k}{pad}={pad}{v}{pad}")
        }).collect();
        let junk_key = junk.split('=').next().unwrap().to_ascii_lowercase();
        if !["root", "parent", "sampled", "lineage"].contains(&junk_key.as_str()) {
            parts.push(junk.clone());
        }
        parts.push(String::new());
        parts.push("noequals".into());
        let mut shuffled = Vec::new();
        for i in order {
            if let Some(p) = parts.get(i) {
                shuffled.push(p.clone());
            }
        }
        for p in parts.iter().skip(6) {
            shuffled.push(p.clone());
        }
        let noisy = shuffled.join(";");
        prop_assert_eq!(TraceHeader::parse(&noisy), Ok(h), "{}", noisy);
    }

    #[test]
    fn parse_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2 * MAX_HEADER_LEN)) {
        let _ = TraceHeader::parse_bytes(&bytes);
        let _ = TraceHeader::parse_with_report(&bytes);
    }

    #[test]
    fn extract_never_panics_on_near_miss_text(
        s in "(([RrPpSsLl][a-z]{0,6}|[ -~]{0,4})[ ]?=[ ]?[0-9a-fA-F:?=+-]{0,40};?){0,8}"
    ) {
        let p = XrayPropagator::default();
        let cx = p.extract_with_context(&Context::new(), &carrier(&s));
        // Whatever came in, what goes out is canonical or nothing.
        let mut out = HashMap::new();
        p.inject_context(&cx, &mut out);
        if let Some(v) = out.get("x-amzn-trace-id") {
            let reparsed = TraceHeader::parse(v).map(|h| h.to_string());
            prop_assert_eq!(reparsed.as_ref(), Ok(v));
        }
    }
}

/// Pieces a near-miss header is made of: separators, keys, values that are
/// almost right, and characters that never belong.
const PIECES: &[&str] = &[
    ";",
    "=",
    " ",
    "\t",
    "-",
    "?",
    "0",
    "1",
    "a",
    "F",
    "g",
    "x",
    "\u{e9}",
    "Root=",
    "root =",
    "Parent=",
    "PARENT=",
    "Sampled=",
    "Sampled=?",
    "Lineage=",
    "Self=1-aa-bb",
    "0000000000000000",
    "53995c3f42cd8ad8",
    "1-5759e988-",
    "bd862e3fe1be46a994272793",
    // Whole parts, so keys repeat with valid and invalid values.
    ";Root=1-5759e988-bd862e3fe1be46a994272793",
    ";Parent=53995c3f42cd8ad8",
    ";parent=0000000000000000",
    ";Sampled=0",
    "; sampled = 1 ",
];

/// One edit of a header's text.
#[derive(Debug, Clone)]
enum Edit {
    Replace(prop::sample::Index, &'static str),
    Insert(prop::sample::Index, &'static str),
    Delete(prop::sample::Index, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let piece = || prop::sample::select(PIECES);
    prop_oneof![
        3 => (any::<prop::sample::Index>(), piece()).prop_map(|(i, p)| Edit::Replace(i, p)),
        3 => (any::<prop::sample::Index>(), piece()).prop_map(|(i, p)| Edit::Insert(i, p)),
        2 => (any::<prop::sample::Index>(), 1usize..5).prop_map(|(i, n)| Edit::Delete(i, n)),
    ]
}

fn apply(text: &str, edit: &Edit) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    match edit {
        Edit::Replace(i, p) if !chars.is_empty() => {
            let at = i.index(chars.len());
            chars.splice(at..at + 1, p.chars());
        }
        Edit::Insert(i, p) => {
            let at = i.index(chars.len() + 1);
            chars.splice(at..at, p.chars());
        }
        Edit::Delete(i, n) if !chars.is_empty() => {
            let at = i.index(chars.len());
            chars.drain(at..(at + n).min(chars.len()));
        }
        _ => {}
    }
    chars.into_iter().collect()
}

/// A valid header (as inject writes it, or Root-only), then up to two edits.
fn near_miss_header() -> impl Strategy<Value = String> {
    (
        header_strategy(),
        any::<bool>(),
        prop::collection::vec(edit(), 0..3),
    )
        .prop_map(|(h, root_only, edits)| {
            let start = if root_only {
                format!("Root={}", h.root)
            } else {
                h.to_string()
            };
            edits.iter().fold(start, |t, e| apply(&t, e))
        })
}

/// What the independent judge reads from a header: canonical root, parent in
/// lower case, and the `Sampled` value as written.
type Judged = (String, Option<String>, Sampling);

/// The independent judge, written from the rules in the X-Ray developer guide
/// and `TraceHeader`'s documentation with plain regexes: `;`-separated
/// `key=value` parts, split at the first `=`, spaces and tabs trimmed, keys in
/// any case, the last of a repeated key wins; `Root` must be a trace ID
/// (`1-`, 1..=8 + 24 hex digits, not all zero); `Parent`, when present, 16 hex
/// digits, not all zero; `Sampled` 1 / 0, anything else deferred.
fn oracle(text: &str) -> Option<Judged> {
    static RES: std::sync::OnceLock<(Regex, Regex, Regex)> = std::sync::OnceLock::new();
    let (part, root_re, parent_re) = RES.get_or_init(|| {
        (
            Regex::new(r"(?s)^[ \t]*([^=]*?)[ \t]*=[ \t]*(.*?)[ \t]*$").unwrap(),
            Regex::new(r"^1-([0-9a-fA-F]{1,8})-([0-9a-fA-F]{24})$").unwrap(),
            Regex::new(r"^[0-9a-fA-F]{16}$").unwrap(),
        )
    });
    if text.len() > MAX_HEADER_LEN {
        return None;
    }
    let (mut root, mut parent, mut sampled) = (None, None, None);
    for p in text.split(';') {
        let Some(caps) = part.captures(p) else {
            continue;
        };
        let value = caps[2].to_string();
        match caps[1].to_ascii_lowercase().as_str() {
            "root" => root = Some(value),
            "parent" => parent = Some(value),
            "sampled" => sampled = Some(value),
            _ => {}
        }
    }
    let root = root?;
    let caps = root_re.captures(&root)?;
    let (epoch, random) = (&caps[1], &caps[2]);
    if epoch.chars().chain(random.chars()).all(|c| c == '0') {
        return None;
    }
    let root = format!(
        "1-{:0>8}-{}",
        epoch.to_ascii_lowercase(),
        random.to_ascii_lowercase()
    );
    let parent = match parent {
        None => None,
        Some(p) if parent_re.is_match(&p) && p.chars().any(|c| c != '0') => {
            Some(p.to_ascii_lowercase())
        }
        Some(_) => return None,
    };
    let sampling = match sampled.as_deref() {
        Some("1") => Sampling::Sampled,
        Some("0") => Sampling::NotSampled,
        _ => Sampling::Deferred,
    };
    Some((root, parent, sampling))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn near_miss_headers_are_judged_like_the_documented_rules(text in near_miss_header()) {
        let parsed = TraceHeader::parse(&text)
            .ok()
            .map(|h| (h.root.to_string(), h.parent.map(|p| p.to_string()), h.sampling));
        prop_assert_eq!(parsed, oracle(&text), "input {:?}", text);
    }
}

/// The near misses reach both sides of the judgement often.
#[test]
fn near_miss_headers_are_accepted_and_rejected_in_good_measure() {
    let mut runner = TestRunner::deterministic();
    let strategy = near_miss_header();
    let total = 2000;
    let accepted = (0..total)
        .filter(|_| oracle(&strategy.new_tree(&mut runner).unwrap().current()).is_some())
        .count();
    assert!(
        (total / 5..=total * 4 / 5).contains(&accepted),
        "{accepted} of {total} accepted"
    );
}
