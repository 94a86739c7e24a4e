//! The rewrite rules of `rewrite_annotations`, case by case.
#![cfg(feature = "collector")]

use opentelemetry::{Array, KeyValue, StringValue, Value};
use otel_xray_exporter::{rewrite_annotations, AnnotationRewriteStats, ConflictPolicy};

fn list(keys: &[&'static str]) -> KeyValue {
    KeyValue::new(
        "aws.xray.annotations",
        Value::Array(Array::String(
            keys.iter().map(|k| StringValue::from(*k)).collect(),
        )),
    )
}

fn rewrite(
    mut attributes: Vec<KeyValue>,
    policy: ConflictPolicy,
) -> (Vec<KeyValue>, AnnotationRewriteStats) {
    let stats = rewrite_annotations(&mut attributes, policy);
    (attributes, stats)
}

#[test]
fn spans_without_the_prefix_are_untouched() {
    let input = vec![
        KeyValue::new("http.route", "/"),
        list(&["http.route"]),
        KeyValue::new("aws.xray.annotationx", "not the prefix"),
        KeyValue::new("aws.xray.annotations.extra", 1),
    ];
    let (out, stats) = rewrite(input.clone(), ConflictPolicy::KeepBoth);
    assert_eq!(out, input);
    assert_eq!(stats, AnnotationRewriteStats::default());
}

#[test]
fn scalar_values_are_renamed_in_place_and_listed_once() {
    let (out, stats) = rewrite(
        vec![
            KeyValue::new("aws.xray.annotation.s", "v"),
            KeyValue::new("other", 1),
            KeyValue::new("aws.xray.annotation.i", -4_i64),
            KeyValue::new("aws.xray.annotation.f", 1.25),
            KeyValue::new("aws.xray.annotation.b", false),
        ],
        ConflictPolicy::KeepBoth,
    );
    assert_eq!(
        out,
        vec![
            KeyValue::new("s", "v"),
            KeyValue::new("other", 1),
            KeyValue::new("i", -4_i64),
            KeyValue::new("f", 1.25),
            KeyValue::new("b", false),
            list(&["s", "i", "f", "b"]),
        ]
    );
    assert_eq!(stats.spans, 1);
    assert_eq!(stats.rewritten, 4);
    assert!(!stats.has_issues());
}

#[test]
fn existing_lists_are_merged_at_the_first_list_position() {
    let (out, stats) = rewrite(
        vec![
            KeyValue::new("a", 1),
            list(&["a", "k"]),
            KeyValue::new("aws.xray.annotation.k", "v"),
            list(&["b"]),
            KeyValue::new("aws.xray.annotation.n", "w"),
        ],
        ConflictPolicy::KeepBoth,
    );
    assert_eq!(
        out,
        vec![
            KeyValue::new("a", 1),
            list(&["a", "k", "b", "n"]),
            KeyValue::new("k", "v"),
            KeyValue::new("n", "w"),
        ]
    );
    assert_eq!(stats.rewritten, 2);
    assert_eq!(stats.malformed_lists_replaced, 0);
}

#[test]
fn a_malformed_list_is_replaced_and_counted() {
    let (out, stats) = rewrite(
        vec![
            KeyValue::new("aws.xray.annotations", "k"),
            KeyValue::new("aws.xray.annotation.k", "v"),
        ],
        ConflictPolicy::KeepBoth,
    );
    assert_eq!(out, vec![list(&["k"]), KeyValue::new("k", "v")]);
    assert_eq!(stats.malformed_lists_replaced, 1);

    // With nothing to add, a malformed list is not ours to touch.
    let untouched = vec![
        KeyValue::new("aws.xray.annotations", 7),
        KeyValue::new(
            "aws.xray.annotation.tags",
            Value::Array(Array::I64(vec![1])),
        ),
    ];
    let (out, stats) = rewrite(untouched.clone(), ConflictPolicy::KeepBoth);
    assert_eq!(out, untouched);
    assert_eq!(stats.malformed_lists_replaced, 0);
    assert_eq!(stats.not_annotatable, 1);
}

#[test]
fn arrays_and_invalid_targets_are_left_and_counted() {
    let input = vec![
        KeyValue::new("aws.xray.annotation.", "empty key"),
        KeyValue::new(
            "aws.xray.annotation.aws.xray.annotations",
            "the list itself",
        ),
        KeyValue::new("aws.xray.annotation.aws.xray.annotation.x", "nested"),
        KeyValue::new(
            "aws.xray.annotation.tags",
            Value::Array(Array::String(vec!["a".into()])),
        ),
    ];
    let (out, stats) = rewrite(input.clone(), ConflictPolicy::AnnotationWins);
    assert_eq!(out, input);
    assert_eq!(stats.invalid_keys, 3);
    assert_eq!(stats.not_annotatable, 1);
    assert_eq!(stats.rewritten, 0);
    assert_eq!(stats.spans, 1);
}

#[test]
fn an_equal_plain_value_absorbs_the_prefixed_copy() {
    let (out, stats) = rewrite(
        vec![
            KeyValue::new("k", "v"),
            KeyValue::new("aws.xray.annotation.k", "v"),
            KeyValue::new("aws.xray.annotation.nan", f64::NAN),
            KeyValue::new("nan", f64::NAN),
        ],
        ConflictPolicy::KeepBoth,
    );
    assert_eq!(out.len(), 3);
    assert_eq!(out[0], KeyValue::new("k", "v"));
    assert_eq!(out[1].key.as_str(), "nan");
    assert_eq!(out[2], list(&["k", "nan"]));
    assert_eq!(stats.already_present, 2);
    assert_eq!(stats.conflicts_kept, 0);
}

#[test]
fn conflicts_keep_both_by_default() {
    let input = vec![
        KeyValue::new("region", "eu"),
        KeyValue::new("aws.xray.annotation.region", "us"),
        KeyValue::new("aws.xray.annotation.ok", 1),
    ];
    let (out, stats) = rewrite(input, ConflictPolicy::KeepBoth);
    assert_eq!(
        out,
        vec![
            KeyValue::new("region", "eu"),
            KeyValue::new("aws.xray.annotation.region", "us"),
            KeyValue::new("ok", 1),
            list(&["ok"]),
        ]
    );
    assert_eq!(stats.conflicts_kept, 1);
    assert_eq!(stats.plain_overwritten, 0);
    assert!(stats.has_issues());
}

#[test]
fn conflicts_can_let_the_annotation_win() {
    let input = vec![
        KeyValue::new("region", "eu"),
        KeyValue::new("region", 5),
        KeyValue::new("aws.xray.annotation.region", "us"),
    ];
    let (out, stats) = rewrite(input, ConflictPolicy::AnnotationWins);
    assert_eq!(out, vec![KeyValue::new("region", "us"), list(&["region"])]);
    assert_eq!(stats.plain_overwritten, 2);
    assert_eq!(stats.rewritten, 1);
}

#[test]
fn duplicate_prefixed_attributes_list_their_key_once() {
    let (out, stats) = rewrite(
        vec![
            KeyValue::new("aws.xray.annotation.k", "a"),
            KeyValue::new("aws.xray.annotation.k", "a"),
            KeyValue::new("aws.xray.annotation.k", "b"),
        ],
        ConflictPolicy::KeepBoth,
    );
    assert_eq!(
        out,
        vec![
            KeyValue::new("k", "a"),
            KeyValue::new("k", "b"),
            list(&["k"])
        ]
    );
    assert_eq!(stats.rewritten, 2);
    assert_eq!(stats.already_present, 1);
}

#[test]
fn dotted_and_unusual_keys_are_kept_as_written() {
    let (out, _) = rewrite(
        vec![
            KeyValue::new("aws.xray.annotation.order.id", "o-1"),
            KeyValue::new("aws.xray.annotation.ünï côdé@1", "x"),
        ],
        ConflictPolicy::KeepBoth,
    );
    assert_eq!(out[0], KeyValue::new("order.id", "o-1"));
    assert_eq!(out[1], KeyValue::new("ünï côdé@1", "x"));
    assert_eq!(out[2], list(&["order.id", "ünï côdé@1"]));
}

#[test]
fn stats_display_names_every_field() {
    let stats = AnnotationRewriteStats {
        spans: 1,
        rewritten: 2,
        already_present: 3,
        conflicts_kept: 4,
        plain_overwritten: 5,
        not_annotatable: 6,
        invalid_keys: 7,
        malformed_lists_replaced: 8,
    };
    assert_eq!(
        stats.to_string(),
        "spans=1 rewritten=2 already_present=3 conflicts_kept=4 plain_overwritten=5 \
         not_annotatable=6 invalid_keys=7 malformed_lists_replaced=8"
    );
    let mut total = stats;
    total.merge(&stats);
    assert_eq!(total.invalid_keys, 14);
    total.merge(&AnnotationRewriteStats {
        spans: u64::MAX,
        ..Default::default()
    });
    assert_eq!(total.spans, u64::MAX, "saturates");
}

#[test]
fn annotation_wins_keeps_every_annotated_value_whatever_the_order() {
    // Found by the proptest: the prefixed key repeats with two values and the plain
    // attribute equals one of them. No value may be lost, in any order.
    let attrs = [
        KeyValue::new("aws.xray.annotation.r", "v"),
        KeyValue::new("aws.xray.annotation.r", false),
        KeyValue::new("r", "v"),
    ];
    for order in [[0, 1, 2], [1, 0, 2], [2, 1, 0], [2, 0, 1]] {
        let input = order.iter().map(|&i| attrs[i].clone()).collect();
        let (out, stats) = rewrite(input, ConflictPolicy::AnnotationWins);
        assert!(out.contains(&KeyValue::new("r", "v")), "{order:?}: {out:?}");
        assert!(
            out.contains(&KeyValue::new("r", false)),
            "{order:?}: {out:?}"
        );
        assert_eq!(out.len(), 3, "{order:?}: {out:?}");
        assert_eq!(out.last(), Some(&list(&["r"])));
        assert_eq!(stats.plain_overwritten, 0);
        assert_eq!(stats.rewritten + stats.already_present, 2);
    }
}
