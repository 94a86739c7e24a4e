//! `otel-xray` command line.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![allow(dead_code)]
mod otlp;
fn main() {}
