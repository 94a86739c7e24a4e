//! TraceHeader parsing and formatting rules.

use otel_xray_id::{ParseSpanIdError, ParseTraceIdError};
use otel_xray_propagator::{HeaderError, LineageError, Sampling, TraceHeader, MAX_HEADER_LEN};

const ROOT: &str = "1-5759e988-bd862e3fe1be46a994272793";
const PARENT: &str = "53995c3f42cd8ad8";

fn parse(s: &str) -> Result<TraceHeader, HeaderError> {
    s.parse()
}

fn canonical(sampled: &str) -> String {
    format!("Root={ROOT};Parent={PARENT};Sampled={sampled}")
}

#[test]
fn full_header_round_trips() {
    for s in ["1", "0", "?"] {
        let h = parse(&canonical(s)).unwrap();
        assert_eq!(h.root.to_string(), ROOT);
        assert_eq!(h.parent.unwrap().to_string(), PARENT);
        assert_eq!(h.to_string(), canonical(s));
    }
}

#[test]
fn parts_in_any_order_with_whitespace_and_empty_parts() {
    let variants = [
        format!("Sampled=1;Parent={PARENT};Root={ROOT}"),
        format!("Root={ROOT}; Parent={PARENT}; Sampled=1"),
        format!("  Root = {ROOT} ;\tParent=\t{PARENT}\t;Sampled =1 ;"),
        format!(";;Root={ROOT};;Parent={PARENT};Sampled=1;;"),
        format!("root={ROOT};PARENT={PARENT};sampled=1"),
    ];
    for v in &variants {
        assert_eq!(parse(v).unwrap().to_string(), canonical("1"), "{v}");
    }
}

#[test]
fn unknown_and_odd_parts_never_invalidate() {
    let v = format!(
        "Self=1-67891234-12456789abcdef012345678;Root={ROOT};junk;Foo=bar=baz;=x;Parent={PARENT};_k=,;Sampled=1;Congo=t61rcWkgMzE"
    );
    let (h, report) = TraceHeader::parse_with_report(v.as_bytes()).unwrap();
    assert_eq!(h.to_string(), canonical("1"));
    // Self, junk, Foo, `=x` (empty key), _k, Congo
    assert_eq!(report.ignored_parts, 6);
    assert_eq!(report.lineage_error, None);
    assert!(!report.unrecognised_sampled);
}

#[test]
fn value_split_at_first_equals() {
    let err = parse(&format!("Root={ROOT};Parent={PARENT}=x")).unwrap_err();
    assert_eq!(
        err,
        HeaderError::InvalidParent(ParseSpanIdError::Length { len: 18 })
    );
}

#[test]
fn duplicate_keys_last_wins() {
    let other = "1-5759e988-00000000000000000000abcd";
    let h = parse(&format!(
        "Root={ROOT};Parent={PARENT};Sampled=0;Root={other};Sampled=1"
    ))
    .unwrap();
    assert_eq!(h.root.to_string(), other);
    assert_eq!(h.sampling, Sampling::Sampled);
    // The last Root is the one validated: a bad last Root rejects.
    assert!(matches!(
        parse(&format!("Root={ROOT};Root=1-xyz")),
        Err(HeaderError::InvalidRoot(_))
    ));
}

#[test]
fn root_is_strict() {
    let cases: &[(&str, HeaderError)] = &[
        ("", HeaderError::MissingRoot),
        (
            "Parent=53995c3f42cd8ad8;Sampled=1",
            HeaderError::MissingRoot,
        ),
        (
            "Root=2-5759e988-bd862e3fe1be46a994272793",
            HeaderError::InvalidRoot(ParseTraceIdError::UnsupportedVersion),
        ),
        (
            "Root=1-5759e988-bd862e3fe1be46a99427279",
            HeaderError::InvalidRoot(ParseTraceIdError::RandomLength { len: 23 }),
        ),
        (
            "Root=1-5759e9880-bd862e3fe1be46a99427279",
            HeaderError::InvalidRoot(ParseTraceIdError::EpochLength { len: 9 }),
        ),
        (
            "Root=1-5759e98g-bd862e3fe1be46a994272793",
            HeaderError::InvalidRoot(ParseTraceIdError::InvalidHex { position: 9 }),
        ),
        (
            "Root=1-00000000-000000000000000000000000",
            HeaderError::InvalidRoot(ParseTraceIdError::Zero),
        ),
        ("Root=", HeaderError::InvalidRoot(ParseTraceIdError::Empty)),
        (
            "Root=1-+759e988-bd862e3fe1be46a994272793",
            HeaderError::InvalidRoot(ParseTraceIdError::InvalidHex { position: 2 }),
        ),
    ];
    for (input, want) in cases {
        assert_eq!(parse(input), Err(*want), "{input}");
    }
}

