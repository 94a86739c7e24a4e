use super::input::read_documents;
use super::*;
use proptest::prelude::*;
use serde_json::json;

fn validator() -> &'static SegmentValidator {
    static V: std::sync::OnceLock<SegmentValidator> = std::sync::OnceLock::new();
    V.get_or_init(SegmentValidator::new)
}

fn segment() -> Json {
    json!({
        "name": "checkout", "id": "70de5b6f19ff9a0a",
        "trace_id": "1-581cf771-a006649127e371903a2de979",
        "start_time": 1478293361.271, "end_time": 1478293361.449,
        "annotations": {"order_id": "1042", "priority": true},
        "subsegments": [{
            "name": "orders-db", "id": "70de5b6f19ff9a0b",
            "start_time": 1478293361.3, "end_time": 1478293361.4,
            "namespace": "remote",
            "cause": {"exceptions": [{"id": "70de5b6f19ff9a0c", "message": "timeout"}]}
        }]
    })
}

fn kinds(doc: &Json) -> Vec<ProblemKind> {
    let v = validator();
    v.check(doc, doc.to_string().len())
        .into_iter()
        .map(|p| p.kind)
        .collect()
}

fn problems_at(doc: &Json) -> Vec<String> {
    let v = validator();
    v.check(doc, doc.to_string().len())
        .into_iter()
        .map(|p| p.to_string())
        .collect()
}

fn with(mut doc: Json, pointer: &str, value: Json) -> Json {
    *doc.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer}")) = value;
    doc
}

#[test]
fn a_good_segment_passes() {
    assert_eq!(kinds(&segment()), vec![]);
    // in_progress: false next to end_time is what aws-xray-sdk (Python) sends.
    let mut doc = segment();
    doc["in_progress"] = json!(false);
    assert_eq!(kinds(&doc), vec![]);
    let mut open = segment();
    open.as_object_mut().unwrap().remove("end_time");
    open["in_progress"] = json!(true);
    assert_eq!(kinds(&open), vec![]);
}

#[test]
fn size_limit() {
    let mut doc = segment();
    doc["metadata"] = json!({"default": {"blob": "x".repeat(MAX_DOCUMENT_BYTES)}});
    assert!(kinds(&doc).contains(&ProblemKind::TooLarge {
        bytes: doc.to_string().len()
    }));
    let mut doc = segment();
    let room = MAX_DOCUMENT_BYTES
        - segment().to_string().len()
        - r#","metadata":{"default":{"b":""}}"#.len();
    doc["metadata"] = json!({"default": {"b": "x".repeat(room)}});
    assert_eq!(doc.to_string().len(), MAX_DOCUMENT_BYTES);
    assert_eq!(kinds(&doc), vec![]);
}

#[test]
fn ids_must_be_lowercase_hex() {
    for (pointer, bad) in [
        ("/id", "70DE5B6F19FF9A0A"),
        ("/id", "zzzzzzzzzzzzzzzz"),
        ("/subsegments/0/id", "70de5b6f19ff9a0g"),
        ("/subsegments/0/cause/exceptions/0/id", "70de5b6f19ff9a0-"),
    ] {
        let p = problems_at(&with(segment(), pointer, json!(bad)));
        assert_eq!(p.len(), 1, "{pointer}: {p:?}");
        assert!(p[0].starts_with(pointer), "{p:?}");
        assert!(p[0].contains("16 lowercase hex digits"), "{p:?}");
    }
    let mut doc = segment();
    doc["parent_id"] = json!("ABCDEF0123456789");
    assert!(matches!(
        kinds(&doc)[..],
        [ProblemKind::BadId {
            field: "parent_id",
            ..
        }]
    ));
}

#[test]
fn trace_id_form() {
    for bad in [
        "1-581CF771-a006649127e371903a2de979",
        "2-581cf771-a006649127e371903a2de979",
        "1-581cf771-a006649127e371903a2de979a",
        "1-581cf77-1a006649127e371903a2de979",
    ] {
        let k = kinds(&with(segment(), "/trace_id", json!(bad)));
        assert!(
            k.contains(&ProblemKind::BadTraceId(format!("{bad:?}"))),
            "{bad}: {k:?}"
        );
    }
}

#[test]
fn names_via_schema_and_subsegment_length() {
    for bad in ["GET (orders)", "back\\slash", &"n".repeat(201)] {
        let p = problems_at(&with(segment(), "/name", json!(bad)));
        assert!(
            p.iter().any(|p| p.starts_with("/name: schema:")),
            "{bad}: {p:?}"
        );
    }
    assert_eq!(
        kinds(&with(
            segment(),
            "/name",
            json!("ünïcode name_1.2:/%&#=+-@")
        )),
        vec![]
    );
    // The 4 KB name pattern is described, not quoted.
    let p = problems_at(&with(segment(), "/name", json!("GET /orders/{id}")));
    assert_eq!(
        p,
        vec![
            "/name: schema: \"GET /orders/{id}\" does not match the schema's name pattern: \
              Unicode letters, numbers and spaces, and _ . : / % & # = + - @, 1 to 200 characters"
        ]
    );
    let k = kinds(&with(
        segment(),
        "/subsegments/0/name",
        json!("s".repeat(251)),
    ));
    assert_eq!(k, vec![ProblemKind::NameTooLong(251)]);
    assert_eq!(
        kinds(&with(
            segment(),
            "/subsegments/0/name",
            json!("s".repeat(250))
        )),
        vec![]
    );
}

