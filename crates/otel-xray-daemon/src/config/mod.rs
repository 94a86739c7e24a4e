//! The daemon's command line and configuration file, read as the X-Ray daemon reads them.
//!
//! Flags win over the file (`-c`), the file wins over the defaults. The file's keys are the
//! daemon's (`TotalBufferSizeMB`, `Concurrency`, `Region`, `Endpoint`, `Socket.UDPAddress`,
//! `Socket.TCPAddress`, `Logging.*`, `LocalMode`, `ResourceARN`, `RoleARN`, `NoVerifySSL`,
//! `ProxyAddress`, `Version`). A key the daemon does not have is reported as a warning with its
//! path — a typo must not silently fall back to a default — and does not stop the daemon, so
//! a file written for a newer daemon still starts.
//!
//! The keys about the network: `ProxyAddress` (`-p`) is used for every AWS SDK call and the
//! sampling proxy's requests (as is `HTTPS_PROXY` without it); `NoVerifySSL: true` is not
//! honoured — certificates are always
//! verified — and `Logging.LogRotation` is left to logrotate: both are reported at startup
//! with what to do instead ([`DaemonConfig::warnings`]).
//!
//! `args` holds the command line, `file` the YAML file's model.

mod args;
mod file;
#[cfg(test)]
mod tests;

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use crate::buffer::buffer_bytes;
use crate::otlp::{DEFAULT_GRPC_ADDRESS, DEFAULT_HTTP_ADDRESS};
use file::{read_file, FileConfig};

pub use args::{daemon_style_args, DaemonArgs};

/// The daemon's default UDP and TCP address.
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:2000";

/// The daemon's default number of concurrent PutTraceSegments calls.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// How long shutdown waits for the buffer to drain unless told otherwise.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The `-c` file could not be read.
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The `-c` file is not YAML, or a key has the wrong type.
    #[error("configuration file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the YAML parser said.
        message: String,
    },
    /// An address that does not parse or resolve.
    #[error("{what} {value:?} is not an address (want HOST:PORT, e.g. 127.0.0.1:2000)")]
    Address {
        /// Which setting.
        what: &'static str,
        /// Its value.
        value: String,
    },
    /// Some other value out of range.
    #[error("{0}")]
    Invalid(String),
}

/// The daemon's log levels, most verbose first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// `dev`: everything.
    Dev,
    /// `debug`.
    Debug,
    /// `info`.
    Info,
    /// `warn`.
    Warn,
    /// `error`.
    Error,
    /// `prod`, the daemon's default: info and above.
    Prod,
}

impl LogLevel {
    fn parse(value: &str) -> Result<LogLevel, ConfigError> {
        Ok(match value.to_ascii_lowercase().as_str() {
            "dev" | "trace" => LogLevel::Dev,
            "debug" => LogLevel::Debug,
            "info" => LogLevel::Info,
            "warn" | "warning" => LogLevel::Warn,
            "error" => LogLevel::Error,
            "prod" => LogLevel::Prod,
            other => {
                return Err(ConfigError::Invalid(format!(
                    "log level {other:?}: want dev, debug, info, warn, error or prod"
                )))
            }
        })
    }

    /// The `tracing` level this stands for.
    pub fn as_tracing(self) -> tracing::Level {
        match self {
            LogLevel::Dev => tracing::Level::TRACE,
            LogLevel::Debug => tracing::Level::DEBUG,
            LogLevel::Info | LogLevel::Prod => tracing::Level::INFO,
            LogLevel::Warn => tracing::Level::WARN,
            LogLevel::Error => tracing::Level::ERROR,
        }
    }
}

