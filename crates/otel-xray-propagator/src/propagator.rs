//! `XrayPropagator`: the `X-Amzn-Trace-Id` [`TextMapPropagator`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, TraceContextExt, TraceFlags, TraceState};
use opentelemetry::Context;
use otel_xray_id::synthetic_parent_span_id;

use crate::header::{canonical, HeaderError, ParseReport, Sampling, TraceHeader};
use crate::remote::{trace_header_for, RemoteHeaderState};

/// The HTTP header name, as written by inject and listed by `fields()`.
pub const TRACE_HEADER_NAME: &str = "X-Amzn-Trace-Id";
const TRACE_HEADER_NAME_LOWER: &str = "x-amzn-trace-id";

/// Propagates trace context in the AWS X-Ray `X-Amzn-Trace-Id` header.
///
/// * **Extract** finds the header case-insensitively (any casing, in any
///   [`Extractor`]; for a plain `HashMap` whose keys are not lower case, wrap it in
///   [`AnyCaseMap`], because `HashMap`'s own `Extractor` lower-cases the key it looks
///   up), parses it with [`TraceHeader`]'s rules and sets a remote span context:
///   * `Sampled=1` → sampled; `Sampled=0` → not sampled;
///   * `Sampled=?` or missing → not sampled in the trace flags (never W3C's 0x02),
///     plus a marker read by [`sampling_deferred`](crate::sampling_deferred), so that
///     [`XrayParentBased`](crate::XrayParentBased) lets the root sampler decide;
///   * Root-only header (ALB, API Gateway) → the same trace ID with the
///     [synthetic parent](otel_xray_id::synthetic_parent_span_id), which the exporter
///     turns into a root segment;
///   * a `Lineage` is kept for inject; W3C trace state of the same trace already in
///     the context (from a `TraceContextPropagator` earlier in a composite) is kept.
///
///   An invalid or missing header leaves the context unchanged. Rejections are
///   counted in [`XrayPropagator::stats`].
/// * **Inject** writes `Root=1-{8}-{24};Parent={16};Sampled={0|1}[;Lineage=…]`, see
///   [`trace_header_for`]; nothing for an invalid span context.
///
/// ```
/// use std::collections::HashMap;
/// use opentelemetry::propagation::TextMapPropagator;
/// use opentelemetry::trace::TraceContextExt;
/// use otel_xray_propagator::XrayPropagator;
///
/// let propagator = XrayPropagator::default();
/// let incoming = HashMap::from([(
///     "x-amzn-trace-id".to_string(),
///     "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1".to_string(),
/// )]);
/// let cx = propagator.extract(&incoming);
/// assert!(cx.span().span_context().is_sampled());
///
/// let mut outgoing = HashMap::new();
/// propagator.inject_context(&cx, &mut outgoing);
/// assert_eq!(outgoing["x-amzn-trace-id"], incoming["x-amzn-trace-id"]);
/// ```
#[derive(Clone, Debug, Default)]
pub struct XrayPropagator {
    counters: Arc<Counters>,
}

/// Rejected and partly-used headers seen by one [`XrayPropagator`] (and its clones).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PropagatorStats {
    /// Headers longer than [`MAX_HEADER_LEN`](crate::MAX_HEADER_LEN), ignored.
    pub rejected_too_long: u64,
    /// Headers without `Root`, ignored.
    pub rejected_missing_root: u64,
    /// Headers whose `Root` is invalid, ignored.
    pub rejected_invalid_root: u64,
    /// Headers whose `Parent` is invalid, ignored.
    pub rejected_invalid_parent: u64,
    /// Valid headers whose invalid `Lineage` was dropped.
    pub lineage_dropped: u64,
    /// Valid headers with a `Sampled` value other than `1`, `0`, `?` (read as deferred).
    pub unrecognised_sampled: u64,
    /// Parts of valid headers that were skipped (unknown keys, `Self`, no `=`).
    pub ignored_parts: u64,
}

#[derive(Debug, Default)]
struct Counters {
    too_long: AtomicU64,
    missing_root: AtomicU64,
    invalid_root: AtomicU64,
    invalid_parent: AtomicU64,
    lineage_dropped: AtomicU64,
    unrecognised_sampled: AtomicU64,
    ignored_parts: AtomicU64,
}

fn bump(counter: &AtomicU64, by: u64) {
    if by > 0 {
        counter.fetch_add(by, Ordering::Relaxed);
    }
}

impl XrayPropagator {
    /// Same as [`XrayPropagator::default`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts of rejected headers and dropped parts since construction.
    pub fn stats(&self) -> PropagatorStats {
        let c = &*self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        PropagatorStats {
            rejected_too_long: get(&c.too_long),
            rejected_missing_root: get(&c.missing_root),
            rejected_invalid_root: get(&c.invalid_root),
            rejected_invalid_parent: get(&c.invalid_parent),
            lineage_dropped: get(&c.lineage_dropped),
            unrecognised_sampled: get(&c.unrecognised_sampled),
            ignored_parts: get(&c.ignored_parts),
        }
    }

