//! A loopback stand-in for X-Ray's `GetSamplingRules` (`POST /GetSamplingRules`) and
//! `GetSamplingTargets` (`POST /SamplingTargets`), which moto does not implement. It speaks the
//! restJson1 bodies aws-sdk-xray sends and records what it received.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_xray::config::retry::RetryConfig;
use aws_sdk_xray::config::timeout::TimeoutConfig;
use aws_sdk_xray::config::{BehaviorVersion, Credentials, Region};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;

/// One request as received: path, headers (name, value) and body.
pub type Recorded = (String, Vec<(String, String)>, Vec<u8>);

/// What the fake serves and what it saw.
#[derive(Debug, Default)]
pub struct State {
    /// When false every call answers 503 `ServiceUnavailable`.
    pub up: bool,
    /// `SamplingRule` objects served by `GetSamplingRules`.
    pub rules: Vec<Value>,
    /// Rules per page; more rules are paginated with `NextToken`.
    pub page_size: usize,
    /// Target document (without `RuleName`) returned for each reported rule that has one here.
    pub targets: HashMap<String, Value>,
    /// `LastRuleModification` returned by `GetSamplingTargets` (epoch seconds).
    pub last_rule_modification: Option<f64>,
    /// `UnprocessedStatistics` returned by `GetSamplingTargets`.
    pub unprocessed: Vec<Value>,
    pub rules_calls: usize,
    pub targets_calls: usize,
    /// Every statistics document received, in order.
    pub statistics: Vec<Value>,
    /// How many statistics documents each `GetSamplingTargets` request carried.
    pub statistics_per_request: Vec<usize>,
    /// How many `GetSamplingRules` pages were served.
    pub rules_pages: usize,
    /// Every request as received.
    pub requests: Vec<Recorded>,
}

pub struct FakeXray {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeXray {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub fn epoch_secs(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

/// A rule as X-Ray serves it, matching everything unless fields are overridden.
pub fn rule(name: &str, priority: i32, fixed_rate: f64, reservoir: i32) -> Value {
    json!({
        "RuleName": name,
        "RuleARN": format!("arn:aws:xray:us-east-1:123456789012:sampling-rule/{name}"),
        "ResourceARN": "*",
        "Priority": priority,
        "FixedRate": fixed_rate,
        "ReservoirSize": reservoir,
        "ServiceName": "*",
        "ServiceType": "*",
        "Host": "*",
        "HTTPMethod": "*",
        "URLPath": "*",
        "Version": 1,
        "Attributes": {}
    })
}

fn json_response(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body.to_string())));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert("content-type", "application/json".parse().expect("static"));
    if !status.is_success() {
        let kind = body["__type"].as_str().unwrap_or("Error").to_owned();
        resp.headers_mut()
            .insert("x-amzn-errortype", kind.parse().expect("ascii"));
    }
    resp
}

fn handle(
    state: &Mutex<State>,
    path: &str,
    headers: Vec<(String, String)>,
    body: &[u8],
) -> Response<Full<Bytes>> {
    let mut s = state.lock().expect("fake state");
    s.requests.push((path.to_owned(), headers, body.to_vec()));
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    match path {
        "/GetSamplingRules" => s.rules_calls += 1,
        "/SamplingTargets" => s.targets_calls += 1,
        _ => {}
    }
    if !s.up {
        return json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"__type": "ServiceUnavailable", "message": "fake X-Ray is down"}),
        );
    }
    match path {
        "/GetSamplingRules" => {
            let start: usize = request["NextToken"]
                .as_str()
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            let size = s.page_size.max(1);
            let end = (start + size).min(s.rules.len());
            let records: Vec<Value> = s.rules[start.min(end)..end]
                .iter()
                .map(|r| json!({"SamplingRule": r, "CreatedAt": 1.0, "ModifiedAt": 1.0}))
                .collect();
            s.rules_pages += 1;
            let mut out = json!({ "SamplingRuleRecords": records });
            if end < s.rules.len() {
                out["NextToken"] = json!(end.to_string());
            }
            json_response(StatusCode::OK, out)
        }
        "/SamplingTargets" => {
            let docs = request["SamplingStatisticsDocuments"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let mut targets = Vec::new();
            for d in &docs {
                let name = d["RuleName"].as_str().unwrap_or_default();
                if let Some(t) = s.targets.get(name) {
                    let mut t = t.clone();
                    t["RuleName"] = json!(name);
                    targets.push(t);
                }
            }
            s.statistics_per_request.push(docs.len());
            s.statistics.extend(docs);
            let mut out = json!({
                "SamplingTargetDocuments": targets,
                "UnprocessedStatistics": s.unprocessed.clone(),
            });
            if let Some(m) = s.last_rule_modification {
                out["LastRuleModification"] = json!(m);
            }
            json_response(StatusCode::OK, out)
        }
        _ => json_response(
            StatusCode::NOT_FOUND,
            json!({"__type": "NotFound", "message": path}),
        ),
    }
}

impl FakeXray {
    /// Starts on 127.0.0.1 (free port) on the current runtime, up, serving `rules`.
    pub async fn start(rules: Vec<Value>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(Mutex::new(State {
            up: true,
            rules,
            page_size: 100,
            ..State::default()
        }));
        let shared = Arc::clone(&state);
        let server = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = Arc::clone(&shared);
                connections.spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let state = Arc::clone(&state);
                        async move {
                            let path = req.uri().path().to_owned();
                            let headers = req
                                .headers()
                                .iter()
                                .map(|(n, v)| {
                                    (
                                        n.to_string(),
                                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                                    )
                                })
                                .collect();
                            let body = req.into_body().collect().await?.to_bytes();
                            Ok::<_, hyper::Error>(handle(&state, &path, headers, &body))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            state,
            server,
        }
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("fake state")
    }

    /// `(GetSamplingRules calls, GetSamplingTargets calls)` so far.
    pub fn calls(&self) -> (usize, usize) {
        let s = self.state();
        (s.rules_calls, s.targets_calls)
    }

    /// An X-Ray client pointed at the fake: us-east-1, static test credentials, no retries.
    pub fn client(&self) -> aws_sdk_xray::Client {
        client_for(&format!("http://{}", self.addr))
    }
}

pub fn client_for(endpoint: &str) -> aws_sdk_xray::Client {
    let config = aws_sdk_xray::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(
            "AKIDFAKEXRAY",
            "fake-secret",
            None,
            None,
            "fake-xray",
        ))
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(10))
                .build(),
        )
        .build();
    aws_sdk_xray::Client::from_conf(config)
}

/// Polls `condition` every 20 ms for up to 20 s (generous for a loaded machine).
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for: {what}");
}
