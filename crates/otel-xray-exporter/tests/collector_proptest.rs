//! Properties of `rewrite_annotations` over arbitrary attribute sets: it never
//! panics, every annotatable `aws.xray.annotation.*` key is listed exactly once, no
//! attribute is lost except the counted overwrites, every prefixed attribute is
//! accounted for, and a second pass changes nothing.
#![cfg(feature = "collector")]

use std::collections::HashMap;

use opentelemetry::{Array, Key, KeyValue, StringValue, Value};
use otel_xray_exporter::{
    rewrite_annotations, ConflictPolicy, ANNOTATIONS_LIST_KEY, ANNOTATION_PREFIX,
};
use proptest::prelude::*;

/// Few distinct names, so prefixed keys, plain keys and lists collide often.
const NAMES: &[&str] = &["a", "k", "order.id", "région", "", "aws.xray.annotations"];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(NAMES).prop_map(str::to_owned),
        4 => proptest::sample::select(NAMES).prop_map(|n| format!("{ANNOTATION_PREFIX}{n}")),
        1 => Just(format!("{ANNOTATION_PREFIX}{ANNOTATION_PREFIX}a")),
        2 => Just(ANNOTATIONS_LIST_KEY.to_owned()),
        1 => Just("aws.xray.annotation".to_owned()),
        2 => "\\PC{0,8}",
        2 => "\\PC{0,8}".prop_map(|n| format!("{ANNOTATION_PREFIX}{n}")),
    ]
}

fn string_list() -> impl Strategy<Value = Vec<StringValue>> {
    proptest::collection::vec(
        prop_oneof![
            proptest::sample::select(NAMES).prop_map(str::to_owned),
            "\\PC{0,6}",
        ]
        .prop_map(StringValue::from),
        0..4,
    )
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        (-3_i64..3).prop_map(Value::I64),
        any::<i64>().prop_map(Value::I64),
        prop_oneof![Just(f64::NAN), Just(-0.0), Just(0.0), any::<f64>()].prop_map(Value::F64),
        prop_oneof![Just("v".to_owned()), "\\PC{0,6}"].prop_map(|s| Value::String(s.into())),
        string_list().prop_map(|l| Value::Array(Array::String(l))),
        proptest::collection::vec(any::<i64>(), 0..3).prop_map(|v| Value::Array(Array::I64(v))),
        proptest::collection::vec(any::<f64>(), 0..3).prop_map(|v| Value::Array(Array::F64(v))),
    ]
}

fn attributes() -> impl Strategy<Value = Vec<KeyValue>> {
    proptest::collection::vec(
        (key(), value()).prop_map(|(k, v)| KeyValue::new(Key::new(k), v)),
        0..12,
    )
}

fn policy() -> impl Strategy<Value = ConflictPolicy> {
    prop_oneof![
        Just(ConflictPolicy::KeepBoth),
        Just(ConflictPolicy::AnnotationWins)
    ]
}

/// A comparable form of a value in which a float equals itself bit for bit (NaN included).
fn canon(value: &Value) -> String {
    match value {
        Value::F64(x) => format!("f64:{:016x}", x.to_bits()),
        Value::Array(Array::F64(xs)) => {
            let bits: Vec<String> = xs.iter().map(|x| format!("{:016x}", x.to_bits())).collect();
            format!("[f64]:{}", bits.join(","))
        }
        other => format!("{other:?}"),
    }
}

fn pair(kv: &KeyValue) -> (String, String) {
    (kv.key.as_str().to_owned(), canon(&kv.value))
}

fn target(key: &str) -> Option<&str> {
    key.strip_prefix(ANNOTATION_PREFIX).filter(|t| {
        !t.is_empty() && *t != ANNOTATIONS_LIST_KEY && !t.starts_with(ANNOTATION_PREFIX)
    })
}

fn is_scalar(value: &Value) -> bool {
    !matches!(value, Value::Array(_))
}