    /// Parses `value` as a trace header, counting what was rejected or dropped.
    pub fn parse_header(&self, value: &[u8]) -> Result<TraceHeader, HeaderError> {
        let c = &*self.counters;
        match TraceHeader::parse_with_report(value) {
            Ok((header, report)) => {
                if report == ParseReport::default() {
                    return Ok(header);
                }
                bump(&c.ignored_parts, u64::from(report.ignored_parts));
                bump(
                    &c.lineage_dropped,
                    u64::from(report.lineage_error.is_some()),
                );
                bump(
                    &c.unrecognised_sampled,
                    u64::from(report.unrecognised_sampled),
                );
                Ok(header)
            }
            Err(e) => {
                bump(
                    match e {
                        HeaderError::TooLong { .. } => &c.too_long,
                        HeaderError::MissingRoot => &c.missing_root,
                        HeaderError::InvalidRoot(_) => &c.invalid_root,
                        HeaderError::InvalidParent(_) => &c.invalid_parent,
                    },
                    1,
                );
                Err(e)
            }
        }
    }

    /// Extracts from a header value that did not come through an [`Extractor`]
    /// (an SQS attribute, the Lambda environment). Invalid → `cx` unchanged.
    pub fn extract_header(&self, cx: &Context, value: &str) -> Context {
        match self.parse_header(value.as_bytes()) {
            Ok(header) => context_with_header(cx, &header),
            Err(_) => cx.clone(),
        }
    }
}

/// `cx` with `header` as its remote span context (and, when needed, the deferred
/// marker and lineage). This is what extract builds; it is public for callers that
/// hold a [`TraceHeader`] from elsewhere.
// Always inlined into extract's canonical path, where the header's fields are
// still in registers; out of line they go through memory (callgrind,
// `benches/propagator.rs`).
#[inline(always)]
pub fn context_with_header(cx: &Context, header: &TraceHeader) -> Context {
    let trace_id = header.root.trace_id();
    let span_id = header
        .parent
        .unwrap_or_else(|| synthetic_parent_span_id(trace_id));
    let flags = match header.sampling {
        Sampling::Sampled => TraceFlags::SAMPLED,
        Sampling::NotSampled | Sampling::Deferred => TraceFlags::default(),
    };
    // W3C trace state for the same trace (a TraceContextPropagator ran first) is
    // kept: vendors' entries must survive an X-Ray hop.
    let trace_state = if !cx.has_active_span() {
        TraceState::NONE
    } else {
        let span = cx.span();
        let prior = span.span_context();
        if prior.is_valid() && prior.trace_id() == trace_id {
            prior.trace_state().clone()
        } else {
            TraceState::NONE
        }
    };
    let sc = SpanContext::new(trace_id, span_id, flags, true, trace_state);
    let needs_state = RemoteHeaderState::needed(header, cx);
    let out = cx.with_remote_span_context(sc);
    if needs_state {
        out.with_value(RemoteHeaderState::new(header, span_id))
    } else {
        out
    }
}

/// Finds the header under any casing. `get` is tried first with the two usual
/// spellings (a hit costs one lookup); only a miss scans `keys()`.
fn find_header(extractor: &dyn Extractor) -> Option<&str> {
    extractor
        .get(TRACE_HEADER_NAME_LOWER)
        .or_else(|| extractor.get(TRACE_HEADER_NAME))
        .or_else(|| {
            extractor
                .keys()
                .into_iter()
                .find(|k| k.eq_ignore_ascii_case(TRACE_HEADER_NAME))
                .and_then(|k| extractor.get(k))
        })
}

impl TextMapPropagator for XrayPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        if let Some(header) = trace_header_for(cx) {
            injector.set(TRACE_HEADER_NAME, header.encode().as_str().to_owned());
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let Some(value) = find_header(extractor) else {
            return cx.clone();
        };
        // The canonical form (what inject and AWS services write) on its own
        // path: it has nothing to count, and building the context straight from
        // it keeps the parsed header in registers instead of copying it through
        // `parse_header`'s result (callgrind, `benches/propagator.rs`).
        if let Some(header) = canonical(value.as_bytes()) {
            return context_with_header(cx, &header);
        }
        match self.parse_header(value.as_bytes()) {
            Ok(header) => context_with_header(cx, &header),
            Err(_) => cx.clone(),
        }
    }

    fn fields(&self) -> FieldIter<'_> {
        static FIELDS: OnceLock<[String; 1]> = OnceLock::new();
        FieldIter::new(FIELDS.get_or_init(|| [TRACE_HEADER_NAME.to_owned()]))
    }
}

/// An [`Extractor`] over a `HashMap<String, String>` whose keys may have any casing.
///
/// `HashMap`'s own `Extractor` lower-cases the requested key, so it cannot find
/// `X-Amzn-Trace-Id` stored as written on the wire. This one compares ASCII
/// case-insensitively (a linear scan; header maps are small).
///
/// ```
/// use std::collections::HashMap;
/// use opentelemetry::propagation::TextMapPropagator;
/// use opentelemetry::trace::TraceContextExt;
/// use otel_xray_propagator::{AnyCaseMap, XrayPropagator};
///
/// let headers = HashMap::from([(
///     "X-AMZN-TRACE-ID".to_string(),
///     "Root=1-5759e988-bd862e3fe1be46a994272793".to_string(),
/// )]);
/// let cx = XrayPropagator::default().extract(&AnyCaseMap(&headers));
/// assert!(cx.span().span_context().is_valid());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct AnyCaseMap<'a, S = std::collections::hash_map::RandomState>(
    pub &'a HashMap<String, String, S>,
);

impl<S> Extractor for AnyCaseMap<'_, S> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}
