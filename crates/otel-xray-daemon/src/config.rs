//! The daemon's command line and configuration file, read as the X-Ray daemon reads them.
//!
//! Flags win over the file (`-c`), the file wins over the defaults. The file's keys are the
//! daemon's (`TotalBufferSizeMB`, `Concurrency`, `Region`, `Endpoint`, `Socket.UDPAddress`,
//! `Socket.TCPAddress`, `Logging.*`, `LocalMode`, `ResourceARN`, `RoleARN`, `NoVerifySSL`,
//! `ProxyAddress`, `Version`). A key the daemon does not have is reported as a warning with its
//! path — a typo must not silently fall back to a default — and does not stop the daemon, so
//! a file written for a newer daemon still starts.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::buffer::buffer_bytes;
use crate::otlp::{DEFAULT_GRPC_ADDRESS, DEFAULT_HTTP_ADDRESS};

/// The daemon's default UDP and TCP address.
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:2000";

/// The daemon's default number of concurrent PutTraceSegments calls.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// How long shutdown waits for the buffer to drain unless told otherwise.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// The `otel-xray daemon` command line: the X-Ray daemon's flags, plus `--endpoint`,
/// `--shutdown-timeout` and `--metrics`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DaemonArgs {
    /// Send segments to X-Ray in this region (default: AWS_REGION, the profile, or instance
    /// metadata).
    #[arg(short = 'n', long)]
    pub region: Option<String>,
    /// UDP address to receive segments on (default 127.0.0.1:2000).
    #[arg(short = 'b', long = "bind", value_name = "ADDRESS")]
    pub bind: Option<String>,
    /// TCP address of the sampling proxy (default 127.0.0.1:2000).
    #[arg(short = 't', long = "bind-tcp", value_name = "ADDRESS")]
    pub bind_tcp: Option<String>,
    /// Memory for buffered segments, in MB (minimum 3; 0 = 1 % of host memory).
    #[arg(short = 'm', long = "buffer-memory", value_name = "MB")]
    pub buffer_memory: Option<u64>,
    /// Do not look up the region in EC2 instance metadata.
    #[arg(short = 'o', long = "local-mode")]
    pub local_mode: bool,
    /// Assume this IAM role to upload (e.g. into another account).
    #[arg(short = 'r', long = "role-arn", value_name = "ARN")]
    pub role_arn: Option<String>,
    /// ARN of the resource running the daemon, sent with the telemetry.
    #[arg(short = 'a', long = "resource-arn", value_name = "ARN")]
    pub resource_arn: Option<String>,
    /// YAML configuration file with the X-Ray daemon's keys.
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log level: dev, debug, info, warn, error, prod (default; = info).
    #[arg(short = 'l', long = "log-level", value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Write logs to this file instead of standard error.
    #[arg(short = 'f', long = "log-file", value_name = "FILE")]
    pub log_file: Option<PathBuf>,
    /// Upload through this HTTP proxy (not supported yet; reported at startup).
    #[arg(short = 'p', long = "proxy-address", value_name = "ADDRESS")]
    pub proxy_address: Option<String>,
    /// Another X-Ray endpoint (e.g. a local test server), for uploads and the sampling proxy.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Seconds to deliver what is buffered when stopping.
    #[arg(long = "shutdown-timeout", value_name = "SECONDS", default_value_t = DEFAULT_SHUTDOWN_TIMEOUT.as_secs_f64())]
    pub shutdown_timeout: f64,
    /// Serve the counters in Prometheus text format (and /healthz) on this address.
    #[arg(long, value_name = "ADDRESS")]
    pub metrics: Option<String>,
    /// OTLP/gRPC listen address (default 127.0.0.1:4317; `off` to not listen).
    #[arg(long = "otlp-grpc", value_name = "ADDRESS")]
    pub otlp_grpc: Option<String>,
    /// OTLP/HTTP listen address for POST /v1/traces (default 127.0.0.1:4318; `off` to not
    /// listen).
    #[arg(long = "otlp-http", value_name = "ADDRESS")]
    pub otlp_http: Option<String>,
    /// Send OTLP spans untranslated to the X-Ray OTLP traces endpoint (needs Transaction
    /// Search) instead of as segments: the region's endpoint, or URL. Segments from the UDP
    /// port still go to PutTraceSegments.
    #[arg(long = "otlp-endpoint", value_name = "URL", num_args = 0..=1, default_missing_value = "")]
    pub otlp_endpoint: Option<String>,
}

/// The daemon's long flag names. Its Go flag parser also takes them with one dash
/// (`-region us-east-1`, `-bind=0.0.0.0:2000`), and command lines in the wild use that form.
const DAEMON_LONG_FLAGS: &[&str] = &[
    "region",
    "bind",
    "bind-tcp",
    "buffer-memory",
    "local-mode",
    "role-arn",
    "resource-arn",
    "config",
    "log-level",
    "log-file",
    "proxy-address",
    "version",
    "help",
];

