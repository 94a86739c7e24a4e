//! The X-Ray OTLP endpoint's documented limits, applied before anything is sent.
//!
//! The endpoint rejects a *whole call* when one part of it is out of bounds, so
//! one oversized span or one stale timestamp would otherwise cost every span
//! of the batch. Here each span is fitted, dropped (counted) or moved to another
//! request instead; see [`prepare`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::trace::SpanData;
use prost::Message;

/// Most spans the endpoint takes in one request.
pub const MAX_SPANS_PER_REQUEST: usize = 10_000;
/// Most uncompressed bytes in one request ("5 MB", read as the smaller 5,000,000).
pub const MAX_REQUEST_BYTES: usize = 5_000_000;
/// Most bytes of resource plus scope data per resource+scope pair ("16 KB",
/// read as 16,000).
pub const MAX_RESOURCE_SCOPE_BYTES: usize = 16_000;
/// Most bytes of one encoded span ("200 KB", read as 200,000).
pub const MAX_SPAN_BYTES: usize = 200_000;
/// How far in the future a span may end.
pub const MAX_FUTURE: Duration = Duration::from_secs(2 * 3600);
/// How long ago a span may have started.
pub const MAX_AGE: Duration = Duration::from_secs(14 * 24 * 3600);
/// The widest time range (earliest start to latest end) one request may cover.
pub const MAX_REQUEST_SPREAD: Duration = Duration::from_secs(24 * 3600);

/// Room for the tag and length prefix of one length-delimited protobuf field.
const FIELD_OVERHEAD: usize = 6;

/// The bounds one request must respect.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_spans: usize,
    pub(crate) max_request_bytes: usize,
    pub(crate) max_resource_scope_bytes: usize,
    pub(crate) max_span_bytes: usize,
}

impl Limits {
    /// The HTTP endpoint's limits.
    pub(crate) const ENDPOINT: Limits = Limits {
        max_spans: MAX_SPANS_PER_REQUEST,
        max_request_bytes: MAX_REQUEST_BYTES,
        max_resource_scope_bytes: MAX_RESOURCE_SCOPE_BYTES,
        max_span_bytes: MAX_SPAN_BYTES,
    };
}

/// One request ready to encode, with the number of spans it carries.
#[derive(Debug)]
pub(crate) struct Planned {
    pub(crate) request: ExportTraceServiceRequest,
    pub(crate) spans: u64,
}

/// What [`prepare`] made of a batch. Every input span is in exactly one of
/// `requests` (by their `spans`), `outside_window` or `too_large`.
#[derive(Debug, Default)]
pub(crate) struct Prepared {
    pub(crate) requests: Vec<Planned>,
    /// Spans outside the accepted time window, or longer than one request may span.
    pub(crate) outside_window: u64,
    /// Spans that could not be brought under the size limits.
    pub(crate) too_large: u64,
    /// Spans that go out shortened (their own data, or their resource/scope).
    pub(crate) trimmed: u64,
}

/// Converts a batch to OTLP and cuts it into requests within `limits`.
///
/// * Spans that started more than [`MAX_AGE`] before `now`, end more than
///   [`MAX_FUTURE`] after it, or last longer than [`MAX_REQUEST_SPREAD`] are
///   dropped (`outside_window`).
/// * A resource+scope pair over its limit loses bytes from its largest
///   attribute values first (strings are shortened, other values removed and
///   counted in `dropped_attributes_count`).
/// * A span over its limit has its largest attribute values (span, event and
///   link attributes) shortened, then events, links and attributes removed
///   from the end (counted in the span's `dropped_*_count`).
/// * Spans are ordered by start time and packed greedily, so each request stays
///   within the span count, the byte budget and the 24 h spread.
pub(crate) fn prepare(
    batch: Vec<SpanData>,
    resource: &ResourceAttributesWithSchema,
    limits: &Limits,
    now: SystemTime,
) -> Prepared {
    let mut prepared = Prepared::default();
    let oldest = now.checked_sub(MAX_AGE).unwrap_or(UNIX_EPOCH);
    let newest = now + MAX_FUTURE;
    let total = batch.len();
    let batch: Vec<SpanData> = batch
        .into_iter()
        .filter(|span| {
            let duration = span
                .end_time
                .duration_since(span.start_time)
                .unwrap_or_default();
            span.start_time >= oldest && span.end_time <= newest && duration <= MAX_REQUEST_SPREAD
        })
        .collect();
    prepared.outside_window = (total - batch.len()) as u64;
    if batch.is_empty() {
        return prepared;
    }

    for mut resource_spans in group_spans_by_resource_and_scope(batch, resource) {
        let header_trimmed = fit_resource_and_scopes(&mut resource_spans, limits, &mut prepared);
        let mut fitted = Vec::with_capacity(batch_len(&resource_spans));
        for (scope, (scope_spans, header_trimmed)) in resource_spans
            .scope_spans
            .iter_mut()
            .zip(header_trimmed)
            .enumerate()
        {
            for mut span in std::mem::take(&mut scope_spans.spans) {
                let (fit, bytes) = fit_span(&mut span, limits.max_span_bytes);
                if let Fit::Impossible = fit {
                    prepared.too_large += 1;
                    continue;
                }
                // Counted once per span, whichever part of it was shortened.
                if header_trimmed || matches!(fit, Fit::Trimmed) {
                    prepared.trimmed += 1;
                }
                fitted.push(Fitted { scope, bytes, span });
            }
        }
        split(resource_spans, fitted, limits, &mut prepared);
    }
    prepared
}

