//! The OTLP/HTTP receiver: `POST /v1/traces` on hyper, protobuf
//! (`application/x-protobuf`) or JSON (`application/json`) bodies, plain or
//! `Content-Encoding: gzip`.
//!
//! Answers, as the OTLP/HTTP specification has them: 200 with an
//! `ExportTraceServiceResponse` in the request's encoding (`partial_success`
//! when spans were refused); 429 with `Retry-After` when the buffer was full;
//! 400 for a body that is not a request, 413 for one over
//! [`MAX_HTTP_BODY_BYTES`] (compressed or not), 415 for another content type
//! or encoding, 404/405 for other paths and methods. Error bodies are a
//! `google.rpc.Status` in the request's encoding.

use std::io::Read;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use prost::Message;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::convert::convert_otlp_json;
use super::grpc::{export_response, refusal_message};
use super::ingest::{OtlpIngest, Outcome};
use crate::counters::Source;
use crate::http_server::serve;

/// The default OTLP/HTTP listen address (loopback, as the X-Ray daemon's own ports).
pub const DEFAULT_HTTP_ADDRESS: &str = "127.0.0.1:4318";

/// The OTLP/HTTP traces path.
pub const TRACES_PATH: &str = "/v1/traces";

/// Largest body accepted, before and after decompression.
pub const MAX_HTTP_BODY_BYTES: usize = 16 * 1024 * 1024;

/// What the sender is told to wait before retrying a refused request.
const RETRY_AFTER_SECONDS: &str = "1";

/// Serves OTLP/HTTP on `listener` until `stop` turns true.
pub async fn serve_http(listener: TcpListener, ingest: OtlpIngest, stop: watch::Receiver<bool>) {
    let handle = Arc::new(move |request| {
        let ingest = ingest.clone();
        async move { handle(request, &ingest).await }
    });
    serve("OTLP/HTTP", listener, handle, stop).await;
}

/// The body encoding of a request, and so of its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }
}

/// `google.rpc.Status`, the error body OTLP/HTTP specifies.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

async fn handle(request: Request<Incoming>, ingest: &OtlpIngest) -> Response<Full<Bytes>> {
    if request.uri().path() != TRACES_PATH {
        return plain(StatusCode::NOT_FOUND, "only POST /v1/traces is served here");
    }
    if request.method() != Method::POST {
        let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "use POST");
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let encoding = match media_type(request.headers().get(CONTENT_TYPE)) {
        Some("application/x-protobuf") => Encoding::Protobuf,
        Some("application/json") => Encoding::Json,
        other => {
            ingest.malformed_request(Source::OtlpHttp);
            let message = format!(
                "unsupported Content-Type {:?}: send application/x-protobuf or application/json",
                other.unwrap_or("")
            );
            return plain(StatusCode::UNSUPPORTED_MEDIA_TYPE, &message);
        }
    };
    let refuse = |status: StatusCode, message: String| {
        ingest.malformed_request(Source::OtlpHttp);
        tracing::debug!(%status, %message, "OTLP/HTTP request refused");
        error_response(encoding, status, message)
    };
    let gzip = match request.headers().get(CONTENT_ENCODING).map(|v| v.to_str()) {
        None => false,
        Some(Ok(v)) if v.eq_ignore_ascii_case("identity") => false,
        Some(Ok(v)) if v.eq_ignore_ascii_case("gzip") => true,
        Some(v) => {
            let message = format!("unsupported Content-Encoding {v:?}: send gzip or none");
            return refuse(StatusCode::UNSUPPORTED_MEDIA_TYPE, message);
        }
    };
    let body = match Limited::new(request.into_body(), MAX_HTTP_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            let message = format!("body over {MAX_HTTP_BODY_BYTES} bytes");
            return refuse(StatusCode::PAYLOAD_TOO_LARGE, message);
        }
        Err(e) => return refuse(StatusCode::BAD_REQUEST, format!("body not read: {e}")),
    };
    let body = if gzip {
        match gunzip(&body) {
            Ok(body) => Bytes::from(body),
            Err(Gunzip::TooLarge) => {
                let message = format!("body over {MAX_HTTP_BODY_BYTES} bytes once decompressed");
                return refuse(StatusCode::PAYLOAD_TOO_LARGE, message);
            }
            Err(Gunzip::Corrupt(e)) => {
                return refuse(StatusCode::BAD_REQUEST, format!("body is not gzip: {e}"))
            }
        }
    } else {
        body
    };
    let conversion = match encoding {
        Encoding::Protobuf => match ingest.read(&body) {
            Ok(conversion) => conversion,
            Err(e) => {
                let message = format!("not an OTLP ExportTraceServiceRequest: {e}");
                return refuse(StatusCode::BAD_REQUEST, message);
            }
        },
        Encoding::Json => match std::str::from_utf8(&body) {
            Ok(text) => convert_otlp_json(text),
            Err(e) => return refuse(StatusCode::BAD_REQUEST, format!("body is not UTF-8: {e}")),
        },
    };
    if conversion.unreadable_requests > 0
        && conversion.span_count() + conversion.rejected_spans == 0
    {
        let message = conversion
            .errors
            .first()
            .map_or_else(|| "unreadable request".to_owned(), ToString::to_string);
        return refuse(StatusCode::BAD_REQUEST, message);
    }
    answer(encoding, ingest.ingest(conversion, Source::OtlpHttp))
}

