//! Segment document checks: the official schema (draft-04) plus the X-Ray limits it lacks.
//!
//! The schema already covers the segment name's characters and 200-character limit, the
//! annotation key pattern, value types and 1000-character strings. What it does not say,
//! and this module adds (developer guide, `wire-formats.md` §2.4):
//! * a document is at most 64 KiB;
//! * every `id` (segment, subsegment, exception) and `parent_id` is 16 lowercase hex digits;
//! * `trace_id` is exactly `1-` + 8 + `-` + 24 lowercase hex digits;
//! * a subsegment name is at most 250 characters (the general string limit);
//! * at most 50 annotations per document (X-Ray indexes 50 per trace);
//! * every segment and subsegment has exactly one of `end_time` and `in_progress: true`,
//!   and does not end before it starts;
//! * a subsegment sent on its own (`type: "subsegment"`) has `trace_id` and `parent_id`.

use std::fmt;

use serde_json::{Map, Value as Json};

pub mod input;
mod limits;
mod problem;

pub use limits::{MAX_ANNOTATIONS, MAX_DOCUMENT_BYTES, MAX_SUBSEGMENT_NAME_CHARS};
pub use problem::{Problem, ProblemKind};

/// The official segment document schema (draft-04), as the exporter ships it.
pub use otel_xray_exporter::SEGMENT_SCHEMA;

/// Checks segment documents; build once, use for many documents.
pub struct SegmentValidator {
    schema: jsonschema::Validator,
}

impl fmt::Debug for SegmentValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SegmentValidator")
    }
}

impl SegmentValidator {
    /// Compiles the official schema.
    pub fn new() -> SegmentValidator {
        let schema: Json = serde_json::from_str(SEGMENT_SCHEMA).expect("bundled schema is JSON");
        SegmentValidator {
            schema: jsonschema::draft4::new(&schema).expect("bundled schema compiles"),
        }
    }

    /// Every problem with `doc`, whose serialized form is `bytes` long.
    pub fn check(&self, doc: &Json, bytes: usize) -> Vec<Problem> {
        let mut problems = Vec::new();
        if bytes > MAX_DOCUMENT_BYTES {
            problems.push(Problem::at("", ProblemKind::TooLarge { bytes }));
        }
        let Some(obj) = doc.as_object() else {
            problems.push(Problem::at("", ProblemKind::NotAnObject));
            return problems;
        };
        for e in self.schema.iter_errors(doc) {
            let path = e.instance_path().to_string();
            problems.push(Problem::at(&path, ProblemKind::Schema(schema_message(&e))));
        }
        check_trace_id(obj, "", &mut problems);
        let mut annotations = 0;
        check_entity(obj, "", Entity::Document, &mut annotations, &mut problems);
        if annotations > MAX_ANNOTATIONS {
            problems.push(Problem::at(
                "/annotations",
                ProblemKind::TooManyAnnotations(annotations),
            ));
        }
        problems
    }

    /// Parses `text` and checks it; a parse failure is the one problem.
    pub fn check_text(&self, text: &[u8]) -> Result<(Json, Vec<Problem>), Problem> {
        match serde_json::from_slice::<Json>(text) {
            Ok(doc) => {
                let problems = self.check(&doc, text.len());
                Ok((doc, problems))
            }
            Err(e) => Err(Problem::at("", ProblemKind::NotJson(e.to_string()))),
        }
    }
}

impl Default for SegmentValidator {
    fn default() -> Self {
        SegmentValidator::new()
    }
}

/// Patterns longer than this are described instead of quoted (the name class is ~4 KB).
const MAX_QUOTED_PATTERN: usize = 120;

fn schema_message(e: &jsonschema::ValidationError<'_>) -> String {
    match e.kind() {
        jsonschema::error::ValidationErrorKind::Pattern { pattern }
            if pattern.len() > MAX_QUOTED_PATTERN =>
        {
            format!(
                "{} does not match the schema's name pattern: Unicode letters, numbers and \
                 spaces, and _ . : / % & # = + - @, 1 to 200 characters",
                e.instance()
            )
        }
        _ => e.to_string(),
    }
}

