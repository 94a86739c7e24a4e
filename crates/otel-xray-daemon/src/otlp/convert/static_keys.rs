//! The span attribute keys the translator reads (`otel_xray_exporter::span_attribute_keys`),
//! found by their bytes: such a key becomes a static SDK key, without a UTF-8 check, an
//! allocation and a copy for every span that carries it (about 200 instructions each).
//!
//! Only these keys are in the table and nothing is ever added, so a sender cannot crowd it:
//! a lookup probes at most a few slots whatever the key.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::LazyLock;

type Table = HashMap<&'static [u8], &'static str, BuildHasherDefault<KeyHasher>>;

static KEYS: LazyLock<Table> = LazyLock::new(|| {
    otel_xray_exporter::span_attribute_keys()
        .map(|key| (key.as_bytes(), key))
        .collect()
});

/// The translator's key spelled by `bytes`, if it is one.
pub(super) fn static_key(bytes: &[u8]) -> Option<&'static str> {
    KEYS.get(bytes).copied()
}

/// Hashes a key by its length and its first and last eight bytes: enough to tell the
/// translator's keys apart, in a few instructions where SipHash reads every byte.
#[derive(Default)]
struct KeyHasher(u64);

const MIX: u64 = 0x9e37_79b9_7f4a_7c15;

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        let word = |part: &[u8]| {
            let mut word = [0; 8];
            let n = part.len().min(8);
            word[..n].copy_from_slice(&part[..n]);
            u64::from_le_bytes(word)
        };
        let head = word(bytes);
        let tail = word(&bytes[bytes.len().saturating_sub(8)..]);
        self.0 = (self.0 ^ head ^ tail.rotate_left(32)).wrapping_mul(MIX);
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = (self.0 ^ n as u64).wrapping_mul(MIX);
    }

    fn finish(&self) -> u64 {
        // The table picks slots by the low bits, which a multiplication mixes least.
        self.0 ^ (self.0 >> 29)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_translator_key_and_nothing_else() {
        let keys: Vec<&str> = otel_xray_exporter::span_attribute_keys().collect();
        assert!(keys.len() > 50);
        for key in &keys {
            assert_eq!(static_key(key.as_bytes()), Some(*key));
            // The same bytes and one more, or one fewer, are not a key.
            assert_eq!(static_key(format!("{key}x").as_bytes()), None);
            assert_eq!(static_key(&key.as_bytes()[1..]), None);
        }
        assert_eq!(static_key(b""), None);
        assert_eq!(static_key(b"order.note"), None);
        assert_eq!(static_key(&[0xff, 0xfe]), None);
    }
}
