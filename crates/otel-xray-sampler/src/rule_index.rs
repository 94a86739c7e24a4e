//! Which rules a span can match, looked up in tables built when the rules are installed.
//!
//! Trying every rule in priority order costs a few comparisons per rule on every decision, and most
//! rules fail on the first bytes of a field (`POST` against a `GET` span, `/api/v2/*` against
//! `/health`). So for each field, the rules are filed under the literal start of their pattern (up to
//! 8 bytes, case-folded), and a span's value selects the rules whose start agrees with it in one
//! table lookup per distinct start length. The selections of all fields are bit sets (one bit per
//! rule, in matching order) that are intersected; only the rules left are matched in full, in order.
//! The tables only ever leave out rules that cannot match, so the first full match is the same rule
//! the plain priority-order scan finds.

use std::sync::Arc;

use opentelemetry::Value;

use crate::live_rule::LiveRule;
use crate::matcher::{prefix_word, Pattern, PrefixFilter};

/// Rules per [`RuleBlock`]: one bit each in a `u64`.
pub(crate) const BLOCK_RULES: usize = 64;

/// What a span carries for one indexed field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Probe {
    /// The span has no value for the field.
    Absent,
    /// The value's first (up to) 8 bytes, ASCII-lowercased and zero-padded.
    Start(u64),
    /// A value the tables cannot judge (non-ASCII start, number, boolean, array): every rule is
    /// left to the full match.
    Unknown,
}

impl Probe {
    /// The probe of a text field.
    #[inline]
    pub(crate) fn of_text(value: Option<&str>) -> Self {
        match value {
            None => Probe::Absent,
            Some(text) => prefix_word(text).map_or(Probe::Unknown, Probe::Start),
        }
    }

    /// The probe of an attribute value: only strings have a start to look up; numbers and booleans
    /// are matched as their text by the full match.
    #[inline]
    pub(crate) fn of_value(value: Option<&Value>) -> Self {
        match value {
            None => Probe::Absent,
            Some(Value::String(s)) => Probe::of_text(Some(s.as_str())),
            Some(_) => Probe::Unknown,
        }
    }
}

/// The rules of one block filed by one field.
#[derive(Debug, Default)]
struct FieldIndex {
    /// Rules that can match when the span lacks the value.
    absent: u64,
    /// Rules that any present value may match: no condition, or a pattern that starts with a
    /// wildcard or a non-ASCII character.
    open: u64,
    /// Rules with a literal start, one table per start length.
    tables: Vec<StartTable>,
}

/// Rules whose pattern starts with the same number of literal bytes, by that start.
#[derive(Debug)]
struct StartTable {
    mask: u64,
    /// `(start, rules)` while the block is built (moved into `slots` by `seal`).
    entries: Vec<(u64, u64)>,
    /// The entries in an open-addressing hash table (linear probing, at most half full); an
    /// empty slot has no rules (`(0, 0)`), which no filed start has.
    slots: Box<[(u64, u64)]>,
}

/// Fibonacci hashing: the start's bytes spread over the high bits, which pick the slot.
#[inline]
fn slot_of(start: u64, slots: usize) -> usize {
    // `slots` is a power of two of at least 2, so the shift is below 64.
    (start.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - slots.trailing_zeros())) as usize
}

impl StartTable {
    /// Builds the hash table from the filed entries.
    fn seal(&mut self) {
        let len = (self.entries.len() * 2).next_power_of_two().max(2);
        let mut slots = vec![(0u64, 0u64); len];
        for (start, rules) in std::mem::take(&mut self.entries) {
            let mut i = slot_of(start, len);
            while slots[i].1 != 0 {
                i = (i + 1) & (len - 1);
            }
            slots[i] = (start, rules);
        }
        self.slots = slots.into_boxed_slice();
    }

    /// The rules filed under `start` (a probe word masked to this table's length).
    #[inline]
    fn get(&self, start: u64) -> u64 {
        let len = self.slots.len();
        let mut i = slot_of(start, len);
        // At most half the slots are taken, so an empty slot ends every probe sequence.
        loop {
            let (key, rules) = self.slots[i];
            if rules == 0 || key == start {
                return rules;
            }
            i = (i + 1) & (len - 1);
        }
    }
}

