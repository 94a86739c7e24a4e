//! Deferred sampling with the SDK: XrayParentBased, DeferredToRoot, and what inject
//! writes for the spans the SDK creates.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{
    Link, Span as _, SpanKind, TraceContextExt, TraceFlags, TraceId, Tracer, TracerProvider,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{
    ParentBasedSampler, Sampler, SamplingDecision, SamplingResult, SdkTracerProvider, ShouldSample,
};
use otel_xray_propagator::{sampling_deferred, DeferredToRoot, XrayParentBased, XrayPropagator};

const ROOT: &str = "1-5759e988-bd862e3fe1be46a994272793";
const TRACE_HEX: &str = "5759e988bd862e3fe1be46a994272793";
const PARENT: &str = "53995c3f42cd8ad8";

/// A root sampler that counts its calls and answers a fixed decision.
#[derive(Clone, Debug)]
struct CountingRoot {
    calls: Arc<AtomicUsize>,
    sample: bool,
}

impl CountingRoot {
    fn new(sample: bool) -> (Self, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        (
            Self {
                calls: calls.clone(),
                sample,
            },
            calls,
        )
    }
}

impl ShouldSample for CountingRoot {
    fn should_sample(
        &self,
        parent: Option<&Context>,
        _: TraceId,
        _: &str,
        _: &SpanKind,
        _: &[KeyValue],
        _: &[Link],
    ) -> SamplingResult {
        self.calls.fetch_add(1, Ordering::SeqCst);
        SamplingResult {
            decision: if self.sample {
                SamplingDecision::RecordAndSample
            } else {
                SamplingDecision::Drop
            },
            attributes: Vec::new(),
            trace_state: parent
                .map(|cx| cx.span().span_context().trace_state().clone())
                .unwrap_or_default(),
        }
    }
}

fn extract(header: &str) -> Context {
    let carrier = HashMap::from([("x-amzn-trace-id".to_string(), header.to_string())]);
    XrayPropagator::default().extract_with_context(&Context::new(), &carrier)
}

fn inject(cx: &Context) -> String {
    let mut out = HashMap::new();
    XrayPropagator::default().inject_context(cx, &mut out);
    out.remove("x-amzn-trace-id").expect("a header")
}

/// Starts a server span under `parent` with `sampler`; returns its context.
fn child(sampler: impl ShouldSample + 'static, parent: &Context) -> Context {
    let provider = SdkTracerProvider::builder().with_sampler(sampler).build();
    let span = provider.tracer("t").start_with_context("child", parent);
    parent.with_span(span)
}

#[test]
fn deferred_parent_goes_to_the_root_sampler_and_keeps_the_trace() {
    for header in [
        format!("Root={ROOT};Parent={PARENT};Sampled=?;Lineage=1:a87bd80c:0"),
        format!("Root={ROOT};Parent={PARENT};Lineage=1:a87bd80c:0"),
    ] {
        let remote = extract(&header);
        let (root, calls) = CountingRoot::new(true);
        let cx = child(XrayParentBased::new(root), &remote);
        assert_eq!(calls.load(Ordering::SeqCst), 1, "{header}");
        let span = cx.span();
        let sc = span.span_context();
        assert_eq!(sc.trace_id(), TraceId::from_hex(TRACE_HEX).unwrap());
        assert_eq!(sc.trace_flags(), TraceFlags::SAMPLED, "never 0x02");
        assert!(!sampling_deferred(&cx), "the local span has a decision");
        let out = inject(&cx);
        assert_eq!(
            out,
            format!(
                "Root={ROOT};Parent={};Sampled=1;Lineage=1:a87bd80c:0",
                sc.span_id()
            )
        );

        let (root, calls) = CountingRoot::new(false);
        let cx = child(XrayParentBased::new(root), &remote);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(!cx.span().span_context().is_sampled());
        assert!(!sampling_deferred(&cx));
        assert!(
            inject(&cx).contains(";Sampled=0"),
            "a dropped span is not `?`"
        );
    }
}

#[test]
fn decided_parents_are_followed_without_the_root_sampler() {
    for (sampled, want) in [("1", true), ("0", false)] {
        let remote = extract(&format!("Root={ROOT};Parent={PARENT};Sampled={sampled}"));
        // The root sampler would say the opposite; it must not be asked.
        let (root, calls) = CountingRoot::new(!want);
        let cx = child(XrayParentBased::new(root), &remote);
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        assert_eq!(cx.span().span_context().is_sampled(), want);
        assert!(inject(&cx).ends_with(&format!(";Sampled={sampled}")));
    }
}

#[test]
fn per_case_samplers_are_used() {
    let remote = extract(&format!("Root={ROOT};Parent={PARENT};Sampled=0"));
    let (root, _) = CountingRoot::new(false);
    let (case, calls) = CountingRoot::new(true);
    let cx = child(
        XrayParentBased::new(root).with_remote_parent_not_sampled(case),
        &remote,
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(cx.span().span_context().is_sampled());
}

#[test]
fn local_children_follow_the_local_parent() {
    let remote = extract(&format!("Root={ROOT};Parent={PARENT}"));
    let (root, calls) = CountingRoot::new(true);
    let provider = SdkTracerProvider::builder()
        .with_sampler(XrayParentBased::new(root))
        .build();
    let tracer = provider.tracer("t");
    let server = remote.with_span(tracer.start_with_context("server", &remote));
    let inner = tracer.start_with_context("inner", &server);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "only the server span asks the root"
    );
    assert!(inner.span_context().is_sampled());
}

#[test]
fn root_only_alb_header_becomes_a_sampled_child_of_the_same_trace() {
    let remote = extract(&format!("Root={ROOT}"));
    let (root, calls) = CountingRoot::new(true);
    let cx = child(XrayParentBased::new(root), &remote);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let span = cx.span();
    assert_eq!(
        span.span_context().trace_id(),
        TraceId::from_hex(TRACE_HEX).unwrap()
    );
    assert!(span.span_context().is_sampled());
}

#[test]
fn stock_parent_based_drops_deferred_but_deferred_to_root_fixes_it() {
    let remote = extract(&format!("Root={ROOT};Parent={PARENT};Sampled=?"));
    let cx = child(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)), &remote);
    assert!(!cx.span().span_context().is_sampled());

    let (root, calls) = CountingRoot::new(true);
    let sampler = ParentBasedSampler::new(Sampler::AlwaysOff)
        .with_remote_parent_not_sampled(DeferredToRoot::new(root));
    let cx = child(sampler.clone(), &remote);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(cx.span().span_context().is_sampled());

    // A real Sampled=0 stays dropped and does not reach the wrapped sampler.
    let not_sampled = extract(&format!("Root={ROOT};Parent={PARENT};Sampled=0"));
    let cx = child(sampler, &not_sampled);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(!cx.span().span_context().is_sampled());
}
