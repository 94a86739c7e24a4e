//! The `aws.xray.annotation.<key>` → `<key>` + `aws.xray.annotations` rewrite.

use std::fmt;
use std::sync::Arc;

use opentelemetry::{Array, Key, KeyValue, StringValue, Value};

// `aws.xray.annotation.<key>` asks for `<key>` to be an X-Ray annotation (an
// otel-xray convention, not an upstream one); the collector's X-Ray exporter
// reads the list of keys to annotate from `aws.xray.annotations`.
use crate::translate::keys::{ANNOTATIONS_LIST_KEY, ANNOTATION_PREFIX};

/// What to do when `aws.xray.annotation.<key>` and a plain `<key>` attribute are
/// both on a span with **different** values.
///
/// The collector path cannot keep both as X-Ray does on the direct path
/// (annotation *and* metadata under the same name): an attribute listed in
/// `aws.xray.annotations` becomes an annotation and leaves metadata. So one of the
/// two values must give way, or the rewrite must be skipped. Equal values are never
/// a conflict: the prefixed duplicate is folded into `<key>`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ConflictPolicy {
    /// Leave both attributes exactly as they are and do not list `<key>`: nothing is
    /// lost, the collector puts both into metadata, and the conflict is counted in
    /// [`AnnotationRewriteStats::conflicts_kept`]. The default, because a conflict
    /// usually means two pieces of code disagree, and the data to diagnose that
    /// should reach the backend.
    #[default]
    KeepBoth,
    /// The explicit annotation wins: every plain `<key>` whose value no
    /// `aws.xray.annotation.<key>` carries is removed (counted in
    /// [`AnnotationRewriteStats::plain_overwritten`]) and `<key>` is listed, so the
    /// annotation stays indexed.
    AnnotationWins,
}

/// Tallies of one or many rewrites. Every attribute the rewrite does not turn into
/// an annotation, or removes, is counted in exactly one field.
///
/// Returned per span by [`rewrite_annotations`]; the totals over all exports are in
/// [`CollectorStats::annotations`](super::CollectorStats::annotations).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AnnotationRewriteStats {
    /// Spans that carried at least one `aws.xray.annotation.*` attribute.
    pub spans: u64,
    /// `aws.xray.annotation.<key>` attributes renamed to `<key>` and listed.
    pub rewritten: u64,
    /// `aws.xray.annotation.<key>` attributes whose value `<key>` already had: the
    /// prefixed copy was removed (no value lost) and `<key>` listed.
    pub already_present: u64,
    /// Conflicts left untouched under [`ConflictPolicy::KeepBoth`].
    pub conflicts_kept: u64,
    /// Plain `<key>` attributes removed under [`ConflictPolicy::AnnotationWins`].
    pub plain_overwritten: u64,
    /// `aws.xray.annotation.<key>` attributes left untouched because the value is
    /// an array: X-Ray annotations are string, number or boolean only, and the
    /// collector silently drops a listed non-scalar attribute. Unlisted, the
    /// collector keeps it as metadata.
    pub not_annotatable: u64,
    /// `aws.xray.annotation.<key>` attributes left untouched because `<key>` is
    /// empty, is `aws.xray.annotations`, or itself starts with the prefix (renaming
    /// would hand the attribute to a second round of interpretation).
    pub invalid_keys: u64,
    /// `aws.xray.annotations` attributes that were not a list of strings and were
    /// replaced by the rewritten list. The collector ignores such a value anyway.
    pub malformed_lists_replaced: u64,
}

impl AnnotationRewriteStats {
    /// Adds `other` field by field (saturating).
    pub fn merge(&mut self, other: &Self) {
        self.spans = self.spans.saturating_add(other.spans);
        self.rewritten = self.rewritten.saturating_add(other.rewritten);
        self.already_present = self.already_present.saturating_add(other.already_present);
        self.conflicts_kept = self.conflicts_kept.saturating_add(other.conflicts_kept);
        self.plain_overwritten = self
            .plain_overwritten
            .saturating_add(other.plain_overwritten);
        self.not_annotatable = self.not_annotatable.saturating_add(other.not_annotatable);
        self.invalid_keys = self.invalid_keys.saturating_add(other.invalid_keys);
        self.malformed_lists_replaced = self
            .malformed_lists_replaced
            .saturating_add(other.malformed_lists_replaced);
    }

    /// True when something was skipped, removed or replaced — the cases worth a look.
    pub fn has_issues(&self) -> bool {
        [
            self.conflicts_kept,
            self.plain_overwritten,
            self.not_annotatable,
            self.invalid_keys,
            self.malformed_lists_replaced,
        ]
        .iter()
        .any(|&n| n > 0)
    }
}

