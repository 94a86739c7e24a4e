//! `aws`, `origin` and `service`.
//!
//! Span attributes give the call: `aws.operation` (else `rpc.method`),
//! `aws.account_id`, `aws.region`, `aws.request_id` / `aws.requestId`,
//! `messaging.url` / `aws.queue_url` / `aws.queue.url`, `aws.dynamodb.table_names`
//! (one → `table_name`, several → `table_names`) / `aws.table_name` /
//! `aws.table.name`. On segments only (the developer guide's split; the
//! collector repeats them in every subsegment), the resource gives where the
//! service runs: `account_id`, `ec2`, `ecs`, `eks`, `elastic_beanstalk`,
//! `cloudwatch_logs` and the `xray` SDK. `origin` is on every document.
//!
//! Unlike the collector, a non-AWS `cloud.provider` only suppresses the resource
//! part: the span's call attributes are still mapped, not lost; and
//! `cloud.platform=aws_lambda` gives the origin `AWS::Lambda::Function`.

use std::borrow::Cow;

use opentelemetry::{Array, Value};

use super::attrs::{mask, SpanAttrs};
use super::keys::{ResourceKey, SpanKey};
use super::resource::ResourceAttrs;
use crate::segment::{Aws, Ec2, Ecs, Eks, ElasticBeanstalk, LogGroup, SdkName, Service, XraySdk};
use crate::TranslatorConfig;

/// `service.version`, else `container.image.tag`.
pub(crate) fn make_service<'a>(res: &ResourceAttrs<'a>) -> Option<Service<'a>> {
    res.text(ResourceKey::ServiceVersion)
        .or_else(|| res.text(ResourceKey::ContainerImageTag))
        .map(|version| Service { version })
}

/// The `aws` block, or `None` when there is nothing to say.
pub(crate) fn make_aws<'a>(
    attrs: &mut SpanAttrs<'a>,
    res: &ResourceAttrs<'a>,
    is_segment: bool,
    config: &TranslatorConfig,
) -> Option<Aws<'a>> {
    const CALL_KEYS: [SpanKey; 12] = [
        SpanKey::AwsOperation,
        SpanKey::RpcMethod,
        SpanKey::AwsAccountId,
        SpanKey::AwsRegion,
        SpanKey::AwsRequestId,
        SpanKey::AwsRequestIdAlt,
        SpanKey::MessagingUrl,
        SpanKey::AwsQueueUrl,
        SpanKey::AwsQueueUrlAlt,
        SpanKey::AwsTableName,
        SpanKey::AwsTableNameAlt,
        SpanKey::AwsDynamoTableNames,
    ];
    if !is_segment && !attrs.any(const { mask(&CALL_KEYS) }) {
        return None;
    }
    let mut aws = Aws {
        operation: attrs
            .non_empty(SpanKey::AwsOperation)
            .or_else(|| attrs.non_empty(SpanKey::RpcMethod))
            .map(Cow::Borrowed),
        account_id: attrs.non_empty(SpanKey::AwsAccountId).map(Cow::Borrowed),
        region: attrs.non_empty(SpanKey::AwsRegion).map(Cow::Borrowed),
        request_id: attrs
            .non_empty(SpanKey::AwsRequestId)
            .or_else(|| attrs.non_empty(SpanKey::AwsRequestIdAlt))
            .map(Cow::Borrowed),
        queue_url: attrs
            .non_empty(SpanKey::MessagingUrl)
            .or_else(|| attrs.non_empty(SpanKey::AwsQueueUrl))
            .or_else(|| attrs.non_empty(SpanKey::AwsQueueUrlAlt))
            .map(Cow::Borrowed),
        table_name: attrs
            .non_empty(SpanKey::AwsTableName)
            .or_else(|| attrs.non_empty(SpanKey::AwsTableNameAlt))
            .map(Cow::Borrowed),
        ..Aws::default()
    };
    match attrs.get(SpanKey::AwsDynamoTableNames) {
        Some(Value::Array(Array::String(names))) if names.len() == 1 => {
            aws.table_name = Some(Cow::Borrowed(names[0].as_str()));
        }
        Some(Value::Array(Array::String(names))) if names.len() > 1 => {
            aws.table_name = None;
            aws.table_names = names.iter().map(|n| Cow::Borrowed(n.as_str())).collect();
        }
        Some(Value::String(s)) if !s.as_str().is_empty() => {
            aws.table_name = Some(Cow::Borrowed(s.as_str()));
        }
        _ => {}
    }
    for k in [
        SpanKey::AwsOperation,
        SpanKey::AwsAccountId,
        SpanKey::AwsRegion,
        SpanKey::AwsRequestId,
        SpanKey::AwsRequestIdAlt,
        SpanKey::AwsQueueUrl,
        SpanKey::AwsQueueUrlAlt,
        SpanKey::AwsTableName,
        SpanKey::AwsTableNameAlt,
    ] {
        attrs.consume(k);
    }
    if attrs.str(SpanKey::AwsOperation).is_none() && aws.operation.is_some() {
        attrs.consume(SpanKey::RpcMethod);
    }

    // Where the service runs describes the service: segments only, as the
    // developer guide splits the block (subsegments carry the call).
    let on_aws = res
        .str(ResourceKey::CloudProvider)
        .is_none_or(|p| p == "aws");
    if is_segment {
        if on_aws {
            add_resource(&mut aws, res);
        }
        aws.cloudwatch_logs = log_groups(res, config);
    }

    let empty = aws.account_id.is_none()
        && aws.operation.is_none()
        && aws.region.is_none()
        && aws.request_id.is_none()
        && aws.queue_url.is_none()
        && aws.table_name.is_none()
        && aws.table_names.is_empty()
        && aws.ec2.is_none()
        && aws.ecs.is_none()
        && aws.eks.is_none()
        && aws.elastic_beanstalk.is_none()
        && aws.xray.is_none()
        && aws.cloudwatch_logs.is_empty();
    (!empty).then_some(aws)
}

