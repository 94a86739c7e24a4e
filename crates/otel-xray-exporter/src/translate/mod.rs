//! Span → segment translation, one module per X-Ray block.
//!
//! [`Translator::translate`] assembles the document: IDs, times and the
//! segment/subsegment decision here; then [`http`], [`cause`] (flags too),
//! [`aws`] (with `origin` and `service`), [`sql`], `user`, [`annotations`],
//! [`metadata`], [`links`] and finally [`name`] (with `namespace`). Each block
//! reads attributes through `attrs` and marks the ones it used as consumed, so
//! that [`metadata`] only carries the rest.
//!
//! **Segment or subsegment.** A span is a segment when it has no parent, when
//! its parent is the synthetic parent of a Root-only `X-Amzn-Trace-Id` header
//! ([`otel_xray_id::is_synthetic_parent`]; then it has no `parent_id` either),
//! when it is a SERVER or CONSUMER span (consumers start work in a new service,
//! as the collector does since 2025), when it is an INTERNAL span with a remote
//! parent, or when `aws.span.kind=LOCAL_ROOT` marks an INTERNAL span. Anything
//! else is an independent subsegment with `type` and `parent_id`. Segments with
//! a real parent keep `parent_id`. Unlike the collector, a CLIENT/PRODUCER
//! local root stays one subsegment (no synthetic service segment is invented).

pub mod annotations;
pub(crate) mod attrs;
pub mod aws;
pub mod cause;
pub mod http;
pub mod links;
pub mod metadata;
pub mod name;
mod name_chars;
mod resource;
pub mod sql;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{SpanId, SpanKind};
use opentelemetry_sdk::trace::SpanData;
use opentelemetry_sdk::Resource;
use otel_xray_id::{is_synthetic_parent, XrayTraceId};

pub use annotations::{
    sanitize_annotation_key, ANNOTATION_PREFIX, MAX_ANNOTATIONS, MAX_ANNOTATION_KEY_CHARS,
    MAX_ANNOTATION_VALUE_CHARS, RESOURCE_PREFIX,
};
pub use http::MAX_HTTP_CHARS;
pub use metadata::{METADATA_PREFIX, OTEL_NAMESPACE};
pub use name::{is_name_char, sanitize_name, MAX_NAME_CHARS};

use self::attrs::{SpanAttrs, S};
use self::resource::{ResourceAttrs, ResourceCache};
use crate::limits::{truncate, write_within_limit};
use crate::segment::{DocumentType, Id, Segment, TraceIdText};
use crate::stats::{Counters, Tally, TranslateStats};
use crate::TranslatorConfig;

/// The `user` limit of the schema, in chars.
const MAX_USER_CHARS: usize = 250;

/// Why a span could not be translated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TranslateError {
    /// The span's trace ID is all zeros (not a valid OpenTelemetry trace).
    #[error("span has the invalid (all-zero) trace ID")]
    InvalidTraceId,
    /// The span's span ID is all zeros.
    #[error("span has the invalid (all-zero) span ID")]
    InvalidSpanId,
    /// serde_json failed to write the document (an I/O error of the writer).
    #[error("could not serialise the segment document: {0}")]
    Serialize(#[from] serde_json::Error),
    /// Even the minimal document exceeds the limit (cannot happen with the
    /// limits the config allows; reported instead of sending an oversized document).
    #[error("segment document is {bytes} bytes after trimming, over the {limit}-byte limit")]
    TooLarge {
        /// Size of the smallest document the policy could make.
        bytes: usize,
        /// The configured limit.
        limit: usize,
    },
}

