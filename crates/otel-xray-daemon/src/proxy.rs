//! The sampling proxy on the daemon's TCP port: the X-Ray SDKs POST `/GetSamplingRules` and
//! `/SamplingTargets` here unsigned; the request is signed with SigV4 (signing name `xray`)
//! and sent to the X-Ray API, and the answer — status, content type and body — goes back
//! unchanged. Anything else gets 404. An X-Ray that cannot be reached gets 502.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::backend::{classify_error, Backend};
use crate::counters::{BackendErrorKind, DaemonCounters};

/// The paths the X-Ray SDKs use (the X-Ray API's own paths).
pub const PROXIED_PATHS: [&str; 2] = ["/GetSamplingRules", "/SamplingTargets"];

/// Largest request body accepted (sampling requests are a few KB).
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Credentials are fetched again this long before they expire.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(60);

/// What the proxy forwards with.
struct Upstream {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    backend: Backend,
    counters: Arc<DaemonCounters>,
    /// The last credentials: with `-r`, each fetch is an STS AssumeRole call, and every SDK
    /// on the host polls targets every 10 s.
    credentials: Mutex<Option<Credentials>>,
}

impl Upstream {
    async fn credentials(&self) -> Result<Credentials, String> {
        let usable = |c: &Credentials| {
            c.expiry()
                .is_none_or(|e| e > SystemTime::now() + REFRESH_BEFORE_EXPIRY)
        };
        let cached = self
            .credentials
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(c) = cached.filter(usable) {
            return Ok(c);
        }
        let provider = self
            .backend
            .sdk
            .credentials_provider()
            .ok_or("no AWS credentials provider")?;
        let fresh = provider
            .provide_credentials()
            .await
            .map_err(|e| format!("no AWS credentials: {e}"))?;
        *self
            .credentials
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(fresh.clone());
        Ok(fresh)
    }
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
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()?
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(SamplingProxy {
            listener,
            upstream: Arc::new(Upstream {
                client,
                backend,
                counters,
                credentials: Mutex::new(None),
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
    let credentials = upstream.credentials().await.map_err(other)?;
    sign_request(
        &upstream.backend.region,
        credentials,
        &mut request,
        &url,
        &body,
    )
    .map_err(other)?;
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

/// Adds the SigV4 headers for `credentials` in `region`.
fn sign_request(
    region: &str,
    credentials: Credentials,
    request: &mut Request<Full<Bytes>>,
    url: &str,
    body: &[u8],
) -> Result<(), String> {
    let identity = credentials.into();
    let mut settings = SigningSettings::default();
    settings
        .excluded_headers
        .get_or_insert_with(Vec::new)
        .push(Cow::Borrowed("expect"));
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("xray")
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .map_err(|e| format!("signing parameters: {e}"))?
        .into();
    let headers: Vec<(&str, &str)> = request
        .headers()
        .iter()
        .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?)))
        .collect();
    let signable =
        SignableRequest::new("POST", url, headers.into_iter(), SignableBody::Bytes(body))
            .map_err(|e| format!("request cannot be signed: {e}"))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| format!("request cannot be signed: {e}"))?
        .into_parts();
    instructions.apply_to_request_http1x(request);
    Ok(())
}
