//! A stand-in X-Ray OTLP endpoint on loopback (`--otlp-endpoint`): keeps every request and
//! answers each as a script says, holding answers back until released when told to.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use tokio::sync::watch;

/// How the endpoint answers one request.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    /// 200 with an empty `ExportTraceServiceResponse`.
    Accept,
    /// This status, with this message as the body.
    Refuse(u16, &'static str),
    /// 200 once [`EndpointSink::release`] is called.
    HoldThenAccept,
}

/// The running endpoint; stops when the test's runtime does.
pub struct EndpointSink {
    url: String,
    seen: Arc<Mutex<Vec<http::Request<Bytes>>>>,
    arrived: watch::Receiver<usize>,
    release: watch::Sender<bool>,
}

impl EndpointSink {
    /// Answers request `n` (0-based, in arrival order) with `script(n)`.
    pub async fn start(script: impl Fn(usize) -> Answer + Send + Sync + 'static) -> EndpointSink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1/traces", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (count, arrived) = watch::channel(0usize);
        let (release, released) = watch::channel(false);
        let (keep, script, count) = (seen.clone(), Arc::new(script), Arc::new(count));
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let (keep, script, count) = (keep.clone(), script.clone(), count.clone());
                let released = released.clone();
                let service =
                    hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let (keep, script, count) = (keep.clone(), script.clone(), count.clone());
                        let mut released = released.clone();
                        async move {
                            let (parts, body) = req.into_parts();
                            let body: Bytes = body.collect().await.unwrap().to_bytes();
                            let n = {
                                let mut keep = keep.lock().unwrap();
                                keep.push(http::Request::from_parts(parts, body));
                                keep.len() - 1
                            };
                            count.send_replace(n + 1);
                            let (status, text) = match script(n) {
                                Answer::Accept => (200, ""),
                                Answer::Refuse(status, text) => (status, text),
                                Answer::HoldThenAccept => {
                                    let _ = released.wait_for(|r| *r).await;
                                    (200, "")
                                }
                            };
                            let content_type = if status == 200 {
                                "application/x-protobuf"
                            } else {
                                "text/plain"
                            };
                            let answer = http::Response::builder()
                                .status(status)
                                .header("content-type", content_type)
                                .body(Full::new(Bytes::from_static(text.as_bytes())))
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
        EndpointSink {
            url,
            seen,
            arrived,
            release,
        }
    }

    /// `http://127.0.0.1:PORT/v1/traces`.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<http::Request<Bytes>> {
        self.seen.lock().unwrap().clone()
    }

    /// Waits until `n` requests have arrived (panics after `limit`).
    pub async fn wait_for_requests(&self, n: usize, limit: Duration) -> Vec<http::Request<Bytes>> {
        let mut arrived = self.arrived.clone();
        tokio::time::timeout(limit, arrived.wait_for(|got| *got >= n))
            .await
            .unwrap_or_else(|_| panic!("{n} requests did not reach the endpoint in {limit:?}"))
            .unwrap();
        self.requests()
    }

    /// Lets every held answer (and every later one) go.
    pub fn release(&self) {
        self.release.send_replace(true);
    }
}
