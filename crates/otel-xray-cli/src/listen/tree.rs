//! A trace as text: the segment/subsegment tree with durations, errors and faults,
//! annotations and exceptions, and a timeline bar per entry.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use super::assemble::{Node, PendingTrace, Release};

/// Width of the timeline column, in characters.
const TIMELINE_WIDTH: usize = 40;

/// Renders `trace` (released for `why`) as a block of lines ending in `\n`.
pub fn render(trace: &PendingTrace, why: Release) -> String {
    let nodes = &trace.nodes;
    let t0 = nodes
        .iter()
        .map(|n| n.start)
        .filter(|s| s.is_finite())
        .fold(f64::INFINITY, f64::min);
    let t1 = nodes
        .iter()
        .map(|n| n.end.unwrap_or(n.start))
        .filter(|e| e.is_finite())
        .fold(f64::NEG_INFINITY, f64::max);
    let (t0, t1) = if t0.is_finite() && t1.is_finite() && t1 >= t0 {
        (t0, t1)
    } else {
        (0.0, 0.0)
    };
    let faults = nodes.iter().filter(|n| n.fault).count();
    let errors = nodes.iter().filter(|n| n.error).count();
    let invalid = nodes.iter().filter(|n| n.invalid).count();
    let status = match why {
        Release::Complete => "complete".to_string(),
        Release::Idle | Release::Shutdown => {
            let mut s = String::from(if why == Release::Idle {
                "incomplete (idle)"
            } else {
                "incomplete (shutdown)"
            });
            let missing = trace.missing_parents();
            if !missing.is_empty() {
                let _ = write!(s, ", missing parents {}", missing.join(", "));
            }
            if nodes.iter().any(|n| n.in_progress) {
                s.push_str(", in progress");
            }
            s
        }
    };
    let mut out = String::new();
    let _ = write!(
        out,
        "trace {}  {}  {} document{}  {}",
        trace.trace_id,
        duration((t1 - t0).max(0.0)),
        trace.documents,
        if trace.documents == 1 { "" } else { "s" },
        status
    );
    for (n, what) in [(faults, "fault"), (errors, "error"), (invalid, "invalid")] {
        if n > 0 {
            let _ = write!(out, "  {n} {what}{}", if n == 1 { "" } else { "s" });
        }
    }
    out.push('\n');

    let rows = layout(nodes);
    let label_width = rows
        .iter()
        .map(|r| r.prefix.chars().count() + nodes[r.index].name.chars().count())
        .max()
        .unwrap_or(0);
    for row in &rows {
        let node = &nodes[row.index];
        let label = format!("{}{}", row.prefix, node.name);
        let pad = label_width.saturating_sub(label.chars().count());
        let _ = writeln!(
            out,
            "  {label}{:pad$}  {:<10} {:>10}  {:<16} |{}|",
            "",
            kind(node),
            match node.end {
                Some(end) if !node.in_progress => duration((end - node.start).max(0.0)),
                _ => "…".to_string(),
            },
            flags(node),
            bar(node, t0, t1),
        );
        for a in &node.annotations {
            let _ = writeln!(out, "  {}  @ {a}", row.detail_prefix);
        }
        for e in &node.exceptions {
            let _ = writeln!(out, "  {}  ! {e}", row.detail_prefix);
        }
    }
    out
}

struct Row {
    index: usize,
    prefix: String,
    detail_prefix: String,
}

/// Depth-first order: roots (entries whose parent is absent) by start time, then children by
/// start time; entries unreachable from a root (a parent cycle) are listed last as roots.
fn layout(nodes: &[Node]) -> Vec<Row> {
    let ids: HashSet<&str> = nodes.iter().map(|n| n.id.as_str()).collect();
    let mut children: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut roots = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        match n.parent.as_deref() {
            Some(p) if ids.contains(p) && p != n.id => children.entry(p).or_default().push(i),
            _ => roots.push(i),
        }
    }
    let by_start = |v: &mut Vec<usize>| {
        v.sort_by(|&a, &b| nodes[a].start.total_cmp(&nodes[b].start));
    };
    by_start(&mut roots);
    for v in children.values_mut() {
        by_start(v);
    }
    let mut rows = Vec::new();
    let mut seen = vec![false; nodes.len()];
    for &r in &roots {
        walk(nodes, &children, r, "", "", &mut seen, &mut rows);
    }
    for i in 0..nodes.len() {
        if !seen[i] {
            walk(nodes, &children, i, "", "", &mut seen, &mut rows);
        }
    }
    rows
}

