//! The document writer: sonic-rs, with epoch timestamps printed directly and a
//! hand-written `Serialize` for the top level of a [`Segment`].
//!
//! Every document carries at least two times, epoch seconds with microsecond
//! resolution (`1700000000.123456`). sonic-rs prints floats with zmij, a general
//! shortest round-trip printer that costs about two short strings' worth per
//! number, so [`write_document`] prints a whole number of microseconds itself and leaves
//! every other float to sonic-rs. The text is the same either way: the tests
//! below compare the two printers on arbitrary floats.

use std::io;
use std::ops::Range;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use sonic_rs::format::{CompactFormatter, Formatter};

use crate::segment::Segment;

/// Appends `seg` as compact JSON to `buf`: the same text as its derived
/// `Serialize` (the tests in `limits.rs` compare the two).
pub(crate) fn write_segment(buf: &mut Vec<u8>, seg: &Segment<'_>) -> sonic_rs::Result<()> {
    write_document(buf, &TopLevel(seg, Form::Standalone))
}

/// Appends subsegment `seg` as compact JSON to `buf` in the form it takes
/// inside its parent's `subsegments`: without `trace_id`, `parent_id` and
/// `type`, which the enclosing document already says (as the X-Ray SDKs and
/// opentelemetry-aws write nested subsegments).
pub(crate) fn write_embedded(buf: &mut Vec<u8>, seg: &Segment<'_>) -> sonic_rs::Result<()> {
    write_document(buf, &TopLevel(seg, Form::Embedded))
}

/// Whether a document goes out on its own or inside its parent's document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Standalone,
    Embedded,
}

/// Appends `value` as compact JSON to `buf`.
fn write_document<T: Serialize + ?Sized>(buf: &mut Vec<u8>, value: &T) -> sonic_rs::Result<()> {
    let mut ser = sonic_rs::Serializer::with_formatter(buf, DocumentFormatter);
    value.serialize(&mut ser)
}

/// A segment's top level, written by hand rather than derived, for two reasons
/// (together 4136 -> 3975 instructions per small internal span, about 2.5 %;
/// callgrind on `benches/translate.rs`). The three IDs are checked as UTF-8 in
/// one pass: `str::from_utf8` goes a byte at a time through the last 16 bytes
/// of any input, so three short checks cost twice one long one. And a derived
/// impl evaluates every skip condition twice (once to count the fields).
struct TopLevel<'s, 'a>(&'s Segment<'a>, Form);

const TRACE_ID_CHARS: usize = otel_xray_id::XRAY_TRACE_ID_LEN;
/// The text of `id`, `trace_id` and `parent_id`, side by side.
const IDS_CHARS: usize = 16 + TRACE_ID_CHARS + 16;

impl Serialize for TopLevel<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let seg = self.0;
        let mut text = [b'0'; IDS_CHARS];
        text[..16].copy_from_slice(&seg.id.0);
        text[16..16 + TRACE_ID_CHARS].copy_from_slice(seg.trace_id.0.as_bytes());
        if let Some(parent) = &seg.parent_id {
            text[16 + TRACE_ID_CHARS..].copy_from_slice(&parent.0);
        }
        // Only ASCII hex digits and dashes are ever written, so the empty
        // fallbacks are never taken.
        let text = std::str::from_utf8(&text[..]).unwrap_or_default();
        let (id, rest) = text.split_at_checked(16).unwrap_or_default();
        let (trace_id, parent) = rest.split_at_checked(TRACE_ID_CHARS).unwrap_or_default();
        let standalone = self.1 == Form::Standalone;
        let parent_id = (standalone && seg.parent_id.is_some()).then_some(parent);

        // The fields in the order of the derived impl; absent, false and empty
        // ones are left out as it does.
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("name", &seg.name)?;
        m.serialize_entry("id", id)?;
        if standalone {
            m.serialize_entry("trace_id", trace_id)?;
        }
        m.serialize_entry("start_time", &seg.start_time)?;
        entry_if(&mut m, "end_time", &seg.end_time)?;
        if seg.in_progress {
            m.serialize_entry("in_progress", &true)?;
        }
        entry_if(&mut m, "parent_id", &parent_id)?;
        if standalone && !seg.kind.is_segment() {
            m.serialize_entry("type", &seg.kind)?;
        }
        entry_if(&mut m, "namespace", &seg.namespace)?;
        entry_if(&mut m, "origin", &seg.origin)?;
        entry_if(&mut m, "user", &seg.user)?;
        entry_if(&mut m, "service", &seg.service)?;
        for (key, set) in [
            ("fault", seg.fault),
            ("error", seg.error),
            ("throttle", seg.throttle),
        ] {
            if set {
                m.serialize_entry(key, &true)?;
            }
        }
        entry_if(&mut m, "http", &seg.http)?;
        entry_if(&mut m, "aws", &seg.aws)?;
        entry_if(&mut m, "sql", &seg.sql)?;
        entry_if(&mut m, "cause", &seg.cause)?;
        if !seg.annotations.is_empty() {
            m.serialize_entry("annotations", &seg.annotations)?;
        }
        if !seg.metadata.is_empty() {
            m.serialize_entry("metadata", &seg.metadata)?;
        }
        if !seg.links.is_empty() {
            m.serialize_entry("links", &seg.links)?;
        }
        m.end()
    }
}

