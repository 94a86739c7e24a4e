//! The manifest: one immutable rule set in force (every valid rule in matching order, each with its
//! live target and statistics) and the lookup tables a decision reads. Built when rules are
//! installed, never changed afterwards; the engine swaps whole manifests.

use std::sync::Arc;
use std::time::SystemTime;

use crate::live_rule::{LiveRule, INDEXED_KEYS};
use crate::rule_index::RuleBlock;
use crate::sampling_request::{length_bit, FieldReader};

/// One immutable rule set, swapped atomically when X-Ray serves new rules.
#[derive(Debug)]
pub(crate) struct Manifest {
    /// All valid rules, by priority then name.
    pub(crate) rules: Vec<Arc<LiveRule>>,
    /// The subset that can match this service, in matching order, with their lookup tables.
    pub(crate) blocks: Vec<RuleBlock>,
    /// Distinct attribute keys of the candidates' conditions, when there are at most
    /// [`INDEXED_KEYS`]; empty otherwise.
    pub(crate) attribute_keys: Vec<String>,
    /// [`length_bit`]s of the request-field keys when a candidate looks at HTTP fields or the span's
    /// ARN (else 0: the attributes are not read for them).
    pub(crate) field_lengths: u64,
    /// The [`length_bit`]s of `attribute_keys`.
    pub(crate) attribute_lengths: u64,
    /// `field_lengths | attribute_lengths`: the attributes a decision reads.
    pub(crate) key_lengths: u64,
    /// Engine time after which the rules are too old to trust (no successful poll for the TTL).
    pub(crate) expires_at_ms: u64,
    /// Wall-clock time the rules were fetched, compared with `LastRuleModification`.
    pub(crate) fetched_at: SystemTime,
}

impl Manifest {
    /// Files the rules (all valid ones, in matching order) for decisions: the candidates that can
    /// match this service, the attribute keys worth indexing, and the lookup tables.
    /// `expires_at_ms`: engine time after which the rules are stale.
    pub(crate) fn new(live: Vec<Arc<LiveRule>>, expires_at_ms: u64) -> Self {
        let candidates: Vec<Arc<LiveRule>> = live
            .iter()
            .filter(|r| r.applies_to_service)
            .cloned()
            .collect();
        let needs_fields = candidates.iter().any(|r| r.uses_span_fields());
        let mut attribute_keys: Vec<String> = Vec::new();
        for (key, _) in candidates.iter().flat_map(|r| &r.attributes) {
            if !attribute_keys.contains(key) {
                attribute_keys.push(key.clone());
            }
        }
        if attribute_keys.len() > INDEXED_KEYS {
            attribute_keys.clear();
        }
        let attribute_slots = candidates
            .iter()
            .map(|r| {
                r.attributes
                    .iter()
                    .map(|(key, _)| {
                        let i = attribute_keys.iter().position(|k| k == key)?;
                        u8::try_from(i).ok()
                    })
                    .collect::<Option<Box<[u8]>>>()
            })
            .collect();
        let field_lengths = if needs_fields {
            FieldReader::KEY_LENGTHS
        } else {
            0
        };
        let attribute_lengths = attribute_keys
            .iter()
            .fold(0, |bits, key| bits | length_bit(key));
        let blocks = RuleBlock::build(&candidates, attribute_slots, &attribute_keys);
        Manifest {
            rules: live,
            blocks,
            attribute_keys,
            field_lengths,
            attribute_lengths,
            key_lengths: field_lengths | attribute_lengths,
            expires_at_ms,
            fetched_at: SystemTime::now(),
        }
    }
}
