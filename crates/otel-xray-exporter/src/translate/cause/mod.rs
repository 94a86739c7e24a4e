//! `fault` / `error` / `throttle` and `cause`.
//!
//! Flags: a 4xx status (`http.status_code` / `http.response.status_code`) is an
//! error (429 also a throttle), a 5xx a fault, anything else a fault iff the span
//! status is `Error`.
//!
//! Cause: every `exception` event becomes an exception (type and message from
//! the event, stack parsed from `exception.stacktrace` by the format of the
//! resource's `telemetry.sdk.language`, or sniffed when the language is unknown),
//! followed by the exceptions its trace names as causes, chained through
//! `cause`. On `rpc.system=aws-api` spans an `HTTP request failure` event becomes
//! a remote `aws.http.error.event` exception. An `Error` span without exception
//! events gets one exception carrying the status message (or `http.status_text`).

mod dotnet;
mod go;
mod java;
mod javascript;
mod python;
mod rust;

use std::borrow::Cow;

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;

use super::attrs::SpanAttrs;
use super::keys::{ResourceKey, SpanKey};
use super::resource::ResourceAttrs;
use crate::segment::{Cause, Exception, Id, StackFrame};

/// The error flags of a document.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Flags {
    pub(crate) fault: bool,
    pub(crate) error: bool,
    pub(crate) throttle: bool,
}

/// One exception found in a stack trace: for the first, only `stack` is used.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Parsed<'a> {
    pub(crate) kind: Option<Cow<'a, str>>,
    pub(crate) message: Option<Cow<'a, str>>,
    pub(crate) stack: Vec<StackFrame<'a>>,
}

/// The `fault`, `error` and `throttle` flags of a span.
#[inline]
pub(crate) fn make_flags(span: &SpanData, attrs: &SpanAttrs<'_>) -> Flags {
    flags(attrs, is_error(span))
}

/// The cause of a span: its exceptions, when it has events or an error status.
// Apart from the flags and inlined, so that for most spans (no events, no
// error) the `None` is not written to memory and read straight back, which
// stalls on the pending store.
#[inline]
pub(crate) fn make_cause<'a>(
    span: &'a SpanData,
    attrs: &mut SpanAttrs<'a>,
    res: &ResourceAttrs<'a>,
) -> Option<Cause<'a>> {
    if span.events.is_empty() && !is_error(span) {
        return None;
    }
    exceptions(span, attrs, res)
}

fn is_error(span: &SpanData) -> bool {
    matches!(span.status, Status::Error { .. })
}

#[inline]
fn flags(attrs: &SpanAttrs<'_>, is_error: bool) -> Flags {
    let code = attrs
        .int(SpanKey::HttpStatusCode)
        .or_else(|| attrs.int(SpanKey::HttpResponseStatusCode));
    match code {
        Some(c @ 400..=499) => Flags {
            error: true,
            throttle: c == 429,
            fault: false,
        },
        Some(500..=599) => Flags {
            fault: true,
            ..Flags::default()
        },
        _ => Flags {
            fault: is_error,
            ..Flags::default()
        },
    }
}

/// The exceptions of a span with events or an error status.
fn exceptions<'a>(
    span: &'a SpanData,
    attrs: &mut SpanAttrs<'a>,
    res: &ResourceAttrs<'a>,
) -> Option<Cause<'a>> {
    let aws_api = attrs.str(SpanKey::RpcSystem) == Some("aws-api");
    let remote = matches!(span.span_kind, SpanKind::Client | SpanKind::Producer);
    let language = res.str(ResourceKey::TelemetrySdkLanguage).unwrap_or("");
    let seed = u64::from_be_bytes(span.span_context.span_id().to_bytes());
    let mut ids = IdSource { seed, next: 0 };
    let mut exceptions = Vec::new();

    for event in span.events.iter() {
        if event.name == "exception" {
            let (mut kind, mut message, mut trace) = (None, None, None);
            for kv in &event.attributes {
                match (kv.key.as_str(), &kv.value) {
                    ("exception.type", Value::String(s)) => kind = Some(s.as_str()),
                    ("exception.message", Value::String(s)) => message = Some(s.as_str()),
                    ("exception.stacktrace", Value::String(s)) => trace = Some(s.as_str()),
                    _ => {}
                }
            }
            let parsed = trace.map(|t| parse_stack(language, t)).unwrap_or_default();
            push_chain(&mut exceptions, &mut ids, remote, kind, message, parsed);
        } else if aws_api && event.name == "HTTP request failure" {
            let mut code = None;
            let mut text = None;
            for kv in &event.attributes {
                match kv.key.as_str() {
                    "http.response.status_code" => code = super::attrs::value_int(&kv.value),
                    "aws.http.error_message" => text = super::attrs::value_text(&kv.value),
                    _ => {}
                }
            }
            if let (Some(code), Some(text)) = (code, text) {
                let t = crate::segment::epoch_seconds(event.timestamp);
                exceptions.push(Exception {
                    id: ids.next(),
                    message: Some(Cow::Owned(format!("{code}@{t:.6}@{text}"))),
                    kind: Some(Cow::Borrowed("aws.http.error.event")),
                    remote: true,
                    truncated: None,
                    cause: None,
                    stack: Vec::new(),
                });
            }
        }
    }

    if exceptions.is_empty() {
        if let Status::Error { description } = &span.status {
            let message = if description.is_empty() {
                let text = attrs.non_empty(SpanKey::HttpStatusText);
                attrs.consume(SpanKey::HttpStatusText);
                text
            } else {
                Some(description.as_ref())
            };
            if let Some(m) = message {
                exceptions.push(Exception {
                    id: ids.next(),
                    message: Some(Cow::Borrowed(m)),
                    kind: None,
                    remote,
                    truncated: None,
                    cause: None,
                    stack: Vec::new(),
                });
            }
        }
    }
    (!exceptions.is_empty()).then_some(Cause { exceptions })
}

