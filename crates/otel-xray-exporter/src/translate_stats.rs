//! TranslateCounters of everything the translator changed, trimmed or refused.
//!
//! A translation adds into a local [`TranslationCounts`] and flushes it once, so the shared
//! atomics are touched a few times per span, not per attribute.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

macro_rules! counters {
    ($( $(#[$doc:meta])* $name:ident ),* $(,)?) => {
        /// A snapshot of the translator's counters since it was created (shared by clones).
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct TranslateStats {
            /// Documents produced (segments + subsegments).
            pub documents: u64,
            $( $(#[$doc])* pub $name: u64, )*
        }

        #[derive(Debug, Default)]
        pub(crate) struct TranslateCounters {
            $( $name: AtomicU64, )*
        }

        /// Per-translation counts, added to [`TranslateCounters`] at the end.
        #[derive(Debug, Default, Clone, Copy)]
        pub(crate) struct TranslationCounts {
            $( pub(crate) $name: u64, )*
        }

        impl TranslationCounts {
            /// These counts as stats of one translation.
            pub(crate) fn to_stats(self) -> TranslateStats {
                let mut s = TranslateStats { documents: 0, $( $name: self.$name, )* };
                s.documents = s.segments + s.subsegments;
                s
            }
        }

        impl TranslateCounters {
            pub(crate) fn add(&self, t: &TranslationCounts) {
                $( if t.$name != 0 { self.$name.fetch_add(t.$name, Relaxed); } )*
            }

            pub(crate) fn snapshot(&self) -> TranslateStats {

                let mut s = TranslateStats { documents: 0, $( $name: self.$name.load(Relaxed), )* };
                // Derived rather than counted: one atomic add less per document.
                s.documents = s.segments + s.subsegments;
                s
            }
        }
    };
}

counters! {
    /// Documents that are segments.
    segments,
    /// Documents that are independent subsegments.
    subsegments,
    /// Spans that could not be translated (invalid trace or span ID).
    failed,
    /// Names changed to fit the schema's character class or 200-char limit.
    names_sanitised,
    /// Annotation keys changed to fit `^[a-zA-Z0-9_]{1,500}$`.
    annotation_keys_sanitised,
    /// Strings cut to a limit (marked with a trailing `…`).
    strings_truncated,
    /// Values replaced by `[REDACTED]`.
    redactions,
    /// Would-be annotations written to metadata instead (over 50, non-scalar value, empty key).
    annotations_to_metadata,
    /// Metadata entries removed by the size policy.
    metadata_trimmed,
    /// Annotations removed by the size policy.
    annotations_trimmed,
    /// Stack frames removed by the size policy.
    stack_frames_trimmed,
    /// Exceptions removed by the size policy.
    exceptions_trimmed,
    /// Span links removed by the size policy.
    links_trimmed,
    /// Span links not exported because their trace ID is invalid.
    links_invalid,
    /// Documents reduced to their identifying fields to fit the size limit.
    documents_minimised,
}

impl TranslationCounts {
    /// A length limit or the size policy cut something: a string, a metadata
    /// entry, an annotation, stack frames, exceptions, links, or the whole
    /// document down to its identity.
    pub(crate) fn trimmed(&self) -> bool {
        self.strings_truncated
            + self.metadata_trimmed
            + self.annotations_trimmed
            + self.stack_frames_trimmed
            + self.exceptions_trimmed
            + self.links_trimmed
            + self.documents_minimised
            != 0
    }
}
