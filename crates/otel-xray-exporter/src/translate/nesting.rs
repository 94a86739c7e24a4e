//! Subsegment nesting: one export batch, translated into as few documents as
//! X-Ray's size limit allows.
//!
//! A subsegment whose parent span is in the same batch (same trace, parent
//! not remote) goes into its parent's document, under `subsegments`,
//! recursively, as the X-Ray SDKs send them; a nested subsegment is written
//! without `trace_id`, `parent_id` and `type`, which its place already says.
//!
//! **Packing.** Every document that goes out on its own (a *root*: a segment,
//! a subsegment without its parent in the batch, or one that did not fit) is
//! written first, with the size policy, then filled breadth-first: each child
//! of a span already in the document is added when its nested text still
//! fits [`TranslatorConfig::max_document_bytes`](crate::TranslatorConfig::max_document_bytes)
//! (which is one datagram for the UDP transport), else it becomes a root of
//! its own, with its own children nested into it. Sizes are counted exactly,
//! so no document is ever over the limit, and every translated span is in
//! exactly one document. Nested subsegments are never trimmed: one that does
//! not fit as it is goes out on its own, where the size policy applies.
//! Nesting stops at [`MAX_NESTING_DEPTH`] levels; deeper subsegments start
//! documents of their own.

use std::collections::HashMap;
use std::ops::Range;

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::SpanData;
use opentelemetry_sdk::Resource;

use super::{valid_trace_id, TranslateError, Translator};
use crate::segment::{DocumentType, Segment};
use crate::translate_stats::TranslationCounts;
use crate::transport::Document;

/// The deepest nesting written: a subsegment `MAX_NESTING_DEPTH` levels below
/// its document's top starts a document of its own. Each level is two levels
/// of JSON (object and array); serde_json, which many readers of these
/// documents use, refuses more than 128, and metadata values need a few.
pub const MAX_NESTING_DEPTH: usize = 32;

/// `,"subsegments":[` + `]`: what the first nested child adds besides its text.
const FIRST_CHILD_BYTES: usize = r#","subsegments":[]"#.len();

/// Where one translated span stands in the packing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Not placed yet.
    Open,
    /// Waiting to start a document of its own.
    Queued,
    /// Starts a document.
    Root,
    /// Inside its parent's document.
    Nested,
    /// Could not be written; already reported.
    Failed,
}

/// One translated span of the batch.
struct Node<'a> {
    span: &'a SpanData,
    seg: Segment<'a>,
    tally: TranslationCounts,
    /// Its parent's node, when the parent is in the batch and this is a
    /// subsegment that may nest.
    parent: Option<usize>,
    /// Children in batch order, as a list through `next_sibling`.
    first_child: Option<usize>,
    last_child: Option<usize>,
    next_sibling: Option<usize>,
    place: Place,
    /// Its own text (without children) in the batch's text arena.
    text: Range<usize>,
    /// Whether a child is nested in it yet.
    has_nested: bool,
}

/// What [`Translator::translate_nested`] did with one batch.
#[derive(Debug, Default)]
pub(crate) struct NestedBatch {
    /// The documents, each with its number of spans.
    pub(crate) docs: Vec<Document>,
    /// Spans whose document was trimmed (a length limit or the size policy).
    pub(crate) trimmed: u64,
}

impl Translator {
    /// Translates `batch` with subsegments nested into their parents'
    /// documents (see the module docs). Spans that cannot be translated are
    /// handed to `failed` with the reason and left out.
    pub(crate) fn translate_nested(
        &self,
        batch: &[SpanData],
        resource: &Resource,
        mut failed: impl FnMut(&SpanData, TranslateError),
    ) -> NestedBatch {
        self.resources.with(resource, &self.config, |res| {
            let mut nodes: Vec<Node<'_>> = Vec::with_capacity(batch.len());
            for span in batch {
                let mut tally = TranslationCounts::default();
                match valid_trace_id(span) {
                    Ok(trace_id) => {
                        let seg = self.build(span, trace_id, res, &mut tally);
                        nodes.push(Node {
                            span,
                            seg,
                            tally,
                            parent: None,
                            first_child: None,
                            last_child: None,
                            next_sibling: None,
                            place: Place::Open,
                            text: 0..0,
                            has_nested: false,
                        });
                    }
                    Err(e) => {
                        self.finish(None, &mut tally);
                        failed(span, e);
                    }
                }
            }
            link_children(&mut nodes);
            let mut packer = Packer {
                translator: self,
                nodes,
                arena: Vec::with_capacity(batch.len() * 512),
                scratch: Vec::with_capacity(4096),
                limit: self.config.max_document_bytes,
            };
            packer.pack(&mut failed)
        })
    }
}

