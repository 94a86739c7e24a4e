//! SigV4 for requests to X-Ray (signing name `xray`), with the credentials cache
//! every long-running signer needs. One signer for the OTLP endpoint exporter and
//! the daemon's sampling proxy, so both sign the same headers the same way.

use std::borrow::Cow;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_types::error::display::DisplayErrorContext;

/// The SigV4 signing name of X-Ray.
pub const XRAY_SIGNING_NAME: &str = "xray";

/// Credentials are re-resolved when they expire within this margin, so a
/// request never leaves with credentials about to lapse in flight.
pub const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(60);

/// Why a request could not be signed. The message names the cause.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SigningError {
    /// The credentials provider failed.
    #[error("credentials could not be resolved: {0}")]
    Credentials(String),
    /// The request or the signing parameters were not signable.
    #[error("request could not be signed: {0}")]
    Sign(String),
}

/// Signs requests to X-Ray with SigV4 for one region and credentials provider.
///
/// * Credentials with an expiry are cached until [`REFRESH_BEFORE_EXPIRY`]
///   before it (a provider call may be an STS round trip); credentials without
///   one are resolved for every request (static and environment credentials
///   are cheap to read, and a rotated secret is picked up at once).
/// * Every header the request has when it is signed is signed, except those
///   proxies may add or change: `Expect`, and the defaults of `aws-sigv4`
///   (`Authorization`, `User-Agent`, `X-Amzn-Trace-Id`, `Transfer-Encoding`).
///   A compressed body is signed as sent, with its `Content-Encoding`.
///
/// ```
/// use aws_credential_types::provider::SharedCredentialsProvider;
/// use aws_credential_types::Credentials;
/// use otel_xray_exporter::XraySigner;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let credentials = Credentials::new("AKIDEXAMPLE", "secret", None, None, "example");
/// let signer = XraySigner::new("eu-west-1", SharedCredentialsProvider::new(credentials));
/// let body = br#"{"NextToken":null}"#;
/// let mut request = http::Request::post("https://xray.eu-west-1.amazonaws.com/GetSamplingRules")
///     .header("host", "xray.eu-west-1.amazonaws.com")
///     .body(())
///     .unwrap();
/// signer.sign(&mut request, body).await.unwrap();
/// assert!(request.headers()["authorization"]
///     .to_str()
///     .unwrap()
///     .contains("/eu-west-1/xray/aws4_request"));
/// # });
/// ```
#[derive(Debug)]
pub struct XraySigner {
    region: String,
    provider: SharedCredentialsProvider,
    cached: Mutex<Option<Credentials>>,
}

impl XraySigner {
    /// A signer for `region` with credentials from `provider`.
    pub fn new(region: impl Into<String>, provider: SharedCredentialsProvider) -> XraySigner {
        XraySigner {
            region: region.into(),
            provider,
            cached: Mutex::new(None),
        }
    }

    /// The region requests are signed for.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Current credentials: the cached ones while they are not about to
    /// expire, else freshly resolved.
    async fn credentials(&self) -> Result<Credentials, SigningError> {
        let cached = self
            .cached
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let fresh = |c: &Credentials| {
            c.expiry()
                .is_some_and(|expiry| expiry > SystemTime::now() + REFRESH_BEFORE_EXPIRY)
        };
        if let Some(credentials) = cached.filter(fresh) {
            return Ok(credentials);
        }
        let credentials = self
            .provider
            .provide_credentials()
            .await
            .map_err(|e| SigningError::Credentials(DisplayErrorContext(e).to_string()))?;
        *self.cached.lock().unwrap_or_else(PoisonError::into_inner) = Some(credentials.clone());
        Ok(credentials)
    }

    /// Adds the SigV4 headers (`Authorization`, `X-Amz-Date`, and
    /// `X-Amz-Security-Token` for session credentials) to `request`, whose
    /// body is `body`, signed now with the current credentials.
    ///
    /// # Errors
    ///
    /// The credentials could not be resolved, or the request is not signable
    /// (e.g. a header value that is not visible ASCII).
    pub async fn sign<B>(
        &self,
        request: &mut http::Request<B>,
        body: &[u8],
    ) -> Result<(), SigningError> {
        let identity = self.credentials().await?.into();
        let mut settings = SigningSettings::default();
        settings
            .excluded_headers
            .get_or_insert_with(Vec::new)
            .push(Cow::Borrowed("expect"));
        let sign_error = |e: &dyn std::error::Error| SigningError::Sign(e.to_string());
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(XRAY_SIGNING_NAME)
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .map_err(|e| sign_error(&e))?
            .into();
        let uri = request.uri().to_string();
        let headers = request
            .headers()
            .iter()
            .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)));
        let signable = SignableRequest::new(
            request.method().as_str(),
            uri.as_str(),
            headers,
            SignableBody::Bytes(body),
        )
        .map_err(|e| SigningError::Sign(DisplayErrorContext(e).to_string()))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| SigningError::Sign(DisplayErrorContext(e).to_string()))?
            .into_parts();
        instructions.apply_to_request_http1x(request);
        Ok(())
    }
}
