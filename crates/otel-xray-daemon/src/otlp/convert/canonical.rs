//! A [`Conversion`] as text, to compare what two readers made of one request: the wire
//! reader's tests and the `otlp_wire` fuzz target include this file (`#[path]`), with
//! `Conversion` in scope of the module that includes it.
//!
//! Each resource's attributes are sorted (a resource keeps them in a hash map, whose order
//! differs from one map to the next), and each span attribute's key is compared as text (it
//! is static or owned depending on the reader).

use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::SpanData;

use super::Conversion;

pub(crate) fn canonical(conversion: &Conversion) -> String {
    let groups: Vec<String> = conversion
        .groups
        .iter()
        .map(|g| {
            let mut attributes: Vec<String> = g
                .resource
                .iter()
                .map(|(k, v)| format!("{k:?}={v:?}"))
                .collect();
            attributes.sort();
            let spans: Vec<SpanData> = g
                .spans
                .iter()
                .cloned()
                .map(|mut span| {
                    span.attributes = (span.attributes.into_iter())
                        .map(|kv| KeyValue::new(kv.key.as_str().to_owned(), kv.value))
                        .collect();
                    span
                })
                .collect();
            format!("{attributes:?} {:?} {spans:?}", g.resource.schema_url())
        })
        .collect();
    format!(
        "{groups:?} {:?} {:?} {} {}",
        conversion.errors,
        conversion.notes,
        conversion.rejected_spans,
        conversion.unreadable_requests
    )
}
