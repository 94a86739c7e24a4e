//! Which requests a sampling rule matches, judged from outside the crate.
//!
//! * Against the Python X-Ray SDK (`aws-xray-sdk` on PyPI, `SamplingRule.match`) on generated rule
//!   sets where the request carries every value: the two must agree on every case.
//! * Where a value is missing or empty they differ on purpose, and this file pins the behaviour
//!   chosen: **a missing value matches only `*`; an empty value is a value** (the empty string:
//!   `*` matches it, `a*` or `?` do not). Source: the OpenTelemetry Java contrib X-Ray sampler
//!   (`SamplingRuleApplier`: `*` is a `TrueMatcher`, every other matcher returns false for a null
//!   value and compares an empty string like any other), which is what the ADOT SDKs ship. The
//!   Python SDK instead lets a missing *or empty* value match any pattern (`not host or
//!   wildcard_match(...)`), so a rule naming a host would catch every span without one; the test
//!   shows that difference with the Python peer itself.
//! * Case folding against a reference written here: two characters are equal ignoring case when
//!   their lower-case mappings are equal (what the Python SDK's `text[i].lower() ==
//!   pattern[p].lower()` does), with a plain recursive glob; Unicode included.
//!
//! Needs `python3` with `pip install aws-xray-sdk` (tests/python/requirements.txt); the Python
//! tests fail, never skip, when the peer is missing.

use std::io::Write;
use std::process::{Command, Stdio};

use opentelemetry::trace::{SpanKind, TraceId};
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::{SamplingDecision, ShouldSample};
use opentelemetry_sdk::Resource;
use otel_xray_sampler::{SamplingRule, XrayRemoteSampler};
use proptest::prelude::*;
use serde_json::json;

const PEER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/interop/xray_sdk_rules.py"
);
const INSTALL_HINT: &str =
    "the Python X-Ray SDK is missing: install it with `pip install aws-xray-sdk` (needs python3; \
     see tests/python/requirements.txt)";

/// `cloud.platform` values and the X-Ray origin (`ServiceType`) each stands for.
const PLATFORMS: &[(&str, &str)] = &[
    ("aws_ec2", "AWS::EC2::Instance"),
    ("aws_ecs", "AWS::ECS::Container"),
    ("aws_eks", "AWS::EKS::Container"),
    (
        "aws_elastic_beanstalk",
        "AWS::ElasticBeanstalk::Environment",
    ),
    ("aws_lambda", "AWS::Lambda::Function"),
];

/// The five request fields both SDKs match, in one order: service name, service type (origin),
/// host, HTTP method, URL path. `None` is a value the request does not carry.
#[derive(Debug, Clone, Default)]
struct Request {
    service: Option<String>,
    /// Index into [`PLATFORMS`].
    platform: Option<usize>,
    host: Option<String>,
    method: Option<String>,
    path: Option<String>,
}

/// A rule's five globs, in the same order.
#[derive(Debug, Clone)]
struct Globs {
    service: String,
    service_type: String,
    host: String,
    method: String,
    path: String,
}

impl Globs {
    fn any() -> Self {
        let star = || "*".to_string();
        Globs {
            service: star(),
            service_type: star(),
            host: star(),
            method: star(),
            path: star(),
        }
    }
}