impl FieldIndex {
    /// Files rule `bit` under its pattern for this field. `None`: the rule has no condition here.
    /// `absent_matches`: whether the rule can match a span without the value.
    fn add(&mut self, bit: u64, pattern: Option<&Pattern>, absent_matches: bool) {
        if absent_matches {
            self.absent |= bit;
        }
        let Some(pattern) = pattern else {
            self.open |= bit;
            return;
        };
        let filter = PrefixFilter::of(pattern);
        if filter.mask() == 0 {
            self.open |= bit;
            return;
        }
        let i = match self.tables.iter().position(|t| t.mask == filter.mask()) {
            Some(i) => i,
            None => {
                self.tables.push(StartTable {
                    mask: filter.mask(),
                    entries: Vec::new(),
                    slots: Box::default(),
                });
                self.tables.len() - 1
            }
        };
        let entries = &mut self.tables[i].entries;
        match entries.iter_mut().find(|e| e.0 == filter.value()) {
            Some(entry) => entry.1 |= bit,
            None => entries.push((filter.value(), bit)),
        }
    }

    /// Makes the tables ready for lookups once every rule is filed.
    fn seal(&mut self) {
        for table in &mut self.tables {
            table.seal();
        }
    }

    /// The rules of the block (`all`) that can match a span with this probe.
    #[inline]
    fn admitted(&self, probe: Probe, all: u64) -> u64 {
        match probe {
            Probe::Absent => self.absent,
            Probe::Unknown => all,
            Probe::Start(word) => {
                let mut bits = self.open;
                for table in &self.tables {
                    bits |= table.get(word & table.mask);
                }
                bits
            }
        }
    }
}

/// Up to [`BLOCK_RULES`] consecutive candidate rules (in matching order) with their tables.
#[derive(Debug)]
pub(crate) struct RuleBlock {
    rules: Vec<Arc<LiveRule>>,
    /// Per rule, its attribute conditions' indices in the manifest's indexed keys; `None` when the
    /// manifest does not index keys.
    slots: Vec<Option<Box<[u8]>>>,
    all: u64,
    http_method: FieldIndex,
    url_path: FieldIndex,
    host: FieldIndex,
    /// One per indexed attribute key; empty when keys are not indexed.
    attributes: Vec<FieldIndex>,
}

/// The probes of one span, one per field the blocks index.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Probes<'p> {
    pub(crate) http_method: Probe,
    pub(crate) url_path: Probe,
    pub(crate) host: Probe,
    /// Per indexed attribute key (only the manifest's keys are read).
    pub(crate) attributes: &'p [Probe],
}

impl RuleBlock {
    /// Splits the candidates (in matching order) into blocks. `attribute_keys` are the manifest's
    /// indexed keys (empty: not indexed); `slots` are each candidate's indices into them.
    pub(crate) fn build(
        candidates: &[Arc<LiveRule>],
        slots: Vec<Option<Box<[u8]>>>,
        attribute_keys: &[String],
    ) -> Vec<RuleBlock> {
        let mut slots = slots.into_iter();
        candidates
            .chunks(BLOCK_RULES)
            .map(|rules| {
                let mut block = RuleBlock {
                    rules: rules.to_vec(),
                    slots: slots.by_ref().take(rules.len()).collect(),
                    all: 0,
                    http_method: FieldIndex::default(),
                    url_path: FieldIndex::default(),
                    host: FieldIndex::default(),
                    attributes: attribute_keys
                        .iter()
                        .map(|_| FieldIndex::default())
                        .collect(),
                };
                for (i, rule) in rules.iter().enumerate() {
                    let bit = 1u64 << i;
                    block.all |= bit;
                    let (method, path, host) = rule.request_patterns();
                    block.http_method.add(bit, Some(method), method.is_any());
                    block.url_path.add(bit, Some(path), path.is_any());
                    block.host.add(bit, Some(host), host.is_any());
                    for (key, index) in attribute_keys.iter().zip(&mut block.attributes) {
                        // An attribute condition, even `*`, needs the attribute to be present.
                        match rule.attribute_pattern(key) {
                            Some(pattern) => index.add(bit, Some(pattern), false),
                            None => index.add(bit, None, true),
                        }
                    }
                }
                block.http_method.seal();
                block.url_path.seal();
                block.host.seal();
                block.attributes.iter_mut().for_each(FieldIndex::seal);
                block
            })
            .collect()
    }

