//! Annotation and metadata values, and attribute maps, written without
//! intermediate JSON trees.

use std::borrow::Cow;
use std::fmt;

use opentelemetry::{Array, Value};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// An annotation value: the schema only allows string, number and boolean.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum AnnotationValue<'a> {
    /// A string, ≤ 1000 chars.
    Str(Cow<'a, str>),
    /// An integer.
    Int(i64),
    /// A finite float (non-finite floats become strings).
    Float(f64),
    /// A boolean.
    Bool(bool),
}

/// The `annotations` object, in insertion order (≤ 50 entries, keys `[A-Za-z0-9_]{1,500}`).
#[derive(Debug, Clone, Default)]
pub struct Annotations<'a>(pub Vec<(Cow<'a, str>, AnnotationValue<'a>)>);

impl Annotations<'_> {
    /// No annotations.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&AnnotationValue<'_>> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

impl Serialize for Annotations<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// A metadata or attribute-map key.
#[derive(Debug, Clone, PartialEq)]
pub enum EntryKey<'a> {
    /// The key as is.
    Plain(Cow<'a, str>),
    /// `prefix` immediately followed by the key (e.g. `otel.resource.` + `host.name`),
    /// written without building the joined string.
    Prefixed(&'static str, &'a str),
}

impl EntryKey<'_> {
    /// True if the written key equals `s`.
    pub fn matches(&self, s: &str) -> bool {
        match self {
            EntryKey::Plain(k) => k == s,
            EntryKey::Prefixed(p, k) => s.strip_prefix(p) == Some(k),
        }
    }
}

impl fmt::Display for EntryKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntryKey::Plain(k) => f.write_str(k),
            EntryKey::Prefixed(p, k) => {
                f.write_str(p)?;
                f.write_str(k)
            }
        }
    }
}

impl Serialize for EntryKey<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            EntryKey::Plain(k) => s.serialize_str(k),
            EntryKey::Prefixed(p, k) => serialize_joined(s, &[p, k]),
        }
    }
}

/// Serialises the concatenation of `parts` as one string, on the stack when short
/// (the `fmt` route of `collect_str` costs more than the copy).
pub(super) fn serialize_joined<S: Serializer>(s: S, parts: &[&str]) -> Result<S::Ok, S::Error> {
    let mut buf = [0u8; 192];
    let mut len = 0;
    for p in parts {
        let end = len + p.len();
        if end > buf.len() {
            return s.collect_str(&Joined(parts));
        }
        buf[len..end].copy_from_slice(p.as_bytes());
        len = end;
    }
    match std::str::from_utf8(&buf[..len]) {
        Ok(joined) => s.serialize_str(joined),
        Err(_) => s.collect_str(&Joined(parts)),
    }
}

struct Joined<'p>(&'p [&'p str]);

impl fmt::Display for Joined<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|p| f.write_str(p))
    }
}

/// A metadata (or link/event attribute) value.
#[derive(Debug, Clone, PartialEq)]
pub enum EntryValue<'a> {
    /// An OpenTelemetry attribute value, written as its JSON equivalent
    /// (non-finite floats as `null`).
    Attribute(&'a Value),
    /// A string (truncated or redacted values).
    Str(Cow<'a, str>),
    /// An integer.
    Int(i64),
    /// Parsed JSON (from `aws.xray.metadata.<ns>` attributes).
    Json(serde_json::Value),
    /// A nested object.
    Map(Vec<Entry<'a>>),
    /// A list of objects.
    List(Vec<EntryValue<'a>>),
    /// A timestamp in epoch seconds.
    Time(f64),
}

/// A key/value pair of metadata, link or event attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry<'a> {
    /// The key.
    pub key: EntryKey<'a>,
    /// The value.
    pub value: EntryValue<'a>,
}

pub(super) fn entries<S: Serializer>(list: &[Entry<'_>], s: S) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(list.len()))?;
    for e in list {
        m.serialize_entry(&e.key, &e.value)?;
    }
    m.end()
}

struct Entries<'e, 'a>(&'e [Entry<'a>]);

impl Serialize for Entries<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        entries(self.0, s)
    }
}

