//! The `sql` block.
mod translate_support;

use opentelemetry::trace::SpanKind;
use opentelemetry::KeyValue;
use serde_json::json;
use translate_support::*;

fn db(mut attrs: Vec<KeyValue>) -> serde_json::Value {
    attrs.push(KeyValue::new("enterprise.app.id", "com.example.app"));
    let mut s = with(span(SpanKind::Client, Some(PARENT)), attrs);
    s.name = "call update_user_preference( ?, ?, ? )".into();
    translate(&s, &empty_resource())
}

#[test]
fn sql_system_gives_a_sql_block_and_consumes_db_keys() {
    let doc = db(vec![
        KeyValue::new("db.system", "mysql"),
        KeyValue::new("db.name", "customers"),
        KeyValue::new("db.statement", "call update_user_preference( ?, ?, ? )"),
        KeyValue::new("db.user", "readonly_user"),
        KeyValue::new("db.connection_string", "mysql://db.example.com:3306"),
    ]);
    assert_eq!(
        doc["sql"],
        json!({
            "connection_string": "mysql://db.example.com:3306/customers",
            "url": "call update_user_preference( ?, ?, ? )",
            "sanitized_query": "call update_user_preference( ?, ?, ? )",
            "database_type": "mysql",
            "user": "readonly_user",
        })
    );
    assert_eq!(
        doc["metadata"]["default"],
        json!({"enterprise.app.id": "com.example.app"})
    );
    assert!(doc.get("http").is_none());
}

#[test]
fn stable_keys_and_case_insensitive_system() {
    let doc = db(vec![
        KeyValue::new("db.system.name", "PostgreSQL"),
        KeyValue::new("db.namespace", "orders"),
        KeyValue::new("db.query.text", "SELECT 1"),
    ]);
    assert_eq!(doc["sql"]["database_type"], "postgresql");
    assert_eq!(doc["sql"]["connection_string"], "localhost/orders");
    assert_eq!(doc["sql"]["sanitized_query"], "SELECT 1");
}

#[test]
fn connection_string_falls_back_to_the_server_address() {
    let doc = db(vec![
        KeyValue::new("db.system.name", "postgresql"),
        KeyValue::new("db.namespace", "shop"),
        KeyValue::new("server.address", "db.internal"),
        KeyValue::new("server.port", 5432),
    ]);
    assert_eq!(doc["sql"]["connection_string"], "db.internal:5432/shop");
    // The address stays visible as an attribute too.
    assert_eq!(doc["metadata"]["default"]["server.address"], "db.internal");

    let old = db(vec![
        KeyValue::new("db.system", "mysql"),
        KeyValue::new("db.name", "shop"),
        KeyValue::new("net.peer.name", "legacy-db"),
    ]);
    assert_eq!(old["sql"]["connection_string"], "legacy-db/shop");
}

#[test]
fn non_sql_database_keeps_db_keys_in_metadata() {
    let doc = db(vec![
        KeyValue::new("db.system", "redis"),
        KeyValue::new("db.statement", "GET k"),
    ]);
    assert!(doc.get("sql").is_none());
    assert_eq!(doc["metadata"]["default"]["db.statement"], "GET k");
}

#[test]
fn connection_string_password_is_removed() {
    let doc = db(vec![
        KeyValue::new("db.system", "postgresql"),
        KeyValue::new("db.name", "app"),
        KeyValue::new(
            "db.connection_string",
            "postgresql://app:hunter2@pg.internal:5432",
        ),
    ]);
    assert_eq!(
        doc["sql"]["connection_string"],
        "postgresql://app@pg.internal:5432/app"
    );
    assert!(!doc.to_string().contains("hunter2"));
}
