//! Amazon SQS carriers: the `AWSTraceHeader` message system attribute and a
//! message attribute, as `aws-sdk-sqs` users hold them.
//!
//! SQS forwards the sender's X-Ray header in the *system* attribute
//! `AWSTraceHeader` (set automatically when the sender is traced, or explicitly via
//! `message_system_attributes` on `SendMessage`). Producers that do not set system
//! attributes often use a plain *message* attribute instead. Both hold the header
//! value unchanged, so the helpers here only find and write the string; this crate
//! does not depend on the SQS SDK.
//!
//! Receiving, with `aws-sdk-sqs` (request `message_system_attribute_names(All)` and
//! `message_attribute_names("All")`):
//!
//! ```text
//! let system = sqs::system_attribute(msg.attributes().into_iter().flatten());
//! let message = sqs::message_attribute(
//!     msg.message_attributes().into_iter().flatten()
//!         .filter_map(|(k, v)| Some((k, v.string_value()?))),
//! );
//! let cx = sqs::extract_message(&propagator, &Context::current(), system, message);
//! ```
//!
//! Sending: `sqs::trace_header_value(&cx)` gives the value; put it under
//! [`AWS_TRACE_HEADER`] with `MessageSystemAttributeValue` data type `String`, or
//! under [`TRACE_HEADER_MESSAGE_ATTRIBUTE`] as a `String` message attribute.

use opentelemetry::Context;

use crate::propagator::{context_with_header, XrayPropagator};
use crate::remote::trace_header_for;

/// The message system attribute that carries the X-Ray header.
pub const AWS_TRACE_HEADER: &str = "AWSTraceHeader";

/// The message attribute name this crate writes and reads (matched
/// case-insensitively on read).
pub const TRACE_HEADER_MESSAGE_ATTRIBUTE: &str = "X-Amzn-Trace-Id";

/// The `AWSTraceHeader` value among a message's system attributes.
///
/// Takes any `(name, value)` pairs: `&HashMap<MessageSystemAttributeName, String>`
/// from `aws-sdk-sqs`, or a `&HashMap<String, String>`. The name is matched exactly,
/// as SQS does.
///
/// ```
/// use std::collections::HashMap;
/// use otel_xray_propagator::sqs;
///
/// let attrs = HashMap::from([
///     ("SentTimestamp".to_string(), "1".to_string()),
///     ("AWSTraceHeader".to_string(), "Root=1-5759e988-bd862e3fe1be46a994272793".to_string()),
/// ]);
/// assert_eq!(
///     sqs::system_attribute(&attrs).map(String::as_str),
///     Some("Root=1-5759e988-bd862e3fe1be46a994272793")
/// );
/// ```
pub fn system_attribute<I, K, V>(attributes: I) -> Option<V>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
{
    attributes
        .into_iter()
        .find(|(k, _)| k.as_ref() == AWS_TRACE_HEADER)
        .map(|(_, v)| v)
}

/// The [`TRACE_HEADER_MESSAGE_ATTRIBUTE`] value among message attributes given as
/// `(name, string value)` pairs; the name is matched ASCII case-insensitively.
pub fn message_attribute<I, K, V>(attributes: I) -> Option<V>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
{
    attributes
        .into_iter()
        .find(|(k, _)| {
            k.as_ref()
                .eq_ignore_ascii_case(TRACE_HEADER_MESSAGE_ATTRIBUTE)
        })
        .map(|(_, v)| v)
}

/// Extracts a message's context: the system attribute first (SQS sets it itself,
/// so it is the most trustworthy); if it is absent or invalid, the message attribute.
/// With neither, `cx` is returned unchanged.
///
/// ```
/// use opentelemetry::trace::TraceContextExt;
/// use opentelemetry::Context;
/// use otel_xray_propagator::{sqs, XrayPropagator};
///
/// let cx = sqs::extract_message(
///     &XrayPropagator::default(),
///     &Context::new(),
///     Some("garbage"),
///     Some("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"),
/// );
/// assert!(cx.span().span_context().is_sampled());
/// ```
pub fn extract_message(
    propagator: &XrayPropagator,
    cx: &Context,
    system_attribute: Option<&str>,
    message_attribute: Option<&str>,
) -> Context {
    for value in [system_attribute, message_attribute].into_iter().flatten() {
        if let Ok(header) = propagator.parse_header(value.as_bytes()) {
            return context_with_header(cx, &header);
        }
    }
    cx.clone()
}

/// The header value to send for `cx` (as `AWSTraceHeader` or as the message
/// attribute); `None` if `cx` has no valid span context. Same text as inject.
pub fn trace_header_value(cx: &Context) -> Option<String> {
    trace_header_for(cx).map(|h| h.encode().as_str().to_owned())
}
