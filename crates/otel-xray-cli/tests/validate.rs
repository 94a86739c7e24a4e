//! `otel-xray validate` end to end: every limit caught, one line per problem, exit status.

mod support;

use serde_json::{json, Value};
use support::{run, TempFile};

fn segment(id: &str) -> Value {
    json!({
        "name": "checkout", "id": id, "trace_id": "1-6b014b00-a1f3c9d2e4b5f60718293a4b",
        "start_time": 1795246848.12, "end_time": 1795246848.3685,
        "annotations": {"order_id": "1042"}
    })
}

type Mutation = Box<dyn Fn(&mut Value)>;

#[test]
fn catches_each_limit_and_names_the_document() {
    let many: serde_json::Map<String, Value> =
        (0..51).map(|i| (format!("k{i}"), json!(i))).collect();
    let cases: Vec<(&str, Mutation, &str)> = vec![
        (
            "0000000000000001",
            Box::new(|d| d["metadata"] = json!({"default": {"b": "x".repeat(66_000)}})),
            "over the 65536-byte limit",
        ),
        (
            "000000000000000A",
            Box::new(|_| {}),
            "id must be 16 lowercase hex digits",
        ),
        (
            "0000000000000003",
            Box::new(|d| d["trace_id"] = json!("1-6b014b00-a1f3c9d2e4b5f60718293a4bXYZ")),
            "trace_id must match",
        ),
        (
            "0000000000000004",
            Box::new(|d| d["name"] = json!("GET (orders)")),
            "/name: schema:",
        ),
        (
            "0000000000000005",
            Box::new(|d| d["name"] = json!("n".repeat(201))),
            "/name: schema:",
        ),
        (
            "0000000000000006",
            Box::new(|d| d["annotations"]["http.method"] = json!("GET")),
            "/annotations: schema:",
        ),
        (
            "0000000000000007",
            Box::new(|d| d["annotations"]["obj"] = json!({"a": 1})),
            "/annotations/obj: schema:",
        ),
        (
            "0000000000000008",
            Box::new(|d| d["annotations"]["long"] = json!("v".repeat(1001))),
            "/annotations/long: schema:",
        ),
        (
            "0000000000000009",
            Box::new(move |d| d["annotations"] = Value::Object(many.clone())),
            "51 annotations",
        ),
        (
            "000000000000000b",
            Box::new(|d| {
                d.as_object_mut().unwrap().remove("end_time");
            }),
            "needs end_time or \"in_progress\": true",
        ),
        (
            "000000000000000c",
            Box::new(|d| d["in_progress"] = json!(true)),
            "has both end_time and \"in_progress\": true",
        ),
        (
            "000000000000000d",
            Box::new(
                |d| d["subsegments"] = json!([{"name": "s".repeat(251), "id": "000000000000000e", "start_time": 1795246848.2, "end_time": 1795246848.3}]),
            ),
            "/subsegments/0/name: subsegment name is 251 characters",
        ),
    ];
    let mut lines = vec![segment("00000000000000ff").to_string()];
    for (id, mutate, _) in &cases {
        let mut d = segment(id);
        mutate(&mut d);
        lines.push(d.to_string());
    }
    let file = TempFile::new("limits.jsonl", &(lines.join("\n") + "\n"));
    let out = run(&["validate", file.path_str()], "");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        !stdout.contains("00000000000000ff"),
        "the good document is reported: {stdout}"
    );
    for (n, (id, _, expect)) in cases.iter().enumerate() {
        let line = stdout.lines().find(|l| {
            l.starts_with(&format!("{id} (document {}, line {})", n + 2, n + 2))
                && l.contains(expect)
        });
        assert!(
            line.is_some(),
            "{id}: no line containing {expect:?} in\n{stdout}"
        );
    }
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(&format!(
            "{} documents, 1 valid, {} invalid",
            cases.len() + 1,
            cases.len()
        )),
        "{stderr}"
    );
}

#[test]
fn valid_input_passes_in_every_form() {
    let a = segment("00000000000000aa");
    let b = segment("00000000000000bb");
    let framed = format!("{{\"format\":\"json\",\"version\":1}}\n{a}\n{{\"format\": \"json\", \"version\": 1}}\n{b}\n");
    let array = json!([a, b.to_string()]).to_string();
    let pretty = format!("{:#}\n{:#}\n", a, b);
    for input in [framed, array, pretty] {
        let out = run(&["validate", "-"], &input);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{input}\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(out.stdout.is_empty());
        assert!(String::from_utf8_lossy(&out.stderr).contains("2 documents, 2 valid, 0 invalid"));
    }
}

#[test]
fn bad_framing_and_bad_json_fail() {
    let a = segment("00000000000000aa");
    let input = format!("{{\"format\":\"json\",\"version\":2}}\n{a}\n{{oops\n");
    let out = run(&["validate"], &input);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout.contains(
            "00000000000000aa (document 1, line 2): daemon framing: invalid daemon header"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("- (document 2, line 3): not JSON"),
        "{stdout}"
    );
    let empty = run(&["validate"], "");
    assert_eq!(empty.status.code(), Some(1));
    let missing = run(&["validate", "/nonexistent/otel-xray-input"], "");
    assert_eq!(missing.status.code(), Some(2));
}
