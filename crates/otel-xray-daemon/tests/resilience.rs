//! The daemon under stress, with real parts: UDP on loopback, moto as X-Ray, and the fault
//! proxy of the exporter's delivery tests in between.
//!
//! * Overload: far more datagrams than a 3 MB buffer holds, into a slow X-Ray: the buffer
//!   never holds more than its capacity, the excess is counted as spillover, and every
//!   document received is accounted for.
//! * Outage: X-Ray unreachable for 10 s with the documents inside the buffer's capacity:
//!   nothing is lost.
//! * Garbage: every kind of malformed datagram is counted by reason; the daemon goes on.

#[path = "../../otel-xray-exporter/tests/delivery_support/fault_proxy.rs"]
#[allow(dead_code)]
mod fault_proxy;
mod support;

use std::net::UdpSocket;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fault_proxy::FaultProxy;
use otel_xray_daemon::{RejectReason, Source};
use otel_xray_testkit::{free_port, MotoServer};
use support::{
    args, document, runtime, send_framed, stored_documents, trace_id, wait_until, xray_client,
    Running,
};

/// An X-Ray that takes `delay` to answer each PutTraceSegments, accepts every document and
/// counts them: moto slows down as it stores tens of thousands of documents.
async fn slow_xray(delay: Duration) -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    use http_body_util::BodyExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (documents, largest_call) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (docs, largest) = (documents.clone(), largest_call.clone());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let (docs, largest) = (docs.clone(), largest.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let (docs, largest) = (docs.clone(), largest.clone());
                        async move {
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let call: serde_json::Value = serde_json::from_slice(&body).unwrap();
                            let n = call["TraceSegmentDocuments"].as_array().map_or(0, Vec::len);
                            tokio::time::sleep(delay).await;
                            docs.fetch_add(n, Ordering::Relaxed);
                            largest.fetch_max(n, Ordering::Relaxed);
                            Ok::<_, std::convert::Infallible>(hyper::Response::new(
                                http_body_util::Full::new(bytes::Bytes::from_static(
                                    b"{\"UnprocessedTraceSegments\":[]}",
                                )),
                            ))
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (url, documents, largest_call)
}

#[test]
fn overload_spills_over_within_the_buffer_and_accounts_for_everything() {
    const DATAGRAMS: u64 = 200_000;
    let rt = runtime();
    rt.block_on(async {
        let (url, stored, largest_call) = slow_xray(Duration::from_millis(300)).await;
        let mut a = args(&url);
        a.buffer_memory = Some(3);
        a.shutdown_timeout = 30.0;
        let daemon = Running::start(a).await;
        let capacity = daemon.buffer.capacity_bytes();
        assert_eq!(capacity, 3 * 1024 * 1024);

        let peak = Arc::new(AtomicUsize::new(0));
        let watcher = tokio::spawn({
            let (buffer, peak) = (daemon.buffer.clone(), peak.clone());
            async move {
                loop {
                    peak.fetch_max(buffer.used_bytes(), Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        });
        let udp = daemon.udp;
        let trace = trace_id();
        let datagram = format!(
            "{{\"format\":\"json\",\"version\":1}}\n{}",
            document(&trace, 1, 700)
        );
        let (socket, datagram, sent) = tokio::task::spawn_blocking(move || {
            let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
            // A full receive queue is the kernel's drop, counted apart: keep going. What the
            // sending side refuses (an error here) was never sent.
            let sent = (0..DATAGRAMS)
                .filter(|_| socket.send_to(datagram.as_bytes(), udp).is_ok())
                .count() as u64;
            (socket, datagram, sent)
        })
        .await
        .unwrap();

        // Received stops growing once the socket is empty; the drain sends what is buffered.
        let mut last = 0;
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let now = daemon.counters.snapshot().received_total();
            if now == last {
                break;
            }
            last = now;
        }
        // The kernel reports its drops with the next datagram it queues: one more, into the
        // empty queue, brings the count of those after the last one received.
        socket.send_to(datagram.as_bytes(), udp).unwrap();
        wait_until(&daemon.counters, |c| c.received_total() > last).await;
        let report = daemon.stop().await;
        watcher.abort();
        let c = report.counters;
        let received = c.received_total();
        assert!(received > 0 && received <= DATAGRAMS + 1, "{c:?}");
        if cfg!(target_os = "linux") {
            assert_eq!(
                received + c.udp_kernel_dropped,
                sent + 1,
                "every datagram sent was received or counted as dropped by the kernel: {c:?}"
            );
        }
        assert!(
            c.spillover > 0,
            "a 3 MB buffer cannot hold the burst: {c:?}"
        );
        assert!(
            peak.load(Ordering::Relaxed) <= capacity,
            "the buffer stays bounded"
        );
        assert_eq!(
            received,
            c.sent + c.spillover + c.rejected_total() + c.backend_rejected + c.dropped,
            "received = sent + spillover + rejected + dropped: {c:?}"
        );
        assert_eq!(
            c.dropped, 0,
            "the slow backend took everything in the end: {c:?}"
        );
        assert_eq!(report.drain.undelivered, 0);
        assert_eq!(
            stored.load(Ordering::Relaxed) as u64,
            c.sent,
            "X-Ray got what was counted as sent"
        );
        assert!(
            largest_call.load(Ordering::Relaxed) <= 50,
            "batches of at most 50"
        );
    });
}

#[test]
fn an_outage_inside_the_buffers_capacity_loses_nothing() {
    const DOCUMENTS: u64 = 300;
    let moto = MotoServer::start();
    // X-Ray's address, with nothing listening there for now.
    let port = free_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let rt = runtime();
    let (daemon, trace) = rt.block_on(async {
        let daemon = Running::start(args(&endpoint)).await;
        let trace = trace_id();
        for n in 0..DOCUMENTS {
            send_framed(daemon.udp, &document(&trace, n, 200));
            if n % 50 == 0 {
                // Loopback UDP is lossless while the receiver keeps up.
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        let c = wait_until(&daemon.counters, |c| c.received_total() == DOCUMENTS).await;
        assert_eq!(c.received_total(), DOCUMENTS);
        (daemon, trace)
    });
    let outage_started = Instant::now();
    std::thread::sleep(Duration::from_secs(10));
    let during = daemon.counters.snapshot();
    assert_eq!(during.sent, 0);
    assert_eq!(
        during.dropped, 0,
        "nothing given up during the outage: {during:?}"
    );
    assert!(during.outage_retries > 0, "{during:?}");
    assert!(during.backend_errors_total() > 0, "{during:?}");
    // X-Ray is back.
    let proxy = FaultProxy::start(port, &moto.endpoint_url(), vec![], None);
    rt.block_on(async {
        let c = wait_until(&daemon.counters, |c| c.sent == DOCUMENTS).await;
        assert_eq!(c.sent, DOCUMENTS, "{c:?}");
        let report = daemon.stop().await;
        assert_eq!(report.counters.dropped, 0);
        assert_eq!(report.counters.spillover, 0);
        let stored = stored_documents(&xray_client(&moto.endpoint_url()), &trace, |d| {
            d.len() as u64 >= DOCUMENTS
        })
        .await;
        assert_eq!(stored.len() as u64, DOCUMENTS, "every document is in X-Ray");
    });
    assert!(outage_started.elapsed() >= Duration::from_secs(10));
    drop(rt);
    drop(proxy);
}

#[test]
fn garbage_is_counted_by_reason_and_the_daemon_goes_on() {
    let moto = MotoServer::start();
    let rt = runtime();
    rt.block_on(async {
        let daemon = Running::start(args(&moto.endpoint_url())).await;
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let header = "{\"format\":\"json\",\"version\":1}\n";
        let mut garbage: Vec<(Vec<u8>, Source, RejectReason)> = vec![
            (
                vec![0xde, 0xad, 0xbe, 0xef],
                Source::DaemonUdp,
                RejectReason::MissingBody,
            ),
            (
                b"{\"format\":\"json\",\"ver".to_vec(),
                Source::DaemonUdp,
                RejectReason::MissingBody,
            ),
            (
                header.as_bytes().to_vec(),
                Source::DaemonUdp,
                RejectReason::MissingBody,
            ),
            (
                b"{\"format\":\"xml\",\"version\":1}\n{}".to_vec(),
                Source::DaemonUdp,
                RejectReason::InvalidHeader,
            ),
            (
                format!("{header}{{\"name\": \"cut").into_bytes(),
                Source::DaemonUdp,
                RejectReason::InvalidDocument,
            ),
            (
                format!("{header}[1,2,3]").into_bytes(),
                Source::DaemonUdp,
                RejectReason::InvalidDocument,
            ),
            (
                format!("{header}T1S!!!not base64").into_bytes(),
                Source::OtlpUdp,
                RejectReason::OtlpDecode,
            ),
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..50 {
            // Random bytes without a newline never frame.
            let bytes: Vec<u8> = (0..64)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    match (seed % 251) as u8 {
                        b'\n' => b'x',
                        b => b,
                    }
                })
                .collect();
            garbage.push((bytes, Source::DaemonUdp, RejectReason::MissingBody));
        }
        for (g, _, _) in &garbage {
            socket.send_to(g, daemon.udp).unwrap();
        }
        // Within 32 bytes of the largest datagram IPv4 carries (65,507 bytes; the timestamps'
        // digits vary in length), valid: accepted.
        let trace = trace_id();
        let big = document(
            &trace,
            1,
            65_507 - 32 - header.len() - document(&trace, 1, 0).len(),
        );
        assert!(big.len() + header.len() <= 65_507);
        send_framed(daemon.udp, &big);
        let total = garbage.len() as u64 + 1;
        let c = wait_until(&daemon.counters, |c| {
            c.received_total() == total && c.sent == 1
        })
        .await;
        for (source, reason) in [
            (Source::DaemonUdp, RejectReason::MissingBody),
            (Source::DaemonUdp, RejectReason::InvalidHeader),
            (Source::DaemonUdp, RejectReason::InvalidDocument),
            (Source::OtlpUdp, RejectReason::OtlpDecode),
        ] {
            let want = garbage
                .iter()
                .filter(|(_, s, r)| (*s, *r) == (source, reason))
                .count() as u64;
            assert_eq!(
                c.rejected.get(&(source, reason)).copied().unwrap_or(0),
                want,
                "{source} {reason}: {c:?}"
            );
        }
        assert_eq!(c.rejected_total(), garbage.len() as u64);
        assert_eq!(c.sent, 1, "the valid 64 KB document went through: {c:?}");
        let report = daemon.stop().await;
        assert_eq!(report.drain.undelivered, 0);
    });
}
