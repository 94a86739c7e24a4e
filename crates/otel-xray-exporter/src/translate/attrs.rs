//! One pass over the span's attributes that finds every known key (see
//! [`keys`](super::keys)) a block reads, so blocks look keys up by index
//! instead of scanning.

use std::borrow::Cow;

use opentelemetry::{KeyValue, Value};

use super::keys::{span_key, SpanKey, SPAN_KEYS, XRAY_PREFIX};

// One bit per known span key in `SpanAttrs::present`.
const _: () = assert!(SPAN_KEYS <= 64);

/// The bits of `keys` in [`SpanAttrs::any`].
pub(crate) const fn mask(keys: &[SpanKey]) -> u64 {
    let mut m = 0;
    let mut i = 0;
    while i < keys.len() {
        m |= 1 << keys[i] as u32;
        i += 1;
    }
    m
}

/// The span's attributes, the known keys found in them, and which were consumed
/// by a block (consumed attributes do not go to metadata).
pub(crate) struct SpanAttrs<'a> {
    pub(crate) all: &'a [KeyValue],
    /// Per known key, the index of its (last) attribute; [`FAR`] past 253.
    // One byte each: the table is set up for every span, and the SDK keeps at
    // most 128 attributes by default.
    found: [u8; SPAN_KEYS],
    /// Bit `k` set when known key `k` is present: a block checks all its keys at once.
    present: u64,
    /// Some key starts with `aws.xray.` (so most spans skip those rules' scans).
    pub(crate) xray_prefixed: bool,
    consumed: Bits,
    /// How many bits of `consumed` are set (counted as they are set: without
    /// a `popcnt` instruction in the baseline x86-64 target, counting them
    /// afterwards costs more).
    consumed_count: usize,
    /// A known key occurs more than once.
    duplicates: bool,
}

/// One bit per attribute; no allocation for up to 128 attributes.
enum Bits {
    Inline(u128),
    Heap(Vec<u64>),
}

impl Bits {
    fn new(n: usize) -> Bits {
        if n <= 128 {
            Bits::Inline(0)
        } else {
            Bits::Heap(vec![0; n.div_ceil(64)])
        }
    }

    /// Sets bit `i`; true if it was not set before.
    fn set(&mut self, i: usize) -> bool {
        let (word, bit) = match self {
            Bits::Inline(b) => {
                let new = *b & 1 << i == 0;
                *b |= 1 << i;
                return new;
            }
            Bits::Heap(v) => (&mut v[i / 64], 1 << (i % 64)),
        };
        let new = *word & bit == 0;
        *word |= bit;
        new
    }

    fn get(&self, i: usize) -> bool {
        match self {
            Bits::Inline(b) => *b & (1 << i) != 0,
            Bits::Heap(v) => v[i / 64] & (1 << (i % 64)) != 0,
        }
    }
}

/// In [`SpanAttrs::found`]: the key is absent.
const NONE: u8 = u8::MAX;
/// In [`SpanAttrs::found`]: the key's index does not fit in a byte; look it up.
const FAR: u8 = u8::MAX - 1;

impl<'a> SpanAttrs<'a> {
    /// The known keys of `all`, found.
    // Inlined so the table is built where the caller keeps it: returned from
    // a call, it is copied (1952 -> 1658 instructions for `build` and this
    // per small internal span; callgrind on `benches/translate.rs`).
    #[inline(always)]
    pub(crate) fn new(all: &'a [KeyValue]) -> Self {
        let mut attrs = SpanAttrs {
            all,
            found: [NONE; SPAN_KEYS],
            present: 0,
            xray_prefixed: false,
            consumed: Bits::new(all.len()),
            consumed_count: 0,
            duplicates: false,
        };
        for (i, kv) in all.iter().enumerate() {
            let key = kv.key.as_str();
            attrs.xray_prefixed |= key.starts_with(XRAY_PREFIX);
            if let Some(k) = span_key(key) {
                let bit = 1 << k as u32;
                attrs.duplicates |= attrs.present & bit != 0;
                attrs.present |= bit;
                // The SDK appends repeated `set_attribute` calls: the last one wins,
                // as it does for any JSON reader of the duplicated metadata key.
                attrs.found[k as usize] = u8::try_from(i).unwrap_or(FAR).min(FAR);
            }
        }
        attrs
    }

