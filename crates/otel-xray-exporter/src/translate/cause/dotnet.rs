//! .NET `Exception.ToString()` text.
//!
//! ```text
//! System.FormatException: Input string was not in a correct format.
//!    at System.Number.ThrowFormatException(ReadOnlySpan`1 value)
//!    at Program.Parse(String s) in C:\src\IntParser.cs:line 11
//! ```
//! Inner-exception markers are skipped (no chaining); a frame without `)` is dropped.

use super::{frame, Parsed};

pub(crate) fn parse(trace: &str) -> Vec<Parsed<'_>> {
    let mut p = Parsed::default();
    for line in super::lines(trace).skip(1) {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("at ") else {
            continue;
        };
        if let Some((label, loc)) = rest.split_once(" in ") {
            let (path, line_no) = match loc.rsplit_once(":line ") {
                Some((p, n)) => (p, n.trim().parse().unwrap_or(0)),
                None => (loc, 0),
            };
            p.stack.push(frame(label, path, line_no));
        } else if let Some(close) = rest.rfind(')') {
            p.stack.push(frame(&rest[..=close], "", 0));
        }
    }
    vec![p]
}
