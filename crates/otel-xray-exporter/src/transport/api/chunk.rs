//! One PutTraceSegments call of at most 50 documents, with the re-sends of its
//! retryable `UnprocessedTraceSegments`.

use std::cell::Cell;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use aws_sdk_xray::config::retry::RetryConfig;
use aws_sdk_xray::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_xray::error::{BoxError, ProvideErrorMetadata, SdkError};
use aws_sdk_xray::types::UnprocessedTraceSegment;

use bytes::Bytes;

use super::body;
use crate::delivery_stats::DropReason;
use crate::transport::{spans_in, DeliveryTally, Document};

/// The outcome of every document of one export, settled exactly once: after
/// the ledger is closed (timeout, shutdown) late answers are ignored, because
/// their documents were already counted as dropped.
#[derive(Debug)]
pub(crate) struct Ledger {
    tally: DeliveryTally,
    outstanding: u64,
    closed: bool,
}

impl Ledger {
    pub(crate) fn new(tally: DeliveryTally, total: u64) -> Ledger {
        Ledger {
            tally,
            outstanding: total,
            closed: false,
        }
    }

    pub(crate) fn tally(&self) -> &DeliveryTally {
        &self.tally
    }

    pub(crate) fn outstanding(&self) -> u64 {
        self.outstanding
    }

    fn settle(&mut self, n: u64) -> Option<&mut DeliveryTally> {
        if self.closed {
            return None;
        }
        let n = n.min(self.outstanding);
        self.outstanding -= n;
        Some(&mut self.tally)
    }

    fn sent(&mut self, n: u64) {
        if let Some(t) = self.settle(n) {
            t.sent(n);
        }
    }

    fn rejected(&mut self, code: &str, n: u64) {
        if let Some(t) = self.settle(n) {
            t.rejected(code, n);
        }
    }

    fn dropped(&mut self, reason: DropReason, n: u64) {
        if let Some(t) = self.settle(n) {
            t.dropped(reason, n);
        }
    }

    fn retried(&mut self, n: u64) {
        if !self.closed {
            self.tally.retried(n);
        }
    }

    /// Counts everything not yet settled as dropped for `reason`.
    pub(crate) fn close(&mut self, reason: DropReason) {
        let n = self.outstanding;
        self.dropped(reason, n);
        self.closed = true;
    }
}

tokio::task_local! {
    /// The attempts the SDK has made for the PutTraceSegments call this task is awaiting
    /// (first try + its retries), counted by [`AttemptCounter`].
    static ATTEMPTS: Cell<u32>;
}

/// Counts each attempt of a call in [`ATTEMPTS`]. It is part of the client's configuration,
/// built once: the SDK runs interceptors inside the call's future, so the count lands in
/// the task that awaits the call. A per-call interceptor would need a per-call
/// configuration override, which the SDK resolves and merges on every call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AttemptCounter;

impl Intercept for AttemptCounter {
    fn name(&self) -> &'static str {
        "otel_xray_attempt_counter"
    }

    fn read_before_attempt(
        &self,
        _context: &aws_sdk_xray::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // Outside `ATTEMPTS.scope` (a call made by someone else with this client's
        // configuration) there is nothing to count into.
        let _ = ATTEMPTS.try_with(|n| n.set(n.get() + 1));
        Ok(())
    }
}

/// Error codes in `UnprocessedTraceSegments` worth sending again: throttling
/// and server-side trouble. Anything else (`InvalidTraceId`, `MissingParam`,
/// `JSONFormatError`, ...) is about the document and would fail again.
pub(crate) fn is_retryable_code(code: &str) -> bool {
    const RETRYABLE: &[&str] = &[
        "ThrottledException",
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "InternalFailure",
        "InternalError",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    ];
    RETRYABLE.contains(&code)
}

/// Full-jitter exponential backoff with the SDK retry config's parameters,
/// the same shape the SDK's standard strategy uses for its own retries.
fn backoff(retry: &RetryConfig, resend: u32) -> Duration {
    let ceiling = retry
        .initial_backoff()
        .saturating_mul(2u32.saturating_pow(resend.min(16)))
        .min(retry.max_backoff());
    ceiling.mul_f64(fastrand::f64())
}