/// Rewrites the X-Ray daemon's single-dash long flags after a `daemon` subcommand into the
/// double-dash form (`-region` → `--region`), so an existing daemon command line works as is.
/// Everything else, including the short flags, is left alone.
///
/// ```
/// let argv = ["otel-xray", "daemon", "-region", "us-east-1", "-o", "-bind=0.0.0.0:2000"];
/// let out = otel_xray_daemon::daemon_style_args(argv.iter().map(|s| s.to_string()));
/// assert_eq!(out, ["otel-xray", "daemon", "--region", "us-east-1", "-o", "--bind=0.0.0.0:2000"]);
/// ```
pub fn daemon_style_args(args: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut in_daemon = false;
    args.into_iter()
        .map(|arg| {
            if !in_daemon {
                in_daemon = arg == "daemon";
                return arg;
            }
            let Some(rest) = arg.strip_prefix('-').filter(|r| !r.starts_with('-')) else {
                return arg;
            };
            let name = rest.split('=').next().unwrap_or(rest);
            if DAEMON_LONG_FLAGS.contains(&name) {
                format!("-{arg}")
            } else {
                arg
            }
        })
        .collect()
}

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

/// The daemon's configuration file, every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FileConfig {
    #[serde(rename = "TotalBufferSizeMB")]
    total_buffer_size_mb: Option<u64>,
    concurrency: Option<usize>,
    region: Option<String>,
    endpoint: Option<String>,
    socket: Option<FileSocket>,
    logging: Option<FileLogging>,
    local_mode: Option<bool>,
    #[serde(rename = "ResourceARN")]
    resource_arn: Option<String>,
    #[serde(rename = "RoleARN")]
    role_arn: Option<String>,
    #[serde(rename = "NoVerifySSL")]
    no_verify_ssl: Option<bool>,
    proxy_address: Option<String>,
    version: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
struct FileSocket {
    #[serde(rename = "UDPAddress")]
    udp_address: Option<String>,
    #[serde(rename = "TCPAddress")]
    tcp_address: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FileLogging {
    log_rotation: Option<bool>,
    log_level: Option<String>,
    log_path: Option<String>,
}

/// Every key the daemon's file format has, by path.
const KNOWN_KEYS: &[&str] = &[
    "TotalBufferSizeMB",
    "Concurrency",
    "Region",
    "Endpoint",
    "Socket",
    "Socket.UDPAddress",
    "Socket.TCPAddress",
    "Logging",
    "Logging.LogRotation",
    "Logging.LogLevel",
    "Logging.LogPath",
    "LocalMode",
    "ResourceARN",
    "RoleARN",
    "NoVerifySSL",
    "ProxyAddress",
    "Version",
];

/// Paths of the keys in `value` the daemon does not have.
fn unknown_keys(value: &serde_norway::Value, prefix: &str, out: &mut Vec<String>) {
    let Some(map) = value.as_mapping() else {
        return;
    };
    for (key, child) in map {
        let key = match key.as_str() {
            Some(k) => k.to_owned(),
            None => format!("{key:?}"),
        };
        let path = if prefix.is_empty() {
            key
        } else {
            format!("{prefix}.{key}")
        };
        if KNOWN_KEYS.contains(&path.as_str()) {
            unknown_keys(child, &path, out);
        } else {
            out.push(path);
        }
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
        if file.no_verify_ssl == Some(true) {
            warnings.push(
                "NoVerifySSL: not supported (TLS certificates are always verified)".to_owned(),
            );
        }
        if let Some(proxy) = args
            .proxy_address
            .clone()
            .or(empty_none(file.proxy_address))
        {
            warnings.push(format!(
                "ProxyAddress {proxy:?}: not supported yet; connecting to X-Ray directly"
            ));
        }
        if logging.log_rotation == Some(true) && args.log_file.is_none() && log_path.is_some() {
            warnings.push(
                "Logging.LogRotation: not supported; rotate the log file with logrotate (copytruncate)"
                    .to_owned(),
            );
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
            log_file: args.log_file.clone().or(log_path),
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
            otlp_endpoint: args.otlp_endpoint.as_deref().map(|url| match url.trim() {
                "" => OtlpEndpoint::Regional,
                url => OtlpEndpoint::Url(url.to_owned()),
            }),
            warnings,
        })
    }
}

