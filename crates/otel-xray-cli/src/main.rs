//! `otel-xray` command line.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![allow(dead_code)]
mod daemon;
mod otlp;
mod validate;
fn main() {}
