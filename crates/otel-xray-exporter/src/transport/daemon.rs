//! UDP to the X-Ray daemon: one document per datagram behind the daemon
//! header, every datagram within [`MAX_DATAGRAM_BYTES`].

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::daemon_address::DaemonAddress;
use super::{Tally, DAEMON_HEADER, MAX_DATAGRAM_BYTES};
use crate::counters::DropReason;

/// How long one `send` may wait for socket buffer space. The batch processor
/// calls export on its own thread, so this bounds that thread, never the app.
const SEND_TIMEOUT: Duration = Duration::from_millis(100);

#[derive(Debug)]
pub(crate) struct DaemonTransport {
    socket: UdpSocket,
    target: SocketAddr,
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
        let mut datagram = Vec::with_capacity(MAX_DATAGRAM_BYTES);
        datagram.extend_from_slice(DAEMON_HEADER.as_bytes());
        Ok(DaemonTransport {
            socket,
            target,
            datagram: Mutex::new(datagram),
        })
    }

    pub(crate) fn deliver(&self, docs: &[String], tally: &mut Tally, deadline: Instant) {
        let mut datagram = self.datagram.lock().unwrap_or_else(PoisonError::into_inner);
        let mut first_error: Option<io::Error> = None;
        let mut failed = 0u64;
        for (i, doc) in docs.iter().enumerate() {
            if DAEMON_HEADER.len() + doc.len() > MAX_DATAGRAM_BYTES {
                tracing::warn!(
                    target: "otel_xray_exporter",
                    bytes = doc.len(),
                    "segment document does not fit one UDP datagram; dropped"
                );
                tally.dropped(DropReason::TooLarge, 1);
                continue;
            }
            // Sends take microseconds; the deadline only matters when the
            // socket buffer stays full, and then the rest of the batch is
            // counted rather than waited on.
            if i % 64 == 63 && Instant::now() > deadline {
                tally.dropped(DropReason::Timeout, (docs.len() - i) as u64);
                break;
            }
            datagram.truncate(DAEMON_HEADER.len());
            datagram.extend_from_slice(doc.as_bytes());
            match self.socket.send(&datagram) {
                Ok(n) if n == datagram.len() => tally.sent(1),
                Ok(_) => {
                    failed += 1;
                    tally.dropped(DropReason::SendFailed, 1);
                }
                Err(e) => {
                    failed += 1;
                    tally.dropped(DropReason::SendFailed, 1);
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_error {
            tracing::warn!(
                target: "otel_xray_exporter",
                daemon = %self.target,
                failed,
                error = %e,
                "UDP sends to the X-Ray daemon failed (is the daemon running?)"
            );
        }
    }
}
