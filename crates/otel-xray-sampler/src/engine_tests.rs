use super::*;
use crate::sampling_request::SpanFields;
use opentelemetry::KeyValue;
use opentelemetry_sdk::Resource;

fn engine(resource: &[(&'static str, &'static str)]) -> Engine {
    let r = Resource::builder_empty()
        .with_attributes(resource.iter().map(|(k, v)| KeyValue::new(*k, *v)))
        .build();
    Engine::new(
        ResourceContext::from_resource(&r),
        Duration::from_secs(3600),
    )
}

/// Which rule a span fell under, read from the statistics the decision recorded.
fn matched(engine: &Engine, attrs: &[KeyValue]) -> Option<String> {
    let manifest = engine.manifest().expect("rules installed");
    for r in &manifest.rules {
        r.stats.take();
    }
    engine.decide(TraceId::from(1u128), attrs);
    let hits: Vec<_> = manifest
        .rules
        .iter()
        .filter(|r| r.stats.take().requests == 1)
        .map(|r| r.rule.rule_name.clone())
        .collect();
    assert!(hits.len() <= 1, "one decision counted under {hits:?}");
    hits.into_iter().next()
}

fn kv(k: &'static str, v: &'static str) -> KeyValue {
    KeyValue::new(k, v)
}

#[test]
fn rule_matching_table() {
    let e = engine(&[("service.name", "checkout"), ("cloud.platform", "aws_ec2")]);
    e.install(
        vec![
            SamplingRule::default_rule(),
            SamplingRule::new("other-service", 1, 1.0, 0).with_service_name("billing"),
            SamplingRule::new("ecs-only", 2, 1.0, 0).with_service_type("AWS::ECS::Container"),
            SamplingRule::new("arn", 3, 1.0, 0).with_resource_arn("arn:aws:ecs:*"),
            SamplingRule::new("post-api", 10, 1.0, 0)
                .with_http_method("POST")
                .with_url_path("/api/*"),
            SamplingRule::new("health", 20, 0.0, 0).with_url_path("/health"),
            SamplingRule::new("host", 30, 1.0, 0).with_host("*.internal"),
            SamplingRule::new("gold", 40, 1.0, 0)
                .with_attribute("tenant", "gold-?")
                .with_attribute("retries", "3"),
            // Same priority as `zeta`: the name decides.
            SamplingRule::new("zeta", 50, 1.0, 0).with_http_method("DELETE"),
            SamplingRule::new("alpha", 50, 1.0, 0).with_http_method("DEL*"),
            SamplingRule::new("ec2-svc", 60, 1.0, 0)
                .with_service_name("check*")
                .with_service_type("AWS::EC2::Instance")
                .with_http_method("PATCH"),
        ],
        None,
    );
    let table: Vec<(Vec<KeyValue>, &str)> = vec![
        (vec![], "Default"),
        (
            vec![kv("http.request.method", "POST"), kv("url.path", "/api/x")],
            "post-api",
        ),
        (
            vec![kv("http.method", "post"), kv("http.target", "/API/x?y=1")],
            "post-api",
        ),
        (
            vec![
                kv("http.request.method", "POST"),
                kv("url.full", "https://h/api/v1"),
            ],
            "post-api",
        ),
        (
            vec![kv("http.request.method", "GET"), kv("url.path", "/api/x")],
            "Default",
        ),
        (vec![kv("url.path", "/health")], "health"),
        (vec![kv("url.path", "/healthz")], "Default"),
        (vec![kv("server.address", "db.internal")], "host"),
        (vec![kv("http.host", "db.INTERNAL")], "host"),
        (vec![kv("server.address", "db.external")], "Default"),
        (
            vec![kv("tenant", "gold-1"), KeyValue::new("retries", 3)],
            "gold",
        ),
        (vec![kv("tenant", "gold-1")], "Default"),
        (
            vec![kv("tenant", "gold-12"), KeyValue::new("retries", 3)],
            "Default",
        ),
        (vec![kv("http.request.method", "DELETE")], "alpha"),
        (vec![kv("http.request.method", "PATCH")], "ec2-svc"),
    ];
    for (attrs, expected) in table {
        assert_eq!(
            matched(&e, &attrs).as_deref(),
            Some(expected),
            "attributes {attrs:?}"
        );
    }
}

