//! `otel-xray header`: the `X-Amzn-Trace-Id` value, parsed and made with the propagator's
//! own [`TraceHeader`] model and the [`XrayIdGenerator`].

use opentelemetry_sdk::trace::IdGenerator;
use otel_xray_id::{XrayIdGenerator, XrayTraceId};
use otel_xray_propagator::{HeaderError, Lineage, ParseReport, Sampling, TraceHeader};
use serde_json::{json, Value as Json};

/// `sampled` / `not_sampled` / `deferred`.
pub fn sampling_name(s: Sampling) -> &'static str {
    match s {
        Sampling::Sampled => "sampled",
        Sampling::NotSampled => "not_sampled",
        Sampling::Deferred => "deferred",
    }
}

/// Parses `value` with the propagator's parser and describes it as JSON.
pub fn parse(value: &str) -> Result<Json, HeaderError> {
    let (header, report) = TraceHeader::parse_with_report(value.as_bytes())?;
    Ok(describe(&header, Some(&report)))
}

/// The JSON form of a header (and of what parsing ignored, when known).
pub fn describe(header: &TraceHeader, report: Option<&ParseReport>) -> Json {
    let root: XrayTraceId = header.root;
    let mut out = json!({
        "header": header.to_string(),
        "trace_id": {
            "xray": root.to_string(),
            "otel": root.trace_id().to_string(),
            "epoch_seconds": root.epoch_seconds(),
        },
        "parent": header.parent.map(|p| p.to_string()),
        "sampling": sampling_name(header.sampling),
        "lineage": header.lineage.as_ref().map(lineage_json),
    });
    if let Some(r) = report {
        out["ignored"] = json!({
            "parts": r.ignored_parts,
            "unrecognised_sampled": r.unrecognised_sampled,
            "lineage_error": r.lineage_error.map(|e| e.to_string()),
        });
    }
    out
}

fn lineage_json(l: &Lineage) -> Json {
    json!({
        "value": l.as_str(),
        "first_counter": l.first_counter(),
        "hash": l.hash(),
        "second_counter": l.second_counter(),
    })
}

/// A fresh header: a new trace ID from the X-Ray generator and, unless `root_only`, a new
/// parent span ID.
pub fn new_header(sampling: Sampling, root_only: bool) -> TraceHeader {
    let ids = XrayIdGenerator::default();
    let root = XrayTraceId::from_trace_id(ids.new_trace_id())
        .expect("XrayIdGenerator makes X-Ray trace IDs");
    TraceHeader {
        root,
        parent: (!root_only).then(|| ids.new_span_id()),
        sampling,
        lineage: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_reports_ids_sampling_lineage_and_ignored_parts() {
        let v = parse(
            " Root=1-5759E988-BD862E3FE1BE46A994272793; Parent=53995c3f42cd8ad8;Sampled=x;Self=1-a-b;Lineage=a87bd80c:1|68fd508a:5|c512fbe3:2 ",
        )
        .unwrap();
        assert_eq!(v["trace_id"]["xray"], "1-5759e988-bd862e3fe1be46a994272793");
        assert_eq!(v["trace_id"]["otel"], "5759e988bd862e3fe1be46a994272793");
        assert_eq!(v["trace_id"]["epoch_seconds"], 0x5759e988u32);
        assert_eq!(v["parent"], "53995c3f42cd8ad8");
        assert_eq!(v["sampling"], "deferred");
        assert_eq!(v["ignored"]["parts"], 1);
        assert_eq!(v["ignored"]["unrecognised_sampled"], true);
        assert!(v["ignored"]["lineage_error"].is_string(), "{v}");
    }

    #[test]
    fn valid_lineage_is_described() {
        let v = parse("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=25:a87bd80c:1").unwrap();
        assert_eq!(v["sampling"], "sampled");
        assert_eq!(
            v["lineage"],
            json!({"value": "25:a87bd80c:1", "first_counter": 25, "hash": "a87bd80c", "second_counter": 1})
        );
        assert_eq!(v["ignored"]["parts"], 0);
    }

    #[test]
    fn parse_errors_come_from_the_propagator() {
        assert_eq!(
            parse("Parent=53995c3f42cd8ad8"),
            Err(HeaderError::MissingRoot)
        );
        assert!(matches!(
            parse("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=zz"),
            Err(HeaderError::InvalidParent(_))
        ));
    }

    #[test]
    fn new_headers_round_trip() {
        for (sampling, root_only) in [
            (Sampling::Sampled, false),
            (Sampling::NotSampled, false),
            (Sampling::Deferred, true),
        ] {
            let h = new_header(sampling, root_only);
            let back: TraceHeader = h.to_string().parse().unwrap();
            assert_eq!(back, h);
            assert_eq!(h.parent.is_none(), root_only);
        }
    }
}
