//! Reading nested segment documents back as a tree, for the nesting tests.
#![allow(dead_code)]

use std::collections::BTreeMap;

/// One span found in a set of documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Its parent's id: `parent_id` of a top-level document, else the id of
    /// the document or subsegment it is nested in.
    pub parent: Option<String>,
    pub name: String,
    /// Nesting depth: 0 for a top-level document.
    pub depth: usize,
    /// The trace it belongs to (a nested one: its top-level document's).
    pub trace_id: String,
}

/// Every span in `docs` (top-level documents), by id, asserting that none
/// appears twice and that nested subsegments carry no `trace_id`, `type` or
/// `parent_id` of their own (their place says all three).
pub fn spans_in(docs: &[serde_json::Value]) -> BTreeMap<String, Found> {
    let mut out = BTreeMap::new();
    for doc in docs {
        let trace = doc["trace_id"].as_str().expect("top-level trace_id");
        let parent = doc["parent_id"].as_str().map(str::to_owned);
        walk(doc, parent, 0, trace, &mut out);
    }
    out
}

fn walk(
    doc: &serde_json::Value,
    parent: Option<String>,
    depth: usize,
    trace: &str,
    out: &mut BTreeMap<String, Found>,
) {
    let id = doc["id"].as_str().expect("id").to_owned();
    if depth > 0 {
        for key in ["trace_id", "type", "parent_id"] {
            assert!(
                doc.get(key).is_none(),
                "nested subsegment {id} has its own {key}"
            );
        }
    }
    let found = Found {
        parent,
        name: doc["name"].as_str().expect("name").to_owned(),
        depth,
        trace_id: trace.to_owned(),
    };
    assert!(
        out.insert(id.clone(), found).is_none(),
        "span {id} is in the documents twice"
    );
    if let Some(children) = doc.get("subsegments") {
        let children = children.as_array().expect("subsegments is an array");
        assert!(!children.is_empty(), "empty subsegments array in {id}");
        for c in children {
            walk(c, Some(id.clone()), depth + 1, trace, out);
        }
    }
}

/// Each span's parent by id, from `spans_in`.
pub fn tree(found: &BTreeMap<String, Found>) -> BTreeMap<String, Option<String>> {
    found
        .iter()
        .map(|(id, f)| (id.clone(), f.parent.clone()))
        .collect()
}

/// Each span's parent by name, from `spans_in` (for comparing documents of
/// different traces that hold the same shape).
pub fn tree_by_name(found: &BTreeMap<String, Found>) -> BTreeMap<String, Option<String>> {
    found
        .values()
        .map(|f| {
            let parent = f.parent.as_ref().map(|p| match found.get(p) {
                Some(pf) => pf.name.clone(),
                None => format!("remote {p}"),
            });
            (f.name.clone(), parent)
        })
        .collect()
}

/// The finished spans of typical requests `requests` in trace family `seed`:
/// per request a SERVER span (`req<r>`) with an INTERNAL child (`req<r>-work`)
/// that has two CLIENT children (`req<r>-db`, `req<r>-cache`), and a CLIENT
/// child (`req<r>-call`) whose metadata carries `pad` bytes. Children come
/// first, as a batch processor sees them end.
pub fn request_spans(
    seed: u32,
    requests: std::ops::Range<u64>,
    pad: usize,
) -> Vec<opentelemetry_sdk::trace::SpanData> {
    use opentelemetry::trace::{
        SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
    };
    use opentelemetry::KeyValue;
    use std::time::{Duration, SystemTime};
    let end = SystemTime::now();
    let secs = end
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as u128;
    let mut out = Vec::new();
    for r in requests {
        let trace = TraceId::from((secs << 96) | (u128::from(seed) << 64) | u128::from(r + 1));
        let id = |k: u64| SpanId::from((u64::from(seed) << 40) | (r << 8) | k);
        let span = |k: u64, parent: u64, kind: SpanKind, name: String, attrs: Vec<KeyValue>| {
            opentelemetry_sdk::trace::SpanData {
                span_context: SpanContext::new(
                    trace,
                    id(k),
                    TraceFlags::SAMPLED,
                    false,
                    TraceState::default(),
                ),
                parent_span_id: if parent == 0 {
                    SpanId::INVALID
                } else {
                    id(parent)
                },
                parent_span_is_remote: false,
                span_kind: kind,
                name: name.into(),
                start_time: end - Duration::from_millis(40 - k),
                end_time: end - Duration::from_millis(k),
                attributes: attrs,
                dropped_attributes_count: 0,
                events: Default::default(),
                links: Default::default(),
                status: Status::Unset,
                instrumentation_scope: Default::default(),
            }
        };
        let client = |url: &str| {
            vec![
                KeyValue::new("http.request.method", "GET"),
                KeyValue::new("url.full", url.to_owned()),
                KeyValue::new("http.response.status_code", 200),
            ]
        };
        out.push(span(
            3,
            2,
            SpanKind::Client,
            format!("req{r}-db"),
            vec![
                KeyValue::new("db.system", "postgresql"),
                KeyValue::new("db.statement", "SELECT * FROM orders WHERE id = $1"),
            ],
        ));
        out.push(span(
            4,
            2,
            SpanKind::Client,
            format!("req{r}-cache"),
            client("http://cache.internal/k"),
        ));
        out.push(span(
            2,
            1,
            SpanKind::Internal,
            format!("req{r}-work"),
            vec![KeyValue::new("step", "work")],
        ));
        let mut call = client("https://pay.example/charge");
        call.push(KeyValue::new("pad", "p".repeat(pad)));
        out.push(span(5, 1, SpanKind::Client, format!("req{r}-call"), call));
        out.push(span(
            1,
            0,
            SpanKind::Server,
            format!("req{r}"),
            vec![
                KeyValue::new("http.request.method", "POST"),
                KeyValue::new("url.path", "/orders"),
                KeyValue::new("http.response.status_code", 201),
            ],
        ));
    }
    out
}