/// Attribute conditions read the first attribute with the key, whether the manifest looks keys up in
/// one pass (few distinct keys) or each rule scans the span (more than `INDEXED_KEYS`).
#[test]
fn attribute_conditions_indexed_or_scanned() {
    for extra_keys in [0, INDEXED_KEYS] {
        let e = engine(&[("service.name", "checkout")]);
        let mut rules = vec![
            SamplingRule::default_rule(),
            SamplingRule::new("gold", 1, 1.0, 0)
                .with_attribute("tenant", "gold-?")
                .with_attribute("retries", "3"),
            SamplingRule::new("silver", 2, 1.0, 0).with_attribute("tenant", "SILVER"),
        ];
        rules.extend((0..extra_keys).map(|i| {
            SamplingRule::new(format!("k{i}"), 3, 1.0, 0).with_attribute(format!("key-{i}"), "v")
        }));
        e.install(rules, None);
        let m = e.manifest().expect("installed");
        assert_eq!(m.attribute_keys.is_empty(), extra_keys > 0, "{extra_keys}");
        let table: Vec<(Vec<KeyValue>, &str)> = vec![
            (
                vec![kv("tenant", "gold-1"), KeyValue::new("retries", 3)],
                "gold",
            ),
            (
                vec![KeyValue::new("retries", 3), kv("tenant", "silver")],
                "silver",
            ),
            (
                vec![
                    kv("tenant", "silver"),
                    kv("tenant", "gold-1"),
                    KeyValue::new("retries", 3),
                ],
                "silver",
            ),
            (vec![KeyValue::new("retries", 3)], "Default"),
            (vec![KeyValue::new("tenant", 7)], "Default"),
        ];
        for (attrs, expected) in table {
            assert_eq!(
                matched(&e, &attrs).as_deref(),
                Some(expected),
                "{extra_keys} {attrs:?}"
            );
        }
        if extra_keys > 0 {
            assert_eq!(matched(&e, &[kv("key-5", "V")]).as_deref(), Some("k5"));
        }
    }
}

#[test]
fn resource_arn_and_service_type_from_resource() {
    let e = engine(&[
        ("service.name", "svc"),
        ("cloud.platform", "aws_ecs"),
        (
            "aws.ecs.container.arn",
            "arn:aws:ecs:us-east-1:1:container/x",
        ),
    ]);
    e.install(
        vec![
            SamplingRule::default_rule(),
            SamplingRule::new("ecs", 1, 1.0, 0)
                .with_service_type("AWS::ECS::*")
                .with_resource_arn("arn:aws:ecs:*"),
        ],
        None,
    );
    assert_eq!(matched(&e, &[]).as_deref(), Some("ecs"));
}

#[test]
fn lambda_arn_from_span_attribute() {
    let e = engine(&[("service.name", "fn"), ("cloud.platform", "aws_lambda")]);
    e.install(
        vec![
            SamplingRule::default_rule(),
            SamplingRule::new("fn", 1, 1.0, 0).with_resource_arn("arn:aws:lambda:*:function:fn"),
        ],
        None,
    );
    let arn = kv(
        "cloud.resource_id",
        "arn:aws:lambda:us-east-1:1:function:fn",
    );
    assert_eq!(matched(&e, &[arn]).as_deref(), Some("fn"));
    assert_eq!(matched(&e, &[]).as_deref(), Some("Default"));
}

#[test]
fn missing_default_rule_uses_fallback_and_counts() {
    let e = engine(&[("service.name", "svc")]);
    e.install(
        vec![SamplingRule::new("only-post", 1, 1.0, 0).with_http_method("POST")],
        None,
    );
    assert_eq!(matched(&e, &[]), None);
    assert_eq!(e.counters.unmatched.load(Ordering::Relaxed), 1);
    assert_eq!(e.fallback_stats().requests, 1);
}