/// Everything the daemon runs with, resolved from flags, file and defaults.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DaemonConfig {
    /// Region to send to; `None`: from the environment (and instance metadata unless
    /// `local_mode`).
    pub region: Option<String>,
    /// UDP listen address.
    pub udp_address: SocketAddr,
    /// Sampling proxy listen address.
    pub tcp_address: SocketAddr,
    /// Buffer capacity in bytes.
    pub buffer_bytes: usize,
    /// Concurrent PutTraceSegments calls.
    pub concurrency: usize,
    /// X-Ray endpoint override.
    pub endpoint: Option<String>,
    /// Skip instance metadata.
    pub local_mode: bool,
    /// Role to assume for every AWS call.
    pub role_arn: Option<String>,
    /// The resource running the daemon (telemetry).
    pub resource_arn: Option<String>,
    /// Log level.
    pub log_level: LogLevel,
    /// Log file; `None`: standard error.
    pub log_file: Option<PathBuf>,
    /// How long shutdown waits for the buffer to drain.
    pub shutdown_timeout: Duration,
    /// Prometheus / health endpoint address.
    pub metrics_address: Option<SocketAddr>,
    /// OTLP/gRPC listen address; `None`: not listening.
    pub otlp_grpc_address: Option<SocketAddr>,
    /// OTLP/HTTP listen address; `None`: not listening.
    pub otlp_http_address: Option<SocketAddr>,
    /// Where OTLP spans go untranslated (`--otlp-endpoint`); `None`: translated into
    /// segments like everything else.
    pub otlp_endpoint: Option<OtlpEndpoint>,
    /// The HTTP proxy X-Ray calls go through (`-p` / `ProxyAddress`), as an `http://` or
    /// `https://` URL; `None`: `HTTPS_PROXY` (and `NO_PROXY`) from the environment, if set.
    pub proxy_address: Option<String>,
    /// What was accepted but is not acted on, or not understood: logged at startup.
    pub warnings: Vec<String>,
}

impl Default for DaemonConfig {
    fn default() -> DaemonConfig {
        let loopback: SocketAddr = DEFAULT_ADDRESS
            .parse()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 2000)));
        DaemonConfig {
            region: None,
            udp_address: loopback,
            tcp_address: loopback,
            buffer_bytes: buffer_bytes(None),
            concurrency: DEFAULT_CONCURRENCY,
            endpoint: None,
            local_mode: false,
            role_arn: None,
            resource_arn: None,
            log_level: LogLevel::Prod,
            log_file: None,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            metrics_address: None,
            otlp_grpc_address: DEFAULT_GRPC_ADDRESS.parse().ok(),
            otlp_http_address: DEFAULT_HTTP_ADDRESS.parse().ok(),
            otlp_endpoint: None,
            proxy_address: None,
            warnings: Vec::new(),
        }
    }
}

/// The X-Ray OTLP traces endpoint `--otlp-endpoint` sends to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OtlpEndpoint {
    /// `https://xray.<region>.amazonaws.com/v1/traces` of the daemon's region.
    Regional,
    /// This URL (a VPC endpoint, a proxy, a test server); signed for the daemon's region.
    Url(String),
}

/// An OTLP listen address: `off` (or `none`) means not listening.
fn otlp_address(
    what: &'static str,
    value: Option<&str>,
    default: &str,
) -> Result<Option<SocketAddr>, ConfigError> {
    match value.map(str::trim) {
        Some(off) if off.eq_ignore_ascii_case("off") || off.eq_ignore_ascii_case("none") => {
            Ok(None)
        }
        Some(value) => address(what, value).map(Some),
        None => address(what, default).map(Some),
    }
}

