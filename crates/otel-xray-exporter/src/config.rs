//! What the translator does with attributes: indexing, metadata, redaction, size.

use crate::limits::MAX_SEGMENT_BYTES;

/// How annotation keys are made to fit X-Ray's key rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AnnotationKeyMode {
    /// Every character outside `[A-Za-z0-9_]` becomes `_` (`http.method` → `http_method`).
    /// The only mode the official schema accepts. The default.
    #[default]
    Underscore,
    /// Keep `.` as the collector does by default (`exporter.xray.allowDot`); the
    /// X-Ray service accepts it, the 2017 schema does not.
    KeepDots,
}

/// The header names (lower-case) whose `http.request.header.<name>` /
/// `http.response.header.<name>` attributes are redacted by default.
///
/// Any header whose name contains `api-key`, `apikey`, `api_key`, `token`,
/// `secret` or `password` is redacted too.
pub const DEFAULT_REDACTED_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "x-amz-security-token",
];

/// The text that replaces a redacted value.
pub const REDACTED: &str = "[REDACTED]";

/// Translator settings. Build with [`TranslatorConfig::builder`]; the
/// [`Default`] is what most services want.
///
/// ```
/// use otel_xray_exporter::{AnnotationKeyMode, TranslatorConfig};
///
/// let config = TranslatorConfig::builder()
///     .indexed_attribute("tenant.id")
///     .annotation_key_mode(AnnotationKeyMode::Underscore)
///     .redact_attribute("db.password")
///     .build();
/// assert!(config.redaction());
/// ```
#[derive(Debug, Clone)]
pub struct TranslatorConfig {
    pub(crate) indexed_attributes: Vec<String>,
    pub(crate) index_all_attributes: bool,
    pub(crate) annotation_key_mode: AnnotationKeyMode,
    pub(crate) resource_in_metadata: bool,
    pub(crate) events_in_metadata: bool,
    pub(crate) redaction: bool,
    pub(crate) redacted_headers: Vec<String>,
    pub(crate) redacted_attributes: Vec<String>,
    pub(crate) max_document_bytes: usize,
    pub(crate) metadata_string_chars: usize,
    pub(crate) log_groups: Vec<String>,
    pub(crate) lambda_subsegments: bool,
}

impl Default for TranslatorConfig {
    fn default() -> Self {
        TranslatorConfig {
            indexed_attributes: Vec::new(),
            index_all_attributes: false,
            annotation_key_mode: AnnotationKeyMode::Underscore,
            resource_in_metadata: true,
            events_in_metadata: true,
            redaction: true,
            redacted_headers: DEFAULT_REDACTED_HEADERS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            redacted_attributes: Vec::new(),
            max_document_bytes: MAX_SEGMENT_BYTES,
            metadata_string_chars: 1024,
            log_groups: Vec::new(),
            lambda_subsegments: false,
        }
    }
}

impl TranslatorConfig {
    /// A builder starting from the defaults.
    pub fn builder() -> TranslatorConfigBuilder {
        TranslatorConfigBuilder(TranslatorConfig::default())
    }

    /// Attribute keys that always become annotations.
    pub fn indexed_attributes(&self) -> &[String] {
        &self.indexed_attributes
    }

    /// Whether every scalar attribute becomes an annotation.
    pub fn index_all_attributes(&self) -> bool {
        self.index_all_attributes
    }

    /// How annotation keys are sanitised.
    pub fn annotation_key_mode(&self) -> AnnotationKeyMode {
        self.annotation_key_mode
    }

    /// Whether secrets are redacted.
    pub fn redaction(&self) -> bool {
        self.redaction
    }

    /// The largest document [`translate_json`](crate::Translator::translate_json) returns, in bytes.
    pub fn max_document_bytes(&self) -> usize {
        self.max_document_bytes
    }

    /// Whether spans under a remote parent become subsegments of it (see
    /// [`TranslatorConfigBuilder::lambda_subsegments`]).
    pub fn lambda_subsegments(&self) -> bool {
        self.lambda_subsegments
    }

    /// True if the attribute `key` must not be exported as is.
    pub(crate) fn is_redacted(&self, key: &str) -> bool {
        if !self.redaction {
            return false;
        }
        let header = key
            .strip_prefix("http.request.header.")
            .or_else(|| key.strip_prefix("http.response.header."));
        if let Some(name) = header {
            return self.is_secret_header(name);
        }
        self.redacted_attributes.iter().any(|k| k == key)
    }

