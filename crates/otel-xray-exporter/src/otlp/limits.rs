//! The X-Ray OTLP endpoint's documented limits, applied before anything is sent.
//!
//! The endpoint rejects a *whole call* when one part of it is out of bounds, so
//! one oversized span or one stale timestamp would otherwise cost every span
//! of the batch. Here each span is fitted, dropped (counted) or moved to another
//! request instead; see [`prepare`].

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::common::v1::{any_value, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_sdk::trace::SpanData;
use prost::Message;

use super::request::{assemble, field_len, Fitted, Headers, Planned, FIELD_OVERHEAD, ITEMS};

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

/// Converts a batch to OTLP and cuts it into encoded requests within `limits`.
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
///
/// Each span is converted, encoded once into one buffer for the batch, and
/// dropped; the requests are assembled from those bytes (see `request.rs`).
pub(crate) fn prepare(
    batch: Vec<SpanData>,
    resource: &ResourceAttributesWithSchema,
    limits: &Limits,
    now: SystemTime,
) -> Prepared {
    let mut prepared = Prepared::default();
    let oldest = now.checked_sub(MAX_AGE).unwrap_or(UNIX_EPOCH);
    let newest = now + MAX_FUTURE;
    let mut pairs = Pairs::new(resource);
    let mut arena = Vec::new();
    let mut fitted = Vec::with_capacity(batch.len());
    for span in batch {
        let duration = span
            .end_time
            .duration_since(span.start_time)
            .unwrap_or_default();
        if span.start_time < oldest || span.end_time > newest || duration > MAX_REQUEST_SPREAD {
            prepared.outside_window += 1;
            continue;
        }
        let Some(scope) = pairs.scope(&span.instrumentation_scope, limits) else {
            prepared.too_large += 1;
            continue;
        };
        let mut span = Span::from(span);
        let start = arena.len();
        let fit = encode_within(&mut span, limits.max_span_bytes, &mut arena);
        if let Fit::Impossible = fit {
            prepared.too_large += 1;
            continue;
        }
        fitted.push(Fitted {
            scope,
            bytes: start..arena.len(),
            trimmed: matches!(fit, Fit::Trimmed),
            start_time_unix_nano: span.start_time_unix_nano,
            end_time_unix_nano: span.end_time_unix_nano,
        });
    }
    // Counted once per span, whichever part of it was shortened; after the
    // loop, since a later scope may still shorten the shared resource.
    prepared.trimmed = fitted
        .iter()
        .filter(|span| span.trimmed || pairs.trimmed(span.scope))
        .count() as u64;
    pack(
        &pairs.headers(),
        &arena,
        fitted,
        limits,
        &mut prepared.requests,
    );
    prepared
}

/// The resource and the scopes of a batch; each resource+scope pair is fitted
/// to the limit when its scope first appears.
struct Pairs {
    resource: Resource,
    resource_schema_url: String,
    /// The resource was shortened (for one pair, so for all).
    resource_trimmed: bool,
    /// Index in `scopes`, or `None` for a scope that cannot be fitted.
    index: HashMap<opentelemetry::InstrumentationScope, Option<usize>>,
    scopes: Vec<Scope>,
}

struct Scope {
    scope: InstrumentationScope,
    schema_url: String,
    trimmed: bool,
}

impl Pairs {
    fn new(resource: &ResourceAttributesWithSchema) -> Pairs {
        Pairs {
            resource: Resource {
                attributes: resource.attributes.0.clone(),
                ..Resource::default()
            },
            resource_schema_url: resource.schema_url.clone().unwrap_or_default(),
            resource_trimmed: false,
            index: HashMap::new(),
            scopes: Vec::new(),
        }
    }

    /// The index of `scope`'s pair, or `None` when the pair cannot be fitted.
    fn scope(
        &mut self,
        scope: &opentelemetry::InstrumentationScope,
        limits: &Limits,
    ) -> Option<usize> {
        if let Some(index) = self.index.get(scope) {
            return *index;
        }
        let mut proto = InstrumentationScope::from((scope, None));
        let (fits, resource_trimmed, scope_trimmed) = fit_pair(
            &mut self.resource,
            &mut proto,
            limits.max_resource_scope_bytes,
        );
        self.resource_trimmed |= resource_trimmed;
        let index = fits.then(|| {
            self.scopes.push(Scope {
                scope: proto,
                schema_url: scope.schema_url().unwrap_or_default().to_owned(),
                trimmed: scope_trimmed,
            });
            self.scopes.len() - 1
        });
        self.index.insert(scope.clone(), index);
        index
    }

    /// Whether the pair of scope `index` was shortened.
    fn trimmed(&self, index: usize) -> bool {
        self.resource_trimmed || self.scopes[index].trimmed
    }

    fn headers(&self) -> Headers {
        Headers::new(
            &self.resource,
            &self.resource_schema_url,
            self.scopes.iter().map(|s| (&s.scope, &s.schema_url)),
        )
    }
}

/// Shortens the largest attribute values of `resource` and `scope` until the
/// pair is within `max` bytes. Returns whether it is, and whether the
/// resource and the scope were shortened.
fn fit_pair(
    resource: &mut Resource,
    scope: &mut InstrumentationScope,
    max: usize,
) -> (bool, bool, bool) {
    let (mut resource_trimmed, mut scope_trimmed) = (false, false);
    loop {
        let size = resource.encoded_len() + scope.encoded_len();
        let excess = size.saturating_sub(max);
        if excess == 0 {
            return (true, resource_trimmed, scope_trimmed);
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
            _ => return (false, resource_trimmed, scope_trimmed),
        }
    }
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

/// Encodes `span` at the end of `arena` within `max` bytes, shortening it
/// first when it is over; an impossible span leaves nothing in `arena`.
fn encode_within(span: &mut Span, max: usize, arena: &mut Vec<u8>) -> Fit {
    let start = arena.len();
    // A `Vec` grows as needed: encoding can only fail for a span larger than
    // memory.
    if span.encode(arena).is_err() {
        return Fit::Impossible;
    }
    if arena.len() - start <= max {
        return Fit::Unchanged;
    }
    arena.truncate(start);
    let fit = fit_span(span, max);
    if let Fit::Trimmed = fit {
        if span.encode(arena).is_err() {
            return Fit::Impossible;
        }
    }
    fit
}

/// Brings a span that is over `max` bytes under it, least valuable data
/// first.
fn fit_span(span: &mut Span, max: usize) -> Fit {
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
    if span.encoded_len() > max {
        return Fit::Impossible;
    }
    Fit::Trimmed
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

/// Packs `spans` into requests within `limits` and assembles them. Spans are
/// ordered by start time and packed greedily, so spans close in time share a
/// request and each request stays within the span count, the byte budget and
/// the 24 h spread.
pub(super) fn pack(
    headers: &Headers,
    arena: &[u8],
    mut spans: Vec<Fitted>,
    limits: &Limits,
    requests: &mut Vec<Planned>,
) {
    spans.sort_by_key(|span| span.start_time_unix_nano);
    // The request's `resource_spans` field; scope fields are added as their
    // scopes join, then each span's field.
    let empty_bytes = FIELD_OVERHEAD + headers.resource_len();
    let spread = MAX_REQUEST_SPREAD.as_nanos() as u64;
    let mut first = 0;
    let mut bytes = empty_bytes;
    let mut scope_joined = vec![false; headers.scopes()];
    let (mut earliest_start, mut latest_end) = (0, 0);
    for i in 0..spans.len() {
        let span = &spans[i];
        let (scope, start, end) = (
            span.scope,
            span.start_time_unix_nano,
            span.end_time_unix_nano,
        );
        let span_bytes = field_len(ITEMS, span.bytes.len());
        let scope_bytes = |joined: bool| {
            if joined {
                0
            } else {
                FIELD_OVERHEAD + headers.scope_len(scope)
            }
        };
        let full = i > first
            && (i - first == limits.max_spans
                || bytes + scope_bytes(scope_joined[scope]) + span_bytes
                    > limits.max_request_bytes
                || end.max(latest_end).saturating_sub(earliest_start) > spread);
        if full {
            requests.push(assemble(headers, arena, &mut spans[first..i]));
            first = i;
            bytes = empty_bytes;
            scope_joined.fill(false);
        }
        if i == first {
            earliest_start = start;
            latest_end = end;
        }
        bytes += scope_bytes(scope_joined[scope]) + span_bytes;
        scope_joined[scope] = true;
        latest_end = latest_end.max(end);
    }
    if first < spans.len() {
        requests.push(assemble(headers, arena, &mut spans[first..]));
    }
}

#[cfg(test)]
#[path = "limits_tests.rs"]
mod tests;
