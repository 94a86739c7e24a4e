//! The size policy: no document over [`MAX_SEGMENT_BYTES`], and still schema-valid.
//!
//! The steps, in order, are documented in the crate docs ("Size policy").

use std::borrow::Cow;
use std::io;

use serde::Serialize;

use crate::segment::{Entry, EntryKey, EntryValue, Segment};
use crate::text::truncate;
use crate::translate::keys::OTEL_NAMESPACE;
use crate::translate_stats::TranslationCounts;

/// X-Ray's limit on one segment document, in bytes (the developer guide's 64 kB,
/// read as KiB: it is also the daemon's 64 KiB UDP read buffer). A UDP transport
/// must leave room for its header, see
/// [`TranslatorConfigBuilder::max_document_bytes`](crate::TranslatorConfigBuilder::max_document_bytes).
pub const MAX_SEGMENT_BYTES: usize = 64 * 1024;

fn cut(s: &mut Cow<'_, str>, max_chars: usize, tally: &mut TranslationCounts) {
    let v = std::mem::take(s);
    *s = truncate(v, max_chars, tally);
}

/// The numbers the size policy works with (from the translator's configuration).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SizePolicy {
    /// The largest document, in bytes.
    pub(crate) max_bytes: usize,
    /// The length metadata strings are cut to first, in chars.
    pub(crate) metadata_string_chars: usize,
}

/// What the size policy removed from one document.
#[derive(Debug, Default, Clone, Copy)]
struct Trims {
    original_bytes: usize,
    strings: u64,
    metadata: u64,
    frames: u64,
    exceptions: u64,
    annotations: u64,
    links: u64,
    minimised: bool,
}

