//! otel_xray_exporter (filled in by its issue).
#![deny(missing_docs)]