/// Turns OpenTelemetry spans into X-Ray segment documents.
///
/// Cheap to clone; clones share the configuration and the counters. What the
/// translator derives from a [`Resource`] is prepared once and kept for the
/// last few resources (each clone keeps its own), so translating many spans
/// of one resource with [`Translator::translate_json`] or
/// [`Translator::translate_into`] does that work once.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState};
/// use opentelemetry::KeyValue;
/// use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
/// use opentelemetry_sdk::Resource;
/// use otel_xray_exporter::{Translator, TranslatorConfig};
///
/// let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let span = SpanData {
///     span_context: SpanContext::new(
///         TraceId::from_hex("6553f1000123456789abcdef01234567").unwrap(),
///         SpanId::from_hex("53995c3f42cd8ad8").unwrap(),
///         TraceFlags::SAMPLED, false, TraceState::default()),
///     parent_span_id: SpanId::INVALID,
///     parent_span_is_remote: false,
///     span_kind: SpanKind::Server,
///     name: "GET /users/{id}".into(),
///     start_time: start,
///     end_time: start + Duration::from_millis(12),
///     attributes: vec![KeyValue::new("http.request.method", "GET"),
///                      KeyValue::new("aws.xray.annotation.tenant", "acme")],
///     dropped_attributes_count: 0,
///     events: SpanEvents::default(),
///     links: SpanLinks::default(),
///     status: Status::Unset,
///     instrumentation_scope: Default::default(),
/// };
/// let resource = Resource::builder_empty().with_service_name("checkout").build();
/// let translator = Translator::new(TranslatorConfig::default());
/// let json = translator.translate_json(&span, &resource)?;
/// assert!(json.starts_with(r#"{"name":"checkout","id":"53995c3f42cd8ad8","trace_id":"1-6553f100-0123456789abcdef01234567""#));
/// assert!(json.contains(r#""annotations":{"tenant":"acme"}"#));
/// assert_eq!(translator.stats().documents, 1);
/// # Ok::<(), otel_xray_exporter::TranslateError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Translator {
    config: Arc<TranslatorConfig>,
    counters: Arc<Counters>,
    resources: ResourceCache,
}

impl Default for Translator {
    fn default() -> Self {
        Translator::new(TranslatorConfig::default())
    }
}

impl Translator {
    /// A translator with `config`.
    pub fn new(config: TranslatorConfig) -> Self {
        Translator {
            config: Arc::new(config),
            counters: Arc::new(Counters::default()),
            resources: ResourceCache::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &TranslatorConfig {
        &self.config
    }

    /// The counters so far (shared by all clones).
    pub fn stats(&self) -> TranslateStats {
        self.counters.snapshot()
    }

    /// The document model of `span`, borrowing from it and `resource`.
    ///
    /// Fixed per-field limits are applied; the 64 KiB size policy is not (it needs
    /// the serialised size): use [`Translator::translate_json`] or
    /// [`Translator::translate_into`] for what goes on the wire.
    pub fn translate<'a>(
        &self,
        span: &'a SpanData,
        resource: &'a Resource,
    ) -> Result<Segment<'a>, TranslateError> {
        let mut tally = Tally::default();
        let out = valid_trace_id(span)
            .map(|trace_id| self.build(span, trace_id, &ResourceAttrs::new(resource), &mut tally));
        self.finish(out.as_ref().ok().map(|seg| seg.kind), &mut tally);
        out
    }

    /// The final JSON document of `span`: schema-valid and at most
    /// [`TranslatorConfig::max_document_bytes`] bytes, size policy applied.
    pub fn translate_json(
        &self,
        span: &SpanData,
        resource: &Resource,
    ) -> Result<String, TranslateError> {
        let mut buf = Vec::with_capacity(1024);
        self.translate_into(span, resource, &mut buf)?;
        // serde_json writes UTF-8 only.
        String::from_utf8(buf)
            .map_err(|e| TranslateError::Serialize(serde::ser::Error::custom(e.utf8_error())))
    }

    /// Like [`Translator::translate_json`], writing into `buf` (cleared first) so a
    /// sender can reuse one buffer.
    pub fn translate_into(
        &self,
        span: &SpanData,
        resource: &Resource,
        buf: &mut Vec<u8>,
    ) -> Result<(), TranslateError> {
        let mut tally = Tally::default();
        let trace_id = match valid_trace_id(span) {
            Ok(id) => id,
            Err(e) => {
                self.finish(None, &mut tally);
                return Err(e);
            }
        };
        self.resources.with(resource, |res| {
            // The document is built in place and only borrowed from here on:
            // moving it (it is large) costs as much as a block's translation.
            let mut seg = self.build(span, trace_id, res, &mut tally);
            let written = self.write(&mut seg, buf, &mut tally);
            self.finish(written.is_ok().then_some(seg.kind), &mut tally);
            written
        })
    }

