//! `otel-xray translate`: OTLP/JSON → one segment document per line, through the
//! exporter's own [`Translator`].

use std::io::Write;

use otel_xray_exporter::{TranslateStats, Translator, TranslatorConfig};

use otel_xray_daemon::convert_otlp_json;

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
    let conversion = convert_otlp_json(text);
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

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../tests/fixtures/checkout-trace.otlp.json");

    #[test]
    fn documents_are_the_translators_output_in_input_order() {
        let opts = TranslateOptions {
            indexed_attributes: vec!["order.priority".into()],
            index_all_attributes: false,
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let summary = run(FIXTURE, &opts, &mut out, &mut err).unwrap();
        assert_eq!(
            summary,
            Summary {
                spans: 3,
                documents: 3,
                notes: 1,
                ..Summary::default()
            }
        );
        let translator = Translator::new(
            TranslatorConfig::builder()
                .indexed_attribute("order.priority")
                .build(),
        );
        let conversion = convert_otlp_json(FIXTURE);
        let group = &conversion.groups[0];
        // Compared as JSON: the SDK Resource is a hash map, so the order of the
        // `otel.resource.*` metadata keys differs between two Resource values.
        let parse = |t: &str| serde_json::from_str::<serde_json::Value>(t).unwrap();
        let expected: Vec<serde_json::Value> = group
            .spans
            .iter()
            .map(|s| parse(&translator.translate_json(s, &group.resource).unwrap()))
            .collect();
        let out = String::from_utf8(out).unwrap();
        let got: Vec<serde_json::Value> = out.lines().map(parse).collect();
        assert_eq!(got, expected);
        let err = String::from_utf8(err).unwrap();
        assert!(
            err.contains(
                "note: request at line 1: resourceSpans[0].scopeSpans[0].spans[0].attributes[13]"
            ),
            "{err}"
        );
    }

    #[test]
    fn translator_adjustments_are_reported() {
        let text = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"6b014b00a1f3c9d2e4b5f60718293a4b",
            "spanId":"53995c3f42cd8ad8","name":"GET (orders)","kind":2,
            "startTimeUnixNano":"1795246848120000000","endTimeUnixNano":"1795246848368500000"}]}]}]}"#;
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let summary = run(text, &TranslateOptions::default(), &mut out, &mut err).unwrap();
        assert!(summary.is_clean());
        let err = String::from_utf8(err).unwrap();
        assert!(
            err.contains("note: translator names changed to fit the schema: 1"),
            "{err}"
        );
    }

    /// A writer the test can read back after handing it to the exporter.
    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn output_is_what_the_exporter_sends() {
        use opentelemetry_sdk::trace::SpanExporter;
        use otel_xray_exporter::XrayExporter;

        let opts = TranslateOptions {
            indexed_attributes: vec!["http.route".into()],
            index_all_attributes: false,
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        run(FIXTURE, &opts, &mut out, &mut err).unwrap();

        let conversion = convert_otlp_json(FIXTURE);
        let group = &conversion.groups[0];
        let written = Shared::default();
        let mut exporter = XrayExporter::builder()
            .with_writer(written.clone())
            .with_translator_config(
                TranslatorConfig::builder()
                    .indexed_attribute("http.route")
                    .build(),
            )
            .build()
            .unwrap();
        exporter.set_resource(&group.resource);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(exporter.export(group.spans.clone())).unwrap();

        let parse = |t: &str| -> Vec<serde_json::Value> {
            t.lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        };
        let sent = String::from_utf8(written.0.lock().unwrap().clone()).unwrap();
        let ours = String::from_utf8(out).unwrap();
        assert_eq!(parse(&ours).len(), 3);
        assert_eq!(parse(&ours), parse(&sent));
    }
}