#[test]
fn unchanged_rules_keep_their_target_and_changed_ones_start_over() {
    let e = engine(&[]);
    let keep = SamplingRule::new("keep", 1, 0.0, 5);
    let change = SamplingRule::new("change", 2, 0.0, 5);
    e.install(vec![keep.clone(), change.clone()], None);
    for r in &e.manifest().expect("installed").rules {
        r.apply_target(0.5, Some((9, u64::MAX / 2)));
    }
    e.install(vec![keep, change.with_http_method("GET")], None);
    let m = e.manifest().expect("installed");
    let by_name = |n: &str| {
        m.rules
            .iter()
            .find(|r| r.rule.rule_name == n)
            .expect("present")
            .target()
    };
    assert_eq!(by_name("keep"), Some((9, u64::MAX / 2)));
    assert_eq!(by_name("change"), None);
}

#[test]
fn duplicate_rule_names_are_rejected_and_counted() {
    let e = engine(&[]);
    e.install(
        vec![
            SamplingRule::new("dup", 1, 1.0, 0),
            SamplingRule::new("dup", 1, 0.0, 0),
        ],
        None,
    );
    assert_eq!(e.manifest().expect("installed").rules.len(), 1);
    assert_eq!(e.counters.rules_rejected.load(Ordering::Relaxed), 1);
}

/// Simulates `seconds` seconds at `per_second` requests each, spread evenly over the second.
fn run(e: &Engine, start_ms: u64, seconds: u64, per_second: u64, rng: &mut fastrand::Rng) -> u64 {
    let mut sampled = 0;
    for s in 0..seconds {
        for i in 0..per_second {
            let now = start_ms + s * 1000 + i * 1000 / per_second;
            if e.decide_at(now, TraceId::from(rng.u128(..)), &[]) {
                sampled += 1;
            }
        }
    }
    sampled
}

/// Binomial tolerance (5 sigma) around `n * p`.
fn tol(n: f64, p: f64) -> f64 {
    5.0 * (n * p * (1.0 - p)).sqrt() + 1.0
}

#[test]
fn fallback_is_one_per_second_plus_five_percent() {
    let e = engine(&[]);
    let mut rng = fastrand::Rng::with_seed(42);
    let (secs, rps) = (200u64, 500u64);
    let sampled = run(&e, 0, secs, rps, &mut rng) as f64;
    // 1 per second from the reservoir, 5 % of the remaining 499.
    let beyond = (secs * (rps - 1)) as f64;
    let expected = secs as f64 + 0.05 * beyond;
    assert!(
        (sampled - expected).abs() < tol(beyond, 0.05),
        "sampled {sampled}, expected {expected}"
    );
    let c = e.fallback_stats();
    assert_eq!(c.requests, secs * rps);
    assert_eq!(c.borrowed, secs, "one borrowed per second");
}

#[test]
fn quota_then_fixed_rate_then_expiry() {
    let e = engine(&[]);
    e.install(vec![SamplingRule::new("r", 1, 0.1, 50)], None);
    let rule = Arc::clone(&e.manifest().expect("installed").rules[0]);
    let mut rng = fastrand::Rng::with_seed(9);

    // Before any target: borrow 1/s, then the rule's fixed rate.
    let sampled = run(&e, 0, 50, 200, &mut rng) as f64;
    let expected = 50.0 + 0.1 * (50.0 * 199.0);
    assert!(
        (sampled - expected).abs() < tol(50.0 * 199.0, 0.1),
        "{sampled} vs {expected}"
    );
    let c = rule.stats.take();
    assert_eq!((c.requests, c.borrowed), (50 * 200, 50));

    // Target: quota 20/s, fixed rate 0.2, valid until t = 150 s.
    rule.apply_target(0.2, Some((20, 150_000)));
    let sampled = run(&e, 100_000, 50, 200, &mut rng) as f64;
    let expected = 50.0 * 20.0 + 0.2 * (50.0 * 180.0);
    assert!(
        (sampled - expected).abs() < tol(50.0 * 180.0, 0.2),
        "{sampled} vs {expected}"
    );
    let c = rule.stats.take();
    assert_eq!(c.borrowed, 0, "no borrowing once a quota arrived");
    assert_eq!(c.sampled as f64, sampled);

    // Expired quota: fixed rate only, no borrowing.
    let sampled = run(&e, 200_000, 50, 200, &mut rng) as f64;
    let expected = 0.2 * (50.0 * 200.0);
    assert!(
        (sampled - expected).abs() < tol(50.0 * 200.0, 0.2),
        "{sampled} vs {expected}"
    );
    assert_eq!(rule.stats.take().borrowed, 0);
}

