//! Subsegment nesting on random span trees: random shapes and kinds, spans
//! in random batch order, random sizes and size limits. Every span is
//! delivered exactly once with its parent link intact, every document is
//! schema-valid and within the limit, and the counters count spans.

mod delivery_support;
mod nesting_support;

use std::time::{Duration, SystemTime};

use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use otel_xray_exporter::{TranslatorConfig, XrayExporter, MAX_NESTING_DEPTH};
use proptest::prelude::*;

/// Where a generated span hangs.
#[derive(Debug, Clone, Copy)]
enum Parent {
    /// No parent: a root segment.
    None,
    /// A parent in another process (not in the batch).
    Remote,
    /// The span generated `n` places before this one (wrapping).
    Back(usize),
}

#[derive(Debug, Clone)]
struct Gen {
    parent: Parent,
    kind: SpanKind,
    /// Bytes of one metadata attribute.
    pad: usize,
    /// Put it in another trace than its parent (so it must not nest).
    other_trace: bool,
}

fn gen_span() -> impl Strategy<Value = Gen> {
    let parent = prop_oneof![
        1 => Just(Parent::None),
        1 => Just(Parent::Remote),
        8 => (1usize..6).prop_map(Parent::Back),
    ];
    let kind = prop_oneof![
        4 => Just(SpanKind::Internal),
        4 => Just(SpanKind::Client),
        1 => Just(SpanKind::Server),
        1 => Just(SpanKind::Producer),
    ];
    let pad = prop_oneof![4 => 0usize..300, 2 => 300usize..3_000, 1 => 3_000usize..20_000];
    (parent, kind, pad, proptest::bool::weighted(0.05)).prop_map(
        |(parent, kind, pad, other_trace)| Gen {
            parent,
            kind,
            pad,
            other_trace,
        },
    )
}

