//! [`XrayExporter`]: the `SpanExporter` that turns spans into segment
//! documents and hands them to exactly one transport.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

use crate::delivery_stats::{DeliveryCounters, DropReason};
use crate::transport::daemon_address::AddressError;
#[cfg(feature = "daemon")]
use crate::transport::daemon_address::DaemonAddress;
use crate::transport::writer::WriterTransport;
use crate::transport::{DeliveryReport, DeliveryTally, Document, Transport};

use crate::{Translator, TranslatorConfig};

/// How long one export may take unless the builder says otherwise.
pub const DEFAULT_EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Exports spans to AWS X-Ray as segment documents.
///
/// Build one with [`XrayExporter::builder`]; by default it writes
/// newline-delimited documents to stdout. Read its counters through
/// [`XrayExporter::counters`], which keeps working after the exporter has been
/// handed to a span processor.
///
/// # Accounting
/// Every span ends up counted once in [`DeliveryStats`](crate::DeliveryStats)
/// (a document with nested subsegments counts each of its spans):
/// `sent`, `rejected` (by X-Ray error code) or `dropped` (by [`DropReason`]).
/// Failures are also logged through `tracing` (target `otel_xray_exporter`),
/// and `export` returns an error naming the numbers when anything was lost.
///
/// # Threads and runtimes
/// * `export` finishes its work before it returns, bounded by the export
///   timeout: the exporter keeps no queue of its own. `force_flush` and
///   `shutdown` on the provider first drain the span processor's queue
///   through `export`; the exporter's own `force_flush` flushes the writer.
/// * The writer and UDP transports do plain blocking I/O with short bounds
///   (a UDP send waits at most 100 ms for buffer space), which suits the SDK's
///   batch processor: it calls `export` on its own thread.
/// * The API transport runs its calls on a tokio runtime: by default a
///   small one of its own on a background thread (`otel-xray-api`), so
///   `export` works from the batch processor's thread, from plain threads and
///   from inside any async runtime. A tokio application can lend its
///   multi-thread runtime instead with `with_tokio_handle`.
/// * The daemon address is resolved once, when the exporter is built.
///
/// ```
/// use otel_xray_exporter::XrayExporter;
/// use opentelemetry_sdk::trace::SdkTracerProvider;
///
/// let exporter = XrayExporter::builder().with_writer(std::io::sink()).build().unwrap();
/// let counters = exporter.counters();
/// let provider = SdkTracerProvider::builder().with_batch_exporter(exporter).build();
/// // ... create spans ...
/// provider.shutdown().unwrap();
/// assert_eq!(counters.snapshot().dropped_total(), 0);
/// ```
pub struct XrayExporter {
    transport: Transport,
    translator: Translator,
    resource: Resource,
    counters: DeliveryCounters,
    timeout: Duration,
    subsegment_nesting: bool,
    is_shutdown: AtomicBool,
}

impl fmt::Debug for XrayExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XrayExporter")
            .field("transport", &self.transport.kind())
            .field("timeout", &self.timeout)
            .field("subsegment_nesting", &self.subsegment_nesting)
            .finish_non_exhaustive()
    }
}

impl XrayExporter {
    /// Starts a builder.
    pub fn builder() -> XrayExporterBuilder {
        XrayExporterBuilder::default()
    }

    /// A live handle on the delivery counters.
    pub fn counters(&self) -> DeliveryCounters {
        self.counters.clone()
    }

    /// Sends already-serialised segment documents through this exporter's
    /// transport, with the same accounting as [`SpanExporter::export`].
    ///
    /// Useful to forward documents produced elsewhere. Each document counts
    /// as one span, whatever it nests. Documents given as `Arc<str>` are shared, not
    /// copied: a caller that keeps them to send again after an outage pays no copy.
    pub async fn send_documents<D: Into<Arc<str>>>(&self, documents: Vec<D>) -> DeliveryReport {
        let mut tally = DeliveryTally::new(&self.counters);
        if self.is_shutdown.load(Ordering::Acquire) {
            tally.dropped(DropReason::AfterShutdown, documents.len() as u64);
            return tally.report;
        }
        let deadline = Instant::now() + self.timeout;
        let documents = documents
            .into_iter()
            .map(|d| Document::single(d.into()))
            .collect();
        self.transport
            .deliver(documents, &mut tally, deadline)
            .await;
        tally.report
    }

