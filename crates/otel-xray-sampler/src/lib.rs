//! otel_xray_sampler (filled in by its issue).
#![deny(missing_docs)]
