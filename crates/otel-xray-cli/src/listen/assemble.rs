//! Grouping received segment documents into traces, and deciding when a trace is whole.
//!
//! A trace is *complete* when it has a root (an entry without a parent), every `parent_id`
//! names a segment or subsegment that has arrived, and nothing is still in progress. Since a
//! root can arrive before its children, a complete trace is only released after it has been
//! quiet for the settle time; an incomplete one is released after the idle time, with what is
//! missing.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::{Map, Value as Json};

/// A segment or subsegment, flattened out of its document.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// `id`.
    pub id: String,
    /// `name`.
    pub name: String,
    /// `parent_id`, or the enclosing entry for an embedded subsegment.
    pub parent: Option<String>,
    /// True for a segment (a top-level document without `type: "subsegment"`).
    pub is_segment: bool,
    /// `start_time`, epoch seconds.
    pub start: f64,
    /// `end_time`, epoch seconds.
    pub end: Option<f64>,
    /// `in_progress: true`.
    pub in_progress: bool,
    /// `namespace` (`aws`, `remote`).
    pub namespace: Option<String>,
    /// `origin` (segments).
    pub origin: Option<String>,
    /// `error` (4xx).
    pub error: bool,
    /// `fault` (5xx).
    pub fault: bool,
    /// `throttle` (429).
    pub throttle: bool,
    /// `http.response.status`.
    pub http_status: Option<i64>,
    /// `annotations`, rendered as `key=value`, in key order.
    pub annotations: Vec<String>,
    /// Exception messages from `cause.exceptions`.
    pub exceptions: Vec<String>,
    /// The document failed validation.
    pub invalid: bool,
}

/// The flattened entries of one document (`invalid` marks a document that failed validation).
pub fn flatten(doc: &Json, invalid: bool) -> Vec<Node> {
    let mut out = Vec::new();
    if let Some(obj) = doc.as_object() {
        let is_segment = obj.get("type").and_then(Json::as_str) != Some("subsegment");
        let parent = str_field(obj, "parent_id");
        push_node(obj, parent, is_segment, invalid, &mut out);
    }
    out
}