/// Writes `key` when `value` is present.
fn entry_if<M: SerializeMap, T: Serialize>(
    m: &mut M,
    key: &'static str,
    value: &Option<T>,
) -> Result<(), M::Error> {
    match value {
        Some(v) => m.serialize_entry(key, v),
        None => Ok(()),
    }
}

/// sonic-rs's compact output, with [`micros_text`] in front of its float printer.
#[derive(Debug, Clone, Copy)]
struct DocumentFormatter;

impl Formatter for DocumentFormatter {
    #[inline]
    fn write_f64<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f64) -> io::Result<()> {
        let mut text = [0u8; MICROS_TEXT_BYTES];
        match micros_text(value, &mut text) {
            Some(at) => w.write_all(&text[at]),
            None => CompactFormatter.write_f64(w, value),
        }
    }
}

/// The longest text of [`micros_text`]: 10 digits, the point and 6 digits.
const MICROS_TEXT_BYTES: usize = 17;

/// Writes `value` as `<seconds>.<fraction>` into `out` and returns where the
/// text is, when `value` is in `[1, 2³²)` and is the `f64` nearest to a whole
/// number of microseconds; otherwise `None`.
///
/// Why this is the shortest round-trip text: below 2³² two neighbouring `f64`s
/// are less than a microsecond apart, so no other decimal with six or fewer
/// fraction digits reads back as `value`, and a decimal with fewer significant
/// digits than ours would be one of those.
fn micros_text(value: f64, out: &mut [u8; MICROS_TEXT_BYTES]) -> Option<Range<usize>> {
    if !(1.0..4_294_967_296.0).contains(&value) {
        return None;
    }
    // A rounding slip in this product only costs the fast path: the check below
    // rejects any `micros` that does not give back `value` exactly. (Signed,
    // because that conversion is one instruction; the value is below 2⁵³.)
    let micros = (value * 1e6 + 0.5) as i64;
    if micros as f64 / 1e6 != value {
        return None;
    }
    let micros = micros as u64;
    // Sixteen digits at fixed places: ten of seconds, the point, six of fraction.
    let high = eight_digits((micros / 100_000_000) as u32);
    let low = eight_digits((micros % 100_000_000) as u32);
    out[..8].copy_from_slice(&(high | ASCII_ZEROS).to_le_bytes());
    let low_text = (low | ASCII_ZEROS).to_le_bytes();
    out[8..10].copy_from_slice(&low_text[..2]);
    out[10] = b'.';
    out[11..].copy_from_slice(&low_text[2..]);

    // Leading zeros are the low zero bytes of `high` (then of `low`); `value`
    // is at least 1, so a digit of the seconds is not zero.
    let lead = if high != 0 {
        high.trailing_zeros() / 8
    } else {
        8 + low.trailing_zeros() / 8
    };
    // Trailing zeros are the high zero bytes of `low`; they go, but one digit
    // stays (`1700000000.0`, as serde_json writes).
    let zeros = (low.leading_zeros() / 8).min(5);
    Some(lead as usize..MICROS_TEXT_BYTES - zeros as usize)
}

