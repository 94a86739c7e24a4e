//! `otel-xray daemon` run the way an existing X-Ray daemon installation runs it: its
//! configuration file, its single-dash flags, SIGTERM to stop; segments reach X-Ray (moto).

mod support;

use std::time::{Duration, Instant};

use aws_sdk_xray::config::{BehaviorVersion, Credentials, Region};
use otel_xray_testkit::MotoServer;
use serde_json::json;
use support::{send_framed, Listener, TempFile};

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
    let d = Listener::spawn(
        // `-region` (one dash) as the Go daemon accepts it; it wins over the file's Region.
        &["daemon", "-c", config.path(), "-region", "us-east-1", "-o"],
        &[
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_SESSION_TOKEN", "testing"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_CONFIG_FILE", "/nonexistent"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
        ],
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

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let stored = rt.block_on(async {
        let config = aws_sdk_xray::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
            .endpoint_url(&url)
            .build();
        let client = aws_sdk_xray::Client::from_conf(config);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = client
                .batch_get_traces()
                .trace_ids(&trace_id)
                .send()
                .await
                .expect("BatchGetTraces");
            let docs: Vec<String> = out
                .traces()
                .iter()
                .flat_map(|t| t.segments())
                .filter_map(|s| s.document().map(str::to_owned))
                .collect();
            if !docs.is_empty() || Instant::now() > deadline {
                return docs;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    assert_eq!(
        stored,
        vec![segment],
        "stored in us-east-1 (the flag), byte for byte"
    );
}