#[derive(serde::Deserialize)]
struct DocumentId<'a> {
    #[serde(borrow)]
    id: Option<std::borrow::Cow<'a, str>>,
}

fn document_id(doc: &str) -> Option<String> {
    serde_json::from_str::<DocumentId<'_>>(doc)
        .ok()
        .and_then(|d| d.id)
        .map(|c| c.into_owned())
}

/// How the documents of one successful response split up, counted in spans
/// ([`Document::spans`]). Always `sent + rejected + retry` = the spans sent,
/// whatever the server answered.
#[derive(Debug)]
pub(crate) struct Settlement {
    pub(crate) sent: u64,
    /// Per refused document, its error code and its spans.
    pub(crate) rejected: Vec<(String, u64)>,
    /// Documents to send again.
    pub(crate) retry: Vec<Document>,
}

/// What one response said about one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Stored,
    Retry,
    Rejected,
}

/// Matches `UnprocessedTraceSegments` to the documents by segment id. Entries
/// without a matching id still stand for one refused document each (X-Ray may
/// leave `Id` out): they are charged to the first documents no entry named;
/// entries beyond the number of documents are ignored, so a confused server
/// cannot make the counts exceed what was sent.
pub(crate) fn settle(
    pending: Vec<Document>,
    unprocessed: &[UnprocessedTraceSegment],
) -> Settlement {
    if unprocessed.is_empty() {
        return Settlement {
            sent: spans_in(&pending),
            rejected: Vec::new(),
            retry: Vec::new(),
        };
    }
    let mut ids: Vec<Option<String>> = pending.iter().map(|d| document_id(&d.text)).collect();
    let mut outcome = vec![Outcome::Stored; pending.len()];
    let mut rejected = Vec::new();
    let mut unmatched = Vec::new();
    for u in unprocessed.iter().take(pending.len()) {
        let code = u.error_code().unwrap_or("Unknown");
        tracing::debug!(
            target: "otel_xray_exporter",
            id = u.id().unwrap_or(""),
            code,
            message = u.message().unwrap_or(""),
            "UnprocessedTraceSegment"
        );
        let found = u
            .id()
            .and_then(|id| ids.iter().position(|d| d.as_deref() == Some(id)));
        match found {
            Some(i) => {
                ids[i] = None;
                if is_retryable_code(code) {
                    outcome[i] = Outcome::Retry;
                } else {
                    outcome[i] = Outcome::Rejected;
                    rejected.push((code.to_owned(), pending[i].spans));
                }
            }
            None => unmatched.push(code),
        }
    }
    // At most one entry per document was read, so each unmatched one finds a
    // document no entry named.
    let mut unnamed = 0;
    for code in unmatched {
        while outcome.get(unnamed).is_some_and(|o| *o != Outcome::Stored) {
            unnamed += 1;
        }
        if let Some(o) = outcome.get_mut(unnamed) {
            *o = Outcome::Rejected;
            rejected.push((code.to_owned(), pending[unnamed].spans));
        }
    }
    let mut sent = 0;
    let mut retry = Vec::new();
    for (doc, outcome) in pending.into_iter().zip(outcome) {
        match outcome {
            Outcome::Stored => sent += doc.spans,
            Outcome::Retry => retry.push(doc),
            Outcome::Rejected => {}
        }
    }
    Settlement {
        sent,
        rejected,
        retry,
    }
}

pub(crate) struct Call {
    pub(crate) client: aws_sdk_xray::Client,
    pub(crate) retry: RetryConfig,
    pub(crate) ledger: Arc<Mutex<super::chunk::Ledger>>,
    pub(crate) deadline: Instant,
}

