//! otel_xray_exporter (filled in by its issue).
#![deny(missing_docs)]

#[cfg(feature = "collector")]
pub mod collector;
#[cfg(feature = "collector")]
pub use collector::XrayAnnotationExporter;
