//! Every attribute key and key prefix the translator reads, in one place.
//!
//! To follow an attribute: find its key here, then its `SpanKey::` /
//! `ResourceKey::` variant in the block file that reads it.

/// Attributes `aws.xray.annotation.<key>` become annotation `<key>`.
pub const ANNOTATION_PREFIX: &str = "aws.xray.annotation.";
/// Attributes `aws.xray.metadata.<ns>` holding a JSON object become namespace `<ns>`.
pub const METADATA_PREFIX: &str = "aws.xray.metadata.";
/// A span's string-list attribute naming the attributes to index as annotations
/// (the collector's convention); never exported itself.
pub const ANNOTATIONS_LIST_KEY: &str = "aws.xray.annotations";
/// Resource attributes appear as `otel.resource.<key>`.
pub const RESOURCE_PREFIX: &str = "otel.resource.";
/// The metadata namespace of span events, SDK drop counts and the size policy.
pub const OTEL_NAMESPACE: &str = "otel";
/// Keys with this prefix are read by the annotation and metadata rules.
pub(crate) const XRAY_PREFIX: &str = "aws.xray.";

macro_rules! known_keys {
    ($enum:ident, $count:ident, $lookup:ident { $( $variant:ident = $key:literal, )* }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[allow(clippy::enum_variant_names)]
        pub(crate) enum $enum { $( $variant, )* }
        pub(crate) const $count: usize = [$( $enum::$variant, )*].len();
        pub(crate) fn $lookup(key: &str) -> Option<$enum> {
            match key {
                $( $key => Some($enum::$variant), )*
                _ => None,
            }
        }
        impl $enum {
            /// Every key, in declaration order.
            #[allow(dead_code, reason = "only the span keys are handed out (span_attribute_keys)")]
            pub(crate) const KEYS: [&'static str; $count] = [$( $key, )*];
        }
    };
}

/// Every span attribute key the translator reads by its whole name (the `aws.xray.*`
/// prefixes aside). A reader of OTLP can give the SDK these as static keys rather than
/// allocate a copy of each for every span, as the daemon's protobuf reader does.
///
/// ```
/// let keys: Vec<&str> = otel_xray_exporter::span_attribute_keys().collect();
/// assert!(keys.contains(&"http.request.method"));
/// assert!(keys.contains(&"db.query.text"));
/// ```
pub fn span_attribute_keys() -> impl Iterator<Item = &'static str> {
    SpanKey::KEYS.into_iter()
}

known_keys!(SpanKey, SPAN_KEYS, span_key {
    // name
    AwsLocalService = "aws.local.service",
    AwsRemoteService = "aws.remote.service",
    AwsSpanKind = "aws.span.kind",
    PeerService = "peer.service",
    AwsService = "aws.service",
    DbName = "db.name",
    DbConnectionString = "db.connection_string",
    RpcService = "rpc.service",
    RpcSystem = "rpc.system",
    HttpHost = "http.host",
    NetPeerName = "net.peer.name",
    // http
    HttpMethod = "http.method",
    HttpRequestMethod = "http.request.method",
    HttpClientIp = "http.client_ip",
    HttpUserAgent = "http.user_agent",
    UserAgentOriginal = "user_agent.original",
    HttpStatusCode = "http.status_code",
    HttpResponseStatusCode = "http.response.status_code",
    HttpUrl = "http.url",
    UrlFull = "url.full",
    HttpScheme = "http.scheme",
    UrlScheme = "url.scheme",
    HttpTarget = "http.target",
    HttpServerName = "http.server_name",
    NetHostPort = "net.host.port",
    HostName = "host.name",
    NetHostName = "net.host.name",
    NetPeerPort = "net.peer.port",
    NetPeerIp = "net.peer.ip",
    NetworkPeerAddress = "network.peer.address",
    NetworkPeerPort = "network.peer.port",
    ClientAddress = "client.address",
    UrlPath = "url.path",
    UrlQuery = "url.query",
    ServerAddress = "server.address",
    ServerPort = "server.port",
    HttpStatusText = "http.status_text",
    MessageType = "message.type",
    MessagingPayloadSize = "messaging.message_payload_size_bytes",
    MessagingBodySize = "messaging.message.body.size",
    HttpResponseBodySize = "http.response.body.size",
    HttpResponseContentLength = "http.response_content_length",
    // aws
    AwsOperation = "aws.operation",
    RpcMethod = "rpc.method",
    AwsAccountId = "aws.account_id",
    AwsRegion = "aws.region",
    AwsRequestId = "aws.request_id",
    AwsRequestIdAlt = "aws.requestId",
    AwsQueueUrl = "aws.queue_url",
    AwsQueueUrlAlt = "aws.queue.url",
    MessagingUrl = "messaging.url",
    AwsTableName = "aws.table_name",
    AwsTableNameAlt = "aws.table.name",
    AwsDynamoTableNames = "aws.dynamodb.table_names",
    // sql
    DbSystem = "db.system",
    DbSystemName = "db.system.name",
    DbNamespace = "db.namespace",
    DbStatement = "db.statement",
    DbQueryText = "db.query.text",
    DbUser = "db.user",
    // user, annotations
    EnduserId = "enduser.id",
    XrayAnnotations = "aws.xray.annotations",
});

known_keys!(ResourceKey, RESOURCE_KEYS, resource_key {
    CloudProvider = "cloud.provider",
    CloudPlatform = "cloud.platform",
    CloudAccountId = "cloud.account.id",
    CloudAvailabilityZone = "cloud.availability_zone",
    HostId = "host.id",
    HostType = "host.type",
    HostImageId = "host.image.id",
    ContainerName = "container.name",
    ContainerId = "container.id",
    ContainerImageTag = "container.image.tag",
    K8sPodName = "k8s.pod.name",
    K8sClusterName = "k8s.cluster.name",
    ServiceName = "service.name",
    ServiceNamespace = "service.namespace",
    ServiceInstanceId = "service.instance.id",
    ServiceVersion = "service.version",
    TelemetrySdkName = "telemetry.sdk.name",
    TelemetrySdkLanguage = "telemetry.sdk.language",
    TelemetrySdkVersion = "telemetry.sdk.version",
    TelemetryAutoVersion = "telemetry.auto.version",
    TelemetryDistroVersion = "telemetry.distro.version",
    AwsEcsClusterArn = "aws.ecs.cluster.arn",
    AwsEcsContainerArn = "aws.ecs.container.arn",
    AwsEcsTaskArn = "aws.ecs.task.arn",
    AwsEcsTaskFamily = "aws.ecs.task.family",
    AwsEcsLaunchtype = "aws.ecs.launchtype",
    AwsLogGroupArns = "aws.log.group.arns",
    AwsLogGroupNames = "aws.log.group.names",
});