/// The spans of `gens`, in generation order (span i has id i + 1).
fn spans(gens: &[Gen]) -> Vec<SpanData> {
    let end = SystemTime::now();
    let secs = end
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as u128;
    let trace = |n: u128| TraceId::from((secs << 96) | n);
    let mut traces: Vec<TraceId> = Vec::new();
    let mut out = Vec::new();
    for (i, g) in gens.iter().enumerate() {
        let (parent, remote, mut t) = match g.parent {
            Parent::None => (SpanId::INVALID, false, trace(1000 + i as u128)),
            Parent::Remote => (SpanId::from(0xdead_0000 + i as u64), true, trace(7)),
            Parent::Back(n) if i > 0 => {
                let p = i - 1 - (n - 1) % i;
                (SpanId::from(p as u64 + 1), false, traces[p])
            }
            Parent::Back(_) => (SpanId::INVALID, false, trace(1000)),
        };
        if g.other_trace {
            t = trace(2000 + i as u128);
        }
        traces.push(t);
        out.push(SpanData {
            span_context: SpanContext::new(
                t,
                SpanId::from(i as u64 + 1),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: parent,
            parent_span_is_remote: remote,
            span_kind: g.kind.clone(),
            name: format!("span-{i}").into(),
            start_time: end - Duration::from_millis(50),
            end_time: end,
            attributes: vec![
                KeyValue::new("pad", "p".repeat(g.pad)),
                KeyValue::new("http.request.method", "GET"),
            ],
            dropped_attributes_count: 0,
            events: Default::default(),
            links: Default::default(),
            status: Status::Unset,
            instrumentation_scope: Default::default(),
        });
    }
    out
}

/// Exports `batch` with nesting on and a `limit`-byte documents; returns the
/// documents and the exporter's counters.
fn export(batch: Vec<SpanData>, limit: usize) -> (Vec<String>, otel_xray_exporter::DeliveryStats) {
    let out = delivery_support::SharedWriter::default();
    let exporter = XrayExporter::builder()
        .with_writer(out.clone())
        .with_translator_config(
            TranslatorConfig::builder()
                .max_document_bytes(limit)
                .build(),
        )
        .with_subsegment_nesting(true)
        .build()
        .unwrap();
    let counters = exporter.counters();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(exporter.export(batch)).unwrap();
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    let docs = text.lines().map(str::to_owned).collect();
    (docs, counters.snapshot())
}

fn hex(id: SpanId) -> String {
    format!("{id}")
}

/// Checks the documents of `batch` against the spans.
fn check(batch: &[SpanData], docs: &[String], limit: usize) -> Result<(), TestCaseError> {
    let mut values = Vec::new();
    for d in docs {
        prop_assert!(
            d.len() <= limit,
            "{} bytes over the {limit}-byte limit",
            d.len()
        );
        let v: serde_json::Value = serde_json::from_str(d).unwrap();
        otel_xray_testkit::assert_segment_valid(&v);
        values.push(v);
    }
    let found = nesting_support::spans_in(&values);
    prop_assert_eq!(found.len(), batch.len(), "every span exactly once");
    for s in batch {
        let id = hex(s.span_context.span_id());
        let f = &found[&id];
        let parent = (s.parent_span_id != SpanId::INVALID).then(|| hex(s.parent_span_id));
        prop_assert_eq!(&f.parent, &parent, "parent of {}", id);
        prop_assert_eq!(
            &f.trace_id[2..10],
            &format!("{}", s.span_context.trace_id())[..8],
            "trace of {}",
            id
        );
        prop_assert!(f.depth <= MAX_NESTING_DEPTH);
        if f.depth > 0 {
            // Only subsegments nest: no server span, no root, no span under
            // a remote parent.
            prop_assert!(matches!(
                s.span_kind,
                SpanKind::Internal | SpanKind::Client | SpanKind::Producer
            ));
            prop_assert!(!s.parent_span_is_remote);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_span_is_delivered_once_within_the_limit(
        (gens, order) in proptest::collection::vec(gen_span(), 1..40).prop_flat_map(|g| {
            let n = g.len();
            (Just(g), Just((0..n).collect::<Vec<_>>()).prop_shuffle())
        }),
        limit in prop_oneof![Just(4096usize), 4096usize..20_000, Just(65_536)],
    ) {
        let all = spans(&gens);
        let batch: Vec<SpanData> = order.iter().map(|&i| all[i].clone()).collect();
        let (docs, stats) = export(batch.clone(), limit);
        check(&batch, &docs, limit)?;
        prop_assert_eq!((stats.sent, stats.dropped_total(), stats.rejected_total()),
            (batch.len() as u64, 0, 0));
        prop_assert!(docs.len() <= batch.len());
    }
}

/// Internal spans in a chain: no nesting beyond `MAX_NESTING_DEPTH`, and
/// the documents parse with serde_json's default depth limit.
#[test]
fn a_deep_chain_is_cut_at_the_depth_limit() {
    let n = 3 * MAX_NESTING_DEPTH;
    let gens: Vec<Gen> = (0..n)
        .map(|i| Gen {
            parent: if i == 0 {
                Parent::None
            } else {
                Parent::Back(1)
            },
            kind: SpanKind::Internal,
            pad: 0,
            other_trace: false,
        })
        .collect();
    let batch = spans(&gens);
    let (docs, stats) = export(batch.clone(), 65_536);
    check(&batch, &docs, 65_536).unwrap();
    assert_eq!(stats.sent, n as u64);
    // 1 + 32 spans per document: the chain needs three.
    assert_eq!(
        docs.len(),
        n.div_ceil(MAX_NESTING_DEPTH + 1),
        "{}",
        docs.len()
    );
}

/// A typical request (a server span with client and internal children, some
/// with children of their own) becomes one document.
#[test]
fn one_request_becomes_one_document() {
    let gens: Vec<Gen> = [
        (Parent::None, SpanKind::Server),
        (Parent::Back(1), SpanKind::Internal),
        (Parent::Back(1), SpanKind::Client),
        (Parent::Back(2), SpanKind::Client),
        (Parent::Back(4), SpanKind::Client),
    ]
    .into_iter()
    .map(|(parent, kind)| Gen {
        parent,
        kind,
        pad: 10,
        other_trace: false,
    })
    .collect();
    let batch = spans(&gens);
    let (docs, stats) = export(batch.clone(), 65_536);
    check(&batch, &docs, 65_536).unwrap();
    assert_eq!((docs.len(), stats.sent), (1, 5));
}

/// Two subsegments naming each other as parent (no root): both go out once.
#[test]
fn a_cycle_of_parent_ids_still_delivers_every_span() {
    let gens: Vec<Gen> = (0..2)
        .map(|_| Gen {
            parent: Parent::Back(1),
            kind: SpanKind::Client,
            pad: 0,
            other_trace: false,
        })
        .collect();
    let mut batch = spans(&gens);
    // Span 1's parent is span 2 and span 2's is span 1, in one trace.
    let trace = batch[1].span_context.trace_id();
    batch[0].span_context = SpanContext::new(
        trace,
        SpanId::from(1),
        TraceFlags::SAMPLED,
        false,
        TraceState::default(),
    );
    batch[0].parent_span_id = SpanId::from(2);
    let (docs, stats) = export(batch.clone(), 65_536);
    check(&batch, &docs, 65_536).unwrap();
    assert_eq!((docs.len(), stats.sent), (1, 2));
}
