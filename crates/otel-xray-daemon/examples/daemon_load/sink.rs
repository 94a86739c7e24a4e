//! The X-Ray stand-in every collector under test sends to: a PutTraceSegments
//! endpoint that answers at once, counts the segment documents of each peer
//! (by `User-Agent`) and, when asked, the time each document took from the
//! load generator's send stamp to here.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};

use crate::Failure;

/// Where the load generator writes its send time (ns since the epoch) in each
/// UDP document; the daemon passes documents unchanged, so the sink finds it.
pub const SENT_STAMP: &str = "\"sent_ns\":";

/// What one peer delivered.
#[derive(Debug, Default, Clone, Copy)]
pub struct PeerCount {
    /// Segment documents.
    pub documents: u64,
    /// PutTraceSegments calls.
    pub requests: u64,
    /// Calls labelled `Content-Encoding: gzip`.
    pub labelled_gzip: u64,
    /// Calls whose body really was gzip (by its magic bytes).
    pub gzip: u64,
    /// Calls whose body was not a PutTraceSegments request at all.
    pub unreadable: u64,
    /// Bytes of the documents themselves (unescaped), so collectors that write more or
    /// less of each span can be told apart.
    pub document_bytes: u64,
}

/// The sink's tallies, shared with the load generator.
#[derive(Debug, Default)]
pub struct Sink {
    documents: AtomicU64,
    peers: Mutex<BTreeMap<String, PeerCount>>,
    /// Send-to-sink times in µs of stamped documents.
    latencies: Mutex<Vec<u64>>,
}

impl Sink {
    /// Documents received so far, from every peer.
    pub fn documents(&self) -> u64 {
        self.documents.load(Ordering::Relaxed)
    }

    /// What each peer delivered.
    pub fn peers(&self) -> BTreeMap<String, PeerCount> {
        self.peers.lock().unwrap().clone()
    }

    /// Takes the latencies measured so far (µs).
    pub fn take_latencies(&self) -> Vec<u64> {
        std::mem::take(&mut *self.latencies.lock().unwrap())
    }

    fn record(&self, peer: String, labelled_gzip: bool, body: Bytes) {
        let gzip = body.starts_with(&[0x1f, 0x8b]);
        // By its magic bytes, not by the header: rotel labels plain JSON as gzip.
        let body = if gzip {
            let mut out = Vec::new();
            let decoded = std::io::Read::read_to_end(
                &mut flate2::read::GzDecoder::new(body.as_ref()),
                &mut out,
            );
            decoded.map(|_| Bytes::from(out)).unwrap_or_default()
        } else {
            body
        };
        #[derive(serde::Deserialize)]
        struct Put {
            #[serde(rename = "TraceSegmentDocuments")]
            documents: Vec<String>,
        }
        let put = serde_json::from_slice::<Put>(&body).ok();
        let received_ns = now_ns();
        let n = put.as_ref().map_or(0, |p| p.documents.len() as u64);
        if let Some(put) = &put {
            let stamped: Vec<u64> = put
                .documents
                .iter()
                .filter_map(|d| sent_stamp(d))
                .map(|sent| received_ns.saturating_sub(sent) / 1000)
                .collect();
            if !stamped.is_empty() {
                self.latencies.lock().unwrap().extend(stamped);
            }
        }
        let mut peers = self.peers.lock().unwrap();
        let count = peers.entry(peer).or_default();
        count.documents += n;
        count.requests += 1;
        count.labelled_gzip += u64::from(labelled_gzip);
        count.gzip += u64::from(gzip);
        count.unreadable += u64::from(put.is_none());
        count.document_bytes += put.as_ref().map_or(0, |p| {
            p.documents.iter().map(|d| d.len() as u64).sum::<u64>()
        });
        drop(peers);
        self.documents.fetch_add(n, Ordering::Relaxed);
    }
}

/// Nanoseconds since the epoch (the clock the stamps are taken with).
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn sent_stamp(document: &str) -> Option<u64> {
    let at = document.find(SENT_STAMP)? + SENT_STAMP.len();
    let digits = &document[at..];
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

/// Starts the sink on a free loopback port; returns its URL.
pub async fn start(sink: Arc<Sink>) -> Result<String, Failure> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let sink = sink.clone();
            let service = hyper::service::service_fn(move |req: http::Request<_>| {
                let sink = sink.clone();
                async move {
                    let header = |name| {
                        req.headers()
                            .get(name)
                            .and_then(|v: &http::HeaderValue| v.to_str().ok())
                            .map(str::to_owned)
                    };
                    // The product token of the User-Agent names the collector.
                    let peer = header(http::header::USER_AGENT)
                        .and_then(|ua| ua.split_whitespace().next().map(str::to_owned))
                        .unwrap_or_else(|| "(no User-Agent)".into());
                    let labelled_gzip = header(http::header::CONTENT_ENCODING)
                        .is_some_and(|e| e.eq_ignore_ascii_case("gzip"));
                    let body: hyper::body::Incoming = req.into_body();
                    let body = body.collect().await.map(|b| b.to_bytes());
                    sink.record(peer, labelled_gzip, body.unwrap_or_default());
                    let answer = http::Response::builder()
                        .header("content-type", "application/x-amz-json-1.1")
                        .body(Full::new(Bytes::from_static(
                            br#"{"UnprocessedTraceSegments":[]}"#,
                        )))
                        .unwrap();
                    Ok::<_, Infallible>(answer)
                }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service),
            );
        }
    });
    Ok(url)
}