fn read_file(path: &Path) -> Result<(FileConfig, Vec<String>), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let parse_error = |e: serde_norway::Error| ConfigError::Parse {
        path: path.to_owned(),
        message: e.to_string(),
    };
    let value: serde_norway::Value = serde_norway::from_str(&text).map_err(parse_error)?;
    if value.is_null() {
        // An empty file (or only comments): all defaults.
        return Ok((FileConfig::default(), Vec::new()));
    }
    let mut unknown = Vec::new();
    unknown_keys(&value, "", &mut unknown);
    let warnings = unknown
        .into_iter()
        .map(|k| format!("{}: unknown key {k:?} ignored", path.display()))
        .collect();
    let file = serde_norway::from_value(value).map_err(parse_error)?;
    Ok((file, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> tempfile_path::TempFile {
        tempfile_path::TempFile::new(text)
    }

    /// A file under the target dir, removed on drop.
    mod tempfile_path {
        pub struct TempFile(pub std::path::PathBuf);
        impl TempFile {
            pub fn new(text: &str) -> TempFile {
                let path = std::env::temp_dir().join(format!(
                    "otel-xray-daemon-{}-{}.yaml",
                    std::process::id(),
                    fastrand_name()
                ));
                std::fs::write(&path, text).unwrap();
                TempFile(path)
            }
        }
        impl Drop for TempFile {
            fn drop(&mut self) {
                let _ = std::fs::remove_file(&self.0);
            }
        }
        fn fastrand_name() -> u64 {
            use std::sync::atomic::{AtomicU64, Ordering};
            static N: AtomicU64 = AtomicU64::new(0);
            N.fetch_add(1, Ordering::Relaxed)
        }
    }

    fn parse(argv: &[&str]) -> Result<DaemonConfig, ConfigError> {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            args: DaemonArgs,
        }
        let cli = Cli::try_parse_from(std::iter::once("xray").chain(argv.iter().copied()))
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        DaemonConfig::from_args(&cli.args)
    }

    // The daemon's documented sample configuration file (version 2), as users have it.
    const DAEMON_SAMPLE: &str = r#"
# Maximum buffer size in MB (minimum 3). Choose 0 to use 1% of host memory.
TotalBufferSizeMB: 24
# Maximum number of concurrent calls to AWS X-Ray to upload segment documents.
Concurrency: 16
# Send segments to AWS X-Ray service in a specific region
Region: "eu-west-1"
# Change the X-Ray service endpoint to which the daemon sends segment documents.
Endpoint: "http://127.0.0.1:4566"
Socket:
  # Change the address and port on which the daemon listens for UDP packets containing segment documents.
  UDPAddress: "0.0.0.0:2000"
  # Change the address and port on which the daemon listens for HTTP requests to proxy to AWS X-Ray.
  TCPAddress: "127.0.0.1:2001"
Logging:
  LogRotation: true
  # Change the log level, from most verbose to least: dev, debug, info, warn, error, prod (default).
  LogLevel: "warn"
  # Output logs to the specified file path.
  LogPath: ""
# Turn on local mode to skip EC2 instance metadata check.
LocalMode: true
# Amazon Resource Name (ARN) of the AWS resource running the daemon.
ResourceARN: "arn:aws:ecs:eu-west-1:123456789012:task/abc"
# Assume an IAM role to upload segments to a different account.
RoleARN: ""
# Disable TLS certificate verification.
NoVerifySSL: false
# Upload segments to AWS X-Ray through a proxy.
ProxyAddress: ""
# Daemon configuration file format version.
Version: 2
"#;

    #[test]
    fn defaults_are_the_daemons() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.udp_address.to_string(), "127.0.0.1:2000");
        assert_eq!(c.tcp_address.to_string(), "127.0.0.1:2000");
        assert_eq!(c.concurrency, 8);
        assert_eq!(c.log_level, LogLevel::Prod);
        assert_eq!(c.shutdown_timeout, Duration::from_secs(5));
        assert!(c.buffer_bytes >= 3 * 1024 * 1024);
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn the_daemons_sample_file_is_read_key_by_key() {
        let f = file(DAEMON_SAMPLE);
        let c = parse(&["-c", f.0.to_str().unwrap()]).unwrap();
        assert_eq!(c.buffer_bytes, 24 * 1024 * 1024);
        assert_eq!(c.concurrency, 16);
        assert_eq!(c.region.as_deref(), Some("eu-west-1"));
        assert_eq!(c.endpoint.as_deref(), Some("http://127.0.0.1:4566"));
        assert_eq!(c.udp_address.to_string(), "0.0.0.0:2000");
        assert_eq!(c.tcp_address.to_string(), "127.0.0.1:2001");
        assert_eq!(c.log_level, LogLevel::Warn);
        assert_eq!(c.log_file, None);
        assert!(c.local_mode);
        assert_eq!(
            c.resource_arn.as_deref(),
            Some("arn:aws:ecs:eu-west-1:123456789012:task/abc")
        );
        assert_eq!(c.role_arn, None);
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn flags_win_over_the_file() {
        let f = file(DAEMON_SAMPLE);
        let c = parse(&[
            "-c",
            f.0.to_str().unwrap(),
            "-n",
            "us-west-2",
            "-b",
            "127.0.0.1:3000",
            "-t",
            "127.0.0.1:3001",
            "-m",
            "5",
            "-l",
            "debug",
            "-r",
            "arn:aws:iam::123456789012:role/xray",
        ])
        .unwrap();
        assert_eq!(c.region.as_deref(), Some("us-west-2"));
        assert_eq!(c.udp_address.to_string(), "127.0.0.1:3000");
        assert_eq!(c.tcp_address.to_string(), "127.0.0.1:3001");
        assert_eq!(c.buffer_bytes, 5 * 1024 * 1024);
        assert_eq!(c.log_level, LogLevel::Debug);
        assert_eq!(
            c.role_arn.as_deref(),
            Some("arn:aws:iam::123456789012:role/xray")
        );
    }

    #[test]
    fn long_flags_and_local_mode() {
        let c = parse(&[
            "--region",
            "ap-south-1",
            "--bind",
            "127.0.0.1:2100",
            "--bind-tcp",
            "127.0.0.1:2101",
            "--buffer-memory",
            "1",
            "--local-mode",
            "--resource-arn",
            "arn:x",
            "--endpoint",
            "http://127.0.0.1:5000",
            "--shutdown-timeout",
            "0.5",
            "--metrics",
            "127.0.0.1:9400",
        ])
        .unwrap();
        assert_eq!(c.region.as_deref(), Some("ap-south-1"));
        assert_eq!(c.buffer_bytes, 3 * 1024 * 1024, "raised to the minimum");
        assert!(c.local_mode);
        assert_eq!(c.shutdown_timeout, Duration::from_millis(500));
        assert_eq!(c.metrics_address.unwrap().port(), 9400);
        assert_eq!(c.endpoint.as_deref(), Some("http://127.0.0.1:5000"));
    }

    #[test]
    fn otlp_receivers_listen_on_the_otlp_ports_unless_told_otherwise() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.otlp_grpc_address.unwrap().to_string(), "127.0.0.1:4317");
        assert_eq!(c.otlp_http_address.unwrap().to_string(), "127.0.0.1:4318");
        assert_eq!(c.otlp_endpoint, None);
        let c = parse(&[
            "--otlp-grpc",
            "off",
            "--otlp-http",
            "0.0.0.0:14318",
            "--otlp-endpoint",
        ])
        .unwrap();
        assert_eq!(c.otlp_grpc_address, None);
        assert_eq!(c.otlp_http_address.unwrap().port(), 14318);
        assert_eq!(c.otlp_endpoint, Some(OtlpEndpoint::Regional));
        let c = parse(&["--otlp-endpoint", "http://127.0.0.1:9/v1/traces"]).unwrap();
        assert_eq!(
            c.otlp_endpoint,
            Some(OtlpEndpoint::Url("http://127.0.0.1:9/v1/traces".into()))
        );
        assert!(parse(&["--otlp-grpc", "localhost"]).is_err());
    }

    #[test]
    fn unknown_keys_are_reported_with_their_path() {
        let f = file("Regoin: us-east-1\nSocket:\n  UDPAdress: 0.0.0.0:2000\nConcurrency: 2\n");
        let c = parse(&["-c", f.0.to_str().unwrap()]).unwrap();
        assert_eq!(c.concurrency, 2);
        assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
        assert!(c.warnings[0].contains("\"Regoin\""), "{:?}", c.warnings);
        assert!(
            c.warnings[1].contains("\"Socket.UDPAdress\""),
            "{:?}",
            c.warnings
        );
    }

    #[test]
    fn bad_values_are_clear_errors() {
        let f = file("Concurrency: lots\n");
        let e = parse(&["-c", f.0.to_str().unwrap()]).unwrap_err();
        assert!(matches!(e, ConfigError::Parse { .. }), "{e}");
        let e = parse(&["-b", "not an address"]).unwrap_err();
        assert!(e.to_string().contains("UDP address"), "{e}");
        let e = parse(&["-l", "loud"]).unwrap_err();
        assert!(e.to_string().contains("log level"), "{e}");
        let e = parse(&["-c", "/nonexistent/xray.yaml"]).unwrap_err();
        assert!(matches!(e, ConfigError::Read { .. }), "{e}");
        let e = parse(&["--shutdown-timeout", "-1"]);
        assert!(e.is_err());
    }

    #[test]
    fn an_empty_file_is_all_defaults() {
        let f = file("# nothing\n");
        let c = parse(&["-c", f.0.to_str().unwrap()]).unwrap();
        assert_eq!(c.concurrency, 8);
        assert!(c.warnings.is_empty());
    }
}
