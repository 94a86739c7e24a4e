//! The X-Ray limits `validate` checks beyond the schema.

/// Largest segment document X-Ray accepts ("64 kB", read as KiB like the exporter does).
pub const MAX_DOCUMENT_BYTES: usize = otel_xray_exporter::MAX_SEGMENT_BYTES;

/// X-Ray indexes at most this many annotations per trace.
pub const MAX_ANNOTATIONS: usize = 50;

/// Longest subsegment name (X-Ray's general string limit).
pub const MAX_SUBSEGMENT_NAME_CHARS: usize = 250;