/// Deterministic exception IDs, unique within one span.
struct IdSource {
    seed: u64,
    next: u64,
}

impl IdSource {
    fn next(&mut self) -> Id {
        self.next += 1;
        // splitmix64 over (span ID, counter).
        let mut z = self.seed ^ self.next.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Id::from_u64(z ^ (z >> 31))
    }
}

fn push_chain<'a>(
    out: &mut Vec<Exception<'a>>,
    ids: &mut IdSource,
    remote: bool,
    kind: Option<&'a str>,
    message: Option<&'a str>,
    parsed: Vec<Parsed<'a>>,
) {
    let first = out.len();
    let mut parsed = parsed.into_iter();
    let top_stack = parsed.next().map(|p| p.stack).unwrap_or_default();
    out.push(Exception {
        id: ids.next(),
        message: message.map(Cow::Borrowed),
        kind: kind.map(Cow::Borrowed),
        remote,
        truncated: None,
        cause: None,
        stack: top_stack,
    });
    for p in parsed {
        let id = ids.next();
        if let Some(prev) = out.last_mut() {
            prev.cause = Some(id);
        }
        out.push(Exception {
            id,
            message: p.message,
            kind: p.kind,
            remote,
            truncated: None,
            cause: None,
            stack: p.stack,
        });
    }
    debug_assert!(out.len() > first);
}

/// Parses `trace` in the format of `language` (sniffed when unknown).
pub(crate) fn parse_stack<'a>(language: &str, trace: &'a str) -> Vec<Parsed<'a>> {
    let format = match language {
        "java" | "php" | "kotlin" | "scala" => Format::Java,
        "python" => Format::Python,
        "javascript" | "nodejs" | "webjs" => Format::JavaScript,
        "dotnet" => Format::DotNet,
        "go" => Format::Go,
        "rust" => Format::Rust,
        _ => sniff(trace),
    };
    match format {
        Format::Java => java::parse(trace),
        Format::Python => python::parse(trace),
        Format::JavaScript => javascript::parse(trace),
        Format::DotNet => dotnet::parse(trace),
        Format::Go => go::parse(trace),
        Format::Rust => rust::parse(trace),
        Format::Unknown => Vec::new(),
    }
}

enum Format {
    Java,
    Python,
    JavaScript,
    DotNet,
    Go,
    Rust,
    Unknown,
}

/// Guesses the format of a trace from an SDK that did not name its language.
fn sniff(trace: &str) -> Format {
    if trace.contains("Traceback (most recent call last):") {
        Format::Python
    } else if trace.contains("panicked at ")
        || trace.contains("stack backtrace:")
        || trace.contains("Backtrace [")
    {
        Format::Rust
    } else if trace.contains("\n\tat ") {
        Format::Java
    } else if trace.contains("goroutine ") && trace.contains("[running]") {
        Format::Go
    } else if trace.contains("\n    at ") {
        Format::JavaScript
    } else if trace.contains("\n   at ") {
        Format::DotNet
    } else {
        Format::Unknown
    }
}

/// Splits `path:line` (the line may be followed by `:col`); line 0 when absent.
pub(crate) fn split_location(loc: &str) -> (&str, u32) {
    // Byte scan from the end: `…:digits[:digits]`.
    let b = loc.as_bytes();
    let trailing_num = |end: usize| {
        let start = b[..end]
            .iter()
            .rposition(|c| !c.is_ascii_digit())
            .map_or(0, |i| i + 1);
        (start < end && start > 0 && b[start - 1] == b':').then_some(start)
    };
    let Some(last) = trailing_num(b.len()) else {
        return (loc, 0);
    };
    let (num_start, path_end) = match trailing_num(last - 1) {
        Some(mid) => (mid, mid - 1),
        None => (last, last - 1),
    };
    let end = if num_start == last { b.len() } else { last - 1 };
    (&loc[..path_end], loc[num_start..end].parse().unwrap_or(0))
}

/// The lines of `trace`, exactly as [`str::lines`] gives them (split at `\n`, one
/// `\r` before it dropped, no empty line after a final `\n`). The newline search
/// is memchr's vectorised one: std's per-line `CharSearcher` was a third of
/// parsing a Rust backtrace.
pub(crate) fn lines(trace: &str) -> impl Iterator<Item = &str> {
    let mut rest = (!trace.is_empty()).then_some(trace);
    std::iter::from_fn(move || {
        let r = rest?;
        match memchr::memchr(b'\n', r.as_bytes()) {
            Some(i) => {
                let next = &r[i + 1..];
                rest = (!next.is_empty()).then_some(next);
                let line = &r[..i];
                Some(line.strip_suffix('\r').unwrap_or(line))
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// A frame borrowing its fields.
pub(crate) fn frame<'a>(label: &'a str, path: &'a str, line: u32) -> StackFrame<'a> {
    StackFrame {
        path: Cow::Borrowed(path),
        line,
        label: Cow::Borrowed(label),
    }
}

/// `Type: message` split at the first `": "` (or `:` at the end).
pub(crate) fn type_and_message(text: &str) -> (Option<Cow<'_, str>>, Option<Cow<'_, str>>) {
    match text.split_once(':') {
        Some((t, m)) => (
            Some(Cow::Borrowed(t.trim())),
            Some(Cow::Borrowed(m.strip_prefix(' ').unwrap_or(m))),
        ),
        None => (Some(Cow::Borrowed(text.trim())), None),
    }
}

#[cfg(test)]
mod tests;