fn push_node(
    obj: &Map<String, Json>,
    parent: Option<String>,
    is_segment: bool,
    invalid: bool,
    out: &mut Vec<Node>,
) {
    let id = str_field(obj, "id").unwrap_or_else(|| "-".into());
    let annotations = match obj.get("annotations") {
        Some(Json::Object(a)) => a
            .iter()
            .map(|(k, v)| match v {
                Json::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect(),
        _ => Vec::new(),
    };
    let exceptions = obj
        .get("cause")
        .and_then(|c| c.get("exceptions"))
        .and_then(Json::as_array)
        .map(|exs| {
            exs.iter()
                .map(|e| {
                    let ty = e.get("type").and_then(Json::as_str).unwrap_or("");
                    let msg = e.get("message").and_then(Json::as_str).unwrap_or("");
                    match (ty.is_empty(), msg.is_empty()) {
                        (false, false) => format!("{ty}: {msg}"),
                        (false, true) => ty.to_string(),
                        _ => msg.to_string(),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    out.push(Node {
        id: id.clone(),
        name: str_field(obj, "name").unwrap_or_default(),
        parent,
        is_segment,
        start: obj.get("start_time").and_then(Json::as_f64).unwrap_or(0.0),
        end: obj.get("end_time").and_then(Json::as_f64),
        in_progress: obj.get("in_progress").and_then(Json::as_bool) == Some(true),
        namespace: str_field(obj, "namespace"),
        origin: str_field(obj, "origin"),
        error: flag(obj, "error"),
        fault: flag(obj, "fault"),
        throttle: flag(obj, "throttle"),
        http_status: obj
            .get("http")
            .and_then(|h| h.get("response"))
            .and_then(|r| r.get("status"))
            .and_then(Json::as_i64),
        annotations,
        exceptions,
        invalid,
    });
    if let Some(Json::Array(subs)) = obj.get("subsegments") {
        for sub in subs {
            if let Json::Object(sub) = sub {
                push_node(sub, Some(id.clone()), false, invalid, out);
            }
        }
    }
}

fn str_field(obj: &Map<String, Json>, key: &str) -> Option<String> {
    obj.get(key).and_then(Json::as_str).map(str::to_owned)
}

fn flag(obj: &Map<String, Json>, key: &str) -> bool {
    obj.get(key).and_then(Json::as_bool) == Some(true)
}

/// The documents of one trace received so far.
#[derive(Debug, Clone)]
pub struct PendingTrace {
    /// The X-Ray trace ID.
    pub trace_id: String,
    /// Every entry received.
    pub nodes: Vec<Node>,
    /// How many documents.
    pub documents: usize,
    /// When the last document arrived.
    pub last_seen: Instant,
}

impl PendingTrace {
    /// `parent_id`s that name nothing received.
    pub fn missing_parents(&self) -> Vec<String> {
        let ids: HashSet<&str> = self.nodes.iter().map(|n| n.id.as_str()).collect();
        let mut missing: Vec<String> = self
            .nodes
            .iter()
            .filter_map(|n| n.parent.as_deref())
            .filter(|p| !ids.contains(p))
            .map(str::to_owned)
            .collect();
        missing.sort();
        missing.dedup();
        missing
    }

    /// Root present, all parents present, nothing in progress.
    pub fn is_complete(&self) -> bool {
        self.nodes.iter().any(|n| n.parent.is_none())
            && !self.nodes.iter().any(|n| n.in_progress)
            && self.missing_parents().is_empty()
    }
}

/// Why a trace was released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// Complete and quiet for the settle time.
    Complete,
    /// Quiet for the idle time without becoming complete.
    Idle,
    /// Released at shutdown.
    Shutdown,
}

/// Open traces, keyed by trace ID.
#[derive(Debug)]
pub struct Assembler {
    settle: Duration,
    idle: Duration,
    open: BTreeMap<String, PendingTrace>,
}

impl Assembler {
    /// `settle`: quiet time before a complete trace is released; `idle`: before any is.
    pub fn new(settle: Duration, idle: Duration) -> Assembler {
        Assembler {
            settle,
            idle,
            open: BTreeMap::new(),
        }
    }

    /// Adds a document's entries (documents without a string `trace_id` go under `-`).
    pub fn add(&mut self, doc: &Json, invalid: bool, now: Instant) {
        let trace_id = doc
            .get("trace_id")
            .and_then(Json::as_str)
            .unwrap_or("-")
            .to_owned();
        let entry = self
            .open
            .entry(trace_id.clone())
            .or_insert_with(|| PendingTrace {
                trace_id,
                nodes: Vec::new(),
                documents: 0,
                last_seen: now,
            });
        entry.nodes.extend(flatten(doc, invalid));
        entry.documents += 1;
        entry.last_seen = now;
    }

    /// Traces due at `now`, removed from the open set.
    pub fn due(&mut self, now: Instant) -> Vec<(PendingTrace, Release)> {
        let (settle, idle) = (self.settle, self.idle);
        let ready: Vec<(String, Release)> = self
            .open
            .iter()
            .filter_map(|(id, t)| {
                let quiet = now.saturating_duration_since(t.last_seen);
                if quiet >= settle && t.is_complete() {
                    Some((id.clone(), Release::Complete))
                } else if quiet >= idle {
                    Some((id.clone(), Release::Idle))
                } else {
                    None
                }
            })
            .collect();
        ready
            .into_iter()
            .filter_map(|(id, why)| self.open.remove(&id).map(|t| (t, why)))
            .collect()
    }

    /// Every open trace, for shutdown.
    pub fn drain(&mut self) -> Vec<(PendingTrace, Release)> {
        std::mem::take(&mut self.open)
            .into_values()
            .map(|t| (t, Release::Shutdown))
            .collect()
    }

    /// Number of open traces.
    pub fn open_count(&self) -> usize {
        self.open.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TRACE: &str = "1-581cf771-a006649127e371903a2de979";

    fn doc(id: &str, parent: Option<&str>) -> Json {
        let mut d = json!({"name": "svc", "id": id, "trace_id": TRACE,
            "start_time": 1.0, "end_time": 2.0});
        if let Some(p) = parent {
            d["parent_id"] = json!(p);
            d["type"] = json!("subsegment");
        }
        d
    }

    #[test]
    fn complete_only_when_every_parent_arrived_and_quiet() {
        let t0 = Instant::now();
        let settle = Duration::from_millis(100);
        let mut a = Assembler::new(settle, Duration::from_secs(5));
        a.add(
            &doc("bbbbbbbbbbbbbbbb", Some("aaaaaaaaaaaaaaaa")),
            false,
            t0,
        );
        assert!(a.due(t0 + settle * 3).is_empty());
        a.add(&doc("aaaaaaaaaaaaaaaa", None), false, t0 + settle);
        assert!(a.due(t0 + settle).is_empty(), "not yet quiet");
        let due = a.due(t0 + settle * 2);
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].1, Release::Complete);
        assert_eq!(due[0].0.documents, 2);
        assert_eq!(a.open_count(), 0);
    }

    #[test]
    fn incomplete_traces_are_released_after_idle_with_what_is_missing() {
        let t0 = Instant::now();
        let mut a = Assembler::new(Duration::ZERO, Duration::from_secs(1));
        a.add(
            &doc("bbbbbbbbbbbbbbbb", Some("aaaaaaaaaaaaaaaa")),
            false,
            t0,
        );
        let mut open = doc("cccccccccccccccc", None);
        open.as_object_mut().unwrap().remove("end_time");
        open["in_progress"] = json!(true);
        open["trace_id"] = json!("1-581cf771-a006649127e371903a2de970");
        a.add(&open, false, t0);
        assert!(a.due(t0 + Duration::from_millis(999)).is_empty());
        let due = a.due(t0 + Duration::from_secs(1));
        assert_eq!(due.len(), 2);
        assert!(due.iter().all(|(_, r)| *r == Release::Idle));
        let first = due.iter().find(|(t, _)| t.trace_id == TRACE).unwrap();
        assert_eq!(
            first.0.missing_parents(),
            vec!["aaaaaaaaaaaaaaaa".to_string()]
        );
    }

    #[test]
    fn embedded_subsegments_are_children_of_their_container() {
        let mut d = doc("aaaaaaaaaaaaaaaa", None);
        d["subsegments"] = json!([{"name": "db", "id": "bbbbbbbbbbbbbbbb", "start_time": 1.1,
            "end_time": 1.5, "subsegments": [{"name": "q", "id": "cccccccccccccccc",
            "start_time": 1.2, "end_time": 1.3}]}]);
        let nodes = flatten(&d, false);
        let parents: Vec<Option<&str>> = nodes.iter().map(|n| n.parent.as_deref()).collect();
        assert_eq!(
            parents,
            vec![None, Some("aaaaaaaaaaaaaaaa"), Some("bbbbbbbbbbbbbbbb")]
        );
        assert!(nodes[0].is_segment && !nodes[1].is_segment);
    }
}
