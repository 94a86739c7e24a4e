//! error/fault/throttle and cause from span status and events.
mod translate_support;

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::KeyValue;
use translate_support::*;

const JAVA: &str = "java.lang.IllegalStateException: bad\n\tat com.example.A.b(A.java:3)\n\tat com.example.A.main(A.java:9)\nCaused by: java.lang.IllegalArgumentException: arg\n\tat com.example.C.d(C.java:1)";

fn exception_event(
    kind: &'static str,
    message: &'static str,
    trace: Option<&'static str>,
) -> opentelemetry::trace::Event {
    let mut attrs = vec![
        KeyValue::new("exception.type", kind),
        KeyValue::new("exception.message", message),
    ];
    if let Some(t) = trace {
        attrs.push(KeyValue::new("exception.stacktrace", t));
    }
    event("exception", attrs)
}

#[test]
fn exception_events_become_a_chained_cause() {
    let mut s = span(SpanKind::Server, None);
    s.status = Status::error("boom");
    add_event(
        &mut s,
        exception_event("java.lang.IllegalStateException", "bad", Some(JAVA)),
    );
    add_event(
        &mut s,
        event(
            "exception",
            vec![KeyValue::new("exception.type", "EmptyError")],
        ),
    );
    let doc = translate(
        &s,
        &resource(vec![KeyValue::new("telemetry.sdk.language", "java")]),
    );
    assert_eq!(doc["fault"], true);
    let ex = doc["cause"]["exceptions"].as_array().unwrap();
    assert_eq!(ex.len(), 3);
    assert_eq!(ex[0]["type"], "java.lang.IllegalStateException");
    assert_eq!(ex[0]["message"], "bad");
    assert_eq!(ex[0]["stack"].as_array().unwrap().len(), 2);
    assert_eq!(ex[0]["stack"][0]["label"], "com.example.A.b");
    assert_eq!(ex[0]["cause"], ex[1]["id"]);
    assert_eq!(ex[1]["type"], "java.lang.IllegalArgumentException");
    assert_eq!(ex[1]["stack"][0]["path"], "C.java");
    assert_eq!(ex[2]["type"], "EmptyError");
    assert!(ex[2].get("stack").is_none());
    let ids: std::collections::HashSet<_> = ex.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 3);
    assert!(ex.iter().all(|e| e.get("remote").is_none()));
    // Exception events are not repeated as metadata events.
    assert!(doc["metadata"].get("otel").is_none());
}

#[test]
fn exception_without_error_status_gives_cause_without_flags() {
    let mut s = span(SpanKind::Client, Some(PARENT));
    s.status = Status::Ok;
    add_event(&mut s, exception_event("E", "m", None));
    let doc = translate(&s, &empty_resource());
    assert!(doc.get("fault").is_none() && doc.get("error").is_none());
    assert_eq!(doc["cause"]["exceptions"][0]["remote"], true);
}

#[test]
fn error_status_without_exceptions_uses_message_or_status_text() {
    let mut s = with(
        span(SpanKind::Server, None),
        vec![KeyValue::new("http.status_code", 500)],
    );
    s.status = Status::error("java.lang.NullPointerException");
    let doc = translate(&s, &empty_resource());
    assert_eq!(
        doc["cause"]["exceptions"][0]["message"],
        "java.lang.NullPointerException"
    );
    let mut s = with(
        span(SpanKind::Server, None),
        vec![KeyValue::new("http.status_text", "Bad Gateway")],
    );
    s.status = Status::error("");
    let doc = translate(&s, &empty_resource());
    assert_eq!(doc["cause"]["exceptions"][0]["message"], "Bad Gateway");
    assert!(doc["metadata"]["default"].get("http.status_text").is_none());
    // No message at all: fault, no cause.
    let mut s = span(SpanKind::Internal, Some(PARENT));
    s.status = Status::error("");
    let doc = translate(&s, &empty_resource());
    assert_eq!(doc["fault"], true);
    assert!(doc.get("cause").is_none());
}

#[test]
fn unset_status_with_fault_code_has_no_cause() {
    let doc = translate(
        &with(
            span(SpanKind::Server, None),
            vec![KeyValue::new("http.response.status_code", 500)],
        ),
        &empty_resource(),
    );
    assert_eq!(doc["fault"], true);
    assert!(doc.get("cause").is_none());
}

#[test]
fn aws_sdk_http_failure_event_is_a_remote_exception() {
    let mut s = with(
        span(SpanKind::Client, Some(PARENT)),
        vec![KeyValue::new("rpc.system", "aws-api")],
    );
    s.status = Status::error("");
    let mut e = event(
        "HTTP request failure",
        vec![
            KeyValue::new("http.response.status_code", 503),
            KeyValue::new(
                "aws.http.error_message",
                "service is temporarily unavailable",
            ),
        ],
    );
    e.timestamp =
        std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_micros(1_696_954_761_000_001);
    add_event(&mut s, e);
    let doc = translate(&s, &empty_resource());
    let ex = &doc["cause"]["exceptions"][0];
    assert_eq!(ex["type"], "aws.http.error.event");
    assert_eq!(ex["remote"], true);
    assert_eq!(
        ex["message"],
        "503@1696954761.000001@service is temporarily unavailable"
    );
}

#[test]
fn rust_panic_event_is_parsed() {
    let mut s = span(SpanKind::Server, None);
    s.status = Status::error("panic");
    add_event(
        &mut s,
        exception_event(
            "panic",
            "called `Option::unwrap()` on a `None` value",
            Some("thread 'tokio-runtime-worker' panicked at src/routes.rs:31:18:\ncalled `Option::unwrap()` on a `None` value\nstack backtrace:\n   0: app::routes::get_user\n             at ./src/routes.rs:31:18\n"),
        ),
    );
    let doc = translate(
        &s,
        &resource(vec![KeyValue::new("telemetry.sdk.language", "rust")]),
    );
    let frame = &doc["cause"]["exceptions"][0]["stack"][0];
    assert_eq!(frame["label"], "app::routes::get_user");
    assert_eq!(frame["path"], "./src/routes.rs");
    assert_eq!(frame["line"], 31);
}
