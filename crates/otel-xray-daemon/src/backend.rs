//! The AWS side: region, credentials (with `-r` assumed through STS), the X-Ray client with
//! the endpoint override, and the interceptor that counts failed attempts by kind for the
//! daemon's `BackendConnectionErrors`.

use std::error::Error as StdError;
use std::sync::Arc;

use otel_xray_exporter::aws_config::{self, BehaviorVersion, Region, SdkConfig};
use otel_xray_exporter::aws_sdk_xray;
use otel_xray_exporter::aws_sdk_xray::config::interceptors::FinalizerInterceptorContextRef;
use otel_xray_exporter::aws_sdk_xray::config::{ConfigBag, Intercept, RuntimeComponents};
use otel_xray_exporter::aws_sdk_xray::error::BoxError;

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::{pool, tls};

use crate::config::DaemonConfig;
use crate::counters::{BackendErrorKind, DaemonCounters};

/// Why the daemon cannot reach X-Ray at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// No region from the flags, the file, the environment or instance metadata.
    #[error("no AWS region: give -n/--region, Region in the config file, or set AWS_REGION")]
    NoRegion,
    /// The endpoint override is not an http(s) URL.
    #[error("endpoint {0:?} is not an http:// or https:// URL")]
    BadEndpoint(String),
    /// The HTTP client for `ProxyAddress` / `HTTPS_PROXY` could not be built.
    #[error("proxy {proxy}: {reason}")]
    Proxy {
        /// The proxy (`ProxyAddress`, or `HTTPS_PROXY` from the environment).
        proxy: String,
        /// What went wrong.
        reason: String,
    },
}

/// The X-Ray client and what the sampling proxy and telemetry need beside it.
#[derive(Debug, Clone)]
pub struct Backend {
    /// The shared AWS configuration (credentials already wrapped for `-r`).
    pub sdk: SdkConfig,
    /// The X-Ray client: endpoint override and error counting applied.
    pub client: aws_sdk_xray::Client,
    /// The region in use.
    pub region: String,
    /// Base URL of the X-Ray API (no trailing `/`), where the sampling proxy forwards to.
    pub endpoint: String,
    /// The HTTP proxy outgoing calls go through, if any.
    pub(crate) proxy: Option<ProxyRoute>,
}

impl Backend {
    /// Loads region and credentials the way the daemon does and builds the X-Ray client.
    pub async fn connect(
        config: &DaemonConfig,
        counters: Arc<DaemonCounters>,
    ) -> Result<Backend, BackendError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        let proxy = ProxyRoute::choose(config.proxy_address.as_deref());
        if let Some(route) = &proxy {
            loader = loader.http_client(proxied_http_client(route)?);
        }
        if let Some(region) = &config.region {
            loader = loader.region(Region::new(region.clone()));
        } else if config.local_mode {
            // Local mode: the environment and the profile, never instance metadata.
            use aws_config::environment::EnvironmentVariableRegionProvider;
            use aws_config::meta::region::RegionProviderChain;
            use aws_config::profile::ProfileFileRegionProvider;
            loader = loader.region(
                RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new())
                    .or_else(ProfileFileRegionProvider::new()),
            );
        }
        let mut sdk = loader.load().await;
        let region = sdk.region().ok_or(BackendError::NoRegion)?.to_string();
        if let Some(role) = &config.role_arn {
            let provider = aws_config::sts::AssumeRoleProvider::builder(role.clone())
                .session_name("otel-xray-daemon")
                .configure(&sdk)
                .build()
                .await;
            sdk = sdk
                .into_builder()
                .credentials_provider(
                    aws_credential_types::provider::SharedCredentialsProvider::new(provider),
                )
                .build();
        }
        let endpoint = match &config.endpoint {
            Some(e) if e.starts_with("http://") || e.starts_with("https://") => {
                e.trim_end_matches('/').to_owned()
            }
            Some(e) => return Err(BackendError::BadEndpoint(e.clone())),
            None => format!("https://xray.{region}.amazonaws.com"),
        };
        let mut xray =
            aws_sdk_xray::config::Builder::from(&sdk).interceptor(AttemptErrors { counters });
        if config.endpoint.is_some() {
            xray = xray.endpoint_url(endpoint.clone());
        }
        Ok(Backend {
            client: aws_sdk_xray::Client::from_conf(xray.build()),
            sdk,
            region,
            endpoint,
            proxy,
        })
    }
}

/// Never through a proxy: the instance metadata service and the ECS / EKS credential
/// endpoints are link-local, a proxy would reach its own (or none).
const LINK_LOCAL: &str = "169.254.0.0/16,fd00:ec2::254,fd00:ec2::23";