/// The document's `id` for reports, or `-`.
pub fn document_id(doc: &Json) -> String {
    match doc.get("id") {
        Some(Json::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => "-".into(),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Entity {
    /// The top-level document: a segment, or a subsegment sent on its own.
    Document,
    /// A subsegment embedded in another.
    Embedded,
}

fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn check_id(obj: &Map<String, Json>, field: &'static str, path: &str, out: &mut Vec<Problem>) {
    if let Some(v) = obj.get(field) {
        if !v.as_str().is_some_and(|s| is_lower_hex(s, 16)) {
            let found = v.to_string();
            out.push(Problem::at(
                &format!("{path}/{field}"),
                ProblemKind::BadId { field, found },
            ));
        }
    }
}

/// Absence is left to the schema (segments) and the independent-subsegment rule.
fn check_trace_id(obj: &Map<String, Json>, path: &str, out: &mut Vec<Problem>) {
    let Some(v) = obj.get("trace_id") else {
        return;
    };
    let ok = v.as_str().is_some_and(|s| {
        let b = s.as_bytes();
        b.len() == 35
            && s.starts_with("1-")
            && b[10] == b'-'
            && is_lower_hex(&s[2..10], 8)
            && is_lower_hex(&s[11..], 24)
    });
    if !ok {
        out.push(Problem::at(
            &format!("{path}/trace_id"),
            ProblemKind::BadTraceId(v.to_string()),
        ));
    }
}

fn check_entity(
    obj: &Map<String, Json>,
    path: &str,
    entity: Entity,
    annotations: &mut usize,
    out: &mut Vec<Problem>,
) {
    check_id(obj, "id", path, out);
    check_id(obj, "parent_id", path, out);
    let is_subsegment =
        entity == Entity::Embedded || obj.get("type").and_then(Json::as_str) == Some("subsegment");
    if entity == Entity::Embedded {
        check_trace_id(obj, path, out);
    }
    if is_subsegment {
        if let Some(name) = obj.get("name").and_then(Json::as_str) {
            let chars = name.chars().count();
            if chars > MAX_SUBSEGMENT_NAME_CHARS {
                out.push(Problem::at(
                    &format!("{path}/name"),
                    ProblemKind::NameTooLong(chars),
                ));
            }
        }
    }
    if entity == Entity::Document && is_subsegment {
        for field in ["trace_id", "parent_id"] {
            if !obj.contains_key(field) {
                out.push(Problem::at(
                    path,
                    ProblemKind::IndependentSubsegmentMissing(field),
                ));
            }
        }
    }
    check_end(obj, path, out);
    if let Some(Json::Object(a)) = obj.get("annotations") {
        *annotations += a.len();
    }
    if let Some(Json::Object(cause)) = obj.get("cause") {
        if let Some(Json::Array(exceptions)) = cause.get("exceptions") {
            for (i, ex) in exceptions.iter().enumerate() {
                if let Json::Object(ex) = ex {
                    check_id(ex, "id", &format!("{path}/cause/exceptions/{i}"), out);
                }
            }
        }
    }
    if let Some(Json::Array(subs)) = obj.get("subsegments") {
        for (i, sub) in subs.iter().enumerate() {
            if let Json::Object(sub) = sub {
                let sub_path = format!("{path}/subsegments/{i}");
                check_entity(sub, &sub_path, Entity::Embedded, annotations, out);
            }
        }
    }
}

fn check_end(obj: &Map<String, Json>, path: &str, out: &mut Vec<Problem>) {
    let end = obj.get("end_time").filter(|v| !v.is_null());
    let in_progress = obj.get("in_progress").and_then(Json::as_bool) == Some(true);
    match (end, in_progress) {
        (None, false) => out.push(Problem::at(path, ProblemKind::NotEnded)),
        (Some(_), true) => out.push(Problem::at(path, ProblemKind::EndedAndInProgress)),
        _ => {}
    }
    let start = obj.get("start_time").and_then(Json::as_f64);
    if let (Some(start), Some(end)) = (start, end.and_then(Json::as_f64)) {
        if end < start {
            out.push(Problem::at(
                &format!("{path}/end_time"),
                ProblemKind::EndBeforeStart { start, end },
            ));
        }
    }
}

#[cfg(test)]
mod tests;
