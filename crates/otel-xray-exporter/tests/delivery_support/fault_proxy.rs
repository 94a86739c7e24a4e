//! A loopback HTTP proxy in front of moto that injects X-Ray failures from a
//! script: throttling and 5xx storms, partial `UnprocessedTraceSegments`,
//! slow answers, connection resets, and answers lost after moto stored the
//! documents. Everything it does not intercept goes to moto unchanged.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};

/// What the proxy does with one request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer with this status and modelled error type, without forwarding.
    Status(u16, &'static str),
    /// Wait, then forward.
    Delay(Duration),
    /// Forward only every other document; report the held-back ones as
    /// `UnprocessedTraceSegments` with this error code.
    HoldBackHalf(&'static str),
    /// Reset the connection (TCP RST) without forwarding.
    Reset,
    /// Forward, let moto store the documents, then reset the connection
    /// instead of answering: the client cannot know the call succeeded.
    ForwardThenReset,
    /// Forward, let moto store the documents, then hold the answer back for
    /// this long (past the client's deadline).
    ForwardThenStall(Duration),
}

/// The status [`Seen::statuses`] records for a request that got no answer.
pub const NO_ANSWER: u16 = 0;

/// What the proxy saw.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// Documents in each PutTraceSegments request, in arrival order.
    pub requests: Vec<usize>,
    /// The answer's status for each request ([`NO_ANSWER`] for a reset or a
    /// stall).
    pub statuses: Vec<u16>,
    /// The most PutTraceSegments requests in flight at once.
    pub max_in_flight: usize,
}

#[derive(Debug)]
struct State {
    upstream: String,
    script: Mutex<VecDeque<Fault>>,
    /// Applied when the script is exhausted; `None` forwards.
    otherwise: Option<Fault>,
    seen: Mutex<Seen>,
    /// Notified whenever `seen` changes.
    seen_changed: Condvar,
    in_flight: AtomicUsize,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// The running proxy; stops with its runtime when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    state: Arc<State>,
    _runtime: tokio::runtime::Runtime,
}

impl FaultProxy {
    /// Starts on `port` (0 for any) in front of `upstream` (moto's URL),
    /// applying `script` to the first requests, then `otherwise` to all
    /// others.
    pub fn start(
        port: u16,
        upstream: &str,
        script: Vec<Fault>,
        otherwise: Option<Fault>,
    ) -> FaultProxy {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let state = Arc::new(State {
            upstream: upstream.trim_end_matches('/').to_owned(),
            script: Mutex::new(script.into()),
            otherwise,
            seen: Mutex::new(Seen::default()),
            seen_changed: Condvar::new(),
            in_flight: AtomicUsize::new(0),
            client: Client::builder(TokioExecutor::new()).build_http(),
        });
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(("127.0.0.1", port)))
            .expect("bind proxy");
        let addr = listener.local_addr().unwrap();
        let st = state.clone();
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                // Closing with SO_LINGER 0 sends an RST: a service error
                // (how `Reset` aborts) then resets the connection instead of
                // closing it politely. The proxy never closes a connection
                // with an answer still unsent, so nothing else changes.
                stream.set_zero_linger().expect("SO_LINGER 0");
                let st = st.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| handle(st.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        FaultProxy {
            addr,
            state,
            _runtime: runtime,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What was seen so far.
    pub fn seen(&self) -> Seen {
        self.state.seen.lock().unwrap().clone()
    }

    /// Waits until what was seen satisfies `done` and returns it.
    ///
    /// # Panics
    /// When `limit` passes first.
    pub fn wait_for(&self, done: impl Fn(&Seen) -> bool, limit: Duration) -> Seen {
        let deadline = Instant::now() + limit;
        let mut seen = self.state.seen.lock().unwrap();
        while !done(&seen) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "not seen within {limit:?}: {seen:?}");
            seen = self.state.seen_changed.wait_timeout(seen, left).unwrap().0;
        }
        seen.clone()
    }
}

fn documents_of(body: &[u8]) -> Vec<String> {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["TraceSegmentDocuments"].as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|d| d.as_str().map(str::to_owned))
        .collect()
}

fn reply(status: u16, body: String, error_type: Option<&str>) -> Response<Full<Bytes>> {
    let mut b = Response::builder()
        .status(status)
        .header("content-type", "application/json");
    if let Some(t) = error_type {
        b = b.header("x-amzn-errortype", t);
    }
    b.body(Full::new(Bytes::from(body))).unwrap()
}

/// Counts a request as in flight while alive.
struct InFlight(Arc<State>);