fn answer(encoding: Encoding, outcome: Outcome) -> Response<Full<Bytes>> {
    if outcome.is_refused() {
        let mut response = error_response(
            encoding,
            StatusCode::TOO_MANY_REQUESTS,
            refusal_message(&outcome),
        );
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECONDS));
        return response;
    }
    let body = match encoding {
        Encoding::Protobuf => Bytes::from(export_response(outcome).encode_to_vec()),
        Encoding::Json => {
            // The protobuf JSON mapping: int64 as a string, absent message = `{}`.
            let json = if outcome.rejected > 0 {
                serde_json::json!({"partialSuccess": {
                    "rejectedSpans": outcome.rejected.to_string(),
                    "errorMessage": outcome.message,
                }})
            } else {
                serde_json::json!({})
            };
            Bytes::from(json.to_string())
        }
    };
    with_body(StatusCode::OK, encoding.content_type(), body)
}

/// A `google.rpc.Status` body with `status`, in `encoding`.
fn error_response(
    encoding: Encoding,
    status: StatusCode,
    message: String,
) -> Response<Full<Bytes>> {
    let code = grpc_code(status);
    let body = match encoding {
        Encoding::Protobuf => Bytes::from(RpcStatus { code, message }.encode_to_vec()),
        Encoding::Json => {
            Bytes::from(serde_json::json!({"code": code, "message": message}).to_string())
        }
    };
    with_body(status, encoding.content_type(), body)
}

/// The gRPC code matching an HTTP answer, for `google.rpc.Status.code`.
fn grpc_code(status: StatusCode) -> i32 {
    let code = match status {
        StatusCode::TOO_MANY_REQUESTS => tonic::Code::ResourceExhausted,
        StatusCode::PAYLOAD_TOO_LARGE => tonic::Code::OutOfRange,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => tonic::Code::Unimplemented,
        _ => tonic::Code::InvalidArgument,
    };
    code as i32
}

fn plain(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    with_body(
        status,
        "text/plain; charset=utf-8",
        Bytes::from(message.to_owned()),
    )
}

fn with_body(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// The media type of a `Content-Type`, lowercased, without parameters.
fn media_type(value: Option<&HeaderValue>) -> Option<&str> {
    let text = value?.to_str().ok()?;
    Some(text.split(';').next().unwrap_or("").trim()).map(|t| {
        // Media types are case-insensitive; the common spellings are matched as sent.
        match t {
            t if t.eq_ignore_ascii_case("application/x-protobuf") => "application/x-protobuf",
            t if t.eq_ignore_ascii_case("application/json") => "application/json",
            t => t,
        }
    })
}

enum Gunzip {
    TooLarge,
    Corrupt(std::io::Error),
}

/// Decompresses `body`, refusing more than [`MAX_HTTP_BODY_BYTES`] of output
/// (a small gzip body can expand a thousandfold).
fn gunzip(body: &[u8]) -> Result<Vec<u8>, Gunzip> {
    let mut out = Vec::with_capacity(body.len() * 4);
    let limit = MAX_HTTP_BODY_BYTES as u64 + 1;
    flate2::read::MultiGzDecoder::new(body)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(Gunzip::Corrupt)?;
    if out.len() > MAX_HTTP_BODY_BYTES {
        return Err(Gunzip::TooLarge);
    }
    Ok(out)
}
