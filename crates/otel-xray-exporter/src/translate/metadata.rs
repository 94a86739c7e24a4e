//! `metadata`: everything not mapped elsewhere, never indexed.
//!
//! * `default`: every span attribute no block used, under its own key with its
//!   typed value (empty strings skipped, as the collector does); would-be
//!   annotations that could not be one; on segments, every resource attribute
//!   as `otel.resource.<key>` (configurable).
//! * `aws.xray.metadata.<ns>` attributes holding a JSON object become namespace
//!   `<ns>` (`default` merges into `default`); anything else stays in `default`
//!   under the full key.
//! * `otel`: `events` — the span events that are not exceptions, each
//!   `{"name", "time" (epoch s), "attributes"}` (the collector drops them) — and
//!   the SDK's `dropped_attributes_count` / `dropped_events_count` /
//!   `dropped_links_count` when not zero, so nothing disappears unseen.
//!
//! Redacted keys (see [`TranslatorConfig`]) are written with the value
//! `[REDACTED]`.

use std::borrow::Cow;

use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;

use super::annotations::Selected;
use super::attrs::SpanAttrs;
use super::keys::{SpanKey, METADATA_PREFIX, OTEL_NAMESPACE};
use super::resource::ResourceAttrs;
use crate::config::REDACTED;
use crate::segment::{epoch_seconds, Entry, EntryKey, EntryValue, Metadata};
use crate::translate_stats::TranslationCounts;
use crate::TranslatorConfig;

/// The metadata of a span.
#[allow(clippy::too_many_arguments)]
pub(crate) fn make_metadata<'a>(
    span: &'a SpanData,
    attrs: &SpanAttrs<'a>,
    res: &ResourceAttrs<'a>,
    is_segment: bool,
    config: &TranslatorConfig,
    selected: &mut Selected<'a>,
    tally: &mut TranslationCounts,
) -> Metadata<'a> {
    let resource_len = if is_segment && config.resource_in_metadata {
        res.resource.len()
    } else {
        0
    };
    // Room for what can come here, not for every attribute: on a segment with
    // the HTTP attributes, a list sized for all of them (26 entries, about
    // 2 KiB) is too large for malloc's per-thread cache (1 KiB), and
    // allocating and freeing it outside that cache costs more: 20,484 ->
    // 20,291 instructions per span (callgrind, `benches/translate.rs`
    // `http_server_no_events`). A JSON object in `aws.xray.metadata.default`
    // can still grow the list.
    let mut default: Vec<Entry<'a>> =
        Vec::with_capacity(attrs.unconsumed() + selected.overflow.len() + resource_len);
    let mut extra: Vec<(Cow<'a, str>, Vec<Entry<'a>>)> = Vec::new();
    for (i, kv) in attrs.all.iter().enumerate() {
        if attrs.is_consumed(i) {
            continue;
        }
        let key = kv.key.as_str();
        let ns = attrs
            .xray_prefixed
            .then(|| key.strip_prefix(METADATA_PREFIX))
            .flatten();
        if let Some(ns) = ns {
            if let Some(object) = json_object(&kv.value) {
                if config.is_redacted(key) {
                    tally.redactions += 1;
                    default.push(redacted(key));
                    continue;
                }
                let entries = object.into_iter().map(|(k, v)| Entry {
                    key: EntryKey::Plain(Cow::Owned(k)),
                    value: EntryValue::Json(v),
                });
                if ns.eq_ignore_ascii_case("default") {
                    default.extend(entries);
                } else {
                    merge_namespace(&mut extra, Cow::Borrowed(ns), entries);
                }
                continue;
            }
        }
        if matches!(&kv.value, Value::String(s) if s.as_str().is_empty()) {
            continue;
        }
        push_in_capacity(&mut default, entry(kv, config, tally));
    }
    default.append(&mut selected.overflow);

    if is_segment && config.resource_in_metadata {
        // Sorted, so the same resource always gives the same document (diffable
        // CLI output, stable tests).
        for (k, metadata_key, v, redacted) in res.sorted(config) {
            if selected.resource_keys.contains(&k)
                || matches!(v, Value::String(s) if s.as_str().is_empty())
            {
                continue;
            }
            let value = if redacted {
                tally.redactions += 1;
                EntryValue::Str(Cow::Borrowed(REDACTED))
            } else {
                EntryValue::Attribute(v)
            };
            default.push(Entry {
                key: EntryKey::Plain(metadata_key),
                value,
            });
        }
    }

    let otel = otel_namespace(span, attrs, config, tally);
    if !otel.is_empty() {
        merge_namespace(&mut extra, Cow::Borrowed(OTEL_NAMESPACE), otel);
    }
    Metadata {
        default,
        namespaces: extra,
    }
}