    /// The rules of this block that may match the span, as bits (bit `i`: [`rule`](Self::rule)
    /// `i`); never leaves out a rule that matches.
    #[inline]
    pub(crate) fn candidates(&self, probes: &Probes<'_>) -> u64 {
        let mut bits = self.http_method.admitted(probes.http_method, self.all)
            & self.url_path.admitted(probes.url_path, self.all)
            & self.host.admitted(probes.host, self.all);
        for (index, &probe) in self.attributes.iter().zip(probes.attributes) {
            if bits == 0 {
                break;
            }
            bits &= index.admitted(probe, self.all);
        }
        bits
    }

    /// Rule `i` of the block and its attribute slots.
    #[inline]
    pub(crate) fn rule(&self, i: usize) -> (&LiveRule, Option<&[u8]>) {
        (&self.rules[i], self.slots[i].as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_of_values() {
        assert_eq!(Probe::of_text(None), Probe::Absent);
        assert_eq!(
            Probe::of_text(Some("GeT")),
            Probe::Start(u64::from_le_bytes(*b"get\0\0\0\0\0"))
        );
        assert_eq!(Probe::of_text(Some("\u{212A}elvin")), Probe::Unknown);
        assert_eq!(Probe::of_value(Some(&Value::I64(3))), Probe::Unknown);
        assert_eq!(Probe::of_value(Some(&Value::Bool(true))), Probe::Unknown);
        assert_eq!(Probe::of_value(None), Probe::Absent);
    }

    #[test]
    fn field_index_selects_by_start() {
        let mut index = FieldIndex::default();
        let patterns = [
            "*",
            "GET",
            "POST",
            "/api/v1/*",
            "/api/v2/*",
            "*.internal",
            "get",
        ];
        for (i, p) in patterns.iter().enumerate() {
            let pattern = Pattern::new(p);
            index.add(1 << i, Some(&pattern), pattern.is_any());
        }
        index.seal();
        let all = (1 << patterns.len()) - 1;
        let admitted = |text: Option<&str>| index.admitted(Probe::of_text(text), all);
        // `*` and `*.internal` admit every present value; only `*` an absent one.
        let open = 0b010_0001;
        assert_eq!(admitted(None), 0b1);
        assert_eq!(admitted(Some("get")), open | 0b100_0010);
        assert_eq!(admitted(Some("Post")), open | 0b100);
        assert_eq!(admitted(Some("/API/V1/users")), open | 0b1000);
        assert_eq!(admitted(Some("/api/v3/users")), open);
        assert_eq!(admitted(Some("/api")), open);
        assert_eq!(admitted(Some("\u{e9}")), all);
    }

    #[test]
    fn large_tables_find_every_start() {
        let mut index = FieldIndex::default();
        for i in 0..40 {
            index.add(1 << i, Some(&Pattern::new(&format!("/v{i:02}/*"))), false);
        }
        index.seal();
        assert_eq!(index.tables.len(), 1);
        for i in 0..40 {
            let path = format!("/V{i:02}/x");
            assert_eq!(
                index.admitted(Probe::of_text(Some(&path)), u64::MAX),
                1 << i
            );
        }
        assert_eq!(index.admitted(Probe::of_text(Some("/v40/x")), u64::MAX), 0);
    }

    #[test]
    fn missing_attribute_admits_only_rules_without_a_condition() {
        let mut index = FieldIndex::default();
        index.add(0b01, None, true);
        index.add(0b10, Some(&Pattern::new("*")), false);
        index.seal();
        assert_eq!(index.admitted(Probe::Absent, 0b11), 0b01);
        assert_eq!(index.admitted(Probe::of_text(Some("x")), 0b11), 0b11);
    }
}
