//! The daemon's UDP port: one datagram = the daemon header, `\n`, and one segment document
//! (a segment, an in-progress segment or a standalone subsegment) — or an OTLP-over-UDP frame.
//!
//! Documents are passed on unparsed, as the daemon does; only what X-Ray could never accept
//! (not UTF-8, not a JSON object) is refused here. Malformed datagrams are counted by reason
//! and logged at most once a second, with how many were not logged.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::watch;

use crate::counters::{RejectReason, Source};
use crate::framing::{classify_body, split_datagram, Body, OtlpFrameKind};
use crate::intake::Intake;
use crate::otlp::OtlpIngest;
use crate::udp_batch::{report_kernel_drops, ReceiveBatch};

/// The receive queue asked of the kernel for the UDP port. At the kernel's default (208 KiB,
/// about a hundred segments) the queue overflows whenever the daemon is off the CPU for ten
/// milliseconds at 10,000 segments/s, and an overflow is loss nobody sees. The kernel caps the
/// request at `net.core.rmem_max`.
const RECEIVE_QUEUE_BYTES: usize = 4 * 1024 * 1024;

/// How long the receiver lets datagrams gather once it has emptied the socket's queue, before
/// it looks again. Without it, a daemon that keeps up took about one datagram per wake-up
/// (1.08 per `recvmmsg` in a 25,000 segments/s flood, with an `epoll_wait` for every third):
/// the wake-up, the empty `recvmmsg` that ends each round and the scheduler's switches cost
/// more than the datagram. A millisecond adds at most that to a segment's way to X-Ray; a
/// daemon that does not keep up never waits, as its queue is not empty.
const GATHER_WAIT: Duration = Duration::from_millis(1);

/// What the log names as the sender of a datagram the kernel gave no IP address for (it
/// always does on an IP socket).
const UNNAMED_PEER: SocketAddr = SocketAddr::V4(std::net::SocketAddrV4::new(
    std::net::Ipv4Addr::UNSPECIFIED,
    0,
));

/// The daemon's UDP port, bound and ready to [`run`](Self::run).
#[derive(Debug)]
pub struct UdpReceiver {
    socket: UdpSocket,
    intake: Intake,
    otlp: Option<OtlpIngest>,
}

impl UdpReceiver {
    /// Binds `address` (the daemon's `-b`, default `127.0.0.1:2000`).
    pub async fn bind(address: SocketAddr, intake: Intake) -> io::Result<UdpReceiver> {
        let socket = Socket::new(
            Domain::for_address(address),
            Type::DGRAM,
            Some(Protocol::UDP),
        )?;
        // Best effort: with the default queue the daemon still works, it only drops sooner.
        if let Err(e) = socket.set_recv_buffer_size(RECEIVE_QUEUE_BYTES) {
            tracing::warn!("UDP receive queue left at the kernel's default: {e}");
        }
        match report_kernel_drops(&socket) {
            Ok(true) => {}
            Ok(false) => tracing::info!(
                "datagrams dropped by the kernel when the UDP receive queue is full cannot be \
                 counted on this OS"
            ),
            Err(e) => tracing::warn!(
                "datagrams dropped by the kernel when the UDP receive queue is full will not be \
                 counted: SO_RXQ_OVFL: {e}"
            ),
        }
        socket.set_nonblocking(true)?;
        socket.bind(&address.into())?;
        let socket = UdpSocket::from_std(socket.into())?;
        Ok(UdpReceiver {
            socket,
            intake,
            otlp: None,
        })
    }

    /// Decodes OTLP-over-UDP frames into `otlp` (without it they are counted
    /// as `otlp_udp_not_built` rejections).
    pub fn with_otlp(mut self, otlp: OtlpIngest) -> UdpReceiver {
        self.otlp = Some(otlp);
        self
    }

    /// The bound address (the port, when bound to port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Receives until `stop` turns true (or its sender is dropped), then takes what is
    /// already queued on the socket.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut batch = ReceiveBatch::new();
        let mut log = RateLimitedLog::new(Duration::from_secs(1));
        let mut drops_log = RateLimitedLog::new(Duration::from_secs(10));
        let mut kernel_drops = KernelDrops::default();
        loop {
            let mut gather = false;
            tokio::select! {
                ready = self.socket.readable() => {
                    if let Err(e) = ready {
                        log.warn(format_args!("UDP receive error: {e}"));
                        continue;
                    }
                    // Readiness is cleared (and waited for again) only on `WouldBlock`.
                    match self.socket.try_io(Interest::READABLE, || batch.receive(&self.socket)) {
                        Ok(_) => {
                            self.handle_batch(&batch, &mut log);
                            kernel_drops.count(&batch, &self.intake, &mut drops_log);
                            gather = batch.emptied_queue();
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        // ICMP-triggered errors on an unconnected socket are transient.
                        Err(e) => log.warn(format_args!("UDP receive error: {e}")),
                    }
                },
                _ = stop.wait_for(|stop| *stop) => {
                    // What is already in the socket's queue was sent before the stop: take it.
                    while batch.receive(&self.socket).is_ok() {
                        self.handle_batch(&batch, &mut log);
                        kernel_drops.count(&batch, &self.intake, &mut drops_log);
                    }
                    return;
                }
            }
            if gather {
                // The queue is empty: let datagrams gather before looking again.
                tokio::time::sleep(GATHER_WAIT).await;
            }
        }
    }

