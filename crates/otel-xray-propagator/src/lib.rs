//! otel_xray_propagator (filled in by its issue).
#![deny(missing_docs)]
