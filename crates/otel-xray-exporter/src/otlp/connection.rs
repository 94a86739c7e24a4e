//! The HTTP client to the OTLP endpoint: direct, or through an HTTP proxy's `CONNECT` tunnel.
//!
//! Networks that only reach AWS through a proxy name it in `HTTPS_PROXY` (curl, the AWS CLI,
//! reqwest and `opentelemetry-otlp`'s HTTP client all read it), or configure it explicitly
//! (the X-Ray daemon's `ProxyAddress`). The endpoint is HTTPS, so the proxy only carries an
//! opaque tunnel: TLS to X-Ray runs inside it, and the signed request never shows to the proxy.

use bytes::Bytes;
use http::Uri;
use http_body_util::Full;
use hyper_rustls::{ConfigBuilderExt, HttpsConnector};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::{Client, ResponseFuture};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioExecutor;

/// Which proxy, if any, the exporter's requests go through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum ProxyChoice {
    /// The environment's: `HTTPS_PROXY` for an `https://` endpoint, `HTTP_PROXY` for an
    /// `http://` one, except the hosts `NO_PROXY` lists (lower-case names too).
    #[default]
    Environment,
    /// This proxy, whatever the environment says.
    Url(String),
    /// Direct, whatever the environment says.
    Direct,
}

impl ProxyChoice {
    /// `Err(url)` when a given proxy is not an absolute `http://` or `https://` URL: the
    /// proxy matcher would ignore it, and requests would go out directly.
    pub(crate) fn check(&self) -> Result<(), &str> {
        let ProxyChoice::Url(url) = self else {
            return Ok(());
        };
        let valid = url.parse::<Uri>().is_ok_and(|uri| {
            matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some()
        });
        if valid {
            Ok(())
        } else {
            Err(url)
        }
    }

    /// The proxy to use for `endpoint`, with its credentials if the URL has any; `None`:
    /// direct.
    fn intercept(&self, endpoint: &Uri) -> Option<hyper_util::client::proxy::matcher::Intercept> {
        let matcher = match self {
            ProxyChoice::Environment => Matcher::from_env(),
            ProxyChoice::Url(url) => Matcher::builder().all(url.clone()).build(),
            ProxyChoice::Direct => return None,
        };
        matcher.intercept(endpoint)
    }
}

/// TLS to the endpoint, inside a tunnel, over a connection to the proxy (itself `http://`
/// or `https://`).
type TunnelConnector = HttpsConnector<Tunnel<HttpsConnector<HttpConnector>>>;

/// The client: one connection pool, direct or tunnelled, chosen once for the endpoint.
// One per exporter: the size of the variants does not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum HttpClient {
    Direct(Client<HttpsConnector<HttpConnector>, Full<Bytes>>),
    Tunnelled(Client<TunnelConnector, Full<Bytes>>),
}

impl HttpClient {
    /// The client for `endpoint`. Reads the system's root certificates (once: a tunnel to an
    /// `https://` proxy has two TLS layers).
    ///
    /// # Errors
    /// When the root certificates cannot be read.
    pub(crate) fn new(endpoint: &Uri, proxy: &ProxyChoice) -> std::io::Result<HttpClient> {
        let tls = rustls::ClientConfig::builder()
            .with_native_roots()?
            .with_no_client_auth();
        let connector = || {
            hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(tls.clone())
                .https_or_http()
                .enable_http1()
        };
        let client = Client::builder(TokioExecutor::new());
        Ok(match proxy.intercept(endpoint) {
            None => HttpClient::Direct(client.build(connector().build())),
            Some(intercept) => {
                tracing::debug!(
                    target: "otel_xray_exporter",
                    proxy = %intercept.uri(),
                    "OTLP requests go through the proxy"
                );
                let mut tunnel = Tunnel::new(intercept.uri().clone(), connector().build());
                if let Some(auth) = intercept.basic_auth() {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                HttpClient::Tunnelled(client.build(connector().wrap_connector(tunnel)))
            }
        })
    }

    /// Whether requests go through a proxy.
    pub(crate) fn is_tunnelled(&self) -> bool {
        matches!(self, HttpClient::Tunnelled(_))
    }

    pub(crate) fn request(&self, request: http::Request<Full<Bytes>>) -> ResponseFuture {
        match self {
            HttpClient::Direct(client) => client.request(request),
            HttpClient::Tunnelled(client) => client.request(request),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy_for(choice: &ProxyChoice, endpoint: &str) -> Option<String> {
        choice
            .intercept(&endpoint.parse().unwrap())
            .map(|i| i.uri().to_string())
    }

    #[test]
    fn a_given_proxy_applies_to_http_and_https_endpoints() {
        let choice = ProxyChoice::Url("http://proxy.internal:3128".into());
        let via = Some("http://proxy.internal:3128/".to_owned());
        assert_eq!(
            proxy_for(&choice, "https://xray.us-east-1.amazonaws.com/v1/traces"),
            via
        );
        assert_eq!(proxy_for(&choice, "http://collector:4318/v1/traces"), via);
    }

    #[test]
    fn a_proxy_that_is_not_an_http_url_is_refused() {
        for bad in [
            "proxy.internal:3128",
            "socks5://proxy:1080",
            "http://",
            "not a url",
        ] {
            assert_eq!(ProxyChoice::Url(bad.into()).check(), Err(bad), "{bad}");
        }
        for good in ["http://proxy:3128", "https://user:pw@proxy.internal"] {
            assert_eq!(ProxyChoice::Url(good.into()).check(), Ok(()), "{good}");
        }
        assert_eq!(ProxyChoice::Environment.check(), Ok(()));
    }

    #[test]
    fn direct_ignores_any_proxy() {
        assert_eq!(
            proxy_for(
                &ProxyChoice::Direct,
                "https://xray.eu-west-1.amazonaws.com/"
            ),
            None
        );
    }
}
