//! The OTLP trace messages and the `TraceService` server, generated at build
//! time from the vendored `proto/` (opentelemetry-proto v1.10.0; see its
//! README). Module paths follow the protobuf packages, as the generated code
//! refers to its siblings by relative path.
#![allow(missing_docs, clippy::all, clippy::pedantic)]

/// `opentelemetry.proto.collector.*`
pub mod collector {
    /// `opentelemetry.proto.collector.trace`
    pub mod trace {
        /// `opentelemetry.proto.collector.trace.v1`: the trace service.
        pub mod v1 {
            include!(concat!(
                env!("OUT_DIR"),
                "/opentelemetry.proto.collector.trace.v1.rs"
            ));
            include!(concat!(
                env!("OUT_DIR"),
                "/opentelemetry.proto.collector.trace.v1.TraceService.rs"
            ));
        }
    }
}

/// `opentelemetry.proto.common`
pub mod common {
    /// `opentelemetry.proto.common.v1`: attributes and scopes.
    pub mod v1 {
        include!(concat!(
            env!("OUT_DIR"),
            "/opentelemetry.proto.common.v1.rs"
        ));
    }
}

/// `opentelemetry.proto.resource`
pub mod resource {
    /// `opentelemetry.proto.resource.v1`: resources.
    pub mod v1 {
        include!(concat!(
            env!("OUT_DIR"),
            "/opentelemetry.proto.resource.v1.rs"
        ));
    }
}

/// `opentelemetry.proto.trace`
pub mod trace {
    /// `opentelemetry.proto.trace.v1`: spans.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/opentelemetry.proto.trace.v1.rs"));
    }
}
