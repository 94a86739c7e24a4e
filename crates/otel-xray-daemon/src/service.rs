//! The whole daemon: bind everything, run until told to stop, drain, report.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use otel_xray_exporter::otlp::XrayOtlpExporter;
use otel_xray_exporter::{Translator, TranslatorConfig, XrayExporter};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::backend::{Backend, BackendError};
use crate::buffer::SegmentBuffer;
use crate::config::{DaemonConfig, OtlpEndpoint};
use crate::counters::{CountersSnapshot, DaemonCounters};
use crate::intake::Intake;
use crate::metrics::MetricsServer;
use crate::otlp::{
    serve_grpc, serve_http, Forwarder, OtlpIngest, DEFAULT_GRPC_ADDRESS, DEFAULT_HTTP_ADDRESS,
    DEFAULT_MAX_FORWARD_SPANS_IN_FLIGHT,
};
use crate::proxy::SamplingProxy;
use crate::sender::{DrainReport, Sender, SenderOptions};
use crate::telemetry::TELEMETRY_INTERVAL;
use crate::udp::UdpReceiver;

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DaemonError {
    /// An address could not be bound.
    #[error("cannot listen on {what} {address}: {source}")]
    Bind {
        /// Which listener.
        what: &'static str,
        /// The address.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// X-Ray cannot be reached with this configuration.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The PutTraceSegments exporter could not be built.
    #[error("PutTraceSegments exporter: {0}")]
    Exporter(String),
    /// The X-Ray OTLP endpoint exporter (`--otlp-endpoint`) could not be built.
    #[error("OTLP endpoint exporter: {0}")]
    OtlpEndpoint(String),
}

/// What the daemon did, reported when it stops.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// What the drain sent and could not send.
    pub drain: DrainReport,
    /// `--otlp-endpoint`: spans whose export had not finished within the shutdown timeout
    /// (the endpoint exporter had not counted them as sent, rejected or dropped yet).
    pub otlp_endpoint_undelivered: u64,
    /// The counters at the end.
    pub counters: CountersSnapshot,
}

/// A daemon with every port bound, ready to [`run`](Self::run).
#[derive(Debug)]
pub struct Daemon {
    config: DaemonConfig,
    intake: Intake,
    backend: Backend,
    exporter: Arc<XrayExporter>,
    udp: UdpReceiver,
    proxy: SamplingProxy,
    metrics: Option<MetricsServer>,
    telemetry_interval: Duration,
    otlp: OtlpIngest,
    otlp_grpc: Option<TcpListener>,
    otlp_http: Option<TcpListener>,
}