#[test]
fn zero_reservoir_never_borrows() {
    let e = engine(&[]);
    e.install(vec![SamplingRule::new("r", 1, 0.0, 0)], None);
    let mut rng = fastrand::Rng::with_seed(1);
    assert_eq!(run(&e, 0, 10, 100, &mut rng), 0);
}

#[test]
fn stale_rules_fall_back() {
    let e = engine(&[]);
    e.install(
        vec![SamplingRule::new("all", 1, 1.0, 0)],
        Some(Duration::from_secs(60)),
    );
    let id = TraceId::from(u128::MAX);
    assert!(e.decide_at(1_000, id, &[]), "rule samples everything");
    assert!(!e.in_fallback());
    // 5 % fallback after the 1/s reservoir: this id is above every threshold below 1.0.
    assert!(e.decide_at(61_000, id, &[]), "borrowed reservoir slot");
    assert!(!e.decide_at(61_001, id, &[]), "fallback fixed rate");
    assert_eq!(e.fallback_stats().requests, 2);
}

/// Each thread keeps the manifest it last used: a new rule set, another engine on the same thread,
/// and another thread all see the rules in force.
#[test]
fn cached_manifests_follow_installs_and_engines() {
    let a = engine(&[("service.name", "checkout")]);
    let b = engine(&[("service.name", "checkout")]);
    let get = [kv("http.request.method", "GET")];
    a.install(
        vec![SamplingRule::new("a-get", 1, 1.0, 0).with_http_method("GET")],
        None,
    );
    b.install(vec![SamplingRule::new("b-all", 1, 1.0, 0)], None);
    for _ in 0..3 {
        assert_eq!(matched(&a, &get).as_deref(), Some("a-get"));
        assert_eq!(matched(&b, &get).as_deref(), Some("b-all"));
    }
    // The thread now holds `a`'s manifest.
    assert_eq!(matched(&a, &get).as_deref(), Some("a-get"));
    a.install(
        vec![SamplingRule::new("a-post", 1, 1.0, 0).with_http_method("POST")],
        None,
    );
    assert_eq!(
        matched(&a, &get),
        None,
        "the superseded rule set is not used"
    );
    assert_eq!(a.counters.unmatched.load(Ordering::Relaxed), 1);
    std::thread::scope(|s| {
        s.spawn(|| {
            let post = [kv("http.request.method", "POST")];
            assert_eq!(matched(&a, &post).as_deref(), Some("a-post"));
        });
    });
}

/// The rule a plain priority-order scan picks: every candidate matched in full, attributes scanned,
/// no tables.
fn scanned(e: &Engine, attrs: &[KeyValue]) -> Option<String> {
    let m = e.manifest()?;
    let fields = SpanFields::extract(attrs);
    m.rules
        .iter()
        .filter(|r| r.applies_to_service)
        .find(|r| r.matches(&fields, None, &[None; INDEXED_KEYS], attrs))
        .map(|r| r.rule.rule_name.clone())
}

mod lookup_tables {
    use super::*;
    use proptest::prelude::*;
    use proptest::sample::select;

