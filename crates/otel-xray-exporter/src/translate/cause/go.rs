//! Go panic / `runtime/debug.Stack()` text.
//!
//! ```text
//! panic: boom
//!
//! goroutine 1 [running]:
//! main.handler(...)
//!     /src/app/main.go:10 +0x1d
//! created by net/http.(*Server).Serve
//!     /usr/local/go/src/net/http/server.go:3285 +0x4b4
//! ```
//! A function line followed by a TAB-indented `path:line` line is a frame;
//! `goroutine N [...]:` headers are skipped.

use super::{frame, Parsed};

pub(crate) fn parse(trace: &str) -> Vec<Parsed<'_>> {
    let mut p = Parsed::default();
    let mut label: Option<&str> = None;
    for line in super::lines(trace).skip(1) {
        if let Some(loc) = line.strip_prefix('\t') {
            let Some(fun) = label.take() else { continue };
            let loc = loc.split(" +0x").next().unwrap_or(loc).trim();
            let (path, line_no) = match loc.rsplit_once(':') {
                Some((path, n)) if n.bytes().all(|b| b.is_ascii_digit()) && !n.is_empty() => {
                    (path, n.parse().unwrap_or(0))
                }
                _ => (loc, 0),
            };
            p.stack.push(frame(fun, path, line_no));
        } else if line.starts_with("goroutine ") && line.ends_with(':') || line.trim().is_empty() {
            label = None;
        } else {
            let fun = line.strip_prefix("created by ").unwrap_or(line);
            label = Some(fun.trim_end());
        }
    }
    vec![p]
}
