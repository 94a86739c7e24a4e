//! otel_xray_id (filled in by its issue).
#![deny(missing_docs)]
