use otel_xray_testkit::TempFile;

use super::*;

fn file(text: &str) -> TempFile {
    TempFile::new("xray.yaml", text)
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
    let c = parse(&["-c", f.path_str()]).unwrap();
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
        f.path_str(),
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
    let c = parse(&["-c", f.path_str()]).unwrap();
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
    let e = parse(&["-c", f.path_str()]).unwrap_err();
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
    let c = parse(&["-c", f.path_str()]).unwrap();
    assert_eq!(c.concurrency, 8);
    assert!(c.warnings.is_empty());
}

#[test]
fn proxy_address_from_the_flag_or_the_file_with_what_it_covers() {
    let c = parse(&["-p", "127.0.0.1:3128"]).unwrap();
    assert_eq!(c.proxy_address.as_deref(), Some("http://127.0.0.1:3128"));
    // Every connection of the daemon's own goes through it: nothing to warn about.
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let f = file("ProxyAddress: \"https://proxy.corp.example:8443\"\n");
    let path = f.path_str();
    let c = parse(&["-c", path, "--otlp-endpoint"]).unwrap();
    assert_eq!(
        c.proxy_address.as_deref(),
        Some("https://proxy.corp.example:8443")
    );
    // --otlp-endpoint exports go through it too (tests/proxy_address.rs).
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let c = parse(&["-c", path, "--proxy-address", "http://10.0.0.1:80"]).unwrap();
    assert_eq!(c.proxy_address.as_deref(), Some("http://10.0.0.1:80"));
    let f = file("ProxyAddress: \"\"\n");
    let c = parse(&["-c", f.path_str()]).unwrap();
    assert_eq!(c.proxy_address, None);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    for bad in ["ftp://proxy:21", "http://", "http://pro xy:1"] {
        let e = parse(&["-p", bad]).unwrap_err();
        assert!(e.to_string().contains("ProxyAddress"), "{bad}: {e}");
    }
}

#[test]
fn no_verify_ssl_is_refused_with_what_to_do_instead() {
    let f = file("NoVerifySSL: true\n");
    let c = parse(&["-c", f.path_str()]).unwrap();
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    let w = &c.warnings[0];
    assert!(
        w.contains("NoVerifySSL") && w.contains("always verified") && w.contains("SSL_CERT_FILE"),
        "{w}"
    );
    let f = file("NoVerifySSL: false\n");
    let c = parse(&["-c", f.path_str()]).unwrap();
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn a_log_file_that_would_be_rotated_is_reported_unless_rotation_is_off() {
    let log = std::env::temp_dir().join("otel-xray-daemon-rotation-test.log");
    let log = log.to_str().unwrap();
    let c = parse(&["-f", log]).unwrap();
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert!(
        c.warnings[0].contains("LogRotation") && c.warnings[0].contains("logrotate"),
        "{:?}",
        c.warnings
    );
    let f = file(&format!(
        "Logging:\n  LogRotation: true\n  LogPath: \"{log}\"\n"
    ));
    let c = parse(&["-c", f.path_str()]).unwrap();
    assert_eq!(c.log_file.as_deref(), Some(std::path::Path::new(log)));
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    let f = file(&format!(
        "Logging:\n  LogRotation: false\n  LogPath: \"{log}\"\n"
    ));
    let c = parse(&["-c", f.path_str()]).unwrap();
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    // No file, nothing to rotate: standard error.
    let f = file("Logging:\n  LogRotation: true\n");
    assert!(parse(&["-c", f.path_str()]).unwrap().warnings.is_empty());
}
