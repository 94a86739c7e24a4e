//! The `aws` block and its resource sub-objects.

use std::borrow::Cow;
use std::fmt;

use serde::{Serialize, Serializer};

use super::values::serialize_joined;

/// The `aws` block (segment resource fields and subsegment call fields).
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct Aws<'a> {
    /// The AWS account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<Cow<'a, str>>,
    /// The API operation (`GetItem`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<Cow<'a, str>>,
    /// The region called.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<Cow<'a, str>>,
    /// The AWS request ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<Cow<'a, str>>,
    /// An SQS queue URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_url: Option<Cow<'a, str>>,
    /// A DynamoDB table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_name: Option<Cow<'a, str>>,
    /// Several DynamoDB tables.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub table_names: Vec<Cow<'a, str>>,
    /// EC2 host details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ec2: Option<Box<Ec2<'a>>>,
    /// ECS task/container details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ecs: Option<Box<Ecs<'a>>>,
    /// EKS pod details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eks: Option<Box<Eks<'a>>>,
    /// Elastic Beanstalk environment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elastic_beanstalk: Option<Box<ElasticBeanstalk<'a>>>,
    /// The tracing SDK.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xray: Option<XraySdk<'a>>,
    /// CloudWatch log groups of the service.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cloudwatch_logs: Vec<LogGroup<'a>>,
}

/// `aws.ec2`.
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct Ec2<'a> {
    /// `host.id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<Cow<'a, str>>,
    /// `cloud.availability_zone`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<Cow<'a, str>>,
    /// `host.type`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_size: Option<Cow<'a, str>>,
    /// `host.image.id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ami_id: Option<Cow<'a, str>>,
}

/// `aws.ecs`.
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct Ecs<'a> {
    /// `container.name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<Cow<'a, str>>,
    /// `container.id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_id: Option<Cow<'a, str>>,
    /// `aws.ecs.container.arn`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_arn: Option<Cow<'a, str>>,
    /// `aws.ecs.cluster.arn`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_arn: Option<Cow<'a, str>>,
    /// `aws.ecs.task.arn`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_arn: Option<Cow<'a, str>>,
    /// `aws.ecs.task.family`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_family: Option<Cow<'a, str>>,
    /// `aws.ecs.launchtype`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<Cow<'a, str>>,
    /// `cloud.availability_zone`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<Cow<'a, str>>,
}

/// `aws.eks`.
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct Eks<'a> {
    /// `k8s.cluster.name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<Cow<'a, str>>,
    /// `k8s.pod.name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod: Option<Cow<'a, str>>,
    /// `container.id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_id: Option<Cow<'a, str>>,
}

/// `aws.elastic_beanstalk`.
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct ElasticBeanstalk<'a> {
    /// `service.namespace`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment_name: Option<Cow<'a, str>>,
    /// `service.version`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_label: Option<Cow<'a, str>>,
    /// `service.instance.id` as a number (0 when not numeric).
    pub deployment_id: i64,
}

/// `aws.xray`: the SDK that produced the trace.
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct XraySdk<'a> {
    /// `"<telemetry.sdk.name> for <telemetry.sdk.language>"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sdk: Option<SdkName<'a>>,
    /// `telemetry.sdk.version`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sdk_version: Option<Cow<'a, str>>,
    /// True when an auto-instrumentation agent or distro is present.
    pub auto_instrumentation: bool,
}

/// An SDK name, written `"<name> for <language>"` (or `"<name>"`) without
/// building the string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SdkName<'a> {
    /// `telemetry.sdk.name`.
    pub name: &'a str,
    /// `telemetry.sdk.language`.
    pub language: Option<&'a str>,
}

impl fmt::Display for SdkName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)?;
        if let Some(l) = self.language {
            f.write_str(" for ")?;
            f.write_str(l)?;
        }
        Ok(())
    }
}

impl Serialize for SdkName<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.language {
            Some(l) => serialize_joined(s, &[self.name, " for ", l]),
            None => s.serialize_str(self.name),
        }
    }
}

/// One `aws.cloudwatch_logs` entry.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct LogGroup<'a> {
    /// The log group name.
    pub log_group: Cow<'a, str>,
    /// Its ARN, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<Cow<'a, str>>,
}
