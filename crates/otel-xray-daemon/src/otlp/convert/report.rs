//! How conversion problems are reported: an error or a note, located by a JSON path that is
//! only rendered when something goes wrong.

use std::fmt;

use serde_json::Value as Json;

/// A malformed part of the input, with where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct OtlpError {
    /// Where: `request at line L: resourceSpans[i].scopeSpans[j].spans[k].field` (L is the
    /// line the request starts on), or `line L, column C` for a syntax error; for protobuf
    /// input `request: resourceSpans[i]…`.
    pub location: String,
    /// What is wrong.
    pub kind: OtlpErrorKind,
}

/// What is wrong with a part of the input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OtlpErrorKind {
    /// The text is not JSON.
    #[error("not JSON: {0}")]
    Syntax(String),
    /// The bytes are not a protobuf `ExportTraceServiceRequest`.
    #[error("not an OTLP protobuf ExportTraceServiceRequest: {0}")]
    Protobuf(String),
    /// A value has the wrong JSON type.
    #[error("expected {expected}, found {found}")]
    WrongType {
        /// The type the mapping requires.
        expected: &'static str,
        /// What was there, shortened.
        found: String,
    },
    /// A required field is absent (or zero, which proto3 JSON cannot tell apart).
    #[error("missing {0}")]
    Missing(&'static str),
    /// A trace or span ID is not the required number of hex digits.
    #[error("expected {digits} hex digits, found {found:?}")]
    BadId {
        /// 32 for a trace ID, 16 for a span ID.
        digits: usize,
        /// The value found.
        found: String,
    },
    /// An all-zero trace or span ID, which OpenTelemetry treats as invalid.
    #[error("all-zero ID is invalid")]
    ZeroId,
    /// An integer that does not parse or does not fit.
    #[error("expected {expected}, found {found:?}")]
    BadNumber {
        /// The integer type required.
        expected: &'static str,
        /// The value found.
        found: String,
    },
    /// An enum name or number that is not defined.
    #[error("unknown {enum_name} value {found}")]
    BadEnum {
        /// The proto enum.
        enum_name: &'static str,
        /// The value found.
        found: String,
    },
    /// The `traceState` is not a valid W3C tracestate.
    #[error("invalid W3C tracestate {0:?}")]
    BadTraceState(String),
}

impl fmt::Display for OtlpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.kind)
    }
}

impl std::error::Error for OtlpError {}

/// A value converted with loss of type information, or left out.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    /// Where: same form as [`OtlpError::location`].
    pub location: String,
    /// What was done.
    pub what: String,
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.what)
    }
}

/// The result of converting one part of the input.
pub(super) type OtlpResult<T> = Result<T, OtlpError>;

/// A JSON path under construction; cheap to extend, only rendered on error.
#[derive(Clone)]
pub(super) struct JsonPath<'a> {
    parent: Option<&'a JsonPath<'a>>,
    seg: PathSegment<'a>,
}

#[derive(Clone, Copy)]
enum PathSegment<'a> {
    Line(usize),
    Label(&'static str),
    Field(&'a str),
    Index(usize),
}

impl<'a> JsonPath<'a> {
    pub(super) fn line(line: usize) -> JsonPath<'static> {
        JsonPath {
            parent: None,
            seg: PathSegment::Line(line),
        }
    }
    /// A root rendered as `label: ` (for inputs that have no lines, like protobuf).
    pub(super) fn label(label: &'static str) -> JsonPath<'static> {
        JsonPath {
            parent: None,
            seg: PathSegment::Label(label),
        }
    }
    pub(super) fn field(&'a self, name: &'a str) -> JsonPath<'a> {
        JsonPath {
            parent: Some(self),
            seg: PathSegment::Field(name),
        }
    }
    pub(super) fn index(&'a self, i: usize) -> JsonPath<'a> {
        JsonPath {
            parent: Some(self),
            seg: PathSegment::Index(i),
        }
    }
    pub(super) fn render(&self) -> String {
        let mut segs = vec![self.seg];
        let mut cur = self.parent;
        while let Some(l) = cur {
            segs.push(l.seg);
            cur = l.parent;
        }
        let mut out = String::new();
        for seg in segs.into_iter().rev() {
            match seg {
                PathSegment::Line(n) => out.push_str(&format!("request at line {n}: ")),
                PathSegment::Label(label) => {
                    out.push_str(label);
                    out.push_str(": ");
                }
                PathSegment::Field(name) => {
                    if !out.is_empty() && !out.ends_with(' ') {
                        out.push('.');
                    }
                    out.push_str(name);
                }
                PathSegment::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }
    pub(super) fn err(&self, kind: OtlpErrorKind) -> OtlpError {
        OtlpError {
            location: self.render(),
            kind,
        }
    }
    pub(super) fn wrong(&self, expected: &'static str, found: &Json) -> OtlpError {
        self.err(OtlpErrorKind::WrongType {
            expected,
            found: describe(found),
        })
    }
}

fn describe(v: &Json) -> String {
    let text = v.to_string();
    if text.chars().count() > 40 {
        let cut: String = text.chars().take(37).collect();
        format!("{cut}...")
    } else {
        text
    }
}
