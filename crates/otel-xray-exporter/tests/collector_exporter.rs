//! `XrayAnnotationExporter` as a `SpanExporter`: what reaches the inner exporter,
//! what is passed through, and what is counted.
#![cfg(feature = "collector")]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::trace::{Span, Tracer, TracerProvider};
use opentelemetry::KeyValue;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use opentelemetry_sdk::Resource;
use otel_xray_exporter::{CollectorStats, ConflictPolicy, XrayAnnotationExporter};

/// Records everything the wrapper forwards; fails exports while `fail` is set.
#[derive(Debug, Default)]
struct Probe {
    spans: Arc<Mutex<Vec<SpanData>>>,
    fail: Arc<AtomicBool>,
    flushes: Arc<AtomicUsize>,
    shutdowns: Arc<AtomicUsize>,
    resource: Arc<Mutex<Option<Resource>>>,
}

impl Probe {
    fn handles(&self) -> Probe {
        Probe {
            spans: self.spans.clone(),
            fail: self.fail.clone(),
            flushes: self.flushes.clone(),
            shutdowns: self.shutdowns.clone(),
            resource: self.resource.clone(),
        }
    }
}

impl SpanExporter for Probe {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if self.fail.load(Ordering::SeqCst) {
            return Err(OTelSdkError::InternalFailure(
                "collector unreachable".into(),
            ));
        }
        self.spans.lock().unwrap().extend(batch);
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.shutdowns.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.flushes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        *self.resource.lock().unwrap() = Some(resource.clone());
    }
}

#[test]
fn forwards_rewritten_spans_and_counts_delivery() {
    let probe = Probe::default();
    let seen = probe.handles();
    let exporter =
        XrayAnnotationExporter::new(probe).with_conflict_policy(ConflictPolicy::AnnotationWins);
    assert_eq!(exporter.conflict_policy(), ConflictPolicy::AnnotationWins);
    let counters = exporter.counters();
    let provider = SdkTracerProvider::builder()
        .with_resource(Resource::builder_empty().with_service_name("svc").build())
        .with_simple_exporter(exporter)
        .build();
    let tracer = provider.tracer("test");

    let mut span = tracer.start("ok");
    span.set_attribute(KeyValue::new("tier", "free"));
    span.set_attribute(KeyValue::new("aws.xray.annotation.tier", "gold"));
    span.end();

    seen.fail.store(true, Ordering::SeqCst);
    let mut lost = tracer.start("lost");
    lost.set_attribute(KeyValue::new("aws.xray.annotation.k", 1_i64));
    lost.end();
    seen.fail.store(false, Ordering::SeqCst);

    let mut plain = tracer.start("plain");
    plain.set_attribute(KeyValue::new("k", 2_i64));
    plain.end();

    provider.shutdown().expect("shutdown");

    let spans = seen.spans.lock().unwrap();
    assert_eq!(spans.len(), 2);
    let ok = &spans[0];
    assert_eq!(ok.name, "ok");
    assert!(ok.attributes.contains(&KeyValue::new("tier", "gold")));
    assert!(!ok.attributes.contains(&KeyValue::new("tier", "free")));
    assert_eq!(spans[1].attributes, vec![KeyValue::new("k", 2_i64)]);

    assert_eq!(
        seen.shutdowns.load(Ordering::SeqCst),
        1,
        "shutdown passed through"
    );
    let resource = seen
        .resource
        .lock()
        .unwrap()
        .clone()
        .expect("resource passed through");
    assert_eq!(
        resource.get(&opentelemetry::Key::from_static_str("service.name")),
        Some("svc".into())
    );

    let stats: CollectorStats = counters.snapshot();
    assert_eq!(stats.exported_spans, 2);
    assert_eq!(stats.failed_spans, 1);
    // The failed span was rewritten before the inner exporter refused it.
    assert_eq!(stats.annotations.spans, 2);
    assert_eq!(stats.annotations.rewritten, 2);
    assert_eq!(stats.annotations.plain_overwritten, 1);
    assert_eq!(
        stats.to_string(),
        format!("exported_spans=2 failed_spans=1 {}", stats.annotations)
    );
}

#[test]
fn flush_shutdown_and_into_inner_reach_the_wrapped_exporter() {
    let probe = Probe::default();
    let seen = probe.handles();
    let spans = probe.spans.clone();
    let exporter = XrayAnnotationExporter::new(probe);
    exporter.force_flush().expect("flush");
    exporter.shutdown().expect("shutdown");
    assert_eq!(seen.flushes.load(Ordering::SeqCst), 1);
    assert_eq!(seen.shutdowns.load(Ordering::SeqCst), 1);
    assert!(Arc::ptr_eq(&exporter.inner().spans, &spans));
    assert!(Arc::ptr_eq(&exporter.into_inner().spans, &spans));
}
