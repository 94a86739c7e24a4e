//! The `http` block, old and stable conventions.
mod translate_support;

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::KeyValue;
use serde_json::json;
use translate_support::*;

fn http(kind: SpanKind, attrs: Vec<KeyValue>) -> serde_json::Value {
    let parent = (kind != SpanKind::Server).then_some(PARENT);
    translate(&with(span(kind, parent), attrs), &empty_resource())
}

fn url(kind: SpanKind, attrs: Vec<KeyValue>) -> serde_json::Value {
    http(kind, attrs)["http"]["request"]["url"].clone()
}

#[test]
fn full_url_is_used_verbatim_in_both_conventions() {
    for key in ["http.url", "url.full"] {
        let u = "https://api.example.com/users/junit?x=1";
        assert_eq!(url(SpanKind::Client, vec![KeyValue::new(key, u)]), u);
        assert_eq!(url(SpanKind::Server, vec![KeyValue::new(key, u)]), u);
    }
}

#[test]
fn client_url_from_scheme_host_and_target_or_path_query() {
    assert_eq!(
        url(
            SpanKind::Client,
            vec![
                KeyValue::new("http.scheme", "https"),
                KeyValue::new("http.host", "api.example.com"),
                KeyValue::new("http.target", "/users/junit")
            ]
        ),
        "https://api.example.com/users/junit"
    );
    assert_eq!(
        url(
            SpanKind::Client,
            vec![
                KeyValue::new("url.scheme", "https"),
                KeyValue::new("http.host", "api.example.com"),
                KeyValue::new("url.path", "/users/junit"),
                KeyValue::new("url.query", "v=1")
            ]
        ),
        "https://api.example.com/users/junit?v=1"
    );
}

#[test]
fn client_url_from_peer_name_port_and_ip() {
    let doc = http(
        SpanKind::Client,
        vec![
            KeyValue::new("http.method", "GET"),
            KeyValue::new("http.scheme", "http"),
            KeyValue::new("net.peer.name", "kb234.example.com"),
            KeyValue::new("net.peer.port", 8080),
            KeyValue::new("net.peer.ip", "10.8.17.36"),
            KeyValue::new("http.target", "/users/junit"),
        ],
    );
    assert_eq!(
        doc["http"]["request"]["url"],
        "http://kb234.example.com:8080/users/junit"
    );
    assert_eq!(doc["http"]["request"]["client_ip"], "10.8.17.36");
    assert_eq!(
        url(
            SpanKind::Client,
            vec![
                KeyValue::new("url.scheme", "http"),
                KeyValue::new("net.peer.name", "kb234.example.com"),
                KeyValue::new("net.peer.port", "8080"),
                KeyValue::new("url.query", "users=junit")
            ]
        ),
        "http://kb234.example.com:8080/?users=junit"
    );
    assert_eq!(
        url(
            SpanKind::Client,
            vec![
                KeyValue::new("http.scheme", "https"),
                KeyValue::new("net.peer.ip", "2001:db8:85a3::8a2e:370:7334"),
                KeyValue::new("net.peer.port", 443),
                KeyValue::new("http.target", "/users/junit")
            ]
        ),
        "https://2001:db8:85a3::8a2e:370:7334/users/junit"
    );
}

#[test]
fn server_url_from_server_address_port_and_query() {
    assert_eq!(
        url(
            SpanKind::Server,
            vec![
                KeyValue::new("http.request.method", "GET"),
                KeyValue::new("server.address", "localhost"),
                KeyValue::new("url.path", "/api"),
                KeyValue::new("url.query", "?version=test")
            ]
        ),
        "http://localhost/api?version=test"
    );
    assert_eq!(
        url(
            SpanKind::Server,
            vec![
                KeyValue::new("url.scheme", "https"),
                KeyValue::new("server.address", "api.example.com"),
                KeyValue::new("server.port", 443),
                KeyValue::new("url.query", "users=junit")
            ]
        ),
        "https://api.example.com/?users=junit"
    );
    assert_eq!(
        url(
            SpanKind::Server,
            vec![
                KeyValue::new("http.scheme", "http"),
                KeyValue::new("host.name", "kb234.example.com"),
                KeyValue::new("net.host.port", 8080),
                KeyValue::new("http.target", "/users/junit")
            ]
        ),
        "http://kb234.example.com:8080/users/junit"
    );
}

#[test]
fn server_without_host_has_no_url_but_keeps_the_rest() {
    let mut s = with(
        span(SpanKind::Server, None),
        vec![
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("client.address", "192.168.15.32"),
            KeyValue::new("user_agent.original", "PostmanRuntime/7.21.0"),
            KeyValue::new("http.response.status_code", 200),
            KeyValue::new("server.port", 443),
        ],
    );
    add_event(
        &mut s,
        event(
            "message",
            vec![
                KeyValue::new("message.type", "RECEIVED"),
                KeyValue::new("messaging.message_payload_size_bytes", 12452),
            ],
        ),
    );
    let doc = translate(&s, &empty_resource());
    assert_eq!(
        doc["http"],
        json!({
            "request": {"method": "GET", "user_agent": "PostmanRuntime/7.21.0", "client_ip": "192.168.15.32", "x_forwarded_for": true},
            "response": {"status": 200, "content_length": 12452}
        })
    );
}