    /// Documents for `batch`; untranslatable spans are counted and skipped.
    fn translate(&self, batch: &[SpanData], tally: &mut DeliveryTally) -> Vec<Document> {
        if self.subsegment_nesting {
            let nested = self
                .translator
                .translate_nested(batch, &self.resource, |span, e| {
                    warn_dropped(span, &e);
                    tally.dropped(drop_reason(&e), 1);
                });
            self.counters.add_trimmed(nested.trimmed);
            return nested.docs;
        }
        let mut docs = Vec::with_capacity(batch.len());
        // One buffer for the batch; each document is copied out at its size.
        let mut buf = Vec::with_capacity(4096);
        self.translator
            .translate_batch(batch, &self.resource, &mut buf, |span, outcome, doc| {
                match outcome {
                    Ok(translated) => {
                        if translated.trimmed {
                            self.counters.add_trimmed(1);
                        }
                        // The writer only ever emits UTF-8 (see `Translator::translate_json`).
                        match std::str::from_utf8(doc) {
                            Ok(doc) => docs.push(Document::single(doc.to_owned())),
                            Err(e) => {
                                warn_dropped(span, &e);
                                tally.dropped(DropReason::Untranslatable, 1);
                            }
                        }
                    }
                    Err(e) => {
                        warn_dropped(span, &e);
                        tally.dropped(drop_reason(&e), 1);
                    }
                }
            });
        docs
    }
}

fn drop_reason(e: &crate::TranslateError) -> DropReason {
    match e {
        crate::TranslateError::TooLarge { .. } => DropReason::TooLarge,
        _ => DropReason::Untranslatable,
    }
}

fn warn_dropped(span: &SpanData, error: &dyn std::fmt::Display) {
    tracing::warn!(
        target: "otel_xray_exporter",
        span = %span.name,
        error = %error,
        "span cannot become a segment document; dropped"
    );
}

fn failure(report: &DeliveryReport, untranslated: u64) -> OTelSdkResult {
    if report.is_complete() {
        Ok(())
    } else {
        Err(OTelSdkError::InternalFailure(format!(
            "X-Ray export incomplete: {} sent, {} rejected, {} dropped ({} untranslatable); see XrayExporter::counters",
            report.sent, report.rejected, report.dropped, untranslated
        )))
    }
}

impl SpanExporter for XrayExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if self.is_shutdown.load(Ordering::Acquire) {
            self.counters
                .add_dropped(DropReason::AfterShutdown, batch.len() as u64);
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let deadline = Instant::now() + self.timeout;
        let mut tally = DeliveryTally::new(&self.counters);
        let docs = self.translate(&batch, &mut tally);
        let untranslated = tally.report.dropped;
        drop(batch);
        self.transport.deliver(docs, &mut tally, deadline).await;
        failure(&tally.report, untranslated)
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        if self.is_shutdown.swap(true, Ordering::AcqRel) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        // Export runs to completion before returning, so nothing is queued
        // here; the span processor flushes its queue through export first.
        self.transport.shutdown();
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.transport
            .flush()
            .map_err(|e| OTelSdkError::InternalFailure(format!("flushing the writer: {e}")))
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.clone();
    }
}

enum Choice {
    Writer(Box<dyn Write + Send>),
    #[cfg(feature = "daemon")]
    Daemon(Option<String>),
    #[cfg(feature = "api")]
    Api(crate::transport::api::ClientSource),
}

impl Choice {
    fn kind(&self) -> &'static str {
        match self {
            Choice::Writer(_) => "writer",
            #[cfg(feature = "daemon")]
            Choice::Daemon(_) => "daemon",
            #[cfg(feature = "api")]
            Choice::Api(_) => "api",
        }
    }
}