impl Daemon {
    /// Loads the AWS configuration and binds the UDP port, the sampling proxy and (with
    /// `--metrics`) the metrics endpoint. Must be called inside a Tokio runtime.
    pub async fn bind(config: DaemonConfig) -> Result<Daemon, DaemonError> {
        let counters = Arc::new(DaemonCounters::new());
        let buffer = Arc::new(SegmentBuffer::new(config.buffer_bytes, counters.clone()));
        let intake = Intake::new(buffer.clone(), counters.clone());
        let backend = Backend::connect(&config, counters.clone()).await?;
        let exporter = XrayExporter::builder()
            .with_xray_client(backend.client.clone())
            .with_max_concurrent_requests(config.concurrency)
            .with_tokio_handle(tokio::runtime::Handle::current())
            .build()
            .map_err(|e| DaemonError::Exporter(e.to_string()))?;
        counters.attach_delivery(exporter.counters());
        let bind_error = |what, address| {
            move |source| DaemonError::Bind {
                what,
                address,
                source,
            }
        };
        let otlp = otlp_ingest(&config, &backend, intake.clone())?;
        let udp = UdpReceiver::bind(config.udp_address, intake.clone())
            .await
            .map_err(bind_error("UDP", config.udp_address))?
            .with_otlp(otlp.clone());
        let mut otlp_listeners = [None, None];
        for (slot, (what, address, default)) in otlp_listeners.iter_mut().zip([
            ("OTLP/gRPC", config.otlp_grpc_address, DEFAULT_GRPC_ADDRESS),
            ("OTLP/HTTP", config.otlp_http_address, DEFAULT_HTTP_ADDRESS),
        ]) {
            let Some(address) = address else { continue };
            match TcpListener::bind(address).await {
                Ok(listener) => *slot = Some(listener),
                // The X-Ray daemon has no OTLP ports: an existing daemon setup must still
                // start where another collector already holds the OTLP defaults.
                Err(e) if address.to_string() == default => {
                    tracing::warn!("{what} not listening: {address} is not available ({e})");
                }
                Err(e) => return Err(bind_error(what, address)(e)),
            }
        }
        let [otlp_grpc, otlp_http] = otlp_listeners;
        let proxy = SamplingProxy::bind(config.tcp_address, backend.clone(), counters.clone())
            .await
            .map_err(bind_error("TCP", config.tcp_address))?;
        let metrics = match config.metrics_address {
            Some(address) => Some(
                MetricsServer::bind(address, counters.clone(), buffer)
                    .await
                    .map_err(bind_error("metrics", address))?,
            ),
            None => None,
        };
        Ok(Daemon {
            config,
            intake,
            backend,
            exporter: Arc::new(exporter),
            udp,
            proxy,
            metrics,
            telemetry_interval: TELEMETRY_INTERVAL,
            otlp,
            otlp_grpc,
            otlp_http,
        })
    }

    /// Reports telemetry at another interval than the daemon's 60 s (tests).
    pub fn with_telemetry_interval(mut self, interval: Duration) -> Daemon {
        self.telemetry_interval = interval;
        self
    }

    /// The UDP address segments are received on.
    pub fn udp_address(&self) -> SocketAddr {
        self.udp.local_addr().unwrap_or(self.config.udp_address)
    }

    /// The sampling proxy's address.
    pub fn tcp_address(&self) -> SocketAddr {
        self.proxy.local_addr().unwrap_or(self.config.tcp_address)
    }

