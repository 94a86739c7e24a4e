//! A loopback HTTP server standing in for the X-Ray OTLP endpoint, with
//! scripted faults, and an independent SigV4 check by botocore.
#![allow(dead_code)]

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Read;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::KeyValue;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use prost::Message;

pub const REGION: &str = "us-west-2";

/// The answer to one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 200 with an empty `ExportTraceServiceResponse`.
    Accept,
    /// 200 with `partial_success`.
    Partial { rejected: i64, message: String },
    /// This status, an optional `Retry-After`, and a body.
    Status {
        code: u16,
        retry_after: Option<String>,
        body: String,
    },
    /// Close the connection without answering.
    Reset,
    /// Wait, then answer as [`Reply::Accept`].
    SlowAccept(Duration),
}

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// What the server answered.
    pub reply: String,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body, gunzipped when `Content-Encoding: gzip`, decoded.
    pub fn decode(&self) -> ExportTraceServiceRequest {
        let raw = if self.header("content-encoding") == Some("gzip") {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&self.body[..])
                .read_to_end(&mut out)
                .expect("gzip body");
            out
        } else {
            self.body.clone()
        };
        ExportTraceServiceRequest::decode(&raw[..]).expect("OTLP protobuf body")
    }

    /// `Credential=<key id>/...` of the Authorization header.
    pub fn access_key_id(&self) -> String {
        let auth = self.header("authorization").expect("signed request");
        let credential = auth.split("Credential=").nth(1).expect("credential");
        credential.split('/').next().unwrap().to_owned()
    }

    pub fn signed_headers(&self) -> Vec<String> {
        let auth = self.header("authorization").expect("signed request");
        let list = auth.split("SignedHeaders=").nth(1).expect("signed headers");
        list.split(',')
            .next()
            .unwrap()
            .split(';')
            .map(str::to_owned)
            .collect()
    }
}

type Script = dyn Fn(usize) -> Reply + Send + Sync;

/// Requests being answered now, and the most there ever were at once.
#[derive(Debug, Default)]
struct InFlight {
    now: usize,
    max: usize,
}

/// The running server; stops with its runtime when dropped.
pub struct Sink {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    in_flight: Arc<Mutex<InFlight>>,
    _runtime: tokio::runtime::Runtime,
}

impl Sink {
    /// Answers request `n` (0-based, in arrival order) with `script(n)`.
    pub fn start(script: impl Fn(usize) -> Reply + Send + Sync + 'static) -> Sink {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Script> = Arc::new(script);
        let seen = Arc::clone(&received);
        let in_flight = Arc::new(Mutex::new(InFlight::default()));
        let busy = Arc::clone(&in_flight);
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let seen = Arc::clone(&seen);
                let script = Arc::clone(&script);
                let busy = Arc::clone(&busy);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let busy = Arc::clone(&busy);
                        {
                            let mut b = busy.lock().unwrap();
                            b.now += 1;
                            b.max = b.max.max(b.now);
                        }
                        let answer = handle(req, Arc::clone(&seen), Arc::clone(&script));
                        async move {
                            let answer = answer.await;
                            busy.lock().unwrap().now -= 1;
                            answer
                        }
                    });
                    // A Reset ends the connection with an error: that is the point.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Sink {
            addr,
            received,
            in_flight,
            _runtime: runtime,
        }
    }

    pub fn url(&self) -> String {
        format!("{}/v1/traces", self.base_url())
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// The most requests the server was answering at once.
    pub fn max_in_flight(&self) -> usize {
        self.in_flight.lock().unwrap().max
    }
}