fn batch_len(rs: &ResourceSpans) -> usize {
    rs.scope_spans.iter().map(|ss| ss.spans.len()).sum()
}

/// A span within the span limit, with its encoded size, measured once for the
/// fit and the split (callgrind, `benches/otlp.rs` with `OTLP_PROFILE=ours`:
/// `prepare` 9.53M -> 8.79M instructions per 1,000-span export, -1.9 % of the
/// whole export).
struct Fitted {
    scope: usize,
    bytes: usize,
    span: Span,
}

/// Keeps every resource+scope pair under the limit; spans of a pair that
/// cannot be fitted are counted as too large and removed. Returns, for each
/// remaining scope, whether its resource or scope data was shortened.
fn fit_resource_and_scopes(
    rs: &mut ResourceSpans,
    limits: &Limits,
    prepared: &mut Prepared,
) -> Vec<bool> {
    let mut resource = rs.resource.take().unwrap_or_default();
    let mut resource_trimmed = false;
    let mut trimmed = Vec::with_capacity(rs.scope_spans.len());
    rs.scope_spans.retain_mut(|ss| {
        let mut scope = ss.scope.take().unwrap_or_default();
        let mut scope_trimmed = false;
        let fits = loop {
            let size = resource.encoded_len() + scope.encoded_len();
            let excess = size.saturating_sub(limits.max_resource_scope_bytes);
            if excess == 0 {
                break true;
            }
            // The largest value of either side loses bytes first.
            match (largest(&resource.attributes), largest(&scope.attributes)) {
                (Some((i, r)), scope_max) if scope_max.is_none_or(|(_, s)| r >= s) => {
                    if shrink_attribute(&mut resource.attributes, i, excess) {
                        resource.dropped_attributes_count += 1;
                    }
                    resource_trimmed = true;
                }
                (_, Some((i, _))) => {
                    if shrink_attribute(&mut scope.attributes, i, excess) {
                        scope.dropped_attributes_count += 1;
                    }
                    scope_trimmed = true;
                }
                _ => break false,
            }
        };
        ss.scope = Some(scope);
        if !fits {
            prepared.too_large += ss.spans.len() as u64;
            return false;
        }
        trimmed.push(scope_trimmed);
        true
    });
    rs.resource = Some(resource);
    // The resource is shared: shortened for one pair, it is shortened for all.
    if resource_trimmed {
        trimmed.iter_mut().for_each(|t| *t = true);
    }
    trimmed
}

/// The index and encoded size of the largest attribute.
fn largest(attributes: &[KeyValue]) -> Option<(usize, usize)> {
    attributes
        .iter()
        .map(Message::encoded_len)
        .enumerate()
        .max_by_key(|(_, len)| *len)
}

/// Removes at least `excess` bytes from attribute `i`: a string long enough is
/// shortened (on a character boundary), anything else is removed. Returns true
/// when the attribute was removed.
fn shrink_attribute(attributes: &mut Vec<KeyValue>, i: usize, excess: usize) -> bool {
    if let Some(any_value::Value::StringValue(s)) = attributes[i]
        .value
        .as_mut()
        .and_then(|value| value.value.as_mut())
    {
        // A few bytes more than the excess: the length prefix may shrink by less.
        let cut = excess + FIELD_OVERHEAD;
        if s.len() > cut {
            let keep = s.floor_char_boundary(s.len() - cut);
            s.truncate(keep);
            return false;
        }
    }
    attributes.remove(i);
    true
}

enum Fit {
    Unchanged,
    Trimmed,
    Impossible,
}

