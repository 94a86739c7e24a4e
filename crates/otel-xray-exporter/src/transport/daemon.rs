//! UDP to the X-Ray daemon: one document per datagram behind the daemon
//! header, every datagram within [`MAX_DATAGRAM_BYTES`]. Outcomes are counted
//! per span ([`Document::spans`]).

use std::io;
use std::net::{SocketAddr, UdpSocket};
#[cfg(not(target_os = "linux"))]
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::daemon_address::DaemonAddress;
use super::{DeliveryTally, Document, DAEMON_HEADER, MAX_DATAGRAM_BYTES};
use crate::delivery_stats::DropReason;

/// How long one `send` may wait for socket buffer space. The batch processor
/// calls export on its own thread, so this bounds that thread, never the app.
const SEND_TIMEOUT: Duration = Duration::from_millis(100);

/// Datagrams per `sendmmsg` call (Linux); also how often the deadline is checked.
const SEND_CHUNK: usize = 64;

#[derive(Debug)]
pub(crate) struct DaemonTransport {
    socket: UdpSocket,
    target: SocketAddr,
    /// Header + document, reused between sends where `sendmmsg` is missing.
    #[cfg(not(target_os = "linux"))]
    datagram: Mutex<Vec<u8>>,
}

/// Why the UDP transport could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DaemonError {
    /// The daemon host name did not resolve.
    #[error("cannot resolve the X-Ray daemon address {address}: {source}")]
    Resolve {
        /// The address as configured.
        address: String,
        /// The resolver's error.
        #[source]
        source: io::Error,
    },
    /// The UDP socket could not be opened or connected.
    #[error("cannot open a UDP socket towards {target}: {source}")]
    Socket {
        /// The resolved daemon address.
        target: SocketAddr,
        /// The socket error.
        #[source]
        source: io::Error,
    },
}

impl DaemonTransport {
    pub(crate) fn connect(address: &DaemonAddress) -> Result<DaemonTransport, DaemonError> {
        let udp = address.udp();
        let resolved = udp.resolve().map_err(|source| DaemonError::Resolve {
            address: udp.to_string(),
            source,
        })?;
        // A name with both families (localhost) goes to IPv4: the daemon binds
        // 127.0.0.1 / 0.0.0.0 by default, and the X-Ray SDKs resolve IPv4 only.
        let target = resolved
            .iter()
            .find(|a| a.is_ipv4())
            .or(resolved.first())
            .copied()
            .ok_or_else(|| DaemonError::Resolve {
                address: udp.to_string(),
                source: io::Error::new(io::ErrorKind::NotFound, "no addresses"),
            })?;
        let local: SocketAddr = if target.is_ipv6() {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(local)
            .and_then(|s| {
                // Connected, so the kernel reports an absent daemon (ICMP port
                // unreachable) as an error on a later send, which we count.
                s.connect(target)?;
                s.set_write_timeout(Some(SEND_TIMEOUT))?;
                Ok(s)
            })
            .map_err(|source| DaemonError::Socket { target, source })?;
        Ok(DaemonTransport {
            socket,
            target,
            #[cfg(not(target_os = "linux"))]
            datagram: Mutex::new(DAEMON_HEADER.as_bytes().to_vec()),
        })
    }

    pub(crate) fn deliver(&self, docs: &[Document], tally: &mut DeliveryTally, deadline: Instant) {
        let mut failures = Failures::default();
        // Oversized documents are counted here; the rest go out in order.
        let fitting: Vec<&Document> = docs
            .iter()
            .filter(|doc| {
                let fits = DAEMON_HEADER.len() + doc.text.len() <= MAX_DATAGRAM_BYTES;
                if !fits {
                    tracing::warn!(
                        target: "otel_xray_exporter",
                        bytes = doc.text.len(),
                        spans = doc.spans,
                        "segment document does not fit one UDP datagram; dropped"
                    );
                    tally.dropped(DropReason::TooLarge, doc.spans);
                }
                fits
            })
            .collect();
        for (i, chunk) in fitting.chunks(SEND_CHUNK).enumerate() {
            // Sends take microseconds; the deadline only matters when the
            // socket buffer stays full, and then the rest is counted rather
            // than waited on.
            if i > 0 && Instant::now() > deadline {
                let rest = fitting[i * SEND_CHUNK..].iter().map(|d| d.spans).sum();
                tally.dropped(DropReason::Timeout, rest);
                break;
            }
            self.send_chunk(chunk, tally, &mut failures);
        }
        if let Some(e) = failures.first {
            tracing::warn!(
                target: "otel_xray_exporter",
                daemon = %self.target,
                failed = failures.count,
                error = %e,
                "UDP sends to the X-Ray daemon failed (is the daemon running?)"
            );
        }
    }

    /// One `sendmmsg` per chunk: header and document go out as two I/O
    /// slices of one datagram, without copying.
    #[cfg(target_os = "linux")]
    fn send_chunk(&self, docs: &[&Document], tally: &mut DeliveryTally, failures: &mut Failures) {
        use rustix::net::{sendmmsg, MMsgHdr, SendAncillaryBuffer, SendFlags};
        use std::io::IoSlice;
        let iovs: Vec<[IoSlice<'_>; 2]> = docs
            .iter()
            .map(|d| {
                [
                    IoSlice::new(DAEMON_HEADER.as_bytes()),
                    IoSlice::new(d.text.as_bytes()),
                ]
            })
            .collect();
        let mut controls: Vec<SendAncillaryBuffer<'_, '_, '_>> = docs
            .iter()
            .map(|_| SendAncillaryBuffer::default())
            .collect();
        let mut msgs: Vec<MMsgHdr<'_>> = iovs
            .iter()
            .zip(controls.iter_mut())
            .map(|(iov, control)| MMsgHdr::new(iov, control))
            .collect();
        let mut next = 0;
        while next < msgs.len() {
            match sendmmsg(&self.socket, &mut msgs[next..], SendFlags::empty()) {
                Ok(n) if n > 0 => {
                    tally.sent(docs[next..next + n].iter().map(|d| d.spans).sum());
                    next += n;
                }
                // Nothing sent and no error: count the head as failed so
                // the loop always advances.
                Ok(_) => {
                    failures.add(tally, io::Error::other("sendmmsg sent nothing"), docs[next]);
                    next += 1;
                }
                // The error belongs to the first unsent datagram.
                Err(e) => {
                    failures.add(tally, e.into(), docs[next]);
                    next += 1;
                }
            }
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn send_chunk(&self, docs: &[&Document], tally: &mut DeliveryTally, failures: &mut Failures) {
        let mut datagram = self.datagram.lock().unwrap_or_else(PoisonError::into_inner);
        for doc in docs {
            datagram.truncate(DAEMON_HEADER.len());
            datagram.extend_from_slice(doc.text.as_bytes());
            match self.socket.send(&datagram) {
                Ok(n) if n == datagram.len() => tally.sent(doc.spans),
                Ok(_) => failures.add(tally, io::Error::other("datagram cut short"), doc),
                Err(e) => failures.add(tally, e, doc),
            }
        }
    }
}

/// Send failures of one export, logged once at the end.
#[derive(Debug, Default)]
struct Failures {
    first: Option<io::Error>,
    count: u64,
}

impl Failures {
    fn add(&mut self, tally: &mut DeliveryTally, e: io::Error, doc: &Document) {
        tally.dropped(DropReason::SendFailed, doc.spans);
        self.count += 1;
        self.first.get_or_insert(e);
    }
}
