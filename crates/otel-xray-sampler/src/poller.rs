//! The background pollers: `GetSamplingRules` (default every 5 minutes) and `GetSamplingTargets`
//! (default every 10 seconds), on a tokio runtime, stopped by `shutdown()` or by dropping the last
//! sampler clone.

use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use aws_sdk_xray::error::DisplayErrorContext;
use aws_sdk_xray::primitives::DateTime;
use aws_sdk_xray::types::SamplingStatisticsDocument;
use aws_sdk_xray::Client;
use tokio::runtime::Handle;
use tokio::sync::{watch, Notify};

use crate::engine::Engine;
use crate::error::BuildError;
use crate::live_rule::LiveRule;
use crate::reservoir::Counts;
use crate::rule::SamplingRule;

/// Most statistics documents one `GetSamplingTargets` request may carry (API reference).
const MAX_DOCUMENTS_PER_REQUEST: usize = 25;
/// Bound on `GetSamplingRules` pages, so an endpoint that always returns a `NextToken` cannot keep
/// the poller paging forever.
const MAX_RULE_PAGES: usize = 100;

/// The `ClientID` of this process in statistics documents: 24 hex digits, random, drawn once.
pub(crate) fn client_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let mut rng = fastrand::Rng::new();
        (0..24)
            .map(|_| char::from_digit(rng.u32(..16), 16).unwrap_or('0'))
            .collect()
    })
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct PollConfig {
    pub(crate) rules_interval: Duration,
    pub(crate) targets_interval: Duration,
}

/// Owns the stop signal; dropping it stops the pollers too.
#[derive(Debug)]
pub(crate) struct Pollers {
    stop: watch::Sender<bool>,
}

impl Pollers {
    pub(crate) fn stop(&self) {
        self.stop.send_replace(true);
    }
}

impl Drop for Pollers {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Decrements the live-poller count however the task ends (finished, cancelled, runtime dropped).
struct LiveGuard(Arc<Engine>);

impl LiveGuard {
    fn new(engine: &Arc<Engine>) -> Self {
        engine.counters.live_pollers.fetch_add(1, Ordering::Relaxed);
        Self(Arc::clone(engine))
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.counters.live_pollers.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Starts both pollers on `runtime`, else on the current tokio runtime, else on a dedicated thread
/// named `otel-xray-sampler` that runs its own single-threaded runtime until the pollers stop.
pub(crate) fn start(
    engine: &Arc<Engine>,
    client: Client,
    config: PollConfig,
    runtime: Option<Handle>,
) -> Result<Pollers, BuildError> {
    let (stop, stopped) = watch::channel(false);
    let refresh = Arc::new(Notify::new());
    let rules = rules_loop(
        LiveGuard::new(engine),
        client.clone(),
        config,
        stopped.clone(),
        Arc::clone(&refresh),
    );
    let targets = targets_loop(LiveGuard::new(engine), client, config, stopped, refresh);
    match runtime.or_else(|| Handle::try_current().ok()) {
        Some(handle) => {
            handle.spawn(rules);
            handle.spawn(targets);
        }
        None => {
            std::thread::Builder::new()
                .name("otel-xray-sampler".into())
                .spawn(move || {
                    match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(rt) => {
                            rt.block_on(async {
                                tokio::join!(rules, targets);
                            });
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "X-Ray sampler: no runtime, not polling")
                        }
                    }
                })
                .map_err(BuildError::PollerThread)?;
        }
    }
    Ok(Pollers { stop })
}

fn jittered(interval: Duration) -> Duration {
    // Up to 1 % later, so a fleet started together does not poll in lockstep.
    let max_ms = (interval.as_millis() / 100) as u64;
    interval + Duration::from_millis(fastrand::u64(0..=max_ms))
}

async fn rules_loop(
    live: LiveGuard,
    client: Client,
    config: PollConfig,
    mut stopped: watch::Receiver<bool>,
    refresh: Arc<Notify>,
) {
    let engine = &live.0;
    // After a failure retry sooner than the rules interval: until the first success the whole
    // service runs on the fallback.
    let retry = config.rules_interval.min(config.targets_interval);
    loop {
        if *stopped.borrow() {
            return;
        }
        let ok = tokio::select! {
            ok = poll_rules(engine, &client) => ok,
            _ = stopped.changed() => return,
        };
        let wait = if ok {
            jittered(config.rules_interval)
        } else {
            retry
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = refresh.notified() => {}
            _ = stopped.changed() => return,
        }
    }
}

async fn poll_rules(engine: &Engine, client: &Client) -> bool {
    let counters = &engine.counters;
    let mut rules = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_RULE_PAGES {
        let page = match client
            .get_sampling_rules()
            .set_next_token(token.take())
            .send()
            .await
        {
            Ok(page) => page,
            Err(e) => {
                counters.rules_polls_failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %DisplayErrorContext(&e), "GetSamplingRules failed");
                return false;
            }
        };
        for record in page.sampling_rule_records() {
            let converted = record
                .sampling_rule()
                .ok_or(crate::RuleError::MissingName)
                .and_then(SamplingRule::try_from);
            match converted {
                Ok(rule) => rules.push(rule),
                Err(e) => {
                    counters.rules_rejected.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, "X-Ray sampling rule rejected");
                }
            }
        }
        match page.next_token {
            Some(t) if !t.is_empty() => token = Some(t),
            _ => {
                engine.install_polled(rules);
                counters.rules_polls_ok.fetch_add(1, Ordering::Relaxed);
                return true;
            }
        }
    }
    counters.rules_polls_failed.fetch_add(1, Ordering::Relaxed);
    tracing::warn!("GetSamplingRules returned more than {MAX_RULE_PAGES} pages; rules not updated");
    false
}

