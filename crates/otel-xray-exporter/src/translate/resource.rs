//! The resource side of a document, prepared once per resource.
//!
//! Every span an exporter sends carries the same [`Resource`], so finding the
//! attributes the blocks read, the `origin`, and the key order of the
//! `otel.resource.*` metadata is done once per resource and kept in a small
//! cache of the [`Translator`](super::Translator) ([`CACHED_RESOURCES`] entries,
//! the oldest replaced first).
//!
//! **Why the cache never answers with another resource's data.** A `Resource`
//! is an `Arc` around an immutable attribute table. An entry keeps a clone of
//! its resource, so that table stays allocated for as long as the entry exists
//! and no other table can be given its address. A resource is recognised by
//! the address of the first key its iterator yields (plus the attribute
//! count): an equal address is inside the entry's live table, and only the
//! resources sharing that table (clones, equal by construction) can yield it.
//! The SDK changes a table only through `Arc::make_mut`, which copies a shared
//! table first, so the entry's table never changes under it.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Mutex, TryLockError};

use opentelemetry::{Key, Value};
use opentelemetry_sdk::Resource;

use super::attrs::{resource_key, value_text, R, RESOURCE_KEYS};

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
        attrs.origin = super::aws::origin(&attrs);
        attrs
    }

    fn prepared(p: &'a Prepared) -> Self {
        ResourceAttrs {
            found: Found::Prepared(p),
            resource: &p.resource,
            origin: p.origin,
        }
    }

    pub(crate) fn get(&self, k: R) -> Option<&'a Value> {
        match &self.found {
            Found::Scanned(found) => found[k as usize],
            Found::Prepared(p) => p.sorted.get(p.found[k as usize]).map(|(_, v)| v),
        }
    }

    /// A non-empty string value.
    pub(crate) fn str(&self, k: R) -> Option<&'a str> {
        match self.get(k)? {
            Value::String(s) if !s.as_str().is_empty() => Some(s.as_str()),
            _ => None,
        }
    }

    /// The first item of a string list, or the string itself.
    pub(crate) fn first_str(&self, k: R) -> Option<&'a str> {
        match self.get(k)? {
            Value::Array(opentelemetry::Array::String(v)) => v.first().map(|s| s.as_str()),
            Value::String(s) => Some(s.as_str()),
            _ => None,
        }
        .filter(|s| !s.is_empty())
    }

    pub(crate) fn text(&self, k: R) -> Option<Cow<'a, str>> {
        value_text(self.get(k)?)
    }

    /// Every attribute, sorted by key: the SDK keeps them in a hash map, and the
    /// same resource must always give the same document.
    pub(crate) fn sorted(&self) -> impl Iterator<Item = (&'a str, &'a Value)> {
        let (prepared, scanned) = match &self.found {
            Found::Prepared(p) => (Some(p.sorted.iter().map(|(k, v)| (k.as_str(), v))), None),
            Found::Scanned(_) => {
                let mut all: Vec<_> = self.resource.iter().map(|(k, v)| (k.as_str(), v)).collect();
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
    /// Keeps the attribute table alive (see the module docs).
    resource: Resource,
    identity: Identity,
    /// Clones of every attribute, sorted by key.
    sorted: Vec<(Key, Value)>,
    /// Per known key, its index in `sorted` (`usize::MAX` when absent).
    found: [usize; RESOURCE_KEYS],
    origin: Option<&'static str>,
}

/// The attribute table of a resource: the address of its first key, and its length.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Identity {
    first_key: usize,
    len: usize,
}

impl Identity {
    /// `None` for an empty resource (nothing to prepare).
    fn of(resource: &Resource) -> Option<Identity> {
        let (first, _) = resource.iter().next()?;
        Some(Identity {
            first_key: std::ptr::from_ref(first) as usize,
            len: resource.len(),
        })
    }
}

impl Prepared {
    fn new(resource: &Resource, identity: Identity) -> Prepared {
        let mut sorted: Vec<(Key, Value)> = resource
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        sorted.sort_unstable_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        let mut found = [usize::MAX; RESOURCE_KEYS];
        for (i, (k, _)) in sorted.iter().enumerate() {
            if let Some(r) = resource_key(k.as_str()) {
                found[r as usize] = i;
            }
        }
        let mut p = Prepared {
            resource: resource.clone(),
            identity,
            sorted,
            found,
            origin: None,
        };
        p.origin = super::aws::origin(&ResourceAttrs::prepared(&p));
        p
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
    pub(crate) fn with<T>(
        &self,
        resource: &Resource,
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
        let Some(identity) = Identity::of(resource) else {
            return f(&ResourceAttrs::new(resource));
        };
        let at = match slots.entries.iter().position(|p| p.identity == identity) {
            Some(i) => i,
            None => slots.insert(Prepared::new(resource, identity)),
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
