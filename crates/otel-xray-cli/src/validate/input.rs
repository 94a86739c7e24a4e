//! Splitting `validate`'s input into documents: one per line, a JSON array (of documents or
//! of document strings, as in `TraceSegmentDocuments`), pretty-printed documents back to back,
//! or UDP-daemon frames (a header line, then the document).

use serde_json::Value as Json;

use super::problem::{Problem, ProblemKind};
use crate::daemon::{is_valid_header, looks_like_header, FrameError, DAEMON_BUFFER_BYTES};

/// One document of the input, parsed, or the reason it could not be.
#[derive(Debug)]
pub struct InputDocument {
    /// 1-based line the document starts on (for an array: the array's line).
    pub line: usize,
    /// Position in the input, 1-based.
    pub index: usize,
    /// The document and its serialized size, or why there is none.
    pub parsed: Result<(Json, usize), Problem>,
    /// Framing problems of a daemon-framed document (reported with the document).
    pub frame_problems: Vec<Problem>,
}

struct RawValue<'t> {
    line: usize,
    text: Result<(&'t str, Json), String>,
}

/// Reads every document in `text`.
pub fn read_documents(text: &str) -> Vec<InputDocument> {
    if text.trim_start().starts_with('[') {
        return read_array(text);
    }
    let raws = raw_values(text);
    let mut out = Vec::new();
    let mut iter = raws.into_iter().peekable();
    while let Some(raw) = iter.next() {
        let index = out.len() + 1;
        let line = raw.line;
        let value = match raw.text {
            Err(e) => {
                out.push(doc(
                    line,
                    index,
                    Err(Problem::at("", ProblemKind::NotJson(e))),
                ));
                continue;
            }
            Ok(v) => v,
        };
        let (raw_text, json) = value;
        if !looks_like_header(&json) {
            out.push(doc(line, index, Ok((json, raw_text.len()))));
            continue;
        }
        // A daemon header: the next value is its document.
        let mut frame_problems = Vec::new();
        if !is_valid_header(raw_text.as_bytes()) {
            let header = FrameError::InvalidHeader(raw_text.to_string());
            frame_problems.push(Problem::at("", ProblemKind::Frame(header)));
        }
        match iter.next() {
            None => out.push(InputDocument {
                frame_problems,
                ..doc(
                    line,
                    index,
                    Err(Problem::at("", FrameError::MissingBody.into())),
                )
            }),
            Some(body) => match body.text {
                Err(e) => out.push(InputDocument {
                    frame_problems,
                    ..doc(
                        body.line,
                        index,
                        Err(Problem::at("", ProblemKind::NotJson(e))),
                    )
                }),
                Ok((t, json)) => {
                    let framed = raw_text.len() + 1 + t.len();
                    if framed > DAEMON_BUFFER_BYTES {
                        frame_problems.push(Problem::at("", FrameError::TooLarge(framed).into()));
                    }
                    out.push(InputDocument {
                        frame_problems,
                        ..doc(body.line, index, Ok((json, t.len())))
                    });
                }
            },
        }
    }
    out
}

fn doc(line: usize, index: usize, parsed: Result<(Json, usize), Problem>) -> InputDocument {
    InputDocument {
        line,
        index,
        parsed,
        frame_problems: Vec::new(),
    }
}

fn read_array(text: &str) -> Vec<InputDocument> {
    let line = line_of(text, text.len() - text.trim_start().len());
    let items = match serde_json::from_str::<Json>(text) {
        Ok(Json::Array(items)) => items,
        Ok(_) => unreachable!("starts with ["),
        Err(e) => {
            return vec![doc(
                e.line(),
                1,
                Err(Problem::at("", ProblemKind::NotJson(e.to_string()))),
            )]
        }
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let parsed = match item {
                // PutTraceSegments carries each document as a string.
                Json::String(s) => serde_json::from_str::<Json>(&s)
                    .map(|d| (d, s.len()))
                    .map_err(|e| Problem::at("", ProblemKind::NotJson(e.to_string()))),
                other => {
                    let bytes = other.to_string().len();
                    Ok((other, bytes))
                }
            };
            doc(line, i + 1, parsed)
        })
        .collect()
}

/// The JSON values of the input with their text. One-per-line input (recognised by a first
/// line that is a JSON value on its own) is read line by line, so a bad line costs only
/// itself; anything else is read as a stream, which ends at the first syntax error.
fn raw_values(text: &str) -> Vec<RawValue<'_>> {
    let mut nonempty = text.lines().filter(|l| !l.trim().is_empty());
    let first = nonempty.next().unwrap_or("");
    let per_line = nonempty.next().is_some() && serde_json::from_str::<Json>(first).is_ok();
    let mut out = Vec::new();
    if per_line {
        for (n, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.is_empty() {
                continue;
            }
            let text = match serde_json::from_str::<Json>(t) {
                Ok(v) => Ok((t, v)),
                Err(e) => Err(format!("line {}: {e}", n + 1)),
            };
            out.push(RawValue { line: n + 1, text });
        }
        return out;
    }
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Json>();
    loop {
        let at = stream.byte_offset();
        let start = at + (text[at..].len() - text[at..].trim_start().len());
        match stream.next() {
            None => break,
            Some(Ok(v)) => out.push(RawValue {
                line: line_of(text, start),
                text: Ok((&text[start..stream.byte_offset()], v)),
            }),
            Some(Err(e)) => {
                out.push(RawValue {
                    line: e.line(),
                    text: Err(e.to_string()),
                });
                break;
            }
        }
    }
    out
}

fn line_of(text: &str, byte: usize) -> usize {
    text.as_bytes()[..byte.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