async fn handle(
    req: Request<Incoming>,
    seen: Arc<Mutex<Vec<Received>>>,
    script: Arc<Script>,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let headers = req
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let body = req
        .into_body()
        .collect()
        .await
        .map_err(std::io::Error::other)?;
    let reply = {
        let mut seen = seen.lock().unwrap();
        let reply = script(seen.len());
        seen.push(Received {
            method,
            path,
            headers,
            body: body.to_bytes().to_vec(),
            reply: format!("{reply:?}"),
        });
        reply
    };
    let response = match reply {
        Reply::Accept => ok(ExportTraceServiceResponse::default()),
        Reply::SlowAccept(delay) => {
            tokio::time::sleep(delay).await;
            ok(ExportTraceServiceResponse::default())
        }
        Reply::Partial { rejected, message } => ok(ExportTraceServiceResponse {
            partial_success: Some(ExportTracePartialSuccess {
                rejected_spans: rejected,
                error_message: message,
            }),
        }),
        Reply::Status {
            code,
            retry_after,
            body,
        } => {
            let mut response = Response::builder().status(code);
            if let Some(after) = retry_after {
                response = response.header("retry-after", after);
            }
            response.body(Full::new(Bytes::from(body))).unwrap()
        }
        Reply::Reset => return Err(std::io::Error::other("reset on purpose")),
    };
    Ok(response)
}

fn ok(answer: ExportTraceServiceResponse) -> Response<Full<Bytes>> {
    Response::builder()
        .status(200)
        .header("content-type", "application/x-protobuf")
        .body(Full::new(Bytes::from(answer.encode_to_vec())))
        .unwrap()
}

/// Secret and session token of each access key id the test handed out.
pub type Secrets = HashMap<String, (String, Option<String>)>;

/// Recomputes every request's signature with botocore's `SigV4Auth` from the
/// request's signed headers, body and `X-Amz-Date`; returns one line per
/// request that does not match (empty: all match).
pub fn botocore_mismatches(url: &str, requests: &[Received], secrets: &Secrets) -> Vec<String> {
    let items: Vec<serde_json::Value> = requests
        .iter()
        .map(|r| {
            let key = r.access_key_id();
            let (secret, token) = secrets.get(&key).cloned().unwrap_or_default();
            serde_json::json!({
                "method": r.method,
                "url": url,
                "headers": r.headers,
                "body_hex": hex(&r.body),
                "access_key": key,
                "secret_key": secret,
                "token": token,
                "region": REGION,
            })
        })
        .collect();
    otel_xray_testkit::botocore_sigv4_verdicts(&items)
        .iter()
        .enumerate()
        .filter(|(_, v)| v["ok"] != true)
        .map(|(i, v)| format!("request {i}: {v}"))
        .collect()
}

/// What botocore's parser, with its own X-Ray service model, makes of an
/// answer to `operation`: proof that the stand-in server speaks the API.
pub fn botocore_parse(operation: &str, status: u16, body: &str) -> serde_json::Value {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/otlp_support/parse_xray_response.py"
    );
    let output = Command::new("python3")
        .args([script, operation, &status.to_string(), body])
        .output()
        .expect("python3 with botocore");
    assert!(
        output.status.success(),
        "parser failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// An AWS config for [`REGION`] with static credentials `key` / `secret` (no session token).
pub fn static_config(key: &str, secret: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .region(aws_config::Region::new(REGION))
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new(key, secret, None, None, "test"),
            ),
        )
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build()
}

/// A forwarding and tunnelling HTTP proxy on loopback, on its own runtime, which lives as
/// long as the test holds it.
pub fn loopback_proxy() -> (tokio::runtime::Runtime, otel_xray_testkit::HttpProxy) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let proxy = runtime.block_on(otel_xray_testkit::HttpProxy::start());
    (runtime, proxy)
}

/// A sampled span `index` of trace `trace`, started `age` ago, lasting 10 ms.
pub fn span(trace: u128, index: u64, age: Duration, attrs: Vec<KeyValue>) -> SpanData {
    let start = SystemTime::now() - age;
    SpanData {
        span_context: SpanContext::new(
            TraceId::from(trace),
            SpanId::from(index + 1),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ),
        parent_span_id: SpanId::INVALID,
        parent_span_is_remote: false,
        span_kind: SpanKind::Server,
        name: Cow::Owned(format!("span-{index}")),
        start_time: start,
        end_time: start + Duration::from_millis(10),
        attributes: attrs,
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::Unset,
        instrumentation_scope: Default::default(),
    }
}
