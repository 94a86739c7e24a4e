//! OTLP over UDP to the X-Ray daemon Lambda runs next to each function.
//!
//! The frame, as the AWS Distro for OpenTelemetry sends it on Lambda: the
//! daemon header ([`DAEMON_HEADER`](crate::DAEMON_HEADER)), `T1S` (sampled
//! spans) or `T1U` (unsampled), then the base64 of an OTLP
//! `ExportTraceServiceRequest`. One request per datagram: batches are split so
//! each frame fits [`MAX_DATAGRAM_BYTES`](crate::MAX_DATAGRAM_BYTES).

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use base64::Engine;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

use super::limits::{Limits, MAX_RESOURCE_SCOPE_BYTES, MAX_SPANS_PER_REQUEST};
use super::pipeline::Pipeline;
use crate::collector::ConflictPolicy;
use crate::delivery_stats::{DeliveryCounters, DropReason};
use crate::{AddressError, DaemonAddress, DAEMON_HEADER, MAX_DATAGRAM_BYTES};

/// Frame prefix for sampled spans.
pub const SAMPLED_PREFIX: &str = "T1S";
/// Frame prefix for unsampled spans.
pub const UNSAMPLED_PREFIX: &str = "T1U";

/// Most protobuf bytes whose base64 still fits one datagram after the header
/// and the prefix.
pub const MAX_LAMBDA_REQUEST_BYTES: usize =
    (MAX_DATAGRAM_BYTES - DAEMON_HEADER.len() - SAMPLED_PREFIX.len()) / 4 * 3;

const LAMBDA_LIMITS: Limits = Limits {
    max_spans: MAX_SPANS_PER_REQUEST,
    max_request_bytes: MAX_LAMBDA_REQUEST_BYTES,
    max_resource_scope_bytes: MAX_RESOURCE_SCOPE_BYTES,
    // A span must fit one datagram beside its resource and scope.
    max_span_bytes: MAX_LAMBDA_REQUEST_BYTES - MAX_RESOURCE_SCOPE_BYTES - 256,
};

/// Why an [`XrayLambdaOtlpExporter`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LambdaUdpError {
    /// `AWS_XRAY_DAEMON_ADDRESS` is malformed.
    #[error(transparent)]
    Address(#[from] AddressError),
    /// The address does not resolve, or no UDP socket could be opened.
    #[error("daemon address unusable: {0}")]
    Io(#[from] std::io::Error),
}

/// A [`SpanExporter`] that sends OTLP over UDP to the Lambda X-Ray daemon;
/// see the [module docs](self). Annotations are rewritten and the endpoint's
/// limits applied as in [`XrayOtlpExporter`](super::XrayOtlpExporter).
///
/// ```no_run
/// use otel_xray_exporter::otlp::XrayLambdaOtlpExporter;
///
/// let exporter = XrayLambdaOtlpExporter::from_env()?;
/// let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
///     .with_simple_exporter(exporter)
///     .build();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct XrayLambdaOtlpExporter {
    socket: UdpSocket,
    target: SocketAddr,
    pipeline: Pipeline,
}

impl XrayLambdaOtlpExporter {
    /// To the UDP address in `AWS_XRAY_DAEMON_ADDRESS` (or the default
    /// `127.0.0.1:2000`).
    ///
    /// # Errors
    ///
    /// A malformed address, one that does not resolve, or no UDP socket.
    pub fn from_env() -> Result<XrayLambdaOtlpExporter, LambdaUdpError> {
        Self::new(&DaemonAddress::from_env()?)
    }

    /// To the UDP side of `address`.
    ///
    /// # Errors
    ///
    /// The address does not resolve, or no UDP socket could be opened.
    pub fn new(address: &DaemonAddress) -> Result<XrayLambdaOtlpExporter, LambdaUdpError> {
        let target = address.udp().resolve()?.into_iter().next().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotFound, "no address resolved")
        })?;
        let bind: SocketAddr = if target.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            ([0u16; 8], 0).into()
        };
        let socket = UdpSocket::bind(bind)?;
        socket.set_write_timeout(Some(Duration::from_secs(1)))?;
        Ok(XrayLambdaOtlpExporter {
            socket,
            target,
            pipeline: Pipeline::default(),
        })
    }

    /// What the annotation rewrite does on conflicts (default
    /// [`ConflictPolicy::KeepBoth`]).
    pub fn with_conflict_policy(mut self, policy: ConflictPolicy) -> Self {
        self.pipeline.conflict_policy = policy;
        self
    }

    /// A live handle on the delivery counters (in spans).
    pub fn counters(&self) -> DeliveryCounters {
        self.pipeline.counters.clone()
    }

    fn send_all(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let counters = &self.pipeline.counters;
        let (sampled, unsampled): (Vec<_>, Vec<_>) = batch
            .into_iter()
            .partition(|span| span.span_context.is_sampled());
        let mut failure = None;
        for (prefix, spans) in [(SAMPLED_PREFIX, sampled), (UNSAMPLED_PREFIX, unsampled)] {
            if spans.is_empty() {
                continue;
            }
            let prepared = self.pipeline.prepare(spans, &LAMBDA_LIMITS)?;
            for planned in prepared.requests {
                let frame = frame(prefix, &planned.body);
                if frame.len() > MAX_DATAGRAM_BYTES {
                    counters.add_dropped(DropReason::TooLarge, planned.spans);
                    continue;
                }
                match self.socket.send_to(&frame, self.target) {
                    Ok(_) => counters.add_sent(planned.spans),
                    Err(e) => {
                        counters.add_dropped(DropReason::SendFailed, planned.spans);
                        failure.get_or_insert(format!(
                            "{} spans not sent to the daemon at {}: {e}",
                            planned.spans, self.target
                        ));
                    }
                }
            }
        }
        failure.map_or(Ok(()), |message| {
            Err(OTelSdkError::InternalFailure(message))
        })
    }
}

/// Header, prefix, base64 of the request.
fn frame(prefix: &str, request: &[u8]) -> Vec<u8> {
    let mut frame =
        String::with_capacity(DAEMON_HEADER.len() + prefix.len() + request.len() * 4 / 3 + 4);
    frame.push_str(DAEMON_HEADER);
    frame.push_str(prefix);
    base64::engine::general_purpose::STANDARD.encode_string(request, &mut frame);
    frame.into_bytes()
}

impl SpanExporter for XrayLambdaOtlpExporter {
    fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        // UDP sends do not block for long (write timeout 1 s); done before the
        // future so no runtime is needed.
        std::future::ready(self.send_all(batch))
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.pipeline.shutdown()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.pipeline.set_resource(resource);
    }
}
