//! Shared by the delivery tests: a loopback stand-in for the X-Ray daemon's
//! UDP side that applies the daemon's own parsing rules, and span helpers.
#![allow(dead_code)]

#[cfg(feature = "api")]
pub mod fault_proxy;
#[cfg(feature = "api")]
pub mod moto;

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opentelemetry::trace::{Span, Tracer, TracerProvider};
use opentelemetry_sdk::trace::SdkTracerProvider;
use otel_xray_exporter::XrayExporter;

/// A `Write` whose bytes the test can read back.
#[derive(Clone, Default)]
pub struct SharedWriter(pub Arc<Mutex<Vec<u8>>>);

impl std::io::Write for SharedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `f` to completion on a fresh current-thread runtime.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// A tracer provider that hands `exporter` its spans through the default
/// batch processor (which exports on its own thread, outside any runtime).
pub fn batch_provider(exporter: XrayExporter) -> SdkTracerProvider {
    SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .build()
}

/// An exporter sending datagrams to `daemon`.
#[cfg(feature = "daemon")]
pub fn daemon_exporter(daemon: &FakeDaemon) -> XrayExporter {
    XrayExporter::builder()
        .with_daemon_address(daemon.addr().to_string())
        .build()
        .unwrap()
}

/// The daemon's read buffer: 64 KiB, not configurable.
pub const DAEMON_BUFFER: usize = 64 * 1024;

/// Parses one datagram as `aws-xray-daemon` does: split at the first `\n`,
/// the header must be JSON with `format` == "json" (any case) and
/// `version` == 1, the body must not be empty. The daemon passes the body on
/// opaque; we also require it to be JSON.
pub fn parse_like_daemon(datagram: &[u8]) -> Result<serde_json::Value, String> {
    let nl = datagram
        .iter()
        .position(|b| *b == b'\n')
        .ok_or("Missing header or segment")?;
    let (header, body) = (&datagram[..nl], &datagram[nl + 1..]);
    if body.is_empty() {
        return Err("Missing header or segment".into());
    }
    #[derive(serde::Deserialize)]
    struct Header {
        format: String,
        version: i64,
    }
    let h: Header = serde_json::from_slice(header).map_err(|e| format!("Invalid header: {e}"))?;
    if !h.format.eq_ignore_ascii_case("json") || h.version != 1 {
        return Err("Invalid header".into());
    }
    serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))
}

/// A UDP listener on loopback that keeps every datagram it receives.
pub struct FakeDaemon {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<Vec<u8>>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeDaemon {
    pub fn start(bind: &str) -> FakeDaemon {
        let socket = UdpSocket::bind(bind).expect("bind fake daemon");
        // A batch goes out in one sendmmsg burst of up to hundreds of datagrams: at the
        // kernel's default queue (208 KiB) a busy machine drops some of them before this
        // thread reads them (CI lost 6 of 205). The real daemon asks for 4 MiB too.
        socket2::SockRef::from(&socket)
            .set_recv_buffer_size(4 << 20)
            .expect("set the fake daemon's receive queue");
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s) = (received.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            // One byte more than the daemon reads, so an oversized datagram
            // shows up as longer than DAEMON_BUFFER instead of being cut.
            let mut buf = vec![0u8; DAEMON_BUFFER + 1];
            while !s.load(Ordering::Relaxed) {
                if let Ok(n) = socket.recv(&mut buf) {
                    r.lock().unwrap().push(buf[..n].to_vec());
                }
            }
        });
        FakeDaemon {
            addr,
            received,
            stop,
            thread: Some(thread),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Waits (up to 30 s) until at least `n` datagrams arrived, then returns
    /// all of them.
    pub fn wait_for(&self, n: usize) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = self.received.lock().unwrap().clone();
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What arrived so far, after a short quiet period.
    pub fn settle(&self) -> Vec<Vec<u8>> {
        std::thread::sleep(Duration::from_millis(300));
        self.received.lock().unwrap().clone()
    }
}

impl Drop for FakeDaemon {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A minimal valid segment document with the given id and a padding of `pad`
/// bytes in its metadata.
pub fn document(id: u64, pad: usize) -> String {
    // Whole seconds, so the length of a document depends only on `id` and
    // `pad` (the size tests rely on it).
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as f64;
    let trace = format!("1-{:08x}-{:024x}", now as u64, id + 1);
    serde_json::json!({
        "name": format!("svc-{id}"),
        "id": format!("{id:016x}"),
        "trace_id": trace,
        "start_time": now - 1.0,
        "end_time": now,
        "metadata": {"default": {"pad": "x".repeat(pad)}},
    })
    .to_string()
}

/// Ends `n` spans named `span-<i>`: one root and `n - 1` children of it.
pub fn make_spans(provider: &SdkTracerProvider, n: usize) {
    use opentelemetry::trace::TraceContextExt;
    let tracer = provider.tracer("delivery-test");
    let root = tracer.start("span-0");
    let cx = opentelemetry::Context::new().with_span(root);
    for i in 1..n {
        tracer.start_with_context(format!("span-{i}"), &cx).end();
    }
    cx.span().end();
}

/// A finished server span of 200 ms, ending now, with a fresh trace id.
pub fn span_data(name: &str, seq: u64) -> opentelemetry_sdk::trace::SpanData {
    use opentelemetry::trace::{
        SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
    };
    let end = std::time::SystemTime::now();
    let secs = end.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as u128;
    let trace = TraceId::from((secs << 96) | u128::from(seq + 1));
    opentelemetry_sdk::trace::SpanData {
        span_context: SpanContext::new(
            trace,
            SpanId::from(seq + 1),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ),
        parent_span_id: SpanId::INVALID,
        parent_span_is_remote: false,
        span_kind: SpanKind::Server,
        name: name.to_owned().into(),
        start_time: end - Duration::from_millis(200),
        end_time: end,
        attributes: Vec::new(),
        dropped_attributes_count: 0,
        events: Default::default(),
        links: Default::default(),
        status: Status::Unset,
        instrumentation_scope: opentelemetry::InstrumentationScope::builder("delivery-test")
            .build(),
    }
}
