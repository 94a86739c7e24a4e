//! OTLP over UDP, as the AWS Distro for OpenTelemetry sends it on Lambda: the
//! daemon header, a prefix (`T1S` sampled, `T1U` unsampled, `T1` from older
//! releases), then the base64 of an OTLP `ExportTraceServiceRequest`
//! protobuf. One request per datagram.
//!
//! The daemon's UDP receiver splits the header and the prefix off
//! ([`classify_body`](crate::classify_body)) and hands the payload to
//! [`OtlpIngest::ingest_udp_payload`]; the spans then go the way of every
//! other OTLP span. A payload that does not decode is counted as one unit
//! received and rejected (`otlp_decode`, source `otlp_udp`) and reported to
//! the caller, which logs it.

use base64::Engine;

use super::ingest::OtlpIngest;
use crate::counters::Source;

/// Why an OTLP-over-UDP payload was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UdpFrameError {
    /// The payload is not base64.
    #[error("OTLP frame is not base64: {0}")]
    Base64(String),
    /// The decoded bytes are not an `ExportTraceServiceRequest`.
    #[error("OTLP frame is not an ExportTraceServiceRequest: {0}")]
    Protobuf(String),
}

/// What one frame held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct UdpFrameSpans {
    /// Spans in the frame.
    pub received: usize,
    /// Spans refused (malformed or untranslatable).
    pub rejected: usize,
    /// Spans the buffer had no room for (spillover).
    pub spilled: usize,
}

impl OtlpIngest {
    /// Decodes the base64 payload of one OTLP-over-UDP frame (what follows
    /// the `T1S`/`T1U`/`T1` prefix) and takes its spans.
    ///
    /// # Errors
    ///
    /// The payload is not base64 of a protobuf request (counted).
    pub fn ingest_udp_payload(&self, payload: &[u8]) -> Result<UdpFrameSpans, UdpFrameError> {
        let read = decode_payload(payload).and_then(|bytes| {
            self.read(&bytes)
                .map_err(|e| UdpFrameError::Protobuf(e.to_string()))
        });
        let conversion = match read {
            Ok(conversion) => conversion,
            Err(e) => {
                self.malformed_request(Source::OtlpUdp);
                return Err(e);
            }
        };
        let received = conversion.span_count() + conversion.rejected_spans;
        let outcome = self.ingest(conversion, Source::OtlpUdp);
        Ok(UdpFrameSpans {
            received,
            rejected: outcome.rejected,
            spilled: outcome.spilled,
        })
    }
}

/// The protobuf bytes of a frame's base64 payload.
fn decode_payload(payload: &[u8]) -> Result<Vec<u8>, UdpFrameError> {
    // Senders may end the datagram with a newline, as after segment documents.
    base64::engine::general_purpose::STANDARD
        .decode(payload.trim_ascii())
        .map_err(|e| UdpFrameError::Base64(e.to_string()))
}
