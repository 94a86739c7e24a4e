//! `otel-xray listen`: a local stand-in for the X-Ray daemon.
//!
//! Receives daemon-framed datagrams on UDP, applies the daemon's framing rules, validates
//! every document, and prints each trace as a tree once it is complete (or after an idle
//! time), or the raw documents with `--json`. With a forwarding sink, every document that
//! passes the daemon's framing and parses as JSON is sent on, as the daemon would (X-Ray,
//! not the listener, has the last word; its rejections are counted). Ctrl-C (or SIGTERM)
//! releases what is still open, flushes forwarding and prints the counters.

use std::io::Write;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;

use crate::daemon::{split_datagram, DAEMON_BUFFER_BYTES};
use crate::validate::{document_id, SegmentValidator};

pub mod assemble;
pub mod forward;
pub mod tree;

use assemble::Assembler;
use forward::Forwarder;
use otel_xray_daemon::DocumentSink;

/// How long shutdown waits for the last forwarded batch.
const FORWARD_DRAIN: Duration = Duration::from_secs(30);

/// How `listen` runs.
#[derive(Debug, Clone)]
pub struct ListenOptions {
    /// UDP address to bind.
    pub udp: SocketAddr,
    /// Print raw documents instead of trees.
    pub json: bool,
    /// Quiet time before a complete trace is printed.
    pub settle: Duration,
    /// Quiet time before an incomplete trace is printed anyway.
    pub idle: Duration,
}

/// What `listen` saw.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counters {
    /// Datagrams received.
    pub received: u64,
    /// Datagrams rejected by framing, not JSON, or failing validation.
    pub invalid: u64,
    /// Documents accepted by the forwarding API.
    pub forwarded: u64,
    /// Documents the forwarding API rejected or that could not be sent.
    pub forward_failed: u64,
    /// Traces printed.
    pub traces: u64,
}

impl std::fmt::Display for Counters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "received {}, invalid {}, forwarded {}, forward failures {}, traces printed {}",
            self.received, self.invalid, self.forwarded, self.forward_failed, self.traces
        )
    }
}

/// Runs until Ctrl-C / SIGTERM, forwarding to `sink` if given; returns the counters.
pub async fn run<S: DocumentSink>(
    opts: ListenOptions,
    sink: Option<S>,
) -> std::io::Result<Counters> {
    let socket = UdpSocket::bind(opts.udp).await?;
    // Before the announcement, so a signal right after it stops cleanly.
    let shutdown = otel_xray_daemon::shutdown_signal();
    eprintln!(
        "otel-xray listen: listening on udp://{}",
        socket.local_addr()?
    );
    let validator = SegmentValidator::new();
    let mut assembler = Assembler::new(opts.settle, opts.idle);
    let mut counters = Counters::default();
    let forwarder = sink.map(Forwarder::spawn);
    // One byte more than the daemon reads, so an oversized datagram is seen as such.
    let mut buf = vec![0u8; DAEMON_BUFFER_BYTES + 1];
    let mut tick = tokio::time::interval(Duration::from_millis(25));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            received = socket.recv_from(&mut buf) => {
                let (len, peer) = match received {
                    Ok(r) => r,
                    Err(e) => {
                        // ICMP-triggered errors on an unconnected socket are transient.
                        eprintln!("otel-xray listen: receive error: {e}");
                        continue;
                    }
                };
                let ctx = Context { opts: &opts, validator: &validator, forwarder: forwarder.as_ref() };
                handle_datagram(&buf[..len], peer, &ctx, &mut assembler, &mut counters);
            }
            _ = tick.tick() => {
                for (trace, why) in assembler.due(Instant::now()) {
                    print_block(&tree::render(&trace, why));
                    counters.traces += 1;
                }
            }
            _ = &mut shutdown => break,
        }
    }
    if assembler.open_count() > 0 {
        eprintln!(
            "otel-xray listen: shutting down; printing {} open trace(s)",
            assembler.open_count()
        );
    }
    for (trace, why) in assembler.drain() {
        print_block(&tree::render(&trace, why));
        counters.traces += 1;
    }
    if let Some(f) = forwarder {
        let (forwarded, failed) = f.finish(FORWARD_DRAIN).await;
        counters.forwarded = forwarded;
        counters.forward_failed = failed;
    }
    Ok(counters)
}

struct Context<'a> {
    opts: &'a ListenOptions,
    validator: &'a SegmentValidator,
    forwarder: Option<&'a Forwarder>,
}

fn handle_datagram(
    datagram: &[u8],
    peer: SocketAddr,
    ctx: &Context<'_>,
    assembler: &mut Assembler,
    counters: &mut Counters,
) {
    counters.received += 1;
    let body = match split_datagram(datagram) {
        Ok(body) => body,
        Err(e) => {
            counters.invalid += 1;
            eprintln!("invalid datagram from {peer}: {e}");
            return;
        }
    };
    let (doc, problems) = match ctx.validator.check_text(body) {
        Ok(r) => r,
        Err(p) => {
            counters.invalid += 1;
            eprintln!("invalid datagram from {peer}: {p}");
            return;
        }
    };
    let invalid = !problems.is_empty();
    if invalid {
        counters.invalid += 1;
        let id = document_id(&doc);
        for p in &problems {
            eprintln!("invalid {id}: {p}");
        }
    }
    if let Some(f) = ctx.forwarder {
        // It parsed as JSON, so it is UTF-8.
        f.forward(String::from_utf8_lossy(body).into_owned());
    }
    if ctx.opts.json {
        print_block(&format!("{}\n", String::from_utf8_lossy(body).trim_end()));
    } else {
        assembler.add(&doc, invalid, Instant::now());
    }
}

fn print_block(text: &str) {
    let mut out = std::io::stdout().lock();
    // A closed stdout (e.g. `| head`) must not kill the listener mid-stream.
    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
}
