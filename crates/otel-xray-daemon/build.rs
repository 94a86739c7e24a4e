//! Compiles the vendored OTLP trace service protos (`proto/`, see its README)
//! into prost messages and a tonic server, with `protox`: a protobuf compiler
//! in Rust, so building needs no system `protoc`.

use std::path::PathBuf;

/// The trace service and its import closure, relative to `proto/`.
const PROTOS: [&str; 4] = [
    "opentelemetry/proto/collector/trace/v1/trace_service.proto",
    "opentelemetry/proto/trace/v1/trace.proto",
    "opentelemetry/proto/common/v1/common.proto",
    "opentelemetry/proto/resource/v1/resource.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    platform_features()?;
    // `proto` in the crate is a link to the workspace's top-level `proto/`;
    // `cargo package` follows it, so a packaged crate has its own copy.
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("proto");
    for file in PROTOS {
        println!("cargo:rerun-if-changed={}", root.join(file).display());
    }
    let descriptors = protox::compile(PROTOS, [&root])?;
    tonic_prost_build::configure()
        // IDs (and bytes values) as `Bytes`: decoded from tonic's buffer they share it
        // instead of taking an allocation each, three per span.
        .bytes(".")
        // Requests decoded from one contiguous `Bytes` (src/otlp/codec.rs).
        .codec_path("crate::otlp::codec::ContiguousCodec")
        .build_server(true)
        .build_client(false)
        .compile_fds(descriptors)?;
    Ok(())
}

/// Names, once, what the UDP receiver (`src/udp_batch.rs`) may use on the target OS:
/// `recvmmsg` (many datagrams per system call) and `rxq_ovfl` (the kernel's drop counter
/// with each datagram, `SO_RXQ_OVFL`). `Cargo.toml` repeats the `recvmmsg` list for `nix`,
/// where these names do not reach.
fn platform_features() -> Result<(), std::env::VarError> {
    println!("cargo::rustc-check-cfg=cfg(recvmmsg, rxq_ovfl)");
    let os = std::env::var("CARGO_CFG_TARGET_OS")?;
    if matches!(os.as_str(), "linux" | "android" | "freebsd" | "netbsd") {
        println!("cargo::rustc-cfg=recvmmsg");
    }
    if matches!(os.as_str(), "linux" | "android") {
        println!("cargo::rustc-cfg=rxq_ovfl");
    }
    Ok(())
}
