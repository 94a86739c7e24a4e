//! Spans straight to the X-Ray OTLP traces endpoint
//! (`https://xray.<region>.amazonaws.com/v1/traces`), OTLP/HTTP protobuf signed
//! with SigV4. Needs Transaction Search enabled on the account.
//!
//! [`XrayOtlpExporter`] does what the endpoint needs and other OTLP exporters
//! leave to chance:
//!
//! * **Limits before sending.** The endpoint refuses a whole call when one part
//!   of it is out of bounds. Each batch is cut into requests of at most
//!   [`MAX_SPANS_PER_REQUEST`] spans and [`MAX_REQUEST_BYTES`] uncompressed,
//!   covering at most [`MAX_REQUEST_SPREAD`]; resource+scope data is kept under
//!   [`MAX_RESOURCE_SCOPE_BYTES`] and each span under [`MAX_SPAN_BYTES`] by
//!   shortening the largest attribute values; spans more than [`MAX_AGE`] old or
//!   [`MAX_FUTURE`] ahead are dropped. Every trim and drop is counted.
//! * **Signing.** The body is compressed first, then the compressed bytes and
//!   `Content-Encoding` are signed (`aws-sigv4`, signing name `xray`).
//!   `User-Agent`, `X-Amzn-Trace-Id` and `Expect` are never signed. Credentials
//!   come from the AWS config's refreshing provider and are re-resolved before
//!   they expire, so session credentials keep working for days.
//! * **Retries.** 429, 502, 503, 504 and connection errors are retried with
//!   exponential backoff and jitter, waiting at least `Retry-After`, within the
//!   export timeout. Other refusals are counted as rejected under `http_<status>`
//!   with the body's message; `partial_success.rejected_spans` are counted as
//!   rejected under `partial_success`.
//! * **Annotations.** `aws.xray.annotation.<key>` attributes are rewritten into
//!   `<key>` plus the `aws.xray.annotations` list the endpoint reads, by the same
//!   rewrite as the collector path ([`crate::rewrite_annotations`]).
//!
//! Every span ends up in exactly one of sent, rejected or dropped in
//! [`DeliveryCounters`](crate::DeliveryCounters), counted in spans.

mod connection;
#[cfg(feature = "api")]
mod destination;
mod lambda;
mod limits;
mod pipeline;
mod request;
mod send;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;
use tokio::runtime::Runtime;
use tokio::sync::{oneshot, Semaphore};

use crate::collector::ConflictPolicy;
use crate::delivery_stats::{DeliveryCounters, DropReason};
use crate::exporter::DEFAULT_EXPORT_TIMEOUT;
use connection::ProxyChoice;
use limits::Limits;
use pipeline::Pipeline;
use request::Planned;
use send::{Outcome, Sender, PARTIAL_SUCCESS};

#[cfg(feature = "api")]
pub use destination::{check_transaction_search, DestinationCheckError, TransactionSearch};
pub use lambda::{
    LambdaUdpError, XrayLambdaOtlpExporter, MAX_LAMBDA_REQUEST_BYTES, SAMPLED_PREFIX,
    UNSAMPLED_PREFIX,
};
pub use limits::{
    MAX_AGE, MAX_FUTURE, MAX_REQUEST_BYTES, MAX_REQUEST_SPREAD, MAX_RESOURCE_SCOPE_BYTES,
    MAX_SPANS_PER_REQUEST, MAX_SPAN_BYTES,
};

/// Default bound on requests in flight at once.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 4;

/// The endpoint of a region: `https://xray.<region>.amazonaws.com/v1/traces`.
pub fn endpoint_for_region(region: &str) -> String {
    format!("https://xray.{region}.amazonaws.com/v1/traces")
}

/// How request bodies are compressed. The signature covers the compressed
/// bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compression {
    /// gzip, with `Content-Encoding: gzip` (the default: spans compress well).
    #[default]
    Gzip,
    /// The protobuf as it is.
    None,
}

