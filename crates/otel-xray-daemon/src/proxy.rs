//! The sampling proxy on the daemon's TCP port: the X-Ray SDKs POST `/GetSamplingRules` and
//! `/SamplingTargets` here unsigned; the request is signed with SigV4 (signing name `xray`)
//! and sent to the X-Ray API, and the answer — status, content type and body — goes back
//! unchanged. Anything else gets 404. An X-Ray that cannot be reached gets 502.
//!
//! Like the daemon's other calls, the requests go through the HTTP proxy of `ProxyAddress`
//! (or `HTTPS_PROXY` for an HTTPS endpoint, `NO_PROXY` respected): through a `CONNECT`
//! tunnel, as HTTPS through a proxy always goes.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_rustls::{ConfigBuilderExt, HttpsConnector};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::{Client, ResponseFuture};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioExecutor;
use otel_xray_exporter::XraySigner;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::backend::{classify_error, Backend, ProxyRoute};
use crate::counters::{BackendErrorKind, DaemonCounters};

/// The paths the X-Ray SDKs use (the X-Ray API's own paths).
pub const PROXIED_PATHS: [&str; 2] = ["/GetSamplingRules", "/SamplingTargets"];

/// Largest request body accepted (sampling requests are a few KB).
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What the proxy forwards with.
struct Upstream {
    client: Forwarder,
    backend: Backend,
    counters: Arc<DaemonCounters>,
    /// `None` when the AWS config has no credentials provider (each request then gets 502).
    /// The signer caches expiring credentials: with `-r`, each fetch is an STS AssumeRole
    /// call, and every SDK on the host polls targets every 10 s.
    signer: Option<XraySigner>,
}

/// The sampling proxy, bound and ready to [`run`](Self::run).
pub struct SamplingProxy {
    listener: TcpListener,
    upstream: Arc<Upstream>,
}

impl std::fmt::Debug for SamplingProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SamplingProxy")
            .field("listener", &self.listener)
            .field("endpoint", &self.upstream.backend.endpoint)
            .finish_non_exhaustive()
    }
}

