//! `otel-xray daemon` run the way an existing X-Ray daemon installation runs it: its
//! configuration file, its single-dash flags, SIGTERM to stop; segments reach X-Ray (moto).

mod support;

use otel_xray_testkit::MotoServer;
use serde_json::json;
use support::{send_framed, stored_documents, Listener, TempFile};

#[test]
fn a_daemon_command_line_and_config_file_work_unchanged() {
    let moto = MotoServer::start();
    let url = moto.endpoint_url();
    let config = TempFile::new(
        "xray.yaml",
        &format!(
            "# The X-Ray daemon's configuration file.\n\
             TotalBufferSizeMB: 4\n\
             Concurrency: 2\n\
             Region: \"eu-west-1\"\n\
             Endpoint: \"{url}\"\n\
             Socket:\n  UDPAddress: \"127.0.0.1:0\"\n  TCPAddress: \"127.0.0.1:0\"\n\
             Logging:\n  LogLevel: \"info\"\n\
             LocalMode: true\n\
             SocketTypo: 1\n\
             Version: 2\n"
        ),
    );
    let wait = support::WAIT.as_secs().to_string();
    let d = Listener::spawn(
        // `-region` (one dash) as the Go daemon accepts it; it wins over the file's Region.
        // The drain's budget is not what this test is about: on a loaded machine moto's first
        // PutTraceSegments can take longer than the default 5 s, so it gets the tests' bound.
        &[
            "daemon",
            "-c",
            config.path_str(),
            "-region",
            "us-east-1",
            "-o",
            "--shutdown-timeout",
            &wait,
        ],
        &otel_xray_testkit::MOTO_CREDENTIALS_ENV,
        "otel-xray daemon: UDP ",
    );
    let startup = d.stderr();
    assert!(startup.contains("(sampling proxy)"), "{startup}");
    assert!(startup.contains("buffer 4 MB, concurrency 2"), "{startup}");
    assert!(startup.contains("unknown key \"SocketTypo\""), "{startup}");

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let trace_id = format!("1-{:08x}-b006649127e371903a2de979", now as u32);
    let segment = json!({"name": "api", "id": "80de5b6f19ff9a0a", "trace_id": trace_id,
        "start_time": now - 1.0, "end_time": now - 0.5})
    .to_string();
    send_framed(d.addr, &segment);
    // Right away: the datagram is queued on the socket; the daemon takes it and delivers it
    // during the drain SIGTERM starts.
    let (status, _, err) = d.signal("-TERM");
    assert!(status.success(), "{err}");
    assert!(
        err.contains("stopped; received 1, sent 1, spillover 0, rejected 0"),
        "{err}"
    );

    let stored = stored_documents(&url, &trace_id, 1);
    assert_eq!(
        stored,
        vec![segment],
        "stored in us-east-1 (the flag), byte for byte"
    );
}
