//! The PutTraceSegments request body, written here instead of by the SDK's JSON writer.
//!
//! The body is `{"TraceSegmentDocuments":["…","…"]}`: every segment document travels as a
//! JSON *string*, so each of its quotes and backslashes is escaped once more. The SDK's
//! writer (aws-smithy-json's `escape_string`) does that byte by byte, pushing every byte into
//! a `Vec` on its own; on the daemon's UDP path, where documents only pass through, that loop
//! was the largest item of the profile (about a fifth of the daemon's CPU time). The
//! documents are escaped eight bytes at a time (`escape.rs`).
//!
//! The call's task writes the body from its documents ([`write_body`]) and makes the call
//! inside [`with_body`]; the SDK's input carries no documents (it serialises
//! `{"TraceSegmentDocuments":[]}`). [`SegmentsBody`], an interceptor on the client the
//! transport configures, puts the written body in the request before the retry loop keeps
//! it for its attempts. So the documents are neither copied into the SDK's input nor held
//! twice while the call is in flight; the task keeps them to match the answer's
//! `UnprocessedTraceSegments`. Signing (the payload hash is taken from this body), retries,
//! endpoints and errors stay the SDK's.

use std::future::Future;

use aws_sdk_xray::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_xray::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_xray::error::BoxError;
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;

use super::escape::write_json_string;
use crate::transport::Document;

/// Writes the body of `documents`: `{"TraceSegmentDocuments":[…]}`, each document a JSON
/// string ([`write_json_string`]).
pub(crate) fn write_body(documents: &[Document]) -> Result<Vec<u8>, sonic_rs::Error> {
    write_texts(documents.iter().map(|d| d.text.as_str()))
}

/// [`write_body`] of `texts`, for `benches/segments_body.rs` (not part of the API).
#[doc(hidden)]
pub fn put_trace_segments_body(texts: &[String]) -> Vec<u8> {
    write_texts(texts.iter().map(String::as_str)).unwrap_or_default()
}

fn write_texts<'a>(
    texts: impl Iterator<Item = &'a str> + Clone,
) -> Result<Vec<u8>, sonic_rs::Error> {
    let mut body = Vec::with_capacity(body_capacity(texts.clone()));
    body.extend_from_slice(br#"{"TraceSegmentDocuments":["#);
    let mut scratch = Vec::new();
    for (i, text) in texts.enumerate() {
        if i > 0 {
            body.push(b',');
        }
        write_json_string(&mut body, text, &mut scratch)?;
    }
    body.extend_from_slice(b"]}");
    Ok(body)
}

/// Room for the body of `texts` in one allocation: the text, a quarter more for escapes
/// (a segment document's quotes, about one byte in eight, each become two bytes), each
/// string's quotes and comma, and the frame. Left to grow from empty, a 50-document body
/// took a dozen reallocations, each copying what was written so far.
fn body_capacity<'a>(texts: impl Iterator<Item = &'a str>) -> usize {
    let (count, text) = texts.fold((0, 0), |(n, len), t| (n + 1, len + t.len()));
    text + text / 4 + 3 * count + r#"{"TraceSegmentDocuments":[]}"#.len()
}

tokio::task_local! {
    /// The body of the PutTraceSegments call this task is awaiting.
    static WRITTEN_BODY: Bytes;
}

/// Runs `call` (a PutTraceSegments call on the transport's client) with `body` as its
/// request body. The SDK runs interceptors inside the call's future, so [`SegmentsBody`]
/// finds the body in the task that awaits the call.
pub(crate) fn with_body<F: Future>(body: Bytes, call: F) -> impl Future<Output = F::Output> {
    WRITTEN_BODY.scope(body, call)
}

/// Puts the body [`with_body`] holds in the request. Calls made outside [`with_body`] pass
/// through untouched.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SegmentsBody;

impl Intercept for SegmentsBody {
    fn name(&self) -> &'static str {
        "otel_xray_segments_body"
    }

    fn modify_before_retry_loop(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Ok(body) = WRITTEN_BODY.try_with(Bytes::clone) else {
            return Ok(());
        };
        let request = context.request_mut();
        // The SDK sized its own body (`{"TraceSegmentDocuments":[]}`); the length must be
        // this body's.
        request
            .headers_mut()
            .insert("content-length", body.len().to_string());
        *request.body_mut() = SdkBody::from(body);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn as_documents(texts: &[String]) -> Vec<Document> {
        texts.iter().cloned().map(Document::single).collect()
    }

    #[test]
    fn the_body_holds_each_document_as_a_json_string() {
        let documents = vec![
            r#"{"name":"a\"b","annotations":{"k":"c:\\d"}}"#.to_owned(),
            "tab\tnewline\ncontrol\u{1}\u{1f} é 😀 \u{2028}".to_owned(),
            String::new(),
        ];
        let body = write_body(&as_documents(&documents)).unwrap();
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
        let documents = as_documents(&vec![document.to_owned(); 50]);
        let body = write_body(&documents).unwrap();
        assert_eq!(
            body.capacity(),
            body_capacity(documents.iter().map(|d| d.text.as_str())),
            "the body grew"
        );
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
