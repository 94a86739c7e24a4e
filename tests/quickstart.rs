//! The README's main job: `cargo run --example quickstart` prints real, schema-valid
//! segment documents of one trace.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

/// `cargo test` builds the examples next to the test binaries' `deps/` directory.
fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target profile dir");
    let path = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: run through `cargo test` (it builds examples)",
        path.display()
    );
    path
}

#[test]
fn quickstart_prints_one_schema_valid_trace() {
    let out = Command::new(example_binary("quickstart"))
        .env_remove("AWS_XRAY_DAEMON_ADDRESS")
        .output()
        .expect("run quickstart");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "quickstart failed: {stderr}");

    let docs: Vec<Value> = serde_json::Deserializer::from_slice(&out.stdout)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .expect("stdout is a stream of JSON documents");
    assert_eq!(
        docs.len(),
        5,
        "server + inventory + dynamodb + sql + payment"
    );
    for doc in &docs {
        otel_xray_testkit::assert_segment_valid(doc);
    }

    // One trace, continued from the incoming header.
    let incoming = stderr
        .lines()
        .find_map(|l| l.strip_prefix("incoming  X-Amzn-Trace-Id: "))
        .expect("incoming header on stderr");
    let root = incoming
        .split(';')
        .find_map(|p| p.strip_prefix("Root="))
        .unwrap();
    let upstream_parent = incoming
        .split(';')
        .find_map(|p| p.strip_prefix("Parent="))
        .unwrap();
    assert!(docs.iter().all(|d| d["trace_id"] == root));

    let by_name: HashMap<&str, &Value> = docs
        .iter()
        .map(|d| (d["name"].as_str().unwrap(), d))
        .collect();
    let server = docs
        .iter()
        .find(|d| d.get("type").is_none())
        .expect("one segment");
    assert_eq!(server["parent_id"], upstream_parent);
    assert_eq!(server["annotations"]["order_id"], "42");
    assert_eq!(server["annotations"]["customer_tier"], "gold");
    assert_eq!(server["annotations"]["retry"], false);
    assert_eq!(server["metadata"]["orders"]["items"], 3);
    assert_eq!(server["http"]["response"]["status"], 500);
    assert_eq!(server["fault"], true);
    let text = server.to_string();
    assert!(!text.contains("s3cr3t"), "the Authorization header leaked");

    // Every subsegment hangs under the server segment.
    for d in docs.iter().filter(|d| d.get("type").is_some()) {
        assert_eq!(d["type"], "subsegment");
        assert_eq!(d["parent_id"], server["id"], "{}", d["name"]);
    }
    let dynamo = docs
        .iter()
        .find(|d| d["aws"]["operation"] == "GetItem")
        .expect("DynamoDB subsegment");
    assert_eq!(dynamo["namespace"], "aws");
    assert!(
        by_name.keys().any(|n| n.contains("inventory")),
        "names: {:?}",
        by_name.keys()
    );
    assert!(
        docs.iter().any(|d| d.get("sql").is_some()),
        "SQL subsegment"
    );
    let payment = docs
        .iter()
        .find(|d| d["cause"]["exceptions"].is_array())
        .expect("a subsegment with the exception");
    assert_eq!(
        payment["cause"]["exceptions"][0]["message"],
        "card declined: insufficient funds"
    );

    // The outgoing header continues the same trace with the inventory call as parent.
    let outgoing = stderr
        .lines()
        .find_map(|l| l.strip_prefix("outgoing  X-Amzn-Trace-Id: "))
        .expect("outgoing header on stderr");
    let inventory = docs
        .iter()
        .find(|d| {
            d["http"]["request"]["url"]
                .as_str()
                .is_some_and(|u| u.contains("inventory"))
        })
        .expect("inventory subsegment");
    assert_eq!(
        outgoing,
        format!(
            "Root={root};Parent={};Sampled=1",
            inventory["id"].as_str().unwrap()
        )
    );
    assert!(stderr.contains("delivered 5 documents (0 dropped, 0 rejected"));
}
