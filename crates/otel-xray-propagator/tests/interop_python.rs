//! Interop with a real peer: the Python `opentelemetry-propagator-aws-xray` (PyPI).
//! Our inject is read by theirs, and theirs by ours.
//!
//! Needs `python3` with `pip install opentelemetry-propagator-aws-xray==1.0.2`; the
//! test fails (does not skip) when the peer is missing.

use std::collections::HashMap;
use std::process::Command;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer, TracerProvider,
};
use opentelemetry::Context;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use otel_xray_propagator::{XrayParentBased, XrayPropagator};
use serde_json::Value;

const PEER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/xray_peer.py");
const INSTALL_HINT: &str =
    "the interop peer is missing: install it with `pip install opentelemetry-propagator-aws-xray==1.0.2` (needs python3)";

fn run_peer(headers: &[String]) -> Vec<Value> {
    let check = Command::new("python3")
        .args(["-c", "import opentelemetry.propagators.aws"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}); {INSTALL_HINT}"));
    assert!(
        check.status.success(),
        "{INSTALL_HINT}\n{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let out = Command::new("python3")
        .arg(PEER)
        .args(headers)
        .output()
        .expect("run the python peer");
    assert!(
        out.status.success(),
        "peer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .expect("utf-8 output")
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), headers.len());
    lines
}

fn inject(cx: &Context) -> String {
    let mut out = HashMap::new();
    XrayPropagator::default().inject_context(cx, &mut out);
    out.remove("x-amzn-trace-id").expect("a header")
}

fn extract(header: &str) -> Context {
    let carrier = HashMap::from([("X-Amzn-Trace-Id".to_string(), header.to_string())]);
    XrayPropagator::default()
        .extract_with_context(&Context::new(), &otel_xray_propagator::AnyCaseMap(&carrier))
}

/// Deterministic spread of IDs, including the extremes.
fn contexts() -> Vec<SpanContext> {
    let mut ids = vec![
        (1u128, 1u64),
        (u128::MAX, u64::MAX),
        (
            0x5759_e988_bd86_2e3f_e1be_46a9_9427_2793,
            0x5399_5c3f_42cd_8ad8,
        ),
        (
            0x0000_0001_0000_0000_0000_0000_0000_0000,
            0x0000_0000_0000_0100,
        ),
    ];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        state
    };
    for _ in 0..40 {
        let t = (u128::from(next()) << 64) | u128::from(next());
        ids.push((t | 1, next() | 1));
    }
    ids.into_iter()
        .enumerate()
        .map(|(i, (t, s))| {
            let flags = if i % 2 == 0 {
                TraceFlags::SAMPLED
            } else {
                TraceFlags::default()
            };
            SpanContext::new(
                TraceId::from_bytes(t.to_be_bytes()),
                SpanId::from_bytes(s.to_be_bytes()),
                flags,
                false,
                TraceState::NONE,
            )
        })
        .collect()
}

#[test]
fn ours_read_by_python_and_python_read_by_ours() {
    let mut cases: Vec<(SpanContext, String)> = contexts()
        .into_iter()
        .map(|sc| {
            let header = inject(&Context::new().with_remote_span_context(sc.clone()));
            (sc, header)
        })
        .collect();

    // A header carrying Lineage: the peer ignores the key but must accept the header.
    let with_lineage = extract(
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=3:a87bd80c:1",
    );
    let sc = with_lineage.span().span_context().clone();
    let header = inject(&with_lineage);
    assert!(header.ends_with(";Lineage=3:a87bd80c:1"));
    cases.push((sc, header));

    // A service span under a deferred upstream: we write a decision, never `?`
    // (which this peer rejects whole).
    let deferred = extract("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8");
    let provider = SdkTracerProvider::builder()
        .with_sampler(XrayParentBased::new(Sampler::AlwaysOn))
        .build();
    let span = provider
        .tracer("interop")
        .start_with_context("s", &deferred);
    let child = deferred.with_span(span);
    let sc = child.span().span_context().clone();
    let header = inject(&child);
    assert!(header.contains(";Sampled=1"));
    cases.push((sc, header));

    let headers: Vec<String> = cases.iter().map(|(_, h)| h.clone()).collect();
    let replies = run_peer(&headers);
    for ((sc, header), reply) in cases.iter().zip(&replies) {
        // Theirs reads ours.
        assert_eq!(reply["valid"], true, "peer rejected {header}");
        assert_eq!(reply["trace_id"], sc.trace_id().to_string(), "{header}");
        assert_eq!(reply["span_id"], sc.span_id().to_string(), "{header}");
        assert_eq!(reply["sampled"], sc.is_sampled(), "{header}");
        // Ours reads theirs.
        let theirs = reply["reinjected"].as_str().expect("peer injected");
        let cx = extract(theirs);
        let back = cx.span().span_context().clone();
        assert_eq!(back.trace_id(), sc.trace_id(), "{theirs}");
        assert_eq!(back.span_id(), sc.span_id(), "{theirs}");
        assert_eq!(back.is_sampled(), sc.is_sampled(), "{theirs}");
        assert!(back.is_remote());
        // Both write the same canonical text for a context without lineage.
        if !header.contains("Lineage") {
            assert_eq!(theirs, header);
        }
    }
}
