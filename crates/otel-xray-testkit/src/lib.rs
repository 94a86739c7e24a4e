//! Test support shared by the otel-xray crates. Not published.
//!
//! * [`MotoServer`] starts `moto_server` (the `moto` Python package) on a free
//!   loopback port and stops it on drop. A machine without moto fails the test
//!   with instructions; it never skips silently.
//! * [`assert_segment_valid`] / [`segment_schema_errors`] check a document against
//!   the official X-Ray segment schema (draft-04).
//! * [`botocore_sigv4_verdicts`] has botocore recompute the SigV4 signature of recorded
//!   requests: an independent implementation, never our own signer.
//! * [`spans`] holds the spans the benchmarks translate.
//! * [`wait_bounded`], [`output_bounded`] and [`TempFile`] run peers and the binaries under
//!   test without ever waiting unbounded; [`WAIT`] is the bound tests share.
//! * [`send_framed`] sends a segment document as the X-Ray SDKs do; with the `xray` feature,
//!   [`moto_xray_client`] and [`stored_documents`] read back what moto holds.
//! * With the `proxy` feature, [`HttpProxy`] is a forwarding and tunnelling HTTP proxy on
//!   loopback.

#[cfg(feature = "proxy")]
mod http_proxy;
mod process;
pub mod spans;
mod xray;

#[cfg(feature = "proxy")]
pub use http_proxy::HttpProxy;
pub use process::{output_bounded, wait_bounded, TempFile, WAIT};
#[cfg(feature = "xray")]
pub use xray::{moto_xray_client, stored_documents};
pub use xray::{send_framed, DAEMON_HEADER};

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The official segment document schema, shipped with `otel-xray-exporter`.
pub const SEGMENT_SCHEMA: &str =
    include_str!("../../otel-xray-exporter/schema/xray-segmentdocument-schema-v1.0.0.json");

/// Environment for a process that talks to moto: static test credentials, no profile, no
/// instance metadata.
pub const MOTO_CREDENTIALS_ENV: [(&str, &str); 6] = [
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_SESSION_TOKEN", "testing"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
    ("AWS_CONFIG_FILE", "/nonexistent"),
    ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
];

/// A running `moto_server` on `127.0.0.1`, killed when dropped.
#[derive(Debug)]
pub struct MotoServer {
    child: Child,
    addr: SocketAddr,
}

impl MotoServer {
    /// Starts moto on a free loopback port and waits until it accepts connections.
    ///
    /// Looks for `$MOTO_SERVER`, then `moto_server` on `PATH`, then
    /// `python3 -m moto.server`.
    ///
    /// # Panics
    /// When moto is not installed or does not come up within [`WAIT`] (its
    /// start-up is slow on a loaded machine): the message says how to install it
    /// (`pip install 'moto[server]'`).
    pub fn start() -> MotoServer {
        let port = free_port();
        let mut child = spawn_moto(port).unwrap_or_else(|e| {
            panic!(
                "cannot start moto_server ({e}). Install it with: pip install 'moto[server]' \
                 (or set MOTO_SERVER to its path)"
            )
        });
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let deadline = Instant::now() + WAIT;
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return MotoServer { child, addr };
            }
            if let Ok(Some(status)) = child.try_wait() {
                let mut err = String::new();
                if let Some(mut s) = child.stderr.take() {
                    let _ = s.read_to_string(&mut err);
                }
                panic!(
                    "moto_server exited with {status} before listening: {err}\n\
                     Install it with: pip install 'moto[server]'"
                );
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("moto_server did not listen on {addr} within {WAIT:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `http://127.0.0.1:PORT`, for an AWS SDK `endpoint_url`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The loopback address moto listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_moto(port: u16) -> std::io::Result<Child> {
    let port = port.to_string();
    let args = ["-H", "127.0.0.1", "-p", port.as_str()];
    let spawn = |cmd: &mut Command| {
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
    };
    if let Ok(path) = std::env::var("MOTO_SERVER") {
        return spawn(&mut Command::new(path));
    }
    match spawn(&mut Command::new("moto_server")) {
        Ok(c) => Ok(c),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            spawn(Command::new("python3").args(["-m", "moto.server"]))
        }
        Err(e) => Err(e),
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

fn segment_schema() -> serde_json::Value {
    serde_json::from_str(SEGMENT_SCHEMA).expect("schema is JSON")
}

fn segment_validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| jsonschema::draft4::new(&segment_schema()).expect("schema compiles"))
}

/// `#/definitions/subsegment`, plus what a subsegment sent on its own needs
/// (X-Ray developer guide, "Sending subsegments separately"): `type`,
/// `trace_id` and `parent_id`, with the top level's rules for the IDs.
fn subsegment_validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let schema = segment_schema();
        let top = &schema["properties"];
        let standalone = serde_json::json!({
            "$schema": schema["$schema"],
            "definitions": schema["definitions"],
            "allOf": [
                {"$ref": "#/definitions/subsegment"},
                {
                    "required": ["type", "trace_id", "parent_id"],
                    "properties": {
                        "type": {"enum": ["subsegment"]},
                        "id": top["id"],
                        "trace_id": top["trace_id"],
                        "parent_id": top["parent_id"],
                    },
                },
            ],
        });
        jsonschema::draft4::new(&standalone).expect("subsegment schema compiles")
    })
}