#[test]
fn client_ip_and_x_forwarded_for() {
    let with_peer = http(
        SpanKind::Server,
        vec![
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("client.address", "1.2.3.4"),
            KeyValue::new("network.peer.address", "10.0.0.9"),
        ],
    );
    assert_eq!(with_peer["http"]["request"]["client_ip"], "1.2.3.4");
    assert!(with_peer["http"]["request"]
        .get("x_forwarded_for")
        .is_none());
    let old = http(
        SpanKind::Client,
        vec![
            KeyValue::new("http.method", "GET"),
            KeyValue::new("http.client_ip", "1.2.3.4"),
            KeyValue::new("net.peer.ip", "10.0.0.9"),
        ],
    );
    assert_eq!(old["http"]["request"]["client_ip"], "1.2.3.4");
    let hostname = http(
        SpanKind::Server,
        vec![
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("client.address", "client.example"),
            KeyValue::new("network.peer.address", "peer.example"),
        ],
    );
    assert!(hostname["http"]["request"].get("client_ip").is_none());
    assert!(hostname["http"]["request"].get("x_forwarded_for").is_none());
}

#[test]
fn used_http_keys_leave_metadata_others_stay() {
    let doc = http(
        SpanKind::Server,
        vec![
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("http.route", "/users/{id}"),
            KeyValue::new("server.address", "h"),
        ],
    );
    let md = &doc["metadata"]["default"];
    assert!(md.get("http.request.method").is_none());
    assert!(md.get("server.address").is_none());
    assert_eq!(md["http.route"], "/users/{id}");
}

#[test]
fn no_http_attributes_no_http_block_and_network_keys_stay_in_metadata() {
    let doc = http(
        SpanKind::Client,
        vec![
            KeyValue::new("net.peer.name", "db"),
            KeyValue::new("net.peer.port", 5432),
        ],
    );
    assert!(doc.get("http").is_none());
    assert_eq!(doc["metadata"]["default"]["net.peer.port"], 5432);
}

#[test]
fn request_strings_are_cut_to_250_chars_and_counted() {
    let t = otel_xray_exporter::Translator::default();
    let long = format!("https://h.example/{}", "é".repeat(400));
    let s = with(
        span(SpanKind::Server, None),
        vec![
            KeyValue::new("url.full", long),
            KeyValue::new("user_agent.original", "u".repeat(251)),
        ],
    );
    let doc = translate_by(&t, &s, &empty_resource());
    let u = doc["http"]["request"]["url"].as_str().unwrap();
    assert_eq!(u.chars().count(), 250);
    assert!(u.ends_with('…'));
    assert_eq!(t.stats().strings_truncated, 2);
}

#[test]
fn url_credentials_are_removed() {
    assert_eq!(
        url(
            SpanKind::Client,
            vec![KeyValue::new(
                "url.full",
                "https://bob:hunter2@api.example.com/x"
            )]
        ),
        "https://api.example.com/x"
    );
}

#[test]
fn status_codes_set_error_fault_throttle() {
    let cases = [
        (Status::Unset, 500, (true, false, false)),
        (Status::Unset, 400, (false, true, false)),
        (Status::error("x"), 429, (false, true, true)),
        (Status::error("x"), 499, (false, true, false)),
        (Status::Ok, 200, (false, false, false)),
        (Status::error(""), 200, (true, false, false)),
    ];
    for key in ["http.status_code", "http.response.status_code"] {
        for (status, code, (fault, error, throttle)) in cases.clone() {
            let mut s = with(span(SpanKind::Server, None), vec![KeyValue::new(key, code)]);
            s.status = status;
            let doc = translate(&s, &empty_resource());
            let flag = |f: &str| doc.get(f).and_then(|v| v.as_bool()).unwrap_or(false);
            assert_eq!(
                (flag("fault"), flag("error"), flag("throttle")),
                (fault, error, throttle),
                "{key}={code}"
            );
        }
    }
    // A string status code is read too.
    let doc = http(
        SpanKind::Server,
        vec![KeyValue::new("http.status_code", "503")],
    );
    assert_eq!(doc["http"]["response"]["status"], 503);
    assert_eq!(doc["fault"], true);
}

#[test]
fn a_repeated_attribute_means_its_last_value() {
    let doc = http(
        SpanKind::Server,
        vec![
            KeyValue::new("http.response.status_code", 200),
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("http.response.status_code", 503),
        ],
    );
    assert_eq!(doc["http"]["response"]["status"], 503);
    assert_eq!(doc["fault"], true);
    assert!(
        doc.get("metadata").is_none(),
        "no stale copy in metadata: {doc}"
    );
}