    fn handle_batch(&self, batch: &ReceiveBatch, log: &mut RateLimitedLog) {
        for (datagram, peer) in batch.datagrams() {
            let peer = peer.unwrap_or(UNNAMED_PEER);
            handle_datagram(datagram, peer, &self.intake, self.otlp.as_ref(), log);
        }
    }
}

/// The kernel's drop counter as last counted: each batch adds what it grew by.
#[derive(Debug, Default)]
struct KernelDrops {
    counted: u32,
}

impl KernelDrops {
    fn count(&mut self, batch: &ReceiveBatch, intake: &Intake, log: &mut RateLimitedLog) {
        let Some(now) = batch.kernel_drops() else {
            return;
        };
        // The kernel's counter is a wrapping u32.
        let new = now.wrapping_sub(self.counted);
        if new == 0 {
            return;
        }
        self.counted = now;
        intake.counters().add_udp_kernel_dropped(u64::from(new));
        log.warn(format_args!(
            "the UDP receive queue was full: the kernel dropped {new} datagrams (the queue is \
             capped by net.core.rmem_max)"
        ));
    }
}

/// Handles one datagram: counts it, and offers its document or rejects it.
pub(crate) fn handle_datagram(
    datagram: &[u8],
    peer: SocketAddr,
    intake: &Intake,
    otlp: Option<&OtlpIngest>,
    log: &mut RateLimitedLog,
) {
    let body = match split_datagram(datagram) {
        Ok(body) => body,
        Err(e) => {
            intake.received(Source::DaemonUdp, 1);
            intake.reject(Source::DaemonUdp, e.reason(), 1);
            log.warn(format_args!("datagram from {peer} refused: {e}"));
            return;
        }
    };
    match classify_body(body) {
        Body::Segment(document) => {
            intake.received(Source::DaemonUdp, 1);
            let Some(document) = as_document(document) else {
                intake.reject(Source::DaemonUdp, RejectReason::InvalidDocument, 1);
                log.warn(format_args!(
                    "datagram from {peer} refused: the body is not a JSON object in UTF-8"
                ));
                return;
            };
            // Spillover is counted by the buffer; nothing to tell a UDP sender.
            let _ = intake.offer(Arc::<str>::from(document));
        }
        Body::Otlp { kind, payload } => match otlp {
            Some(otlp) => {
                // Counted span by span (or as one malformed unit) by the decoder.
                if let Err(e) = otlp.ingest_udp_payload(payload) {
                    log.warn(format_args!(
                        "OTLP-over-UDP frame ({kind:?}) from {peer} refused: {e}"
                    ));
                }
            }
            None => otlp_frame(kind, payload, peer, intake, log),
        },
    }
}

/// An OTLP-over-UDP frame on a receiver without an OTLP decoder
/// ([`UdpReceiver::with_otlp`] not called): counted as one unit received and
/// rejected (`otlp_udp_not_built`) and logged, never silent.
fn otlp_frame(
    kind: OtlpFrameKind,
    payload: &[u8],
    peer: SocketAddr,
    intake: &Intake,
    log: &mut RateLimitedLog,
) {
    intake.received(Source::OtlpUdp, 1);
    intake.reject(Source::OtlpUdp, RejectReason::OtlpUdpNotBuilt, 1);
    log.warn(format_args!(
        "OTLP-over-UDP frame ({kind:?}, {} bytes) from {peer} refused: this receiver has no OTLP decoder",
        payload.len()
    ));
}

/// The document as text, after a cheap shape check of what X-Ray would refuse anyway: UTF-8,
/// and `{ ... }` around it.
fn as_document(document: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(document).ok()?;
    let inner = text.trim_ascii();
    (inner.starts_with('{') && inner.ends_with('}')).then_some(text)
}

