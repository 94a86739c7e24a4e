//! V8 (`Error.stack`) text.
//!
//! ```text
//! TypeError: Cannot read properties of undefined
//!     at Object.speedy (/app/index.js:10:5)
//!     at /app/index.js:20:1
//!     at Array.forEach (native)
//! ```
//! The label is the text before `(`; without parentheses the whole rest is the
//! location. A `(` without `)` drops the frame.

use super::{frame, split_location, Parsed};

pub(crate) fn parse(trace: &str) -> Vec<Parsed<'_>> {
    let mut p = Parsed::default();
    for line in super::lines(trace).skip(1) {
        let Some(rest) = line.trim_start().strip_prefix("at ") else {
            continue;
        };
        let rest = rest.trim_end();
        let (label, loc) = match rest.find('(') {
            Some(open) => {
                let Some(loc) = rest[open + 1..].strip_suffix(')') else {
                    continue;
                };
                (rest[..open].trim_end(), loc)
            }
            None => ("", rest),
        };
        let (path, line_no) = split_location(loc);
        let path = if line_no == 0 && path.contains("native") {
            "native"
        } else {
            path
        };
        if label.is_empty() && path.is_empty() {
            continue;
        }
        p.stack.push(frame(label, path, line_no));
    }
    vec![p]
}
