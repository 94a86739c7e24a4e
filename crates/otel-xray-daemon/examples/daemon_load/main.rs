//! A collector under load, measured: starts a local X-Ray sink that answers at
//! once, starts the collector under test pointed at it (`{SINK}` in its
//! command line is replaced by the sink's URL), waits until it delivers, then
//! feeds it one load and reports what arrived and what it cost the collector:
//! items per CPU-second of the collector process (utime + stime from `/proc`,
//! so the figure holds on a busy machine), items per wall-clock second (for
//! information), RSS idle and peak, and for the paced load the time from send
//! to sink (p50/p99/max). `scripts/bench-daemon.sh` runs it for
//! `otel-xray daemon` and rotel.
//!
//! ```text
//! daemon_load udp       UDP_ADDR  COUNT                        -- COMMAND ARGS...
//! daemon_load udp-paced UDP_ADDR  RATE SECONDS                 -- COMMAND ARGS...
//! daemon_load otlp      GRPC_ADDR REQUESTS SPANS CONCURRENCY   -- COMMAND ARGS...
//! ```
//!
//! Exits with status 1 when the sink got fewer documents than the collector
//! was fed (for UDP: than it took off its socket, kernel drops are reported).

mod load;
mod process;
mod sink;

use std::net::SocketAddr;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sink::Sink;

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// Most UDP segments on their way at once in the `udp` load.
const UDP_WINDOW: u64 = 2_000;

/// Most bytes the `udp` load lets wait in the collector's socket queue at the
/// kernel's default limit (`net.core.rmem_default`, 208 KiB, counted with
/// per-datagram overhead): well under it, with room for the datagrams sent
/// between two looks at it. See [`udp_queue_room`] for a raised limit.
const UDP_MAX_QUEUED: u64 = 96 * 1024;

/// How many bytes the `udp` load may let wait in the collector's socket queue.
/// The daemon asks the kernel for a 4 MiB queue, which it grants up to
/// `net.core.rmem_max` (and doubles, for bookkeeping); where that limit is
/// raised, as the daemon's log recommends, a quarter of it is still far from
/// full. Kept at the default's room, the load paused for every 150 or so
/// datagrams, the daemon took them in small gulps and the figure measured the
/// load's pauses more than the daemon.
fn udp_queue_room() -> u64 {
    let rmem_max = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(0);
    (rmem_max.min(4 * 1024 * 1024) / 4).max(UDP_MAX_QUEUED)
}

#[derive(Debug, Clone, Copy)]
enum Load {
    Udp {
        count: u64,
    },
    UdpPaced {
        rate: u64,
        seconds: u64,
    },
    Otlp {
        requests: u64,
        spans: u64,
        concurrency: u64,
    },
}

const USAGE: &str = "usage: daemon_load (udp ADDR COUNT | udp-paced ADDR RATE SECONDS | \
                     otlp ADDR REQUESTS SPANS CONCURRENCY) -- COMMAND ARGS...";

fn parse(args: &[String]) -> Result<(Load, SocketAddr, Vec<String>), Failure> {
    let split = args.iter().position(|a| a == "--").ok_or(USAGE)?;
    let (head, command) = (&args[1..split], args[split + 1..].to_vec());
    let number =
        |i: usize| -> Result<u64, Failure> { Ok(head.get(i).ok_or(USAGE)?.parse::<u64>()?) };
    let load = match head.first().map(String::as_str) {
        Some("udp") if head.len() == 3 => Load::Udp { count: number(2)? },
        Some("udp-paced") if head.len() == 4 => Load::UdpPaced {
            rate: number(2)?,
            seconds: number(3)?,
        },
        Some("otlp") if head.len() == 5 => Load::Otlp {
            requests: number(2)?,
            spans: number(3)?,
            concurrency: number(4)?.max(1),
        },
        _ => return Err(USAGE.into()),
    };
    if command.is_empty() {
        return Err(USAGE.into());
    }
    Ok((load, head[1].parse()?, command))
}

/// Kills the collector however the run ends.
struct Collector(Child);

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Collector {
    fn exited(&mut self) -> bool {
        matches!(self.0.try_wait(), Ok(Some(_)))
    }
}

