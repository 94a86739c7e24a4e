//! `sql`, for spans calling an SQL database.
//!
//! Only when `db.system.name` / `db.system` names an SQL system — compared
//! case-insensitively, unlike the collector (`MySQL` counts). `url` is the span
//! name (as the collector does: connection strings may hold secrets);
//! `connection_string` is `db.connection_string` with any password removed —
//! or, where current semantic conventions no longer set it, `server.address`
//! (`net.peer.name`) with `:server.port` (`net.peer.port`), and only without
//! either `localhost` as the collector writes — + `/` + `db.namespace` / `db.name`;
//! `sanitized_query` is `db.query.text` / `db.statement` as recorded;
//! `database_type` the lower-cased system; `user` is `db.user` (≤ 250 chars).
//! Non-SQL systems (redis, mongodb, …) get no block and keep their `db.*`
//! attributes in metadata.

use std::borrow::Cow;

use super::attrs::{mask, SpanAttrs};
use super::keys::SpanKey;
use crate::segment::Sql;
use crate::text::{authority_start, truncate};
use crate::translate_stats::TranslationCounts;

const SQL_SYSTEMS: &[&str] = &[
    "db2",
    "derby",
    "hive",
    "mariadb",
    "mssql",
    "mysql",
    "oracle",
    "postgresql",
    "sqlite",
    "teradata",
    "other_sql",
    "ibm.db2",
    "microsoft.sql_server",
    "oracle.db",
    "h2",
    "hsqldb",
    "cockroachdb",
    "trino",
    "clickhouse",
];

/// The `sql` block, or `None` for non-SQL (or no) databases.
pub(crate) fn make_sql<'a>(
    span_name: &'a str,
    attrs: &mut SpanAttrs<'a>,
    tally: &mut TranslationCounts,
) -> Option<Sql<'a>> {
    if !attrs.any(const { mask(&[SpanKey::DbSystemName, SpanKey::DbSystem]) }) {
        return None;
    }
    let system = attrs
        .non_empty(SpanKey::DbSystemName)
        .or_else(|| attrs.non_empty(SpanKey::DbSystem))?;
    if !SQL_SYSTEMS.iter().any(|s| s.eq_ignore_ascii_case(system)) {
        return None;
    }
    let database = attrs
        .non_empty(SpanKey::DbNamespace)
        .or_else(|| attrs.non_empty(SpanKey::DbName))
        .unwrap_or("");
    // Current semantic conventions dropped `db.connection_string`; the server's
    // address says where the database is far better than the collector's
    // `localhost` fallback.
    let conn = match attrs.non_empty(SpanKey::DbConnectionString) {
        Some(c) => strip_password(c),
        None => match (
            attrs
                .non_empty(SpanKey::ServerAddress)
                .or_else(|| attrs.non_empty(SpanKey::NetPeerName)),
            attrs
                .int(SpanKey::ServerPort)
                .or_else(|| attrs.int(SpanKey::NetPeerPort)),
        ) {
            (Some(host), Some(port)) => Cow::Owned(format!("{host}:{port}")),
            (Some(host), None) => Cow::Borrowed(host),
            (None, _) => Cow::Borrowed("localhost"),
        },
    };
    let sql = Sql {
        url: (!span_name.is_empty()).then_some(Cow::Borrowed(span_name)),
        connection_string: Some(Cow::Owned(format!("{conn}/{database}"))),
        database_type: Some(if system.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(system.to_ascii_lowercase())
        } else {
            Cow::Borrowed(system)
        }),
        user: attrs
            .non_empty(SpanKey::DbUser)
            .map(|u| truncate(Cow::Borrowed(u), 250, tally)),
        sanitized_query: attrs
            .non_empty(SpanKey::DbQueryText)
            .or_else(|| attrs.non_empty(SpanKey::DbStatement))
            .map(Cow::Borrowed),
    };
    for k in [
        SpanKey::DbSystem,
        SpanKey::DbSystemName,
        SpanKey::DbNamespace,
        SpanKey::DbName,
        SpanKey::DbConnectionString,
        SpanKey::DbUser,
        SpanKey::DbQueryText,
        SpanKey::DbStatement,
    ] {
        attrs.consume(k);
    }
    Some(sql)
}

/// `scheme://user:password@host` → `scheme://user@host`; `Password=…;` pairs removed.
fn strip_password(conn: &str) -> Cow<'_, str> {
    if let Some(start) = authority_start(conn) {
        let end = conn[start..]
            .find(['/', '?'])
            .map_or(conn.len(), |i| start + i);
        if let Some(at) = conn[start..end].rfind('@') {
            let user_info = &conn[start..start + at];
            if let Some((user, _)) = user_info.split_once(':') {
                return Cow::Owned(format!("{}{user}{}", &conn[..start], &conn[start + at..]));
            }
        }
        return Cow::Borrowed(conn);
    }
    if conn.to_ascii_lowercase().contains("password=") || conn.to_ascii_lowercase().contains("pwd=")
    {
        let kept: Vec<&str> = conn
            .split(';')
            .filter(|kv| {
                let k = kv
                    .split('=')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                k != "password" && k != "pwd"
            })
            .collect();
        return Cow::Owned(kept.join(";"));
    }
    Cow::Borrowed(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_the_connection_string() {
        assert_eq!(
            strip_password("postgres://app:s3cret@db:5432"),
            "postgres://app@db:5432"
        );
        assert_eq!(
            strip_password("Server=db;User Id=a;Password=x;"),
            "Server=db;User Id=a;"
        );
        assert!(matches!(
            strip_password("mysql://db:3306"),
            Cow::Borrowed(_)
        ));
    }
}
