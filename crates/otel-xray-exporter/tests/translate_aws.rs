//! The `aws` block, `origin` and `service`.
mod translate_support;

use opentelemetry::trace::SpanKind;
use opentelemetry::KeyValue;
use serde_json::json;
use translate_support::*;

fn server(res: Vec<KeyValue>) -> serde_json::Value {
    translate(&span(SpanKind::Server, None), &resource(res))
}

fn client(attrs: Vec<KeyValue>) -> serde_json::Value {
    translate(
        &with(span(SpanKind::Client, Some(PARENT)), attrs),
        &empty_resource(),
    )
}

#[test]
fn origin_from_cloud_platform() {
    let cases = [
        (
            vec![("cloud.platform", "aws_ec2")],
            Some("AWS::EC2::Instance"),
        ),
        (
            vec![("cloud.provider", "aws"), ("cloud.platform", "aws_ecs")],
            Some("AWS::ECS::Container"),
        ),
        (
            vec![("cloud.platform", "aws_ecs"), ("aws.ecs.launchtype", "ec2")],
            Some("AWS::ECS::EC2"),
        ),
        (
            vec![
                ("cloud.platform", "aws_ecs"),
                ("aws.ecs.launchtype", "fargate"),
            ],
            Some("AWS::ECS::Fargate"),
        ),
        (
            vec![("cloud.platform", "aws_eks"), ("k8s.cluster.name", "prod")],
            Some("AWS::EKS::Container"),
        ),
        (
            vec![("cloud.platform", "aws_elastic_beanstalk")],
            Some("AWS::ElasticBeanstalk::Environment"),
        ),
        (
            vec![("cloud.platform", "aws_app_runner")],
            Some("AWS::AppRunner::Service"),
        ),
        (
            vec![("cloud.provider", "aws"), ("cloud.platform", "aws_lambda")],
            Some("AWS::Lambda::Function"),
        ),
        (
            vec![("cloud.provider", "gcp"), ("cloud.platform", "aws_ec2")],
            None,
        ),
        (vec![("cloud.provider", "aws")], None),
        (vec![], None),
    ];
    for (attrs, want) in cases {
        let res: Vec<_> = attrs.iter().map(|(k, v)| KeyValue::new(*k, *v)).collect();
        let doc = server(res);
        assert_eq!(
            doc.get("origin").and_then(|o| o.as_str()),
            want,
            "{attrs:?}"
        );
    }
    // Subsegments carry the origin too.
    let doc = translate(
        &span(SpanKind::Client, Some(PARENT)),
        &resource(vec![KeyValue::new("cloud.platform", "aws_lambda")]),
    );
    assert_eq!(doc["origin"], "AWS::Lambda::Function");
}

#[test]
fn ec2_and_ecs_resource_fields() {
    let doc = server(vec![
        KeyValue::new("cloud.provider", "aws"),
        KeyValue::new("cloud.platform", "aws_ecs"),
        KeyValue::new("cloud.account.id", "123456789"),
        KeyValue::new("cloud.availability_zone", "us-east-1c"),
        KeyValue::new("host.id", "i-0123"),
        KeyValue::new("host.type", "m5.large"),
        KeyValue::new("container.name", "api"),
        KeyValue::new("container.id", "c0ffee"),
        KeyValue::new(
            "aws.ecs.cluster.arn",
            "arn:aws:ecs:us-east-1:123456789:cluster/prod",
        ),
        KeyValue::new("aws.ecs.launchtype", "ec2"),
    ]);
    let aws = &doc["aws"];
    assert_eq!(aws["account_id"], "123456789");
    assert_eq!(
        aws["ec2"],
        json!({"instance_id": "i-0123", "availability_zone": "us-east-1c", "instance_size": "m5.large"})
    );
    assert_eq!(aws["ecs"]["container"], "api");
    assert_eq!(aws["ecs"]["container_id"], "c0ffee");
    assert_eq!(aws["ecs"]["launch_type"], "ec2");
}

#[test]
fn beanstalk_eks_and_sdk() {
    let doc = server(vec![
        KeyValue::new("cloud.platform", "aws_elastic_beanstalk"),
        KeyValue::new("service.namespace", "production"),
        KeyValue::new("service.instance.id", "232"),
        KeyValue::new("service.version", "4"),
        KeyValue::new("k8s.cluster.name", "prod"),
        KeyValue::new("k8s.pod.name", "api-7d9"),
        KeyValue::new("telemetry.sdk.name", "opentelemetry"),
        KeyValue::new("telemetry.sdk.language", "rust"),
        KeyValue::new("telemetry.sdk.version", "0.33.0"),
    ]);
    let aws = &doc["aws"];
    assert_eq!(
        aws["elastic_beanstalk"],
        json!({"environment_name": "production", "version_label": "4", "deployment_id": 232})
    );
    assert_eq!(
        aws["eks"],
        json!({"cluster_name": "prod", "pod": "api-7d9"})
    );
    assert_eq!(
        aws["xray"],
        json!({"sdk": "opentelemetry for rust", "sdk_version": "0.33.0", "auto_instrumentation": false})
    );
    let auto = server(vec![
        KeyValue::new("telemetry.sdk.name", "x"),
        KeyValue::new("telemetry.distro.version", "1"),
    ]);
    assert_eq!(auto["aws"]["xray"]["auto_instrumentation"], true);
}