impl InFlight {
    fn enter(st: &Arc<State>) -> InFlight {
        let now = st.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        let mut seen = st.seen.lock().unwrap();
        seen.max_in_flight = seen.max_in_flight.max(now);
        InFlight(st.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The service error that makes hyper drop (and so reset) the connection.
fn reset_connection(
    st: &State,
    is_put: bool,
    docs: usize,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    record(st, is_put, docs, NO_ANSWER);
    Err(std::io::Error::new(
        std::io::ErrorKind::ConnectionReset,
        "reset by the test proxy",
    ))
}

async fn handle(
    st: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let _in_flight = (req.uri().path() == "/TraceSegments").then(|| InFlight::enter(&st));
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let is_put = parts.uri.path() == "/TraceSegments";
    let fault = if is_put {
        let next = st.script.lock().unwrap().pop_front();
        next.or_else(|| st.otherwise.clone())
    } else {
        None
    };
    let docs = documents_of(&body);
    let mut held = Vec::new();
    let mut forward_body = body.clone();
    match &fault {
        Some(Fault::Status(status, error_type)) => {
            let resp = reply(
                *status,
                serde_json::json!({"__type": error_type, "message": "injected by the test proxy"})
                    .to_string(),
                Some(error_type),
            );
            record(&st, is_put, docs.len(), *status);
            return Ok(resp);
        }
        Some(Fault::Delay(d)) => tokio::time::sleep(*d).await,
        Some(Fault::Reset) => return reset_connection(&st, is_put, docs.len()),
        Some(Fault::HoldBackHalf(_)) => {
            let (mut keep, mut hold) = (Vec::new(), Vec::new());
            for (i, d) in docs.iter().enumerate() {
                if i % 2 == 0 {
                    keep.push(d.clone())
                } else {
                    hold.push(d.clone())
                }
            }
            held = hold;
            forward_body =
                Bytes::from(serde_json::json!({"TraceSegmentDocuments": keep}).to_string());
        }
        Some(Fault::ForwardThenReset | Fault::ForwardThenStall(_)) | None => {}
    }
    let uri = format!(
        "{}{}",
        st.upstream,
        parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
    );
    let mut up = Request::builder().method(parts.method.clone()).uri(uri);
    for (k, v) in parts.headers.iter() {
        if k != "content-length" && k != "host" {
            up = up.header(k, v);
        }
    }
    let up = up
        .header("content-length", forward_body.len())
        .body(Full::new(forward_body))
        .unwrap();
    // The call to moto runs as its own task: a client that stops waiting (its
    // deadline passed) must not cancel it half-way, or whether moto stored the
    // documents, and whether the stall was recorded, would depend on timing.
    let stall = matches!(fault, Some(Fault::ForwardThenStall(_)));
    let upstream = {
        let (st, n) = (st.clone(), docs.len());
        tokio::spawn(async move {
            let answer = match st.client.request(up).await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let body = resp
                        .into_body()
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .unwrap_or_default();
                    Ok((status, body))
                }
                Err(e) => Err(e.to_string()),
            };
            if stall && answer.is_ok() {
                record(&st, is_put, n, NO_ANSWER);
            }
            answer
        })
    };
    let (status, resp_body) = match upstream.await {
        Ok(Ok(answer)) => answer,
        Ok(Err(e)) => {
            record(&st, is_put, docs.len(), 502);
            return Ok(reply(
                502,
                format!("{{\"message\":\"upstream: {e}\"}}"),
                None,
            ));
        }
        Err(e) => return Err(std::io::Error::other(e)),
    };
    match &fault {
        Some(Fault::ForwardThenReset) => return reset_connection(&st, is_put, docs.len()),
        Some(Fault::ForwardThenStall(d)) => {
            // Recorded by the upstream task, once moto answered.
            tokio::time::sleep(*d).await;
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "answer held back by the test proxy",
            ));
        }
        _ => {}
    }
    let resp_body = match (&fault, status) {
        (Some(Fault::HoldBackHalf(code)), 200) => {
            let mut v: serde_json::Value = serde_json::from_slice(&resp_body).unwrap_or_default();
            let mut list = v["UnprocessedTraceSegments"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for d in &held {
                let doc: serde_json::Value = serde_json::from_str(d).unwrap_or_default();
                list.push(serde_json::json!({"Id": doc["id"], "ErrorCode": code, "Message": "held back by the test proxy"}));
            }
            v["UnprocessedTraceSegments"] = list.into();
            Bytes::from(v.to_string())
        }
        _ => resp_body,
    };
    record(&st, is_put, docs.len(), status);
    Ok(reply(
        status,
        String::from_utf8_lossy(&resp_body).into_owned(),
        None,
    ))
}

fn record(st: &State, is_put: bool, docs: usize, status: u16) {
    if is_put {
        let mut seen = st.seen.lock().unwrap();
        seen.requests.push(docs);
        seen.statuses.push(status);
        st.seen_changed.notify_all();
    }
}
