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

mod annotations;
mod attrs;
mod aws;
mod cause;
mod http;
pub(crate) mod keys;
mod links;
mod metadata;
mod name;
mod name_chars;
mod nesting;
mod resource;
mod sql;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use opentelemetry::trace::{SpanId, SpanKind};
use opentelemetry_sdk::trace::SpanData;
use opentelemetry_sdk::Resource;
use otel_xray_id::{is_synthetic_parent, XrayTraceId};

pub use annotations::{
    sanitize_annotation_key, MAX_ANNOTATIONS, MAX_ANNOTATION_KEY_CHARS, MAX_ANNOTATION_VALUE_CHARS,
};
pub use http::MAX_HTTP_CHARS;
pub use keys::{
    span_attribute_keys, ANNOTATIONS_LIST_KEY, ANNOTATION_PREFIX, METADATA_PREFIX, OTEL_NAMESPACE,
    RESOURCE_PREFIX,
};
pub use name::{is_name_char, sanitize_name, MAX_NAME_CHARS};
pub use nesting::MAX_NESTING_DEPTH;

use self::attrs::SpanAttrs;
use self::keys::SpanKey;
use self::resource::{ResourceAttrs, ResourceCache};
use crate::limits::{write_within_limit, SizePolicy};
use crate::segment::{epoch_seconds, DocumentType, Id, Segment, TraceIdText};
use crate::text::truncate;
use crate::translate_stats::{TranslateCounters, TranslateStats, TranslationCounts};
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
    /// The document writer failed (the model holds nothing it cannot write, so
    /// this is not expected; the error is reported rather than hidden).
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

