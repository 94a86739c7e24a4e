//! `name` and `namespace`.
//!
//! The name is the first non-empty candidate, as the collector orders them:
//! `aws.local.service` (segments) or `aws.remote.service` (CLIENT/PRODUCER/CONSUMER
//! subsegments), `peer.service`, `aws.service`, `db.name[@host]`, resource
//! `service.name` (segments), `rpc.service`, `http.host`, `net.peer.name`, the
//! span name, `"span"`. Unlike the collector, **every** candidate is sanitised to
//! the schema's character class and cut to 200 chars on a char boundary; a
//! candidate that sanitises to nothing falls through to the next.

use std::borrow::Cow;

use opentelemetry::trace::SpanKind;

use super::attrs::SpanAttrs;
use super::keys::{ResourceKey, SpanKey};
use super::name_chars::NAME_CHAR_RANGES;
use super::resource::ResourceAttrs;
use crate::segment::Namespace;
use crate::text::authority_start;
use crate::translate_stats::TranslationCounts;

/// The schema's limit on `name`, in chars.
pub const MAX_NAME_CHARS: usize = 200;

/// The name and namespace of a document.
pub(crate) fn name_and_namespace<'a>(
    span_name: &'a str,
    kind: &SpanKind,
    is_segment: bool,
    attrs: &SpanAttrs<'a>,
    res: &ResourceAttrs<'a>,
    tally: &mut TranslationCounts,
) -> (Cow<'a, str>, Option<Namespace>) {
    let aws_api = attrs.str(SpanKey::RpcSystem) == Some("aws-api");
    let mut namespace = aws_api.then_some(Namespace::Aws);
    let remote_kind = matches!(
        kind,
        SpanKind::Client | SpanKind::Producer | SpanKind::Consumer
    );

    let mut name = None;
    if is_segment {
        name = candidate(attrs.str(SpanKey::AwsLocalService), tally);
    } else if remote_kind {
        let remote = attrs.str(SpanKey::AwsRemoteService).map(|s| {
            if aws_api {
                s.strip_prefix("AWS.SDK.")
                    .or_else(|| s.strip_prefix("AWS::"))
                    .unwrap_or(s)
            } else {
                s
            }
        });
        name = candidate(remote, tally);
    }
    if name.is_none() {
        name = candidate(attrs.str(SpanKey::PeerService), tally);
    }
    if name.is_none() {
        name = candidate(attrs.str(SpanKey::AwsService), tally);
        if name.is_some() && namespace.is_none() {
            namespace = Some(Namespace::Aws);
        }
    }
    if name.is_none() {
        if let Some(db) = attrs.non_empty(SpanKey::DbName) {
            let host = attrs
                .str(SpanKey::DbConnectionString)
                .and_then(connection_host);
            name = match host {
                Some(h) => candidate_owned(format!("{db}@{h}"), tally),
                None => candidate(Some(db), tally),
            };
        }
    }
    if name.is_none() && is_segment {
        name = candidate(res.str(ResourceKey::ServiceName), tally);
    }
    for k in [SpanKey::RpcService, SpanKey::HttpHost, SpanKey::NetPeerName] {
        if name.is_none() {
            name = candidate(attrs.str(k), tally);
        }
    }
    let name = name
        .or_else(|| candidate(Some(span_name), tally))
        .unwrap_or(Cow::Borrowed("span"));

    if is_segment {
        // The schema has no namespace on segments.
        namespace = None;
    } else if namespace.is_none()
        && (matches!(kind, SpanKind::Client | SpanKind::Producer)
            || (remote_kind && attrs.has(SpanKey::AwsRemoteService)))
    {
        namespace = Some(Namespace::Remote);
    }
    (name, namespace)
}

fn candidate<'a>(s: Option<&'a str>, tally: &mut TranslationCounts) -> Option<Cow<'a, str>> {
    let s = s?;
    if s.is_empty() {
        return None;
    }
    let out = sanitize_name(s);
    if let Cow::Owned(_) = out {
        tally.names_sanitised += 1;
    }
    (!out.is_empty()).then_some(out)
}

fn candidate_owned<'a>(s: String, tally: &mut TranslationCounts) -> Option<Cow<'a, str>> {
    match sanitize_name(&s) {
        Cow::Borrowed(_) => Some(Cow::Owned(s)),
        Cow::Owned(o) => {
            tally.names_sanitised += 1;
            (!o.is_empty()).then_some(Cow::Owned(o))
        }
    }
}

/// The host of a database connection string (`jdbc:` prefix and user info ignored).
fn connection_host(conn: &str) -> Option<&str> {
    let conn = conn.strip_prefix("jdbc:").unwrap_or(conn);
    let rest = &conn[authority_start(conn)?..];
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host_port.split([':', ',', ';']).next().unwrap_or("")
    };
    (!host.is_empty()).then_some(host)
}