/// Why an [`XrayOtlpExporter`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OtlpBuildError {
    /// Neither `with_region` nor `with_endpoint` was called, so there is no
    /// endpoint to send to.
    #[error("no endpoint: call with_region(..) or with_endpoint(..)")]
    NoEndpoint,
    /// The endpoint is not an absolute `http`/`https` URL.
    #[error("invalid endpoint {endpoint:?}: {reason}")]
    InvalidEndpoint {
        /// The endpoint given.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The proxy given to `with_proxy` is not an `http://` or `https://` URL
    /// with a host.
    #[error("invalid proxy {proxy:?}: must be an absolute http:// or https:// URL")]
    InvalidProxy {
        /// The proxy given.
        proxy: String,
    },
    /// The exporter's runtime or TLS roots could not be set up.
    #[error("exporter could not start: {0}")]
    Io(#[from] std::io::Error),
}

/// Builds an [`XrayOtlpExporter`]; see [`XrayOtlpExporter::builder`].
#[derive(Debug)]
pub struct XrayOtlpExporterBuilder {
    region: Option<String>,
    endpoint: Option<String>,
    sdk_config: Option<aws_config::SdkConfig>,
    compression: Compression,
    export_timeout: Duration,
    max_concurrent_requests: usize,
    conflict_policy: ConflictPolicy,
    proxy: ProxyChoice,
}

impl XrayOtlpExporterBuilder {
    /// The region to send to and sign for; the endpoint becomes
    /// [`endpoint_for_region`] unless `with_endpoint` is also called. Without
    /// it the region comes from the AWS config (`AWS_REGION`, profile, ...).
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Any endpoint URL (a VPC endpoint, a proxy, a local test server). The
    /// signing region is still the builder's or the AWS config's.
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Credentials and region from this shared AWS config instead of the
    /// default chain (`aws_config::load_defaults`, loaded on first export).
    pub fn with_sdk_config(mut self, config: aws_config::SdkConfig) -> Self {
        self.sdk_config = Some(config);
        self
    }

    /// Body compression (gzip by default).
    pub fn with_compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// How long one export may take, retries included (default
    /// [`DEFAULT_EXPORT_TIMEOUT`](crate::DEFAULT_EXPORT_TIMEOUT)).
    pub fn with_export_timeout(mut self, timeout: Duration) -> Self {
        self.export_timeout = timeout;
        self
    }

    /// Most requests in flight at once (default
    /// [`DEFAULT_MAX_CONCURRENT_REQUESTS`]; at least 1).
    pub fn with_max_concurrent_requests(mut self, n: usize) -> Self {
        self.max_concurrent_requests = n.max(1);
        self
    }

    /// Sends every request through this HTTP proxy (`http://host:port`, with
    /// `user:password@` for basic authentication, or an `https://` proxy), in a
    /// `CONNECT` tunnel: TLS to the endpoint runs inside it.
    ///
    /// Without it the environment decides, as for curl and the AWS CLI:
    /// `HTTPS_PROXY` for an `https://` endpoint (`HTTP_PROXY` for `http://`),
    /// unless `NO_PROXY` lists the endpoint's host.
    ///
    /// ```
    /// use otel_xray_exporter::otlp::XrayOtlpExporter;
    ///
    /// let exporter = XrayOtlpExporter::builder()
    ///     .with_region("eu-west-1")
    ///     .with_proxy("http://proxy.internal:3128")
    ///     .build()?;
    /// # Ok::<(), otel_xray_exporter::otlp::OtlpBuildError>(())
    /// ```
    pub fn with_proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = ProxyChoice::Url(url.into());
        self
    }

    /// Connects to the endpoint directly, even when `HTTPS_PROXY` names a proxy.
    pub fn without_proxy(mut self) -> Self {
        self.proxy = ProxyChoice::Direct;
        self
    }

    /// What the annotation rewrite does when `aws.xray.annotation.<key>` and a
    /// plain `<key>` disagree (default [`ConflictPolicy::KeepBoth`]).
    pub fn with_conflict_policy(mut self, policy: ConflictPolicy) -> Self {
        self.conflict_policy = policy;
        self
    }

    /// Builds the exporter and its runtime (one background thread). No
    /// network call happens before the first export.
    ///
    /// # Errors
    ///
    /// No endpoint (neither region nor endpoint given), an invalid endpoint
    /// URL, or the runtime or TLS root store could not be set up.
    pub fn build(self) -> Result<XrayOtlpExporter, OtlpBuildError> {
        let endpoint = match (&self.endpoint, &self.region) {
            (Some(endpoint), _) => endpoint.clone(),
            (None, Some(region)) => endpoint_for_region(region),
            (None, None) => return Err(OtlpBuildError::NoEndpoint),
        };
        let invalid = |reason: String| OtlpBuildError::InvalidEndpoint {
            endpoint: endpoint.clone(),
            reason,
        };
        let uri: http::Uri = endpoint.parse().map_err(|e| invalid(format!("{e}")))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.authority().is_none() {
            return Err(invalid(
                "must be an absolute http:// or https:// URL".into(),
            ));
        }
        if let Err(proxy) = self.proxy.check() {
            return Err(OtlpBuildError::InvalidProxy {
                proxy: proxy.to_owned(),
            });
        }
        let counters = DeliveryCounters::new();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("otel-xray-otlp")
            .enable_all()
            .build()?;
        // The TLS connector must be created inside the runtime it will run on.
        let sender = {
            let _guard = runtime.enter();
            Sender::new(
                uri,
                self.region,
                self.sdk_config,
                self.compression,
                &self.proxy,
                counters.clone(),
            )?
        };
        Ok(XrayOtlpExporter {
            shared: Arc::new(Shared {
                sender,
                requests: Semaphore::new(self.max_concurrent_requests),
            }),
            runtime: Some(runtime),
            pipeline: Pipeline::new(counters, self.conflict_policy),
            export_timeout: self.export_timeout,
        })
    }
}

