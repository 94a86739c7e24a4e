//! Running the `otel-xray` binary from tests, with bounded waits throughout.
#![allow(dead_code, unused_imports)]

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

pub use otel_xray_testkit::{send_framed, wait_bounded, TempFile, WAIT};

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_otel-xray"))
}

/// Runs to completion with `stdin` as input; killed (and the test failed) after [`WAIT`].
pub fn run(args: &[&str], stdin: &str) -> Output {
    otel_xray_testkit::output_bounded(bin().args(args), stdin, WAIT)
}

/// A running `otel-xray listen` with its output collected.
pub struct Listener {
    child: Child,
    pub addr: SocketAddr,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<thread::JoinHandle<()>>,
}

impl Listener {
    /// Starts `otel-xray listen --udp 127.0.0.1:0 <extra>` and waits until it is bound.
    pub fn start(extra: &[&str], envs: &[(&str, &str)]) -> Listener {
        let mut args = vec!["listen", "--udp", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        Listener::spawn(&args, envs, "listening on udp://")
    }

    /// Starts `otel-xray <args>` and waits until stderr shows `marker` followed by the UDP
    /// address it bound.
    pub fn spawn(args: &[&str], envs: &[(&str, &str)], marker: &str) -> Listener {
        let mut child = bin()
            .args(args)
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn otel-xray listen");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let readers = vec![
            collect_lines(child.stdout.take().unwrap(), stdout.clone()),
            collect_lines(child.stderr.take().unwrap(), stderr.clone()),
        ];
        let mut l = Listener {
            child,
            addr: ([127, 0, 0, 1], 0).into(),
            stdout,
            stderr,
            readers,
        };
        let deadline = Instant::now() + WAIT;
        let err = loop {
            let err = l.stderr();
            if err.contains(marker) {
                break err;
            }
            if let Ok(Some(status)) = l.child.try_wait() {
                thread::sleep(Duration::from_millis(100));
                panic!(
                    "listener exited ({status}) before listening: {}",
                    l.stderr()
                );
            }
            assert!(Instant::now() < deadline, "listener did not start: {err}");
            thread::sleep(Duration::from_millis(20));
        };
        let addr = err
            .split(marker)
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .expect("address after the marker");
        l.addr = addr.parse().expect("socket address");
        l
    }

    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Polls until `cond(stdout, stderr)` holds, up to [`WAIT`]; returns both texts.
    pub fn wait_for(&self, cond: impl Fn(&str, &str) -> bool) -> Option<(String, String)> {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            let (out, err) = (self.stdout(), self.stderr());
            if cond(&out, &err) {
                return Some((out, err));
            }
            thread::sleep(Duration::from_millis(25));
        }
        None
    }

    /// Sends SIGINT (Ctrl-C) and waits for a clean exit; returns (stdout, stderr).
    pub fn interrupt(self) -> (ExitStatus, String, String) {
        self.signal("-INT")
    }

    /// Sends `signal` (`-INT`, `-TERM`) and waits for the exit; returns (stdout, stderr).
    pub fn signal(mut self, signal: &str) -> (ExitStatus, String, String) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args([signal, &pid]).status();
        assert!(
            sent.is_ok_and(|s| s.success()),
            "kill {signal} {pid} failed"
        );
        let status = wait_bounded(&mut self.child, WAIT).expect("process ignored the signal");
        for r in self.readers.drain(..) {
            r.join().unwrap();
        }
        (status, self.stdout(), self.stderr())
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn collect_lines(
    r: impl Read + Send + 'static,
    into: Arc<Mutex<String>>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            let mut s = into.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    })
}

/// The documents moto at `url` holds for `trace_id`, polled until there are at least `want`
/// (or [`WAIT`] passes).
pub fn stored_documents(url: &str, trace_id: &str, want: usize) -> Vec<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = otel_xray_testkit::moto_xray_client(url);
    rt.block_on(otel_xray_testkit::stored_documents(
        &client,
        trace_id,
        |d| d.len() >= want,
    ))
}
