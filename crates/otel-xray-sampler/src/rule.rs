//! Sampling rules as X-Ray serves them (`GetSamplingRules`), validated.

use crate::error::RuleError;

/// Longest rule name X-Ray accepts (API reference: `RuleName`, 1–32 characters).
pub const MAX_RULE_NAME_LEN: usize = 32;
/// Longest pattern this crate accepts in any rule field; X-Ray's own limits are lower (at most 500
/// for `ResourceARN`), so this only bounds the matching cost of a hostile endpoint.
pub const MAX_PATTERN_LEN: usize = 1024;
/// The only rule `Version` X-Ray defines; rules with another version are rejected.
pub const SUPPORTED_RULE_VERSION: i32 = 1;

/// One X-Ray sampling rule.
///
/// Every string field except [`rule_name`](Self::rule_name) is a glob (`*`, `?`), matched
/// case-insensitively over the whole value; `"*"` matches anything, including a span that does not
/// carry the value. Rules are tried in ascending [`priority`](Self::priority), ties broken by name;
/// X-Ray always serves the catch-all rule `Default` with priority 10000.
///
/// ```
/// use otel_xray_sampler::SamplingRule;
///
/// let rule = SamplingRule::new("api-writes", 100, 0.1, 5)
///     .with_http_method("POST")
///     .with_url_path("/api/*")
///     .with_attribute("tenant", "gold-*");
/// assert!(rule.validate().is_ok());
/// assert_eq!(SamplingRule::default_rule().priority, 10_000);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SamplingRule {
    /// `RuleName`: unique, 1–32 characters; statistics and targets are keyed by it.
    pub rule_name: String,
    /// `Priority`: lower is tried first (1–9999 for user rules, 10000 for `Default`).
    pub priority: i32,
    /// `FixedRate`: fraction (0.0–1.0) of the requests beyond the reservoir that are sampled.
    pub fixed_rate: f64,
    /// `ReservoirSize`: sampled requests per second, across all services, before the fixed rate
    /// applies; each service receives its share as a quota from `GetSamplingTargets`.
    pub reservoir_size: u32,
    /// `ServiceName` glob, matched against the resource's `service.name`.
    pub service_name: String,
    /// `ServiceType` glob, matched against the X-Ray origin derived from `cloud.platform`
    /// (`AWS::EC2::Instance`, `AWS::ECS::Container`, `AWS::EKS::Container`,
    /// `AWS::ElasticBeanstalk::Environment`, `AWS::Lambda::Function`).
    pub service_type: String,
    /// `Host` glob, matched against `server.address` (or `http.host` / `net.host.name`).
    pub host: String,
    /// `HTTPMethod` glob, matched against `http.request.method` (or `http.method`).
    pub http_method: String,
    /// `URLPath` glob, matched against `url.path` (or the path of `http.target`, `url.full`,
    /// `http.url`).
    pub url_path: String,
    /// `ResourceARN` glob, matched against `aws.ecs.container.arn`, or on Lambda `cloud.resource_id`.
    pub resource_arn: String,
    /// `Attributes`: span attribute key → value glob; every listed key must be present and match.
    /// Kept sorted by key.
    pub attributes: Vec<(String, String)>,
}

impl SamplingRule {
    /// A rule with the given name, priority, fixed rate and reservoir that matches every request
    /// (all globs `*`, no attributes). Narrow it with the `with_*` methods.
    pub fn new(
        rule_name: impl Into<String>,
        priority: i32,
        fixed_rate: f64,
        reservoir_size: u32,
    ) -> Self {
        Self {
            rule_name: rule_name.into(),
            priority,
            fixed_rate,
            reservoir_size,
            service_name: "*".into(),
            service_type: "*".into(),
            host: "*".into(),
            http_method: "*".into(),
            url_path: "*".into(),
            resource_arn: "*".into(),
            attributes: Vec::new(),
        }
    }

    /// X-Ray's catch-all rule as created in every account: `Default`, priority 10000, reservoir
    /// 1 request per second, then 5 % fixed rate. It is also what this crate applies locally until
    /// X-Ray has answered.
    pub fn default_rule() -> Self {
        Self::new("Default", 10_000, 0.05, 1)
    }

    /// Sets the `ServiceName` glob.
    pub fn with_service_name(mut self, glob: impl Into<String>) -> Self {
        self.service_name = glob.into();
        self
    }

    /// Sets the `ServiceType` glob.
    pub fn with_service_type(mut self, glob: impl Into<String>) -> Self {
        self.service_type = glob.into();
        self
    }

    /// Sets the `Host` glob.
    pub fn with_host(mut self, glob: impl Into<String>) -> Self {
        self.host = glob.into();
        self
    }

    /// Sets the `HTTPMethod` glob.
    pub fn with_http_method(mut self, glob: impl Into<String>) -> Self {
        self.http_method = glob.into();
        self
    }

    /// Sets the `URLPath` glob.
    pub fn with_url_path(mut self, glob: impl Into<String>) -> Self {
        self.url_path = glob.into();
        self
    }

    /// Sets the `ResourceARN` glob.
    pub fn with_resource_arn(mut self, glob: impl Into<String>) -> Self {
        self.resource_arn = glob.into();
        self
    }

