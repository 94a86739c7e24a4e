//! What an extracted header leaves in the [`Context`] besides the span context:
//! the deferred-sampling marker and the lineage.
//!
//! Neither fits in `TraceFlags`: bit 0x02 is W3C's random-trace-id flag, and the
//! SDK copies parent flags into children, so a "deferred" bit there leaks into every
//! descendant (and into the next service's header). A context value tied to the
//! remote span's IDs cannot leak: once a local span is current, the IDs differ.

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceId};
use opentelemetry::Context;
use otel_xray_id::is_synthetic_parent;

use crate::header::{Sampling, TraceHeader};
use crate::lineage::Lineage;

/// Stored by extract only when there is something to say (deferred or lineage), or
/// to overwrite an older value left by an earlier extract on the same context.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RemoteHeaderState {
    trace_id: TraceId,
    span_id: SpanId,
    deferred: bool,
    lineage: Option<Lineage>,
}

impl RemoteHeaderState {
    pub(crate) fn needed(header: &TraceHeader, cx: &Context) -> bool {
        header.sampling == Sampling::Deferred
            || header.lineage.is_some()
            || cx.get::<Self>().is_some()
    }

    pub(crate) fn new(header: &TraceHeader, span_id: SpanId) -> Self {
        Self {
            trace_id: header.root.trace_id(),
            span_id,
            deferred: header.sampling == Sampling::Deferred,
            lineage: header.lineage,
        }
    }
}

/// True while `cx`'s span is a remote span extracted from a header whose sampling
/// decision was deferred (`Sampled=?` or no `Sampled`).
///
/// Samplers use it to treat the parent as absent for the sampling decision
/// ([`XrayParentBased`](crate::XrayParentBased) does); inject uses it to forward
/// `Sampled=?` unchanged when a proxy passes the extracted context straight on.
/// As soon as a local span is started under the remote one, this is false for the
/// new span's context: the local span has a decision.
///
/// ```
/// use opentelemetry::propagation::TextMapPropagator;
/// use otel_xray_propagator::{sampling_deferred, XrayPropagator};
/// use std::collections::HashMap;
///
/// let carrier = HashMap::from([(
///     "x-amzn-trace-id".to_string(),
///     "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=?".to_string(),
/// )]);
/// let cx = XrayPropagator::default().extract(&carrier);
/// assert!(sampling_deferred(&cx));
/// ```
pub fn sampling_deferred(cx: &Context) -> bool {
    let Some(state) = cx.get::<RemoteHeaderState>() else {
        return false;
    };
    let span = cx.span();
    let sc = span.span_context();
    state.deferred
        && sc.is_remote()
        && !sc.is_sampled()
        && sc.trace_id() == state.trace_id
        && sc.span_id() == state.span_id
}

/// The `Lineage` received with the trace `cx`'s span belongs to, if any.
///
/// Lineage belongs to the whole trace, so it is returned for local descendants of
/// the extracted span too (and injected with them), but not for an unrelated trace.
pub fn lineage(cx: &Context) -> Option<Lineage> {
    let state = cx.get::<RemoteHeaderState>()?;
    (cx.span().span_context().trace_id() == state.trace_id)
        .then_some(state.lineage)
        .flatten()
}

/// The header to inject for `cx`, or `None` if its span context is invalid.
///
/// `Sampled=?` is produced only while [`sampling_deferred`] holds; a span with a
/// decision writes `1` or `0`. A remote span with the synthetic parent of a
/// Root-only header is forwarded as Root-only. W3C trace state is never written.
///
/// ```
/// use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
/// use opentelemetry::Context;
/// use otel_xray_propagator::trace_header_for;
///
/// let sc = SpanContext::new(
///     TraceId::from_hex("5759e988bd862e3fe1be46a994272793").unwrap(),
///     SpanId::from_hex("53995c3f42cd8ad8").unwrap(),
///     TraceFlags::SAMPLED,
///     false,
///     TraceState::NONE,
/// );
/// let header = trace_header_for(&Context::new().with_remote_span_context(sc)).unwrap();
/// assert_eq!(
///     header.to_string(),
///     "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
/// );
/// ```
pub fn trace_header_for(cx: &Context) -> Option<TraceHeader> {
    let span = cx.span();
    let sc = span.span_context();
    header_for_span(sc, cx)
}

fn header_for_span(sc: &SpanContext, cx: &Context) -> Option<TraceHeader> {
    if !sc.is_valid() {
        return None;
    }
    let root = otel_xray_id::XrayTraceId::from_trace_id(sc.trace_id())?;
    let state = cx
        .get::<RemoteHeaderState>()
        .filter(|s| s.trace_id == sc.trace_id());
    let sampling = if sc.is_sampled() {
        Sampling::Sampled
    } else if sampling_deferred(cx) {
        Sampling::Deferred
    } else {
        Sampling::NotSampled
    };
    let parent = if sc.is_remote() && is_synthetic_parent(sc.trace_id(), sc.span_id()) {
        None
    } else {
        Some(sc.span_id())
    };
    Some(TraceHeader {
        root,
        parent,
        sampling,
        lineage: state.and_then(|s| s.lineage),
    })
}