    /// Serialises `seg` into `buf` (cleared first), applying the size policy.
    fn write(
        &self,
        seg: &mut Segment<'_>,
        buf: &mut Vec<u8>,
        tally: &mut Tally,
    ) -> Result<(), TranslateError> {
        write_within_limit(seg, &self.config, buf, tally)?;
        if buf.len() > self.config.max_document_bytes {
            return Err(TranslateError::TooLarge {
                bytes: buf.len(),
                limit: self.config.max_document_bytes,
            });
        }
        Ok(())
    }

    /// Counts one translation: its document type, or `None` when it failed.
    fn finish(&self, kind: Option<DocumentType>, tally: &mut Tally) {
        match kind {
            Some(DocumentType::Segment) => tally.segments += 1,
            Some(DocumentType::Subsegment) => tally.subsegments += 1,
            None => tally.failed += 1,
        }
        self.counters.add(tally);
    }

    fn build<'a>(
        &self,
        span: &'a SpanData,
        trace_id: XrayTraceId,
        res: &ResourceAttrs<'a>,
        tally: &mut Tally,
    ) -> Segment<'a> {
        let config = &*self.config;
        let ctx = &span.span_context;
        let mut attrs = SpanAttrs::unscanned(&span.attributes);
        attrs.scan();

        let parent = span.parent_span_id;
        let has_parent = parent != SpanId::INVALID && !is_synthetic_parent(ctx.trace_id(), parent);
        let local_root = attrs.str(S::AwsSpanKind) == Some("LOCAL_ROOT");
        let is_segment = !has_parent
            || match span.span_kind {
                SpanKind::Server | SpanKind::Consumer => true,
                SpanKind::Internal => local_root || span.parent_span_is_remote,
                _ => false,
            };

        let http = http::make_http(span, &mut attrs, config, tally);
        let flags = cause::make_flags(span, &attrs);
        let cause = cause::make_cause(span, &mut attrs, res);
        let origin = res.origin;
        let aws = aws::make_aws(&mut attrs, res, is_segment, config);
        let service = aws::make_service(res);
        let sql = sql::make_sql(&span.name, &mut attrs, tally);
        let user = attrs
            .non_empty(S::EnduserId)
            .map(|u| truncate(Cow::Borrowed(u), MAX_USER_CHARS, tally));
        attrs.consume(S::EnduserId);
        let mut selected =
            annotations::make_annotations(&mut attrs, res, is_segment, config, tally);
        let metadata =
            metadata::make_metadata(span, &attrs, res, is_segment, config, &mut selected, tally);
        let links = links::make_links(span, config, tally);
        let (name, namespace) =
            name::name_and_namespace(&span.name, &span.span_kind, is_segment, &attrs, res, tally);

        let end = epoch_seconds(span.end_time);
        let in_progress = span.end_time <= UNIX_EPOCH;
        Segment {
            name,
            id: Id::from_span_id(ctx.span_id()),
            trace_id: TraceIdText(trace_id.encode()),
            start_time: epoch_seconds(span.start_time),
            end_time: (!in_progress).then_some(end),
            in_progress,
            parent_id: has_parent.then(|| Id::from_span_id(parent)),
            kind: if is_segment {
                DocumentType::Segment
            } else {
                DocumentType::Subsegment
            },
            namespace,
            origin,
            user,
            service,
            fault: flags.fault,
            error: flags.error,
            throttle: flags.throttle,
            http,
            aws,
            sql,
            cause,
            annotations: selected.annotations,
            metadata,
            links,
        }
    }
}

/// The X-Ray trace ID of `span`, if its trace and span IDs are valid.
fn valid_trace_id(span: &SpanData) -> Result<XrayTraceId, TranslateError> {
    let ctx = &span.span_context;
    let trace_id =
        XrayTraceId::from_trace_id(ctx.trace_id()).ok_or(TranslateError::InvalidTraceId)?;
    if ctx.span_id() == SpanId::INVALID {
        return Err(TranslateError::InvalidSpanId);
    }
    Ok(trace_id)
}

/// Epoch seconds with microsecond resolution (0 before the epoch).
pub(crate) fn epoch_seconds(t: SystemTime) -> f64 {
    match t.duration_since(UNIX_EPOCH) {
        // Via u64: u128→f64 is a slow library call; u64 micros last 584,000 years.
        Ok(d) => u64::try_from(d.as_micros()).unwrap_or(u64::MAX) as f64 / 1e6,
        Err(_) => 0.0,
    }
}
