//! Talking to the X-Ray behind a test: segment documents sent over UDP the way the X-Ray
//! SDKs frame them, and (feature `xray`) what moto holds, read back with `BatchGetTraces`.

use std::net::SocketAddr;

/// The daemon protocol's header line.
pub const DAEMON_HEADER: &str = "{\"format\":\"json\",\"version\":1}";

/// Sends `document` to `to` as one datagram framed as the SDKs do (header, `\n`, document),
/// from a fresh socket.
pub fn send_framed(to: SocketAddr, document: &str) {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind a UDP socket");
    let datagram = format!("{DAEMON_HEADER}\n{document}");
    socket
        .send_to(datagram.as_bytes(), to)
        .expect("send the datagram");
}

/// An X-Ray client for a moto endpoint (`http://127.0.0.1:PORT`): us-east-1, static test
/// credentials, no profile or instance metadata involved.
#[cfg(feature = "xray")]
pub fn moto_xray_client(endpoint: &str) -> aws_sdk_xray::Client {
    use aws_sdk_xray::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_xray::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "testing", "testing", None, None, "testkit",
        ))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_xray::Client::from_conf(config)
}

/// The documents X-Ray holds for `trace_id` (as stored, JSON text), read again until `done`
/// says they are all there or [`WAIT`](crate::WAIT) passes; then what is there.
///
/// # Panics
/// When `BatchGetTraces` fails.
#[cfg(feature = "xray")]
pub async fn stored_documents(
    client: &aws_sdk_xray::Client,
    trace_id: &str,
    done: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let deadline = std::time::Instant::now() + crate::WAIT;
    loop {
        let out = client
            .batch_get_traces()
            .trace_ids(trace_id)
            .send()
            .await
            .expect("BatchGetTraces");
        let documents: Vec<String> = out
            .traces()
            .iter()
            .flat_map(|t| t.segments())
            .filter_map(|s| s.document().map(str::to_owned))
            .collect();
        if done(&documents) || std::time::Instant::now() > deadline {
            return documents;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