/// Every way `doc` breaks the official segment schema; empty when valid.
///
/// A document with `"type": "subsegment"` is checked against the schema's
/// `#/definitions/subsegment` (and must carry `trace_id` and `parent_id`);
/// any other document against the schema's top level (a segment).
pub fn segment_schema_errors(doc: &serde_json::Value) -> Vec<String> {
    let validator = if doc.get("type").and_then(serde_json::Value::as_str) == Some("subsegment") {
        subsegment_validator()
    } else {
        segment_validator()
    };
    validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// Panics with every schema error if `doc` is not a valid segment document.
pub fn assert_segment_valid(doc: &serde_json::Value) {
    let errors = segment_schema_errors(doc);
    assert!(
        errors.is_empty(),
        "segment document violates the X-Ray schema:\n  {}\ndocument: {}",
        errors.join("\n  "),
        doc
    );
}

/// botocore's verdict on each recorded request's SigV4 signature, in order: one object per
/// request with `ok` (signature, region and signing name `xray` all match), `expected`, `got`
/// and `signed_headers`. Each item holds `method`, `url`, `headers` (a list of `[name, value]`),
/// `body_hex`, `access_key`, `secret_key`, `token` and `region`. Runs
/// `crates/otel-xray-exporter/tests/otlp_support/verify_sigv4.py` with `python3`.
///
/// # Panics
/// When python3 or botocore is missing (install `tests/python/requirements.txt`).
pub fn botocore_sigv4_verdicts(items: &[serde_json::Value]) -> Vec<serde_json::Value> {
    let dir = std::env::temp_dir().join(format!(
        "otel-xray-sigv4-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let input = dir.join("requests.json");
    std::fs::write(&input, serde_json::to_vec(items).expect("JSON")).expect("write requests");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../otel-xray-exporter/tests/otlp_support/verify_sigv4.py"
    );
    let output = Command::new("python3")
        .arg(script)
        .arg(&input)
        .output()
        .expect("python3 with botocore (tests/python/requirements.txt)");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        output.status.success(),
        "verifier failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let verdicts: Vec<serde_json::Value> =
        serde_json::from_slice(&output.stdout).expect("verdicts are JSON");
    assert_eq!(verdicts.len(), items.len());
    verdicts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_accepts_a_minimal_segment_and_rejects_a_bad_one() {
        let ok = serde_json::json!({
            "name": "svc", "id": "70de5b6f19ff9a0a", "trace_id": "1-581cf771-a006649127e371903a2de979",
            "start_time": 1.478293361271E9, "end_time": 1.478293361449E9
        });
        assert_segment_valid(&ok);
        let bad = serde_json::json!({"name": "svc", "id": "x"});
        assert!(!segment_schema_errors(&bad).is_empty());
    }

    #[test]
    fn subsegments_meet_the_subsegment_definition() {
        let ok = serde_json::json!({
            "name": "db", "id": "70de5b6f19ff9a0b", "type": "subsegment",
            "trace_id": "1-581cf771-a006649127e371903a2de979", "parent_id": "70de5b6f19ff9a0a",
            "start_time": 1.478293361271E9, "end_time": 1.478293361449E9,
            "namespace": "remote", "sql": {"user": "app"}
        });
        assert_segment_valid(&ok);
        // Rules only #/definitions/subsegment has: the top level knows no
        // `sql`, `namespace` or `precursor_ids`.
        for (key, bad) in [
            ("sql", serde_json::json!({"user": 7})),
            ("namespace", serde_json::json!(3)),
            ("precursor_ids", serde_json::json!("70de5b6f19ff9a0c")),
        ] {
            let mut doc = ok.clone();
            doc[key] = bad;
            assert!(!segment_schema_errors(&doc).is_empty(), "{key} accepted");
            doc.as_object_mut().unwrap().remove("type");
            assert!(segment_schema_errors(&doc).is_empty(), "{key}: top level");
        }
        for key in ["trace_id", "parent_id", "name"] {
            let mut doc = ok.clone();
            doc.as_object_mut().unwrap().remove(key);
            assert!(!segment_schema_errors(&doc).is_empty(), "no {key} accepted");
        }
    }

    #[test]
    fn moto_serves_xray() {
        let moto = MotoServer::start();
        let mut s = TcpStream::connect(moto.addr()).unwrap();
        use std::io::Write;
        s.write_all(b"GET /moto-api/ HTTP/1.0\r\n\r\n").unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        assert!(out.starts_with("HTTP/1."), "unexpected reply: {out:.80}");
    }
}
