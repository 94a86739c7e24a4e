//! The README's comparison with opentelemetry-aws 0.21, row by row: every claim the table makes
//! about opentelemetry-aws is shown here against opentelemetry-aws itself (a dev-dependency), next
//! to what otel-xray does with the same input. The speed rows are the `ids` and `translate`
//! benches.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{
    Span as _, SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceFlags, TraceId,
    TraceState, Tracer, TracerProvider,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_aws::xray_exporter::daemon_client::XrayDaemonClient;
use opentelemetry_aws::xray_exporter::{SegmentDocumentExporter, SegmentTranslator};
use opentelemetry_sdk::trace::{
    Sampler, SdkTracerProvider, ShouldSample, SpanData, SpanEvents, SpanLinks,
};
use opentelemetry_sdk::Resource;
use otel_xray::exporter::{Translator, TranslatorConfig, XrayExporter};
use otel_xray::propagator::XrayPropagator;
use serde_json::Value;

const ROOT: &str = "1-5759e988-bd862e3fe1be46a994272793";
const PARENT: &str = "53995c3f42cd8ad8";

fn carrier(header: &str) -> HashMap<String, String> {
    HashMap::from([("x-amzn-trace-id".to_string(), header.to_string())])
}

fn extract_theirs(header: &str) -> Context {
    opentelemetry_aws::trace::XrayPropagator::default().extract(&carrier(header))
}

fn extract_ours(header: &str) -> Context {
    XrayPropagator::default().extract(&carrier(header))
}

/// The W3C trace flags' bit 0x02, which opentelemetry-aws uses to mark "deferred".
const DEFERRED_BIT: u8 = 0x02;

#[test]
fn sampled_unknown_or_missing_theirs_sets_flag_0x02_ours_leaves_the_flags_alone() {
    for header in [
        format!("Root={ROOT};Parent={PARENT};Sampled=?"),
        format!("Root={ROOT};Parent={PARENT}"),
    ] {
        let theirs = extract_theirs(&header);
        let flags = theirs.span().span_context().trace_flags().to_u8();
        assert_eq!(flags & DEFERRED_BIT, DEFERRED_BIT, "{header}: {flags:#04x}");

        let ours = extract_ours(&header);
        let sc = ours.span().span_context().clone();
        assert!(sc.is_valid(), "{header}");
        assert_eq!(sc.trace_flags(), TraceFlags::default(), "{header}");
        assert!(otel_xray::propagator::sampling_deferred(&ours), "{header}");
    }
}

/// A buffer the writer transport writes documents into.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn root_only_header_theirs_is_an_invalid_parent_ours_continues_the_trace_as_a_root_segment() {
    let header = format!("Root={ROOT}");
    let root_trace = TraceId::from_hex(&ROOT.replace('-', "")[1..]).unwrap();

    // opentelemetry-aws: a context without a span id, which the SDK cannot continue: the span
    // starts a new trace.
    let theirs = extract_theirs(&header);
    assert!(!theirs.span().span_context().is_valid());
    let provider = SdkTracerProvider::builder().build();
    let span = provider.tracer("t").start_with_context("handler", &theirs);
    assert_ne!(
        span.span_context().trace_id(),
        root_trace,
        "trace continued"
    );

    // otel-xray: the same trace, sent as a segment without parent_id.
    let out = Shared::default();
    let exporter = XrayExporter::builder()
        .with_writer(out.clone())
        .build()
        .unwrap();
    // The header defers the decision: the root sampler (always on here) makes it.
    let root: Box<dyn ShouldSample> = Box::new(Sampler::AlwaysOn);
    let provider = SdkTracerProvider::builder()
        .with_sampler(otel_xray::propagator::XrayParentBased::new(root))
        .with_simple_exporter(exporter)
        .build();
    let ours = extract_ours(&header);
    let mut span = provider.tracer("t").start_with_context("handler", &ours);
    assert_eq!(span.span_context().trace_id(), root_trace);
    span.end();
    provider.shutdown().unwrap();
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    let docs: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), 1, "{text}");
    assert_eq!(docs[0]["trace_id"], ROOT);
    assert!(docs[0].get("parent_id").is_none(), "{}", docs[0]);
    assert!(docs[0].get("type").is_none(), "a segment: {}", docs[0]);
}

