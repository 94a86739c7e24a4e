//! A segment document as a JSON string, for the PutTraceSegments body.
//!
//! A document is JSON, so about one byte in eight is a quote, and each becomes `\"` in the
//! body. sonic-rs's string escaper is built for text that rarely needs escaping: at every
//! escaped byte it leaves its 32-byte scan, looks the byte up, tries the next byte, and
//! starts a new scan, a branch the processor mostly guesses wrong. Writing the body that
//! way was the largest item of the daemon's profile under OTLP load (10-11 % of its CPU
//! time, `perf record` on `scripts/bench-daemon.sh`'s load).
//!
//! [`escape_quotes`] reads eight bytes at a time, finds the quotes and backslashes among them
//! with word arithmetic, and stores the eight bytes again after each backslash it puts in.
//! It runs about as many instructions, with few branches that depend on the text:
//! `benches/segments_body.rs` writes a body of 50 documents in 0.46x sonic-rs's time (23 µs
//! against 51; serde_json 58; the floor, copying them unescaped, 1.5 µs), and in the daemon
//! the body's share of CPU time fell to 5 %.
//!
//! A JSON writer never leaves a raw control character in a document (they only occur
//! escaped, inside strings), but a pretty-printed document from an SDK has raw newlines;
//! such a document is escaped by sonic-rs instead, which knows each control character's
//! form. The tests compare the two on arbitrary text.

/// Eight copies of `byte`.
const fn lanes(byte: u8) -> u64 {
    u64::from_le_bytes([byte; 8])
}

/// The high bit of each byte of `word` that is zero, and no other bit. Within a byte,
/// `(v & 0x7f) + 0x7f` reaches 0x80 exactly when `v`'s low seven bits are not all zero, and
/// cannot carry into the next byte.
fn zero_bytes(word: u64) -> u64 {
    !(((word & lanes(0x7f)) + lanes(0x7f)) | word) & lanes(0x80)
}

/// The high bit of each byte of `word` that is `"` or `\`.
fn quote_bytes(word: u64) -> u64 {
    zero_bytes(word ^ lanes(b'"')) | zero_bytes(word ^ lanes(b'\\'))
}

/// The high bit of each byte of `word` below 0x20: `(v & 0x7f) + 0x60` stays under 0x80
/// exactly for those (and cannot carry).
fn control_bytes(word: u64) -> u64 {
    !(((word & lanes(0x7f)) + lanes(0x60)) | word) & lanes(0x80)
}

/// Appends `text` to `out` as a JSON string: in quotes, escaped. `scratch` is working room,
/// kept between calls so that a body's documents share one allocation.
pub(super) fn write_json_string(
    out: &mut Vec<u8>,
    text: &str,
    scratch: &mut Vec<u8>,
) -> Result<(), sonic_rs::Error> {
    match escape_quotes(text.as_bytes(), scratch) {
        Some(len) => {
            out.push(b'"');
            out.extend_from_slice(&scratch[..len]);
            out.push(b'"');
            Ok(())
        }
        None => sonic_rs::to_writer(out, text),
    }
}

/// Writes `bytes` into `scratch` with a backslash before every `"` and `\`, and returns how
/// many bytes that took; `None` when `bytes` holds a control character (below 0x20), which
/// has other forms (`\n`, `\u0001`).
fn escape_quotes(bytes: &[u8], scratch: &mut Vec<u8>) -> Option<usize> {
    // Every byte takes at most two, and an eight-byte store may reach seven bytes past the
    // last one taken.
    let room = 2 * bytes.len() + 8;
    if scratch.len() < room {
        scratch.resize(room, 0);
    }
    let mut written = 0;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().ok()?);
        if control_bytes(word) != 0 {
            return None;
        }
        // The chunk is stored from each quote on, eight bytes at a time, one place further
        // along each time: a backslash goes in at the quote, and the next store (or the last)
        // puts the quote after it. Bytes stored past what is taken are written over later.
        let mut quotes = quote_bytes(word);
        let mut from = 0;
        while quotes != 0 {
            let at = (quotes.trailing_zeros() / 8) as usize;
            scratch[written..written + 8].copy_from_slice(&(word >> (8 * from)).to_le_bytes());
            written += at - from;
            scratch[written] = b'\\';
            written += 1;
            from = at;
            quotes &= quotes - 1;
        }
        scratch[written..written + 8].copy_from_slice(&(word >> (8 * from)).to_le_bytes());
        written += 8 - from;
    }
    for &byte in chunks.remainder() {
        if byte < 0x20 {
            return None;
        }
        if byte == b'"' || byte == b'\\' {
            scratch[written] = b'\\';
            written += 1;
        }
        scratch[written] = byte;
        written += 1;
    }
    Some(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ours(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        write_json_string(&mut out, text, &mut Vec::new()).unwrap();
        out
    }

    #[test]
    fn the_masks_find_exactly_their_bytes() {
        for byte in 0..=255u8 {
            for lane in 0..8 {
                let mut word = [b'a'; 8];
                word[lane] = byte;
                let word = u64::from_le_bytes(word);
                let bit = 0x80u64 << (8 * lane);
                let quote = byte == b'"' || byte == b'\\';
                assert_eq!(quote_bytes(word), if quote { bit } else { 0 }, "{byte:#x}");
                let control = byte < 0x20;
                assert_eq!(
                    control_bytes(word),
                    if control { bit } else { 0 },
                    "{byte:#x}"
                );
            }
        }
    }

    #[test]
    fn quotes_at_every_place_of_a_chunk() {
        for len in 0..40 {
            for at in 0..len {
                let mut text = "x".repeat(len);
                text.replace_range(at..at + 1, "\"");
                assert_eq!(ours(&text), sonic_rs::to_vec(&text).unwrap(), "{text}");
                let text = text.replace('"', "\\");
                assert_eq!(ours(&text), sonic_rs::to_vec(&text).unwrap(), "{text}");
            }
        }
    }

    #[test]
    fn a_document_with_raw_newlines_takes_the_escaped_forms() {
        let text = "{\n  \"name\": \"a\\tb\"\n}";
        assert_eq!(ours(text), br#""{\n  \"name\": \"a\\tb\"\n}""#);
    }

    proptest! {
        #[test]
        fn same_text_as_sonic_rs(text in any::<String>()) {
            prop_assert_eq!(ours(&text), sonic_rs::to_vec(&text).unwrap());
        }

        #[test]
        fn same_text_as_sonic_rs_on_json_like_text(text in r#"[a-z0-9"\\:,{}\[\] é😀\n\t]{0,80}"#) {
            prop_assert_eq!(ours(&text), sonic_rs::to_vec(&text).unwrap());
        }
    }
}