/// A warning log that says at most one thing per interval and how much it kept quiet.
#[derive(Debug)]
pub(crate) struct RateLimitedLog {
    interval: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLimitedLog {
    pub(crate) fn new(interval: Duration) -> RateLimitedLog {
        RateLimitedLog {
            interval,
            last: None,
            suppressed: 0,
        }
    }

    pub(crate) fn warn(&mut self, message: std::fmt::Arguments<'_>) {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < self.interval)
        {
            self.suppressed += 1;
            return;
        }
        if self.suppressed > 0 {
            tracing::warn!(
                suppressed = self.suppressed,
                "{message} (and {} similar messages not logged)",
                self.suppressed
            );
        } else {
            tracing::warn!("{message}");
        }
        self.last = Some(now);
        self.suppressed = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counters::CountersSnapshot;
    use crate::framing::DAEMON_BUFFER_BYTES;

    const HEADER: &str = "{\"format\":\"json\",\"version\":1}\n";

    fn feed(datagrams: &[Vec<u8>]) -> (CountersSnapshot, Vec<String>) {
        let intake = Intake::with_capacity(1 << 20);
        let mut log = RateLimitedLog::new(Duration::from_secs(3600));
        let peer: SocketAddr = "127.0.0.1:9".parse().unwrap();
        for d in datagrams {
            handle_datagram(d, peer, &intake, None, &mut log);
        }
        let mut docs = Vec::new();
        while !intake.buffer().is_empty() {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            let taken = rt.block_on(intake.buffer().next_batch(1000)).documents;
            docs.extend(taken.iter().map(|d| d.to_string()));
        }
        (intake.counters().snapshot(), docs)
    }

    #[test]
    fn documents_pass_unchanged_and_bad_ones_are_counted_by_reason() {
        let segment = r#"{"name":"a","id":"70de5b6f19ff9a0a","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1.0,"in_progress":true}"#;
        let good = format!("{HEADER}{segment}").into_bytes();
        let datagrams = vec![
            good.clone(),
            b"no header at all".to_vec(),
            b"{\"format\":\"json\",\"version\":2}\n{}".to_vec(),
            format!("{HEADER}not json").into_bytes(),
            [HEADER.as_bytes(), &[b'{', 0xff, b'}']].concat(),
            HEADER.as_bytes().to_vec(),
            vec![b'{'; DAEMON_BUFFER_BYTES + 1],
            format!("{HEADER}T1SCgA=").into_bytes(),
        ];
        let (snap, docs) = feed(&datagrams);
        assert_eq!(docs, [segment]);
        assert_eq!(snap.received[&Source::DaemonUdp], 7);
        assert_eq!(snap.received[&Source::OtlpUdp], 1);
        let r = |s, reason| snap.rejected.get(&(s, reason)).copied().unwrap_or(0);
        assert_eq!(r(Source::DaemonUdp, RejectReason::MissingBody), 2);
        assert_eq!(r(Source::DaemonUdp, RejectReason::InvalidHeader), 1);
        assert_eq!(r(Source::DaemonUdp, RejectReason::InvalidDocument), 2);
        assert_eq!(r(Source::DaemonUdp, RejectReason::TooLarge), 1);
        assert_eq!(r(Source::OtlpUdp, RejectReason::OtlpUdpNotBuilt), 1);
        assert_eq!(
            snap.received_total(),
            snap.buffered + snap.rejected_total() + snap.spillover
        );
    }

    #[tokio::test]
    async fn the_receive_queue_is_as_large_as_the_kernel_allows() {
        let receiver = UdpReceiver::bind(
            "127.0.0.1:0".parse().unwrap(),
            Intake::with_capacity(1 << 20),
        )
        .await
        .unwrap();
        let rmem_max: usize = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
            .expect("Linux")
            .trim()
            .parse()
            .unwrap();
        let size = socket2::SockRef::from(&receiver.socket)
            .recv_buffer_size()
            .unwrap();
        // Linux reports twice what was granted (the bookkeeping overhead included).
        assert!(
            size >= 2 * RECEIVE_QUEUE_BYTES.min(rmem_max),
            "receive queue {size} bytes, rmem_max {rmem_max}"
        );
    }

    proptest::proptest! {
        #[test]
        fn any_datagram_is_counted_once_and_never_panics(
            datagrams in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200), 0..20),
            framed in proptest::prelude::any::<bool>(),
        ) {
            let datagrams: Vec<Vec<u8>> = datagrams
                .into_iter()
                .map(|d| if framed { [HEADER.as_bytes(), &d].concat() } else { d })
                .collect();
            let (snap, docs) = feed(&datagrams);
            proptest::prop_assert_eq!(snap.received_total(), datagrams.len() as u64);
            proptest::prop_assert_eq!(
                snap.received_total(),
                snap.buffered + snap.rejected_total() + snap.spillover
            );
            proptest::prop_assert_eq!(docs.len() as u64, snap.buffered);
        }
    }
}