/// Serialises `seg` into `buf` (cleared first), applying the size policy.
pub(crate) fn write_within_limit(
    seg: &mut Segment<'_>,
    policy: SizePolicy,
    buf: &mut Vec<u8>,
    tally: &mut TranslationCounts,
) -> Result<(), serde_json::Error> {
    let max = policy.max_bytes;
    buf.clear();
    write_json(buf, seg)?;
    if buf.len() <= max {
        return Ok(());
    }
    let mut trims = Trims {
        original_bytes: buf.len(),
        ..Trims::default()
    };
    type Step = fn(&mut Segment<'_>, &SizePolicy, usize, &mut Trims);
    let steps: [Step; 6] = [
        metadata_strings,
        drop_metadata,
        trim_cause,
        drop_annotations,
        cut_everything,
        minimise,
    ];
    for step in steps {
        // Room for the size-policy marker itself.
        let excess = buf.len().saturating_sub(max) + 512;
        step(seg, &policy, excess, &mut trims);
        set_marker(seg, &policy, &trims);
        buf.clear();
        write_json(buf, seg)?;
        if buf.len() <= max {
            break;
        }
    }
    tally.strings_truncated += trims.strings;
    tally.metadata_trimmed += trims.metadata;
    tally.stack_frames_trimmed += trims.frames;
    tally.exceptions_trimmed += trims.exceptions;
    tally.annotations_trimmed += trims.annotations;
    tally.links_trimmed += trims.links;
    tally.documents_minimised += u64::from(trims.minimised);
    Ok(())
}

/// Appends `seg` as compact JSON to `buf`.
fn write_json(buf: &mut Vec<u8>, seg: &Segment<'_>) -> Result<(), serde_json::Error> {
    crate::json::write_segment(buf, seg).map_err(<serde_json::Error as serde::ser::Error>::custom)
}

struct CountingWriter(usize);

impl io::Write for CountingWriter {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0 += b.len();
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Bytes `v` takes in compact JSON.
fn json_len<T: Serialize + ?Sized>(v: &T) -> usize {
    let mut w = CountingWriter(0);
    let _ = serde_json::to_writer(&mut w, v);
    w.0
}

fn is_marker(ns: &str, e: &Entry<'_>) -> bool {
    ns == OTEL_NAMESPACE && e.key.matches("size_policy")
}

fn metadata_strings(seg: &mut Segment<'_>, policy: &SizePolicy, _: usize, t: &mut Trims) {
    let mut tally = TranslationCounts::default();
    for (_, entries) in seg.metadata.iter_mut() {
        for e in entries.iter_mut() {
            let text = match &e.value {
                EntryValue::Attribute(opentelemetry::Value::String(s)) => Cow::Borrowed(s.as_str()),
                EntryValue::Str(s) => s.clone(),
                EntryValue::Json(serde_json::Value::String(s)) => Cow::Owned(s.clone()),
                _ => continue,
            };
            if text.len() > policy.metadata_string_chars {
                let cut = truncate(text, policy.metadata_string_chars, &mut tally);
                if let Cow::Owned(o) = cut {
                    e.value = EntryValue::Str(Cow::Owned(o));
                }
            }
        }
    }
    t.strings += tally.strings_truncated;
}

fn drop_metadata(seg: &mut Segment<'_>, _: &SizePolicy, excess: usize, t: &mut Trims) {
    let mut sizes = Vec::new();
    for (n, (ns, entries)) in seg.metadata.iter().enumerate() {
        for (i, e) in entries.iter().enumerate() {
            if !is_marker(ns, e) {
                sizes.push((json_len(&e.key) + json_len(&e.value) + 2, n, i));
            }
        }
    }
    let mut chosen = largest_until(sizes, excess);
    chosen.sort_unstable_by(|a, b| b.cmp(a));
    for (n, i) in chosen {
        if let Some((_, entries)) = seg.metadata.iter_mut().nth(n) {
            entries.remove(i);
            t.metadata += 1;
        }
    }
}

/// The `(group, index)` of the largest items whose sizes add up to `excess`.
fn largest_until(mut sizes: Vec<(usize, usize, usize)>, excess: usize) -> Vec<(usize, usize)> {
    sizes.sort_unstable_by_key(|s| std::cmp::Reverse(s.0));
    let mut freed = 0;
    let mut out = Vec::new();
    for (size, n, i) in sizes {
        if freed >= excess {
            break;
        }
        freed += size;
        out.push((n, i));
    }
    out
}

fn trim_cause(seg: &mut Segment<'_>, _: &SizePolicy, excess: usize, t: &mut Trims) {
    let Some(cause) = &mut seg.cause else { return };
    let mut tally = TranslationCounts::default();
    let before = json_len(cause);
    cap_cause(cause, 64, usize::MAX, 1024, t, &mut tally);
    if before.saturating_sub(json_len(cause)) < excess {
        cap_cause(cause, 8, 10, 256, t, &mut tally);
    }
    t.strings += tally.strings_truncated;
}

fn cap_cause(
    cause: &mut crate::segment::Cause<'_>,
    frames: usize,
    exceptions: usize,
    chars: usize,
    t: &mut Trims,
    tally: &mut TranslationCounts,
) {
    if cause.exceptions.len() > exceptions {
        t.exceptions += (cause.exceptions.len() - exceptions) as u64;
        cause.exceptions.truncate(exceptions);
        let kept: Vec<_> = cause.exceptions.iter().map(|e| e.id).collect();
        for e in &mut cause.exceptions {
            if e.cause.is_some_and(|c| !kept.contains(&c)) {
                e.cause = None;
            }
        }
    }
    for e in &mut cause.exceptions {
        if e.stack.len() > frames {
            let removed = (e.stack.len() - frames) as u32;
            e.stack.truncate(frames);
            e.truncated = Some(e.truncated.unwrap_or(0) + removed);
            t.frames += u64::from(removed);
        }
        for s in [&mut e.message, &mut e.kind].into_iter().flatten() {
            cut(s, chars, tally);
        }
        for f in &mut e.stack {
            cut(&mut f.path, chars, tally);
            cut(&mut f.label, chars, tally);
        }
    }
}

fn drop_annotations(seg: &mut Segment<'_>, _: &SizePolicy, excess: usize, t: &mut Trims) {
    let sizes = seg
        .annotations
        .0
        .iter()
        .enumerate()
        .map(|(i, (k, v))| (json_len(k) + json_len(v) + 2, 0, i))
        .collect();
    let mut chosen = largest_until(sizes, excess);
    chosen.sort_unstable_by(|a, b| b.cmp(a));
    for (_, i) in chosen {
        seg.annotations.0.remove(i);
        t.annotations += 1;
    }
}

fn cut_everything(seg: &mut Segment<'_>, _: &SizePolicy, _: usize, t: &mut Trims) {
    const CHARS: usize = 256;
    let mut tally = TranslationCounts::default();
    t.links += seg.links.len() as u64;
    seg.links.clear();
    if let Some(s) = &mut seg.service {
        cut(&mut s.version, CHARS, &mut tally);
    }
    if let Some(sql) = &mut seg.sql {
        for s in [
            &mut sql.connection_string,
            &mut sql.url,
            &mut sql.sanitized_query,
            &mut sql.database_type,
        ]
        .into_iter()
        .flatten()
        {
            cut(s, CHARS, &mut tally);
        }
    }
    if let Some(aws) = &mut seg.aws {
        // Resource sub-objects are few short strings; the call fields are not.
        for s in [
            &mut aws.account_id,
            &mut aws.operation,
            &mut aws.region,
            &mut aws.request_id,
            &mut aws.queue_url,
            &mut aws.table_name,
        ]
        .into_iter()
        .flatten()
        {
            cut(s, CHARS, &mut tally);
        }
        aws.table_names.truncate(20);
        for s in &mut aws.table_names {
            cut(s, CHARS, &mut tally);
        }
        aws.cloudwatch_logs.truncate(10);
        for g in &mut aws.cloudwatch_logs {
            cut(&mut g.log_group, CHARS, &mut tally);
            g.arn = None;
        }
        aws.ecs = None;
        aws.eks = None;
    }
    if let Some(cause) = &mut seg.cause {
        cap_cause(cause, 8, 10, CHARS, t, &mut tally);
    }
    t.strings += tally.strings_truncated;
}

fn minimise(seg: &mut Segment<'_>, _: &SizePolicy, _: usize, t: &mut Trims) {
    t.minimised = true;
    t.metadata += seg
        .metadata
        .iter()
        .flat_map(|(ns, e)| e.iter().filter(move |e| !is_marker(ns, e)))
        .count() as u64;
    t.annotations += seg.annotations.0.len() as u64;
    t.links += seg.links.len() as u64;
    if let Some(c) = &seg.cause {
        t.exceptions += c.exceptions.len() as u64;
    }
    seg.metadata.default.clear();
    seg.metadata
        .namespaces
        .retain(|(ns, _)| ns == OTEL_NAMESPACE);
    for (ns, entries) in &mut seg.metadata.namespaces {
        entries.retain(|e| is_marker(ns, e));
    }
    seg.annotations.0.clear();
    seg.links.clear();
    seg.cause = None;
    seg.sql = None;
    seg.aws = None;
    seg.service = None;
    seg.user = None;
    if let Some(http) = &mut seg.http {
        http.request = None;
    }
}

/// Writes (or rewrites) `metadata.otel.size_policy`.
fn set_marker(seg: &mut Segment<'_>, policy: &SizePolicy, t: &Trims) {
    let int = |k: &'static str, v: u64| Entry {
        key: EntryKey::Plain(Cow::Borrowed(k)),
        value: EntryValue::Int(i64::try_from(v).unwrap_or(i64::MAX)),
    };
    let mut fields = vec![
        int("limit_bytes", policy.max_bytes as u64),
        int("original_bytes", t.original_bytes as u64),
    ];
    for (k, v) in [
        ("strings_truncated", t.strings),
        ("metadata_removed", t.metadata),
        ("stack_frames_removed", t.frames),
        ("exceptions_removed", t.exceptions),
        ("annotations_removed", t.annotations),
        ("links_removed", t.links),
    ] {
        if v != 0 {
            fields.push(int(k, v));
        }
    }
    if t.minimised {
        fields.push(Entry {
            key: EntryKey::Plain(Cow::Borrowed("minimised")),
            value: EntryValue::Json(serde_json::Value::Bool(true)),
        });
    }
    let otel = seg.metadata.namespace_mut(OTEL_NAMESPACE);
    otel.retain(|e| !e.key.matches("size_policy"));
    otel.push(Entry {
        key: EntryKey::Plain(Cow::Borrowed("size_policy")),
        value: EntryValue::Map(fields),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::segment::{
        AnnotationValue, Annotations, DocumentType, Id, Metadata, Service, TraceIdText,
    };
    use opentelemetry::trace::TraceId;
    use opentelemetry::{Array, Value};
    use proptest::prelude::*;

    /// A document exercising every value kind the translator writes.
    fn sample<'a>(text: &'a str, num: f64, attr: &'a Value) -> Segment<'a> {
        let trace = otel_xray_id::XrayTraceId::from_trace_id(TraceId::from_bytes([7; 16])).unwrap();
        let entries = vec![
            Entry {
                key: EntryKey::Plain(Cow::Borrowed(text)),
                value: EntryValue::Str(Cow::Borrowed(text)),
            },
            Entry {
                key: EntryKey::Prefixed("otel.resource.", text),
                value: EntryValue::Attribute(attr),
            },
            Entry {
                key: EntryKey::Plain(Cow::Borrowed("t")),
                value: EntryValue::Time(num),
            },
            Entry {
                key: EntryKey::Plain(Cow::Borrowed("j")),
                value: EntryValue::Json(
                    serde_json::json!({"s": text, "n": num, "a": [1, -2, null]}),
                ),
            },
        ];
        Segment {
            name: Cow::Borrowed(text),
            id: Id::from_u64(0x53995c3f42cd8ad8),
            trace_id: TraceIdText(trace.encode()),
            start_time: num,
            end_time: Some(num),
            in_progress: false,
            parent_id: Some(Id::from_u64(1)),
            kind: DocumentType::Subsegment,
            namespace: None,
            origin: Some("AWS::EC2::Instance"),
            user: Some(Cow::Borrowed(text)),
            service: Some(Service {
                version: Cow::Borrowed(text),
            }),
            fault: true,
            error: false,
            throttle: false,
            http: None,
            aws: None,
            sql: None,
            cause: None,
            annotations: Annotations(vec![
                (Cow::Borrowed("f"), AnnotationValue::Float(num)),
                (
                    Cow::Borrowed("s"),
                    AnnotationValue::Str(Cow::Borrowed(text)),
                ),
                (Cow::Borrowed("i"), AnnotationValue::Int(i64::MIN)),
            ]),
            metadata: Metadata {
                default: entries,
                namespaces: Vec::new(),
            },
            links: Vec::new(),
        }
    }

    fn both(seg: &Segment<'_>) -> (String, String) {
        let mut fast = Vec::new();
        write_json(&mut fast, seg).unwrap();
        (
            String::from_utf8(fast).unwrap(),
            serde_json::to_string(seg).unwrap(),
        )
    }

    #[test]
    fn fast_writer_matches_serde_json_on_edge_values() {
        let attr = Value::Array(Array::F64(vec![f64::NAN, 1e300, -0.0, 5e-324]));
        let long = "x\"\\\u{1}\u{1f}\u{7f}é\u{2028}😀/<>&".repeat(40);
        for text in ["", "plain", "\u{0}\u{8}\t\n\u{b}\u{c}\r", long.as_str()] {
            for num in [
                0.0,
                -0.0,
                1.5e-7,
                1795251071.660199,
                1e21,
                f64::MAX,
                f64::INFINITY,
                f64::NAN,
            ] {
                let (fast, reference) = both(&sample(text, num, &attr));
                assert_eq!(fast, reference);
            }
        }
    }

    proptest! {
        #[test]
        fn fast_writer_matches_serde_json(text in any::<String>(), num in any::<f64>(), int in any::<i64>()) {
            let attr = Value::Array(Array::I64(vec![int, 0]));
            let (fast, reference) = both(&sample(&text, num, &attr));
            prop_assert_eq!(fast, reference);
        }
    }
}