/// What [`Translator::translate_into`] wrote for one span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Translated {
    /// Segment or independent subsegment.
    pub kind: DocumentType,
    /// A length limit or the size policy cut something from this document.
    pub trimmed: bool,
    /// Everything the translator changed in this document, counted as in
    /// [`Translator::stats`] (`documents` is 1).
    pub changes: TranslateStats,
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
    counters: Arc<TranslateCounters>,
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
            counters: Arc::new(TranslateCounters::default()),
            resources: ResourceCache::default(),
        }
    }

    /// A translator with `change` applied to a copy of this one's configuration,
    /// sharing this one's counters.
    pub(crate) fn reconfigured(&self, change: impl FnOnce(&mut TranslatorConfig)) -> Translator {
        let mut config = (*self.config).clone();
        change(&mut config);
        Translator {
            config: Arc::new(config),
            counters: Arc::clone(&self.counters),
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
        let mut tally = TranslationCounts::default();
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
        // The writer (sonic-rs, `json.rs`) only ever emits UTF-8.
        String::from_utf8(buf)
            .map_err(|e| TranslateError::Serialize(serde::ser::Error::custom(e.utf8_error())))
    }

    /// Like [`Translator::translate_json`], writing into `buf` (cleared first) so a
    /// sender can reuse one buffer; says what was written ([`Translated`]).
    pub fn translate_into(
        &self,
        span: &SpanData,
        resource: &Resource,
        buf: &mut Vec<u8>,
    ) -> Result<Translated, TranslateError> {
        self.resources.with(resource, &self.config, |res| {
            self.translate_prepared(span, res, buf)
        })
    }

    /// [`Translator::translate_into`] for every span of `batch`, in order,
    /// with the resource looked up once for the batch rather than per span
    /// (the cache's content check is about 10 % of a small span's
    /// translation). `each` gets the span, the outcome and the document.
    pub(crate) fn translate_batch(
        &self,
        batch: &[SpanData],
        resource: &Resource,
        buf: &mut Vec<u8>,
        mut each: impl FnMut(&SpanData, Result<Translated, TranslateError>, &[u8]),
    ) {
        self.resources.with(resource, &self.config, |res| {
            for span in batch {
                let outcome = self.translate_prepared(span, res, buf);
                each(span, outcome, buf);
            }
        })
    }

    fn translate_prepared(
        &self,
        span: &SpanData,
        res: &ResourceAttrs<'_>,
        buf: &mut Vec<u8>,
    ) -> Result<Translated, TranslateError> {
        let mut tally = TranslationCounts::default();
        let trace_id = match valid_trace_id(span) {
            Ok(id) => id,
            Err(e) => {
                self.finish(None, &mut tally);
                return Err(e);
            }
        };
        // The document is built in place and only borrowed from here on:
        // moving it (it is large) costs as much as a block's translation.
        let mut seg = self.build(span, trace_id, res, &mut tally);
        let written = self.write(&mut seg, buf, &mut tally);
        let kind = written.is_ok().then_some(seg.kind);
        self.finish(kind, &mut tally);
        written.map(|()| Translated {
            kind: seg.kind,
            trimmed: tally.trimmed(),
            changes: tally.to_stats(),
        })
    }

    /// Serialises `seg` into `buf` (cleared first), applying the size policy.
    fn write(
        &self,
        seg: &mut Segment<'_>,
        buf: &mut Vec<u8>,
        tally: &mut TranslationCounts,
    ) -> Result<(), TranslateError> {
        let policy = SizePolicy {
            max_bytes: self.config.max_document_bytes,
            metadata_string_chars: self.config.metadata_string_chars,
        };
        write_within_limit(seg, policy, buf, tally)?;
        if buf.len() > self.config.max_document_bytes {
            return Err(TranslateError::TooLarge {
                bytes: buf.len(),
                limit: self.config.max_document_bytes,
            });
        }
        Ok(())
    }

    /// Counts one translation: its document type, or `None` when it failed.
    fn finish(&self, kind: Option<DocumentType>, tally: &mut TranslationCounts) {
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
        tally: &mut TranslationCounts,
    ) -> Segment<'a> {
        let config = &*self.config;
        let ctx = &span.span_context;
        let mut attrs = SpanAttrs::new(&span.attributes);

        let parent = span.parent_span_id;
        let (kind, parent_is_remote) = if config.lambda_subsegments && under_remote_parent(span) {
            // Local work under the remote parent (in Lambda: the facade
            // segment), so it nests under the invocation instead of showing up
            // as a separate node.
            (SpanKind::Internal, false)
        } else {
            (span.span_kind.clone(), span.parent_span_is_remote)
        };
        let has_parent = parent != SpanId::INVALID && !is_synthetic_parent(ctx.trace_id(), parent);
        let local_root = attrs.str(SpanKey::AwsSpanKind) == Some("LOCAL_ROOT");
        let is_segment = !has_parent
            || match kind {
                SpanKind::Server | SpanKind::Consumer => true,
                SpanKind::Internal => local_root || parent_is_remote,
                _ => false,
            };

        let http = http::make_http(span, &kind, &mut attrs, config, tally);
        let flags = cause::make_flags(span, &attrs);
        let cause = cause::make_cause(span, &mut attrs, res);
        let origin = res.origin;
        let aws = aws::make_aws(&mut attrs, res, is_segment, config);
        let service = aws::make_service(res);
        let sql = sql::make_sql(&span.name, &mut attrs, tally);
        let user = attrs
            .non_empty(SpanKey::EnduserId)
            .map(|u| truncate(Cow::Borrowed(u), MAX_USER_CHARS, tally));
        attrs.consume(SpanKey::EnduserId);
        let mut selected =
            annotations::make_annotations(&mut attrs, res, is_segment, config, tally);
        let metadata =
            metadata::make_metadata(span, &attrs, res, is_segment, config, &mut selected, tally);
        let links = links::make_links(span, config, tally);
        let (name, namespace) =
            name::name_and_namespace(&span.name, &kind, is_segment, &attrs, res, tally);

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

/// A span whose parent came from outside the process (in Lambda: the facade
/// segment named by `_X_AMZN_TRACE_ID`) and that would otherwise start a
/// segment of its own.
fn under_remote_parent(span: &SpanData) -> bool {
    span.parent_span_is_remote
        && span.parent_span_id != SpanId::INVALID
        && matches!(
            span.span_kind,
            SpanKind::Server | SpanKind::Consumer | SpanKind::Internal
        )
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