/// Sets `parent` and the child lists: a subsegment nests under the span of
/// the batch its `parent_id` names (the first one, should IDs repeat).
fn link_children(nodes: &mut [Node<'_>]) {
    let mut by_id: HashMap<(TraceId, SpanId), usize> = HashMap::with_capacity(nodes.len());
    for (i, n) in nodes.iter().enumerate() {
        let ctx = &n.span.span_context;
        by_id.entry((ctx.trace_id(), ctx.span_id())).or_insert(i);
    }
    for i in 0..nodes.len() {
        let n = &nodes[i];
        if n.seg.kind != DocumentType::Subsegment
            || n.seg.parent_id.is_none()
            || n.span.parent_span_is_remote
        {
            continue;
        }
        let key = (n.span.span_context.trace_id(), n.span.parent_span_id);
        let Some(&p) = by_id.get(&key) else { continue };
        if p == i {
            continue;
        }
        nodes[i].parent = Some(p);
        match nodes[p].last_child {
            Some(last) => nodes[last].next_sibling = Some(i),
            None => nodes[p].first_child = Some(i),
        }
        nodes[p].last_child = Some(i);
    }
}

struct Packer<'t, 'a> {
    translator: &'t Translator,
    nodes: Vec<Node<'a>>,
    /// Every node's own text, side by side.
    arena: Vec<u8>,
    /// Where standalone texts are written before they are copied to `arena`.
    scratch: Vec<u8>,
    limit: usize,
}

impl Packer<'_, '_> {
    fn pack(&mut self, failed: &mut impl FnMut(&SpanData, TranslateError)) -> NestedBatch {
        let mut queue: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].parent.is_none())
            .collect();
        for &i in &queue {
            self.nodes[i].place = Place::Queued;
        }
        let mut roots = Vec::new();
        let mut next = 0;
        // Nodes left open after the queue runs dry sit on a cycle of parent
        // IDs (no span of it is a root); the first one of each starts a document.
        let mut open_from = 0;
        loop {
            let root = if next < queue.len() {
                next += 1;
                queue[next - 1]
            } else if let Some(i) =
                (open_from..self.nodes.len()).find(|&i| self.nodes[i].place == Place::Open)
            {
                open_from = i + 1;
                i
            } else {
                break;
            };
            match self.write_root(root) {
                Ok(()) => {
                    self.fill(root, &mut queue);
                    roots.push(root);
                }
                Err(e) => {
                    self.nodes[root].place = Place::Failed;
                    self.settle(root, None);
                    failed(self.nodes[root].span, e);
                    // Its children still go out, on their own.
                    let mut c = self.nodes[root].first_child;
                    while let Some(ci) = c {
                        if self.nodes[ci].place == Place::Open {
                            self.nodes[ci].place = Place::Queued;
                            queue.push(ci);
                        }
                        c = self.nodes[ci].next_sibling;
                    }
                }
            }
        }
        self.assemble(&roots, failed)
    }

    /// Writes `root`'s own text, standalone and within the size policy.
    fn write_root(&mut self, root: usize) -> Result<(), TranslateError> {
        let node = &mut self.nodes[root];
        // The size policy rewrites its buffer from the start, so it gets one
        // of its own.
        self.translator
            .write(&mut node.seg, &mut self.scratch, &mut node.tally)?;
        let at = self.arena.len();
        self.arena.extend_from_slice(&self.scratch);
        node.text = at..self.arena.len();
        node.place = Place::Root;
        Ok(())
    }

    /// Nests into `root`'s document, breadth-first, every descendant that fits.
    fn fill(&mut self, root: usize, queue: &mut Vec<usize>) {
        let mut size = self.nodes[root].text.len();
        let mut level = vec![root];
        let mut depth = 0;
        while !level.is_empty() {
            depth += 1;
            let mut below = Vec::new();
            for p in level {
                let mut c = self.nodes[p].first_child;
                while let Some(ci) = c {
                    c = self.nodes[ci].next_sibling;
                    if self.nodes[ci].place != Place::Open {
                        continue;
                    }
                    if depth <= MAX_NESTING_DEPTH && self.try_nest(ci, p, &mut size) {
                        below.push(ci);
                    } else {
                        self.nodes[ci].place = Place::Queued;
                        queue.push(ci);
                    }
                }
            }
            level = below;
        }
    }

    /// Adds `child`'s nested text under `parent` when the document stays
    /// within the limit.
    fn try_nest(&mut self, child: usize, parent: usize, size: &mut usize) -> bool {
        let at = self.arena.len();
        if crate::json::write_embedded(&mut self.arena, &self.nodes[child].seg).is_err() {
            // Left to the standalone path, which reports the error.
            self.arena.truncate(at);
            return false;
        }
        let framing = if self.nodes[parent].has_nested {
            1 // the comma
        } else {
            FIRST_CHILD_BYTES
        };
        let grown = *size + (self.arena.len() - at) + framing;
        if grown > self.limit {
            self.arena.truncate(at);
            return false;
        }
        *size = grown;
        self.nodes[parent].has_nested = true;
        let node = &mut self.nodes[child];
        node.text = at..self.arena.len();
        node.place = Place::Nested;
        true
    }

    /// Counts `node`'s translation, with its document type or `None` on failure.
    fn settle(&mut self, node: usize, kind: Option<DocumentType>) {
        let n = &mut self.nodes[node];
        self.translator.finish(kind, &mut n.tally);
    }

    /// The documents of `roots`, each with its nested subsegments.
    fn assemble(
        &mut self,
        roots: &[usize],
        failed: &mut impl FnMut(&SpanData, TranslateError),
    ) -> NestedBatch {
        let mut out = NestedBatch {
            docs: Vec::with_capacity(roots.len()),
            trimmed: 0,
        };
        for &root in roots {
            let mut text = Vec::with_capacity(self.nodes[root].text.len());
            let mut members = Vec::new();
            self.emit(root, &mut text, &mut members);
            // The writer only ever emits UTF-8 (see `Translator::translate_json`).
            let text = String::from_utf8(text);
            for &m in &members {
                let kind = text.is_ok().then_some(self.nodes[m].seg.kind);
                self.settle(m, kind);
                out.trimmed += u64::from(kind.is_some() && self.nodes[m].tally.trimmed());
            }
            match text {
                Ok(text) => out.docs.push(Document {
                    text: text.into(),
                    spans: members.len() as u64,
                }),
                Err(e) => {
                    for &m in &members {
                        let why = serde::ser::Error::custom(e.utf8_error());
                        failed(self.nodes[m].span, TranslateError::Serialize(why));
                    }
                }
            }
        }
        out
    }

    /// Appends `node`'s text with its nested children's inside (before its
    /// closing brace), and the nodes written to `members`.
    fn emit(&self, node: usize, out: &mut Vec<u8>, members: &mut Vec<usize>) {
        members.push(node);
        let own = &self.arena[self.nodes[node].text.clone()];
        // Every document is a JSON object: its text ends with `}`.
        let (close, body) = own.split_last().unwrap_or((&b'}', own));
        out.extend_from_slice(body);
        let mut first = true;
        let mut c = self.nodes[node].first_child;
        while let Some(ci) = c {
            if self.nodes[ci].place == Place::Nested {
                out.extend_from_slice(if first { br#","subsegments":["# } else { b"," });
                first = false;
                self.emit(ci, out, members);
            }
            c = self.nodes[ci].next_sibling;
        }
        if !first {
            out.push(b']');
        }
        out.push(*close);
    }
}