/// Whether this crate's sampler applies the rule `globs` to `request`: the rule samples
/// everything, a catch-all `Default` samples nothing.
fn crate_matches(globs: &Globs, request: &Request) -> bool {
    let mut resource = Resource::builder_empty();
    if let Some(s) = &request.service {
        resource = resource.with_attribute(KeyValue::new("service.name", s.clone()));
    }
    if let Some(p) = request.platform {
        resource = resource.with_attribute(KeyValue::new("cloud.platform", PLATFORMS[p].0));
    }
    let rule = SamplingRule::new("r", 1, 1.0, 0)
        .with_service_name(globs.service.clone())
        .with_service_type(globs.service_type.clone())
        .with_host(globs.host.clone())
        .with_http_method(globs.method.clone())
        .with_url_path(globs.path.clone());
    let sampler = XrayRemoteSampler::from_rules(
        &resource.build(),
        vec![rule, SamplingRule::new("Default", 10_000, 0.0, 0)],
    )
    .expect("valid rules");
    let mut attrs = Vec::new();
    for (key, value) in [
        ("server.address", &request.host),
        ("http.request.method", &request.method),
        ("url.path", &request.path),
    ] {
        if let Some(v) = value {
            attrs.push(KeyValue::new(key, v.clone()));
        }
    }
    let result = sampler.should_sample(
        None,
        TraceId::from(1u128),
        "span",
        &SpanKind::Server,
        &attrs,
        &[],
    );
    assert_eq!(sampler.stats().unmatched, 0, "Default catches the rest");
    result.decision == SamplingDecision::RecordAndSample
}