#[test]
fn annotation_keys_values_and_count() {
    for (key, value) in [
        ("http.method", json!("GET")),
        ("bad key", json!(1)),
        ("obj", json!({"a": 1})),
        ("arr", json!([1])),
        ("long", json!("v".repeat(1001))),
    ] {
        let mut doc = segment();
        doc["annotations"][key] = value;
        let p = problems_at(&doc);
        assert!(p.iter().any(|p| p.contains("schema:")), "{key}: {p:?}");
    }
    let mut doc = segment();
    doc["annotations"]["long"] = json!("v".repeat(1000));
    assert_eq!(kinds(&doc), vec![]);

    let many = |n: usize| -> Json {
        (0..n)
            .map(|i| (format!("k{i}"), json!(i)))
            .collect::<Map<_, _>>()
            .into()
    };
    assert_eq!(kinds(&with(segment(), "/annotations", many(50))), vec![]);
    assert_eq!(
        kinds(&with(segment(), "/annotations", many(51))),
        vec![ProblemKind::TooManyAnnotations(51)]
    );
    // The count is per document, subsegments included.
    let mut doc = with(segment(), "/annotations", many(30));
    doc["subsegments"][0]["annotations"] = many(21);
    assert_eq!(kinds(&doc), vec![ProblemKind::TooManyAnnotations(51)]);
}

#[test]
fn exactly_one_of_end_time_and_in_progress() {
    let mut doc = segment();
    doc.as_object_mut().unwrap().remove("end_time");
    assert_eq!(
        problems_at(&doc),
        vec!["needs end_time or \"in_progress\": true"]
    );
    let mut doc = segment();
    doc["in_progress"] = json!(true);
    assert_eq!(kinds(&doc), vec![ProblemKind::EndedAndInProgress]);
    let mut doc = segment();
    doc["subsegments"][0]
        .as_object_mut()
        .unwrap()
        .remove("end_time");
    assert_eq!(
        problems_at(&doc),
        vec!["/subsegments/0: needs end_time or \"in_progress\": true"]
    );
    let doc = with(segment(), "/end_time", json!(1478293361.0));
    assert!(matches!(
        kinds(&doc)[..],
        [ProblemKind::EndBeforeStart { .. }]
    ));
}

#[test]
fn independent_subsegments_need_trace_and_parent() {
    let doc = json!({"name": "db", "id": "70de5b6f19ff9a0b", "type": "subsegment",
        "trace_id": "1-581cf771-a006649127e371903a2de979", "start_time": 1.0, "end_time": 2.0});
    assert_eq!(
        kinds(&doc),
        vec![ProblemKind::IndependentSubsegmentMissing("parent_id")]
    );
}

#[test]
fn input_forms() {
    let seg = segment().to_string();
    let lines = format!("{seg}\n\n{{not json\n{seg}\n");
    let docs = read_documents(&lines);
    assert_eq!(docs.len(), 3);
    assert_eq!((docs[0].line, docs[1].line, docs[2].line), (1, 3, 4));
    assert!(docs[0].parsed.is_ok() && docs[2].parsed.is_ok());
    assert!(matches!(
        &docs[1].parsed,
        Err(Problem {
            kind: ProblemKind::NotJson(_),
            ..
        })
    ));

    let array = format!("[{seg}, {}]", Json::from(seg.clone()));
    let docs = read_documents(&array);
    assert_eq!(docs.len(), 2);
    assert!(docs.iter().all(|d| d.parsed.is_ok()));

    let pretty = serde_json::to_string_pretty(&segment()).unwrap();
    let docs = read_documents(&format!("{pretty}\n{pretty}"));
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[1].line, pretty.lines().count() + 1);
    assert_eq!(docs[0].parsed.as_ref().unwrap().1, pretty.len());

    let framed = format!(
        "{{\"format\":\"json\",\"version\":1}}\n{seg}\n{{\"format\": \"json\", \"version\": 2}}\n{seg}\n{{\"format\":\"json\",\"version\":1}}\n"
    );
    let docs = read_documents(&framed);
    assert_eq!(docs.len(), 3);
    assert!(docs[0].frame_problems.is_empty() && docs[0].parsed.is_ok());
    assert_eq!(docs[0].line, 2);
    assert!(matches!(
        docs[1].frame_problems[..],
        [Problem {
            kind: ProblemKind::Frame(crate::daemon::FrameError::InvalidHeader(_)),
            ..
        }]
    ));
    assert!(matches!(
        &docs[2].parsed,
        Err(Problem {
            kind: ProblemKind::Frame(crate::daemon::FrameError::MissingBody),
            ..
        })
    ));
}

proptest! {
    #[test]
    fn hostile_input_never_panics(text in "\\PC{0,300}") {
        let v = validator();
        for d in read_documents(&text) {
            if let Ok((doc, bytes)) = d.parsed {
                let _ = v.check(&doc, bytes);
            }
        }
    }

    #[test]
    fn arbitrary_json_documents_never_panic(doc in arb_json()) {
        let v = validator();
        let _ = v.check(&doc, doc.to_string().len());
    }
}

fn arb_json() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::from),
        any::<f64>().prop_map(Json::from),
        "[a-z0-9_-]{0,20}".prop_map(Json::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        let keys = prop_oneof![
            Just("id".to_string()),
            Just("name".to_string()),
            Just("trace_id".to_string()),
            Just("end_time".to_string()),
            Just("in_progress".to_string()),
            Just("subsegments".to_string()),
            Just("annotations".to_string()),
            Just("cause".to_string()),
            Just("exceptions".to_string()),
            Just("type".to_string()),
            "[a-z]{1,5}",
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Json::from),
            proptest::collection::btree_map(keys, inner, 0..6)
                .prop_map(|m| Json::Object(m.into_iter().collect())),
        ]
    })
}