/// What every request task needs.
#[derive(Debug)]
struct Shared {
    sender: Sender,
    requests: Semaphore,
}

/// A [`SpanExporter`] to the X-Ray OTLP traces endpoint; see the
/// [module docs](self).
///
/// ```no_run
/// use opentelemetry_sdk::trace::SdkTracerProvider;
/// use otel_xray_exporter::otlp::XrayOtlpExporter;
///
/// let exporter = XrayOtlpExporter::builder().with_region("eu-west-1").build()?;
/// let counters = exporter.counters();
/// let provider = SdkTracerProvider::builder()
///     .with_batch_exporter(exporter)
///     .build();
/// // ... trace ...
/// provider.shutdown()?;
/// println!("{:?}", counters.snapshot());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct XrayOtlpExporter {
    shared: Arc<Shared>,
    runtime: Option<Runtime>,
    pipeline: Pipeline,
    export_timeout: Duration,
}

impl fmt::Debug for XrayOtlpExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XrayOtlpExporter")
            .field("sender", &self.shared.sender)
            .field("export_timeout", &self.export_timeout)
            .field("conflict_policy", &self.pipeline.conflict_policy)
            .finish_non_exhaustive()
    }
}

impl XrayOtlpExporter {
    /// A builder with gzip, the default export timeout and
    /// [`DEFAULT_MAX_CONCURRENT_REQUESTS`].
    pub fn builder() -> XrayOtlpExporterBuilder {
        XrayOtlpExporterBuilder {
            region: None,
            endpoint: None,
            sdk_config: None,
            compression: Compression::default(),
            export_timeout: DEFAULT_EXPORT_TIMEOUT,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            conflict_policy: ConflictPolicy::default(),
            proxy: ProxyChoice::default(),
        }
    }

    /// A live handle on the delivery counters (in spans); take it before the
    /// exporter moves into a span processor.
    pub fn counters(&self) -> DeliveryCounters {
        self.pipeline.counters.clone()
    }

    /// Asks X-Ray (`GetTraceSegmentDestination`, with this exporter's region
    /// and credentials) whether Transaction Search is on, which the OTLP
    /// endpoint needs. Runs on the exporter's runtime, so it can be awaited
    /// from any executor.
    ///
    /// ```no_run
    /// # async fn check() -> Result<(), Box<dyn std::error::Error>> {
    /// use otel_xray_exporter::otlp::XrayOtlpExporter;
    ///
    /// let exporter = XrayOtlpExporter::builder().with_region("eu-west-1").build()?;
    /// let state = exporter.check_destination().await?;
    /// if !state.is_ready() {
    ///     eprintln!("{state}");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// The call failed (no credentials, no permission
    /// `xray:GetTraceSegmentDestination`, network), or the exporter was
    /// dropped meanwhile.
    #[cfg(feature = "api")]
    pub async fn check_destination(&self) -> Result<TransactionSearch, DestinationCheckError> {
        let shared = Arc::clone(&self.shared);
        let Some(runtime) = self.runtime.as_ref() else {
            return Err(DestinationCheckError::stopped());
        };
        let task = runtime.spawn(async move {
            let resolved = shared.sender.resolved().await;
            destination::check(&resolved.config, resolved.region.as_deref()).await
        });
        task.await
            .unwrap_or_else(|_| Err(DestinationCheckError::stopped()))
    }

