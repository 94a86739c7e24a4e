//! What the collector under test costs, read from `/proc`: CPU seconds
//! (utime + stime of every thread), resident memory, and the kernel's drops
//! on a UDP port.

use std::sync::OnceLock;

fn field(pid: u32, file: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resident memory now, in kB (`VmRSS`).
pub fn rss_kb(pid: u32) -> Option<u64> {
    field(pid, "status", "VmRSS:")
}

/// Peak resident memory, in kB (`VmHWM`).
pub fn peak_rss_kb(pid: u32) -> Option<u64> {
    field(pid, "status", "VmHWM:")
}

/// Clock ticks per second of `/proc/<pid>/stat` times.
fn ticks_per_second() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// CPU time the process has used so far (user + system, all threads), in seconds.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: fields are counted after its `)`.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / ticks_per_second())
}

/// Resident memory backed by files (the binary's pages, shared libraries), in kB.
pub fn rss_file_kb(pid: u32) -> Option<u64> {
    field(pid, "status", "RssFile:")
}

/// The UDP socket bound to `port` in `/proc/net/udp`: bytes in its receive
/// queue, and datagrams the kernel dropped because that queue was full (the
/// collector never saw them).
pub fn udp_socket(port: u16) -> (u64, u64) {
    let Ok(table) = std::fs::read_to_string("/proc/net/udp") else {
        return (0, 0);
    };
    let port = format!(":{port:04X}");
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if !fields.get(1)?.ends_with(&port) {
                return None;
            }
            let queued = u64::from_str_radix(fields.get(4)?.split(':').nth(1)?, 16).ok()?;
            Some((queued, fields.last()?.parse::<u64>().ok()?))
        })
        .fold((0, 0), |(q, d), (queued, drops)| (q + queued, d + drops))
}

/// Datagrams the kernel dropped on the UDP socket bound to `port`.
pub fn udp_drops(port: u16) -> u64 {
    udp_socket(port).1
}