    /// The metrics endpoint's address, with `--metrics`.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|m| m.local_addr().ok())
    }

    /// The OTLP/gRPC address, unless `--otlp-grpc off`.
    pub fn otlp_grpc_address(&self) -> Option<SocketAddr> {
        self.otlp_grpc.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The OTLP/HTTP address (`POST /v1/traces`), unless `--otlp-http off`.
    pub fn otlp_http_address(&self) -> Option<SocketAddr> {
        self.otlp_http.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// What the OTLP receivers take spans into, with their request counters.
    pub fn otlp(&self) -> &OtlpIngest {
        &self.otlp
    }

    /// The receivers' side (buffer and counters), for more receivers.
    pub fn intake(&self) -> Intake {
        self.intake.clone()
    }

    /// The live counters.
    pub fn counters(&self) -> Arc<DaemonCounters> {
        self.intake.counters().clone()
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &DaemonConfig {
        &self.config
    }

    /// Runs until `shutdown` completes (see [`shutdown_signal`]), then stops the receivers,
    /// drains the buffer within the shutdown timeout and says what could not be delivered.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> ShutdownReport {
        let Daemon {
            config,
            intake,
            backend,
            exporter,
            udp,
            proxy,
            metrics,
            telemetry_interval,
            otlp,
            otlp_grpc,
            otlp_http,
        } = self;
        let (stop_receivers, stopped) = watch::channel(false);
        let mut receivers = JoinSet::new();
        receivers.spawn(udp.run(stopped.clone()));
        receivers.spawn(proxy.run(stopped.clone()));
        if let Some(m) = metrics {
            receivers.spawn(m.run(stopped.clone()));
        }
        if let Some(listener) = otlp_grpc {
            let (ingest, stopped) = (otlp.clone(), stopped.clone());
            receivers.spawn(async move {
                if let Err(e) = serve_grpc(listener, ingest, stopped).await {
                    tracing::error!("OTLP/gRPC receiver stopped: {e}");
                }
            });
        }
        if let Some(listener) = otlp_http {
            receivers.spawn(serve_http(listener, otlp.clone(), stopped.clone()));
        }
        let sender = Sender::spawn(
            intake.buffer().clone(),
            intake.counters().clone(),
            exporter.clone(),
            SenderOptions {
                concurrency: config.concurrency,
                ..SenderOptions::default()
            },
        );
        let (stop_telemetry, telemetry_stopped) = watch::channel(false);
        let telemetry = tokio::spawn(crate::telemetry::run(
            backend.client.clone(),
            intake.counters().clone(),
            config.resource_arn.clone(),
            telemetry_interval,
            telemetry_stopped,
        ));

        shutdown.await;
        tracing::info!("stopping: receivers closed, draining the buffer");
        let _ = stop_receivers.send(true);
        while receivers.join_next().await.is_some() {}
        let (drain, otlp_endpoint_undelivered) = tokio::join!(
            sender.drain(config.shutdown_timeout),
            otlp.drain_forwarder(config.shutdown_timeout)
        );
        if otlp_endpoint_undelivered > 0 {
            tracing::error!(
                otlp_endpoint_undelivered,
                "shutdown: {otlp_endpoint_undelivered} spans were still on their way to the X-Ray \
                 OTLP endpoint after {:?}",
                config.shutdown_timeout
            );
        }
        // The last telemetry record, with what the drain did; bounded like the drain.
        let _ = stop_telemetry.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(2), telemetry).await;
        let counters = intake.counters().snapshot();
        tracing::info!(
            received = counters.received_total(),
            sent = counters.sent,
            spillover = counters.spillover,
            udp_kernel_dropped = counters.udp_kernel_dropped,
            rejected = counters.rejected_total(),
            backend_rejected = counters.backend_rejected,
            dropped = counters.dropped,
            forwarded = counters.forwarded(),
            "stopped"
        );
        ShutdownReport {
            drain,
            otlp_endpoint_undelivered,
            counters,
        }
    }
}

/// The OTLP receivers' intake: translation into the buffer, or with
/// `--otlp-endpoint` a forwarder to the X-Ray OTLP endpoint, signed with the
/// daemon's credentials for its region.
fn otlp_ingest(
    config: &DaemonConfig,
    backend: &Backend,
    intake: Intake,
) -> Result<OtlpIngest, DaemonError> {
    let ingest = OtlpIngest::new(Translator::new(TranslatorConfig::default()), intake);
    let Some(endpoint) = &config.otlp_endpoint else {
        return Ok(ingest);
    };
    let mut builder = XrayOtlpExporter::builder()
        .with_sdk_config(backend.sdk.clone())
        .with_region(backend.region.clone());
    if let OtlpEndpoint::Url(url) = endpoint {
        builder = builder.with_endpoint(url.clone());
    }
    // `ProxyAddress` carries every call of the daemon's; without it the exporter follows
    // `HTTPS_PROXY` / `NO_PROXY`, as the SDK client does.
    if let Some(proxy) = &config.proxy_address {
        builder = builder.with_proxy(proxy.clone());
    }
    let exporter = builder
        .build()
        .map_err(|e| DaemonError::OtlpEndpoint(e.to_string()))?;
    let forwarder = Forwarder::new(exporter, DEFAULT_MAX_FORWARD_SPANS_IN_FLIGHT);
    Ok(ingest.with_forwarder(forwarder))
}

/// A future that completes on SIGTERM or SIGINT (Ctrl-C). The handlers are installed when this
/// is called, not when the future is first polled: call it before announcing readiness, so a
/// signal right after the announcement starts the drain instead of killing the process. Must be
/// called inside a Tokio runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                _ => {
                    tracing::warn!("signal handlers unavailable; stopping on Ctrl-C only");
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