impl Serialize for EntryValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            EntryValue::Attribute(v) => AttributeJson(v).serialize(s),
            EntryValue::Str(v) => s.serialize_str(v),
            EntryValue::Int(v) => s.serialize_i64(*v),
            EntryValue::Json(v) => v.serialize(s),
            EntryValue::Map(v) => entries(v, s),
            EntryValue::List(v) => {
                let mut seq = s.serialize_seq(Some(v.len()))?;
                for item in v {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            EntryValue::Time(t) => s.serialize_f64(*t),
        }
    }
}

/// Writes an OpenTelemetry [`Value`] as JSON without an intermediate tree.
pub struct AttributeJson<'v>(pub &'v Value);

impl Serialize for AttributeJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Bool(b) => s.serialize_bool(*b),
            Value::I64(i) => s.serialize_i64(*i),
            Value::F64(f) => s.serialize_f64(*f),
            Value::String(v) => s.serialize_str(v.as_str()),
            Value::Array(a) => match a {
                Array::Bool(v) => v.serialize(s),
                Array::I64(v) => v.serialize(s),
                Array::F64(v) => v.serialize(s),
                Array::String(v) => {
                    let mut seq = s.serialize_seq(Some(v.len()))?;
                    for item in v {
                        seq.serialize_element(item.as_str())?;
                    }
                    seq.end()
                }
                other => s.collect_str(other),
            },
            other => s.collect_str(other),
        }
    }
}

/// The `metadata` object: `default` first, then the other namespaces in
/// insertion order. Empty namespaces are not written.
#[derive(Debug, Clone, Default)]
pub struct Metadata<'a> {
    /// Namespace `default`, where span attributes go.
    // Kept apart so that ordinary spans, which have no other namespace, cost
    // no allocation for the namespace list: 6870 -> 6631 instructions per
    // small internal span (callgrind, `benches/translate.rs`, commit 6ab0c01).
    // Private, so the layout can change without an API change.
    pub(crate) default: Vec<Entry<'a>>,
    /// Every other namespace, as `(namespace, entries)` pairs.
    pub(crate) namespaces: Vec<(Cow<'a, str>, Vec<Entry<'a>>)>,
}

/// The name of the namespace kept in [`Metadata::default`].
const DEFAULT: &str = "default";

impl<'a> Metadata<'a> {
    /// No namespace has an entry.
    pub fn is_empty(&self) -> bool {
        self.default.is_empty() && self.namespaces.iter().all(|(_, e)| e.is_empty())
    }

    /// Every namespace with its entries, `default` first.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[Entry<'a>])> {
        let rest = self.namespaces.iter().map(|(n, e)| (&**n, e.as_slice()));
        std::iter::once((DEFAULT, self.default.as_slice())).chain(rest)
    }

    /// Every namespace with its entries, mutable, `default` first.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut Vec<Entry<'a>>)> {
        let rest = self.namespaces.iter_mut().map(|(n, e)| (&**n, e));
        std::iter::once((DEFAULT, &mut self.default)).chain(rest)
    }

    /// The entries of namespace `ns`, created (empty) if missing.
    pub fn namespace_mut(&mut self, ns: &str) -> &mut Vec<Entry<'a>> {
        if ns == DEFAULT {
            return &mut self.default;
        }
        let at = match self.namespaces.iter().position(|(n, _)| n == ns) {
            Some(i) => i,
            None => {
                self.namespaces
                    .push((Cow::Owned(ns.to_owned()), Vec::new()));
                self.namespaces.len() - 1
            }
        };
        &mut self.namespaces[at].1
    }

    /// The entries of namespace `ns` (`default` is always there, maybe empty).
    pub fn namespace(&self, ns: &str) -> Option<&[Entry<'a>]> {
        self.iter().find(|(n, _)| *n == ns).map(|(_, e)| e)
    }

    /// The value under `key` in namespace `ns`.
    pub fn get(&self, ns: &str, key: &str) -> Option<&EntryValue<'a>> {
        self.namespace(ns)?
            .iter()
            .find(|e| e.key.matches(key))
            .map(|e| &e.value)
    }
}

impl Serialize for Metadata<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for (ns, list) in self.iter() {
            if !list.is_empty() {
                m.serialize_entry(ns, &Entries(list))?;
            }
        }
        m.end()
    }
}