/// `list.push(e)`, written so that the common case (room left) has no call in
/// it: then `e` stays in registers and is stored once, instead of being built
/// on the stack and copied, which stalls on the stores not yet landed.
#[inline]
fn push_in_capacity<'a>(list: &mut Vec<Entry<'a>>, e: Entry<'a>) {
    if list.len() < list.capacity() {
        list.push(e);
    } else {
        push_growing(list, e);
    }
}

#[cold]
#[inline(never)]
fn push_growing<'a>(list: &mut Vec<Entry<'a>>, e: Entry<'a>) {
    list.push(e);
}

/// Adds `entries` to namespace `name`, so no namespace is written twice.
fn merge_namespace<'a>(
    namespaces: &mut Vec<(Cow<'a, str>, Vec<Entry<'a>>)>,
    name: Cow<'a, str>,
    entries: impl IntoIterator<Item = Entry<'a>>,
) {
    match namespaces.iter_mut().find(|(n, _)| *n == name) {
        Some((_, have)) => have.extend(entries),
        None => namespaces.push((name, entries.into_iter().collect())),
    }
}

fn json_object(v: &Value) -> Option<serde_json::Map<String, serde_json::Value>> {
    match v {
        Value::String(s) => serde_json::from_str(s.as_str()).ok(),
        _ => None,
    }
}

fn redacted(key: &str) -> Entry<'_> {
    Entry {
        key: EntryKey::Plain(Cow::Borrowed(key)),
        value: EntryValue::Str(Cow::Borrowed(REDACTED)),
    }
}

/// An attribute as a metadata entry, redacted when its key says so.
pub(crate) fn entry<'a>(
    kv: &'a KeyValue,
    config: &TranslatorConfig,
    tally: &mut TranslationCounts,
) -> Entry<'a> {
    let key = kv.key.as_str();
    if config.is_redacted(key) {
        tally.redactions += 1;
        return redacted(key);
    }
    Entry {
        key: EntryKey::Plain(Cow::Borrowed(key)),
        value: EntryValue::Attribute(&kv.value),
    }
}

/// Non-exception events and the SDK's drop counts.
fn otel_namespace<'a>(
    span: &'a SpanData,
    attrs: &SpanAttrs<'a>,
    config: &TranslatorConfig,
    tally: &mut TranslationCounts,
) -> Vec<Entry<'a>> {
    let mut out = Vec::new();
    let aws_api = attrs.str(SpanKey::RpcSystem) == Some("aws-api");
    if config.events_in_metadata && !span.events.is_empty() {
        let events: Vec<EntryValue<'a>> = span
            .events
            .iter()
            .filter(|e| e.name != "exception" && !(aws_api && e.name == "HTTP request failure"))
            .map(|e| {
                let mut fields = vec![
                    Entry {
                        key: EntryKey::Plain(Cow::Borrowed("name")),
                        value: EntryValue::Str(Cow::Borrowed(e.name.as_ref())),
                    },
                    Entry {
                        key: EntryKey::Plain(Cow::Borrowed("time")),
                        value: EntryValue::Time(epoch_seconds(e.timestamp)),
                    },
                ];
                if !e.attributes.is_empty() {
                    fields.push(Entry {
                        key: EntryKey::Plain(Cow::Borrowed("attributes")),
                        value: EntryValue::Map(
                            e.attributes
                                .iter()
                                .map(|kv| entry(kv, config, tally))
                                .collect(),
                        ),
                    });
                }
                EntryValue::Map(fields)
            })
            .collect();
        if !events.is_empty() {
            out.push(Entry {
                key: EntryKey::Plain(Cow::Borrowed("events")),
                value: EntryValue::List(events),
            });
        }
    }
    for (name, n) in [
        ("dropped_attributes_count", span.dropped_attributes_count),
        ("dropped_events_count", span.events.dropped_count),
        ("dropped_links_count", span.links.dropped_count),
    ] {
        if n != 0 {
            out.push(Entry {
                key: EntryKey::Plain(Cow::Borrowed(name)),
                value: EntryValue::Int(i64::from(n)),
            });
        }
    }
    out
}