    const METHODS: &[&str] = &["*", "GET", "get", "POST", "G*", "?ET", "*T", "PATCH"];
    const PATHS: &[&str] = &[
        "*",
        "/api/*",
        "/API/v1/*",
        "/health",
        "*/x",
        "/a?i/*",
        "/\u{e4}*",
        "/api/v1/users/*",
    ];
    const HOSTS: &[&str] = &["*", "*.internal", "db.INTERNAL", "shard-1.*", "k*", ""];
    const TENANTS: &[&str] = &["*", "gold-?", "GOLD-1", "g*", "sil*", "7"];
    const SERVICES: &[&str] = &["*", "checkout", "billing", "check*"];

    fn rule() -> impl Strategy<Value = SamplingRule> {
        (
            1..5i32,
            select(METHODS),
            select(PATHS),
            select(HOSTS),
            proptest::option::of(select(TENANTS)),
            proptest::option::of(select(&["3", "*", "?"][..])),
            select(SERVICES),
        )
            .prop_map(|(priority, method, path, host, tenant, retries, service)| {
                let mut r = SamplingRule::new("", priority, 1.0, 0)
                    .with_http_method(method)
                    .with_url_path(path)
                    .with_host(host)
                    .with_service_name(service);
                if let Some(t) = tenant {
                    r = r.with_attribute("tenant", t);
                }
                if let Some(n) = retries {
                    r = r.with_attribute("retries", n);
                }
                r
            })
    }

    fn text(options: &'static [&'static str]) -> impl Strategy<Value = Option<&'static str>> {
        proptest::option::of(select(options))
    }

    fn span() -> impl Strategy<Value = Vec<KeyValue>> {
        (
            text(&["GET", "get", "POST", "PATCH", "\u{212A}ET", "_OTHER"]),
            text(&[
                "/api/x",
                "/API/V1/users/9",
                "/health",
                "/healthz",
                "/\u{e4}/x",
                "/a/x",
            ]),
            text(&["db.internal", "DB.INTERNAL", "shard-1.x", "\u{212A}ey", "h"]),
            prop_oneof![
                Just(None),
                select(&["gold-1", "GOLD-12", "silver", "g", "7"][..])
                    .prop_map(|t| Some(KeyValue::new("tenant", t))),
                Just(Some(KeyValue::new("tenant", 7))),
            ],
            prop_oneof![
                Just(None),
                Just(Some(KeyValue::new("retries", "3"))),
                Just(Some(KeyValue::new("retries", 3))),
            ],
            any::<bool>(),
        )
            .prop_map(|(method, path, host, tenant, retries, old_semconv)| {
                let (m, p, h) = if old_semconv {
                    ("http.method", "http.target", "http.host")
                } else {
                    ("http.request.method", "url.path", "server.address")
                };
                let mut attrs: Vec<KeyValue> = [(m, method), (p, path), (h, host)]
                    .into_iter()
                    .filter_map(|(k, v)| v.map(|v| KeyValue::new(k, v)))
                    .collect();
                attrs.extend(tenant);
                attrs.extend(retries);
                attrs
            })
    }

    proptest! {
        /// The tables only ever leave out rules that cannot match: the rule they lead to is the one
        /// the plain scan finds, with one block or several (more than 64 rules), with attribute keys
        /// looked up or (past `INDEXED_KEYS` keys) scanned.
        #[test]
        fn tables_pick_the_rule_a_full_scan_picks(
            mut rules in proptest::collection::vec(rule(), 1..140),
            spans in proptest::collection::vec(span(), 1..12),
            extra_keys in prop_oneof![Just(0usize), Just(INDEXED_KEYS)],
        ) {
            for (i, r) in rules.iter_mut().enumerate() {
                r.rule_name = format!("r{i:03}");
            }
            rules.extend((0..extra_keys).map(|i| {
                SamplingRule::new(format!("k{i}"), 3, 1.0, 0).with_attribute(format!("key-{i}"), "v")
            }));
            let e = engine(&[("service.name", "checkout")]);
            e.install(rules, None);
            for attrs in &spans {
                prop_assert_eq!(matched(&e, attrs), scanned(&e, attrs), "{:?}", attrs);
            }
        }
    }
}
