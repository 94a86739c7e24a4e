//! Java (and PHP, Kotlin, Scala) `Throwable.printStackTrace` text.
//!
//! ```text
//! java.lang.IllegalStateException: boom
//!     at java.base/com.example.Foo.bar(Foo.java:42)
//!     at com.example.Main.main(Native Method)
//!     ... 3 more
//! Caused by: java.io.IOException: disk
//!     at com.example.Disk.read(Disk.java:7)
//! ```
//! Frames start with one TAB and `at `; the module/classloader prefix up to the
//! first `/` is removed from the label. `Caused by:` starts the next exception of
//! the chain; lines between it and its first frame continue its message.
//! `Suppressed:` blocks (two TABs), `... N more` and malformed frames are skipped.

use std::borrow::Cow;

use super::{frame, type_and_message, Parsed};

pub(crate) fn parse(trace: &str) -> Vec<Parsed<'_>> {
    let mut out = vec![Parsed::default()];
    let mut in_header = false;
    for line in super::lines(trace).skip(1) {
        if let Some(rest) = line.strip_prefix("\tat ") {
            in_header = false;
            let rest = rest.trim_end();
            let (Some(open), true) = (rest.find('('), rest.ends_with(')')) else {
                continue;
            };
            let label = &rest[..open];
            let label = label.split_once('/').map_or(label, |(_, l)| l);
            let inside = &rest[open + 1..rest.len() - 1];
            let (path, line) = if inside.contains(':') {
                let (p, l) = inside.rsplit_once(':').unwrap_or((inside, ""));
                (p, l.parse().unwrap_or(0))
            } else {
                (inside, 0)
            };
            if let Some(cur) = out.last_mut() {
                cur.stack.push(frame(label, path, line));
            }
        } else if let Some(rest) = line.strip_prefix("Caused by: ") {
            let (kind, message) = type_and_message(rest);
            out.push(Parsed {
                kind,
                message,
                stack: Vec::new(),
            });
            in_header = true;
        } else if in_header && !line.trim_start().starts_with("...") {
            if let Some(cur) = out.last_mut() {
                let m = cur.message.get_or_insert(Cow::Borrowed(""));
                let joined = format!("{m}\n{line}");
                *m = Cow::Owned(joined);
            }
        }
    }
    out
}
