//! `otel-xray header` end to end: new → parse round trip, errors.

mod support;

use serde_json::Value;
use support::run;

fn parse(value: &str) -> (Option<i32>, Value, String) {
    let out = run(&["header", "parse", value], "");
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code(),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn new_then_parse_round_trips() {
    for (flag, want, root_only) in [
        (None, "sampled", false),
        (Some("not-sampled"), "not_sampled", false),
        (Some("deferred"), "deferred", true),
    ] {
        let mut args = vec!["header", "new"];
        if let Some(f) = flag {
            args.extend(["--sampled", f]);
        }
        if root_only {
            args.push("--root-only");
        }
        let out = run(&args, "");
        assert_eq!(out.status.code(), Some(0));
        let header = String::from_utf8(out.stdout).unwrap().trim().to_string();
        let (code, json, err) = parse(&header);
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(json["header"], header.as_str());
        assert_eq!(json["sampling"], want);
        assert_eq!(json["parent"].is_null(), root_only, "{json}");
        let xray = json["trace_id"]["xray"].as_str().unwrap();
        let otel = json["trace_id"]["otel"].as_str().unwrap();
        assert_eq!(xray.replace('-', "")[1..], *otel);
        // The generator stamps the current time into the trace ID.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let epoch = json["trace_id"]["epoch_seconds"].as_u64().unwrap();
        assert!(now.abs_diff(epoch) < 600, "{epoch} vs {now}");
    }
}

#[test]
fn parse_reports_what_was_ignored_and_rejects_bad_headers() {
    let (code, json, _) = parse("Root=1-5759E988-BD862E3FE1BE46A994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=25:a87bd80c:1;Foo=bar");
    assert_eq!(code, Some(0));
    assert_eq!(
        json["trace_id"]["xray"],
        "1-5759e988-bd862e3fe1be46a994272793"
    );
    assert_eq!(json["sampling"], "sampled");
    assert_eq!(json["lineage"]["value"], "25:a87bd80c:1");
    assert_eq!(json["ignored"]["parts"], 1);

    let (code, _, err) = parse("Parent=53995c3f42cd8ad8;Sampled=1");
    assert_eq!(code, Some(1));
    assert!(err.contains("no Root"), "{err}");
}
