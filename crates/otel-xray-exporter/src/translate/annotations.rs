//! `annotations`: the indexed, searchable key/value pairs.
//!
//! An attribute becomes an annotation when
//! * its key is `aws.xray.annotation.<key>` — annotation `<key>` (project
//!   convention, not the collector's);
//! * it is listed in the config's indexed attributes (also attributes the
//!   http/aws/sql blocks used, and `otel.resource.<key>` on segments);
//! * it is listed in the span's `aws.xray.annotations` string-list attribute
//!   (the collector's convention; that attribute itself is never exported);
//! * index-all is on (every remaining scalar span attribute, and on segments
//!   every scalar resource attribute as `otel.resource.<key>`).
//!
//! Keys are sanitised to `[A-Za-z0-9_]` (or with dots kept, see
//! [`AnnotationKeyMode`]) and cut to 500 chars; values
//! must be string, number or bool, strings are cut to 1000 chars, non-finite
//! floats become strings. A would-be annotation that cannot be one (list value,
//! empty key, or beyond the 50th) goes to `metadata.default` under its original
//! key and is counted — never dropped.

use std::borrow::Cow;

use opentelemetry::Value;

use super::attrs::SpanAttrs;
use super::keys::{SpanKey, ANNOTATION_PREFIX, METADATA_PREFIX, RESOURCE_PREFIX};
use super::resource::ResourceAttrs;
use crate::config::{AnnotationKeyMode, REDACTED};
use crate::segment::{AnnotationValue, Annotations, Entry, EntryKey, EntryValue};
use crate::text::truncate;
use crate::translate_stats::TranslationCounts;
use crate::TranslatorConfig;

/// X-Ray indexes at most this many annotations per document (per trace, in fact).
pub const MAX_ANNOTATIONS: usize = 50;
/// The schema's annotation key limit, in chars.
pub const MAX_ANNOTATION_KEY_CHARS: usize = 500;
/// The schema's annotation string value limit, in chars.
pub const MAX_ANNOTATION_VALUE_CHARS: usize = 1000;

/// The chosen annotations and what could not be one.
#[derive(Default)]
pub(crate) struct Selected<'a> {
    pub(crate) annotations: Annotations<'a>,
    /// Would-be annotations kept as metadata instead.
    pub(crate) overflow: Vec<Entry<'a>>,
    /// Resource keys that became annotations (kept out of metadata).
    pub(crate) resource_keys: Vec<&'a str>,
}

struct Builder<'c, 'a> {
    config: &'c TranslatorConfig,
    out: Selected<'a>,
}

impl<'a> Builder<'_, 'a> {
    /// Adds `value` as annotation `key`; `attr_key` is the attribute's own key.
    fn add(
        &mut self,
        key: Cow<'a, str>,
        value: &'a Value,
        meta_key: EntryKey<'a>,
        attr_key: &str,
        tally: &mut TranslationCounts,
    ) {
        // A configured key matches the attribute or the annotation name.
        let redacted = self.config.is_redacted(attr_key) || self.config.is_redacted(&key);
        let mode = self.config.annotation_key_mode;
        let (key, changed) = match key {
            Cow::Borrowed(b) => {
                let k = sanitize_annotation_key(b, mode);
                let changed = matches!(k, Some(Cow::Owned(_)));
                (k, changed)
            }
            Cow::Owned(o) => match sanitize_annotation_key(&o, mode) {
                Some(Cow::Borrowed(_)) => (Some(Cow::Owned(o)), false),
                k => (k.map(|k| Cow::Owned(k.into_owned())), true),
            },
        };
        if let Some(k) = &key {
            if self.out.annotations.0.iter().any(|(have, _)| have == k) {
                // Same sanitised key twice: the first wins, the other stays metadata.
                self.overflow(meta_key, value, redacted, tally);
                return;
            }
        }
        let value_ok = annotation_value(value, tally);
        match (key, value_ok) {
            (Some(k), Some(v)) if self.out.annotations.0.len() < MAX_ANNOTATIONS => {
                if changed {
                    tally.annotation_keys_sanitised += 1;
                }
                let v = if redacted {
                    tally.redactions += 1;
                    AnnotationValue::Str(Cow::Borrowed(REDACTED))
                } else {
                    v
                };
                self.out.annotations.0.push((k, v));
            }
            _ => self.overflow(meta_key, value, redacted, tally),
        }
    }

    fn overflow(
        &mut self,
        key: EntryKey<'a>,
        value: &'a Value,
        redacted: bool,
        tally: &mut TranslationCounts,
    ) {
        tally.annotations_to_metadata += 1;
        let value = if redacted {
            tally.redactions += 1;
            EntryValue::Str(Cow::Borrowed(REDACTED))
        } else {
            EntryValue::Attribute(value)
        };
        self.out.overflow.push(Entry { key, value });
    }
}