fn walk(
    nodes: &[Node],
    children: &HashMap<&str, Vec<usize>>,
    index: usize,
    prefix: &str,
    child_prefix: &str,
    seen: &mut [bool],
    rows: &mut Vec<Row>,
) {
    if seen[index] {
        return;
    }
    seen[index] = true;
    let kids: Vec<usize> = children
        .get(nodes[index].id.as_str())
        .map(|k| k.iter().copied().filter(|&k| !seen[k]).collect())
        .unwrap_or_default();
    rows.push(Row {
        index,
        prefix: prefix.to_string(),
        detail_prefix: format!(
            "{child_prefix}{}",
            if kids.is_empty() { "  " } else { "│ " }
        ),
    });
    let last = kids.len().saturating_sub(1);
    for (i, &k) in kids.iter().enumerate() {
        let (branch, cont) = if i == last {
            ("└─ ", "   ")
        } else {
            ("├─ ", "│  ")
        };
        walk(
            nodes,
            children,
            k,
            &format!("{child_prefix}{branch}"),
            &format!("{child_prefix}{cont}"),
            seen,
            rows,
        );
    }
}

fn kind(n: &Node) -> String {
    if n.is_segment {
        n.origin.clone().unwrap_or_else(|| "segment".into())
    } else {
        n.namespace.clone().unwrap_or_else(|| "subsegment".into())
    }
}

fn flags(n: &Node) -> String {
    let mut parts: Vec<String> = Vec::new();
    if n.fault {
        parts.push("FAULT".into());
    }
    if n.error {
        parts.push("ERROR".into());
    }
    if n.throttle {
        parts.push("THROTTLE".into());
    }
    if let Some(s) = n.http_status {
        parts.push(s.to_string());
    }
    if n.in_progress {
        parts.push("in-progress".into());
    }
    if n.invalid {
        parts.push("INVALID".into());
    }
    parts.join(" ")
}

fn duration(seconds: f64) -> String {
    if seconds < 10.0 {
        format!("{:.1} ms", seconds * 1000.0)
    } else {
        format!("{seconds:.2} s")
    }
}