#[test]
fn call_fields_and_precedence() {
    let doc = client(vec![
        KeyValue::new("rpc.system", "aws-api"),
        KeyValue::new("rpc.method", "IncorrectOperation"),
        KeyValue::new("aws.operation", "UpdateItem"),
        KeyValue::new("aws.account_id", "111"),
        KeyValue::new("aws.region", "us-east-2"),
        KeyValue::new("aws.requestId", "req-1"),
        KeyValue::new("aws.queue.url", "https://sqs/old"),
        KeyValue::new("messaging.url", "https://sqs/q"),
        KeyValue::new("aws.table.name", "Orders"),
    ]);
    let aws = &doc["aws"];
    assert_eq!(aws["operation"], "UpdateItem");
    assert_eq!(aws["account_id"], "111");
    assert_eq!(aws["region"], "us-east-2");
    assert_eq!(aws["request_id"], "req-1");
    assert_eq!(aws["queue_url"], "https://sqs/q");
    assert_eq!(aws["table_name"], "Orders");
    let md = &doc["metadata"]["default"];
    assert!(md.get("aws.operation").is_none() && md.get("aws.region").is_none());
    // rpc.method lost to aws.operation, so it is still visible.
    assert_eq!(md["rpc.method"], "IncorrectOperation");
    assert_eq!(md["messaging.url"], "https://sqs/q");
}

#[test]
fn dynamodb_table_names_one_or_many() {
    let one = client(vec![KeyValue::new(
        "aws.dynamodb.table_names",
        strs(&["table1"]),
    )]);
    assert_eq!(one["aws"]["table_name"], "table1");
    assert!(one["aws"].get("table_names").is_none());
    assert_eq!(
        one["metadata"]["default"]["aws.dynamodb.table_names"],
        json!(["table1"])
    );
    let two = client(vec![
        KeyValue::new("aws.table_name", "x"),
        KeyValue::new("aws.dynamodb.table_names", strs(&["t1", "t2"])),
    ]);
    assert_eq!(two["aws"]["table_names"], json!(["t1", "t2"]));
    assert!(two["aws"].get("table_name").is_none());
}

#[test]
fn non_aws_provider_keeps_span_call_fields_but_no_resource_fields() {
    let s = with(
        span(SpanKind::Client, Some(PARENT)),
        vec![KeyValue::new("aws.operation", "GetItem")],
    );
    let doc = translate(
        &s,
        &resource(vec![
            KeyValue::new("cloud.provider", "gcp"),
            KeyValue::new("host.id", "h"),
        ]),
    );
    assert_eq!(doc["aws"], json!({"operation": "GetItem"}));
}

#[test]
fn log_groups_from_arns_names_or_config() {
    let doc = server(vec![KeyValue::new(
        "aws.log.group.arns",
        strs(&[
            "arn:aws:logs:us-east-1:123:log-group:group1",
            "arn:aws:logs:us-east-1:123:log-group:group2:*",
        ]),
    )]);
    assert_eq!(doc["aws"]["cloudwatch_logs"][1]["log_group"], "group2");
    assert_eq!(
        doc["aws"]["cloudwatch_logs"][0]["arn"],
        "arn:aws:logs:us-east-1:123:log-group:group1"
    );
    let doc = server(vec![KeyValue::new("aws.log.group.names", "&a&b&&")]);
    assert_eq!(
        doc["aws"]["cloudwatch_logs"],
        json!([{"log_group": "a"}, {"log_group": "b"}])
    );
    let doc = server(vec![KeyValue::new("aws.log.group.names", 7)]);
    assert!(doc.get("aws").is_none());
    let config = otel_xray_exporter::TranslatorConfig::builder()
        .log_group("/aws/app")
        .build();
    let doc = translate_with(config, &span(SpanKind::Server, None), &empty_resource());
    assert_eq!(
        doc["aws"]["cloudwatch_logs"],
        json!([{"log_group": "/aws/app"}])
    );
}

#[test]
fn resource_fields_are_on_segments_only() {
    let res = resource(vec![
        KeyValue::new("cloud.platform", "aws_ec2"),
        KeyValue::new("host.id", "i-0123"),
        KeyValue::new("telemetry.sdk.name", "opentelemetry"),
    ]);
    let sub = translate(
        &with(
            span(SpanKind::Client, Some(PARENT)),
            vec![KeyValue::new("aws.region", "eu-west-1")],
        ),
        &res,
    );
    assert_eq!(sub["aws"], json!({"region": "eu-west-1"}));
    assert_eq!(sub["origin"], "AWS::EC2::Instance");
    let seg = translate(&span(SpanKind::Server, None), &res);
    assert_eq!(seg["aws"]["ec2"]["instance_id"], "i-0123");
    assert_eq!(seg["aws"]["xray"]["sdk"], "opentelemetry");
}
