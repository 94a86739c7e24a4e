//! What every target checks after feeding the daemon: every unit that came in is accounted
//! for exactly once, and every document the buffer took is a JSON object with the fields
//! X-Ray requires of every segment.

use std::sync::OnceLock;

use otel_xray_daemon::{Intake, OtlpIngest};
use otel_xray_exporter::{Translator, TranslatorConfig};

/// A fresh decoder with a buffer large enough that only huge inputs spill over.
pub fn ingest() -> OtlpIngest {
    OtlpIngest::new(
        Translator::new(TranslatorConfig::default()),
        Intake::with_capacity(4 * 1024 * 1024),
    )
}

/// received = rejected + buffered + spillover, and the buffered documents are well formed.
pub fn check(ingest: &OtlpIngest) {
    let intake = ingest.intake();
    let counts = intake.counters().snapshot();
    assert_eq!(
        counts.received_total(),
        counts.rejected_total() + counts.buffered + counts.spillover,
        "a unit was neither rejected, buffered nor spilled: {counts:?}"
    );
    let buffer = intake.buffer();
    let waiting = buffer.len();
    if waiting == 0 {
        return;
    }
    let taken = runtime().block_on(buffer.next_batch(waiting));
    for document in &taken.documents {
        let value: serde_json::Value =
            serde_json::from_str(document).expect("the translator writes JSON");
        for field in ["name", "id", "trace_id", "start_time"] {
            assert!(value.get(field).is_some(), "no {field} in {value}");
        }
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime")
    })
}
