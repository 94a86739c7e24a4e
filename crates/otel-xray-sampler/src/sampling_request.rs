//! What a sampling rule is matched against: the request seen through span attributes (old and new
//! HTTP semantic conventions) and the service seen through the resource.

use opentelemetry::Value;
use opentelemetry_sdk::Resource;

/// X-Ray origin (`ServiceType`) for each `cloud.platform` value X-Ray knows.
const SERVICE_TYPES: &[(&str, &str)] = &[
    ("aws_ec2", "AWS::EC2::Instance"),
    ("aws_ecs", "AWS::ECS::Container"),
    ("aws_eks", "AWS::EKS::Container"),
    (
        "aws_elastic_beanstalk",
        "AWS::ElasticBeanstalk::Environment",
    ),
    ("aws_lambda", "AWS::Lambda::Function"),
];

/// The resource side of matching, read once when the sampler is built.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ResourceContext {
    /// `service.name`.
    pub(crate) service_name: Option<String>,
    /// X-Ray origin derived from `cloud.platform`.
    pub(crate) service_type: Option<&'static str>,
    /// `aws.ecs.container.arn`, or on Lambda the resource's `cloud.resource_id`.
    pub(crate) resource_arn: Option<String>,
    /// On Lambda without a resource ARN, the span's `cloud.resource_id` is the ARN.
    pub(crate) arn_from_span: bool,
}

fn string_attr(resource: &Resource, key: &'static str) -> Option<String> {
    match resource.get_ref(&opentelemetry::Key::from_static_str(key)) {
        Some(Value::String(s)) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

impl ResourceContext {
    pub(crate) fn from_resource(resource: &Resource) -> Self {
        let platform = string_attr(resource, "cloud.platform");
        let service_type = platform.as_deref().and_then(|p| {
            SERVICE_TYPES
                .iter()
                .find(|(otel, _)| *otel == p)
                .map(|(_, xray)| *xray)
        });
        let is_lambda = platform.as_deref() == Some("aws_lambda");
        let mut resource_arn = string_attr(resource, "aws.ecs.container.arn");
        if resource_arn.is_none() && is_lambda {
            resource_arn = string_attr(resource, "cloud.resource_id");
        }
        Self {
            service_name: string_attr(resource, "service.name"),
            service_type,
            arn_from_span: resource_arn.is_none() && is_lambda,
            resource_arn,
        }
    }
}

/// The request fields of one span, borrowed from its attributes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SpanFields<'a> {
    pub(crate) http_method: Option<&'a str>,
    pub(crate) host: Option<&'a str>,
    pub(crate) url_path: Option<&'a str>,
    pub(crate) cloud_resource_id: Option<&'a str>,
}

/// Which attribute supplied a field; a higher rank wins, so new semantic conventions take
/// precedence over old ones whatever the attribute order.
#[derive(Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    #[default]
    None,
    Old,
    New,
}

fn str_value(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s.as_str()),
        _ => None,
    }
}

/// The path of an absolute URL (`scheme://host[:port]/path?query#fragment`), `/` when the URL has
/// none; `None` when the value is not an absolute URL.
pub(crate) fn path_of_url(url: &str) -> Option<&str> {
    let scheme_end = url.find("://")?;
    if scheme_end == 0 {
        return None;
    }
    let rest = &url[scheme_end + 3..];
    match rest.find(['/', '?', '#']) {
        Some(i) if rest.as_bytes()[i] == b'/' => Some(strip_query(&rest[i..])),
        _ => Some("/"),
    }
}

/// `http.target` carries the query string; X-Ray matches `URLPath` against the path only.
fn strip_query(target: &str) -> &str {
    match query_start(target.as_bytes()) {
        Some(i) => &target[..i],
        None => target,
    }
}

const BYTE_ONES: u64 = 0x0101_0101_0101_0101;

/// Whether any byte of `word` is zero (exact as a yes/no answer).
#[inline(always)]
fn has_zero_byte(word: u64) -> bool {
    word.wrapping_sub(BYTE_ONES) & !word & (BYTE_ONES * 0x80) != 0
}