fn bar(n: &Node, t0: f64, t1: f64) -> String {
    let w = TIMELINE_WIDTH as f64;
    let span = t1 - t0;
    let end = if n.in_progress {
        t1
    } else {
        n.end.unwrap_or(n.start)
    };
    let (from, to) = if span > 0.0 && n.start.is_finite() && end.is_finite() {
        let from = (((n.start - t0) / span) * w).floor().clamp(0.0, w - 1.0) as usize;
        let to = (((end - t0) / span) * w).ceil().clamp(from as f64 + 1.0, w) as usize;
        (from, to)
    } else {
        (0, TIMELINE_WIDTH)
    };
    let fill = if n.in_progress { '░' } else { '█' };
    (0..TIMELINE_WIDTH)
        .map(|i| if i >= from && i < to { fill } else { ' ' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listen::assemble::flatten;
    use serde_json::json;
    use std::time::Instant;

    fn trace(docs: &[serde_json::Value]) -> PendingTrace {
        PendingTrace {
            trace_id: "1-581cf771-a006649127e371903a2de979".into(),
            nodes: docs.iter().flat_map(|d| flatten(d, false)).collect(),
            documents: docs.len(),
            last_seen: Instant::now(),
        }
    }

    #[test]
    fn renders_tree_timeline_flags_annotations() {
        let root = json!({"name": "checkout", "id": "aaaaaaaaaaaaaaaa", "start_time": 10.0,
            "end_time": 10.2, "fault": true, "http": {"response": {"status": 500}},
            "annotations": {"order_id": "1042"}});
        let db = json!({"name": "orders-db", "id": "bbbbbbbbbbbbbbbb", "parent_id": "aaaaaaaaaaaaaaaa",
            "type": "subsegment", "namespace": "remote", "start_time": 10.1, "end_time": 10.2,
            "error": true, "cause": {"exceptions": [{"id": "cccccccccccccccc", "type": "PoolTimedOut",
            "message": "pool timed out"}]}});
        let http = json!({"name": "inventory", "id": "dddddddddddddddd", "parent_id": "aaaaaaaaaaaaaaaa",
            "type": "subsegment", "namespace": "remote", "start_time": 10.0, "end_time": 10.05});
        let text = render(&trace(&[db, root, http]), Release::Complete);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with(
                "trace 1-581cf771-a006649127e371903a2de979  200.0 ms  3 documents  complete"
            ),
            "{text}"
        );
        assert!(
            lines[0].contains("1 fault") && lines[0].contains("1 error"),
            "{text}"
        );
        assert!(
            lines[1].starts_with("  checkout ") && lines[1].contains("FAULT 500"),
            "{text}"
        );
        assert!(
            lines[1].ends_with(&format!("|{}|", "█".repeat(TIMELINE_WIDTH))),
            "{text}"
        );
        assert!(lines[2].contains("@ order_id=1042"), "{text}");
        // Children ordered by start time: inventory (10.0) before orders-db (10.1).
        assert!(lines[3].starts_with("  ├─ inventory "), "{text}");
        assert!(lines[3].contains("50.0 ms"), "{text}");
        assert!(
            lines[4].starts_with("  └─ orders-db ") && lines[4].contains("ERROR"),
            "{text}"
        );
        assert!(
            lines[5].contains("! PoolTimedOut: pool timed out"),
            "{text}"
        );
        let bar = lines[4].rsplit('|').nth(1).unwrap();
        assert_eq!(
            bar.chars().take_while(|&c| c == ' ').count(),
            TIMELINE_WIDTH / 2
        );
    }

    #[test]
    fn incomplete_trace_names_missing_parent_and_cycles_terminate() {
        let a = json!({"name": "a", "id": "aaaaaaaaaaaaaaaa", "parent_id": "bbbbbbbbbbbbbbbb",
            "start_time": 1.0, "end_time": 2.0});
        let b = json!({"name": "b", "id": "bbbbbbbbbbbbbbbb", "parent_id": "aaaaaaaaaaaaaaaa",
            "start_time": 1.0, "in_progress": true});
        let orphan = json!({"name": "c", "id": "cccccccccccccccc", "parent_id": "ffffffffffffffff",
            "start_time": f64::MAX, "end_time": f64::MIN});
        let text = render(&trace(&[a, b, orphan]), Release::Idle);
        assert!(text.contains("missing parents ffffffffffffffff"), "{text}");
        assert!(text.contains("in progress"), "{text}");
        assert_eq!(text.lines().count(), 4, "{text}");
    }

    fn arb_node() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let id = prop_oneof![Just("a"), Just("b"), Just("c"), Just("")].prop_map(String::from);
        let time = prop_oneof![any::<f64>(), Just(1.0), Just(2.0)];
        (
            id.clone(),
            proptest::option::of(id),
            time.clone(),
            proptest::option::of(time),
            any::<bool>(),
            "\\PC{0,12}",
        )
            .prop_map(|(id, parent, start, end, fault, name)| {
                json!({"id": id, "parent_id": parent, "start_time": start, "end_time": end,
                    "fault": fault, "name": name, "in_progress": end.is_none(),
                    "subsegments": [{"id": "a", "name": "x", "start_time": start}]})
            })
    }

    proptest::proptest! {
        #[test]
        fn hostile_traces_render_every_entry_once(docs in proptest::collection::vec(arb_node(), 0..8)) {
            let t = trace(&docs);
            let text = render(&t, Release::Shutdown);
            let rows = text.lines().filter(|l| l.ends_with('|')).count();
            proptest::prop_assert_eq!(rows, t.nodes.len());
        }
    }
}
