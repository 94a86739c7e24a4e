//! otel-xray facade.
#![deny(missing_docs)]
