//! Many datagrams per system call: `recvmmsg` (through `nix`) into one set of buffers.
//!
//! Under load the daemon's port holds dozens of datagrams whenever the daemon looks at it;
//! taking them one `recvfrom` at a time cost a system call per segment (13 % of the daemon's
//! CPU in a UDP flood). One `recvmmsg` takes up to [`RECEIVE_BATCH`] of them. Where the OS
//! has no `recvmmsg`, one `recvfrom` takes one.
//!
//! Datagrams that arrive while the socket's receive queue is full are dropped by the kernel,
//! before the daemon could count them. On Linux the socket reports its drop counter with each
//! datagram (`SO_RXQ_OVFL`, see [`report_kernel_drops`]); [`ReceiveBatch::kernel_drops`] has
//! the newest value, so those drops are counted too.

use std::io;
use std::net::SocketAddr;

use tokio::net::UdpSocket;

use crate::framing::DAEMON_BUFFER_BYTES;

/// Most datagrams taken by one `recvmmsg`.
pub(crate) const RECEIVE_BATCH: usize = 32;

/// One datagram's room: one byte more than the daemon reads, so an oversized datagram is
/// seen as such (the kernel truncates it to this length).
const SLOT_BYTES: usize = DAEMON_BUFFER_BYTES + 1;

/// The buffers of one `recvmmsg` call and what it received.
pub(crate) struct ReceiveBatch {
    /// [`RECEIVE_BATCH`] slots of [`SLOT_BYTES`] in one allocation. It is zeroed memory the
    /// allocator maps lazily: only the pages datagrams are written to become resident (a
    /// 600-byte segment touches one page of its 64 KiB slot).
    buffers: Vec<u8>,
    /// Length and sender of each datagram of the last call, in arrival order.
    received: Vec<(usize, Option<SocketAddr>)>,
    /// The socket's drop counter as of the newest datagram that carried it.
    kernel_drops: Option<u32>,
}

impl ReceiveBatch {
    pub(crate) fn new() -> ReceiveBatch {
        ReceiveBatch {
            buffers: vec![0; RECEIVE_BATCH * SLOT_BYTES],
            received: Vec::with_capacity(RECEIVE_BATCH),
            kernel_drops: None,
        }
    }

    /// How many datagrams the kernel has dropped on this socket since it was created, as
    /// of the newest datagram received that reported it (the counter wraps at `u32::MAX`).
    /// `None` until one did: the counter is only sent once it is not zero, and only where
    /// [`report_kernel_drops`] could turn it on.
    pub(crate) fn kernel_drops(&self) -> Option<u32> {
        self.kernel_drops
    }

