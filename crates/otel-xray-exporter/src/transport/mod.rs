//! Delivery of already-serialised segment documents: the transports behind
//! [`XrayExporter`](crate::XrayExporter). Each takes a batch of documents and
//! accounts for every one of them in the [`DeliveryCounters`].

#[cfg(feature = "api")]
pub(crate) mod api;
#[cfg(feature = "daemon")]
pub(crate) mod daemon;
pub(crate) mod daemon_address;
pub(crate) mod writer;

use std::time::Instant;

use crate::delivery_stats::{DeliveryCounters, DropReason};

/// The header the X-Ray daemon expects before every document in a datagram.
pub const DAEMON_HEADER: &str = "{\"format\":\"json\",\"version\":1}\n";

/// The largest datagram the UDP transport sends: the IPv4 UDP payload limit,
/// which is also below the daemon's 64 KiB read buffer.
pub const MAX_DATAGRAM_BYTES: usize = 65_507;

/// The largest document that fits one datagram after [`DAEMON_HEADER`].
pub const MAX_DAEMON_DOCUMENT_BYTES: usize = MAX_DATAGRAM_BYTES - DAEMON_HEADER.len();

/// What happened to the documents of one export call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryReport {
    /// Documents handed over successfully.
    pub sent: u64,
    /// Documents X-Ray refused (see [`DeliveryStats::rejected`](crate::DeliveryStats::rejected)).
    pub rejected: u64,
    /// Documents given up on by the exporter.
    pub dropped: u64,
}

impl DeliveryReport {
    /// True when every document was handed over.
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
        docs: Vec<String>,
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
