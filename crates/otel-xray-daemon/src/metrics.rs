//! `--metrics ADDRESS`: the counters in the Prometheus text format on `GET /metrics`, and
//! `GET /healthz` (200 while the daemon runs).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::buffer::SegmentBuffer;
use crate::counters::{CountersSnapshot, DaemonCounters};

/// The metrics endpoint, bound and ready to [`run`](Self::run).
#[derive(Debug)]
pub struct MetricsServer {
    listener: TcpListener,
    counters: Arc<DaemonCounters>,
    buffer: Arc<SegmentBuffer>,
}

impl MetricsServer {
    /// Binds `address`.
    pub async fn bind(
        address: SocketAddr,
        counters: Arc<DaemonCounters>,
        buffer: Arc<SegmentBuffer>,
    ) -> std::io::Result<MetricsServer> {
        Ok(MetricsServer {
            listener: TcpListener::bind(address).await?,
            counters,
            buffer,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `stop` turns true.
    pub async fn run(self, stop: watch::Receiver<bool>) {
        let (counters, buffer) = (self.counters, self.buffer);
        let handler = Arc::new(move |req: Request<Incoming>| {
            let response = answer(req.uri().path(), &counters, &buffer);
            async move { response }
        });
        crate::http_server::serve("metrics", self.listener, handler, stop).await;
    }
}

fn answer(path: &str, counters: &DaemonCounters, buffer: &SegmentBuffer) -> Response<Full<Bytes>> {
    let (status, content_type, body) = match path {
        "/metrics" => (
            StatusCode::OK,
            "text/plain; version=0.0.4",
            prometheus_text(&counters.snapshot(), buffer),
        ),
        "/healthz" => (StatusCode::OK, "text/plain", "ok\n".to_owned()),
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain",
            "see /metrics and /healthz\n".to_owned(),
        ),
    };
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// Label values here are our own enum names and X-Ray error codes; quote what Prometheus
/// requires escaped anyway.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The counters in the Prometheus text exposition format (version 0.0.4).
pub(crate) fn prometheus_text(s: &CountersSnapshot, buffer: &SegmentBuffer) -> String {
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, samples: Vec<(String, u64)>| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    family(
        "xray_daemon_received_total",
        "counter",
        "Units received (segment documents, OTLP spans), by source.",
        s.received
            .iter()
            .map(|(src, n)| (format!("{{source=\"{src}\"}}"), *n))
            .collect(),
    );
    family(
        "xray_daemon_rejected_total",
        "counter",
        "Units refused before the buffer, by source and reason.",
        s.rejected
            .iter()
            .map(|((src, r), n)| (format!("{{source=\"{src}\",reason=\"{r}\"}}"), *n))
            .collect(),
    );
    let plain = |n: u64| vec![(String::new(), n)];
    family(
        "xray_daemon_spillover_total",
        "counter",
        "Documents dropped because the buffer was full.",
        plain(s.spillover),
    );
    family(
        "xray_daemon_udp_kernel_dropped_total",
        "counter",
        "Datagrams the kernel dropped because the UDP receive queue was full (not in received).",
        plain(s.udp_kernel_dropped),
    );
    family(
        "xray_daemon_sent_total",
        "counter",
        "Documents accepted by PutTraceSegments.",
        plain(s.sent),
    );
    family(
        "xray_daemon_backend_rejected_total",
        "counter",
        "Documents refused by X-Ray, by error code.",
        s.backend_rejected_codes
            .iter()
            .map(|(code, n)| (format!("{{code=\"{}\"}}", label(code)), *n))
            .collect(),
    );
    family(
        "xray_daemon_dropped_total",
        "counter",
        "Buffered documents given up on (retries exhausted, shutdown timeout).",
        plain(s.dropped),
    );
    family(
        "xray_daemon_backend_errors_total",
        "counter",
        "Failed X-Ray attempts, by kind.",
        s.backend_errors
            .iter()
            .map(|(k, n)| (format!("{{kind=\"{k}\"}}"), *n))
            .collect(),
    );
    family(
        "xray_daemon_outage_retries_total",
        "counter",
        "Batches sent again after X-Ray could not be reached.",
        plain(s.outage_retries),
    );
    family(
        "xray_daemon_sampling_proxy_requests_total",
        "counter",
        "Sampling requests proxied, by outcome.",
        vec![
            ("{outcome=\"ok\"}".to_owned(), s.proxied),
            ("{outcome=\"failed\"}".to_owned(), s.proxy_failed),
        ],
    );
    family(
        "xray_daemon_telemetry_reports_total",
        "counter",
        "PutTelemetryRecords calls, by outcome.",
        vec![
            ("{outcome=\"ok\"}".to_owned(), s.telemetry_sent),
            ("{outcome=\"failed\"}".to_owned(), s.telemetry_failed),
        ],
    );
    if let Some(o) = &s.otlp_endpoint {
        let d = &o.delivery;
        family(
            "xray_daemon_otlp_endpoint_forwarded_total",
            "counter",
            "OTLP spans handed to the X-Ray OTLP endpoint exporter (--otlp-endpoint).",
            plain(o.forwarded),
        );
        family(
            "xray_daemon_otlp_endpoint_sent_total",
            "counter",
            "Forwarded spans the X-Ray OTLP endpoint accepted.",
            plain(d.sent),
        );
        family(
            "xray_daemon_otlp_endpoint_rejected_total",
            "counter",
            "Forwarded spans the X-Ray OTLP endpoint refused, by code.",
            d.rejected
                .iter()
                .map(|(code, n)| (format!("{{code=\"{}\"}}", label(code)), *n))
                .collect(),
        );
        family(
            "xray_daemon_otlp_endpoint_dropped_total",
            "counter",
            "Forwarded spans given up on, by reason.",
            d.dropped
                .iter()
                .map(|(reason, n)| (format!("{{reason=\"{reason}\"}}"), *n))
                .collect(),
        );
        family(
            "xray_daemon_otlp_endpoint_retried_total",
            "counter",
            "Forwarded spans sent again after throttling, 5xx or connection errors.",
            plain(d.retried),
        );
        family(
            "xray_daemon_otlp_endpoint_pending_spans",
            "gauge",
            "Forwarded spans whose export has not finished.",
            plain(o.pending()),
        );
    }
    family(
        "xray_daemon_buffer_documents",
        "gauge",
        "Documents waiting in the buffer.",
        plain(buffer.len() as u64),
    );
    family(
        "xray_daemon_buffer_bytes",
        "gauge",
        "Bytes held by the buffer (waiting and in flight).",
        plain(buffer.used_bytes() as u64),
    );
    family(
        "xray_daemon_buffer_capacity_bytes",
        "gauge",
        "The buffer's capacity (--buffer-memory).",
        plain(buffer.capacity_bytes() as u64),
    );
    out
}
