//! OTLP export to an AWS Distro for OpenTelemetry (ADOT) collector, with
//! `aws.xray.annotation.<key>` attributes kept as indexed X-Ray annotations.
//!
//! # Collector, daemon or API?
//!
//! | Path | Pick it when | Who turns spans into segments |
//! |---|---|---|
//! | **Collector** (this module: OTLP/gRPC, default `http://localhost:4317`) | an ADOT collector already runs as a sidecar, DaemonSet or gateway; you want one OTLP pipeline for traces, metrics and logs, fan-out to several backends, tail sampling, or AWS credentials held by the collector rather than the service | the collector's `awsxray` exporter |
//! | **Daemon** (UDP, feature `daemon`) | an X-Ray daemon or CloudWatch agent listens on UDP 2000 (EC2, ECS sidecar, and Lambda, which has one built in); cheapest, no AWS SDK in the binary | this crate's translator |
//! | **API** (`PutTraceSegments`, feature `api`) | nothing runs next to the service and it has IAM credentials | this crate's translator |
//!
//! On the collector path the segment documents are built by the collector, with
//! its rules (names, `http`, `aws`, metadata); this crate's own translation and its
//! fixes to upstream gaps do not apply there. What *would* be lost is the project's
//! `aws.xray.annotation.<key>` convention, which the collector does not know: it
//! only annotates attributes named in a span attribute `aws.xray.annotations`
//! (a list of keys) or in its `indexed_attributes` setting. Everything else becomes
//! metadata, which X-Ray does not index. [`XrayAnnotationExporter`] closes that gap
//! by rewriting each span before it goes out, so annotations stay searchable
//! whichever path a service uses.
//!
//! # Trace IDs
//!
//! With [`XrayIdGenerator`](otel_xray_id::XrayIdGenerator) every trace ID already
//! is a valid X-Ray ID: its first 32 bits are the epoch second the trace started.
//! The collector writes it as `1-{8 hex}-{24 hex}`, the same ID the
//! `X-Amzn-Trace-Id` header and the X-Ray console show, and it passes the
//! collector's trace-ID age check even where the `exporter.awsxray.skiptimestampvalidation`
//! gate (on by default) has been turned off. Fully random W3C IDs are accepted only
//! while that gate is on.
//!
//! # Why an exporter wrapper, not a span processor
//!
//! * A [`SpanProcessor`](opentelemetry_sdk::trace::SpanProcessor) gets its own copy
//!   of the finished span in `on_end(&self, span: SpanData)`; changing it does not
//!   change what the batch processor beside it exports. A rewriting processor would
//!   have to wrap the batch processor, and would then run on the application thread
//!   that ends the span.
//! * `on_start` only sees attributes known when the span starts, not those set later.
//! * Wrapping the [`SpanExporter`] sees the final attributes, runs on the batch
//!   processor's worker thread (off the request path), works with any processor and
//!   any exporter (OTLP gRPC or HTTP, stdout for debugging), and rewrites only the
//!   collector-bound pipeline: a direct X-Ray exporter registered on the same
//!   provider still sees the original `aws.xray.annotation.*` attributes.
//!
//! # The rewrite
//!
//! See [`rewrite_annotations`]; in short, for a span attribute
//! `aws.xray.annotation.<key> = v`:
//!
//! * `v` a string, integer, float or boolean → renamed to `<key> = v`, and `<key>`
//!   added once to `aws.xray.annotations` (merged with a list already on the span;
//!   a non-list value there is replaced and counted);
//! * `v` an array → left as it is (the collector would silently drop a listed
//!   array; unlisted it stays as metadata), counted;
//! * `<key>` already present with the same value → the prefixed copy is folded in;
//!   with a different value → [`ConflictPolicy`] decides, counted either way;
//! * `<key>` empty, `aws.xray.annotations`, or itself prefixed → left, counted.
//!
//! Keys are not sanitised: the collector applies its own key rule (characters other
//! than ASCII letters and digits become `_`; dots are kept while its
//! `exporter.xray.allowDot` gate is on, the default), so `order.id` is indexed as
//! `order.id`, or `order_id` with that gate off. Resource, event and link attributes
//! are not rewritten: the collector annotates span attributes only.
//!
//! Two collector rules still apply after the rewrite. Attributes its translator
//! maps into segment fields (HTTP, `aws.*` request fields, SQL `db.*`) are
//! consumed before annotations are picked, so `aws.xray.annotation.http.request.method`
//! ends up in the `http` block, not as an annotation (only the collector's
//! `indexed_attributes` setting can annotate those). And X-Ray keeps at most 50
//! annotations per trace and drops values over 1000 characters; neither the
//! collector nor this rewrite trims them.
//!
//! # Example
//!
//! ```no_run
//! use opentelemetry_sdk::trace::SdkTracerProvider;
//! use otel_xray_exporter::{otlp_exporter, DEFAULT_COLLECTOR_ENDPOINT};
//! use otel_xray_id::XrayIdGenerator;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The tonic client needs a Tokio runtime while it is built and used.
//! let exporter = otlp_exporter(DEFAULT_COLLECTOR_ENDPOINT)?;
//! let counters = exporter.counters();
//! let provider = SdkTracerProvider::builder()
//!     .with_id_generator(XrayIdGenerator::default())
//!     .with_batch_exporter(exporter)
//!     .build();
//! // ... trace ...
//! provider.shutdown()?;
//! println!("{}", counters.snapshot());
//! # Ok(())
//! # }
//! ```