async fn targets_loop(
    live: LiveGuard,
    client: Client,
    config: PollConfig,
    mut stopped: watch::Receiver<bool>,
    refresh: Arc<Notify>,
) {
    let engine = &live.0;
    loop {
        if *stopped.borrow() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(config.targets_interval) => {}
            _ = stopped.changed() => return,
        }
        tokio::select! {
            _ = poll_targets(engine, &client, config, &refresh) => {}
            _ = stopped.changed() => return,
        }
    }
}

fn clamp_count(n: u64, lost: &mut bool) -> i32 {
    i32::try_from(n).unwrap_or_else(|_| {
        *lost = true;
        i32::MAX
    })
}

fn statistics_document(
    rule: &LiveRule,
    c: Counts,
    engine: &Engine,
) -> Option<SamplingStatisticsDocument> {
    let mut clamped = false;
    let doc = SamplingStatisticsDocument::builder()
        .rule_name(rule.rule.rule_name.clone())
        .client_id(client_id())
        .timestamp(DateTime::from(SystemTime::now()))
        .request_count(clamp_count(c.requests, &mut clamped))
        .sampled_count(clamp_count(c.sampled, &mut clamped))
        .borrow_count(clamp_count(c.borrowed, &mut clamped))
        .build()
        .ok();
    if clamped || doc.is_none() {
        engine
            .counters
            .statistics_lost
            .fetch_add(1, Ordering::Relaxed);
    }
    doc
}

async fn poll_targets(engine: &Engine, client: &Client, config: PollConfig, refresh: &Notify) {
    let Some(manifest) = engine.manifest() else {
        return;
    };
    let counters = &engine.counters;
    let now_ms = engine.now_ms();
    // Only rules that saw requests and whose interval has elapsed are reported (and re-targeted).
    let due: Vec<(&Arc<LiveRule>, Counts)> = manifest
        .rules
        .iter()
        .filter(|r| r.next_report_ms.load(Ordering::Relaxed) <= now_ms)
        .filter(|r| r.stats.peek().requests > 0)
        .map(|r| (r, r.stats.take()))
        .collect();
    for chunk in due.chunks(MAX_DOCUMENTS_PER_REQUEST) {
        let documents = chunk
            .iter()
            .filter_map(|(rule, c)| statistics_document(rule, *c, engine))
            .collect();
        let out = match client
            .get_sampling_targets()
            .set_sampling_statistics_documents(Some(documents))
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                counters
                    .targets_polls_failed
                    .fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %DisplayErrorContext(&e), "GetSamplingTargets failed");
                for (rule, c) in chunk {
                    rule.stats.restore(*c);
                }
                continue;
            }
        };
        counters.targets_polls_ok.fetch_add(1, Ordering::Relaxed);
        let default_interval_ms = config.targets_interval.as_millis() as u64;
        for doc in out.sampling_target_documents() {
            let rule = doc
                .rule_name()
                .and_then(|n| manifest.rules.iter().find(|r| r.rule.rule_name == n));
            let Some(rule) = rule else {
                counters.targets_rejected.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(rule = ?doc.rule_name(), "sampling target for a rule not in force ignored");
                continue;
            };
            if !(0.0..=1.0).contains(&doc.fixed_rate) {
                counters.targets_rejected.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(rule = %rule.rule.rule_name, rate = doc.fixed_rate, "sampling target with invalid fixed rate ignored");
                continue;
            }
            let quota = match (doc.reservoir_quota, doc.reservoir_quota_ttl) {
                (Some(q), Some(ttl)) => SystemTime::try_from(ttl)
                    .ok()
                    .map(|ttl| (q.max(0) as u32, engine.engine_ms_at(ttl))),
                _ => None,
            };
            rule.apply_target(doc.fixed_rate, quota);
            let interval_ms = doc
                .interval
                .filter(|i| *i > 0)
                .map_or(default_interval_ms, |i| i as u64 * 1000);
            rule.next_report_ms
                .store(now_ms.saturating_add(interval_ms), Ordering::Relaxed);
            counters.targets_applied.fetch_add(1, Ordering::Relaxed);
        }
        for u in out.unprocessed_statistics() {
            counters
                .unprocessed_statistics
                .fetch_add(1, Ordering::Relaxed);
            tracing::warn!(rule = ?u.rule_name(), code = ?u.error_code(), message = ?u.message(), "X-Ray did not process sampling statistics");
            // A 4xx for a rule usually means the rule changed or was deleted.
            if u.error_code().is_some_and(|c| c.starts_with('4')) {
                refresh.notify_one();
            }
        }
        let modified = out
            .last_rule_modification
            .and_then(|t| SystemTime::try_from(t).ok());
        if modified.is_some_and(|m| m > manifest.fetched_at) {
            refresh.notify_one();
        }
    }
}