/// Builds an [`XrayExporter`]; pick one transport with `with_writer` /
/// `with_stdout`, `with_daemon` / `with_daemon_address`, or `with_api` /
/// `with_sdk_config` / `with_xray_client`. Without a choice it writes to stdout.
pub struct XrayExporterBuilder {
    choice: Option<Choice>,
    conflict: Option<(&'static str, &'static str)>,
    timeout: Duration,
    lambda_subsegments: bool,
    subsegment_nesting: bool,
    translator: Option<Translator>,
    #[cfg(feature = "api")]
    retry: Option<aws_sdk_xray::config::retry::RetryConfig>,
    #[cfg(feature = "api")]
    max_concurrent_requests: Option<usize>,
    #[cfg(feature = "api")]
    runtime: Option<tokio::runtime::Handle>,
}

impl Default for XrayExporterBuilder {
    fn default() -> Self {
        XrayExporterBuilder {
            choice: None,
            conflict: None,
            timeout: DEFAULT_EXPORT_TIMEOUT,
            lambda_subsegments: false,
            subsegment_nesting: false,
            translator: None,
            #[cfg(feature = "api")]
            retry: None,
            #[cfg(feature = "api")]
            max_concurrent_requests: None,
            #[cfg(feature = "api")]
            runtime: None,
        }
    }
}

