//! Credentials that expire every two seconds during a run of exports: every
//! request must be signed with the credentials current when it was signed
//! (checked with botocore), never with expired ones.
#![cfg(feature = "otlp")]

mod otlp_support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::{future, ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use opentelemetry_sdk::trace::SpanExporter;
use otel_xray_exporter::otlp::XrayOtlpExporter;
use otlp_support::{botocore_mismatches, span, Reply, Secrets, Sink, REGION};

const WINDOW_SECS: u64 = 2;

/// Key id → (secret, token, window start in epoch seconds).
type Issued = HashMap<String, (String, String, u64)>;

/// Session credentials valid for one two-second window of the clock.
#[derive(Debug, Clone, Default)]
struct Rotating {
    issued: Arc<Mutex<Issued>>,
}

impl ProvideCredentials for Rotating {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let start = now - now % WINDOW_SECS;
        let key = format!("AKIDROTATING{start}");
        let secret = format!("secret-{start}");
        let token = format!("token-{start}");
        self.issued
            .lock()
            .unwrap()
            .insert(key.clone(), (secret.clone(), token.clone(), start));
        let expiry = UNIX_EPOCH + Duration::from_secs(start + WINDOW_SECS);
        future::ProvideCredentials::ready(Ok(Credentials::new(
            key,
            secret,
            Some(token),
            Some(expiry),
            "rotating",
        )))
    }
}

/// `20261206T211530Z` → epoch seconds.
fn amz_date_secs(date: &str) -> u64 {
    let n = |range: std::ops::Range<usize>| date[range].parse::<i64>().unwrap();
    let (y, m, d) = (n(0..4), n(4..6), n(6..8));
    // Days from civil (Howard Hinnant's algorithm), for a check independent of
    // any date crate the exporter uses.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    (days * 86_400 + n(9..11) * 3600 + n(11..13) * 60 + n(13..15)) as u64
}

#[test]
fn every_request_is_signed_with_the_credentials_current_at_signing() {
    let sink = Sink::start(|_| Reply::Accept);
    let provider = Rotating::default();
    let exporter = XrayOtlpExporter::builder()
        .with_endpoint(sink.url())
        .with_sdk_config(
            SdkConfig::builder()
                .region(Region::new(REGION))
                .credentials_provider(SharedCredentialsProvider::new(provider.clone()))
                .behavior_version(BehaviorVersion::latest())
                .build(),
        )
        .build()
        .unwrap();
    let counters = exporter.counters();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let exports = 14u64;
    for i in 0..exports {
        runtime
            .block_on(exporter.export(vec![span(11, i, Duration::ZERO, vec![])]))
            .unwrap();
        std::thread::sleep(Duration::from_millis(450));
    }

    let received = sink.received();
    assert_eq!(received.len() as u64, exports);
    let issued = provider.issued.lock().unwrap().clone();
    assert!(
        issued.len() >= 3,
        "credentials rotated only {} times",
        issued.len()
    );
    let mut keys_used = std::collections::HashSet::new();
    for r in &received {
        let key = r.access_key_id();
        let (_, token, start) = issued.get(&key).expect("a key the provider issued");
        let signed_at = amz_date_secs(r.header("x-amz-date").unwrap());
        assert!(
            (*start..start + WINDOW_SECS).contains(&signed_at),
            "{key} used at {signed_at}, valid from {start} for {WINDOW_SECS}s"
        );
        assert_eq!(r.header("x-amz-security-token"), Some(token.as_str()));
        keys_used.insert(key);
    }
    assert!(keys_used.len() >= 3);
    let secrets: Secrets = issued
        .into_iter()
        .map(|(key, (secret, token, _))| (key, (secret, Some(token))))
        .collect();
    let mismatches = botocore_mismatches(&sink.url(), &received, &secrets);
    assert!(mismatches.is_empty(), "{mismatches:?}");
    assert_eq!(counters.snapshot().sent, exports);
}
