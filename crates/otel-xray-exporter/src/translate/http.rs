//! `http`: request method, URL, user agent, client IP; response status and size.
//!
//! Old (`http.method`, `http.url`, `net.peer.ip`, …) and stable
//! (`http.request.method`, `url.full`, `client.address`, …) semantic conventions
//! are both read; a stable key wins over its old twin. Without a full URL the
//! URL is rebuilt as `scheme://host[:port]` followed by `http.target`, or else
//! by `url.path` (default `/`) and `?url.query`; server spans look for the host in `http.host`,
//! `http.server_name`, `net.host.name`, `host.name`, `server.address`, others in
//! `http.host`, `net.peer.name`, `net.peer.ip`, `server.address`. The port is
//! omitted when it is the scheme's default. URL user info (`user:secret@`) is
//! removed when redaction is on. Every request string is cut to 250 chars.
//!
//! The block exists only when an HTTP attribute is present; the attributes it
//! used are then kept out of metadata.

use std::borrow::Cow;
use std::fmt::Write;
use std::net::IpAddr;

use opentelemetry::trace::SpanKind;
use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;

use super::attrs::{mask, value_text, SpanAttrs};
use super::keys::SpanKey;
use crate::segment::{Http, HttpRequest, HttpResponse};
use crate::text::{authority_start, truncate};
use crate::translate_stats::TranslationCounts;
use crate::TranslatorConfig;

/// The schema's limit on `http.request.*` strings, in chars.
pub const MAX_HTTP_CHARS: usize = 250;

const HTTP_KEYS: &[SpanKey] = &[
    SpanKey::HttpMethod,
    SpanKey::HttpRequestMethod,
    SpanKey::HttpClientIp,
    SpanKey::HttpUserAgent,
    SpanKey::UserAgentOriginal,
    SpanKey::HttpStatusCode,
    SpanKey::HttpResponseStatusCode,
    SpanKey::HttpUrl,
    SpanKey::UrlFull,
    SpanKey::HttpScheme,
    SpanKey::UrlScheme,
    SpanKey::HttpHost,
    SpanKey::HttpTarget,
    SpanKey::HttpServerName,
    SpanKey::NetHostPort,
    SpanKey::UrlPath,
    SpanKey::UrlQuery,
    SpanKey::HttpResponseBodySize,
    SpanKey::HttpResponseContentLength,
];

/// Keys used by the block only when it exists (they also describe non-HTTP calls).
const NETWORK_KEYS: &[SpanKey] = &[
    SpanKey::HostName,
    SpanKey::NetHostName,
    SpanKey::NetPeerName,
    SpanKey::NetPeerPort,
    SpanKey::NetPeerIp,
    SpanKey::NetworkPeerAddress,
    SpanKey::NetworkPeerPort,
    SpanKey::ClientAddress,
    SpanKey::ServerAddress,
    SpanKey::ServerPort,
];

/// The `http` block of a span, or `None` when it has no HTTP attribute.
/// `kind` is the kind the span is translated as (see [`SpanRole`](super::SpanRole)).
pub(crate) fn make_http<'a>(
    span: &'a SpanData,
    kind: &SpanKind,
    attrs: &mut SpanAttrs<'a>,
    config: &TranslatorConfig,
    tally: &mut TranslationCounts,
) -> Option<Http<'a>> {
    if !attrs.any(const { mask(HTTP_KEYS) }) {
        return None;
    }
    let mut req = HttpRequest {
        method: first_str(attrs, SpanKey::HttpRequestMethod, SpanKey::HttpMethod)
            .map(Cow::Borrowed),
        user_agent: first_str(attrs, SpanKey::UserAgentOriginal, SpanKey::HttpUserAgent)
            .map(Cow::Borrowed),
        ..HttpRequest::default()
    };

    // client_ip: an explicit (possibly forwarded) client wins over the socket peer.
    let peer_ip = attrs.non_empty(SpanKey::NetPeerIp).or_else(|| {
        attrs
            .non_empty(SpanKey::NetworkPeerAddress)
            .filter(|a| is_ip(a))
    });
    let forwarded = attrs
        .non_empty(SpanKey::ClientAddress)
        .filter(|a| is_ip(a))
        .or_else(|| attrs.non_empty(SpanKey::HttpClientIp));
    req.client_ip = forwarded.or(peer_ip).map(Cow::Borrowed);
    req.x_forwarded_for = forwarded.is_some() && peer_ip.is_none();

    req.url = url(kind, attrs, config.redaction);

    for field in [
        &mut req.method,
        &mut req.url,
        &mut req.user_agent,
        &mut req.client_ip,
    ] {
        if let Some(v) = field.take() {
            *field = Some(truncate(v, MAX_HTTP_CHARS, tally));
        }
    }

    let status = attrs
        .int(SpanKey::HttpResponseStatusCode)
        .or_else(|| attrs.int(SpanKey::HttpStatusCode));
    let content_length = attrs
        .int(SpanKey::HttpResponseBodySize)
        .or_else(|| attrs.int(SpanKey::HttpResponseContentLength))
        .or_else(|| received_size(span, attrs));
    let response = (status.is_some() || content_length.is_some()).then_some(HttpResponse {
        status,
        content_length,
    });

    for k in HTTP_KEYS.iter().chain(NETWORK_KEYS) {
        attrs.consume(*k);
    }
    let has_request = req.method.is_some()
        || req.url.is_some()
        || req.user_agent.is_some()
        || req.client_ip.is_some();
    Some(Http {
        request: has_request.then_some(req),
        response,
    })
}

