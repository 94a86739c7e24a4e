//! The OTLP/gRPC receiver: `opentelemetry.proto.collector.trace.v1.TraceService/Export`
//! on tonic, gzip requests accepted.
//!
//! Answers: `OK` with `partial_success` (rejected spans and why) when spans
//! were refused; `RESOURCE_EXHAUSTED` when the buffer was full, so the
//! sender's retry (or its own queue) holds the spans instead of our memory.
//! A request that is not an `ExportTraceServiceRequest` is answered `INTERNAL`,
//! the status tonic-prost's decoder gave it; so is what tonic refuses before
//! calling the service. A layer around the service counts every such answer
//! as a malformed request.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::codec::CompressionEncoding;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

use super::ingest::{OtlpIngest, Outcome};
use super::proto::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use super::proto::collector::trace::v1::{ExportTracePartialSuccess, ExportTraceServiceResponse};
use crate::counters::Source;

/// The default OTLP/gRPC listen address (loopback, as the X-Ray daemon's own ports).
pub const DEFAULT_GRPC_ADDRESS: &str = "127.0.0.1:4317";

/// Largest request accepted, decompressed (the collector's default is 4 MiB;
/// the X-Ray OTLP endpoint takes 5 MB).
pub const MAX_GRPC_REQUEST_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug)]
struct GrpcTraceService {
    ingest: OtlpIngest,
}

#[tonic::async_trait]
impl TraceService for GrpcTraceService {
    async fn export(
        &self,
        request: Request<Bytes>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        // Counted as malformed by `CountDecodeFailures`, from the status.
        let conversion = self
            .ingest
            .read(request.get_ref())
            .map_err(|e| Status::internal(e.to_string()))?;
        let outcome = self.ingest.ingest(conversion, Source::OtlpGrpc);
        grpc_answer(outcome).map(Response::new)
    }
}

fn grpc_answer(outcome: Outcome) -> Result<ExportTraceServiceResponse, Status> {
    if outcome.is_refused() {
        return Err(Status::resource_exhausted(refusal_message(&outcome)));
    }
    Ok(export_response(outcome))
}

/// The answer to a request that was taken: `partial_success` when spans were refused.
pub(super) fn export_response(outcome: Outcome) -> ExportTraceServiceResponse {
    let partial = ExportTracePartialSuccess {
        rejected_spans: outcome.rejected as i64,
        error_message: outcome.message,
    };
    ExportTraceServiceResponse {
        partial_success: (outcome.rejected > 0).then_some(partial),
    }
}

/// The message of a `RESOURCE_EXHAUSTED` / 429 answer.
pub(super) fn refusal_message(outcome: &Outcome) -> String {
    let full = if outcome.forwarding {
        "too many spans are still on their way to the X-Ray OTLP endpoint"
    } else {
        "the daemon's buffer is full"
    };
    let mut message = format!("{full}: {} spans not taken, retry later", outcome.spilled);
    if outcome.rejected > 0 {
        message.push_str(&format!(
            "; {} spans rejected: {}",
            outcome.rejected, outcome.message
        ));
    }
    message
}

/// Serves OTLP/gRPC on `listener` until `stop` turns true.
///
/// # Errors
///
/// The server failed (the listener broke).
pub async fn serve_grpc(
    listener: TcpListener,
    ingest: OtlpIngest,
    mut stop: watch::Receiver<bool>,
) -> Result<(), tonic::transport::Error> {
    let shutdown = async move {
        let _ = stop.wait_for(|stop| *stop).await;
    };
    let counting = ingest.clone();
    let service = TraceServiceServer::new(GrpcTraceService { ingest })
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(MAX_GRPC_REQUEST_BYTES);
    tonic::transport::Server::builder()
        .layer(tower::layer::layer_fn(move |inner| CountDecodeFailures {
            inner,
            ingest: counting.clone(),
        }))
        .add_service(service)
        // Answers leave at once: with Nagle's algorithm on, an answer written in more than
        // one piece waited for the client's acknowledgement of the first, and a client
        // with a few requests in flight waited with it.
        .serve_with_incoming_shutdown(
            TcpIncoming::from(listener).with_nodelay(Some(true)),
            shutdown,
        )
        .await
}

/// Counts the `INTERNAL` answers (status 13) as malformed requests: the service's own for a
/// body that is not a protobuf request, and tonic's for what it refuses before calling the
/// service. The service gives that status for nothing else.
#[derive(Debug, Clone)]
struct CountDecodeFailures<S> {
    inner: S,
    ingest: OtlpIngest,
}

impl<S, B, ResBody> tower::Service<http::Request<B>> for CountDecodeFailures<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let ingest = self.ingest.clone();
        let answer = self.inner.call(request);
        Box::pin(async move {
            let response = answer.await?;
            let status = response.headers().get("grpc-status");
            if status.is_some_and(|s| s.as_bytes() == b"13") {
                ingest.malformed_request(Source::OtlpGrpc);
            }
            Ok(response)
        })
    }
}
