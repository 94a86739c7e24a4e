//! Compiles the vendored OTLP trace service protos (`proto/`, see its README)
//! into prost messages with `protox`, a protobuf compiler in Rust, so building
//! needs no system `protoc`; and generates the tonic server of their `TraceService`.

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
        .build_server(false)
        .build_client(false)
        .compile_fds(descriptors)?;
    // The `TraceService` server, declared here rather than from the proto's service so that
    // `Export` takes the request's bytes (src/otlp/codec.rs): the receiver reads spans
    // from them without decoding prost's messages first (src/otlp/convert/wire.rs).
    let export = tonic_build::manual::Method::builder()
        .name("export")
        .route_name("Export")
        .input_type("::bytes::Bytes")
        .output_type("crate::otlp::proto::collector::trace::v1::ExportTraceServiceResponse")
        .codec_path("crate::otlp::codec::RequestBytesCodec")
        .build();
    let service = tonic_build::manual::Service::builder()
        .name("TraceService")
        .package("opentelemetry.proto.collector.trace.v1")
        .comment("The OTLP trace service: `Export`, one request of spans at a time.")
        .method(export)
        .build();
    tonic_build::manual::Builder::new()
        .build_server(true)
        .build_client(false)
        .build_transport(false)
        .compile(&[service]);
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
