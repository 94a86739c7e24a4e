//! PutTraceSegments through `aws-sdk-xray`.
//!
//! * Documents go out in calls of at most [`MAX_DOCUMENTS_PER_CALL`], up to
//!   `max_concurrent_requests` calls at a time.
//! * Throttling (`ThrottledException`, 429), 5xx, timeouts of one attempt and
//!   connection errors are retried by the SDK's own standard retry strategy
//!   (`RetryConfig`: exponential backoff with full jitter, a retry-quota token
//!   bucket, a maximum number of attempts). Every call of an export runs under
//!   the export's deadline: what is not settled by then is counted as dropped
//!   for `Timeout` and the calls are abandoned, so none outlives the export.
//! * The client is configured once (retry policy, attempt counting), not per
//!   call: a per-call configuration override made the SDK resolve and merge a
//!   configuration layer on every PutTraceSegments call.
//! * `UnprocessedTraceSegments` come back in a *successful* response, where the
//!   SDK cannot help: documents whose error code says a retry can succeed are
//!   re-sent alone, with the same backoff parameters, inside the same attempt
//!   budget and deadline; the others are counted as rejected under their code.
//! * The work runs on a tokio runtime: a small one the transport owns (one
//!   background thread), or the handle given to the builder. So `export` can be
//!   awaited from the SDK's batch-processor thread (no runtime) and from inside
//!   a tokio application alike.

mod body;
mod chunk;
mod escape;

#[doc(hidden)]
pub use body::put_trace_segments_body;

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use aws_sdk_xray::config::retry::RetryConfig;
use tokio::runtime::Handle;
use tokio::sync::{oneshot, OnceCell, Semaphore};

use super::{spans_in, DeliveryTally, Document};
use crate::delivery_stats::DropReason;

/// X-Ray's documented batch size for one PutTraceSegments call.
pub const MAX_DOCUMENTS_PER_CALL: usize = 50;

/// Default bound on concurrent PutTraceSegments calls (the daemon uses 8).
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 4;

/// The retry policy used unless the builder is given another: the SDK's
/// standard mode, 5 attempts, backoff from 100 ms up to 5 s.
pub fn default_retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(5)
        .with_initial_backoff(Duration::from_millis(100))
        .with_max_backoff(Duration::from_secs(5))
}

/// Where the X-Ray client comes from.
pub(crate) enum ClientSource {
    /// Loaded with `aws_config::load_defaults` on first use (region and
    /// credentials from the environment, profile, IMDS, ...).
    LoadDefaults,
    /// Built from a given shared AWS config.
    SdkConfig(Box<aws_config::SdkConfig>),
    /// Used as given.
    Client(aws_sdk_xray::Client),
}

impl fmt::Debug for ClientSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ClientSource::LoadDefaults => "LoadDefaults",
            ClientSource::SdkConfig(_) => "SdkConfig",
            ClientSource::Client(_) => "Client",
        })
    }
}

/// Settings of the API transport, collected by the exporter builder.
#[derive(Debug)]
pub(crate) struct ApiOptions {
    pub(crate) source: ClientSource,
    pub(crate) retry: RetryConfig,
    pub(crate) max_concurrent_requests: usize,
    pub(crate) runtime: Option<Handle>,
}

impl ApiOptions {
    pub(crate) fn new(source: ClientSource) -> ApiOptions {
        ApiOptions {
            source,
            retry: default_retry_config(),
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            runtime: None,
        }
    }
}

/// The runtime the calls run on.
#[derive(Debug)]
enum ApiRuntime {
    Owned {
        handle: Handle,
        stop: Mutex<Option<oneshot::Sender<()>>>,
    },
    Given(Handle),
}

impl ApiRuntime {
    fn owned() -> std::io::Result<ApiRuntime> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = rt.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("otel-xray-api".into())
            .spawn(move || {
                // Tasks spawned through the handle run while this waits; the
                // runtime is dropped here, on a plain thread, never inside
                // someone else's async context.
                let _ = rt.block_on(stopped);
            })?;
        Ok(ApiRuntime::Owned {
            handle,
            stop: Mutex::new(Some(stop)),
        })
    }

    fn handle(&self) -> &Handle {
        match self {
            ApiRuntime::Owned { handle, .. } | ApiRuntime::Given(handle) => handle,
        }
    }

    fn stop(&self) {
        if let ApiRuntime::Owned { stop, .. } = self {
            if let Some(tx) = stop.lock().unwrap_or_else(PoisonError::into_inner).take() {
                let _ = tx.send(());
            }
        }
    }
}

impl Drop for ApiRuntime {
    fn drop(&mut self) {
        self.stop();
    }
}

#[derive(Debug)]
struct Shared {
    source: Mutex<Option<ClientSource>>,
    client: OnceCell<Result<aws_sdk_xray::Client, String>>,
    retry: RetryConfig,
    slots: Arc<Semaphore>,
}