/// The Python SDK's verdict on each case.
fn python_matches(cases: &[(Globs, Request)]) -> Vec<bool> {
    let check = Command::new("python3")
        .args(["-c", "import aws_xray_sdk"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}); {INSTALL_HINT}"));
    assert!(
        check.status.success(),
        "{INSTALL_HINT}\n{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let mut input = String::new();
    for (g, r) in cases {
        let line = json!({
            "rule": {"service": g.service, "service_type": g.service_type, "host": g.host,
                     "method": g.method, "path": g.path},
            "request": {"service": r.service, "service_type": r.platform.map(|p| PLATFORMS[p].1),
                        "host": r.host, "method": r.method, "path": r.path},
        });
        input.push_str(&line.to_string());
        input.push('\n');
    }
    let mut child = Command::new("python3")
        .arg(PEER)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the Python peer");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("peer output");
    writer.join().unwrap().expect("write cases");
    assert!(
        out.status.success(),
        "peer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verdicts: Vec<bool> = String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| l == "1")
        .collect();
    assert_eq!(verdicts.len(), cases.len());
    verdicts
}

/// Characters values are made of: ASCII of several kinds and a few letters whose case folding is
/// not ASCII (Kelvin sign, sigma forms, e acute). Never `*` or `?`: a literal wildcard in a value
/// is where the Python SDK has a bug of its own.
const VALUE_CHARS: &[char] = &[
    'a', 'A', 'b', 'B', 'k', 'K', 'z', '0', '9', '-', '.', '/', '_', ':', 'é', 'É', '\u{212A}',
    'σ', 'Σ', 'ς',
];

fn value(rng: &mut fastrand::Rng) -> String {
    let len = rng.usize(1..10);
    (0..len)
        .map(|_| VALUE_CHARS[rng.usize(..VALUE_CHARS.len())])
        .collect()
}

/// A glob near `value`: most characters kept, some case-flipped, some turned into `?` or `*`,
/// some dropped or added; sometimes a glob unrelated to the value, sometimes `*`.
fn glob_near(value: &str, rng: &mut fastrand::Rng) -> String {
    match rng.u8(..10) {
        0 => return "*".into(),
        1 => {
            let mut g: Vec<char> = self::value(rng).chars().collect();
            if rng.bool() {
                g.insert(rng.usize(..=g.len()), '*');
            }
            return g.into_iter().collect();
        }
        _ => {}
    }
    let mut out = String::new();
    for c in value.chars() {
        match rng.u8(..20) {
            0..=2 => out.extend(flip_case(c)),
            3..=4 => out.push('?'),
            5..=6 => out.push('*'),
            7 => {}
            8 => {
                out.push(c);
                out.push(VALUE_CHARS[rng.usize(..VALUE_CHARS.len())]);
            }
            9 => {
                out.push('*');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    if out.is_empty() {
        out.push('*');
    }
    out
}

fn flip_case(c: char) -> Vec<char> {
    if c.is_lowercase() {
        c.to_uppercase().collect()
    } else {
        c.to_lowercase().collect()
    }
}

#[test]
fn agrees_with_the_python_xray_sdk_when_every_value_is_present() {
    let mut rng = fastrand::Rng::with_seed(0x5eed_1e55);
    let cases: Vec<(Globs, Request)> = (0..2000)
        .map(|_| {
            let platform = rng.usize(..PLATFORMS.len());
            let request = Request {
                service: Some(value(&mut rng)),
                platform: Some(platform),
                host: Some(value(&mut rng)),
                method: Some(value(&mut rng)),
                path: Some(value(&mut rng)),
            };
            // Each field is `*` half the time, so whole rules match often enough.
            let mut near = |v: &str| {
                if rng.bool() {
                    "*".to_string()
                } else {
                    glob_near(v, &mut rng)
                }
            };
            let globs = Globs {
                service: near(request.service.as_deref().unwrap()),
                service_type: near(PLATFORMS[platform].1),
                host: near(request.host.as_deref().unwrap()),
                method: near(request.method.as_deref().unwrap()),
                path: near(request.path.as_deref().unwrap()),
            };
            (globs, request)
        })
        .collect();
    let theirs = python_matches(&cases);
    let mut matched = 0;
    for ((globs, request), python) in cases.iter().zip(&theirs) {
        let ours = crate_matches(globs, request);
        assert_eq!(ours, *python, "rule {globs:?} request {request:?}");
        matched += usize::from(ours);
    }
    // Both verdicts are common, so agreement is not one branch agreeing with itself.
    assert!(
        (cases.len() / 10..=cases.len() * 9 / 10).contains(&matched),
        "{matched} of {} matched",
        cases.len()
    );
}

/// One field of [`Request`] / [`Globs`], to vary one at a time.
#[derive(Debug, Clone, Copy)]
enum Field {
    Service,
    ServiceType,
    Host,
    Method,
    Path,
}

const FIELDS: [Field; 5] = [
    Field::Service,
    Field::ServiceType,
    Field::Host,
    Field::Method,
    Field::Path,
];

/// A request carrying every value, and a rule of `*`s matching it.
fn full_request() -> Request {
    Request {
        service: Some("checkout".into()),
        platform: Some(1),
        host: Some("api.example.com".into()),
        method: Some("GET".into()),
        path: Some("/cart".into()),
    }
}

fn set_glob(globs: &mut Globs, field: Field, glob: &str) {
    let slot = match field {
        Field::Service => &mut globs.service,
        Field::ServiceType => &mut globs.service_type,
        Field::Host => &mut globs.host,
        Field::Method => &mut globs.method,
        Field::Path => &mut globs.path,
    };
    *slot = glob.to_string();
}

/// The request without `field` (`None`) or with it empty (`Some("")`; the service type has no
/// empty form, an unknown `cloud.platform` gives none).
fn without(field: Field, empty: bool) -> Request {
    let mut r = full_request();
    let v = empty.then(String::new);
    match field {
        Field::Service => r.service = v,
        Field::ServiceType => r.platform = None,
        Field::Host => r.host = v,
        Field::Method => r.method = v,
        Field::Path => r.path = v,
    }
    r
}

#[test]
fn a_missing_value_matches_only_star_unlike_the_python_sdk() {
    let globs_for = |field, glob: &str| {
        let mut g = Globs::any();
        set_glob(&mut g, field, glob);
        g
    };
    let mut cases = Vec::new();
    for field in FIELDS {
        for glob in ["*", "**", "a*", "?*", "*x*", "GET"] {
            cases.push((globs_for(field, glob), without(field, false)));
        }
    }
    let python = python_matches(&cases);
    for ((globs, request), python) in cases.iter().zip(python) {
        let only_stars = [
            &globs.service,
            &globs.service_type,
            &globs.host,
            &globs.method,
            &globs.path,
        ]
        .iter()
        .all(|g| g.chars().all(|c| c == '*'));
        assert_eq!(
            crate_matches(globs, request),
            only_stars,
            "{globs:?} {request:?}"
        );
        // The Python SDK takes a missing value as matching anything.
        assert!(python, "python: {globs:?} {request:?}");
    }
}

#[test]
fn an_empty_value_is_matched_as_the_empty_string() {
    for field in [Field::Service, Field::Host, Field::Method, Field::Path] {
        for (glob, want) in [
            ("*", true),
            ("**", true),
            ("a*", false),
            ("?", false),
            ("*?", false),
        ] {
            let mut g = Globs::any();
            set_glob(&mut g, field, glob);
            assert_eq!(
                crate_matches(&g, &without(field, true)),
                want,
                "{field:?} glob {glob:?} against an empty value"
            );
        }
    }
}

/// Lower-case mapping of one character, as a string (it may be longer than one character).
fn fold(c: char) -> String {
    c.to_lowercase().collect()
}

/// The reference glob: `*` any run, `?` one character, any other character equal ignoring case
/// (equal lower-case mappings). Plain recursion: the inputs are short.
fn reference_glob(pattern: &[char], text: &[char]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some(('*', rest)) => (0..=text.len()).any(|skip| reference_glob(rest, &text[skip..])),
        Some((p, rest)) => match text.split_first() {
            Some((t, text_rest)) => {
                (*p == '?' || fold(*p) == fold(*t)) && reference_glob(rest, text_rest)
            }
            None => false,
        },
    }
}

/// Letters whose case folding is not ASCII (Kelvin sign, sigma forms, e acute, dotted I), ASCII
/// letters they fold to or near, and a separator.
const FOLD_CHARS: &[char] = &[
    'a', 'A', 'k', 'K', '\u{212A}', 'é', 'É', 'σ', 'Σ', 'ς', 'İ', 'i', '/',
];

/// A glob made from `text` by `ops`, one per character: kept, case-flipped, `?`, `*`, dropped, or
/// replaced; so most globs almost match and case folding decides.
fn glob_from(text: &str, ops: &[u8]) -> String {
    let mut out = String::new();
    for (c, op) in text.chars().zip(ops.iter().cycle()) {
        match op % 10 {
            0..=2 => out.push(c),
            3..=5 => out.extend(flip_case(c)),
            6 => out.push('?'),
            7 => out.push('*'),
            8 => {}
            _ => out.push(FOLD_CHARS[usize::from(*op) % FOLD_CHARS.len()]),
        }
    }
    if out.is_empty() {
        out.push('*');
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Glob matching through the public API agrees with the reference, on values mixing ASCII
    /// and letters whose case folding is not ASCII (including `İ`, which lower-cases to two
    /// characters).
    #[test]
    fn case_folding_agrees_with_an_independent_reference(
        text in prop::collection::vec(prop::sample::select(FOLD_CHARS), 0..10),
        ops in prop::collection::vec(any::<u8>(), 1..10),
    ) {
        let text: String = text.into_iter().collect();
        let pattern = glob_from(&text, &ops);
        let mut g = Globs::any();
        set_glob(&mut g, Field::Path, &pattern);
        let mut r = full_request();
        r.path = Some(text.clone());
        let p: Vec<char> = pattern.chars().collect();
        let t: Vec<char> = text.chars().collect();
        prop_assert_eq!(crate_matches(&g, &r), reference_glob(&p, &t), "{:?} vs {:?}", pattern, text);
    }
}

#[test]
fn case_folding_reference_spot_checks() {
    // The reference itself, on cases decided by hand.
    let m = |p: &str, t: &str| {
        reference_glob(
            &p.chars().collect::<Vec<_>>(),
            &t.chars().collect::<Vec<_>>(),
        )
    };
    assert!(m("GET", "get"));
    assert!(m("k", "\u{212A}"), "Kelvin sign lower-cases to k");
    assert!(m("Σ", "σ"));
    assert!(!m("Σ", "ς"), "final sigma is its own lower case");
    assert!(m("*/CART", "/api/cart"));
    assert!(!m("?", ""));
}
