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
    top.stack.reserve(trace.len() / 96);
    for line in super::lines(trace) {
        let t = line.trim_ascii();
        let Some(&first) = t.as_bytes().first() else {
            in_causes = false;
            continue;
        };
        // Dispatch on the first byte: pattern searches are the cost of this parser.
        match first {
            b'0'..=b'9' => {
                if let Some(rest) = indexed(t) {
                    if in_causes {
                        causes.push(Parsed {
                            kind: None,
                            message: Some(Cow::Borrowed(rest)),
                            stack: Vec::new(),
                        });
                    } else {
                        top.stack.push(frame(full_format_label(rest), "", 0));
                    }
                } else if t.starts_with("0x") {
                    // Inlined frame in the full format: no index, same address column.
                    top.stack.push(frame(full_format_label(t), "", 0));
                }
            }
            b'a' if t.starts_with("at ") => {
                if let Some(f) = top.stack.last_mut().filter(|f| f.path.is_empty()) {
                    let (path, line_no) = split_location(&t[3..]);
                    f.path = Cow::Borrowed(path);
                    f.line = line_no;
                }
            }
            b't' if t.starts_with("thread ") => {
                const PANICKED: &[u8] = b"panicked at ";
                // A plain window scan: lines are short and `str::find` sets up Two-Way.
                if let Some(at) = t
                    .as_bytes()
                    .windows(PANICKED.len())
                    .position(|w| w == PANICKED)
                {
                    panic_frame = panic_location(&t[at + PANICKED.len()..]);
                }
            }
            b'C' if t == "Caused by:" => in_causes = true,
            b's' | b'S' if t.eq_ignore_ascii_case("stack backtrace:") => in_causes = false,
            b'B' if t.starts_with("Backtrace [") => debug_frames(&t[11..], &mut top.stack),
            _ => {}
        }
    }
    if top.stack.is_empty() {
        top.stack.extend(panic_frame);
    }
    let mut out = vec![top];
    out.extend(causes);
    out
}

/// `12: rest` → `rest`.
fn indexed(t: &str) -> Option<&str> {
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    t[digits..].strip_prefix(": ").filter(|_| digits > 0)
}

/// `0x55d… - app::handler` → `app::handler`; anything else as is.
fn full_format_label(rest: &str) -> &str {
    let rest = rest.trim_start();
    if rest.starts_with("0x") {
        if let Some((_, label)) = rest.split_once(" - ") {
            return label.trim();
        }
    }
    rest.trim_end()
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