    fn is_secret_header(&self, name: &str) -> bool {
        if self
            .redacted_headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name))
        {
            return true;
        }
        const SECRET_PARTS: &[&str] = &[
            "api-key", "apikey", "api_key", "token", "secret", "password",
        ];
        let lower = name.to_ascii_lowercase();
        SECRET_PARTS.iter().any(|p| lower.contains(p))
    }
}

/// Builds a [`TranslatorConfig`].
#[derive(Debug, Clone)]
pub struct TranslatorConfigBuilder(TranslatorConfig);

impl TranslatorConfigBuilder {
    /// Always turn the attribute `key` into an annotation (the collector's
    /// `indexed_attributes`). Works for attributes the http/aws/sql blocks consume,
    /// and for `otel.resource.<key>` on segments.
    pub fn indexed_attribute(mut self, key: impl Into<String>) -> Self {
        self.0.indexed_attributes.push(key.into());
        self
    }

    /// Replace the indexed attribute list.
    pub fn indexed_attributes<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.0.indexed_attributes = keys.into_iter().map(Into::into).collect();
        self
    }

    /// Turn every scalar attribute into an annotation (the collector's
    /// `index_all_attributes`); the 50-annotation limit still applies.
    pub fn index_all_attributes(mut self, on: bool) -> Self {
        self.0.index_all_attributes = on;
        self
    }

    /// How annotation keys are sanitised (default [`AnnotationKeyMode::Underscore`]).
    pub fn annotation_key_mode(mut self, mode: AnnotationKeyMode) -> Self {
        self.0.annotation_key_mode = mode;
        self
    }

    /// Copy resource attributes into segments' `metadata.default` as
    /// `otel.resource.<key>`, as the collector does (default on).
    pub fn resource_in_metadata(mut self, on: bool) -> Self {
        self.0.resource_in_metadata = on;
        self
    }

    /// Write non-exception span events to `metadata.otel.events` (default on).
    pub fn events_in_metadata(mut self, on: bool) -> Self {
        self.0.events_in_metadata = on;
        self
    }

    /// Turn all redaction off (default on). Only for trusted, secret-free telemetry.
    pub fn redaction(mut self, on: bool) -> Self {
        self.0.redaction = on;
        self
    }

    /// Also redact the header `name` (case-insensitive) in
    /// `http.request.header.<name>` / `http.response.header.<name>` attributes.
    pub fn redact_header(mut self, name: impl Into<String>) -> Self {
        self.0.redacted_headers.push(name.into());
        self
    }

    /// Redact the attribute `key` (exact match) wherever it would be exported.
    pub fn redact_attribute(mut self, key: impl Into<String>) -> Self {
        self.0.redacted_attributes.push(key.into());
        self
    }

    /// The largest document, in bytes (default and maximum [`MAX_SEGMENT_BYTES`];
    /// values under 4 KiB are raised to 4 KiB so a minimal document always fits).
    /// A UDP transport must fit header + document in one datagram: with the
    /// 30-byte daemon header over IPv4 (65,507-byte payload limit) that is
    /// `max_document_bytes(65_507 - 30)`.
    pub fn max_document_bytes(mut self, bytes: usize) -> Self {
        self.0.max_document_bytes = bytes.clamp(4096, MAX_SEGMENT_BYTES);
        self
    }

    /// Metadata strings longer than this many chars are truncated first when a
    /// document is over the size limit (default 1024).
    pub fn metadata_string_chars(mut self, chars: usize) -> Self {
        self.0.metadata_string_chars = chars.max(16);
        self
    }

    /// CloudWatch log groups used when the resource names none.
    pub fn log_group(mut self, name: impl Into<String>) -> Self {
        self.0.log_groups.push(name.into());
        self
    }

    /// Translate a SERVER, CONSUMER or INTERNAL span whose parent is remote (in
    /// AWS Lambda: the facade segment named by `_X_AMZN_TRACE_ID`) as an
    /// INTERNAL subsegment of that parent rather than a segment of its own
    /// (default off). Lambda owns the function's segment; a second segment
    /// would show up as a separate node instead of nesting under the
    /// invocation. `XrayExporterBuilder::for_lambda` turns this on.
    pub fn lambda_subsegments(mut self, on: bool) -> Self {
        self.0.lambda_subsegments = on;
        self
    }

    /// The finished configuration.
    pub fn build(self) -> TranslatorConfig {
        self.0
    }
}