impl SamplingProxy {
    /// Binds `address` (the daemon's `-t`, default `127.0.0.1:2000`).
    pub async fn bind(
        address: SocketAddr,
        backend: Backend,
        counters: Arc<DaemonCounters>,
    ) -> std::io::Result<SamplingProxy> {
        let listener = TcpListener::bind(address).await?;
        let client = Forwarder::new(&backend.endpoint, backend.proxy.as_ref())?;
        let signer = backend
            .sdk
            .credentials_provider()
            .map(|provider| XraySigner::new(backend.region.clone(), provider));
        Ok(SamplingProxy {
            listener,
            upstream: Arc::new(Upstream {
                client,
                backend,
                counters,
                signer,
            }),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `stop` turns true.
    pub async fn run(self, stop: watch::Receiver<bool>) {
        let upstream = self.upstream;
        let handler = Arc::new(move |req| {
            let upstream = upstream.clone();
            async move { handle(&upstream, req).await }
        });
        crate::http_server::serve("sampling proxy", self.listener, handler, stop).await;
    }
}

/// The HTTP client to X-Ray: direct, or through a `CONNECT` tunnel of the proxy.
// One per daemon: the size of the variants does not matter.
#[allow(clippy::large_enum_variant)]
enum Forwarder {
    Direct(Client<HttpsConnector<HttpConnector>, Full<Bytes>>),
    Tunnelled(Client<TunnelConnector, Full<Bytes>>),
}

/// TLS to X-Ray, inside a `CONNECT` tunnel, over a connection to the proxy (itself HTTP or
/// HTTPS).
type TunnelConnector = HttpsConnector<Tunnel<HttpsConnector<HttpConnector>>>;

impl Forwarder {
    /// The client for `endpoint`, through `proxy` unless the proxy does not apply to it (an
    /// `http://` endpoint with `HTTPS_PROXY`, a `NO_PROXY` host).
    fn new(endpoint: &str, proxy: Option<&ProxyRoute>) -> std::io::Result<Forwarder> {
        // The system's root certificates, read once: the tunnelled client has two TLS
        // layers (X-Ray, and the proxy itself when it is `https://`).
        let tls = rustls::ClientConfig::builder()
            .with_native_roots()?
            .with_no_client_auth();
        // HTTPS or HTTP to X-Ray, and (through the tunnel) to the proxy itself.
        let connector = || {
            hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(tls.clone())
                .https_or_http()
                .enable_http1()
        };
        let client = Client::builder(TokioExecutor::new());
        let intercept = proxy.and_then(|route| {
            let matcher = Matcher::builder().no(route.direct.as_str());
            let matcher = if route.https_only {
                matcher.https(route.url.as_str())
            } else {
                matcher.all(route.url.as_str())
            };
            let uri: http::Uri = endpoint.parse().ok()?;
            matcher.build().intercept(&uri)
        });
        Ok(match intercept {
            None => Forwarder::Direct(client.build(connector().build())),
            Some(intercept) => {
                let mut tunnel = Tunnel::new(intercept.uri().clone(), connector().build());
                if let Some(auth) = intercept.basic_auth() {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                Forwarder::Tunnelled(client.build(connector().wrap_connector(tunnel)))
            }
        })
    }

    fn request(&self, request: Request<Full<Bytes>>) -> ResponseFuture {
        match self {
            Forwarder::Direct(client) => client.request(request),
            Forwarder::Tunnelled(client) => client.request(request),
        }
    }
}

fn plain(status: StatusCode, text: impl Into<String>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(text.into())));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    r
}

async fn handle(upstream: &Upstream, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    if !PROXIED_PATHS.contains(&path.as_str()) {
        return plain(
            StatusCode::NOT_FOUND,
            format!(
                "{path}: the sampling proxy serves POST /GetSamplingRules and /SamplingTargets"
            ),
        );
    }
    if req.method() != Method::POST {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "use POST");
    }
    let content_type = req.headers().get(CONTENT_TYPE).cloned();
    let body = match Limited::new(req.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(e) => return plain(StatusCode::BAD_REQUEST, format!("request body: {e}")),
    };
    match forward(upstream, &path, content_type, body).await {
        Ok(response) => {
            upstream.counters.add_proxied(true);
            response
        }
        Err((kind, why)) => {
            upstream.counters.add_proxied(false);
            upstream.counters.add_backend_error(kind);
            tracing::warn!("sampling proxy: {path} not forwarded: {why}");
            plain(StatusCode::BAD_GATEWAY, format!("X-Ray not reached: {why}"))
        }
    }
}

/// Signs and sends one request, and reads the whole answer.
async fn forward(
    upstream: &Upstream,
    path: &str,
    content_type: Option<HeaderValue>,
    body: Bytes,
) -> Result<Response<Full<Bytes>>, (BackendErrorKind, String)> {
    let other = |why: String| (BackendErrorKind::Other, why);
    let url = format!("{}{path}", upstream.backend.endpoint);
    let uri: http::Uri = url.parse().map_err(|e| other(format!("{url}: {e}")))?;
    let host = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .unwrap_or_default();
    let mut request = Request::post(uri)
        .header(HOST, host)
        .header(
            CONTENT_TYPE,
            content_type.unwrap_or(HeaderValue::from_static("application/json")),
        )
        .body(Full::new(body.clone()))
        .map_err(|e| other(e.to_string()))?;
    let signer = upstream
        .signer
        .as_ref()
        .ok_or_else(|| other("no AWS credentials provider".into()))?;
    signer
        .sign(&mut request, &body)
        .await
        .map_err(|e| other(e.to_string()))?;
    let response = upstream.client.request(request).await.map_err(|e| {
        let kind = if e.is_connect() {
            classify_error(&e)
        } else {
            BackendErrorKind::Other
        };
        (kind, e.to_string())
    })?;
    let (parts, incoming) = response.into_parts();
    if let Some(kind) = BackendErrorKind::from_status(parts.status.as_u16()) {
        // The answer still goes back unchanged; the failure is counted.
        upstream.counters.add_backend_error(kind);
    }
    let bytes = incoming
        .collect()
        .await
        .map_err(|e| other(format!("reading the answer: {e}")))?
        .to_bytes();
    let mut out = Response::new(Full::new(bytes));
    *out.status_mut() = parts.status;
    if let Some(ct) = parts.headers.get(CONTENT_TYPE) {
        out.headers_mut().insert(CONTENT_TYPE, ct.clone());
    }
    Ok(out)
}
