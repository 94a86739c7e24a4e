//! OTLP/gRPC in → PutTraceSegments out, for any collector: starts a local
//! X-Ray sink that answers at once and counts segment documents, starts the
//! collector under test pointed at it, sends it the same OTLP load, and
//! reports spans per second (first request sent → last document received)
//! and the collector's peak RSS. `scripts/bench-otlp-vs-rotel.sh` runs it for
//! `otel-xray daemon` and for rotel.
//!
//! ```text
//! otlp_load GRPC_ADDR REQUESTS SPANS_PER_REQUEST CONCURRENCY -- COMMAND ARGS...
//! ```
//! `{SINK}` in the command is replaced by the sink's URL.

use std::convert::Infallible;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

type Failure = Box<dyn std::error::Error + Send + Sync>;

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn text(s: &str) -> any_value::Value {
    any_value::Value::StringValue(s.into())
}

/// One request of `spans` server spans, each with HTTP attributes, an
/// annotation and an error status, under a fresh trace per request.
fn request(n: u64, spans: u64) -> ExportTraceServiceRequest {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let start = now.as_nanos() as u64 - 50_000_000;
    let mut trace_id = (now.as_secs() as u32).to_be_bytes().to_vec();
    trace_id.extend_from_slice(&n.to_be_bytes());
    trace_id.extend_from_slice(&[7; 4]);
    let spans = (0..spans)
        .map(|i| Span {
            trace_id: trace_id.clone(),
            span_id: ((n << 20) | (i + 1)).to_be_bytes().to_vec(),
            parent_span_id: if i == 0 {
                Vec::new()
            } else {
                ((n << 20) | 1).to_be_bytes().to_vec()
            },
            name: "GET /orders/{id}".into(),
            kind: if i == 0 { 2 } else { 3 },
            start_time_unix_nano: start,
            end_time_unix_nano: start + 20_000_000,
            attributes: vec![
                kv("http.request.method", text("GET")),
                kv("url.full", text("https://shop.example/orders/7")),
                kv("http.response.status_code", any_value::Value::IntValue(503)),
                kv("aws.xray.annotation.tenant", text("acme")),
                kv("order.note", text("kept in metadata")),
            ],
            status: Some(Status {
                message: "upstream unavailable".into(),
                code: 2,
            }),
            flags: 0x101,
            ..Default::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", text("checkout"))],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// A PutTraceSegments endpoint that accepts everything and counts documents.
async fn sink(documents: Arc<AtomicU64>) -> Result<String, Failure> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let documents = documents.clone();
            let service =
                hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let documents = documents.clone();
                    async move {
                        let body = req
                            .into_body()
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        // By its magic bytes, not the header: rotel labels plain JSON as gzip.
                        let body = if body.starts_with(&[0x1f, 0x8b]) {
                            let mut out = Vec::new();
                            let _ = std::io::Read::read_to_end(
                                &mut flate2::read::GzDecoder::new(body.as_ref()),
                                &mut out,
                            );
                            Bytes::from(out)
                        } else {
                            body
                        };
                        let n = serde_json::from_slice::<serde_json::Value>(&body)
                            .ok()
                            .and_then(|v| v["TraceSegmentDocuments"].as_array().map(Vec::len))
                            .unwrap_or(0);
                        documents.fetch_add(n as u64, Ordering::Relaxed);
                        let answer = http::Response::builder()
                            .header("content-type", "application/x-amz-json-1.1")
                            .body(Full::new(Bytes::from_static(
                                br#"{"UnprocessedTraceSegments":[]}"#,
                            )))
                            .unwrap();
                        Ok::<_, Infallible>(answer)
                    }
                });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service),
            );
        }
    });
    Ok(url)
}

/// Peak resident memory of `pid`, in kB (`VmHWM`).
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().collect();
    let split = args
        .iter()
        .position(|a| a == "--")
        .ok_or("usage: see the file's docs")?;
    let [grpc, requests, spans, concurrency] = &args[1..split] else {
        return Err("usage: otlp_load GRPC_ADDR REQUESTS SPANS CONCURRENCY -- COMMAND...".into());
    };
    let (requests, spans, concurrency): (u64, u64, u64) =
        (requests.parse()?, spans.parse()?, concurrency.parse()?);
    let documents = Arc::new(AtomicU64::new(0));
    let sink_url = sink(documents.clone()).await?;
    let command: Vec<String> = args[split + 1..]
        .iter()
        .map(|a| a.replace("{SINK}", &sink_url))
        .collect();
    let mut child = Command::new(&command[0])
        .args(&command[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let pid = child.id();
    let endpoint = format!("http://{grpc}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let client = loop {
        match TraceServiceClient::connect(endpoint.clone()).await {
            Ok(client) => break client,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => {
                let _ = child.kill();
                return Err(format!("{} did not listen on {grpc}: {e}", command[0]).into());
            }
        }
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_rss = peak_rss_kb(pid);
    let prepared: Vec<ExportTraceServiceRequest> =
        (0..requests).map(|n| request(n, spans)).collect();
    let prepared = Arc::new(prepared);
    let started = Instant::now();
    let refused = Arc::new(AtomicU64::new(0));
    let mut senders = Vec::new();
    for worker in 0..concurrency {
        let (mut client, prepared, refused) = (client.clone(), prepared.clone(), refused.clone());
        senders.push(tokio::spawn(async move {
            for n in (worker..requests).step_by(concurrency as usize) {
                if client.export(prepared[n as usize].clone()).await.is_err() {
                    refused.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for sender in senders {
        sender.await?;
    }
    let sent_in = started.elapsed();
    let total = requests * spans;
    // Until every document arrived, or nothing new came for 10 s; the time
    // is taken at the last document seen.
    let mut last = (documents.load(Ordering::Relaxed), Instant::now());
    while last.0 < total && last.1.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(2)).await;
        let seen = documents.load(Ordering::Relaxed);
        if seen != last.0 {
            last = (seen, Instant::now());
        }
    }
    let elapsed = last.1 - started;
    let delivered = documents.load(Ordering::Relaxed);
    let peak_rss = peak_rss_kb(pid);
    let _ = child.kill();
    let _ = child.wait();
    println!(
        "{}: {delivered}/{total} segment documents in {:.2} s (requests sent in {:.2} s, {} refused): {:.0} spans/s; RSS idle {} kB, peak {} kB",
        command[0],
        elapsed.as_secs_f64(),
        sent_in.as_secs_f64(),
        refused.load(Ordering::Relaxed),
        delivered as f64 / elapsed.as_secs_f64(),
        idle_rss.map_or("?".into(), |k| k.to_string()),
        peak_rss.map_or("?".into(), |k| k.to_string()),
    );
    Ok(())
}
