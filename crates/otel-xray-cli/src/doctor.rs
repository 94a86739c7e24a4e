//! `otel-xray doctor`: checks, in plain words, what users most often get wrong
//! before traces reach X-Ray, and which delivery path the environment suggests.

use std::net::{TcpStream, UdpSocket};
use std::time::Duration;

use std::net::SocketAddr;

use otel_xray_exporter::aws_config::SdkConfig;
use otel_xray_exporter::otlp::{check_transaction_search, TransactionSearch};
use otel_xray_exporter::{DaemonAddress, HostPort, DAEMON_HEADER};

/// The delivery path to check for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Path {
    /// Pick from what the environment offers: a reachable daemon, else the
    /// OTLP endpoint when Transaction Search is on, else the API.
    Auto,
    /// UDP to the X-Ray daemon (`AWS_XRAY_DAEMON_ADDRESS`).
    Daemon,
    /// PutTraceSegments with this process's credentials.
    Api,
    /// The X-Ray OTLP endpoint (needs Transaction Search).
    Otlp,
}

/// One finding.
struct Check {
    ok: bool,
    name: &'static str,
}

/// The outcome of every check.
#[derive(Default)]
struct Report {
    checks: Vec<Check>,
}

impl Report {
    fn add(&mut self, name: &'static str, result: Result<String, String>) -> bool {
        let ok = result.is_ok();
        let detail = result.unwrap_or_else(|e| e);
        println!("{} {name}: {detail}", if ok { "ok  " } else { "FAIL" });
        self.checks.push(Check { ok, name });
        ok
    }

    fn passed(&self, name: &str) -> bool {
        self.checks.iter().any(|c| c.name == name && c.ok)
    }
}

/// Runs every check, prints one line each, and returns whether `path` (or the
/// suggested path) will work.
pub async fn run(path: Path, config: &SdkConfig) -> bool {
    let mut report = Report::default();

    let region_ok = report.add(
        "region",
        config.region().map(|r| r.to_string()).ok_or_else(|| {
            "none found: set AWS_REGION (or a profile region), or pass --region".to_owned()
        }),
    );
    let credentials_ok = report.add("credentials", credentials(config).await);
    if region_ok && credentials_ok {
        report.add("identity", identity(config).await);
        report.add("transaction search", transaction_search(config).await);
    }
    let daemon = daemon_checks(&mut report);

    let chosen = match path {
        Path::Auto if daemon => Path::Daemon,
        Path::Auto if report.passed("transaction search") => Path::Otlp,
        Path::Auto if report.passed("identity") => Path::Api,
        other => other,
    };
    let works = match chosen {
        Path::Daemon => daemon,
        Path::Otlp => report.passed("transaction search"),
        Path::Api => report.passed("identity"),
        Path::Auto => false,
    };
    let name = match chosen {
        Path::Daemon => "daemon (UDP, XrayExporter::builder().with_daemon())",
        Path::Api => "api (PutTraceSegments, XrayExporter::builder().with_api())",
        Path::Otlp => "OTLP endpoint (XrayOtlpExporter)",
        Path::Auto => "none: no daemon reachable, no usable credentials",
    };
    println!("{} path: {name}", if works { "ok  " } else { "FAIL" });
    works
}

async fn credentials(config: &SdkConfig) -> Result<String, String> {
    use aws_credential_types::provider::ProvideCredentials;

    let provider = config
        .credentials_provider()
        .ok_or("no credentials provider configured")?;
    let credentials = provider.provide_credentials().await.map_err(|e| {
        format!(
            "none resolved ({e}): set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, \
             or run with an instance/task role"
        )
    })?;
    let expiry = credentials
        .expiry()
        .and_then(|e| e.duration_since(std::time::SystemTime::now()).ok())
        .map(|left| format!(", expiring in {} s", left.as_secs()))
        .unwrap_or_default();
    Ok(format!(
        "access key {}{expiry}",
        credentials.access_key_id()
    ))
}

async fn identity(config: &SdkConfig) -> Result<String, String> {
    let sts = aws_sdk_sts::Client::new(config);
    let me = sts.get_caller_identity().send().await.map_err(|e| {
        format!(
            "sts get-caller-identity failed ({}): the credentials are invalid, expired, or STS is unreachable",
            aws_smithy_types::error::display::DisplayErrorContext(e)
        )
    })?;
    Ok(me.arn().unwrap_or("(no ARN)").to_owned())
}

async fn transaction_search(config: &SdkConfig) -> Result<String, String> {
    match check_transaction_search(config).await {
        Ok(state @ TransactionSearch::Ready) => Ok(state.to_string()),
        Ok(state) => Err(state.to_string()),
        Err(e) => Err(format!("X-Ray could not be asked: {e}")),
    }
}

/// UDP send (a refused port shows as an error on a connected socket) and TCP
/// connect to `AWS_XRAY_DAEMON_ADDRESS`. True when both sides answer.
fn daemon_checks(report: &mut Report) -> bool {
    let address = match DaemonAddress::from_env() {
        Ok(address) => address,
        Err(e) => {
            report.add(
                "daemon address",
                Err(format!("{e}: fix AWS_XRAY_DAEMON_ADDRESS")),
            );
            return false;
        }
    };
    let udp = report.add("daemon UDP", udp_check(&address));
    let tcp = report.add("daemon TCP", tcp_check(&address));
    udp && tcp
}

fn udp_check(address: &DaemonAddress) -> Result<String, String> {
    let addr = first_address(address.udp())?;
    let socket = UdpSocket::bind(if addr.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    })
    .and_then(|s| s.connect(addr).map(|()| s))
    .map_err(|e| format!("no UDP socket to {addr}: {e}"))?;
    // A header alone carries no segment: a daemon ignores it.
    socket
        .send(DAEMON_HEADER.as_bytes())
        .map_err(|e| format!("send to {addr} failed: {e}"))?;
    socket
        .set_read_timeout(Some(Duration::from_millis(300)))
        .map_err(|e| e.to_string())?;
    let mut buf = [0u8; 16];
    match socket.recv(&mut buf) {
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => Err(format!(
            "nothing listens on UDP {addr}: start the X-Ray daemon or CloudWatch agent, \
             or set AWS_XRAY_DAEMON_ADDRESS"
        )),
        _ => Ok(format!("{addr} accepted a datagram")),
    }
}

fn tcp_check(address: &DaemonAddress) -> Result<String, String> {
    let addr = first_address(address.tcp())?;
    TcpStream::connect_timeout(&addr, Duration::from_secs(1))
        .map(|_| format!("{addr} accepts connections (sampling rules, proxied API)"))
        .map_err(|e| format!("TCP {addr}: {e} (the remote sampler's proxy needs it)"))
}

fn first_address(target: &HostPort) -> Result<SocketAddr, String> {
    let addrs = target
        .resolve()
        .map_err(|e| format!("{}:{} does not resolve: {e}", target.host(), target.port()))?;
    addrs
        .first()
        .copied()
        .ok_or_else(|| format!("{}:{} resolves to no address", target.host(), target.port()))
}
