//! What `validate` reports: one problem per broken rule, located by a JSON pointer.

use std::fmt;

use super::limits::{MAX_ANNOTATIONS, MAX_DOCUMENT_BYTES, MAX_SUBSEGMENT_NAME_CHARS};

/// One thing wrong with a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// JSON pointer into the document (`""` for the whole document).
    pub path: String,
    /// What is wrong.
    pub kind: ProblemKind,
}

impl Problem {
    /// A problem at JSON pointer `path`.
    pub(super) fn at(path: &str, kind: ProblemKind) -> Problem {
        Problem {
            path: path.to_string(),
            kind,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.kind)
        } else {
            write!(f, "{}: {}", self.path, self.kind)
        }
    }
}

/// The kinds of problem, one per rule.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProblemKind {
    /// The text is not JSON.
    #[error("not JSON: {0}")]
    NotJson(String),
    /// The document is JSON but not an object.
    #[error("a segment document must be a JSON object")]
    NotAnObject,
    /// A UDP-daemon frame the daemon would reject.
    #[error("daemon framing: {0}")]
    Frame(#[from] crate::daemon::FrameError),
    /// The official schema rejects it.
    #[error("schema: {0}")]
    Schema(String),
    /// Larger than 64 KiB.
    #[error("document is {bytes} bytes, over the {MAX_DOCUMENT_BYTES}-byte limit")]
    TooLarge {
        /// Serialized size.
        bytes: usize,
    },
    /// An `id` / `parent_id` that is not 16 lowercase hex digits.
    #[error("{field} must be 16 lowercase hex digits, found {found}")]
    BadId {
        /// `id` or `parent_id`.
        field: &'static str,
        /// The value, as JSON.
        found: String,
    },
    /// A `trace_id` not of the form `1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx`.
    #[error("trace_id must match ^1-[0-9a-f]{{8}}-[0-9a-f]{{24}}$, found {0}")]
    BadTraceId(String),
    /// A subsegment name over 250 characters.
    #[error("subsegment name is {0} characters, over {MAX_SUBSEGMENT_NAME_CHARS}")]
    NameTooLong(usize),
    /// More than 50 annotations in the document.
    #[error("{0} annotations in the document; X-Ray indexes at most {MAX_ANNOTATIONS} per trace")]
    TooManyAnnotations(usize),
    /// Neither `end_time` nor `in_progress: true`.
    #[error("needs end_time or \"in_progress\": true")]
    NotEnded,
    /// Both `end_time` and `in_progress: true`.
    #[error("has both end_time and \"in_progress\": true; send exactly one")]
    EndedAndInProgress,
    /// `end_time` earlier than `start_time`.
    #[error("end_time {end} is before start_time {start}")]
    EndBeforeStart {
        /// `start_time`.
        start: f64,
        /// `end_time`.
        end: f64,
    },
    /// An independent subsegment without `trace_id` or `parent_id`.
    #[error("a subsegment sent on its own needs {0}")]
    IndependentSubsegmentMissing(&'static str),
}
