//! `otel-xray doctor` with STS and X-Ray served by moto and a daemon address
//! on loopback: what it reports, and that it exits 0 only when the path works.

mod support;

use std::net::{TcpListener, UdpSocket};
use std::process::{Output, Stdio};

use otel_xray_testkit::MotoServer;
use support::{bin, wait_bounded, WAIT};

const NO_FILES: [(&str, &str); 3] = [
    ("AWS_EC2_METADATA_DISABLED", "true"),
    ("AWS_CONFIG_FILE", "/nonexistent"),
    ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
];
const CREDENTIALS: [(&str, &str); 2] = [
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
];

/// `--path <path>` with every AWS call going to moto.
fn moto_args(path: &str, moto: &MotoServer) -> Vec<String> {
    ["--path", path, "--region", "us-east-1", "--endpoint-url"]
        .iter()
        .map(|s| s.to_string())
        .chain([moto.endpoint_url()])
        .collect()
}

fn doctor(args: &[impl AsRef<std::ffi::OsStr>], envs: &[(&str, &str)]) -> (bool, String) {
    let mut command = bin();
    command
        .arg("doctor")
        .args(args)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .envs(NO_FILES)
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn otel-xray");
    let status = wait_bounded(&mut child, WAIT).expect("doctor did not finish in time");
    let Output { stdout, stderr, .. } = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&stdout),
        String::from_utf8_lossy(&stderr)
    );
    (status.success(), text)
}

/// A UDP socket and a TCP listener on the same loopback port, like the daemon.
fn fake_daemon() -> (UdpSocket, TcpListener, String) {
    for _ in 0..20 {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if let Ok(udp) = UdpSocket::bind(("127.0.0.1", port)) {
            return (udp, tcp, format!("127.0.0.1:{port}"));
        }
    }
    panic!("no port free for both UDP and TCP");
}

#[test]
fn a_reachable_daemon_and_valid_credentials_pass_the_daemon_path() {
    let moto = MotoServer::start();
    let (_udp, _tcp, address) = fake_daemon();
    let mut envs = CREDENTIALS.to_vec();
    envs.push(("AWS_XRAY_DAEMON_ADDRESS", &address));
    let (ok, out) = doctor(&moto_args("daemon", &moto), &envs);
    assert!(ok, "{out}");
    assert!(out.contains("ok   region: us-east-1"), "{out}");
    assert!(
        out.contains("ok   credentials: access key testing"),
        "{out}"
    );
    assert!(out.contains("ok   identity: arn:aws:sts::"), "{out}");
    assert!(out.contains("ok   daemon UDP"), "{out}");
    assert!(out.contains("ok   daemon TCP"), "{out}");
    assert!(out.contains("ok   path: daemon"), "{out}");
}

#[test]
fn nothing_listening_fails_the_daemon_path_and_says_so() {
    let moto = MotoServer::start();
    let address = {
        let (_udp, _tcp, address) = fake_daemon();
        address
    };
    let mut envs = CREDENTIALS.to_vec();
    envs.push(("AWS_XRAY_DAEMON_ADDRESS", &address));
    let (ok, out) = doctor(&moto_args("daemon", &moto), &envs);
    assert!(!ok, "{out}");
    assert!(
        out.contains("FAIL daemon UDP: nothing listens on UDP"),
        "{out}"
    );
    assert!(out.contains("FAIL path: daemon"), "{out}");
}

#[test]
fn missing_credentials_fail_the_api_path() {
    let (ok, out) = doctor(&["--path", "api", "--region", "us-east-1"], &[]);
    assert!(!ok, "{out}");
    assert!(out.contains("FAIL credentials: none resolved"), "{out}");
    assert!(out.contains("FAIL path: api"), "{out}");
}

#[test]
fn the_otlp_path_needs_transaction_search() {
    // moto does not implement GetTraceSegmentDestination: the state is unknown,
    // so the OTLP path cannot be vouched for.
    let moto = MotoServer::start();
    let (ok, out) = doctor(&moto_args("otlp", &moto), &CREDENTIALS);
    assert!(!ok, "{out}");
    assert!(out.contains("ok   identity"), "{out}");
    assert!(out.contains("FAIL transaction search"), "{out}");
    assert!(out.contains("FAIL path: OTLP endpoint"), "{out}");
}