fn first_str<'a>(attrs: &SpanAttrs<'a>, stable: SpanKey, old: SpanKey) -> Option<&'a str> {
    attrs.non_empty(stable).or_else(|| attrs.non_empty(old))
}

fn is_ip(s: &str) -> bool {
    s.parse::<IpAddr>().is_ok()
}

/// The full URL, given or rebuilt; `None` when no host is known.
fn url<'a>(kind: &SpanKind, attrs: &SpanAttrs<'a>, redact: bool) -> Option<Cow<'a, str>> {
    if let Some(full) = first_str(attrs, SpanKey::UrlFull, SpanKey::HttpUrl) {
        return Some(if redact {
            strip_user_info(full)
        } else {
            Cow::Borrowed(full)
        });
    }
    let scheme = first_str(attrs, SpanKey::UrlScheme, SpanKey::HttpScheme).unwrap_or("http");
    let http_host = attrs.non_empty(SpanKey::HttpHost);
    let (host, port) = if *kind == SpanKind::Server {
        let host = http_host
            .or_else(|| attrs.non_empty(SpanKey::HttpServerName))
            .or_else(|| attrs.non_empty(SpanKey::NetHostName))
            .or_else(|| attrs.non_empty(SpanKey::HostName))
            .or_else(|| attrs.non_empty(SpanKey::ServerAddress));
        let port = port(attrs, &[SpanKey::NetHostPort, SpanKey::ServerPort]);
        (host, port)
    } else {
        let host = http_host
            .or_else(|| attrs.non_empty(SpanKey::NetPeerName))
            .or_else(|| attrs.non_empty(SpanKey::NetPeerIp))
            .or_else(|| attrs.non_empty(SpanKey::ServerAddress));
        let port = port(
            attrs,
            &[
                SpanKey::NetPeerPort,
                SpanKey::ServerPort,
                SpanKey::NetworkPeerPort,
            ],
        );
        (host, port)
    };
    let host = host?;
    let mut url = String::with_capacity(scheme.len() + host.len() + 64);
    url.push_str(scheme);
    url.push_str("://");
    url.push_str(host);
    // `http.host` already carries the port when it is not the default.
    if http_host.is_none() {
        if let Some(port) = port.filter(|p| !is_default_port(scheme, p)) {
            push_port(&mut url, port);
        }
    }
    if let Some(target) = attrs.non_empty(SpanKey::HttpTarget) {
        url.push_str(target);
    } else {
        url.push_str(attrs.non_empty(SpanKey::UrlPath).unwrap_or("/"));
        if let Some(q) = attrs.non_empty(SpanKey::UrlQuery) {
            if !q.starts_with('?') {
                url.push('?');
            }
            url.push_str(q);
        }
    }
    Some(Cow::Owned(url))
}

/// The first of `keys` with a value that has a text (see [`value_text`]).
fn port<'a>(attrs: &SpanAttrs<'a>, keys: &[SpanKey]) -> Option<&'a Value> {
    keys.iter().find_map(|k| {
        attrs.get(*k).filter(|v| match v {
            Value::String(s) => !s.as_str().is_empty(),
            Value::Array(_) => false,
            _ => true,
        })
    })
}

