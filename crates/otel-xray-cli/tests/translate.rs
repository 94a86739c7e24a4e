//! `otel-xray translate` end to end on hand-written, realistic OTLP/JSON.

mod support;

use serde_json::Value;
use support::run;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/checkout-trace.otlp.json"
);
const MALFORMED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/partly-malformed.otlp.json"
);
const TRACE: &str = "1-6b014b00-a1f3c9d2e4b5f60718293a4b";

fn parse_docs(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8(stdout.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON document per line"))
        .collect()
}

fn by_id<'a>(docs: &'a [Value], id: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["id"] == id)
        .unwrap_or_else(|| panic!("no document {id}"))
}

#[test]
fn fixture_becomes_schema_valid_documents() {
    let out = run(&["translate", FIXTURE], "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let docs = parse_docs(&out.stdout);
    assert_eq!(docs.len(), 3);
    for d in &docs {
        otel_xray_testkit::assert_segment_valid(d);
        assert_eq!(d["trace_id"], TRACE);
    }
    let root = by_id(&docs, "53995c3f42cd8ad8");
    assert_eq!(root["name"], "checkout");
    assert!(root.get("parent_id").is_none(), "{root}");
    assert_eq!(root["fault"], true, "{root}");
    assert_eq!(root["http"]["response"]["status"], 500, "{root}");
    assert_eq!(root["http"]["request"]["method"], "GET", "{root}");
    assert_eq!(root["user"], "customer-1042", "{root}");
    let client = by_id(&docs, "8ac1f0d2b7e49a16");
    assert_eq!(client["parent_id"], "53995c3f42cd8ad8");
    assert_eq!(client["namespace"], "remote", "{client}");
    let db = by_id(&docs, "f3a9b10c5d6e7f80");
    assert_eq!(db["parent_id"], "53995c3f42cd8ad8");
    let exceptions = db["cause"]["exceptions"]
        .as_array()
        .expect("exception in cause");
    assert_eq!(exceptions[0]["type"], "sqlx::Error::PoolTimedOut", "{db}");
    // The kvlist attribute is reported as converted to text.
    assert!(stderr.contains("order.shipping"), "{stderr}");

    // What translate writes, validate accepts.
    let text = String::from_utf8(out.stdout).unwrap();
    let checked = run(&["validate", "-"], &text);
    assert_eq!(
        checked.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&checked.stdout)
    );
}

#[test]
fn indexed_attributes_become_annotations() {
    let out = run(
        &[
            "translate",
            "--indexed-attribute",
            "order.priority",
            "--indexed-attribute",
            "order.total",
            FIXTURE,
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(0));
    let docs = parse_docs(&out.stdout);
    let ann = &by_id(&docs, "53995c3f42cd8ad8")["annotations"];
    assert_eq!(ann["order_priority"], true, "{ann}");
    assert_eq!(ann["order_total"], 129.95, "{ann}");
    assert!(by_id(&docs, "8ac1f0d2b7e49a16")
        .get("annotations")
        .is_none());

    let all = run(
        &["translate", "--index-all-attributes", "-"],
        &std::fs::read_to_string(FIXTURE).unwrap(),
    );
    assert_eq!(all.status.code(), Some(0));
    let docs_all = parse_docs(&all.stdout);
    let ann = &by_id(&docs_all, "f3a9b10c5d6e7f80")["annotations"];
    assert_eq!(ann["server_port"], 5432, "{ann}");
    for d in &docs_all {
        otel_xray_testkit::assert_segment_valid(d);
    }
}

#[test]
fn malformed_input_names_what_and_where_and_keeps_valid_spans() {
    let out = run(&["translate", MALFORMED], "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let docs = parse_docs(&out.stdout);
    assert_eq!(docs.len(), 1, "{stderr}");
    assert_eq!(docs[0]["name"], "billing");
    assert!(stderr.contains("resourceSpans[0].scopeSpans[0].spans[1].spanId: expected 16 hex digits, found \"not-a-span-id!!\""), "{stderr}");
    assert!(stderr.contains("spans[2].attributes[0].value.intValue: expected a signed 64-bit integer, found \"twelve\""), "{stderr}");

    let not_json = run(&["translate"], "{\"resourceSpans\": [");
    assert_eq!(not_json.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&not_json.stderr).contains("line 1, column"));
}