/// The HTTP proxy the daemon's outgoing calls go through, as the X-Ray daemon picks it:
/// `ProxyAddress` for all traffic, else `HTTPS_PROXY` from the environment for HTTPS.
/// Link-local addresses and `NO_PROXY` go direct.
#[derive(Debug, Clone)]
pub(crate) struct ProxyRoute {
    /// The proxy's URL.
    pub(crate) url: String,
    /// Where it came from, for errors and logs (`http://proxy:3128` or `HTTPS_PROXY …`).
    pub(crate) shown: String,
    /// `HTTPS_PROXY` applies to HTTPS only; `ProxyAddress` to everything.
    pub(crate) https_only: bool,
    /// The hosts and networks called directly (`NO_PROXY` format).
    pub(crate) direct: String,
}

impl ProxyRoute {
    /// The route for `proxy_address` (`-p` / `ProxyAddress`) and the environment; `None`
    /// when neither names a proxy.
    pub(crate) fn choose(proxy_address: Option<&str>) -> Option<ProxyRoute> {
        let env = |names: [&str; 2]| {
            names
                .iter()
                .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
        };
        let direct = match env(["NO_PROXY", "no_proxy"]) {
            Some(no_proxy) => format!("{LINK_LOCAL},{no_proxy}"),
            None => LINK_LOCAL.to_owned(),
        };
        let (url, shown, https_only) = match (proxy_address, env(["HTTPS_PROXY", "https_proxy"])) {
            (Some(url), _) => (url.to_owned(), url.to_owned(), false),
            (None, Some(url)) => (url.clone(), format!("HTTPS_PROXY {url}"), true),
            (None, None) => return None,
        };
        Some(ProxyRoute {
            url,
            shown,
            https_only,
            direct,
        })
    }

    fn error(&self, reason: impl ToString) -> BackendError {
        BackendError::Proxy {
            proxy: self.shown.clone(),
            reason: reason.to_string(),
        }
    }
}

/// The HTTP client for every AWS SDK call (X-Ray, STS) through `route`.
fn proxied_http_client(route: &ProxyRoute) -> Result<pool::Client, BackendError> {
    let proxy = if route.https_only {
        ProxyConfig::https(route.url.as_str())
    } else {
        ProxyConfig::all(route.url.as_str())
    };
    let pool = pool::ConnectionPool::builder()
        .proxy_config(
            proxy
                .map_err(|e| route.error(e))?
                .no_proxy(route.direct.as_str()),
        )
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .build_https()
        .map_err(|e| route.error(e))?;
    pool::Client::new(&pool).map_err(|e| route.error(e))
}

/// Counts every failed attempt of every X-Ray call (retries included) by kind.
#[derive(Debug)]
struct AttemptErrors {
    counters: Arc<DaemonCounters>,
}

impl Intercept for AttemptErrors {
    fn name(&self) -> &'static str {
        "otel_xray_daemon_backend_errors"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(status) = context.response().map(|r| r.status().as_u16()) {
            if let Some(kind) = BackendErrorKind::from_status(status) {
                self.counters.add_backend_error(kind);
            }
            return Ok(());
        }
        if let Some(Err(e)) = context.output_or_error() {
            let kind = if e.is_timeout_error() {
                BackendErrorKind::Timeout
            } else {
                classify_error(e)
            };
            self.counters.add_backend_error(kind);
        }
        Ok(())
    }
}

/// The kind of a transport error, from its chain of causes.
pub(crate) fn classify_error(error: &(dyn StdError + 'static)) -> BackendErrorKind {
    let mut cause: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = cause {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    return BackendErrorKind::ConnectionRefused
                }
                std::io::ErrorKind::TimedOut => return BackendErrorKind::Timeout,
                _ => {}
            }
        }
        let text = e.to_string();
        if text.contains("dns error") || text.contains("failed to lookup address") {
            return BackendErrorKind::UnknownHost;
        }
        if text.contains("Connection refused") {
            return BackendErrorKind::ConnectionRefused;
        }
        cause = e.source();
    }
    BackendErrorKind::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrapped(std::io::Error);
    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("client error (Connect)")
        }
    }
    impl StdError for Wrapped {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn kinds_from_the_cause_chain() {
        let refused = Wrapped(std::io::ErrorKind::ConnectionRefused.into());
        assert_eq!(
            classify_error(&refused),
            BackendErrorKind::ConnectionRefused
        );
        let timeout = Wrapped(std::io::ErrorKind::TimedOut.into());
        assert_eq!(classify_error(&timeout), BackendErrorKind::Timeout);
        let dns = Wrapped(std::io::Error::other(
            "dns error: failed to lookup address information",
        ));
        assert_eq!(classify_error(&dns), BackendErrorKind::UnknownHost);
        let other = Wrapped(std::io::Error::other("tls handshake eof"));
        assert_eq!(classify_error(&other), BackendErrorKind::Other);
    }
}
