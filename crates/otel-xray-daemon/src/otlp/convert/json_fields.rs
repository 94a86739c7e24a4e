//! Field access for the protobuf JSON mapping: IDs, integers, enums, times.

use std::time::{Duration, SystemTime};

use opentelemetry::trace::{SpanId, TraceId, TraceState};
use serde_json::{Map, Value as Json};

use super::report::{JsonPath, OtlpErrorKind, OtlpResult};

/// Looks a field up by its JSON name, then its proto name; `null` counts as absent.
pub(super) fn get<'v>(obj: &'v Map<String, Json>, camel: &str, snake: &str) -> Option<&'v Json> {
    obj.get(camel)
        .or_else(|| obj.get(snake))
        .filter(|v| !v.is_null())
}

pub(super) fn as_object<'v>(v: &'v Json, loc: &JsonPath) -> OtlpResult<&'v Map<String, Json>> {
    v.as_object().ok_or_else(|| loc.wrong("an object", v))
}

pub(super) fn array_field<'v>(
    obj: &'v Map<String, Json>,
    camel: &'static str,
    snake: &'static str,
    loc: &JsonPath,
) -> OtlpResult<&'v [Json]> {
    match get(obj, camel, snake) {
        None => Ok(&[]),
        Some(Json::Array(a)) => Ok(a),
        Some(other) => Err(loc.field(camel).wrong("an array", other)),
    }
}

pub(super) fn string_field(
    obj: &Map<String, Json>,
    camel: &'static str,
    snake: &'static str,
    loc: &JsonPath,
) -> OtlpResult<String> {
    match get(obj, camel, snake) {
        None => Ok(String::new()),
        Some(Json::String(s)) => Ok(s.clone()),
        Some(other) => Err(loc.field(camel).wrong("a string", other)),
    }
}

/// An enum given as its number or its name; returns the number.
pub(super) fn enum_field(
    obj: &Map<String, Json>,
    field: &'static str,
    enum_name: &'static str,
    names: &[&str],
    loc: &JsonPath,
) -> OtlpResult<usize> {
    let bad = |found: String| {
        loc.field(field)
            .err(OtlpErrorKind::BadEnum { enum_name, found })
    };
    match get(obj, field, field) {
        None => Ok(0),
        Some(Json::Number(n)) => match n.as_u64() {
            Some(v) if (v as usize) < names.len() => Ok(v as usize),
            _ => Err(bad(n.to_string())),
        },
        Some(Json::String(s)) => names
            .iter()
            .position(|n| n == s)
            .ok_or_else(|| bad(format!("{s:?}"))),
        Some(other) => Err(loc.field(field).wrong("an enum number or name", other)),
    }
}

pub(super) fn trace_id_field(obj: &Map<String, Json>, loc: &JsonPath) -> OtlpResult<TraceId> {
    let f_loc = loc.field("traceId");
    match get(obj, "traceId", "trace_id") {
        None => Err(f_loc.err(OtlpErrorKind::Missing("trace ID"))),
        Some(Json::String(s)) => {
            let bytes: [u8; 16] = hex_bytes(s).ok_or_else(|| {
                f_loc.err(OtlpErrorKind::BadId {
                    digits: 32,
                    found: s.clone(),
                })
            })?;
            let id = TraceId::from_bytes(bytes);
            if id == TraceId::INVALID {
                return Err(f_loc.err(OtlpErrorKind::ZeroId));
            }
            Ok(id)
        }
        Some(other) => Err(f_loc.wrong("a hex string", other)),
    }
}

/// `None` when absent or empty (an empty parent means a root span).
pub(super) fn span_id_field(
    obj: &Map<String, Json>,
    camel: &'static str,
    snake: &'static str,
    loc: &JsonPath,
) -> OtlpResult<Option<SpanId>> {
    let f_loc = loc.field(camel);
    match get(obj, camel, snake) {
        None => Ok(None),
        Some(Json::String(s)) if s.is_empty() => Ok(None),
        Some(Json::String(s)) => {
            let bytes: [u8; 8] = hex_bytes(s).ok_or_else(|| {
                f_loc.err(OtlpErrorKind::BadId {
                    digits: 16,
                    found: s.clone(),
                })
            })?;
            let id = SpanId::from_bytes(bytes);
            if id == SpanId::INVALID {
                return Err(f_loc.err(OtlpErrorKind::ZeroId));
            }
            Ok(Some(id))
        }
        Some(other) => Err(f_loc.wrong("a hex string", other)),
    }
}

/// Exactly `2 * N` hex digits (either case), nothing else.
pub(super) fn hex_bytes<const N: usize>(s: &str) -> Option<[u8; N]> {
    let raw = s.as_bytes();
    if raw.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (i, pair) in raw.chunks_exact(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

pub(super) fn trace_state_field(obj: &Map<String, Json>, loc: &JsonPath) -> OtlpResult<TraceState> {
    let s = string_field(obj, "traceState", "trace_state", loc)?;
    if s.is_empty() {
        return Ok(TraceState::NONE);
    }
    s.parse::<TraceState>()
        .map_err(|_| loc.field("traceState").err(OtlpErrorKind::BadTraceState(s)))
}

pub(super) fn u64_value(v: &Json, loc: &JsonPath) -> OtlpResult<u64> {
    let bad = |found: String| {
        loc.err(OtlpErrorKind::BadNumber {
            expected: "an unsigned 64-bit integer",
            found,
        })
    };
    match v {
        Json::Number(n) => n.as_u64().ok_or_else(|| bad(n.to_string())),
        Json::String(s) => s.parse::<u64>().map_err(|_| bad(s.clone())),
        other => Err(loc.wrong("an integer or an integer string", other)),
    }
}

pub(super) fn u32_field(
    obj: &Map<String, Json>,
    camel: &'static str,
    snake: &'static str,
    loc: &JsonPath,
) -> OtlpResult<u32> {
    let Some(v) = get(obj, camel, snake) else {
        return Ok(0);
    };
    let f_loc = loc.field(camel);
    let n = u64_value(v, &f_loc)?;
    u32::try_from(n).map_err(|_| {
        f_loc.err(OtlpErrorKind::BadNumber {
            expected: "an unsigned 32-bit integer",
            found: n.to_string(),
        })
    })
}

/// The `droppedAttributesCount` that resources, scopes, spans, events and
/// links all carry (0 when absent).
pub(super) fn dropped_attributes_count(obj: &Map<String, Json>, loc: &JsonPath) -> OtlpResult<u32> {
    u32_field(
        obj,
        "droppedAttributesCount",
        "dropped_attributes_count",
        loc,
    )
}

/// Nanoseconds since the epoch; `None` when absent or zero (proto3 cannot tell them apart).
pub(super) fn time_field(
    obj: &Map<String, Json>,
    camel: &'static str,
    snake: &'static str,
    loc: &JsonPath,
) -> OtlpResult<Option<SystemTime>> {
    let Some(v) = get(obj, camel, snake) else {
        return Ok(None);
    };
    let nanos = u64_value(v, &loc.field(camel))?;
    Ok((nanos != 0).then(|| SystemTime::UNIX_EPOCH + Duration::from_nanos(nanos)))
}
