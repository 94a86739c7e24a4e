//! Request bodies assembled from spans encoded once.
//!
//! [`prepare`](super::limits::prepare) encodes each span while fitting it into
//! the limits and packs the spans into requests; here each request is framed
//! as an `ExportTraceServiceRequest` (`ResourceSpans`, `ScopeSpans`, `Span`)
//! around those bytes with prost's encoding helpers, in the field order prost
//! itself writes. Encoding an `ExportTraceServiceRequest` message instead sizes
//! every span again at each level of nesting, because prost writes each nested
//! message's length before its bytes: four more sizing passes over every span
//! (with the limits' own, the export was 1.27x the plain `opentelemetry-otlp`
//! one in `benches/otlp.rs`).

use std::ops::Range;

use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::encoding::{encode_key, encode_varint, encoded_len_varint, key_len, WireType};

/// `ExportTraceServiceRequest.resource_spans`.
const RESOURCE_SPANS: u32 = 1;
/// `ResourceSpans.resource` and `ScopeSpans.scope`.
const HEADER: u32 = 1;
/// `ResourceSpans.scope_spans` and `ScopeSpans.spans`.
pub(super) const ITEMS: u32 = 2;
/// `ResourceSpans.schema_url` and `ScopeSpans.schema_url`.
const SCHEMA_URL: u32 = 3;

/// Room for the tag and length prefix of one length-delimited field holding
/// less than 2^35 bytes.
pub(super) const FIELD_OVERHEAD: usize = 6;

/// One encoded request (an `ExportTraceServiceRequest` protobuf), with the
/// number of spans it carries.
#[derive(Debug)]
pub(crate) struct Planned {
    pub(crate) body: Vec<u8>,
    pub(crate) spans: u64,
}

/// A span within the limits, encoded (without field tag and length) at
/// `bytes` of the batch's arena.
pub(super) struct Fitted {
    /// Index of its scope in [`Headers::scopes`].
    pub(super) scope: usize,
    pub(super) bytes: Range<usize>,
    /// Its own data was shortened to fit.
    pub(super) trimmed: bool,
    pub(super) start_time_unix_nano: u64,
    pub(super) end_time_unix_nano: u64,
}

/// The encoded fields before (`head`) and after (`tail`) the repeated field of
/// a `ResourceSpans` or `ScopeSpans`.
#[derive(Debug)]
pub(super) struct Header {
    head: Vec<u8>,
    tail: Vec<u8>,
}

impl Header {
    /// The message field (`resource` or `scope`) and the `schema_url`, as
    /// prost writes them: a message that is present is written even when
    /// empty, an empty string is not.
    fn new(message: &impl prost::Message, schema_url: &String) -> Header {
        let mut head = Vec::new();
        prost::encoding::message::encode(HEADER, message, &mut head);
        let mut tail = Vec::new();
        if !schema_url.is_empty() {
            prost::encoding::string::encode(SCHEMA_URL, schema_url, &mut tail);
        }
        Header { head, tail }
    }

    fn len(&self) -> usize {
        self.head.len() + self.tail.len()
    }
}

/// The resource's header and one per scope, in the order the scopes were
/// first seen.
#[derive(Debug)]
pub(super) struct Headers {
    resource: Header,
    scopes: Vec<Header>,
}

impl Headers {
    pub(super) fn new<'a>(
        resource: &Resource,
        schema_url: &String,
        scopes: impl IntoIterator<Item = (&'a InstrumentationScope, &'a String)>,
    ) -> Headers {
        Headers {
            resource: Header::new(resource, schema_url),
            scopes: scopes
                .into_iter()
                .map(|(scope, schema_url)| Header::new(scope, schema_url))
                .collect(),
        }
    }

    pub(super) fn scopes(&self) -> usize {
        self.scopes.len()
    }

    /// Encoded size of the resource's fields.
    pub(super) fn resource_len(&self) -> usize {
        self.resource.len()
    }

    /// Encoded size of scope `index`'s fields.
    pub(super) fn scope_len(&self, index: usize) -> usize {
        self.scopes[index].len()
    }
}

/// The request body for `spans`: one `ResourceSpans`, one `ScopeSpans` per
/// scope (in scope order), each with its spans in start-time order.
pub(super) fn assemble(headers: &Headers, arena: &[u8], spans: &mut [Fitted]) -> Planned {
    // Stable: the spans of a scope stay in start-time order.
    spans.sort_by_key(|span| span.scope);
    // (span count, `ScopeSpans` length) of each scope, for the length prefixes.
    let scopes: Vec<(usize, usize)> = spans
        .chunk_by(|a, b| a.scope == b.scope)
        .map(|chunk| {
            let spans: usize = chunk.iter().map(|s| field_len(ITEMS, s.bytes.len())).sum();
            (chunk.len(), headers.scopes[chunk[0].scope].len() + spans)
        })
        .collect();
    let resource_spans_len = headers.resource.len()
        + scopes
            .iter()
            .map(|(_, len)| field_len(ITEMS, *len))
            .sum::<usize>();
    let mut body = Vec::with_capacity(field_len(RESOURCE_SPANS, resource_spans_len));
    encode_prefix(RESOURCE_SPANS, resource_spans_len, &mut body);
    body.extend_from_slice(&headers.resource.head);
    let mut rest = &*spans;
    for (count, scope_spans_len) in scopes {
        let (chunk, after) = rest.split_at(count);
        rest = after;
        let header = &headers.scopes[chunk[0].scope];
        encode_prefix(ITEMS, scope_spans_len, &mut body);
        body.extend_from_slice(&header.head);
        for span in chunk {
            encode_prefix(ITEMS, span.bytes.len(), &mut body);
            body.extend_from_slice(&arena[span.bytes.clone()]);
        }
        body.extend_from_slice(&header.tail);
    }
    body.extend_from_slice(&headers.resource.tail);
    Planned {
        body,
        spans: spans.len() as u64,
    }
}

/// Encoded size of a length-delimited field `tag` of `len` bytes.
pub(super) fn field_len(tag: u32, len: usize) -> usize {
    key_len(tag) + encoded_len_varint(len as u64) + len
}

/// Tag and length of a length-delimited field `tag` of `len` bytes.
fn encode_prefix(tag: u32, len: usize, body: &mut Vec<u8>) {
    encode_key(tag, WireType::LengthDelimited, body);
    encode_varint(len as u64, body);
}
