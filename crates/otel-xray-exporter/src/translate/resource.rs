//! The resource side of a document, prepared once per resource.
//!
//! Every span an exporter sends carries the same [`Resource`], so finding the
//! attributes the blocks read, the `origin`, and the key order of the
//! `otel.resource.*` metadata is done once per resource and kept in a small
//! cache of the [`Translator`](super::Translator) ([`CACHED_RESOURCES`] entries,
//! the oldest replaced first).
//!
//! **Why the cache never answers with another resource's data.** An entry is
//! used only for a resource with the same attributes: the same count, and
//! every key and value equal to the entry's, compared in the order the
//! resource yields them (only `Resource::len` and `Resource::iter` are relied
//! on). Clones of one resource yield their attributes in the same order, so
//! the comparison is one pass without hashing; an equal resource that yields
//! them in another order only misses the cache and is prepared again. Before
//! comparing, one check settles the common case: a clone of the entry's own
//! resource yields its first key at the same address as the entry's kept
//! clone (see `Prepared::is_for`).

use std::borrow::Cow;
use std::fmt;
use std::sync::{Mutex, TryLockError};

use opentelemetry::{Key, Value};
use opentelemetry_sdk::Resource;

use super::attrs::value_text;
use super::keys::{resource_key, ResourceKey, RESOURCE_KEYS, RESOURCE_PREFIX};
use crate::TranslatorConfig;

/// How many resources a translator keeps prepared.
pub(crate) const CACHED_RESOURCES: usize = 4;

/// The resource attributes the blocks read.
pub(crate) struct ResourceAttrs<'a> {
    found: Found<'a>,
    /// The resource itself (for keys chosen by the configuration).
    pub(crate) resource: &'a Resource,
    /// The document `origin` for this resource.
    pub(crate) origin: Option<&'static str>,
}

// Lives on the stack for one translation; boxing the scan would allocate.
#[allow(clippy::large_enum_variant)]
enum Found<'a> {
    /// Per known key, its value.
    Scanned([Option<&'a Value>; RESOURCE_KEYS]),
    Prepared(&'a Prepared),
}

impl<'a> ResourceAttrs<'a> {
    /// Scans `resource` (no cache).
    pub(crate) fn new(resource: &'a Resource) -> Self {
        let mut found = [None; RESOURCE_KEYS];
        for (k, v) in resource.iter() {
            if let Some(r) = resource_key(k.as_str()) {
                found[r as usize] = Some(v);
            }
        }
        let mut attrs = ResourceAttrs {
            found: Found::Scanned(found),
            resource,
            origin: None,
        };
        attrs.origin = origin(&attrs);
        attrs
    }

    fn prepared(p: &'a Prepared) -> Self {
        ResourceAttrs {
            found: Found::Prepared(p),
            resource: &p.resource,
            origin: p.origin,
        }
    }

    pub(crate) fn get(&self, k: ResourceKey) -> Option<&'a Value> {
        match &self.found {
            Found::Scanned(found) => found[k as usize],
            Found::Prepared(p) => p.sorted.get(p.found[k as usize]).map(|(_, v)| v),
        }
    }

    /// A non-empty string value.
    pub(crate) fn str(&self, k: ResourceKey) -> Option<&'a str> {
        match self.get(k)? {
            Value::String(s) if !s.as_str().is_empty() => Some(s.as_str()),
            _ => None,
        }
    }

    /// The first item of a string list, or the string itself.
    pub(crate) fn first_str(&self, k: ResourceKey) -> Option<&'a str> {
        match self.get(k)? {
            Value::Array(opentelemetry::Array::String(v)) => v.first().map(|s| s.as_str()),
            Value::String(s) => Some(s.as_str()),
            _ => None,
        }
        .filter(|s| !s.is_empty())
    }

    pub(crate) fn text(&self, k: ResourceKey) -> Option<Cow<'a, str>> {
        value_text(self.get(k)?)
    }

    /// Every attribute, sorted by key: the SDK keeps them in a hash map, and the
    /// same resource must always give the same document. Each comes with its
    /// metadata key, `otel.resource.` + key, and whether `config` redacts it,
    /// which a prepared resource holds ready: joining and re-checking the key
    /// per span was about 6 % of translating a segment, the redaction check
    /// another 1.5 % (callgrind, `benches/translate.rs` `http_server_no_events`).
    /// A prepared resource was prepared with `config`: each translator has its
    /// own cache ([`ResourceCache::with`]).
    pub(crate) fn sorted(
        &self,
        config: &TranslatorConfig,
    ) -> impl Iterator<Item = (&'a str, Cow<'a, str>, &'a Value, bool)> {
        let (prepared, scanned) = match &self.found {
            Found::Prepared(p) => (
                Some(p.sorted.iter().zip(&p.metadata_keys).zip(&p.redacted).map(
                    |(((k, v), m), redacted)| (k.as_str(), Cow::Borrowed(m.as_str()), v, *redacted),
                )),
                None,
            ),
            Found::Scanned(_) => {
                let mut all: Vec<_> = self
                    .resource
                    .iter()
                    .map(|(k, v)| {
                        let key = k.as_str();
                        (
                            key,
                            Cow::Owned(metadata_key(key)),
                            v,
                            config.is_redacted(key),
                        )
                    })
                    .collect();
                all.sort_unstable_by(|a, b| a.0.cmp(b.0));
                (None, Some(all.into_iter()))
            }
        };
        prepared
            .into_iter()
            .flatten()
            .chain(scanned.into_iter().flatten())
    }
}