mod annotation;
mod counters;

use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

pub use annotation::{rewrite_annotations, AnnotationRewriteStats, ConflictPolicy};
pub use counters::{CollectorCounters, CollectorStats};

/// Where an ADOT collector listens for OTLP over gRPC by default.
pub const DEFAULT_COLLECTOR_ENDPOINT: &str = "http://localhost:4317";

/// A [`SpanExporter`] that applies [`rewrite_annotations`] to every span of a batch
/// and hands the batch to `inner` (typically the OTLP exporter pointed at a
/// collector). Shutdown, flush and the resource are passed through unchanged; the
/// rewrite tallies and the spans `inner` delivered or failed are counted in
/// [`CollectorCounters`].
///
/// ```
/// use std::sync::{Arc, Mutex};
///
/// use opentelemetry::trace::{Span, Tracer, TracerProvider};
/// use opentelemetry::KeyValue;
/// use opentelemetry_sdk::error::OTelSdkResult;
/// use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
/// use otel_xray_exporter::{ConflictPolicy, XrayAnnotationExporter};
///
/// /// Stands in for the OTLP exporter: keeps what it is given.
/// #[derive(Debug, Default)]
/// struct Keep(Arc<Mutex<Vec<SpanData>>>);
/// impl SpanExporter for Keep {
///     async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
///         self.0.lock().unwrap().extend(batch);
///         Ok(())
///     }
/// }
///
/// let kept = Keep::default();
/// let spans = kept.0.clone();
/// let exporter = XrayAnnotationExporter::new(kept)
///     .with_conflict_policy(ConflictPolicy::AnnotationWins);
/// let counters = exporter.counters();
/// let provider = SdkTracerProvider::builder().with_simple_exporter(exporter).build();
///
/// let mut span = provider.tracer("doc").start("checkout");
/// span.set_attribute(KeyValue::new("aws.xray.annotation.customer", "alice"));
/// span.end();
///
/// let exported = &spans.lock().unwrap()[0];
/// assert!(exported.attributes.contains(&KeyValue::new("customer", "alice")));
/// let stats = counters.snapshot();
/// assert_eq!(stats.annotations.rewritten, 1);
/// assert_eq!(stats.exported_spans, 1);
/// ```
#[derive(Debug)]
pub struct XrayAnnotationExporter<E> {
    inner: E,
    policy: ConflictPolicy,
    counters: CollectorCounters,
}

impl<E> XrayAnnotationExporter<E> {
    /// Wraps `inner` with the default [`ConflictPolicy::KeepBoth`].
    pub fn new(inner: E) -> Self {
        Self {
            inner,
            policy: ConflictPolicy::default(),
            counters: CollectorCounters::default(),
        }
    }

    /// Sets what happens when `aws.xray.annotation.<key>` and `<key>` disagree.
    pub fn with_conflict_policy(mut self, policy: ConflictPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The conflict policy in use.
    pub fn conflict_policy(&self) -> ConflictPolicy {
        self.policy
    }

    /// A handle on the running totals (rewrite tallies, delivered and failed
    /// spans); take it before the exporter moves into a span processor.
    pub fn counters(&self) -> CollectorCounters {
        self.counters.clone()
    }

    /// The wrapped exporter.
    pub fn inner(&self) -> &E {
        &self.inner
    }

    /// Unwraps the inner exporter.
    pub fn into_inner(self) -> E {
        self.inner
    }
}

impl<E: SpanExporter> SpanExporter for XrayAnnotationExporter<E> {
    fn export(
        &self,
        mut batch: Vec<SpanData>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        // Done before the future is created: it is synchronous and cheap, and the
        // batch is ours to change (the processor handed it over by value).
        let mut total = AnnotationRewriteStats::default();
        for span in &mut batch {
            total.merge(&rewrite_annotations(&mut span.attributes, self.policy));
        }
        if total.has_issues() {
            tracing::debug!(%total, "aws.xray.annotation rewrite left or removed attributes");
        }
        self.counters.add_rewrite(&total);
        let spans = batch.len() as u64;
        let counters = &self.counters;
        let export = self.inner.export(batch);
        async move {
            let result = export.await;
            counters.add_export(result.is_ok(), spans);
            result
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn shutdown(&self) -> OTelSdkResult {
        self.inner.shutdown()
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// An OTLP/gRPC exporter (tonic) to `endpoint`, wrapped in [`XrayAnnotationExporter`].
///
/// For other OTLP settings (headers, TLS, timeout, compression, HTTP), build
/// `opentelemetry_otlp::SpanExporter` yourself and pass it to
/// [`XrayAnnotationExporter::new`]. Building the tonic client needs a running Tokio
/// runtime (call this inside one), and the runtime must outlive the provider.
///
/// # Errors
///
/// The OTLP builder's error, e.g. for an endpoint that is not a valid URI.
pub fn otlp_exporter(
    endpoint: &str,
) -> Result<
    XrayAnnotationExporter<opentelemetry_otlp::SpanExporter>,
    opentelemetry_otlp::ExporterBuildError,
> {
    use opentelemetry_otlp::WithExportConfig;

    let otlp = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()?;
    Ok(XrayAnnotationExporter::new(otlp))
}
