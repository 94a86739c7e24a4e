//! A real HTTP proxy on loopback: forwards absolute-form requests (`POST http://host/path`)
//! and tunnels `CONNECT host:port`, as squid or tinyproxy do, and records what it was asked.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};

/// The running proxy; its tasks run on the tokio runtime that started it, and end with it.
#[derive(Debug, Clone)]
pub struct HttpProxy {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl HttpProxy {
    /// Starts the proxy on a free loopback port. Call inside a multi-thread tokio runtime.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub async fn start() -> HttpProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("bound address"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let keep = seen.clone();
        let upstream =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<Full<Bytes>>();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (keep, upstream) = (keep.clone(), upstream.clone());
                let service =
                    hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let (keep, upstream) = (keep.clone(), upstream.clone());
                        async move {
                            keep.lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner)
                                .push(format!("{} {}", req.method(), req.uri()));
                            if req.method() == http::Method::CONNECT {
                                return Ok::<_, Infallible>(tunnel(req));
                            }
                            Ok::<_, Infallible>(forward(req, &upstream).await)
                        }
                    });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .with_upgrades(),
                );
            }
        });
        HttpProxy { url, seen }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Each request it was asked, in order: `CONNECT 127.0.0.1:PORT` for a tunnel,
    /// `POST http://host/path` for a forwarded request.
    pub fn seen(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// Sends an absolute-form request on, without the proxy's own headers; 502 when the target
/// cannot be reached.
async fn forward(
    req: http::Request<hyper::body::Incoming>,
    upstream: &hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        Full<Bytes>,
    >,
) -> http::Response<Full<Bytes>> {
    let (mut parts, body) = req.into_parts();
    parts.headers.remove("proxy-connection");
    parts.headers.remove("proxy-authorization");
    let body = match body.collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) => return bad_gateway(e.to_string()),
    };
    match upstream
        .request(http::Request::from_parts(parts, Full::new(body)))
        .await
    {
        Ok(answer) => {
            let (parts, body) = answer.into_parts();
            match body.collect().await {
                Ok(body) => http::Response::from_parts(parts, Full::new(body.to_bytes())),
                Err(e) => bad_gateway(e.to_string()),
            }
        }
        Err(e) => bad_gateway(e.to_string()),
    }
}

fn bad_gateway(why: String) -> http::Response<Full<Bytes>> {
    let mut answer = http::Response::new(Full::new(Bytes::from(why)));
    *answer.status_mut() = http::StatusCode::BAD_GATEWAY;
    answer
}

/// Answers a `CONNECT` with 200 and then relays bytes both ways to its target.
fn tunnel(req: http::Request<hyper::body::Incoming>) -> http::Response<Full<Bytes>> {
    let Some(target) = req.uri().authority().map(|a| a.to_string()) else {
        let mut answer = http::Response::new(Full::new(Bytes::from("CONNECT needs host:port")));
        *answer.status_mut() = http::StatusCode::BAD_REQUEST;
        return answer;
    };
    tokio::spawn(async move {
        let Ok(client) = hyper::upgrade::on(req).await else {
            return;
        };
        let Ok(mut server) = tokio::net::TcpStream::connect(target).await else {
            return;
        };
        let mut client = hyper_util::rt::TokioIo::new(client);
        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
    });
    http::Response::new(Full::new(Bytes::new()))
}
