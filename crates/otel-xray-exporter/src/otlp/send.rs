//! One request to the OTLP endpoint: compress, sign, send, retry, and read the
//! answer.

use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_smithy_types::error::display::DisplayErrorContext;
use backon::{BackoffBuilder, ExponentialBuilder};
use bytes::Bytes;
use http::header::{CONTENT_ENCODING, CONTENT_TYPE, HOST, RETRY_AFTER, USER_AGENT};
use http::{HeaderValue, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use tokio::sync::OnceCell;
use tokio::time::Instant;

use super::connection::{HttpClient, ProxyChoice};
use super::Compression;
use crate::delivery_stats::{DeliveryCounters, DropReason};
use crate::sigv4::XraySigner;

/// The rejection code counted for spans refused in a `partial_success`.
pub(crate) const PARTIAL_SUCCESS: &str = "partial_success";

/// What happened to one request's spans.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Accepted, except `rejected` spans named in `partial_success`.
    Sent { rejected: u64 },
    /// Refused as a whole with a status that retrying cannot change.
    Rejected { status: u16, message: String },
    /// Given up by the exporter.
    Dropped { reason: DropReason, cause: String },
}

/// Region and credentials, resolved once the AWS config is loaded.
pub(crate) struct Resolved {
    /// The builder's region, else the config's.
    pub(crate) region: Option<String>,
    /// `None` without a region or a credentials provider; each request then
    /// fails naming the missing one.
    signer: Option<XraySigner>,
    /// The AWS config, for API calls beside the OTLP requests.
    #[cfg_attr(not(feature = "api"), allow(dead_code))]
    pub(crate) config: SdkConfig,
}

/// Everything needed to put one request on the wire.
pub(crate) struct Sender {
    client: HttpClient,
    endpoint: Uri,
    host: HeaderValue,
    region_override: Option<String>,
    /// Credentials and region; `None`: `aws_config::load_defaults` on first use.
    sdk_config: Option<SdkConfig>,
    resolved: OnceCell<Resolved>,
    compression: Compression,
    backoff: ExponentialBuilder,
    pub(crate) counters: DeliveryCounters,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("endpoint", &self.endpoint)
            .field("region_override", &self.region_override)
            .field("compression", &self.compression)
            .field("through_proxy", &self.client.is_tunnelled())
            .finish_non_exhaustive()
    }
}

impl Sender {
    pub(crate) fn new(
        endpoint: Uri,
        region_override: Option<String>,
        sdk_config: Option<SdkConfig>,
        compression: Compression,
        proxy: &ProxyChoice,
        counters: DeliveryCounters,
    ) -> std::io::Result<Sender> {
        let client = HttpClient::new(&endpoint, proxy)?;
        let authority = endpoint.authority().map(|a| a.as_str()).unwrap_or_default();
        let host = HeaderValue::from_str(authority)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        Ok(Sender {
            client,
            endpoint,
            host,
            region_override,
            sdk_config,
            resolved: OnceCell::new(),
            compression,
            backoff: ExponentialBuilder::default()
                .with_jitter()
                .with_min_delay(Duration::from_millis(100))
                .with_max_delay(Duration::from_secs(5))
                .without_max_times(),
            counters,
        })
    }

    pub(crate) async fn resolved(&self) -> &Resolved {
        self.resolved
            .get_or_init(|| async {
                let config = match &self.sdk_config {
                    Some(config) => config.clone(),
                    None => aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await,
                };
                let region = self
                    .region_override
                    .clone()
                    .or_else(|| config.region().map(ToString::to_string));
                let signer = region
                    .clone()
                    .zip(config.credentials_provider())
                    .map(|(region, provider)| XraySigner::new(region, provider));
                Resolved {
                    region,
                    signer,
                    config,
                }
            })
            .await
    }

    /// Compresses once; each attempt is signed anew (fresh time, current
    /// credentials).
    fn compress(&self, body: Vec<u8>) -> Result<Bytes, String> {
        match self.compression {
            Compression::None => Ok(Bytes::from(body)),
            Compression::Gzip => {
                use std::io::Write;
                let mut encoder = flate2::write::GzEncoder::new(
                    Vec::with_capacity(body.len() / 4),
                    flate2::Compression::default(),
                );
                encoder
                    .write_all(&body)
                    .and_then(|()| encoder.finish())
                    .map(Bytes::from)
                    .map_err(|e| format!("gzip failed: {e}"))
            }
        }
    }

    /// A signed request for `body`.
    async fn signed_request(&self, body: &Bytes) -> Result<Request<Full<Bytes>>, String> {
        let resolved = self.resolved().await;
        let signer = match (&resolved.signer, &resolved.region) {
            (Some(signer), _) => signer,
            (None, None) => {
                return Err(
                    "no AWS region: set one with with_region, AWS_REGION or the profile, \
                            or pass an SdkConfig that has one"
                        .into(),
                )
            }
            (None, Some(_)) => return Err(
                "no AWS credentials provider in the AWS config (credentials are needed to sign)"
                    .into(),
            ),
        };

        let mut request = Request::post(self.endpoint.clone())
            .header(HOST, self.host.clone())
            .header(CONTENT_TYPE, "application/x-protobuf")
            .header(USER_AGENT, concat!("otel-xray/", env!("CARGO_PKG_VERSION")))
            .body(Full::new(body.clone()))
            .map_err(|e| format!("request could not be built: {e}"))?;
        if self.compression == Compression::Gzip {
            request
                .headers_mut()
                .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }

        signer
            .sign(&mut request, body)
            .await
            .map_err(|e| e.to_string())?;
        Ok(request)
    }

