//! What both OTLP exporters do to a batch before it leaves the process.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::SpanData;
use opentelemetry_sdk::Resource;

use super::limits::{prepare, Limits, Prepared};
use crate::collector::{rewrite_annotations, AnnotationRewriteStats, ConflictPolicy};
use crate::delivery_stats::{DeliveryCounters, DropReason};

/// The resource, counters, rewrite policy and shutdown state of an exporter.
#[derive(Debug, Default)]
pub(crate) struct Pipeline {
    resource: ResourceAttributesWithSchema,
    pub(crate) counters: DeliveryCounters,
    pub(crate) conflict_policy: ConflictPolicy,
    shut_down: AtomicBool,
}

impl Pipeline {
    /// A pipeline counting into `counters`.
    pub(crate) fn new(counters: DeliveryCounters, conflict_policy: ConflictPolicy) -> Pipeline {
        Pipeline {
            counters,
            conflict_policy,
            ..Pipeline::default()
        }
    }

    pub(crate) fn set_resource(&mut self, resource: &Resource) {
        self.resource = ResourceAttributesWithSchema::from(resource);
    }

    /// Marks the exporter shut down; later batches are dropped and counted.
    pub(crate) fn shutdown(&self) -> OTelSdkResult {
        if self.shut_down.swap(true, Ordering::AcqRel) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        Ok(())
    }

    /// Rewrites `aws.xray.annotation.<key>` attributes and fits the batch to
    /// `limits`, counting every span dropped or trimmed on the way.
    ///
    /// # Errors
    ///
    /// After shutdown (the batch is counted as dropped).
    pub(crate) fn prepare(
        &self,
        batch: Vec<SpanData>,
        limits: &Limits,
    ) -> Result<Prepared, OTelSdkError> {
        self.prepare_with(batch, &self.resource, limits)
    }

    /// [`Pipeline::prepare`] with `resource` instead of the exporter's own.
    pub(crate) fn prepare_with(
        &self,
        mut batch: Vec<SpanData>,
        resource: &ResourceAttributesWithSchema,
        limits: &Limits,
    ) -> Result<Prepared, OTelSdkError> {
        if self.shut_down.load(Ordering::Acquire) {
            self.counters
                .add_dropped(DropReason::AfterShutdown, batch.len() as u64);
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let mut rewrite = AnnotationRewriteStats::default();
        for span in &mut batch {
            rewrite.merge(&rewrite_annotations(
                &mut span.attributes,
                self.conflict_policy,
            ));
        }
        if rewrite.has_issues() {
            tracing::debug!(%rewrite, "aws.xray.annotation rewrite left or removed attributes");
        }
        let prepared = prepare(batch, resource, limits, SystemTime::now());
        self.counters.add_trimmed(prepared.trimmed);
        self.counters
            .add_dropped(DropReason::OutsideTimeWindow, prepared.outside_window);
        self.counters
            .add_dropped(DropReason::TooLarge, prepared.too_large);
        if prepared.outside_window + prepared.too_large > 0 {
            tracing::warn!(
                outside_time_window = prepared.outside_window,
                too_large = prepared.too_large,
                "spans the X-Ray OTLP endpoint would refuse were dropped"
            );
        }
        Ok(prepared)
    }
}
