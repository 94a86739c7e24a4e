//! Converted OTLP spans → segment documents in the daemon's buffer (or, with
//! `--otlp-endpoint`, → the X-Ray OTLP endpoint untranslated), with the
//! answer an OTLP sender gets.

use std::fmt::Write as _;
use std::sync::Arc;

use otel_xray_exporter::Translator;

use super::convert::{read_otlp_request, read_request_for_translation, Conversion, WireError};
use super::counters::OtlpCounters;
use super::forward::Forwarder;
use crate::counters::{RejectReason, Source};
use crate::intake::Intake;

/// Most error messages quoted in one `partial_success.error_message`.
const MAX_QUOTED_ERRORS: usize = 3;

/// What became of one request's spans; the receivers turn it into their answer.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// Spans refused (malformed or untranslatable): `partial_success.rejected_spans`.
    pub(crate) rejected: usize,
    /// Spans the buffer (or the forwarder) had no room for: the request is
    /// answered "retry later".
    pub(crate) spilled: usize,
    /// Why spans were refused, for `partial_success.error_message`.
    pub(crate) message: String,
    /// The spans went to the forwarder (`--otlp-endpoint`), not the buffer.
    pub(crate) forwarding: bool,
}

impl Outcome {
    /// The buffer was full: the sender should retry later (gRPC
    /// `RESOURCE_EXHAUSTED`, HTTP 429) rather than be told all is well.
    pub(crate) fn is_refused(&self) -> bool {
        self.spilled > 0
    }
}

/// Takes converted requests from every OTLP receiver. Cheap to clone.
#[derive(Clone)]
pub struct OtlpIngest {
    translator: Translator,
    intake: Intake,
    forwarder: Option<Arc<Forwarder>>,
    counters: OtlpCounters,
}

impl std::fmt::Debug for OtlpIngest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpIngest")
            .field("forwarding", &self.forwarder.is_some())
            .finish_non_exhaustive()
    }
}

impl OtlpIngest {
    /// Translates with `translator` (its stats count every OTLP span
    /// translated) and offers the documents to `intake`'s buffer, counting
    /// spans in its counters.
    pub fn new(translator: Translator, intake: Intake) -> OtlpIngest {
        OtlpIngest {
            translator,
            intake,
            forwarder: None,
            counters: OtlpCounters::new(),
        }
    }

    /// Sends OTLP spans to the X-Ray OTLP endpoint untranslated instead (see
    /// [`Forwarder`]); segment documents from UDP still go to the buffer.
    /// The forwarder's counters are attached to the intake's
    /// [`DaemonCounters`](crate::DaemonCounters) (telemetry, `/metrics`).
    pub fn with_forwarder(mut self, forwarder: Forwarder) -> OtlpIngest {
        self.intake
            .counters()
            .attach_otlp_endpoint(forwarder.counters());
        self.forwarder = Some(Arc::new(forwarder));
        self
    }

    /// The OTLP request counters (shared by all clones); spans are counted in
    /// the intake's [`DaemonCounters`](crate::DaemonCounters).
    pub fn counters(&self) -> &OtlpCounters {
        &self.counters
    }

    /// With a forwarder: waits up to `limit` for the exports to the X-Ray OTLP endpoint to
    /// finish, and returns how many spans were still in flight then (0 without one).
    pub(crate) async fn drain_forwarder(&self, limit: std::time::Duration) -> u64 {
        match &self.forwarder {
            Some(forwarder) => forwarder.drain(limit).await,
            None => 0,
        }
    }

    /// The intake documents go to.
    pub fn intake(&self) -> &Intake {
        &self.intake
    }

    /// Counts a request from `source` that is not OTLP at all: one unit
    /// received and rejected, as the daemon counts an undecodable datagram.
    pub(crate) fn malformed_request(&self, source: Source) {
        self.counters.add_request(source);
        self.counters.add_malformed_request(source);
        self.intake.received(source, 1);
        self.intake.reject(source, RejectReason::OtlpDecode, 1);
    }

    /// Reads an encoded protobuf request for this ingest: spans that will be translated
    /// without their instrumentation scope, which no segment document carries; spans
    /// forwarded to the X-Ray OTLP endpoint with it.
    ///
    /// # Errors
    ///
    /// The bytes are not an `ExportTraceServiceRequest`; nothing of it is taken or counted.
    pub(crate) fn read(&self, request: &[u8]) -> Result<Conversion, WireError> {
        if self.forwarder.is_some() {
            read_otlp_request(request)
        } else {
            read_request_for_translation(request)
        }
    }

