//! Samplers that honour a deferred (`Sampled=?` / missing) X-Ray parent.

use opentelemetry::trace::{Link, SpanKind, TraceContextExt, TraceId};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{Sampler, SamplingResult, ShouldSample};

use crate::remote::sampling_deferred;

/// `ParentBased` that treats a deferred X-Ray parent like no parent.
///
/// Behaves like the SDK's [`ParentBasedSampler`](opentelemetry_sdk::trace::ParentBasedSampler)
/// — no or invalid parent → `root`; remote/local parent, sampled/not sampled → the
/// per-case sampler, by default `AlwaysOn` for sampled and `AlwaysOff` for not
/// sampled parents — except when the parent is a remote span extracted from a header
/// with `Sampled=?` or without `Sampled` ([`sampling_deferred`]): then `root` decides,
/// as the X-Ray SDKs do, and the span keeps the incoming trace ID and parent.
///
/// The stock `Sampler::ParentBased` drops such spans (the deferred parent is "not
/// sampled"). With the SDK's `ParentBasedSampler`, the same result is had by
/// setting [`DeferredToRoot`] as its remote-parent-not-sampled sampler.
///
/// ```
/// use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
/// use otel_xray_propagator::XrayParentBased;
///
/// let provider = SdkTracerProvider::builder()
///     .with_sampler(XrayParentBased::new(Sampler::TraceIdRatioBased(0.05)))
///     .build();
/// # drop(provider);
/// ```
#[derive(Clone, Debug)]
pub struct XrayParentBased {
    root: Box<dyn ShouldSample>,
    remote_parent_sampled: Option<Box<dyn ShouldSample>>,
    remote_parent_not_sampled: Option<Box<dyn ShouldSample>>,
    local_parent_sampled: Option<Box<dyn ShouldSample>>,
    local_parent_not_sampled: Option<Box<dyn ShouldSample>>,
}

impl XrayParentBased {
    /// `root` decides for spans without a parent and for deferred remote parents.
    pub fn new(root: impl Into<Box<dyn ShouldSample>>) -> Self {
        Self {
            root: root.into(),
            remote_parent_sampled: None,
            remote_parent_not_sampled: None,
            local_parent_sampled: None,
            local_parent_not_sampled: None,
        }
    }

    /// Sampler for a sampled remote parent (default `AlwaysOn`).
    pub fn with_remote_parent_sampled(mut self, s: impl Into<Box<dyn ShouldSample>>) -> Self {
        self.remote_parent_sampled = Some(s.into());
        self
    }

    /// Sampler for a remote parent that decided not to sample (default `AlwaysOff`).
    /// Not used for deferred parents.
    pub fn with_remote_parent_not_sampled(mut self, s: impl Into<Box<dyn ShouldSample>>) -> Self {
        self.remote_parent_not_sampled = Some(s.into());
        self
    }

    /// Sampler for a sampled local parent (default `AlwaysOn`).
    pub fn with_local_parent_sampled(mut self, s: impl Into<Box<dyn ShouldSample>>) -> Self {
        self.local_parent_sampled = Some(s.into());
        self
    }

    /// Sampler for a local parent that is not sampled (default `AlwaysOff`).
    pub fn with_local_parent_not_sampled(mut self, s: impl Into<Box<dyn ShouldSample>>) -> Self {
        self.local_parent_not_sampled = Some(s.into());
        self
    }
}

impl ShouldSample for XrayParentBased {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        name: &str,
        span_kind: &SpanKind,
        attributes: &[KeyValue],
        links: &[Link],
    ) -> SamplingResult {
        let run = |s: &dyn ShouldSample| {
            s.should_sample(parent_context, trace_id, name, span_kind, attributes, links)
        };
        let Some(cx) = parent_context.filter(|cx| cx.span().span_context().is_valid()) else {
            return run(self.root.as_ref());
        };
        if sampling_deferred(cx) {
            return run(self.root.as_ref());
        }
        let span = cx.span();
        let sc = span.span_context();
        let (chosen, default) = match (sc.is_remote(), sc.is_sampled()) {
            (true, true) => (&self.remote_parent_sampled, Sampler::AlwaysOn),
            (true, false) => (&self.remote_parent_not_sampled, Sampler::AlwaysOff),
            (false, true) => (&self.local_parent_sampled, Sampler::AlwaysOn),
            (false, false) => (&self.local_parent_not_sampled, Sampler::AlwaysOff),
        };
        match chosen {
            Some(s) => run(s.as_ref()),
            None => run(&default),
        }
    }
}

/// For the SDK's `ParentBasedSampler::with_remote_parent_not_sampled`: a deferred
/// X-Ray parent goes to the wrapped sampler, a real "not sampled" parent is dropped.
///
/// ```
/// use opentelemetry_sdk::trace::{ParentBasedSampler, Sampler};
/// use otel_xray_propagator::DeferredToRoot;
///
/// let root = Sampler::TraceIdRatioBased(0.05);
/// let sampler = ParentBasedSampler::new(root.clone())
///     .with_remote_parent_not_sampled(DeferredToRoot::new(root));
/// # drop(sampler);
/// ```
#[derive(Clone, Debug)]
pub struct DeferredToRoot {
    root: Box<dyn ShouldSample>,
}

impl DeferredToRoot {
    /// `root` decides for deferred parents.
    pub fn new(root: impl Into<Box<dyn ShouldSample>>) -> Self {
        Self { root: root.into() }
    }
}

impl ShouldSample for DeferredToRoot {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        name: &str,
        span_kind: &SpanKind,
        attributes: &[KeyValue],
        links: &[Link],
    ) -> SamplingResult {
        let sampler: &dyn ShouldSample = if parent_context.is_some_and(sampling_deferred) {
            self.root.as_ref()
        } else {
            &Sampler::AlwaysOff
        };
        sampler.should_sample(parent_context, trace_id, name, span_kind, attributes, links)
    }
}