/// The index of the first `?` or `#`. Paths are matched on every decision, so 8 bytes are checked
/// at a time and only a chunk that has one is scanned bytewise.
fn query_start(bytes: &[u8]) -> Option<usize> {
    let is_delimiter = |b: &u8| *b == b'?' || *b == b'#';
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        if has_zero_byte(word ^ (BYTE_ONES * u64::from(b'?')))
            || has_zero_byte(word ^ (BYTE_ONES * u64::from(b'#')))
        {
            return chunk.iter().position(is_delimiter).map(|i| offset + i);
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(is_delimiter)
        .map(|i| offset + i)
}

/// The bit of a key length in a length set (lengths of 63 bytes and more share bit 63).
#[inline(always)]
pub(crate) fn length_bit(key: &str) -> u64 {
    1 << key.len().min(63)
}

/// Reads [`SpanFields`] attribute by attribute, so a decision passes over the span's attributes once
/// for these fields and the rules' attribute conditions together. No allocation.
#[derive(Default)]
pub(crate) struct FieldReader<'a> {
    method: (Rank, Option<&'a str>),
    method_original: Option<&'a str>,
    host: (Rank, Option<&'a str>),
    path: (Rank, Option<&'a str>),
    url: (Rank, Option<&'a str>),
    cloud_resource_id: Option<&'a str>,
}

impl<'a> FieldReader<'a> {
    /// The lengths of the keys [`offer`](Self::offer) reads, as [`length_bit`]s: most attributes are
    /// skipped without a string compare.
    pub(crate) const KEY_LENGTHS: u64 =
        (1 << 8) | (1 << 9) | (1 << 11) | (1 << 13) | (1 << 14) | (1 << 17) | (1 << 19) | (1 << 28);

    /// Takes the attribute if it is one of the request fields.
    #[inline]
    pub(crate) fn offer(&mut self, key: &str, v: &'a Value) {
        let set = |slot: &mut (Rank, Option<&'a str>), rank: Rank| {
            if rank >= slot.0 {
                if let Some(s) = str_value(v) {
                    *slot = (rank, Some(s));
                }
            }
        };
        match key {
            "http.request.method" => set(&mut self.method, Rank::New),
            "http.method" => set(&mut self.method, Rank::Old),
            "http.request.method_original" => self.method_original = str_value(v),
            "server.address" => set(&mut self.host, Rank::New),
            "http.host" | "net.host.name" => set(&mut self.host, Rank::Old),
            "url.path" => set(&mut self.path, Rank::New),
            "http.target" => set(&mut self.path, Rank::Old),
            "url.full" => set(&mut self.url, Rank::New),
            "http.url" => set(&mut self.url, Rank::Old),
            "cloud.resource_id" => self.cloud_resource_id = str_value(v),
            _ => {}
        }
    }

    /// The fields, new semantic conventions first.
    #[inline]
    pub(crate) fn finish(self) -> SpanFields<'a> {
        // Semantic conventions: an unknown method is reported as `_OTHER` with the real one aside.
        let http_method = match self.method.1 {
            Some("_OTHER") => self.method_original.or(self.method.1),
            m => m,
        };
        // `url.path` is the path alone by definition; only the old `http.target` carries a query.
        let url_path = match self.path {
            (Rank::New, p) => p,
            (_, Some(target)) => Some(strip_query(target)),
            (_, None) => self.url.1.and_then(path_of_url),
        };
        SpanFields {
            http_method,
            host: self.host.1,
            url_path,
            cloud_resource_id: self.cloud_resource_id,
        }
    }
}

impl<'a> SpanFields<'a> {
    /// The fields alone, for tests; decisions read them with [`FieldReader`] in their single pass
    /// over the attributes.
    #[cfg(test)]
    pub(crate) fn extract(attributes: &'a [opentelemetry::KeyValue]) -> Self {
        let mut reader = FieldReader::default();
        for kv in attributes {
            let key = kv.key.as_str();
            if FieldReader::KEY_LENGTHS & length_bit(key) != 0 {
                reader.offer(key, &kv.value);
            }
        }
        reader.finish()
    }
}

/// Calls `f` with the attribute's value as text, formatting numbers and booleans on the stack.
/// Arrays never match an attribute condition. Strings (nearly every attribute condition) take the
/// inlined path; numbers are formatted out of line.
#[inline(always)]
pub(crate) fn with_value_text<R>(value: &Value, f: impl FnOnce(&str) -> R) -> Option<R> {
    match value {
        Value::String(s) => Some(f(s.as_str())),
        Value::Bool(b) => Some(f(if *b { "true" } else { "false" })),
        Value::I64(_) | Value::F64(_) => {
            let mut buf = [0u8; 40];
            number_text(value, &mut buf).map(f)
        }
        _ => None,
    }
}

#[inline(never)]
fn number_text<'b>(value: &Value, buf: &'b mut [u8; 40]) -> Option<&'b str> {
    use std::io::Write;
    let mut cursor = std::io::Cursor::new(&mut buf[..]);
    let ok = match value {
        Value::I64(i) => write!(cursor, "{i}").is_ok(),
        Value::F64(x) => write!(cursor, "{x}").is_ok(),
        _ => false,
    };
    if !ok {
        return None;
    }
    let written = cursor.position() as usize;
    std::str::from_utf8(&buf[..written]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::KeyValue;

    fn kv(k: &'static str, v: &'static str) -> KeyValue {
        KeyValue::new(k, v)
    }

    #[test]
    fn new_semconv_wins_over_old_in_any_order() {
        for attrs in [
            vec![
                kv("http.method", "GET"),
                kv("http.request.method", "POST"),
                kv("http.host", "old"),
                kv("server.address", "new"),
                kv("http.target", "/old?q"),
                kv("url.path", "/new"),
            ],
            vec![
                kv("url.path", "/new"),
                kv("server.address", "new"),
                kv("http.request.method", "POST"),
                kv("http.target", "/old?q"),
                kv("http.host", "old"),
                kv("http.method", "GET"),
            ],
        ] {
            let f = SpanFields::extract(&attrs);
            assert_eq!(f.http_method, Some("POST"));
            assert_eq!(f.host, Some("new"));
            assert_eq!(f.url_path, Some("/new"));
        }
    }

    #[test]
    fn old_semconv_alone() {
        let attrs = [
            kv("http.method", "GET"),
            kv("net.host.name", "h"),
            kv("http.target", "/a/b?x=1#f"),
        ];
        let f = SpanFields::extract(&attrs);
        assert_eq!(
            (f.http_method, f.host, f.url_path),
            (Some("GET"), Some("h"), Some("/a/b"))
        );
    }

    #[test]
    fn other_method_uses_original() {
        let attrs = [
            kv("http.request.method", "_OTHER"),
            kv("http.request.method_original", "PURGE"),
        ];
        assert_eq!(SpanFields::extract(&attrs).http_method, Some("PURGE"));
        let attrs = [kv("http.request.method", "_OTHER")];
        assert_eq!(SpanFields::extract(&attrs).http_method, Some("_OTHER"));
    }

    proptest::proptest! {
        #[test]
        fn query_start_finds_the_first_delimiter(text in "[a/?#\u{e9}\u{2023}\u{3f00}]{0,40}") {
            let expected = text.bytes().position(|b| b == b'?' || b == b'#');
            proptest::prop_assert_eq!(query_start(text.as_bytes()), expected);
        }
    }

    #[test]
    fn path_from_full_url() {
        let table = [
            ("https://h.example/a/b?c=d", Some("/a/b")),
            ("https://h.example", Some("/")),
            ("https://h.example?x=/y", Some("/")),
            ("http://h:8080/p#frag", Some("/p")),
            ("/relative/path", None),
            ("://nohost/x", None),
        ];
        for (url, expected) in table {
            assert_eq!(path_of_url(url), expected, "{url}");
            let attrs = [KeyValue::new("url.full", url)];
            assert_eq!(SpanFields::extract(&attrs).url_path, expected, "{url}");
        }
    }

    #[test]
    fn every_recognised_key_is_read() {
        let attrs = [
            kv("http.url", "http://h/old/url"),
            kv("cloud.resource_id", "arn:x"),
        ];
        let f = SpanFields::extract(&attrs);
        assert_eq!(f.url_path, Some("/old/url"));
        assert_eq!(f.cloud_resource_id, Some("arn:x"));
        let attrs = [
            kv("url.full", "http://h/new"),
            kv("http.url", "http://h/old"),
        ];
        assert_eq!(SpanFields::extract(&attrs).url_path, Some("/new"));
    }

    #[test]
    fn non_string_values_are_ignored_for_http_fields() {
        let attrs = [KeyValue::new("http.request.method", 7)];
        assert_eq!(SpanFields::extract(&attrs).http_method, None);
    }

    #[test]
    fn value_text_formats_without_heap() {
        assert_eq!(
            with_value_text(&Value::I64(-42), str::to_owned),
            Some("-42".into())
        );
        assert_eq!(
            with_value_text(&Value::Bool(true), str::to_owned),
            Some("true".into())
        );
        assert_eq!(
            with_value_text(&Value::F64(0.5), str::to_owned),
            Some("0.5".into())
        );
        assert_eq!(
            with_value_text(&Value::from("x"), str::to_owned),
            Some("x".into())
        );
        let arr = Value::Array(vec![1i64, 2].into());
        assert_eq!(with_value_text(&arr, str::to_owned), None);
    }

    #[test]
    fn resource_context_maps_platform_and_arn() {
        let r = Resource::builder_empty()
            .with_attributes([
                kv("service.name", "checkout"),
                kv("cloud.platform", "aws_ecs"),
                kv("aws.ecs.container.arn", "arn:ecs"),
            ])
            .build();
        let c = ResourceContext::from_resource(&r);
        assert_eq!(c.service_name.as_deref(), Some("checkout"));
        assert_eq!(c.service_type, Some("AWS::ECS::Container"));
        assert_eq!(c.resource_arn.as_deref(), Some("arn:ecs"));
        assert!(!c.arn_from_span);

        let lambda = Resource::builder_empty()
            .with_attributes([kv("cloud.platform", "aws_lambda")])
            .build();
        let c = ResourceContext::from_resource(&lambda);
        assert_eq!(c.service_type, Some("AWS::Lambda::Function"));
        assert!(c.arn_from_span);

        let unknown = Resource::builder_empty()
            .with_attributes([kv("cloud.platform", "gcp_compute_engine")])
            .build();
        assert_eq!(ResourceContext::from_resource(&unknown).service_type, None);
    }
}