    /// Exports `batch` as spans of `resource` rather than of the resource the
    /// span processor set: for a relay whose spans come from many services
    /// (the `otel-xray` daemon forwarding OTLP it received). Otherwise as
    /// [`SpanExporter::export`].
    ///
    /// ```no_run
    /// # async fn relay(batch: Vec<opentelemetry_sdk::trace::SpanData>) -> Result<(), Box<dyn std::error::Error>> {
    /// use opentelemetry_sdk::Resource;
    /// use otel_xray_exporter::otlp::XrayOtlpExporter;
    ///
    /// let exporter = XrayOtlpExporter::builder().with_region("eu-west-1").build()?;
    /// let resource = Resource::builder_empty().with_service_name("checkout").build();
    /// exporter.export_with_resource(batch, &resource).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn export_with_resource(
        &self,
        batch: Vec<SpanData>,
        resource: &Resource,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        let resource = ResourceAttributesWithSchema::from(resource);
        export_result(self.start_export(batch, Some(&resource)))
    }

    /// Rewrites, fits and sends one batch (with `resource`, or the exporter's
    /// own); the caller awaits the result.
    fn start_export(
        &self,
        batch: Vec<SpanData>,
        resource: Option<&ResourceAttributesWithSchema>,
    ) -> oneshot::Receiver<OTelSdkResult> {
        let (done, result) = oneshot::channel();
        let Some(runtime) = self.runtime.as_ref() else {
            let _ = done.send(Err(OTelSdkError::AlreadyShutdown));
            return result;
        };
        let prepared = match resource {
            Some(resource) => self
                .pipeline
                .prepare_with(batch, resource, &Limits::ENDPOINT),
            None => self.pipeline.prepare(batch, &Limits::ENDPOINT),
        };
        let prepared = match prepared {
            Ok(prepared) => prepared,
            Err(e) => {
                let _ = done.send(Err(e));
                return result;
            }
        };

        let shared = Arc::clone(&self.shared);
        let deadline = tokio::time::Instant::now() + self.export_timeout;
        runtime.spawn(async move {
            let tasks: Vec<_> = prepared
                .requests
                .into_iter()
                .map(|planned| tokio::spawn(deliver(Arc::clone(&shared), planned, deadline)))
                .collect();
            let mut first_error = None;
            for task in tasks {
                let error = match task.await {
                    Ok(result) => result.err(),
                    Err(join) => Some(format!("request task failed: {join}")),
                };
                if first_error.is_none() {
                    first_error = error;
                }
            }
            let _ = done.send(match first_error {
                None => Ok(()),
                Some(message) => Err(OTelSdkError::InternalFailure(message)),
            });
        });
        result
    }
}

/// The result of an export started on the exporter's runtime.
async fn export_result(result: oneshot::Receiver<OTelSdkResult>) -> OTelSdkResult {
    result.await.unwrap_or_else(|_| {
        Err(OTelSdkError::InternalFailure(
            "the exporter's runtime stopped during the export".into(),
        ))
    })
}

/// Sends one planned request and counts every one of its spans.
async fn deliver(
    shared: Arc<Shared>,
    planned: Planned,
    deadline: tokio::time::Instant,
) -> Result<(), String> {
    let counters = &shared.sender.counters;
    let spans = planned.spans;
    let Ok(_permit) = shared.requests.acquire().await else {
        counters.add_dropped(DropReason::AfterShutdown, spans);
        return Err("exporter shut down".into());
    };
    match shared.sender.send(planned.body, spans, deadline).await {
        Outcome::Sent { rejected } => {
            let rejected = rejected.min(spans);
            counters.add_sent(spans - rejected);
            counters.add_rejected(PARTIAL_SUCCESS, rejected);
            Ok(())
        }
        Outcome::Rejected { status, message } => {
            counters.add_rejected(&format!("http_{status}"), spans);
            tracing::warn!(status, %message, spans, "the X-Ray OTLP endpoint refused a request");
            Err(format!(
                "the X-Ray OTLP endpoint refused {spans} spans: HTTP {status}: {message}"
            ))
        }
        Outcome::Dropped { reason, cause } => {
            counters.add_dropped(reason, spans);
            tracing::warn!(%reason, %cause, spans, "spans for the X-Ray OTLP endpoint dropped");
            Err(format!("{spans} spans dropped ({reason}): {cause}"))
        }
    }
}

impl SpanExporter for XrayOtlpExporter {
    fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        export_result(self.start_export(batch, None))
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.pipeline.shutdown()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.pipeline.set_resource(resource);
    }
}

impl Drop for XrayOtlpExporter {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which panics inside another runtime (an
        // exporter dropped in async code); shutting down in the background
        // never does.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
