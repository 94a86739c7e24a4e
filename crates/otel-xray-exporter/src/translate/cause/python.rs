//! Python `traceback` text.
//!
//! ```text
//! Traceback (most recent call last):
//!   File "main.py", line 14, in <module>
//!     greet_many(["Bob", 1])
//!   File "greetings.py", line 12, in greet_many
//!     greet(person)
//! TypeError: can only concatenate str (not "int") to str
//! ```
//! Chained exceptions are printed oldest first, separated by "During handling of
//! the above exception…" or "The above exception was the direct cause…"; the last
//! block is the exception the event describes. Frames come out innermost first.

use std::borrow::Cow;

use super::{frame, type_and_message, Parsed};
use crate::segment::StackFrame;

const SEPARATORS: [&str; 2] = [
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
];

pub(crate) fn parse(trace: &str) -> Vec<Parsed<'_>> {
    // Blocks in printed order: oldest cause first, the event's exception last.
    let mut blocks: Vec<Vec<&str>> = vec![Vec::new()];
    for line in super::lines(trace) {
        if SEPARATORS.contains(&line.trim()) {
            blocks.push(Vec::new());
        } else if let Some(b) = blocks.last_mut() {
            b.push(line);
        }
    }
    let mut out = Vec::with_capacity(blocks.len());
    for (i, block) in blocks.iter().enumerate().rev() {
        let (stack, tail) = frames(block);
        let mut p = Parsed {
            stack,
            ..Parsed::default()
        };
        if i + 1 != blocks.len() {
            if tail.is_empty() {
                break;
            }
            let (kind, message) = type_and_message(tail[0]);
            p.kind = kind;
            p.message = match (message, tail.len()) {
                (m, 1) => m,
                (m, _) => {
                    let mut text = m.map(Cow::into_owned).unwrap_or_default();
                    for l in &tail[1..] {
                        text.push('\n');
                        text.push_str(l);
                    }
                    Some(Cow::Owned(text))
                }
            };
        }
        out.push(p);
    }
    out
}

/// The frames of one block (innermost first) and its trailing `Type: message` lines.
fn frames<'a>(block: &[&'a str]) -> (Vec<StackFrame<'a>>, Vec<&'a str>) {
    let mut stack = Vec::new();
    let mut last_frame_line = None;
    for (i, line) in block.iter().enumerate() {
        let Some(rest) = line.strip_prefix("  File ") else {
            continue;
        };
        last_frame_line = Some(i);
        let parts: Vec<&str> = rest.split(", ").collect();
        let path = parts
            .first()
            .map(|p| p.trim_matches('"'))
            .unwrap_or_default();
        let mut line_no = 0;
        let mut label = "";
        for p in parts.iter().skip(1) {
            if let Some(n) = p.strip_prefix("line ") {
                line_no = n.trim().parse().unwrap_or(0);
            } else if let Some(l) = p.strip_prefix("in ") {
                label = l.trim();
            }
        }
        stack.push(frame(label, path, line_no));
    }
    stack.reverse();
    let start = match last_frame_line {
        // The frame's source line (indented 4) follows it, unless absent.
        Some(i) => {
            let next = i + 1;
            if block.get(next).is_some_and(|l| l.starts_with("    ")) {
                next + 1
            } else {
                next
            }
        }
        None => 0,
    };
    let tail = block
        .get(start..)
        .unwrap_or_default()
        .iter()
        .copied()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("Traceback ") && !l.starts_with("    ^"))
        .collect();
    (stack, tail)
}
