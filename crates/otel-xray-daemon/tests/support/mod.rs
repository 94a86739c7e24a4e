//! A daemon on loopback (port 0 everywhere) in front of moto, and ways to read back what
//! reached X-Ray.
#![allow(dead_code, unused_imports)]

use std::net::SocketAddr;
use std::sync::Once;
use std::time::{Duration, Instant};

use otel_xray_daemon::{Daemon, DaemonArgs, DaemonConfig, DaemonCounters, ShutdownReport};
use otel_xray_exporter::aws_sdk_xray;
use std::sync::Arc;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use otel_xray_testkit::{moto_xray_client as xray_client, send_framed, WAIT};

/// Static test credentials for moto; no profile, no instance metadata.
pub fn test_credentials() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for (k, v) in otel_xray_testkit::MOTO_CREDENTIALS_ENV {
            std::env::set_var(k, v);
        }
    });
}

/// Daemon arguments for loopback ports picked by the OS and `endpoint` as X-Ray.
pub fn args(endpoint: &str) -> DaemonArgs {
    DaemonArgs {
        region: Some("us-east-1".into()),
        bind: Some("127.0.0.1:0".into()),
        bind_tcp: Some("127.0.0.1:0".into()),
        otlp_grpc: Some("127.0.0.1:0".into()),
        otlp_http: Some("127.0.0.1:0".into()),
        local_mode: true,
        endpoint: Some(endpoint.into()),
        shutdown_timeout: 10.0,
        ..DaemonArgs::default()
    }
}

/// A running daemon.
pub struct Running {
    pub udp: SocketAddr,
    pub tcp: SocketAddr,
    pub metrics: Option<SocketAddr>,
    pub otlp_grpc: Option<SocketAddr>,
    pub otlp_http: Option<SocketAddr>,
    pub otlp: otel_xray_daemon::OtlpIngest,
    pub counters: Arc<DaemonCounters>,
    pub buffer: Arc<otel_xray_daemon::SegmentBuffer>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<ShutdownReport>,
}

impl Running {
    /// Binds and runs a daemon with `args`.
    pub async fn start(args: DaemonArgs) -> Running {
        Running::start_with_telemetry(args, otel_xray_daemon::TELEMETRY_INTERVAL).await
    }

    /// Binds and runs a daemon with `args` that reports telemetry every `interval`.
    pub async fn start_with_telemetry(args: DaemonArgs, interval: Duration) -> Running {
        test_credentials();
        let config = DaemonConfig::from_args(&args).expect("config");
        let daemon = Daemon::bind(config)
            .await
            .expect("daemon binds")
            .with_telemetry_interval(interval);
        let (stop, stopped) = oneshot::channel::<()>();
        let running = Running {
            udp: daemon.udp_address(),
            tcp: daemon.tcp_address(),
            metrics: daemon.metrics_address(),
            otlp_grpc: daemon.otlp_grpc_address(),
            otlp_http: daemon.otlp_http_address(),
            otlp: daemon.otlp().clone(),
            counters: daemon.counters(),
            buffer: daemon.intake().buffer().clone(),
            stop,
            task: tokio::spawn(daemon.run(async move {
                let _ = stopped.await;
            })),
        };
        running
    }

    /// Stops it (as SIGTERM does) and returns its report.
    pub async fn stop(self) -> ShutdownReport {
        let _ = self.stop.send(());
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("daemon stops in time")
            .expect("daemon task")
    }
}

/// A multi-thread runtime for tests that also run a fault proxy (whose own runtime must be
/// dropped outside any async context).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A segment document of about `pad` bytes more than its skeleton, in trace `trace`.
pub fn document(trace: &str, n: u64, pad: usize) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    serde_json::json!({
        "name": "load",
        "id": format!("{n:016x}"),
        "trace_id": trace,
        "start_time": now - 1.0,
        "end_time": now,
        "metadata": {"default": {"pad": "x".repeat(pad)}},
    })
    .to_string()
}

/// A fresh X-Ray trace id.
pub fn trace_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    format!("1-{now:08x}-{:024x}", fastrand_u96())
}

fn fastrand_u96() -> u128 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::process::id().into());
    u128::from(h.finish()) << 32 | u128::from(std::process::id())
}

/// The documents X-Ray holds for `trace_id`, parsed, polled until `done` says they are all
/// there (or [`WAIT`] passes).
pub async fn stored_documents(
    client: &aws_sdk_xray::Client,
    trace_id: &str,
    done: impl Fn(&[serde_json::Value]) -> bool,
) -> Vec<serde_json::Value> {
    let parse = |docs: &[String]| -> Vec<serde_json::Value> {
        docs.iter()
            .map(|d| serde_json::from_str(d).expect("stored document is JSON"))
            .collect()
    };
    let stored = otel_xray_testkit::stored_documents(client, trace_id, |d| done(&parse(d))).await;
    parse(&stored)
}

/// Every `id` in `docs`, with the subsegments nested in them, sorted, once each.
pub fn document_ids(docs: &[serde_json::Value]) -> Vec<String> {
    fn collect(doc: &serde_json::Value, out: &mut Vec<String>) {
        if let Some(id) = doc["id"].as_str() {
            out.push(id.to_owned());
        }
        for sub in doc["subsegments"].as_array().into_iter().flatten() {
            collect(sub, out);
        }
    }
    let mut ids = Vec::new();
    for d in docs {
        collect(d, &mut ids);
    }
    ids.sort();
    ids.dedup();
    ids
}

/// Waits until `check` holds for the counters, or [`WAIT`] passes.
pub async fn wait_until(
    counters: &DaemonCounters,
    check: impl Fn(&otel_xray_daemon::CountersSnapshot) -> bool,
) -> otel_xray_daemon::CountersSnapshot {
    let deadline = Instant::now() + WAIT;
    loop {
        let s = counters.snapshot();
        if check(&s) || Instant::now() > deadline {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An unsigned POST, as the X-Ray SDKs send to the daemon's sampling proxy: (status,
/// content type, body).
pub async fn post(url: &str, body: &str) -> (u16, String, bytes::Bytes) {
    use http_body_util::{BodyExt, Full};
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<bytes::Bytes>>();
    let request = http::Request::post(url)
        .header("content-type", "application/json")
        .body(Full::new(bytes::Bytes::from(body.to_owned())))
        .unwrap();
    let response = client.request(request).await.expect("request answered");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, content_type, bytes)
}