/// What [`ResourceAttrs`] needs, owned, for one resource.
struct Prepared {
    /// A clone of the resource (for keys chosen by the configuration).
    resource: Resource,
    /// Clones of every attribute, sorted by key.
    sorted: Vec<(Key, Value)>,
    /// Per attribute of `sorted`, its metadata key ([`metadata_key`]).
    metadata_keys: Vec<String>,
    /// Per attribute of `sorted`, whether the translator's configuration
    /// redacts it.
    redacted: Vec<bool>,
    /// Per attribute in the resource's iteration order, its index in `sorted`.
    order: Vec<usize>,
    /// Per known key, its index in `sorted` (`usize::MAX` when absent).
    found: [usize; RESOURCE_KEYS],
    origin: Option<&'static str>,
}

impl Prepared {
    fn new(resource: &Resource, config: &TranslatorConfig) -> Prepared {
        // Each attribute with its place in the resource's iteration order.
        let mut attrs: Vec<(usize, Key, Value)> = resource
            .iter()
            .enumerate()
            .map(|(i, (k, v))| (i, k.clone(), v.clone()))
            .collect();
        attrs.sort_unstable_by(|a, b| a.1.as_str().cmp(b.1.as_str()));
        let mut order = vec![0; attrs.len()];
        for (at, (i, _, _)) in attrs.iter().enumerate() {
            order[*i] = at;
        }
        let sorted: Vec<(Key, Value)> = attrs.into_iter().map(|(_, k, v)| (k, v)).collect();
        let mut found = [usize::MAX; RESOURCE_KEYS];
        for (i, (k, _)) in sorted.iter().enumerate() {
            if let Some(r) = resource_key(k.as_str()) {
                found[r as usize] = i;
            }
        }
        let metadata_keys = sorted
            .iter()
            .map(|(k, _)| metadata_key(k.as_str()))
            .collect();
        let redacted = sorted
            .iter()
            .map(|(k, _)| config.is_redacted(k.as_str()))
            .collect();
        let mut p = Prepared {
            resource: resource.clone(),
            sorted,
            metadata_keys,
            redacted,
            order,
            found,
            origin: None,
        };
        p.origin = origin(&ResourceAttrs::prepared(&p));
        p
    }

    /// `resource` has exactly this entry's attributes (see the module docs).
    fn is_for(&self, resource: &Resource) -> bool {
        if resource.len() != self.order.len() {
            return false;
        }
        // A clone of the resource this entry was prepared from (the exporter's
        // own, the SDK's per batch) shares its attributes with `self.resource`,
        // which this entry keeps alive: while it lives no other attribute can
        // sit at the address of its first key, so the same address means the
        // same attributes. Anything else is compared by content. Callgrind,
        // `benches/translate.rs`, instructions per span: 21,255 -> 20,612
        // (`http_server_no_events`), 13,697 -> 13,055 (`aws_client`),
        // 7,016 -> 6,374 (`internal`, -9 %).
        if let (Some((ours, _)), Some((theirs, _))) =
            (self.resource.iter().next(), resource.iter().next())
        {
            if std::ptr::eq(ours, theirs) {
                return true;
            }
        }
        resource.iter().zip(&self.order).all(|((k, v), &at)| {
            let (key, value) = &self.sorted[at];
            same_str(key.as_str(), k.as_str()) && same_value(value, v)
        })
    }
}