impl fmt::Debug for XrayExporterBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XrayExporterBuilder")
            .field("transport", &self.choice.as_ref().map(Choice::kind))
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl XrayExporterBuilder {
    fn choose(mut self, choice: Choice) -> Self {
        if let Some(prev) = &self.choice {
            if prev.kind() != choice.kind() && self.conflict.is_none() {
                self.conflict = Some((prev.kind(), choice.kind()));
            }
        }
        self.choice = Some(choice);
        self
    }

    /// Newline-delimited documents to `out`.
    pub fn with_writer(self, out: impl Write + Send + 'static) -> Self {
        self.choose(Choice::Writer(Box::new(out)))
    }

    /// Newline-delimited documents to stdout (the default).
    pub fn with_stdout(self) -> Self {
        self.with_writer(std::io::stdout())
    }

    /// UDP to the X-Ray daemon at `AWS_XRAY_DAEMON_ADDRESS`, else
    /// `127.0.0.1:2000`.
    #[cfg(feature = "daemon")]
    pub fn with_daemon(self) -> Self {
        self.choose(Choice::Daemon(None))
    }

    /// UDP to the X-Ray daemon at `address` (`host:port`, `[v6]:port`, or
    /// `tcp:host:port udp:host:port`).
    #[cfg(feature = "daemon")]
    pub fn with_daemon_address(self, address: impl Into<String>) -> Self {
        self.choose(Choice::Daemon(Some(address.into())))
    }

    /// PutTraceSegments with the AWS configuration loaded from the environment
    /// (`aws_config::load_defaults`) on first use.
    #[cfg(feature = "api")]
    pub fn with_api(self) -> Self {
        self.choose(Choice::Api(
            crate::transport::api::ClientSource::LoadDefaults,
        ))
    }

    /// PutTraceSegments with a given shared AWS configuration.
    #[cfg(feature = "api")]
    pub fn with_sdk_config(self, config: aws_config::SdkConfig) -> Self {
        self.choose(Choice::Api(crate::transport::api::ClientSource::SdkConfig(
            Box::new(config),
        )))
    }

    /// PutTraceSegments through a given client (for example one whose
    /// `endpoint_url` points at a test server). Its retry policy is replaced by
    /// the exporter's; its timeouts stay, and the export timeout bounds every call.
    /// Its interceptors stay too; the exporter adds two of its own, which count
    /// attempts and write the PutTraceSegments request body.
    #[cfg(feature = "api")]
    pub fn with_xray_client(self, client: aws_sdk_xray::Client) -> Self {
        self.choose(Choice::Api(crate::transport::api::ClientSource::Client(
            client,
        )))
    }

    /// The SDK retry policy for PutTraceSegments (default
    /// [`default_retry_config`](crate::default_retry_config)): its attempt
    /// count is the retry budget of each document.
    #[cfg(feature = "api")]
    pub fn with_retry_config(mut self, retry: aws_sdk_xray::config::retry::RetryConfig) -> Self {
        self.retry = Some(retry);
        self
    }

    /// At most `n` PutTraceSegments calls in flight (default 4).
    #[cfg(feature = "api")]
    pub fn with_max_concurrent_requests(mut self, n: usize) -> Self {
        self.max_concurrent_requests = Some(n.max(1));
        self
    }

    /// Runs the API calls on this tokio runtime instead of a private one.
    ///
    /// Only for a multi-thread runtime: a span processor that blocks on
    /// `export` from a worker of a current-thread runtime would wait forever.
    #[cfg(feature = "api")]
    pub fn with_tokio_handle(mut self, handle: tokio::runtime::Handle) -> Self {
        self.runtime = Some(handle);
        self
    }

    /// Translates spans with `translator` (default: `Translator::default()`).
    ///
    /// With the UDP transport a `max_document_bytes` above
    /// [`MAX_DAEMON_DOCUMENT_BYTES`](crate::MAX_DAEMON_DOCUMENT_BYTES) is lowered
    /// to it, so every document fits one datagram; the exporter then uses its
    /// own translator with that configuration (and its own statistics).
    pub fn with_translator(mut self, translator: Translator) -> Self {
        self.translator = Some(translator);
        self
    }

    /// Translates spans with a translator built from `config`.
    pub fn with_translator_config(self, config: TranslatorConfig) -> Self {
        self.with_translator(Translator::new(config))
    }

    /// The AWS Lambda setup: UDP to the daemon named by
    /// `AWS_XRAY_DAEMON_ADDRESS` (Lambda sets it) and
    /// [`with_lambda_subsegments`](Self::with_lambda_subsegments).
    ///
    /// Lambda freezes the process between invocations, so call
    /// `SdkTracerProvider::force_flush` at the end of each invocation (or use
    /// the simple span processor); the daemon is local, so that is quick.
    ///
    /// ```
    /// use opentelemetry::trace::{
    ///     SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer,
    ///     TracerProvider,
    /// };
    /// use opentelemetry_sdk::trace::SdkTracerProvider;
    /// use otel_xray_exporter::XrayExporter;
    ///
    /// // Lambda's environment (set by the service; here by hand).
    /// std::env::set_var("AWS_XRAY_DAEMON_ADDRESS", "127.0.0.1:2000");
    /// let exporter = XrayExporter::builder().for_lambda().build().unwrap();
    /// let provider = SdkTracerProvider::builder()
    ///     .with_simple_exporter(exporter)
    ///     .build();
    ///
    /// // Per invocation: the parent is Lambda's facade segment, read from
    /// // `_X_AMZN_TRACE_ID` (Root=1-…;Parent=<facade id>;Sampled=1) by the
    /// // Lambda propagator of `otel-xray-propagator`. Built by hand here:
    /// let facade = SpanContext::new(
    ///     TraceId::from_hex("5759e988bd862e3fe1be46a994272793").unwrap(),
    ///     SpanId::from_hex("53995c3f42cd8ad8").unwrap(),
    ///     TraceFlags::SAMPLED,
    ///     true,
    ///     TraceState::default(),
    /// );
    /// let cx = opentelemetry::Context::new().with_remote_span_context(facade);
    /// let tracer = provider.tracer("my-function");
    /// // Sent as {"type":"subsegment","parent_id":"53995c3f42cd8ad8",...}
    /// tracer.in_span_with_context("handle-order", &cx, |_cx| { /* the handler */ });
    /// provider.force_flush().unwrap();
    /// ```
    #[cfg(feature = "daemon")]
    pub fn for_lambda(self) -> Self {
        self.with_daemon().with_lambda_subsegments(true)
    }

    /// Spans whose parent is remote (in Lambda: the facade segment from
    /// `_X_AMZN_TRACE_ID`) become subsegments of that parent instead of
    /// segments of their own. Off by default, on with [`for_lambda`](Self::for_lambda).
    pub fn with_lambda_subsegments(mut self, on: bool) -> Self {
        self.lambda_subsegments = on;
        self
    }

    /// Sends subsegments inside their parent's document when both are in the
    /// same export batch (default off), as the X-Ray SDKs do: fewer, larger
    /// documents, so fewer datagrams and fewer PutTraceSegments entries.
    ///
    /// Nesting is recursive and never makes a document larger than the
    /// translator's `max_document_bytes` (64 KiB; one datagram for UDP):
    /// whatever does not fit goes out as a document of its own, as without
    /// nesting, and so do subsegments more than
    /// [`MAX_NESTING_DEPTH`](crate::MAX_NESTING_DEPTH) levels down. Only
    /// spans of one batch nest, so how many do depends on the span processor
    /// (the batch processor: usually all spans of a request). The counters
    /// still count spans: a document with three nested subsegments counts
    /// four when sent, rejected or dropped.
    ///
    /// ```
    /// use otel_xray_exporter::XrayExporter;
    ///
    /// let exporter = XrayExporter::builder()
    ///     .with_writer(std::io::sink())
    ///     .with_subsegment_nesting(true)
    ///     .build()
    ///     .unwrap();
    /// # drop(exporter);
    /// ```
    pub fn with_subsegment_nesting(mut self, on: bool) -> Self {
        self.subsegment_nesting = on;
        self
    }

    /// The longest one export may take; documents not delivered by then are
    /// counted as dropped ([`DropReason::Timeout`]). Default 10 s.
    pub fn with_export_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Builds the exporter.
    pub fn build(self) -> Result<XrayExporter, BuildError> {
        if let Some((first, second)) = self.conflict {
            return Err(BuildError::ConflictingTransports { first, second });
        }
        let choice = self
            .choice
            .unwrap_or_else(|| Choice::Writer(Box::new(std::io::stdout())));
        let transport = match choice {
            Choice::Writer(w) => Transport::Writer(WriterTransport::new(w)),
            #[cfg(feature = "daemon")]
            Choice::Daemon(address) => {
                let address = match address {
                    Some(a) => DaemonAddress::parse(&a)?,
                    None => DaemonAddress::from_env()?,
                };
                Transport::Daemon(crate::transport::daemon::DaemonTransport::connect(
                    &address,
                )?)
            }
            #[cfg(feature = "api")]
            Choice::Api(source) => {
                let mut options = crate::transport::api::ApiOptions::new(source);
                if let Some(r) = self.retry {
                    options.retry = r;
                }
                if let Some(n) = self.max_concurrent_requests {
                    options.max_concurrent_requests = n;
                }
                options.runtime = self.runtime;
                Transport::Api(
                    crate::transport::api::ApiTransport::new(options)
                        .map_err(BuildError::Runtime)?,
                )
            }
        };
        let mut translator = fit_for(self.translator.unwrap_or_default(), &transport);
        if self.lambda_subsegments && !translator.config().lambda_subsegments() {
            // The same counters: the caller's translator still counts these spans.
            translator = translator.reconfigured(|c| c.lambda_subsegments = true);
        }
        Ok(XrayExporter {
            transport,
            translator,
            resource: Resource::builder_empty().build(),
            counters: DeliveryCounters::new(),
            timeout: self.timeout,
            subsegment_nesting: self.subsegment_nesting,
            is_shutdown: AtomicBool::new(false),
        })
    }
}