/// Waits until the collector delivers: a probe segment over UDP reaches the
/// sink, or its gRPC port answers.
async fn ready(
    load: Load,
    address: SocketAddr,
    sink: &Sink,
    collector: &mut Collector,
) -> Result<Option<tonic::transport::Channel>, Failure> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let probe = std::net::UdpSocket::bind("127.0.0.1:0")?;
    loop {
        if collector.exited() {
            return Err("the collector exited before it was ready".into());
        }
        if Instant::now() > deadline {
            return Err(format!("the collector was not ready on {address} within 30 s").into());
        }
        match load {
            Load::Otlp { .. } => {
                let endpoint =
                    tonic::transport::Endpoint::from_shared(format!("http://{address}"))?;
                if let Ok(channel) = endpoint.connect().await {
                    return Ok(Some(channel));
                }
            }
            _ => {
                if sink.documents() > 0 {
                    return Ok(None);
                }
                let _ = probe.send_to(&load::segment_datagram(u64::from(u32::MAX)), address);
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<ExitCode, Failure> {
    let args: Vec<String> = std::env::args().collect();
    let (load, address, command) = parse(&args)?;
    let sink = Arc::new(Sink::default());
    let sink_url = sink::start(sink.clone()).await?;
    let command: Vec<String> = command
        .iter()
        .map(|a| a.replace("{SINK}", &sink_url))
        .collect();
    // The collector's name: its program, past a `taskset -c N` in front.
    let program = command
        .iter()
        .find(|a| a.contains('/'))
        .unwrap_or(&command[0]);
    let name = program.rsplit('/').next().unwrap_or(program).to_owned();
    let log = match std::env::var_os("DAEMON_LOAD_CHILD_LOG") {
        Some(path) => Stdio::from(std::fs::File::create(path)?),
        None => Stdio::null(),
    };
    let mut collector = Collector(
        Command::new(&command[0])
            .args(&command[1..])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?,
    );
    let pid = collector.0.id();
    let channel = ready(load, address, &sink, &mut collector).await?;
    // Settle: the probes delivered, nothing else running; then the idle figures.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let baseline = sink.documents();
    sink.take_latencies();
    let idle_rss = process::rss_kb(pid).unwrap_or(0);
    let idle_file_rss = process::rss_file_kb(pid).unwrap_or(0);
    let drops_before = process::udp_drops(address.port());
    let cpu_before = process::cpu_seconds(pid).ok_or("no /proc/<pid>/stat")?;
    let started = Instant::now();
    let mut notes = String::new();
    let fed = match load {
        Load::Udp { count } => {
            let sink = sink.clone();
            tokio::task::spawn_blocking(move || {
                load::udp_flood(
                    address,
                    count,
                    UDP_WINDOW,
                    udp_queue_room(),
                    &sink,
                    baseline,
                )
            })
            .await?
        }
        Load::UdpPaced { rate, seconds } => {
            tokio::task::spawn_blocking(move || load::udp_paced(address, rate, seconds)).await?
        }
        Load::Otlp {
            requests,
            spans,
            concurrency,
        } => {
            // Encoded once: the load's core then goes to sending, not to building
            // and encoding (a clone and an encoding per request held the load to
            // about 38,000 spans/s, under what the daemon takes).
            let prepared: Vec<_> = (0..requests)
                .map(|n| prost::Message::encode_to_vec(&load::otlp_request(n, spans)).into())
                .collect();
            let channel = channel.ok_or("no gRPC channel")?;
            let answers = load::otlp(channel, Arc::new(prepared), concurrency).await;
            notes = format!(
                " otlp_retried={} otlp_failed={}",
                answers.retried, answers.failed
            );
            requests * spans
        }
    };
    let sent_in = started.elapsed();
    // Until every document arrived, or nothing new came for 10 s; the time
    // is taken at the last document seen.
    let delivered = || sink.documents() - baseline;
    let mut last = (delivered(), Instant::now());
    while last.0 < fed && last.1.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(2)).await;
        let seen = delivered();
        if seen != last.0 {
            last = (seen, Instant::now());
        }
    }
    let cpu = process::cpu_seconds(pid).unwrap_or(cpu_before) - cpu_before;
    let wall = (last.1 - started).as_secs_f64();
    let delivered = last.0;
    let peak_rss = process::peak_rss_kb(pid).unwrap_or(0);
    let file_rss = process::rss_file_kb(pid).unwrap_or(0);
    let kernel_drops = process::udp_drops(address.port()) - drops_before;
    drop(collector);
    let mut latencies = sink.take_latencies();
    latencies.sort_unstable();
    let latency = match load {
        Load::UdpPaced { .. } => format!(
            " latency_p50_ms={:.2} latency_p99_ms={:.2} latency_max_ms={:.2}",
            percentile(&latencies, 50.0),
            percentile(&latencies, 99.0),
            percentile(&latencies, 100.0)
        ),
        _ => String::new(),
    };
    for (peer, c) in sink.peers() {
        println!(
            "  sink: {peer}: {} documents in {} calls ({} labelled gzip, {} really gzip, {} unreadable), \
             {} bytes per document",
            c.documents,
            c.requests,
            c.labelled_gzip,
            c.gzip,
            c.unreadable,
            c.document_bytes.checked_div(c.documents).unwrap_or(0)
        );
    }
    println!(
        "RESULT collector={name} load={} fed={fed} delivered={delivered} kernel_drops={kernel_drops} \
         cpu_s={cpu:.2} per_cpu_s={:.0} wall_s={wall:.2} per_wall_s={:.0} fed_in_s={:.2} \
         rss_idle_kb={idle_rss} rss_idle_file_kb={idle_file_rss} rss_peak_kb={peak_rss} \
         rss_file_kb_after={file_rss}{latency}{notes}",
        match load {
            Load::Udp { .. } => "udp",
            Load::UdpPaced { .. } => "udp-paced",
            Load::Otlp { .. } => "otlp",
        },
        delivered as f64 / cpu,
        delivered as f64 / wall,
        sent_in.as_secs_f64(),
    );
    let expected = match load {
        Load::Otlp { .. } => fed,
        _ => fed - kernel_drops,
    };
    if delivered < expected {
        eprintln!("{name}: delivered {delivered} documents of {expected} fed");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