    /// Adds (or replaces) an attribute condition.
    pub fn with_attribute(mut self, key: impl Into<String>, glob: impl Into<String>) -> Self {
        let key = key.into();
        let glob = glob.into();
        match self.attributes.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(i) => self.attributes[i].1 = glob,
            Err(i) => self.attributes.insert(i, (key, glob)),
        }
        self
    }

    /// Checks what X-Ray guarantees for well-formed rules, so a hostile or broken endpoint cannot
    /// install a rule with a NaN rate or an unbounded pattern.
    pub fn validate(&self) -> Result<(), RuleError> {
        if self.rule_name.is_empty() {
            return Err(RuleError::MissingName);
        }
        let name_len = self.rule_name.chars().count();
        if name_len > MAX_RULE_NAME_LEN {
            return Err(RuleError::NameTooLong {
                rule: self.rule_name.clone(),
                len: name_len,
            });
        }
        if !(0.0..=1.0).contains(&self.fixed_rate) {
            return Err(RuleError::FixedRateOutOfRange {
                rule: self.rule_name.clone(),
                fixed_rate: self.fixed_rate,
            });
        }
        let fields = [
            ("ServiceName", &self.service_name),
            ("ServiceType", &self.service_type),
            ("Host", &self.host),
            ("HTTPMethod", &self.http_method),
            ("URLPath", &self.url_path),
            ("ResourceARN", &self.resource_arn),
        ];
        let attrs = self.attributes.iter().map(|(_, v)| ("Attributes", v));
        for (field, value) in fields.into_iter().chain(attrs) {
            if value.len() > MAX_PATTERN_LEN {
                return Err(RuleError::PatternTooLong {
                    rule: self.rule_name.clone(),
                    field,
                    len: value.len(),
                });
            }
        }
        Ok(())
    }
}

impl TryFrom<&aws_sdk_xray::types::SamplingRule> for SamplingRule {
    type Error = RuleError;

    fn try_from(r: &aws_sdk_xray::types::SamplingRule) -> Result<Self, RuleError> {
        let name = r.rule_name.clone().unwrap_or_default();
        if name.is_empty() {
            return Err(RuleError::MissingName);
        }
        if r.version != SUPPORTED_RULE_VERSION {
            return Err(RuleError::UnsupportedVersion {
                rule: name,
                version: r.version,
            });
        }
        let reservoir_size =
            u32::try_from(r.reservoir_size).map_err(|_| RuleError::NegativeReservoir {
                rule: name.clone(),
                reservoir_size: r.reservoir_size,
            })?;
        let mut attributes: Vec<(String, String)> = r
            .attributes
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        attributes.sort();
        let rule = SamplingRule {
            rule_name: name,
            priority: r.priority,
            fixed_rate: r.fixed_rate,
            reservoir_size,
            service_name: r.service_name.clone(),
            service_type: r.service_type.clone(),
            host: r.host.clone(),
            http_method: r.http_method.clone(),
            url_path: r.url_path.clone(),
            resource_arn: r.resource_arn.clone(),
            attributes,
        };
        rule.validate()?;
        Ok(rule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_xray::types::SamplingRule as SdkRule;

    fn sdk_rule(name: Option<&str>, version: i32, rate: f64, reservoir: i32) -> SdkRule {
        SdkRule::builder()
            .set_rule_name(name.map(String::from))
            .priority(5)
            .fixed_rate(rate)
            .reservoir_size(reservoir)
            .service_name("svc-*")
            .service_type("*")
            .host("*")
            .http_method("GET")
            .url_path("/x")
            .resource_arn("*")
            .version(version)
            .attributes("b", "2")
            .attributes("a", "1")
            .build()
            .expect("all required fields set")
    }

    #[test]
    fn converts_a_valid_sdk_rule() {
        let rule = SamplingRule::try_from(&sdk_rule(Some("r1"), 1, 0.25, 3)).expect("valid");
        assert_eq!(rule.rule_name, "r1");
        assert_eq!(rule.priority, 5);
        assert_eq!(rule.reservoir_size, 3);
        assert_eq!(rule.service_name, "svc-*");
        assert_eq!(rule.http_method, "GET");
        assert_eq!(
            rule.attributes,
            vec![("a".into(), "1".into()), ("b".into(), "2".into())]
        );
    }

    #[test]
    fn rejects_what_x_ray_would_never_send() {
        let cases = [
            (sdk_rule(None, 1, 0.1, 1), "without a name"),
            (sdk_rule(Some(""), 1, 0.1, 1), "without a name"),
            (sdk_rule(Some("v2"), 2, 0.1, 1), "version"),
            (sdk_rule(Some("nan"), 1, f64::NAN, 1), "fixed rate"),
            (sdk_rule(Some("big"), 1, 1.5, 1), "fixed rate"),
            (sdk_rule(Some("neg"), 1, -0.1, 1), "fixed rate"),
            (sdk_rule(Some("res"), 1, 0.1, -1), "reservoir"),
            (sdk_rule(Some(&"n".repeat(33)), 1, 0.1, 1), "more than 32"),
        ];
        for (rule, what) in cases {
            let err = SamplingRule::try_from(&rule).expect_err(what);
            assert!(
                err.to_string().to_lowercase().contains(what),
                "{what}: got {err}"
            );
        }
    }

    #[test]
    fn rejects_huge_patterns() {
        let rule = SamplingRule::new("r", 1, 0.1, 1).with_url_path("*".repeat(MAX_PATTERN_LEN + 1));
        assert!(matches!(
            rule.validate(),
            Err(RuleError::PatternTooLong {
                field: "URLPath",
                ..
            })
        ));
    }

    #[test]
    fn with_attribute_keeps_keys_sorted_and_unique() {
        let rule = SamplingRule::new("r", 1, 0.1, 1)
            .with_attribute("z", "1")
            .with_attribute("a", "2")
            .with_attribute("z", "3");
        assert_eq!(
            rule.attributes,
            vec![("a".into(), "2".into()), ("z".into(), "3".into())]
        );
    }
}