#[test]
fn upper_case_and_short_epoch_are_normalised() {
    let h = parse("Root=1-5759E988-BD862E3FE1BE46A994272793;Parent=53995C3F42CD8AD8;Sampled=1")
        .unwrap();
    assert_eq!(h.to_string(), canonical("1"));
    let short = parse("Root=1-759e988-bd862e3fe1be46a994272793").unwrap();
    assert_eq!(
        short.root.to_string(),
        "1-0759e988-bd862e3fe1be46a994272793"
    );
}

#[test]
fn parent_is_strict() {
    let cases = [
        ("0000000000000000", ParseSpanIdError::Zero),
        ("53995c3f42cd8ad", ParseSpanIdError::Length { len: 15 }),
        (
            "+3995c3f42cd8ad8",
            ParseSpanIdError::InvalidHex { position: 0 },
        ),
        ("", ParseSpanIdError::Length { len: 0 }),
    ];
    for (p, want) in cases {
        assert_eq!(
            parse(&format!("Root={ROOT};Parent={p};Sampled=1")),
            Err(HeaderError::InvalidParent(want)),
            "{p}"
        );
    }
}

#[test]
fn sampled_values() {
    let s = |v: &str| {
        TraceHeader::parse_with_report(format!("Root={ROOT};Parent={PARENT}{v}").as_bytes())
            .unwrap()
    };
    assert_eq!(s(";Sampled=1").0.sampling, Sampling::Sampled);
    assert_eq!(s(";Sampled=0").0.sampling, Sampling::NotSampled);
    assert_eq!(s(";Sampled=?").0.sampling, Sampling::Deferred);
    assert_eq!(s("").0.sampling, Sampling::Deferred);
    assert!(!s("").1.unrecognised_sampled);
    for odd in [";Sampled=d", ";Sampled=10", ";Sampled=", ";Sampled=true"] {
        let (h, report) = s(odd);
        assert_eq!(h.sampling, Sampling::Deferred, "{odd}");
        assert!(report.unrecognised_sampled, "{odd}");
    }
}

#[test]
fn root_only_header() {
    let h = parse(&format!("Root={ROOT}")).unwrap();
    assert_eq!(h.parent, None);
    assert_eq!(h.sampling, Sampling::Deferred);
    assert_eq!(h.to_string(), format!("Root={ROOT};Sampled=?"));
    let h = parse(&format!("Root={ROOT};Sampled=1")).unwrap();
    assert_eq!(h.to_string(), format!("Root={ROOT};Sampled=1"));
}

#[test]
fn lineage_v2_kept_invalid_dropped() {
    let h = parse(&format!("{};Lineage=25:a87bd80c:1", canonical("1"))).unwrap();
    assert_eq!(h.lineage.unwrap().as_str(), "25:a87bd80c:1");
    assert_eq!(
        h.to_string(),
        format!("{};Lineage=25:a87bd80c:1", canonical("1"))
    );
    let bad = [
        ("a87bd80c:1|68fd508a:5", LineageError::Length { len: 21 }),
        ("32768:a87bd80c:1", LineageError::FirstCounter),
        ("1:a87bd80c:256", LineageError::SecondCounter),
        ("1:A87BD80C:25", LineageError::Hash),
        ("1:a87bd80:25:1", LineageError::Separators),
        ("1:a87bd80c:-1", LineageError::SecondCounter),
        ("+1:a87bd80c:1", LineageError::FirstCounter),
    ];
    for (l, want) in bad {
        let (h, report) =
            TraceHeader::parse_with_report(format!("{};Lineage={l}", canonical("0")).as_bytes())
                .unwrap();
        assert_eq!(h.lineage, None, "{l}");
        assert_eq!(h.sampling, Sampling::NotSampled);
        assert_eq!(report.lineage_error, Some(want), "{l}");
    }
    // Limits are inclusive.
    assert!(parse(&format!("Root={ROOT};Lineage=32767:a87bd80c:255"))
        .unwrap()
        .lineage
        .is_some());
}

#[test]
fn over_length_cap_is_rejected() {
    let mut v = canonical("1");
    v.push(';');
    let pad = MAX_HEADER_LEN - v.len();
    v.push_str(&"x".repeat(pad));
    assert!(parse(&v).is_ok(), "exactly at the cap is accepted");
    v.push('x');
    assert_eq!(
        parse(&v),
        Err(HeaderError::TooLong {
            len: MAX_HEADER_LEN + 1
        })
    );
}

#[test]
fn encoded_header_is_lower_case_and_short() {
    let h = parse(
        "Root=1-FFFFFFFF-FFFFFFFFFFFFFFFFFFFFFFFF;Parent=FFFFFFFFFFFFFFFF;Sampled=?;Lineage=32767:ffffffff:255",
    )
    .unwrap();
    let s = h.encode();
    assert_eq!(
        s.as_str(),
        "Root=1-ffffffff-ffffffffffffffffffffffff;Parent=ffffffffffffffff;Sampled=?;Lineage=32767:ffffffff:255"
    );
    assert_eq!(s.as_str().len(), otel_xray_propagator::MAX_ENCODED_LEN);
    assert!(s.as_str().len() <= 256);
}