impl fmt::Display for AnnotationRewriteStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "spans={} rewritten={} already_present={} conflicts_kept={} plain_overwritten={} \
             not_annotatable={} invalid_keys={} malformed_lists_replaced={}",
            self.spans,
            self.rewritten,
            self.already_present,
            self.conflicts_kept,
            self.plain_overwritten,
            self.not_annotatable,
            self.invalid_keys,
            self.malformed_lists_replaced
        )
    }
}

/// What happens to the attribute at one index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Keep,
    /// A prefixed attribute becomes `<key>`.
    Rename,
    Remove,
}

/// Rewrites one span's attributes in place: every annotatable
/// `aws.xray.annotation.<key>` becomes `<key>`, and `<key>` is added (once) to the
/// `aws.xray.annotations` list, merged with any list already there. Returns what
/// happened; see [`AnnotationRewriteStats`] for every case that is not a plain
/// rename, and [`ConflictPolicy`] for clashes with an existing `<key>`.
///
/// Keys are not sanitised: the collector applies its own annotation-key rule
/// (non-alphanumerics → `_`, dots kept while its `exporter.xray.allowDot` gate is
/// on, the default), and the attribute it looks up is the one named in the list,
/// so `<key>` must stay exactly as written. Order of the other attributes is kept.
/// Spans without any prefixed attribute are not touched (and allocate nothing).
///
/// ```
/// use opentelemetry::{Array, KeyValue, Value};
/// use otel_xray_exporter::{rewrite_annotations, ConflictPolicy};
///
/// let mut attributes = vec![
///     KeyValue::new("aws.xray.annotation.customer", "alice"),
///     KeyValue::new("http.route", "/orders"),
/// ];
/// let stats = rewrite_annotations(&mut attributes, ConflictPolicy::KeepBoth);
/// assert_eq!(stats.rewritten, 1);
/// assert_eq!(attributes[0], KeyValue::new("customer", "alice"));
/// assert_eq!(attributes[1], KeyValue::new("http.route", "/orders"));
/// assert_eq!(
///     attributes[2],
///     KeyValue::new("aws.xray.annotations", Value::Array(Array::String(vec!["customer".into()]))),
/// );
/// ```
pub fn rewrite_annotations(
    attributes: &mut Vec<KeyValue>,
    policy: ConflictPolicy,
) -> AnnotationRewriteStats {
    let mut stats = AnnotationRewriteStats::default();
    if !attributes.iter().any(|kv| is_prefixed(&kv.key)) {
        return stats;
    }
    stats.spans = 1;

    let mut fates = vec![Fate::Keep; attributes.len()];

    if policy == ConflictPolicy::AnnotationWins {
        // Decided up front so the outcome does not depend on attribute order: a
        // plain `<key>` goes only if no `aws.xray.annotation.<key>` carries its value
        // (the prefixed key may repeat with several values; all of them are kept).
        for (j, plain) in attributes.iter().enumerate() {
            let key = plain.key.as_str();
            let mut annotated = false;
            let mut same = false;
            for kv in attributes
                .iter()
                .filter(|kv| annotation_target(kv) == Some(key))
            {
                annotated = true;
                same |= same_value(&kv.value, &plain.value);
            }
            if annotated && !same {
                fates[j] = Fate::Remove;
                stats.plain_overwritten += 1;
            }
        }
    }

    // Targets to add to the list, in attribute order, without repeats; one
    // allocation per key, shared by the renamed attribute and its list entry
    // (made here, not collected afterwards: -255 instructions per span with one
    // annotation, callgrind on `benches/otlp.rs`).
    let mut new_keys: Vec<Arc<str>> = Vec::new();
    for (i, kv) in attributes.iter().enumerate() {
        let Some(target) = kv.key.as_str().strip_prefix(ANNOTATION_PREFIX) else {
            continue;
        };
        if !is_valid_target(target) {
            stats.invalid_keys += 1;
            continue;
        }
        if !is_annotatable(&kv.value) {
            stats.not_annotatable += 1;
            continue;
        }
        // Only plain attributes still kept take part: another prefixed attribute
        // with the same target is a duplicate of this very key, which the input
        // already had.
        let mut equal_plain = false;
        let mut differing_plain = false;
        let plain = attributes
            .iter()
            .zip(&fates)
            .filter(|(o, f)| **f == Fate::Keep && o.key.as_str() == target);
        for (other, _) in plain {
            if same_value(&other.value, &kv.value) {
                equal_plain = true;
            } else {
                differing_plain = true;
            }
        }
        if differing_plain && policy == ConflictPolicy::KeepBoth {
            stats.conflicts_kept += 1;
            tracing::debug!(
                key = target,
                "aws.xray.annotation.{target} conflicts with a plain attribute; both kept, not annotated"
            );
            continue;
        }
        // An identical (target, value) pair renamed earlier in this pass counts too.
        let renamed_before = attributes[..i]
            .iter()
            .zip(&fates)
            .any(|(o, f)| *f == Fate::Rename && o.key == kv.key && same_value(&o.value, &kv.value));
        if equal_plain || renamed_before {
            fates[i] = Fate::Remove;
            stats.already_present += 1;
        } else {
            fates[i] = Fate::Rename;
            stats.rewritten += 1;
        }
        if !new_keys.iter().any(|key| **key == *target) {
            new_keys.push(Arc::from(target));
        }
    }

    if new_keys.is_empty() {
        return stats;
    }

    // Merge every existing list (the SDK does not de-duplicate keys) into one.
    let mut list: Vec<StringValue> = Vec::new();
    let mut list_position = None;
    for (i, kv) in attributes.iter().enumerate() {
        if kv.key.as_str() != ANNOTATIONS_LIST_KEY {
            continue;
        }
        list_position.get_or_insert(i);
        fates[i] = Fate::Remove;
        match &kv.value {
            Value::Array(Array::String(items)) => list.extend(items.iter().cloned()),
            _ => stats.malformed_lists_replaced += 1,
        }
    }
    for key in &new_keys {
        if !list.iter().any(|existing| existing.as_str() == &**key) {
            list.push(StringValue::from(Arc::clone(key)));
        }
    }
    let list_kv = KeyValue::new(ANNOTATIONS_LIST_KEY, Value::Array(Array::String(list)));

    // In place: renamed keys are swapped, removed attributes dropped, and the
    // list goes where the first old list was (else last). No second vector of
    // attributes, and no attribute moves in the common case of a rename only
    // (callgrind, `benches/otlp.rs` with `OTLP_PROFILE=ours`: 38.25M -> 38.04M
    // instructions per 1,000-span export).
    for (kv, fate) in attributes.iter_mut().zip(&fates) {
        if *fate == Fate::Rename {
            let target = &kv.key.as_str()[ANNOTATION_PREFIX.len()..];
            let key = new_keys.iter().find(|key| &***key == target).map_or_else(
                || Key::new(target.to_owned()),
                |key| Key::from(Arc::clone(key)),
            );
            kv.key = key;
        }
    }
    let list_index = list_position.map_or(usize::MAX, |position| {
        fates[..position]
            .iter()
            .filter(|f| **f != Fate::Remove)
            .count()
    });
    if fates.contains(&Fate::Remove) {
        // `retain` visits every attribute once, in order.
        let mut fates = fates.iter();
        attributes.retain(|_| fates.next() != Some(&Fate::Remove));
    }
    // One more slot, not a doubled vector (peak heap of a 10,000-span OTLP
    // export 9.1 -> 8.7 MiB).
    attributes.reserve_exact(1);
    attributes.insert(list_index.min(attributes.len()), list_kv);
    stats
}

/// `<key>` of an annotatable `aws.xray.annotation.<key>` attribute.
fn annotation_target(kv: &KeyValue) -> Option<&str> {
    kv.key
        .as_str()
        .strip_prefix(ANNOTATION_PREFIX)
        .filter(|target| is_valid_target(target) && is_annotatable(&kv.value))
}

/// Empty, the list key, or prefixed again: renaming would lose or re-interpret it.
fn is_valid_target(target: &str) -> bool {
    !target.is_empty() && target != ANNOTATIONS_LIST_KEY && !target.starts_with(ANNOTATION_PREFIX)
}

fn is_prefixed(key: &Key) -> bool {
    key.as_str().starts_with(ANNOTATION_PREFIX)
}

/// String, integer, float and boolean: the value kinds X-Ray annotations hold.
fn is_annotatable(value: &Value) -> bool {
    matches!(
        value,
        Value::Bool(_) | Value::I64(_) | Value::F64(_) | Value::String(_)
    )
}

/// Equality where a float equals itself bit for bit, so `NaN` is not a conflict
/// with the same `NaN`.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::F64(x), Value::F64(y)) => x.to_bits() == y.to_bits(),
        _ => a == b,
    }
}