    /// Takes what is waiting on `socket`, up to [`RECEIVE_BATCH`] datagrams, without
    /// waiting; returns how many. `WouldBlock` when none is waiting.
    #[cfg(recvmmsg)]
    pub(crate) fn receive(&mut self, socket: &UdpSocket) -> io::Result<usize> {
        use nix::sys::socket::{recvmmsg, MsgFlags, MultiHeaders, SockaddrStorage};
        use std::io::IoSliceMut;
        use std::os::fd::AsRawFd;

        let ReceiveBatch {
            buffers,
            received,
            kernel_drops,
        } = self;
        received.clear();
        // Made per call: the headers hold raw pointers (not `Send`), and the receiver's
        // future must be. Four small allocations per call, against a system call saved per
        // datagram.
        let mut headers =
            MultiHeaders::<SockaddrStorage>::preallocate(RECEIVE_BATCH, drop_counter_room());
        let mut slots: Vec<[IoSliceMut<'_>; 1]> = buffers
            .chunks_mut(SLOT_BYTES)
            .map(|slot| [IoSliceMut::new(slot)])
            .collect();
        let messages = recvmmsg(
            socket.as_raw_fd(),
            &mut headers,
            slots.iter_mut(),
            MsgFlags::empty(),
            None,
        )?;
        for message in messages {
            received.push((
                message.bytes,
                message.address.as_ref().and_then(socket_address),
            ));
            #[cfg(rxq_ovfl)]
            if let Ok(controls) = message.cmsgs() {
                for control in controls {
                    if let nix::sys::socket::ControlMessageOwned::RxqOvfl(n) = control {
                        *kernel_drops = Some(n);
                    }
                }
            }
        }
        #[cfg(not(rxq_ovfl))]
        let _ = kernel_drops;
        Ok(received.len())
    }

    /// Takes the first datagram waiting on `socket` without waiting; returns 1.
    /// `WouldBlock` when none is waiting.
    #[cfg(not(recvmmsg))]
    pub(crate) fn receive(&mut self, socket: &UdpSocket) -> io::Result<usize> {
        self.received.clear();
        let (len, peer) = socket.try_recv_from(&mut self.buffers[..SLOT_BYTES])?;
        self.received.push((len, Some(peer)));
        Ok(1)
    }

    /// Whether the last [`receive`](Self::receive) took everything that was waiting: it
    /// took fewer datagrams than it had room for. Always `false` where one `recvfrom` takes
    /// one datagram, as that says nothing about what is left.
    pub(crate) fn emptied_queue(&self) -> bool {
        cfg!(recvmmsg) && self.received.len() < RECEIVE_BATCH
    }

    /// The datagrams of the last [`receive`](Self::receive) and their senders.
    pub(crate) fn datagrams(&self) -> impl Iterator<Item = (&[u8], Option<SocketAddr>)> {
        self.buffers
            .chunks(SLOT_BYTES)
            .zip(&self.received)
            .map(|(slot, (len, peer))| (&slot[..*len], *peer))
    }
}

/// Asks the kernel to attach the socket's drop counter to each datagram (`SO_RXQ_OVFL`).
/// `Ok(false)` where the OS has no such report.
///
/// The counter rides on datagrams that made it into the queue, so drops are seen when the
/// next datagram after them is received, not before.
pub(crate) fn report_kernel_drops(socket: &socket2::Socket) -> io::Result<bool> {
    #[cfg(rxq_ovfl)]
    {
        nix::sys::socket::setsockopt(socket, nix::sys::socket::sockopt::RxqOvfl, &1)?;
        Ok(true)
    }
    #[cfg(not(rxq_ovfl))]
    {
        let _ = socket;
        Ok(false)
    }
}

/// Each message's room for control data: the drop counter, where the OS reports it.
#[cfg(rxq_ovfl)]
fn drop_counter_room() -> Option<Vec<u8>> {
    Some(nix::cmsg_space!(u32))
}

#[cfg(all(recvmmsg, not(rxq_ovfl)))]
fn drop_counter_room() -> Option<Vec<u8>> {
    None
}

#[cfg(recvmmsg)]
fn socket_address(address: &nix::sys::socket::SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = address.as_sockaddr_in() {
        return Some(SocketAddr::from(*v4));
    }
    address.as_sockaddr_in6().map(|v6| SocketAddr::from(*v6))
}

impl std::fmt::Debug for ReceiveBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiveBatch")
            .field("received", &self.received)
            .field("kernel_drops", &self.kernel_drops)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn takes_every_waiting_datagram_with_its_sender_and_size() {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut batch = ReceiveBatch::new();
        assert_eq!(
            batch.receive(&socket).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        // More than one call takes, of every kind of size: empty, small, a typical segment,
        // a jumbo frame, and the largest payload IPv4 carries (65,507 bytes).
        let mut sizes: Vec<usize> = (0..RECEIVE_BATCH + 3).map(|i| [0, 1, 600][i % 3]).collect();
        sizes.extend([9000, 65_507]);
        for (i, size) in sizes.iter().enumerate() {
            sender
                .send_to(&vec![i as u8; *size], socket.local_addr().unwrap())
                .unwrap();
        }
        let mut seen = Vec::new();
        let mut calls = Vec::new();
        let mut emptied = Vec::new();
        while seen.len() < sizes.len() {
            calls.push(batch.receive(&socket).unwrap());
            emptied.push(batch.emptied_queue());
            for (datagram, peer) in batch.datagrams() {
                assert_eq!(peer, Some(sender.local_addr().unwrap()));
                seen.push(datagram.to_vec());
            }
        }
        if cfg!(target_os = "linux") {
            assert_eq!(calls, vec![RECEIVE_BATCH, sizes.len() - RECEIVE_BATCH]);
            // A full batch may have left datagrams behind; the short one took the rest.
            assert_eq!(emptied, vec![false, true]);
        }
        for (i, (datagram, size)) in seen.iter().zip(&sizes).enumerate() {
            assert_eq!(datagram.len(), *size, "datagram {i}");
            assert!(datagram.iter().all(|b| *b == i as u8));
        }
    }

    /// Everything sent is either received or in the kernel's drop counter.
    #[cfg(rxq_ovfl)]
    #[tokio::test]
    async fn datagrams_the_kernel_dropped_are_reported_by_the_next_one() {
        use socket2::{Domain, Protocol, Socket, Type};

        const SENT: usize = 300;
        let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).unwrap();
        // The smallest queue the kernel allows: a few datagrams.
        socket.set_recv_buffer_size(1).unwrap();
        assert!(report_kernel_drops(&socket).unwrap());
        socket.set_nonblocking(true).unwrap();
        socket
            .bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
            .unwrap();
        let socket = UdpSocket::from_std(socket.into()).unwrap();
        let to = socket.local_addr().unwrap();
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut batch = ReceiveBatch::new();

        // Nobody receives while they are sent: the queue overflows.
        for _ in 0..SENT - 1 {
            sender.send_to(&[7; 1000], to).unwrap();
        }
        let mut received = 0;
        while let Ok(n) = batch.receive(&socket) {
            received += n;
        }
        assert!(
            received < SENT - 1,
            "the queue overflowed ({received} received)"
        );
        // The drops after the last queued datagram ride on the next one.
        sender.send_to(&[7; 1000], to).unwrap();
        received += batch.receive(&socket).unwrap();
        let dropped = batch.kernel_drops().expect("the drop counter came with it");
        assert_eq!(received + dropped as usize, SENT);
    }
}