impl Shared {
    async fn client(&self) -> Result<aws_sdk_xray::Client, String> {
        self.client
            .get_or_init(|| async {
                let source = self
                    .source
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take();
                let client = match source {
                    Some(ClientSource::Client(c)) => c,
                    Some(ClientSource::SdkConfig(cfg)) => aws_sdk_xray::Client::new(&cfg),
                    Some(ClientSource::LoadDefaults) => {
                        let cfg =
                            aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
                        if cfg.region().is_none() {
                            return Err("no AWS region configured (set AWS_REGION)".to_owned());
                        }
                        aws_sdk_xray::Client::new(&cfg)
                    }
                    None => return Err("the X-Ray client source was already consumed".to_owned()),
                };
                // The given client's configuration (endpoint, credentials, HTTP client,
                // interceptors) with this transport's retry policy, attempt counter and
                // body writer.
                let config = client
                    .config()
                    .to_builder()
                    .retry_config(self.retry.clone())
                    .interceptor(chunk::AttemptCounter)
                    .interceptor(body::SegmentsBody)
                    .build();
                Ok(aws_sdk_xray::Client::from_conf(config))
            })
            .await
            .clone()
    }
}

/// The PutTraceSegments transport.
#[derive(Debug)]
pub(crate) struct ApiTransport {
    shared: Arc<Shared>,
    runtime: ApiRuntime,
}

impl ApiTransport {
    pub(crate) fn new(options: ApiOptions) -> std::io::Result<ApiTransport> {
        let runtime = match options.runtime {
            Some(h) => ApiRuntime::Given(h),
            None => ApiRuntime::owned()?,
        };
        Ok(ApiTransport {
            shared: Arc::new(Shared {
                source: Mutex::new(Some(options.source)),
                client: OnceCell::new(),
                retry: options.retry,
                slots: Arc::new(Semaphore::new(options.max_concurrent_requests.max(1))),
            }),
            runtime,
        })
    }

    pub(crate) async fn deliver(
        &self,
        docs: Vec<Document>,
        tally: &mut DeliveryTally,
        deadline: Instant,
    ) {
        let total = spans_in(&docs);
        if total == 0 {
            return;
        }
        let ledger = Arc::new(Mutex::new(chunk::Ledger::new(tally.fork(), total)));
        // Boxed, as is each call's task in `run_all`: unboxed, this future was 11.8 KB and each
        // call's 10 KB (the SDK's call future is inside), and tokio copies a task's future
        // whole where it keeps it and again when it swaps in the output (`Core::set_stage`).
        // Those copies took 3,000 of the daemon's 80,000 instructions per OTLP span
        // (callgrind, `daemon_load otlp`); the future that awaits this one was 12.6 KB for
        // holding it, and is 856 bytes now.
        let work = Box::pin(run_all(self.shared.clone(), docs, ledger.clone(), deadline));
        let joined = self.runtime.handle().spawn(work).await;
        let mut ledger = ledger.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(e) = joined {
            // The runtime went away (shutdown) or a task panicked: whatever
            // was not settled yet is lost, and counted.
            let reason = if e.is_cancelled() {
                DropReason::AfterShutdown
            } else {
                DropReason::SendFailed
            };
            tracing::warn!(target: "otel_xray_exporter", error = %e, "PutTraceSegments work did not finish");
            ledger.close(reason);
        }
        tally.absorb(&ledger.tally().report);
    }

    pub(crate) fn shutdown(&self) {
        self.runtime.stop();
    }
}

async fn run_all(
    shared: Arc<Shared>,
    docs: Vec<Document>,
    ledger: Arc<Mutex<chunk::Ledger>>,
    deadline: Instant,
) {
    let lock = || ledger.lock().unwrap_or_else(PoisonError::into_inner);
    let client = match shared.client().await {
        Ok(c) => c,
        Err(why) => {
            tracing::error!(target: "otel_xray_exporter", %why, "cannot create the X-Ray client");
            lock().close(DropReason::Misconfigured);
            return;
        }
    };
    let mut tasks = tokio::task::JoinSet::new();
    let mut docs = docs;
    while !docs.is_empty() {
        let rest = docs.split_off(docs.len().min(MAX_DOCUMENTS_PER_CALL));
        let batch = std::mem::replace(&mut docs, rest);
        let call = chunk::Call {
            client: client.clone(),
            retry: shared.retry.clone(),
            ledger: ledger.clone(),
            deadline,
        };
        let slots = shared.slots.clone();
        // Boxed: see `deliver`.
        tasks.spawn(Box::pin(async move {
            // The semaphore is never closed, so acquiring only waits.
            let _slot = slots.acquire_owned().await;
            call.send(batch).await;
        }));
    }
    let all = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout_at(deadline.into(), all).await.is_err() {
        tasks.abort_all();
        let mut l = lock();
        let outstanding = l.outstanding();
        if outstanding > 0 {
            tracing::warn!(
                target: "otel_xray_exporter",
                outstanding,
                "export timeout: segment documents not confirmed by X-Ray"
            );
        }
        l.close(DropReason::Timeout);
    }
}