/// Picks the annotations of a span; marks the attributes used as consumed.
pub(crate) fn make_annotations<'a>(
    attrs: &mut SpanAttrs<'a>,
    res: &ResourceAttrs<'a>,
    is_segment: bool,
    config: &TranslatorConfig,
    tally: &mut TranslationCounts,
) -> Selected<'a> {
    let nothing_to_index = !attrs.xray_prefixed
        && !attrs.has(SpanKey::XrayAnnotations)
        && config.indexed_attributes.is_empty()
        && !config.index_all_attributes;
    if nothing_to_index {
        return Selected::default();
    }
    let mut b = Builder {
        config,
        out: Selected {
            annotations: Annotations::default(),
            overflow: Vec::new(),
            resource_keys: Vec::new(),
        },
    };
    let all = attrs.all;

    let prefixed = if attrs.xray_prefixed { all } else { &[] };
    for (i, kv) in prefixed.iter().enumerate() {
        if let Some(key) = kv.key.as_str().strip_prefix(ANNOTATION_PREFIX) {
            if attrs.is_consumed(i) {
                continue;
            }
            let full = kv.key.as_str();
            b.add(
                Cow::Borrowed(key),
                &kv.value,
                EntryKey::Plain(Cow::Borrowed(full)),
                full,
                tally,
            );
            attrs.consume_index(i);
        }
    }

    let listed = match attrs.get(SpanKey::XrayAnnotations) {
        Some(Value::Array(opentelemetry::Array::String(keys))) => keys.as_slice(),
        _ => &[],
    };
    attrs.consume(SpanKey::XrayAnnotations);
    let configured = config.indexed_attributes.iter().map(|k| (k.as_str(), true));
    let from_span = listed.iter().map(|k| (k.as_str(), false));
    for (key, from_config) in configured.chain(from_span) {
        if let Some(rkey) = key.strip_prefix(RESOURCE_PREFIX) {
            if is_segment && !b.out.resource_keys.contains(&rkey) {
                if let Some((k, v)) = res.resource.iter().find(|(k, _)| k.as_str() == rkey) {
                    if !matches!(v, Value::Array(_)) {
                        b.out.resource_keys.push(k.as_str());
                        b.add(
                            Cow::Owned(key.to_owned()),
                            v,
                            EntryKey::Prefixed(RESOURCE_PREFIX, k.as_str()),
                            key,
                            tally,
                        );
                    }
                }
            }
            continue;
        }
        let Some(i) = attrs.position(key) else {
            continue;
        };
        if attrs.is_consumed(i) && !from_config {
            continue;
        }
        if b.out.annotations.0.iter().any(|(k, _)| k == key) {
            continue;
        }
        let kv = &all[i];
        b.add(
            Cow::Borrowed(kv.key.as_str()),
            &kv.value,
            EntryKey::Plain(Cow::Borrowed(kv.key.as_str())),
            key,
            tally,
        );
        attrs.consume_index(i);
    }

    if config.index_all_attributes {
        for (i, kv) in all.iter().enumerate() {
            let key = kv.key.as_str();
            if attrs.is_consumed(i) || key.starts_with(METADATA_PREFIX) {
                continue;
            }
            b.add(
                Cow::Borrowed(key),
                &kv.value,
                EntryKey::Plain(Cow::Borrowed(key)),
                key,
                tally,
            );
            attrs.consume_index(i);
        }
        if is_segment {
            for (k, v) in res.resource.iter() {
                let k = k.as_str();
                if matches!(v, Value::Array(_)) || b.out.resource_keys.contains(&k) {
                    continue;
                }
                b.out.resource_keys.push(k);
                let key = format!("{RESOURCE_PREFIX}{k}");
                b.add(
                    Cow::Owned(key.clone()),
                    v,
                    EntryKey::Prefixed(RESOURCE_PREFIX, k),
                    &key,
                    tally,
                );
            }
        }
    }
    b.out
}

/// An annotation value, or `None` for lists.
fn annotation_value<'a>(
    v: &'a Value,
    tally: &mut TranslationCounts,
) -> Option<AnnotationValue<'a>> {
    Some(match v {
        Value::String(s) => AnnotationValue::Str(truncate(
            Cow::Borrowed(s.as_str()),
            MAX_ANNOTATION_VALUE_CHARS,
            tally,
        )),
        Value::I64(i) => AnnotationValue::Int(*i),
        Value::F64(f) if f.is_finite() => AnnotationValue::Float(*f),
        Value::F64(f) => AnnotationValue::Str(Cow::Owned(f.to_string())),
        Value::Bool(b) => AnnotationValue::Bool(*b),
        _ => return None,
    })
}

/// `key` made to fit `^[a-zA-Z0-9_]{1,500}$` (dots kept in
/// [`AnnotationKeyMode::KeepDots`]); `None` when empty.
///
/// ```
/// use otel_xray_exporter::{sanitize_annotation_key, AnnotationKeyMode};
/// assert_eq!(sanitize_annotation_key("http.method", AnnotationKeyMode::Underscore).unwrap(), "http_method");
/// assert_eq!(sanitize_annotation_key("Key.1", AnnotationKeyMode::KeepDots).unwrap(), "Key.1");
/// assert_eq!(sanitize_annotation_key("ключ", AnnotationKeyMode::Underscore).unwrap(), "____");
/// assert!(sanitize_annotation_key("", AnnotationKeyMode::Underscore).is_none());
/// ```
pub fn sanitize_annotation_key(key: &str, mode: AnnotationKeyMode) -> Option<Cow<'_, str>> {
    if key.is_empty() {
        return None;
    }
    let ok = |c: char| {
        c.is_ascii_alphanumeric() || c == '_' || (c == '.' && mode == AnnotationKeyMode::KeepDots)
    };
    if key.len() <= MAX_ANNOTATION_KEY_CHARS && key.chars().all(ok) {
        return Some(Cow::Borrowed(key));
    }
    Some(Cow::Owned(
        key.chars()
            .take(MAX_ANNOTATION_KEY_CHARS)
            .map(|c| if ok(c) { c } else { '_' })
            .collect(),
    ))
}
