//! The loads: X-Ray SDK segments over UDP (as fast as the collector takes
//! them, or paced) and OTLP/gRPC export requests.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{BufMut, Bytes};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use tonic::codec::{Codec, EncodeBuf, Encoder};
use tonic_prost::ProstCodec;

use crate::process::{udp_drops, udp_socket};
use crate::sink::{now_ns, Sink, SENT_STAMP};

/// A typical X-Ray SDK segment datagram (about 600 bytes), with a fresh id and
/// the send time stamped in an annotation.
pub fn segment_datagram(n: u64) -> Vec<u8> {
    let sent = now_ns();
    let start = sent as f64 / 1e9;
    format!(
        concat!(
            "{{\"format\":\"json\",\"version\":1}}\n",
            "{{\"name\":\"checkout\",\"id\":\"{id:016x}\",",
            "\"trace_id\":\"1-{secs:08x}-a006649127e37190{n:08x}\",",
            "\"start_time\":{start:.6},\"end_time\":{end:.6},",
            "\"http\":{{\"request\":{{\"method\":\"POST\",\"url\":\"https://shop.example/checkout\",",
            "\"client_ip\":\"78.255.233.48\",\"user_agent\":\"Mozilla/5.0\"}},",
            "\"response\":{{\"status\":201,\"content_length\":312}}}},",
            "\"annotations\":{{\"order\":\"A-17\",\"customer_tier\":\"gold\",{stamp}{sent}}},",
            "\"aws\":{{\"xray\":{{\"sdk\":\"X-Ray for Python\",\"sdk_version\":\"2.14.0\"}}}},",
            "\"service\":{{\"version\":\"1.4.2\"}},\"origin\":\"AWS::ECS::Container\"}}"
        ),
        id = n + 1,
        secs = sent / 1_000_000_000,
        n = n as u32,
        start = start,
        end = start + 0.178,
        stamp = SENT_STAMP,
        sent = sent,
    )
    .into_bytes()
}

/// How many queued bytes the flood allows per datagram it sends between two
/// looks at the collector's socket queue: a look reads all of `/proc/net/udp`
/// (a quarter of the load's CPU when done every 32 datagrams). A 600-byte
/// datagram takes about 2 KiB of the queue's budget on loopback, so what is
/// sent blind stays within two thirds of the allowed queue.
const QUEUE_BYTES_PER_UNCHECKED_DATAGRAM: u64 = 3 * 1024;

/// Sends `count` segments as fast as the collector takes them: at most
/// `window` of them on their way (sent, not yet at the sink, not dropped by
/// the kernel), and never more than `max_queued` bytes waiting in the
/// collector's socket queue, so the kernel's default queue (about 100
/// datagrams) is not simply overrun by the first burst. Returns the datagrams
/// sent.
pub fn udp_flood(
    to: SocketAddr,
    count: u64,
    window: u64,
    max_queued: u64,
    sink: &Sink,
    baseline: u64,
) -> u64 {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("a loopback UDP socket");
    let drops_before = udp_drops(to.port());
    let datagrams: Vec<Vec<u8>> = (0..1000).map(segment_datagram).collect();
    let check_every = (max_queued / QUEUE_BYTES_PER_UNCHECKED_DATAGRAM).max(1);
    for n in 0..count {
        loop {
            let settled = sink.documents() - baseline;
            let (queued, drops) = if n % check_every == 0 || n >= settled + window {
                udp_socket(to.port())
            } else {
                (0, drops_before)
            };
            if queued <= max_queued && n < settled + (drops - drops_before) + window {
                break;
            }
            std::thread::sleep(Duration::from_micros(100));
        }
        // Loopback only refuses when the receiver is gone; that shows as missing documents.
        let _ = socket.send_to(&datagrams[(n % 1000) as usize], to);
    }
    count
}

/// Sends `rate` segments a second for `seconds`, each stamped with its send
/// time. Returns the datagrams sent.
pub fn udp_paced(to: SocketAddr, rate: u64, seconds: u64) -> u64 {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("a loopback UDP socket");
    let total = rate * seconds;
    let started = Instant::now();
    for n in 0..total {
        let due = started + Duration::from_secs_f64(n as f64 / rate as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let _ = socket.send_to(&segment_datagram(n), to);
    }
    total
}

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
/// annotation and an error status, under a fresh trace per request, in one named scope.
pub fn otlp_request(n: u64, spans: u64) -> ExportTraceServiceRequest {
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
                // As every OpenTelemetry SDK's export names its instrumentation scope.
                scope: Some(InstrumentationScope {
                    name: "checkout-http".into(),
                    version: "1.4.2".into(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// What the OTLP load got back.
#[derive(Debug, Default)]
pub struct OtlpAnswers {
    /// Requests answered `RESOURCE_EXHAUSTED`/`UNAVAILABLE` and sent again, as
    /// an OTLP exporter does.
    pub retried: u64,
    /// Requests that failed otherwise (their spans are not delivered).
    pub failed: u64,
}

/// The OTLP trace service's one method.
const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// Sends requests encoded beforehand as they are; answers are decoded with
/// prost, as any client's.
struct PreEncoded;

impl Codec for PreEncoded {
    type Encode = Bytes;
    type Decode = ExportTraceServiceResponse;
    type Encoder = PassThrough;
    type Decoder = <ProstCodec<(), ExportTraceServiceResponse> as Codec>::Decoder;

    fn encoder(&mut self) -> PassThrough {
        PassThrough
    }

    fn decoder(&mut self) -> Self::Decoder {
        ProstCodec::<(), ExportTraceServiceResponse>::default().decoder()
    }
}

struct PassThrough;

impl Encoder for PassThrough {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

/// Sends `prepared` (encoded `ExportTraceServiceRequest`s) over `concurrency`
/// streams of one channel.
pub async fn otlp(
    channel: tonic::transport::Channel,
    prepared: Arc<Vec<Bytes>>,
    concurrency: u64,
) -> OtlpAnswers {
    let (retried, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let requests = prepared.len() as u64;
    let mut senders = Vec::new();
    for worker in 0..concurrency {
        let (mut client, prepared) = (tonic::client::Grpc::new(channel.clone()), prepared.clone());
        let (retried, failed) = (retried.clone(), failed.clone());
        senders.push(tokio::spawn(async move {
            for n in (worker..requests).step_by(concurrency as usize) {
                loop {
                    if let Err(e) = client.ready().await {
                        eprintln!("gRPC channel not ready: {e}");
                        failed.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    let request = tonic::Request::new(prepared[n as usize].clone());
                    let path = http::uri::PathAndQuery::from_static(EXPORT_PATH);
                    match client.unary(request, path, PreEncoded).await {
                        Ok(_) => break,
                        Err(s)
                            if matches!(
                                s.code(),
                                tonic::Code::ResourceExhausted | tonic::Code::Unavailable
                            ) =>
                        {
                            retried.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                        Err(_) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                    }
                }
            }
        }));
    }
    for sender in senders {
        let _ = sender.await;
    }
    OtlpAnswers {
        retried: retried.load(Ordering::Relaxed),
        failed: failed.load(Ordering::Relaxed),
    }
}