/// The metadata key of resource attribute `key`: `otel.resource.` + `key`.
fn metadata_key(key: &str) -> String {
    [RESOURCE_PREFIX, key].concat()
}

/// `a == b`, without reading the bytes when both are the same live string (as
/// for the keys and values of a resource's clones, which share them).
fn same_str(a: &str, b: &str) -> bool {
    (a.as_ptr() == b.as_ptr() && a.len() == b.len()) || a == b
}

/// `a == b`, strings compared as in [`same_str`].
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(a), Value::String(b)) => same_str(a.as_str(), b.as_str()),
        (Value::I64(a), Value::I64(b)) => a == b,
        (Value::Bool(a), Value::Bool(b)) => a == b,
        _ => a == b,
    }
}

/// The last [`CACHED_RESOURCES`] resources translated against, prepared.
///
/// A clone starts empty: clones of a translator used on several threads do
/// not wait for each other.
#[derive(Default)]
pub(crate) struct ResourceCache {
    slots: Mutex<Slots>,
}

#[derive(Default)]
struct Slots {
    entries: Vec<Prepared>,
    /// The entry to replace next when full.
    next: usize,
}

impl Clone for ResourceCache {
    fn clone(&self) -> Self {
        ResourceCache::default()
    }
}

impl fmt::Debug for ResourceCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceCache")
            .field("resources", &self.len())
            .finish()
    }
}

impl ResourceCache {
    /// Calls `f` with the attributes of `resource`, from the cache when it is
    /// free; a translation on another thread holding it makes this one scan.
    /// `config` is the configuration of the translator that owns this cache
    /// (always the same one: a reconfigured translator gets a new cache).
    pub(crate) fn with<T>(
        &self,
        resource: &Resource,
        config: &TranslatorConfig,
        f: impl for<'r> FnOnce(&ResourceAttrs<'r>) -> T,
    ) -> T {
        let mut slots = match self.slots.try_lock() {
            Ok(s) => s,
            // Entries are only ever replaced whole, so a panic elsewhere
            // cannot have left one half-written.
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return f(&ResourceAttrs::new(resource)),
        };
        let slots = &mut *slots;
        if resource.is_empty() {
            return f(&ResourceAttrs::new(resource));
        }
        let at = match slots.entries.iter().position(|p| p.is_for(resource)) {
            Some(i) => i,
            None => slots.insert(Prepared::new(resource, config)),
        };
        f(&ResourceAttrs::prepared(&slots.entries[at]))
    }

    /// How many resources are prepared.
    pub(crate) fn len(&self) -> usize {
        let slots = self.slots.lock();
        slots.map_or_else(|p| p.into_inner().entries.len(), |s| s.entries.len())
    }
}

impl Slots {
    fn insert(&mut self, p: Prepared) -> usize {
        if self.entries.len() < CACHED_RESOURCES {
            self.entries.push(p);
            return self.entries.len() - 1;
        }
        let at = self.next;
        self.next = (self.next + 1) % CACHED_RESOURCES;
        self.entries[at] = p;
        at
    }
}

/// The AWS resource type for the resource's `cloud.platform`.
pub(crate) fn origin(res: &ResourceAttrs<'_>) -> Option<&'static str> {
    if res
        .str(ResourceKey::CloudProvider)
        .is_some_and(|p| p != "aws")
    {
        return None;
    }
    Some(match res.str(ResourceKey::CloudPlatform)? {
        "aws_ec2" => "AWS::EC2::Instance",
        "aws_ecs" => match res.str(ResourceKey::AwsEcsLaunchtype) {
            Some("ec2") => "AWS::ECS::EC2",
            Some("fargate") => "AWS::ECS::Fargate",
            _ => "AWS::ECS::Container",
        },
        "aws_eks" => "AWS::EKS::Container",
        "aws_elastic_beanstalk" => "AWS::ElasticBeanstalk::Environment",
        "aws_app_runner" => "AWS::AppRunner::Service",
        "aws_lambda" => "AWS::Lambda::Function",
        _ => return None,
    })
}
