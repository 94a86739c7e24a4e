//! The `otel-xray daemon` command line: the X-Ray daemon's flags (short, double-dash and the
//! Go daemon's single-dash long form) plus our own.

use std::path::PathBuf;

use super::DEFAULT_SHUTDOWN_TIMEOUT;

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
    /// Call X-Ray through this HTTP proxy (`http://HOST:PORT`; default: `HTTPS_PROXY`).
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