fn add_resource<'a>(aws: &mut Aws<'a>, res: &ResourceAttrs<'a>) {
    let s = |k| res.str(k).map(Cow::Borrowed);
    if aws.account_id.is_none() {
        aws.account_id = s(ResourceKey::CloudAccountId);
    }
    let platform = res.str(ResourceKey::CloudPlatform).unwrap_or("");
    let zone = s(ResourceKey::CloudAvailabilityZone);
    if platform == "aws_ec2" || res.str(ResourceKey::HostId).is_some() {
        aws.ec2 = Some(Box::new(Ec2 {
            instance_id: s(ResourceKey::HostId),
            availability_zone: zone.clone(),
            instance_size: s(ResourceKey::HostType),
            ami_id: s(ResourceKey::HostImageId),
        }));
    }
    if platform == "aws_ecs" {
        let ecs = Ecs {
            container: res.first_str(ResourceKey::ContainerName).map(Cow::Borrowed),
            container_id: s(ResourceKey::ContainerId),
            container_arn: s(ResourceKey::AwsEcsContainerArn),
            cluster_arn: s(ResourceKey::AwsEcsClusterArn),
            task_arn: s(ResourceKey::AwsEcsTaskArn),
            task_family: s(ResourceKey::AwsEcsTaskFamily),
            launch_type: s(ResourceKey::AwsEcsLaunchtype),
            availability_zone: zone,
        };
        let empty = ecs.container.is_none()
            && ecs.container_id.is_none()
            && ecs.container_arn.is_none()
            && ecs.cluster_arn.is_none()
            && ecs.task_arn.is_none()
            && ecs.task_family.is_none()
            && ecs.launch_type.is_none()
            && ecs.availability_zone.is_none();
        aws.ecs = (!empty).then(|| Box::new(ecs));
    }
    if platform == "aws_elastic_beanstalk" {
        if let Some(instance) = res.text(ResourceKey::ServiceInstanceId) {
            aws.elastic_beanstalk = Some(Box::new(ElasticBeanstalk {
                environment_name: s(ResourceKey::ServiceNamespace),
                version_label: s(ResourceKey::ServiceVersion),
                deployment_id: instance.trim().parse().unwrap_or(0),
            }));
        }
    }
    if platform == "aws_eks" || res.str(ResourceKey::K8sClusterName).is_some() {
        aws.eks = Some(Box::new(Eks {
            cluster_name: s(ResourceKey::K8sClusterName),
            pod: s(ResourceKey::K8sPodName),
            container_id: s(ResourceKey::ContainerId),
        }));
    }
    let sdk_name = res.str(ResourceKey::TelemetrySdkName);
    if sdk_name.is_some() || res.str(ResourceKey::TelemetrySdkVersion).is_some() {
        let sdk = sdk_name.map(|name| SdkName {
            name,
            language: res.str(ResourceKey::TelemetrySdkLanguage),
        });
        aws.xray = Some(XraySdk {
            sdk,
            sdk_version: s(ResourceKey::TelemetrySdkVersion),
            auto_instrumentation: res.get(ResourceKey::TelemetryAutoVersion).is_some()
                || res.get(ResourceKey::TelemetryDistroVersion).is_some(),
        });
    }
}

/// Log groups from `aws.log.group.arns`, else `aws.log.group.names`, else the config.
fn log_groups<'a>(res: &ResourceAttrs<'a>, config: &TranslatorConfig) -> Vec<LogGroup<'a>> {
    if let Some(arns) = res.get(ResourceKey::AwsLogGroupArns) {
        let out: Vec<_> = list_items(arns)
            .map(|arn| LogGroup {
                log_group: Cow::Borrowed(arn.split(':').nth(6).unwrap_or("")),
                arn: Some(Cow::Borrowed(arn)),
            })
            .filter(|g| !g.log_group.is_empty())
            .collect();
        if !out.is_empty() {
            return out;
        }
    }
    if let Some(names) = res.get(ResourceKey::AwsLogGroupNames) {
        let out: Vec<_> = list_items(names)
            .map(|n| LogGroup {
                log_group: Cow::Borrowed(n),
                arn: None,
            })
            .collect();
        if !out.is_empty() {
            return out;
        }
    }
    config
        .log_groups
        .iter()
        .map(|n| LogGroup {
            log_group: Cow::Owned(n.clone()),
            arn: None,
        })
        .collect()
}

/// A string list, or a string split on `&`; empty items dropped.
fn list_items(v: &Value) -> Box<dyn Iterator<Item = &str> + '_> {
    match v {
        Value::Array(Array::String(items)) => {
            Box::new(items.iter().map(|s| s.as_str()).filter(|s| !s.is_empty()))
        }
        Value::String(s) => Box::new(s.as_str().split('&').filter(|s| !s.is_empty())),
        _ => Box::new(std::iter::empty()),
    }
}