fn empty_none(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

fn address(what: &'static str, value: &str) -> Result<SocketAddr, ConfigError> {
    let bad = || ConfigError::Address {
        what,
        value: value.to_owned(),
    };
    value
        .trim()
        .to_socket_addrs()
        .map_err(|_| bad())?
        .next()
        .ok_or_else(bad)
}

/// What `NoVerifySSL: true` gets instead of skipping TLS verification.
const NO_VERIFY_SSL: &str = "NoVerifySSL: true is not honoured: TLS certificates are always \
     verified. To trust a private CA (a TLS-inspecting proxy, a private X-Ray endpoint), add it \
     to the system trust store or point SSL_CERT_FILE at a PEM bundle that holds it; a local \
     test server can be given as an http:// Endpoint.";

/// `ProxyAddress` as a URL: `http://` is assumed when no scheme is given (`proxy:3128`).
fn proxy_url(value: &str) -> Result<String, ConfigError> {
    let value = value.trim();
    let url = if value.contains("://") {
        value.to_owned()
    } else {
        format!("http://{value}")
    };
    let bad = |why: &str| {
        ConfigError::Invalid(format!(
            "ProxyAddress {value:?}: {why} (want http://HOST:PORT)"
        ))
    };
    let uri: http::Uri = url.parse().map_err(|_| bad("not a URL"))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err(bad("the scheme must be http or https"));
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    Ok(url)
}

impl DaemonConfig {
    /// Resolves the command line (and the `-c` file it names) into a configuration.
    pub fn from_args(args: &DaemonArgs) -> Result<DaemonConfig, ConfigError> {
        let (file, mut warnings) = match &args.config {
            Some(path) => read_file(path)?,
            None => (FileConfig::default(), Vec::new()),
        };
        let socket = file.socket.unwrap_or_default();
        let logging = file.logging.unwrap_or_default();
        let log_path = empty_none(logging.log_path).map(PathBuf::from);
        let udp = args
            .bind
            .clone()
            .or(empty_none(socket.udp_address))
            .unwrap_or_else(|| DEFAULT_ADDRESS.to_owned());
        let tcp = args
            .bind_tcp
            .clone()
            .or(empty_none(socket.tcp_address))
            .unwrap_or_else(|| DEFAULT_ADDRESS.to_owned());
        let concurrency = file.concurrency.unwrap_or(DEFAULT_CONCURRENCY);
        if concurrency == 0 {
            return Err(ConfigError::Invalid(
                "Concurrency must be at least 1".to_owned(),
            ));
        }
        let level = args
            .log_level
            .clone()
            .or(empty_none(logging.log_level))
            .map(|l| LogLevel::parse(&l))
            .transpose()?
            .unwrap_or(LogLevel::Prod);
        if !(args.shutdown_timeout.is_finite() && args.shutdown_timeout >= 0.0) {
            return Err(ConfigError::Invalid(format!(
                "--shutdown-timeout {}: want a number of seconds, 0 or more",
                args.shutdown_timeout
            )));
        }
        let otlp_endpoint = args.otlp_endpoint.as_deref().map(|url| match url.trim() {
            "" => OtlpEndpoint::Regional,
            url => OtlpEndpoint::Url(url.to_owned()),
        });
        let proxy_address = args
            .proxy_address
            .clone()
            .or(empty_none(file.proxy_address))
            .map(|p| proxy_url(&p))
            .transpose()?;
        if file.no_verify_ssl == Some(true) {
            warnings.push(NO_VERIFY_SSL.to_owned());
        }
        let log_file = args.log_file.clone().or(log_path);
        if let Some(path) = log_file
            .as_ref()
            .filter(|_| logging.log_rotation != Some(false))
        {
            warnings.push(format!(
                "Logging.LogRotation: {} is not rotated by otel-xray; rotate it with logrotate \
                 and copytruncate (the file is opened for appending, so writing goes on after a \
                 truncate), or leave the log on standard error for journald or the container \
                 runtime. LogRotation: false in the configuration file acknowledges this.",
                path.display()
            ));
        }
        if let Some(v) = file.version.filter(|v| *v != 1 && *v != 2) {
            warnings.push(format!(
                "Version {v}: unknown configuration format version; read as version 2"
            ));
        }
        Ok(DaemonConfig {
            region: args.region.clone().or(empty_none(file.region)),
            udp_address: address("UDP address", &udp)?,
            tcp_address: address("TCP address", &tcp)?,
            buffer_bytes: buffer_bytes(args.buffer_memory.or(file.total_buffer_size_mb)),
            concurrency,
            endpoint: args.endpoint.clone().or(empty_none(file.endpoint)),
            local_mode: args.local_mode || file.local_mode.unwrap_or(false),
            role_arn: args.role_arn.clone().or(empty_none(file.role_arn)),
            resource_arn: args.resource_arn.clone().or(empty_none(file.resource_arn)),
            log_level: level,
            log_file,
            shutdown_timeout: Duration::from_secs_f64(args.shutdown_timeout),
            metrics_address: args
                .metrics
                .as_deref()
                .map(|m| address("metrics address", m))
                .transpose()?,
            otlp_grpc_address: otlp_address(
                "OTLP/gRPC address",
                args.otlp_grpc.as_deref(),
                DEFAULT_GRPC_ADDRESS,
            )?,
            otlp_http_address: otlp_address(
                "OTLP/HTTP address",
                args.otlp_http.as_deref(),
                DEFAULT_HTTP_ADDRESS,
            )?,
            otlp_endpoint,
            proxy_address,
            warnings,
        })
    }
}
