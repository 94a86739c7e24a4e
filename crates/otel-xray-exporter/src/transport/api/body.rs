//! The PutTraceSegments request body, written with sonic-rs instead of the SDK's JSON writer.
//!
//! The body is `{"TraceSegmentDocuments":["…","…"]}`: every segment document travels as a
//! JSON *string*, so each of its quotes and backslashes is escaped once more. The SDK's
//! writer (aws-smithy-json's `escape_string`) does that byte by byte, pushing every byte into
//! a `Vec` on its own; on the daemon's UDP path, where documents only pass through, that loop
//! was the largest item of the profile (about a fifth of the daemon's CPU time). sonic-rs,
//! which writes the documents in the first place, escapes a string 16 or 32 bytes at a time.
//!
//! [`SegmentsBody`] is an interceptor on the client the transport configures. Before
//! serialisation it takes the documents out of the call's input and writes the body; the SDK
//! then serialises what is left (`{}`); after that, and before the retry loop keeps the
//! request for its attempts, the interceptor puts the written body in the request. Signing
//! (the payload hash is taken from this body), retries, endpoints and errors stay the SDK's.

use aws_sdk_xray::config::interceptors::{
    BeforeSerializationInterceptorContextMut, BeforeTransmitInterceptorContextMut,
};
use aws_sdk_xray::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_xray::error::BoxError;
use aws_sdk_xray::operation::put_trace_segments::PutTraceSegmentsInput;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use bytes::Bytes;

/// The request body of one PutTraceSegments call, as X-Ray's REST-JSON protocol names it.
#[derive(serde::Serialize)]
struct PutTraceSegmentsBody<'a> {
    #[serde(rename = "TraceSegmentDocuments")]
    trace_segment_documents: &'a [String],
}

/// Writes the body of `documents`.
pub(crate) fn write_body(documents: &[String]) -> Result<Vec<u8>, sonic_rs::Error> {
    let mut body = Vec::with_capacity(body_capacity(documents));
    sonic_rs::to_writer(
        &mut body,
        &PutTraceSegmentsBody {
            trace_segment_documents: documents,
        },
    )?;
    Ok(body)
}

/// Room for the body of `documents` in one allocation: the text, a quarter more for escapes
/// (a segment document's quotes, about one byte in eight, each become two bytes), each
/// string's quotes and comma, and the frame. Left to grow from empty, a 50-document body
/// took a dozen reallocations, each copying what was written so far.
fn body_capacity(documents: &[String]) -> usize {
    let text: usize = documents.iter().map(String::len).sum();
    text + text / 4 + 3 * documents.len() + r#"{"TraceSegmentDocuments":[]}"#.len()
}

/// The body [`SegmentsBody`] wrote for the call in progress, from serialisation to the
/// retry loop. `Bytes`, because the config bag only lends what it holds.
#[derive(Debug)]
struct WrittenBody(Bytes);

impl Storable for WrittenBody {
    type Storer = StoreReplace<Self>;
}

/// Writes the PutTraceSegments body with sonic-rs (see the module documentation). Other
/// operations on the same client pass through untouched.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SegmentsBody;

impl Intercept for SegmentsBody {
    fn name(&self) -> &'static str {
        "otel_xray_segments_body"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(input) = context.input_mut().downcast_mut::<PutTraceSegmentsInput>() else {
            return Ok(());
        };
        let Some(documents) = input.trace_segment_documents.take() else {
            return Ok(());
        };
        let body = write_body(&documents)?;
        cfg.interceptor_state()
            .store_put(WrittenBody(Bytes::from(body)));
        Ok(())
    }

    fn modify_before_retry_loop(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(WrittenBody(body)) = cfg.load::<WrittenBody>() else {
            return Ok(());
        };
        let request = context.request_mut();
        // The SDK sized its own body (`{}`); the length must be this body's.
        request
            .headers_mut()
            .insert("content-length", body.len().to_string());
        *request.body_mut() = SdkBody::from(body.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_holds_each_document_as_a_json_string() {
        let documents = vec![
            r#"{"name":"a\"b","annotations":{"k":"c:\\d"}}"#.to_owned(),
            "tab\tnewline\ncontrol\u{1}\u{1f} é 😀 \u{2028}".to_owned(),
            String::new(),
        ];
        let body = write_body(&documents).unwrap();
        let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({ "TraceSegmentDocuments": documents })
        );
        // Compact, as the SDK writes it: nothing outside the strings but the structure.
        assert!(body.starts_with(br#"{"TraceSegmentDocuments":[""#));
        assert!(body.ends_with(br#"",""]}"#));
    }

    #[test]
    fn a_typical_body_is_written_in_one_allocation() {
        // 50 documents as the X-Ray SDKs write them (the daemon benchmark's datagram body).
        let document = r#"{"name":"checkout","id":"70de5b6f19ff9a0a","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1478293361.271,"end_time":1478293361.449,"http":{"request":{"method":"POST","url":"https://shop.example/checkout","client_ip":"78.255.233.48","user_agent":"Mozilla/5.0"},"response":{"status":201,"content_length":312}},"annotations":{"order":"A-17","customer_tier":"gold"},"aws":{"xray":{"sdk":"X-Ray for Python","sdk_version":"2.14.0"}},"service":{"version":"1.4.2"},"origin":"AWS::ECS::Container"}"#;
        let documents = vec![document.to_owned(); 50];
        let body = write_body(&documents).unwrap();
        assert_eq!(body.capacity(), body_capacity(&documents), "the body grew");
        assert!(
            body.len() > body.capacity() * 9 / 10,
            "{} of {}",
            body.len(),
            body.capacity()
        );
    }

    #[test]
    fn no_documents_is_an_empty_list() {
        assert_eq!(write_body(&[]).unwrap(), br#"{"TraceSegmentDocuments":[]}"#);
    }
}