/// The translator with a size limit the transport can carry: one UDP
/// datagram for the daemon, X-Ray's 64 KiB otherwise.
fn fit_for(translator: Translator, transport: &Transport) -> Translator {
    #[cfg(feature = "daemon")]
    if matches!(transport, Transport::Daemon(_))
        && translator.config().max_document_bytes() > crate::MAX_DAEMON_DOCUMENT_BYTES
    {
        let mut config = translator.config().clone();
        config.max_document_bytes = crate::MAX_DAEMON_DOCUMENT_BYTES;
        return Translator::new(config);
    }
    let _ = transport;
    translator
}

/// Why an [`XrayExporter`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// Two different transports were chosen.
    #[error("choose one X-Ray transport, not both {first} and {second}")]
    ConflictingTransports {
        /// The transport chosen first.
        first: &'static str,
        /// The transport chosen later.
        second: &'static str,
    },
    /// The daemon address does not parse.
    #[error(transparent)]
    DaemonAddress(#[from] AddressError),
    /// The daemon address does not resolve or the socket cannot be opened.
    #[cfg(feature = "daemon")]
    #[error(transparent)]
    Daemon(#[from] crate::transport::daemon::DaemonError),
    /// The API transport's runtime thread could not be started.
    #[cfg(feature = "api")]
    #[error("cannot start the PutTraceSegments runtime: {0}")]
    Runtime(#[source] std::io::Error),
}