/// Whether the text of `port` (its `Display`, the same as [`value_text`]) is
/// the default port of `scheme`.
fn is_default_port(scheme: &str, port: &Value) -> bool {
    let default = match scheme {
        "http" => 80,
        "https" => 443,
        _ => return false,
    };
    match port {
        Value::I64(p) => *p == default,
        other => value_text(other).is_some_and(|text| text == default.to_string()),
    }
}

/// Appends `:` and the text of `port` (its `Display`, as [`value_text`]).
///
/// A port is mostly an integer: its digits are written straight into the
/// URL, where its text as a `String` of its own (an allocation) cost about
/// 220 instructions per span and writing it through `fmt` about 300
/// (`aws_client` in `benches/translate.rs`, callgrind: 13,149 -> 12,930 in all).
fn push_port(url: &mut String, port: &Value) {
    url.push(':');
    match port {
        Value::I64(p) if (0..=i64::from(u16::MAX)).contains(p) => {
            let mut digits = [0u8; 5];
            let (mut rest, mut at) = (*p, digits.len());
            loop {
                at -= 1;
                digits[at] = b'0' + (rest % 10) as u8;
                rest /= 10;
                if rest == 0 {
                    break;
                }
            }
            url.extend(digits[at..].iter().map(|&d| char::from(d)));
        }
        other => {
            let _ = write!(url, "{other}");
        }
    }
}

/// `scheme://user:secret@host/…` without the user info.
fn strip_user_info(url: &str) -> Cow<'_, str> {
    let Some(start) = authority_start(url) else {
        return Cow::Borrowed(url);
    };
    let authority_end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    match url[start..authority_end].rfind('@') {
        Some(at) => Cow::Owned(format!("{}{}", &url[..start], &url[start + at + 1..])),
        None => Cow::Borrowed(url),
    }
}

/// The payload size of a `message.type=RECEIVED` message, on the span or an event.
fn received_size(span: &SpanData, attrs: &SpanAttrs<'_>) -> Option<i64> {
    let size_keys = [
        "messaging.message_payload_size_bytes",
        "messaging.message.body.size",
    ];
    if attrs.str(SpanKey::MessageType) == Some("RECEIVED") {
        if let Some(n) = attrs
            .int(SpanKey::MessagingPayloadSize)
            .or_else(|| attrs.int(SpanKey::MessagingBodySize))
        {
            return Some(n);
        }
    }
    span.events.iter().find_map(|e| {
        let received = e.attributes.iter().any(|kv| {
            kv.key.as_str() == "message.type"
                && matches!(&kv.value, Value::String(s) if s.as_str() == "RECEIVED")
        });
        if !received {
            return None;
        }
        e.attributes
            .iter()
            .find(|kv| size_keys.contains(&kv.key.as_str()))
            .and_then(|kv| super::attrs::value_int(&kv.value))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_written_as_their_text() {
        for port in [
            Value::I64(0),
            Value::I64(9),
            Value::I64(10),
            Value::I64(443),
            Value::I64(8080),
            Value::I64(65_535),
            Value::I64(65_536),
            Value::I64(-1),
            Value::I64(i64::MIN),
            Value::F64(80.5),
            Value::from("8443"),
        ] {
            let mut url = String::from("http://h");
            push_port(&mut url, &port);
            assert_eq!(url, format!("http://h:{}", value_text(&port).unwrap()));
        }
    }

    #[test]
    fn default_ports_are_recognised_in_any_form() {
        for (scheme, port, default) in [
            ("http", Value::I64(80), true),
            ("http", Value::from("80"), true),
            ("http", Value::F64(80.0), true),
            ("https", Value::I64(443), true),
            ("https", Value::I64(80), false),
            ("http", Value::I64(443), false),
            ("http", Value::from("8080"), false),
            ("ftp", Value::I64(21), false),
        ] {
            assert_eq!(is_default_port(scheme, &port), default, "{scheme} {port}");
        }
    }

    #[test]
    fn user_info_is_removed_from_urls() {
        assert_eq!(
            strip_user_info("https://u:p@h.com/x?a=@"),
            "https://h.com/x?a=@"
        );
        assert!(matches!(
            strip_user_info("https://h.com/a@b"),
            Cow::Borrowed(_)
        ));
        assert_eq!(strip_user_info("no-scheme"), "no-scheme");
    }
}