/// Brings one span under `max` bytes, least valuable data first; returns the
/// span's encoded size with the outcome.
fn fit_span(span: &mut Span, max: usize) -> (Fit, usize) {
    let bytes = span.encoded_len();
    if bytes <= max {
        return (Fit::Unchanged, bytes);
    }
    // Shorten the largest attribute values (of the span, its events and links)
    // while that removes something substantial.
    while let Some(excess) = span.encoded_len().checked_sub(max).filter(|e| *e > 0) {
        let Some((place, size)) = largest_anywhere(span) else {
            break;
        };
        if size < 1024 {
            break;
        }
        let (attributes, dropped, i) = match place {
            Place::Span(i) => (&mut span.attributes, &mut span.dropped_attributes_count, i),
            Place::Event(e, i) => {
                let event = &mut span.events[e];
                (
                    &mut event.attributes,
                    &mut event.dropped_attributes_count,
                    i,
                )
            }
            Place::Link(l, i) => {
                let link = &mut span.links[l];
                (&mut link.attributes, &mut link.dropped_attributes_count, i)
            }
        };
        if shrink_attribute(attributes, i, excess) {
            *dropped += 1;
        }
    }
    // Then whole events, links and attributes, from the end.
    while span.encoded_len() > max && span.events.pop().is_some() {
        span.dropped_events_count += 1;
    }
    while span.encoded_len() > max && span.links.pop().is_some() {
        span.dropped_links_count += 1;
    }
    while span.encoded_len() > max && span.attributes.pop().is_some() {
        span.dropped_attributes_count += 1;
    }
    let bytes = span.encoded_len();
    if bytes > max {
        return (Fit::Impossible, bytes);
    }
    (Fit::Trimmed, bytes)
}

#[derive(Clone, Copy)]
enum Place {
    Span(usize),
    Event(usize, usize),
    Link(usize, usize),
}

fn largest_anywhere(span: &Span) -> Option<(Place, usize)> {
    let own = largest(&span.attributes).map(|(i, n)| (Place::Span(i), n));
    let events = span
        .events
        .iter()
        .enumerate()
        .filter_map(|(e, ev)| largest(&ev.attributes).map(|(i, n)| (Place::Event(e, i), n)));
    let links = span
        .links
        .iter()
        .enumerate()
        .filter_map(|(l, link)| largest(&link.attributes).map(|(i, n)| (Place::Link(l, i), n)));
    own.into_iter()
        .chain(events)
        .chain(links)
        .max_by_key(|(_, n)| *n)
}

/// Packs `spans` (of the scopes of `rs`) into requests within `limits`.
fn split(mut rs: ResourceSpans, mut spans: Vec<Fitted>, limits: &Limits, prepared: &mut Prepared) {
    let resource_bytes = rs.resource.as_ref().map_or(0, Message::encoded_len)
        + rs.schema_url.len()
        + 3 * FIELD_OVERHEAD;
    let mut headers = Vec::with_capacity(rs.scope_spans.len());
    for ss in &mut rs.scope_spans {
        let header = ScopeSpans {
            scope: ss.scope.take(),
            schema_url: std::mem::take(&mut ss.schema_url),
            spans: Vec::new(),
        };
        let bytes = header.encoded_len() + FIELD_OVERHEAD;
        headers.push((header, bytes));
    }
    // Sorted by start so that spans close in time share a request.
    spans.sort_by_key(|fitted| fitted.span.start_time_unix_nano);

    let spread = MAX_REQUEST_SPREAD.as_nanos() as u64;
    let mut open: Option<Open> = None;
    for Fitted { scope, bytes, span } in spans {
        let span_bytes = bytes + FIELD_OVERHEAD;
        if let Some(current) = &open {
            let new_scope_bytes = if current.scopes[scope].is_none() {
                headers[scope].1
            } else {
                0
            };
            let full = current.spans == limits.max_spans
                || current.bytes + new_scope_bytes + span_bytes > limits.max_request_bytes
                || span
                    .end_time_unix_nano
                    .max(current.latest_end)
                    .saturating_sub(current.earliest_start)
                    > spread;
            if full {
                prepared.requests.extend(open.take().map(|o| o.finish(&rs)));
            }
        }
        let current = open.get_or_insert_with(|| Open {
            scopes: vec![None; headers.len()],
            spans: 0,
            bytes: resource_bytes,
            earliest_start: span.start_time_unix_nano,
            latest_end: span.end_time_unix_nano,
        });
        let slot = current.scopes[scope].get_or_insert_with(|| {
            current.bytes += headers[scope].1;
            headers[scope].0.clone()
        });
        current.bytes += span_bytes;
        current.spans += 1;
        current.latest_end = current.latest_end.max(span.end_time_unix_nano);
        slot.spans.push(span);
    }
    prepared.requests.extend(open.map(|o| o.finish(&rs)));
}

/// The request being filled.
struct Open {
    scopes: Vec<Option<ScopeSpans>>,
    spans: usize,
    bytes: usize,
    earliest_start: u64,
    latest_end: u64,
}

impl Open {
    fn finish(self, template: &ResourceSpans) -> Planned {
        let resource_spans = ResourceSpans {
            resource: template.resource.clone(),
            scope_spans: self.scopes.into_iter().flatten().collect(),
            schema_url: template.schema_url.clone(),
        };
        Planned {
            request: ExportTraceServiceRequest {
                resource_spans: vec![resource_spans],
            },
            spans: self.spans as u64,
        }
    }
}

#[cfg(test)]
#[path = "limits_tests.rs"]
mod tests;
