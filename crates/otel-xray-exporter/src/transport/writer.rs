//! Newline-delimited documents to any `Write` (stdout by default).

use std::fmt;
use std::io::Write;
use std::sync::{Mutex, PoisonError};

use super::{DeliveryTally, Document};
use crate::delivery_stats::DropReason;

pub(crate) struct WriterTransport {
    out: Mutex<Box<dyn Write + Send>>,
}

impl fmt::Debug for WriterTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriterTransport").finish_non_exhaustive()
    }
}

impl WriterTransport {
    pub(crate) fn new(out: Box<dyn Write + Send>) -> WriterTransport {
        WriterTransport {
            out: Mutex::new(out),
        }
    }

    pub(crate) fn deliver(&self, docs: &[Document], tally: &mut DeliveryTally) {
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        let mut line = Vec::new();
        for doc in docs {
            // One write per line, so a line is never split by a failing writer.
            line.clear();
            line.extend_from_slice(doc.text.as_bytes());
            line.push(b'\n');
            match out.write_all(&line) {
                Ok(()) => tally.sent(doc.spans),
                Err(e) => {
                    tracing::warn!(target: "otel_xray_exporter", error = %e, "writing a segment document failed");
                    tally.dropped(DropReason::WriteFailed, doc.spans);
                }
            }
        }
        if let Err(e) = out.flush() {
            tracing::warn!(target: "otel_xray_exporter", error = %e, "flushing segment documents failed");
        }
    }

    pub(crate) fn flush(&self) -> std::io::Result<()> {
        self.out
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .flush()
    }
}
