//! `otel-xray translate`: OTLP/JSON → one segment document per line, through the
//! exporter's own [`Translator`].

use std::io::Write;

use otel_xray_exporter::{TranslateStats, Translator, TranslatorConfig};

use crate::otlp;

/// Translator options from the command line.
#[derive(Debug, Clone, Default)]
pub struct TranslateOptions {
    /// `--indexed-attribute KEY` (repeatable).
    pub indexed_attributes: Vec<String>,
    /// `--index-all-attributes`.
    pub index_all_attributes: bool,
}

/// What happened to the input.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Spans converted from OTLP.
    pub spans: usize,
    /// Documents written.
    pub documents: usize,
    /// Malformed parts of the input (each skipped).
    pub input_errors: usize,
    /// Spans the translator refused.
    pub untranslatable: usize,
    /// Values converted with loss or left out while reading OTLP.
    pub notes: usize,
}

impl Summary {
    /// True when every span in the input became a document.
    pub fn is_clean(&self) -> bool {
        self.input_errors == 0 && self.untranslatable == 0
    }
}

/// Translates `text`, writing documents to `out` and every problem or lossy step to `err`.
pub fn run(
    text: &str,
    opts: &TranslateOptions,
    out: &mut impl Write,
    err: &mut impl Write,
) -> std::io::Result<Summary> {
    let conversion = otlp::convert_str(text);
    let config = TranslatorConfig::builder()
        .indexed_attributes(opts.indexed_attributes.iter().cloned())
        .index_all_attributes(opts.index_all_attributes)
        .build();
    let translator = Translator::new(config);
    let mut summary = Summary {
        spans: conversion.span_count(),
        input_errors: conversion.errors.len(),
        notes: conversion.notes.len(),
        ..Summary::default()
    };
    for e in &conversion.errors {
        writeln!(err, "error: {e}; skipped")?;
    }
    for n in &conversion.notes {
        writeln!(err, "note: {n}")?;
    }
    for group in &conversion.groups {
        for span in &group.spans {
            match translator.translate_json(span, &group.resource) {
                Ok(doc) => {
                    writeln!(out, "{doc}")?;
                    summary.documents += 1;
                }
                Err(e) => {
                    summary.untranslatable += 1;
                    writeln!(
                        err,
                        "error: span {} ({:?}) cannot be translated: {e}",
                        span.span_context.span_id(),
                        span.name
                    )?;
                }
            }
        }
    }
    for line in stats_lines(&translator.stats()) {
        writeln!(err, "note: translator {line}")?;
    }
    Ok(summary)
}

/// The translator's non-zero adjustments, so nothing it changed goes unmentioned.
fn stats_lines(s: &TranslateStats) -> Vec<String> {
    [
        (s.names_sanitised, "names changed to fit the schema"),
        (s.annotation_keys_sanitised, "annotation keys sanitised"),
        (s.strings_truncated, "strings truncated"),
        (s.redactions, "values redacted"),
        (
            s.annotations_to_metadata,
            "would-be annotations written to metadata",
        ),
        (s.metadata_trimmed, "metadata entries removed for size"),
        (s.annotations_trimmed, "annotations removed for size"),
        (s.stack_frames_trimmed, "stack frames removed for size"),
        (s.exceptions_trimmed, "exceptions removed for size"),
        (s.links_trimmed, "links removed for size"),
        (s.links_invalid, "links with invalid trace IDs left out"),
        (
            s.documents_minimised,
            "documents reduced to identifying fields for size",
        ),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{what}: {n}"))
    .collect()
}