    /// Sends one encoded request of `spans` spans, retrying throttling, 502,
    /// 503, 504 and connection errors until `deadline`.
    pub(crate) async fn send(&self, body: Vec<u8>, spans: u64, deadline: Instant) -> Outcome {
        let body = match self.compress(body) {
            Ok(body) => body,
            Err(cause) => {
                return Outcome::Dropped {
                    reason: DropReason::Misconfigured,
                    cause,
                }
            }
        };
        let mut delays = self.backoff.build();
        loop {
            let request = match self.signed_request(&body).await {
                Ok(request) => request,
                Err(cause) => {
                    return Outcome::Dropped {
                        reason: DropReason::Misconfigured,
                        cause,
                    }
                }
            };
            let attempt = tokio::time::timeout_at(deadline, self.attempt(request)).await;
            let (cause, retry_after) = match attempt {
                Err(_elapsed) => {
                    return Outcome::Dropped {
                        reason: DropReason::Timeout,
                        cause: "the export timeout ran out before the endpoint answered".into(),
                    }
                }
                Ok(Attempt::Done(outcome)) => return outcome,
                Ok(Attempt::Retry { cause, retry_after }) => (cause, retry_after),
            };
            let delay = delays
                .next()
                .unwrap_or_default()
                .max(retry_after.unwrap_or_default());
            if Instant::now() + delay >= deadline {
                return Outcome::Dropped {
                    reason: DropReason::RetryBudgetExhausted,
                    cause: format!("{cause}; no time left in the export timeout to retry"),
                };
            }
            tracing::debug!(%cause, ?delay, "OTLP endpoint request will be retried");
            tokio::time::sleep(delay).await;
            self.counters.add_retried(spans);
        }
    }

    async fn attempt(&self, request: Request<Full<Bytes>>) -> Attempt {
        let response = match self.client.request(request).await {
            Ok(response) => response,
            Err(e) => {
                return Attempt::Retry {
                    cause: format!("connection error: {}", DisplayErrorContext(e)),
                    retry_after: None,
                }
            }
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let body = match response.into_body().collect().await {
            Ok(body) => body.to_bytes(),
            Err(e) => {
                return Attempt::Retry {
                    cause: format!("connection error reading the answer: {e}"),
                    retry_after: None,
                }
            }
        };
        if status.is_success() {
            let rejected = match ExportTraceServiceResponse::decode(body) {
                Ok(answer) => answer.partial_success.map_or(0, |partial| {
                    if partial.rejected_spans > 0 || !partial.error_message.is_empty() {
                        tracing::warn!(
                            rejected_spans = partial.rejected_spans,
                            message = %partial.error_message,
                            "the OTLP endpoint accepted the request in part"
                        );
                    }
                    u64::try_from(partial.rejected_spans).unwrap_or_default()
                }),
                // A success whose body is not an OTLP answer still accepted the spans.
                Err(_) => 0,
            };
            return Attempt::Done(Outcome::Sent { rejected });
        }
        let message = body_message(&body);
        if is_retryable(status) {
            return Attempt::Retry {
                cause: format!("HTTP {status}: {message}"),
                retry_after,
            };
        }
        Attempt::Done(Outcome::Rejected {
            status: status.as_u16(),
            message,
        })
    }
}

enum Attempt {
    Done(Outcome),
    Retry {
        cause: String,
        retry_after: Option<Duration>,
    },
}

/// Throttling and the gateway errors that a later attempt can get past.
fn is_retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 502 | 503 | 504)
}

/// `Retry-After` as delay-seconds or an HTTP date.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(SystemTime::now()).unwrap_or_default())
}

/// The error text of a refusal, shortened for logs and errors.
fn body_message(body: &[u8]) -> String {
    const MAX: usize = 512;
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".into();
    }
    let end = text.floor_char_boundary(MAX.min(text.len()));
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        assert_eq!(parse_retry_after(" 3 "), Some(Duration::from_secs(3)));
        let later = SystemTime::now() + Duration::from_secs(120);
        let parsed = parse_retry_after(&httpdate::fmt_http_date(later)).unwrap();
        assert!(parsed > Duration::from_secs(100) && parsed <= Duration::from_secs(120));
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn only_throttling_and_gateway_errors_are_retried() {
        for code in [429, 502, 503, 504] {
            assert!(is_retryable(StatusCode::from_u16(code).unwrap()), "{code}");
        }
        for code in [400, 403, 404, 413, 500, 501] {
            assert!(!is_retryable(StatusCode::from_u16(code).unwrap()), "{code}");
        }
    }

    #[test]
    fn body_message_is_bounded_and_utf8_safe() {
        let long = "é".repeat(1000);
        let message = body_message(long.as_bytes());
        assert!(message.len() <= 512);
        assert!(message.chars().all(|c| c == 'é'));
        assert_eq!(body_message(b"  "), "(empty body)");
    }
}
