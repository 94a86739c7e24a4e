//! Child processes with bounded waits, and temporary files: a hung peer fails its test
//! instead of hanging the whole run.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// How long a test waits for something that should take a moment. Generous: the machine is
/// often shared by several builds.
pub const WAIT: Duration = Duration::from_secs(60);

/// Waits for `child` to exit, up to `limit`; on timeout kills it and returns `None`.
pub fn wait_bounded(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `command` to completion with `stdin` as its input and collects its output.
///
/// # Panics
/// When it cannot be started, or is still running after `limit` (it is killed first).
pub fn output_bounded(command: &mut Command, stdin: &str, limit: Duration) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    let mut input = child.stdin.take().expect("piped stdin");
    let text = stdin.to_owned();
    // Written from a thread: a child that does not read its input must not block us.
    let writer = thread::spawn(move || {
        let _ = input.write_all(text.as_bytes());
    });
    let stdout = read_all(child.stdout.take().expect("piped stdout"));
    let stderr = read_all(child.stderr.take().expect("piped stderr"));
    let status = wait_bounded(&mut child, limit)
        .unwrap_or_else(|| panic!("{command:?} did not finish within {limit:?}"));
    let _ = writer.join();
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

fn read_all(mut from: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = from.read_to_end(&mut buf);
        buf
    })
}

/// A file in the temporary directory holding `text`, under a name no other test (or test
/// process) uses; removed when dropped.
#[derive(Debug)]
pub struct TempFile(PathBuf);

impl TempFile {
    /// Writes `text` to a fresh file whose name ends in `name`.
    pub fn new(name: &str, text: &str) -> TempFile {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "otel-xray-test-{}-{}-{name}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, text).expect("write the temporary file");
        TempFile(path)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Its path as text, for a command line.
    pub fn path_str(&self) -> &str {
        self.0.to_str().expect("temporary paths are UTF-8")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_past_its_limit_is_killed() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let started = Instant::now();
        assert_eq!(wait_bounded(&mut child, Duration::from_millis(200)), None);
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(child.try_wait().unwrap().is_some(), "killed and reaped");
    }

    #[test]
    fn output_bounded_feeds_stdin_and_collects_both_streams() {
        let out = output_bounded(
            Command::new("sh").args(["-c", "tr a-z A-Z; echo err >&2"]),
            "hello",
            WAIT,
        );
        assert!(out.status.success());
        assert_eq!(out.stdout, b"HELLO");
        assert_eq!(out.stderr, b"err\n");
    }

    #[test]
    fn temp_files_are_distinct_and_removed() {
        let a = TempFile::new("x.yaml", "a");
        let b = TempFile::new("x.yaml", "b");
        assert_ne!(a.path(), b.path());
        assert_eq!(std::fs::read_to_string(a.path()).unwrap(), "a");
        let path = b.path().to_owned();
        drop(b);
        assert!(!path.exists());
    }
}
