//! Rust panic messages, `std::backtrace::Backtrace` (Display and Debug) and
//! `anyhow`-style `Caused by:` chains.
//!
//! ```text
//! thread 'main' panicked at src/main.rs:5:5:
//! called `Option::unwrap()` on a `None` value
//! stack backtrace:
//!    0: rust_begin_unwind
//!              at /rustc/…/library/std/src/panicking.rs:597:5
//!    1: app::handler
//!              at ./src/main.rs:5:5
//! ```
//! With `RUST_BACKTRACE=full` a frame reads `   3:     0x55d… - app::handler`.
//! `Backtrace [{ fn: "app::handler", file: "./src/main.rs", line: 5 }, …]` is the
//! Debug form. `Caused by:` followed by `    0: message` lines adds exceptions to
//! the chain. When there is no backtrace, the panic location is the one frame.

use std::borrow::Cow;

use super::{frame, split_location, Parsed};
use crate::segment::StackFrame;

pub(crate) fn parse(trace: &str) -> Vec<Parsed<'_>> {
    let mut top = Parsed::default();
    let mut causes = Vec::new();
    let mut panic_frame = None;
    let mut in_causes = false;
    for line in trace.lines() {
        let t = line.trim();
        if let Some(at) = t.find("panicked at ").filter(|_| t.starts_with("thread ")) {
            panic_frame = panic_location(&t[at + "panicked at ".len()..]);
            continue;
        }
        if t == "Caused by:" {
            in_causes = true;
            continue;
        }
        if t.eq_ignore_ascii_case("stack backtrace:") || t.is_empty() {
            in_causes = false;
            continue;
        }
        if let Some(items) = t.strip_prefix("Backtrace [") {
            debug_frames(items, &mut top.stack);
            continue;
        }
        if let Some(rest) = t.strip_prefix("at ") {
            if let Some(f) = top.stack.last_mut().filter(|f| f.path.is_empty()) {
                let (path, line_no) = split_location(rest);
                f.path = Cow::Borrowed(path);
                f.line = line_no;
            }
            continue;
        }
        if let Some((n, rest)) = t.split_once(": ") {
            if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
                if in_causes {
                    causes.push(Parsed {
                        kind: None,
                        message: Some(Cow::Borrowed(rest)),
                        stack: Vec::new(),
                    });
                } else {
                    let label = match rest.trim_start().split_once(" - ") {
                        Some((addr, l)) if addr.starts_with("0x") => l,
                        _ => rest,
                    };
                    top.stack.push(frame(label.trim(), "", 0));
                }
                continue;
            }
        }
        if let Some(label) = t.strip_prefix("0x").and_then(|r| r.split_once(" - ")) {
            // Inlined frame in the full format: no index, same address column.
            top.stack.push(frame(label.1.trim(), "", 0));
        }
    }
    if top.stack.is_empty() {
        top.stack.extend(panic_frame);
    }
    let mut out = vec![top];
    out.extend(causes);
    out
}

/// `src/main.rs:5:5:` (1.73+) or `'message', src/main.rs:5:5` (older).
fn panic_location(rest: &str) -> Option<StackFrame<'_>> {
    let rest = rest.trim_end_matches(':');
    let loc = rest.rsplit_once(", ").map_or(rest, |(_, l)| l);
    let (path, line_no) = split_location(loc);
    (line_no != 0).then(|| frame("panic", path, line_no))
}

/// `{ fn: "a::b", file: "./src/main.rs", line: 5 }, { fn: "c" }, …]`.
fn debug_frames<'a>(items: &'a str, out: &mut Vec<StackFrame<'a>>) {
    for item in items.split('{').skip(1) {
        let item = item.split('}').next().unwrap_or("");
        let quoted = |key: &str| {
            let start = item.find(key)? + key.len();
            let rest = &item[start..];
            let end = rest.find('"')?;
            Some(&rest[..end])
        };
        let label = quoted("fn: \"").unwrap_or("");
        let path = quoted("file: \"").unwrap_or("");
        let line_no = item
            .find("line: ")
            .map(|i| &item[i + 6..])
            .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        if !label.is_empty() || !path.is_empty() {
            out.push(frame(label, path, line_no));
        }
    }
}