/// String entries of every well-formed `aws.xray.annotations` list, counted.
fn list_counts(attributes: &[KeyValue]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for kv in attributes
        .iter()
        .filter(|kv| kv.key.as_str() == ANNOTATIONS_LIST_KEY)
    {
        if let Value::Array(Array::String(items)) = &kv.value {
            for item in items {
                *counts.entry(item.as_str().to_owned()).or_default() += 1;
            }
        }
    }
    counts
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn rewrite_is_total_lossless_and_stable(input in attributes(), policy in policy()) {
        let mut output = input.clone();
        let stats = rewrite_annotations(&mut output, policy);

        let prefixed: Vec<&KeyValue> = input
            .iter()
            .filter(|kv| kv.key.as_str().starts_with(ANNOTATION_PREFIX))
            .collect();
        prop_assert_eq!(stats.spans, u64::from(!prefixed.is_empty()));

        // Every prefixed attribute lands in exactly one tally.
        prop_assert_eq!(
            stats.rewritten + stats.already_present + stats.conflicts_kept
                + stats.not_annotatable + stats.invalid_keys,
            prefixed.len() as u64
        );
        if policy == ConflictPolicy::AnnotationWins {
            prop_assert_eq!(stats.conflicts_kept, 0);
        } else {
            prop_assert_eq!(stats.plain_overwritten, 0);
        }

        let out_pairs: Vec<(String, String)> = output.iter().map(pair).collect();

        // Annotatable prefixed attributes no longer carry the prefix unless kept
        // for a conflict; their key is listed exactly once (or as often as the
        // input list already had it).
        let rewritten_targets: Vec<&str> = prefixed
            .iter()
            .filter(|kv| is_scalar(&kv.value))
            .filter(|kv| !out_pairs.contains(&pair(kv)))
            .filter_map(|kv| target(kv.key.as_str()))
            .collect();
        for kv in prefixed.iter().filter(|kv| out_pairs.contains(&pair(kv))) {
            // Still prefixed: only for an array, an invalid key or a kept conflict.
            prop_assert!(
                !is_scalar(&kv.value)
                    || target(kv.key.as_str()).is_none()
                    || policy == ConflictPolicy::KeepBoth,
                "{:?} left prefixed", kv
            );
        }
        let input_lists = list_counts(&input);
        let output_lists = list_counts(&output);
        for t in &rewritten_targets {
            let before = input_lists.get(*t).copied().unwrap_or(0);
            prop_assert_eq!(output_lists.get(*t).copied().unwrap_or(0), before.max(1), "key {:?}", t);
        }
        if !rewritten_targets.is_empty() {
            let lists = output.iter().filter(|kv| kv.key.as_str() == ANNOTATIONS_LIST_KEY).count();
            prop_assert_eq!(lists, 1, "lists merged into one");
            // Nothing from a well-formed input list is dropped.
            for (entry, n) in &input_lists {
                prop_assert!(output_lists.get(entry).copied().unwrap_or(0) >= *n);
            }
        }

        // No attribute lost: each input pair survives as itself or renamed, apart
        // from lists (checked above) and the counted AnnotationWins overwrites.
        let mut missing_plain = 0_u64;
        for kv in &input {
            let key = kv.key.as_str();
            if key == ANNOTATIONS_LIST_KEY {
                continue;
            }
            let (k, v) = pair(kv);
            let renamed = target(key).map(|t| (t.to_owned(), v.clone()));
            let present = out_pairs.contains(&(k.clone(), v.clone()))
                || renamed.is_some_and(|r| out_pairs.contains(&r));
            if !present {
                prop_assert!(!key.starts_with(ANNOTATION_PREFIX), "prefixed {:?} lost", kv);
                prop_assert_eq!(policy, ConflictPolicy::AnnotationWins, "plain {:?} lost", kv);
                missing_plain += 1;
            }
        }
        prop_assert_eq!(missing_plain, stats.plain_overwritten);

        // A second pass finds nothing left to do.
        let mut again = output.clone();
        let second = rewrite_annotations(&mut again, policy);
        prop_assert_eq!(format!("{again:?}"), format!("{output:?}"));
        prop_assert_eq!(second.rewritten + second.already_present + second.plain_overwritten, 0);
    }
}