/// Per byte: an ASCII char allowed in a name (space # % & + - . / 0-9 : = @ A-Z _
/// a-z); bytes from 0x80 are false. A table indexed by `u8` (no bounds check), not
/// a `u128` mask: one load per byte in the all-ASCII fast path.
static ASCII_NAME_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 128 {
        let b = i as u8;
        t[i] = b == b' '
            || b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'_' | b'.' | b':' | b'/' | b'%' | b'&' | b'#' | b'=' | b'+' | b'-' | b'@'
            );
        i += 1;
    }
    t
};

#[inline]
fn is_ascii_name_byte(b: u8) -> bool {
    ASCII_NAME_BYTE
        .get(usize::from(b))
        .copied()
        .unwrap_or(false)
}

/// True if the schema's `name` pattern allows `c`.
pub fn is_name_char(c: char) -> bool {
    let c = c as u32;
    if c < 0x80 {
        return is_ascii_name_byte(c as u8);
    }
    NAME_CHAR_RANGES
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// `s` with every char outside the schema's name class removed, cut to 200
/// chars. Borrowed when `s` already fits; may be empty.
///
/// ```
/// use otel_xray_exporter::sanitize_name;
/// assert_eq!(sanitize_name("db,1433?x=1"), "db1433x=1");
/// assert_eq!(sanitize_name("EP @ test_15.testing-dömain.org#GO"), "EP @ test_15.testing-dömain.org#GO");
/// ```
pub fn sanitize_name(s: &str) -> Cow<'_, str> {
    // No early exit in the byte loop: it unrolls, and names are usually clean.
    let clean =
        s.len() <= MAX_NAME_CHARS && s.bytes().fold(true, |ok, b| ok & is_ascii_name_byte(b));
    if clean {
        return Cow::Borrowed(s);
    }
    let mut count = 0;
    for (i, c) in s.char_indices() {
        if !is_name_char(c) || count == MAX_NAME_CHARS {
            let mut out = String::with_capacity(s.len().min(MAX_NAME_CHARS * 3));
            out.push_str(&s[..i]);
            for c in s[i..].chars() {
                if count == MAX_NAME_CHARS {
                    break;
                }
                if is_name_char(c) {
                    out.push(c);
                    count += 1;
                }
            }
            return Cow::Owned(out);
        }
        count += 1;
    }
    Cow::Borrowed(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_valid_names_borrowed() {
        assert!(matches!(sanitize_name("my-service"), Cow::Borrowed(_)));
        assert!(matches!(sanitize_name("日本語 サービス"), Cow::Borrowed(_)));
    }

    #[test]
    fn removes_characters_outside_the_class() {
        assert_eq!(
            sanitize_name("<subDomain>.example.com,1413"),
            "subDomain.example.com1413"
        );
        assert_eq!(sanitize_name("<>"), "");
        assert_eq!(sanitize_name("a\tb\nc\\d(e)"), "abcde");
        assert_eq!(
            sanitize_name("offers?database_to_upper=false"),
            "offersdatabase_to_upper=false"
        );
    }

    #[test]
    fn cuts_to_200_chars_on_a_char_boundary() {
        let long = "ü".repeat(300);
        let out = sanitize_name(&long);
        assert_eq!(out.chars().count(), 200);
        assert!(out.chars().all(|c| c == 'ü'));
        let mixed = format!("{}(", "a".repeat(199)) + &"é".repeat(5);
        assert_eq!(sanitize_name(&mixed), format!("{}é", "a".repeat(199)));
    }

    #[test]
    fn connection_host_handles_jdbc_userinfo_ports_and_ipv6() {
        assert_eq!(
            connection_host("jdbc:mysql://db.example.com:3306"),
            Some("db.example.com")
        );
        assert_eq!(
            connection_host("postgres://u:p@pg.local/app"),
            Some("pg.local")
        );
        assert_eq!(connection_host("sqlserver://host,1433;db=x"), Some("host"));
        assert_eq!(connection_host("postgres://[::1]:5432/x"), Some("::1"));
        assert_eq!(connection_host("localhost"), None);
    }

    #[test]
    fn table_matches_the_schema() {
        // Every char the table allows passes the schema, in batches of 200.
        let allowed: Vec<char> = (0u32..0x1_0000)
            .filter_map(char::from_u32)
            .filter(|c| is_name_char(*c))
            .collect();
        for chunk in allowed.chunks(MAX_NAME_CHARS) {
            let name: String = chunk.iter().collect();
            assert!(name_is_schema_valid(&name), "rejected: {name:?}");
        }
        // A sample of refused chars (and all of ASCII) fails it.
        for c in (0u32..0x1_0000)
            .filter_map(char::from_u32)
            .filter(|c| !is_name_char(*c))
            .filter(|c| c.is_ascii() || (*c as u32).is_multiple_of(97))
        {
            assert!(!name_is_schema_valid(&c.to_string()), "accepted: {c:?}");
        }
    }

    fn name_is_schema_valid(name: &str) -> bool {
        let doc = serde_json::json!({
            "name": name, "id": "70de5b6f19ff9a0a", "start_time": 1.0,
            "trace_id": "1-581cf771-a006649127e371903a2de979",
        });
        otel_xray_testkit::segment_schema_errors(&doc).is_empty()
    }
}
