//! Delivery of already-serialised segment documents: the transports behind
//! [`XrayExporter`](crate::XrayExporter). Each takes a batch of documents and
//! accounts for every one of them in the [`DeliveryCounters`].

#[cfg(feature = "api")]
pub(crate) mod api;
#[cfg(feature = "daemon")]
pub(crate) mod daemon;
pub(crate) mod daemon_address;
pub(crate) mod writer;

use std::sync::Arc;
use std::time::Instant;

use crate::delivery_stats::{DeliveryCounters, DropReason};

/// The header the X-Ray daemon expects before every document in a datagram.
pub const DAEMON_HEADER: &str = "{\"format\":\"json\",\"version\":1}\n";

/// The largest datagram the UDP transport sends: the IPv4 UDP payload limit,
/// which is also below the daemon's 64 KiB read buffer.
pub const MAX_DATAGRAM_BYTES: usize = 65_507;

/// The largest document that fits one datagram after [`DAEMON_HEADER`].
pub const MAX_DAEMON_DOCUMENT_BYTES: usize = MAX_DATAGRAM_BYTES - DAEMON_HEADER.len();

/// One serialised segment document and how many spans it carries: one, or
/// more when subsegments are nested into it
/// (`XrayExporterBuilder::with_subsegment_nesting`). Every outcome is counted
/// per span, so nesting does not change what the counters say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Document {
    pub(crate) text: Text,
    pub(crate) spans: u64,
}

impl Document {
    /// A document of one span.
    pub(crate) fn single(text: impl Into<Text>) -> Document {
        Document {
            text: text.into(),
            spans: 1,
        }
    }
}

/// A document's JSON text: the exporter's own translations own theirs; documents handed in
/// ([`XrayExporter::send_documents`](crate::XrayExporter::send_documents), the daemon's
/// buffer) are shared with the caller, who keeps them for a retry without copying them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Text {
    Owned(String),
    Shared(Arc<str>),
}

impl Text {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Text::Owned(text) => text,
            Text::Shared(text) => text,
        }
    }
}

impl std::ops::Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl From<String> for Text {
    fn from(text: String) -> Text {
        Text::Owned(text)
    }
}

impl From<Arc<str>> for Text {
    fn from(text: Arc<str>) -> Text {
        Text::Shared(text)
    }
}

/// The spans `docs` carry together (the PutTraceSegments path's accounting).
#[cfg(feature = "api")]
pub(crate) fn spans_in(docs: &[Document]) -> u64 {
    docs.iter().map(|d| d.spans).sum()
}

/// What happened to the spans of one export call (one per document, unless
/// subsegments were nested: then every nested subsegment counts as its own).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryReport {
    /// Spans handed over successfully.
    pub sent: u64,
    /// Spans X-Ray refused (see [`DeliveryStats::rejected`](crate::DeliveryStats::rejected)).
    pub rejected: u64,
    /// Spans given up on by the exporter.
    pub dropped: u64,
}

impl DeliveryReport {
    /// True when every span was handed over.
    pub fn is_complete(&self) -> bool {
        self.rejected == 0 && self.dropped == 0
    }
}

/// Records outcomes in the shared counters and in this call's report at once.
#[derive(Debug)]
pub(crate) struct DeliveryTally {
    counters: DeliveryCounters,
    pub(crate) report: DeliveryReport,
}

impl DeliveryTally {
    pub(crate) fn new(counters: &DeliveryCounters) -> DeliveryTally {
        DeliveryTally {
            counters: counters.clone(),
            report: DeliveryReport::default(),
        }
    }

    /// A fresh report on the same counters, for work that runs elsewhere.
    #[cfg_attr(not(feature = "api"), allow(dead_code))]
    pub(crate) fn fork(&self) -> DeliveryTally {
        DeliveryTally::new(&self.counters)
    }

    /// Adds a forked tally's report to this one (the counters already have it).
    #[cfg_attr(not(feature = "api"), allow(dead_code))]
    pub(crate) fn absorb(&mut self, other: &DeliveryReport) {
        self.report.sent += other.sent;
        self.report.rejected += other.rejected;
        self.report.dropped += other.dropped;
    }

    pub(crate) fn sent(&mut self, n: u64) {
        self.counters.add_sent(n);
        self.report.sent += n;
    }

    pub(crate) fn dropped(&mut self, reason: DropReason, n: u64) {
        self.counters.add_dropped(reason, n);
        self.report.dropped += n;
    }

    #[cfg_attr(not(feature = "api"), allow(dead_code))]
    pub(crate) fn retried(&mut self, n: u64) {
        self.counters.add_retried(n);
    }

    #[cfg_attr(not(feature = "api"), allow(dead_code))]
    pub(crate) fn rejected(&mut self, code: &str, n: u64) {
        self.counters.add_rejected(code, n);
        self.report.rejected += n;
    }
}

/// The one transport an exporter was built with.
#[derive(Debug)]
pub(crate) enum Transport {
    Writer(writer::WriterTransport),
    #[cfg(feature = "daemon")]
    Daemon(daemon::DaemonTransport),
    #[cfg(feature = "api")]
    Api(api::ApiTransport),
}

impl Transport {
    /// Delivers `docs`, giving up on what is not confirmed by `deadline`.
    pub(crate) async fn deliver(
        &self,
        docs: Vec<Document>,
        tally: &mut DeliveryTally,
        deadline: Instant,
    ) {
        match self {
            Transport::Writer(w) => w.deliver(&docs, tally),
            #[cfg(feature = "daemon")]
            Transport::Daemon(d) => d.deliver(&docs, tally, deadline),
            #[cfg(feature = "api")]
            Transport::Api(a) => a.deliver(docs, tally, deadline).await,
        }
        let _ = deadline;
    }

    /// Pushes out anything buffered below the exporter.
    pub(crate) fn flush(&self) -> std::io::Result<()> {
        match self {
            Transport::Writer(w) => w.flush(),
            #[cfg(feature = "daemon")]
            Transport::Daemon(_) => Ok(()),
            #[cfg(feature = "api")]
            Transport::Api(_) => Ok(()),
        }
    }

    /// Releases background resources (the API transport's runtime thread).
    pub(crate) fn shutdown(&self) {
        match self {
            Transport::Writer(w) => {
                let _ = w.flush();
            }
            #[cfg(feature = "daemon")]
            Transport::Daemon(_) => {}
            #[cfg(feature = "api")]
            Transport::Api(a) => a.shutdown(),
        }
    }

    /// A short name for logs.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Transport::Writer(_) => "writer",
            #[cfg(feature = "daemon")]
            Transport::Daemon(_) => "daemon",
            #[cfg(feature = "api")]
            Transport::Api(_) => "api",
        }
    }
}