    /// Translates and buffers every span of `conversion`, counting each one.
    pub(crate) fn ingest(&self, conversion: Conversion, source: Source) -> Outcome {
        if conversion.unreadable_requests > 0 {
            self.malformed_request(source);
        } else {
            self.counters.add_request(source);
        }
        let mut outcome = Outcome {
            rejected: conversion.rejected_spans,
            ..Outcome::default()
        };
        let mut quoted = 0;
        for error in &conversion.errors {
            quote(&mut outcome.message, &mut quoted, error);
        }
        let malformed = conversion.rejected_spans as u64;
        self.intake.received(source, malformed);
        self.intake
            .reject(source, RejectReason::OtlpDecode, malformed);
        match &self.forwarder {
            Some(forwarder) => self.forward(forwarder, conversion, source, &mut outcome),
            None => self.translate(conversion, source, &mut outcome, &mut quoted),
        }
        if outcome.is_refused() {
            self.counters.add_refused_request(source);
        }
        outcome
    }

    /// `--otlp-endpoint`: the spans leave the segment path. They are counted as received
    /// from `source`, then as forwarded (the endpoint exporter counts what becomes of them) or,
    /// when the forwarder has no room, as rejected for [`RejectReason::OtlpOverloaded`].
    fn forward(
        &self,
        forwarder: &Forwarder,
        conversion: Conversion,
        source: Source,
        outcome: &mut Outcome,
    ) {
        outcome.forwarding = true;
        self.intake.received(source, conversion.span_count() as u64);
        for group in conversion.groups {
            let spans = group.spans.len();
            if forwarder.forward(group) {
                self.intake.counters().add_forwarded(spans as u64);
            } else {
                self.intake
                    .reject(source, RejectReason::OtlpOverloaded, spans as u64);
                outcome.spilled += spans;
            }
        }
    }

    fn translate(
        &self,
        conversion: Conversion,
        source: Source,
        outcome: &mut Outcome,
        quoted: &mut usize,
    ) {
        self.intake.received(source, conversion.span_count() as u64);
        // One buffer to write into; each document is copied out at its size. Handing the
        // buffer itself on (and starting a fresh 2 KiB one per span) kept at least 2 KiB in
        // memory per document whatever its size until it was sent (about 4x the charge of
        // the Lambda spans in tests/otlp_udp.rs), so a full buffer held far more than its
        // configured size.
        let mut buf = Vec::with_capacity(2048);
        // Offered together once translated: one lock of the buffer per request.
        let mut documents = Vec::with_capacity(conversion.span_count());
        for group in &conversion.groups {
            for span in &group.spans {
                // The translator writes JSON from `&str`s: text, checked once here so the
                // buffer holds it as a `String`.
                let written = self
                    .translator
                    .translate_into(span, &group.resource, &mut buf)
                    .map_err(|e| e.to_string())
                    .and_then(|_| {
                        std::str::from_utf8(&buf).map_err(|e| format!("document not UTF-8: {e}"))
                    });
                match written {
                    Ok(document) => documents.push(Arc::<str>::from(document)),
                    Err(e) => {
                        self.intake
                            .reject(source, RejectReason::OtlpUntranslatable, 1);
                        outcome.rejected += 1;
                        let span_id = span.span_context.span_id();
                        quote(
                            &mut outcome.message,
                            quoted,
                            format_args!("span {span_id}: {e}"),
                        );
                    }
                }
            }
        }
        // Spillover is counted by the buffer.
        outcome.spilled += self.intake.offer_all(documents);
    }
}

/// Adds `what` to `message`, up to [`MAX_QUOTED_ERRORS`], then says how many more.
fn quote(message: &mut String, quoted: &mut usize, what: impl std::fmt::Display) {
    *quoted += 1;
    match *quoted {
        n if n <= MAX_QUOTED_ERRORS => {
            if !message.is_empty() {
                message.push_str("; ");
            }
            let _ = write!(message, "{what}");
        }
        n if n == MAX_QUOTED_ERRORS + 1 => message.push_str("; and more"),
        _ => {}
    }
}