fn span(attributes: Vec<KeyValue>) -> SpanData {
    let start = SystemTime::now() - Duration::from_secs(1);
    SpanData {
        span_context: SpanContext::new(
            TraceId::from_hex(&format!("{:08x}0123456789abcdef01234567", now_secs())).unwrap(),
            SpanId::from_hex(PARENT).unwrap(),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ),
        parent_span_id: SpanId::INVALID,
        parent_span_is_remote: false,
        span_kind: SpanKind::Server,
        name: Cow::Borrowed("checkout"),
        start_time: start,
        end_time: start + Duration::from_millis(20),
        attributes,
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::Unset,
        instrumentation_scope: Default::default(),
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn resource() -> Resource {
    Resource::builder_empty().with_service_name("shop").build()
}

/// opentelemetry-aws's documents for `span`, as text, with every attribute as metadata (as
/// otel-xray does by default).
fn theirs_json(span: SpanData) -> Vec<String> {
    let mut t = SegmentTranslator::new().metadata_all_attrs();
    t.set_resource(&resource());
    t.translate_spans(&[span])
        .into_iter()
        .map(|d| {
            let mut buf = Vec::new();
            d.to_writer(&mut buf);
            String::from_utf8(buf).unwrap()
        })
        .collect()
}

fn ours_json(translator: &Translator, span: &SpanData) -> String {
    translator.translate_json(span, &resource()).unwrap()
}

#[test]
fn flat_metadata_theirs_fails_the_schema_ours_is_valid() {
    let s = span(vec![KeyValue::new("customer.tier", "gold")]);
    let theirs = theirs_json(s.clone());
    assert_eq!(theirs.len(), 1);
    let doc: Value = serde_json::from_str(&theirs[0]).unwrap();
    let errors = otel_xray_testkit::segment_schema_errors(&doc);
    assert!(
        errors.iter().any(|e| e.contains("/metadata")),
        "{errors:?}\n{doc}"
    );

    let ours: Value = serde_json::from_str(&ours_json(
        &Translator::new(TranslatorConfig::default()),
        &s,
    ))
    .unwrap();
    otel_xray_testkit::assert_segment_valid(&ours);
    assert_eq!(ours["metadata"]["default"]["customer.tier"], "gold");
}

#[test]
fn the_64_kb_limit_theirs_is_not_checked_ours_trims_and_counts() {
    let s = span(vec![KeyValue::new("payload", "x".repeat(100_000))]);
    let theirs = theirs_json(s.clone());
    assert_eq!(theirs.len(), 1);
    assert!(theirs[0].len() > 64 * 1024, "{}", theirs[0].len());

    let translator = Translator::new(TranslatorConfig::default());
    let ours = ours_json(&translator, &s);
    assert!(ours.len() <= 64 * 1024, "{}", ours.len());
    let stats = translator.stats();
    assert!(
        stats.metadata_trimmed + stats.strings_truncated > 0,
        "{stats:?}"
    );
}

#[test]
fn annotations_theirs_keep_the_attribute_as_metadata_ours_index_it() {
    let s = span(vec![KeyValue::new("aws.xray.annotation.tier", "gold")]);
    let theirs: Value = serde_json::from_str(&theirs_json(s.clone())[0]).unwrap();
    assert!(theirs["annotations"].get("tier").is_none(), "{theirs}");

    let ours: Value = serde_json::from_str(&ours_json(
        &Translator::new(TranslatorConfig::default()),
        &s,
    ))
    .unwrap();
    assert_eq!(ours["annotations"]["tier"], "gold", "{ours}");
}

#[test]
fn udp_client_theirs_is_ipv4_only_and_the_first_error_aborts_the_batch() {
    // An IPv6 daemon address: the socket is bound to 0.0.0.0 and cannot reach it.
    assert!(XrayDaemonClient::new("[::1]:2000".parse().unwrap()).is_err());

    // A batch whose first document is too big for one datagram: nothing after it is sent.
    let daemon = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    daemon
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let client = XrayDaemonClient::new(daemon.local_addr().unwrap()).unwrap();
    let mut t = SegmentTranslator::new().metadata_all_attrs();
    t.set_resource(&resource());
    let big = span(vec![KeyValue::new("payload", "x".repeat(70_000))]);
    let small = span(vec![KeyValue::new("n", 1)]);
    let spans = [big, small.clone(), small];
    let batch = t.translate_spans(&spans);
    assert_eq!(batch.len(), 3);
    let result = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(client.export_segment_documents(batch));
    assert!(result.is_err());
    let mut buf = [0u8; 2048];
    assert!(daemon.recv(&mut buf).is_err(), "a datagram arrived");
}