    pub(crate) fn get(&self, k: SpanKey) -> Option<&'a Value> {
        if !self.has(k) {
            return None;
        }
        // Present, so not NONE.
        let i = match self.found[k as usize] {
            FAR => self.far_index(k)?,
            i => usize::from(i),
        };
        self.all.get(i).map(|kv| &kv.value)
    }

    /// Index of the last attribute with known key `k`.
    #[inline]
    fn index(&self, k: SpanKey) -> Option<usize> {
        match self.found[k as usize] {
            i if i < FAR => Some(usize::from(i)),
            NONE => None,
            _ => self.far_index(k),
        }
    }

    #[cold]
    fn far_index(&self, k: SpanKey) -> Option<usize> {
        self.all
            .iter()
            .rposition(|kv| span_key(kv.key.as_str()) == Some(k))
    }

    pub(crate) fn str(&self, k: SpanKey) -> Option<&'a str> {
        match self.get(k)? {
            Value::String(s) => Some(s.as_str()),
            _ => None,
        }
    }

    /// A non-empty string value.
    pub(crate) fn non_empty(&self, k: SpanKey) -> Option<&'a str> {
        self.str(k).filter(|s| !s.is_empty())
    }

    /// An integer, also from a numeric string or whole float.
    pub(crate) fn int(&self, k: SpanKey) -> Option<i64> {
        value_int(self.get(k)?)
    }

    pub(crate) fn has(&self, k: SpanKey) -> bool {
        self.present & (1 << k as u32) != 0
    }

    /// Any of the keys of `mask` (see [`mask`]) is present.
    pub(crate) fn any(&self, mask: u64) -> bool {
        self.present & mask != 0
    }

    /// Marks `k` as consumed (kept out of metadata), every occurrence of it.
    #[inline]
    pub(crate) fn consume(&mut self, k: SpanKey) {
        let Some(i) = self.index(k) else {
            return;
        };
        self.consume_index(i);
        if self.duplicates {
            let key = self.all[i].key.as_str();
            for (j, kv) in self.all[..i].iter().enumerate() {
                if kv.key.as_str() == key {
                    self.consumed_count += usize::from(self.consumed.set(j));
                }
            }
        }
    }

    pub(crate) fn consume_index(&mut self, i: usize) {
        self.consumed_count += usize::from(self.consumed.set(i));
    }

    pub(crate) fn is_consumed(&self, i: usize) -> bool {
        self.consumed.get(i)
    }

    /// How many attributes no block consumed (so far).
    pub(crate) fn unconsumed(&self) -> usize {
        self.all.len() - self.consumed_count
    }

    /// Index of the last attribute named `key` (a repeated key: the last one wins,
    /// as for the known keys).
    pub(crate) fn position(&self, key: &str) -> Option<usize> {
        if let Some(k) = span_key(key) {
            return self.index(k);
        }
        self.all.iter().rposition(|kv| kv.key.as_str() == key)
    }
}

/// A scalar as text; `None` for arrays and empty strings.
// Inlined (numbers apart): a returned `Option<Cow>` read back from memory
// stalls the caller on the callee's stores.
#[inline]
pub(crate) fn value_text(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) if !s.as_str().is_empty() => Some(Cow::Borrowed(s.as_str())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        Value::I64(_) | Value::F64(_) => number_text(v),
        _ => None,
    }
}

fn number_text(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::I64(i) => Some(Cow::Owned(i.to_string())),
        Value::F64(f) => Some(Cow::Owned(f.to_string())),
        _ => None,
    }
}

/// An integer from an int, a whole float or a decimal string.
pub(crate) fn value_int(v: &Value) -> Option<i64> {
    match v {
        Value::I64(i) => Some(*i),
        Value::F64(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i64),
        Value::String(s) => s.as_str().trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fillers(n: usize) -> Vec<KeyValue> {
        (0..n)
            .map(|i| KeyValue::new(format!("filler.{i}"), i as i64))
            .collect()
    }

    #[test]
    fn known_keys_past_the_byte_table_are_found_and_consumed() {
        let mut all = fillers(300);
        all.insert(10, KeyValue::new("url.path", "/first"));
        all.push(KeyValue::new("url.path", "/last"));
        all.push(KeyValue::new("http.request.method", "GET"));
        let mut attrs = SpanAttrs::new(&all);
        assert_eq!(attrs.str(SpanKey::HttpRequestMethod), Some("GET"));
        // The last of a repeated key wins, as below the table's reach.
        assert_eq!(attrs.str(SpanKey::UrlPath), Some("/last"));
        assert_eq!(attrs.position("url.path"), Some(301));
        attrs.consume(SpanKey::UrlPath);
        assert!(attrs.is_consumed(10) && attrs.is_consumed(301));
        assert!(!attrs.is_consumed(302) && !attrs.is_consumed(11));
        // Both occurrences counted once, however often consumed.
        attrs.consume(SpanKey::UrlPath);
        attrs.consume_index(10);
        assert_eq!(attrs.unconsumed(), all.len() - 2);
        assert_eq!(attrs.str(SpanKey::HttpMethod), None);
    }

    #[test]
    fn known_keys_in_the_byte_table_keep_their_index() {
        let mut all = fillers(253);
        all.push(KeyValue::new("http.request.method", "PUT"));
        let mut attrs = SpanAttrs::new(&all);
        assert_eq!(attrs.position("http.request.method"), Some(253));
        assert_eq!(attrs.unconsumed(), 254);
        attrs.consume(SpanKey::HttpRequestMethod);
        assert!(attrs.is_consumed(253));
        assert_eq!(attrs.unconsumed(), 253);
        assert_eq!(attrs.str(SpanKey::HttpRequestMethod), Some("PUT"));
    }
}