impl Call {
    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) async fn send(self, mut pending: Vec<Document>) {
        let mut resends = 0u32;
        loop {
            let n = spans_in(&pending);
            let body = match body::write_body(&pending) {
                Ok(body) => Bytes::from(body),
                Err(e) => {
                    tracing::warn!(target: "otel_xray_exporter", error = %e, documents = pending.len(), "PutTraceSegments body not written");
                    self.ledger().dropped(DropReason::Misconfigured, n);
                    return;
                }
            };
            // The documents travel in `body` (see `body.rs`), not in the SDK's input. The
            // call's future (about 10 KB) is made where it is awaited: passed into the scopes
            // by value, it was copied into each of them.
            let request = self
                .client
                .put_trace_segments()
                .set_trace_segment_documents(Some(Vec::new()));
            let (made, result) = ATTEMPTS
                .scope(
                    Cell::new(0),
                    body::with_body(body, async {
                        let result = request.send().await;
                        (ATTEMPTS.with(Cell::get), result)
                    }),
                )
                .await;
            let made = u64::from(made);
            self.ledger().retried(made.saturating_sub(1) * n);
            let unprocessed = match result {
                Ok(out) => out.unprocessed_trace_segments().to_vec(),
                Err(e) => {
                    self.give_up(&e, n);
                    return;
                }
            };
            let retry = self.settle_response(pending, &unprocessed);
            if retry.is_empty() {
                return;
            }
            resends += 1;
            if resends >= self.retry.max_attempts() {
                tracing::warn!(
                    target: "otel_xray_exporter",
                    documents = retry.len(),
                    "X-Ray kept returning retryable UnprocessedTraceSegments; giving up"
                );
                self.ledger()
                    .dropped(DropReason::RetryBudgetExhausted, spans_in(&retry));
                return;
            }
            self.ledger().retried(spans_in(&retry));
            let pause = backoff(&self.retry, resends - 1);
            tokio::time::sleep_until(tokio::time::Instant::from_std(
                (Instant::now() + pause).min(self.deadline),
            ))
            .await;
            pending = retry;
        }
    }

    /// Counts what a successful response settled; returns the documents to
    /// send again.
    fn settle_response(
        &self,
        pending: Vec<Document>,
        unprocessed: &[UnprocessedTraceSegment],
    ) -> Vec<Document> {
        let settled = settle(pending, unprocessed);
        let mut ledger = self.ledger();
        ledger.sent(settled.sent);
        let mut refused = 0;
        for (code, spans) in &settled.rejected {
            ledger.rejected(code, *spans);
            refused += spans;
        }
        drop(ledger);
        if refused > 0 {
            tracing::warn!(
                target: "otel_xray_exporter",
                refused,
                "X-Ray rejected segment documents (see DeliveryStats::rejected)"
            );
        }
        settled.retry
    }

    /// The SDK gave up on the whole call (after its own retries); `n` is its spans.
    fn give_up<E, R>(&self, e: &SdkError<E, R>, n: u64)
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let detail = aws_sdk_xray::error::DisplayErrorContext(e);
        tracing::warn!(target: "otel_xray_exporter", error = %detail, documents = n, "PutTraceSegments failed");
        let mut ledger = self.ledger();
        match e {
            SdkError::TimeoutError(_) => ledger.dropped(DropReason::Timeout, n),
            SdkError::ConstructionFailure(_) => ledger.dropped(DropReason::Misconfigured, n),
            SdkError::ServiceError(_) => {
                let code = e.code().unwrap_or("Unknown");
                if is_retryable_code(code) {
                    ledger.dropped(DropReason::RetryBudgetExhausted, n);
                } else {
                    ledger.rejected(code, n);
                }
            }
            // 5xx without a modelled error, connection refused, reset, ...
            _ => ledger.dropped(DropReason::RetryBudgetExhausted, n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(id: Option<&str>, code: Option<&str>) -> UnprocessedTraceSegment {
        UnprocessedTraceSegment::builder()
            .set_id(id.map(str::to_owned))
            .set_error_code(code.map(str::to_owned))
            .build()
    }

    fn doc(text: String, spans: u64) -> Document {
        Document {
            text: text.into(),
            spans,
        }
    }

    #[test]
    fn settlement_splits_by_id_and_code() {
        let docs: Vec<Document> = (0..4)
            .map(|i| doc(format!(r#"{{"id":"{i:016x}"}}"#), 1 + i))
            .collect();
        let s = settle(
            docs.clone(),
            &[
                entry(Some("0000000000000001"), Some("ThrottledException")),
                entry(Some("0000000000000002"), Some("InvalidTraceId")),
                entry(None, Some("MissingParam")),
            ],
        );
        // The entry without an id is charged to the first document no entry
        // named (document 0); every document counts with its spans.
        assert_eq!(s.sent, 4);
        assert_eq!(
            s.rejected,
            vec![
                ("InvalidTraceId".to_owned(), 3),
                ("MissingParam".to_owned(), 1)
            ]
        );
        assert_eq!(s.retry, vec![docs[1].clone()]);
    }

    proptest! {
        #[test]
        fn settlement_accounts_for_every_span(
            doc_ids in proptest::collection::vec((0u8..6, 1u64..5), 0..20),
            entries in proptest::collection::vec(
                (proptest::option::of(0u8..8), proptest::option::of(0usize..4)), 0..30),
        ) {
            let docs: Vec<Document> = doc_ids
                .iter()
                .map(|(i, spans)| {
                    let text = if *i == 5 { "not json".to_owned() } else { format!(r#"{{"id":"id{i}"}}"#) };
                    doc(text, *spans)
                })
                .collect();
            let codes = ["ThrottledException", "InvalidTraceId", "InternalFailure", "Whatever"];
            let entries: Vec<UnprocessedTraceSegment> = entries
                .iter()
                .map(|(id, code)| {
                    let id = id.map(|i| format!("id{i}"));
                    entry(id.as_deref(), code.map(|c| codes[c]))
                })
                .collect();
            let s = settle(docs.clone(), &entries);
            let rejected: u64 = s.rejected.iter().map(|(_, n)| n).sum();
            prop_assert_eq!(s.sent + rejected + spans_in(&s.retry), spans_in(&docs));
            prop_assert!(s.rejected.len() + s.retry.len() <= entries.len());
            let mut left = docs.clone();
            for r in &s.retry {
                let at = left.iter().position(|d| d == r);
                prop_assert!(at.is_some(), "retried a document that was not sent");
                left.remove(at.unwrap_or_default());
            }
        }
    }

    #[test]
    fn backoff_stays_under_the_ceiling() {
        let r = RetryConfig::standard()
            .with_initial_backoff(Duration::from_millis(100))
            .with_max_backoff(Duration::from_secs(1));
        for attempt in 0..40 {
            let b = backoff(&r, attempt);
            let ceiling =
                Duration::from_millis(100 * (1u64 << attempt.min(16))).min(Duration::from_secs(1));
            assert!(b <= ceiling, "attempt {attempt}: {b:?} > {ceiling:?}");
        }
    }

    #[test]
    fn retryable_codes_are_the_transient_ones() {
        assert!(is_retryable_code("ThrottledException"));
        assert!(is_retryable_code("InternalFailure"));
        assert!(!is_retryable_code("InvalidTraceId"));
        assert!(!is_retryable_code("MissingParam"));
    }

    #[test]
    fn document_ids_are_read_from_any_json() {
        assert_eq!(
            document_id(r#"{"name":"a","id":"70de5b6f19ff9a0a"}"#).as_deref(),
            Some("70de5b6f19ff9a0a")
        );
        assert_eq!(document_id(r#"{"id":"a\"b"}"#).as_deref(), Some("a\"b"));
        assert_eq!(document_id("not json"), None);
        assert_eq!(document_id("[1]"), None);
    }

    #[test]
    fn a_closed_ledger_ignores_late_answers() {
        let counters = crate::DeliveryCounters::new();
        let mut l = Ledger::new(DeliveryTally::new(&counters), 10);
        l.sent(3);
        l.close(DropReason::Timeout);
        l.sent(7);
        l.rejected("X", 1);
        let s = counters.snapshot();
        assert_eq!(
            (
                s.sent,
                s.dropped_for(DropReason::Timeout),
                s.rejected_total()
            ),
            (3, 7, 0)
        );
    }
}