const ASCII_ZEROS: u64 = u64::from_le_bytes([b'0'; 8]);

/// The eight decimal digits of `n < 10⁸`, one per byte, most significant in the
/// lowest byte (so `to_le_bytes` reads left to right); values 0–9, not ASCII.
///
/// Splits in halves, then hundreds, then tens, all lanes of a word at once:
/// each lane's product stays inside its lane, and the masks cut what the
/// shifts bring over from the next lane.
fn eight_digits(n: u32) -> u64 {
    let x = u64::from(n / 10_000) | (u64::from(n % 10_000) << 32);
    // v / 100 == v * 5243 >> 19 for v < 10⁴.
    let hundreds = ((x * 5243) >> 19) & 0x0000_007f_0000_007f;
    let x = hundreds | ((x - hundreds * 100) << 16);
    // w / 10 == w * 103 >> 10 for w < 100.
    let tens = ((x * 103) >> 10) & 0x000f_000f_000f_000f;
    tens | ((x - tens * 10) << 8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ours(v: f64) -> String {
        let mut buf = Vec::new();
        write_document(&mut buf, &v).unwrap();
        String::from_utf8(buf).unwrap()
    }

    fn sonic(v: f64) -> String {
        sonic_rs::to_string(&v).unwrap()
    }

    /// The fast path is taken (so the comparisons below test it, not the fallback).
    fn fast(v: f64) -> bool {
        micros_text(v, &mut [0; MICROS_TEXT_BYTES]).is_some()
    }

    #[test]
    fn epoch_times_print_as_serde_json_does() {
        for (micros, text) in [
            (1_700_000_000_123_456u64, "1700000000.123456"),
            (1_700_000_000_000_000, "1700000000.0"),
            (1_700_000_000_100_000, "1700000000.1"),
            (1_000_000, "1.0"),
            (4_294_967_295_999_999, "4294967295.999999"),
            (1_795_263_510_009_816, "1795263510.009816"),
        ] {
            let v = micros as f64 / 1e6;
            assert!(fast(v), "{text} should take the fast path");
            assert_eq!(ours(v), text);
            assert_eq!(serde_json::to_string(&v).unwrap(), text);
        }
    }

    #[test]
    fn other_floats_are_left_to_sonic() {
        for v in [
            0.0,
            -0.0,
            0.5,
            -1.5,
            1e-7,
            1.0000001,
            4_294_967_296.0,
            1e300,
            f64::MIN_POSITIVE,
            std::f64::consts::PI,
        ] {
            assert!(!fast(v), "{v} should not take the fast path");
            assert_eq!(ours(v), sonic(v));
        }
        assert_eq!(ours(f64::NAN), "null");
    }

    #[test]
    fn eight_digits_spells_every_digit() {
        for n in (0..100_000_000u32)
            .step_by(9_973)
            .chain([0, 9, 10, 99_999_999])
        {
            let ascii = (eight_digits(n) | ASCII_ZEROS).to_le_bytes();
            assert_eq!(std::str::from_utf8(&ascii).unwrap(), format!("{n:08}"));
        }
    }

    proptest! {
        #[test]
        fn whole_microseconds_print_as_sonic_does(micros in 1_000_000u64..4_294_967_296_000_000) {
            let v = micros as f64 / 1e6;
            prop_assert!(fast(v));
            prop_assert_eq!(ours(v), sonic(v));
        }

        #[test]
        fn any_float_prints_as_sonic_does(bits in any::<u64>()) {
            let v = f64::from_bits(bits);
            prop_assert_eq!(ours(v), sonic(v));
        }

        #[test]
        fn floats_near_the_grid_print_as_sonic_does(
            micros in 1_000_000u64..4_294_967_296_000_000,
            ulps in -3i64..=3,
        ) {
            let v = f64::from_bits(((micros as f64 / 1e6).to_bits() as i64 + ulps) as u64);
            prop_assert_eq!(ours(v), sonic(v));
        }
    }
}
