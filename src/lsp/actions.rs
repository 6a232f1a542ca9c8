//! Code actions: each fix as a quickfix, "ignore this rule here", and "fix all" as a source
//! action. A quickfix is made from the finding of the last lint that its diagnostic's `data`
//! names, so it needs no re-lint, and only the findings asked about have their fixes converted.

use std::collections::HashMap;

use lsp_types::{
    self as lsp, CodeAction, CodeActionKind, CodeActionOrCommand, CreateFile, CreateFileOptions,
    DocumentChangeOperation, DocumentChanges, OneOf, OptionalVersionedTextDocumentIdentifier,
    ResourceOp, TextDocumentEdit, TextEdit, Uri, WorkspaceEdit,
};

use super::convert::{self, DiagnosticData, FileData, FixData, Lines, SOURCE, path_to_uri};
use super::documents::{Analysis, Document, Documents};
use super::server::ClientSupport;
use crate::diagnostic::Diagnostic;
use crate::fix::Safety;
use crate::source::{LineIndex, Span};

/// The kind of the "fix all" source action.
pub fn fix_all_kind() -> CodeActionKind {
    CodeActionKind::from("source.fixAll.layerwise")
}

/// Whether `kind` is one of the kinds asked for (`only`), which name kinds or their parents.
pub fn wanted(only: Option<&[CodeActionKind]>, kind: &CodeActionKind) -> bool {
    only.is_none_or(|only| {
        only.iter().any(|o| {
            let (o, k) = (o.as_str(), kind.as_str());
            k == o || k.strip_prefix(o).is_some_and(|rest| rest.starts_with('.'))
        })
    })
}

/// What the editor can apply.
pub struct Target<'a> {
    pub uri: &'a Uri,
    pub doc: &'a Document,
    pub docs: &'a Documents,
    pub client: &'a ClientSupport,
}

/// The quickfixes for the diagnostics the client sent along, made from the findings of the
/// document's last lint that they stand for.
pub fn quickfixes(
    target: &Target<'_>,
    diagnostics: &[lsp::Diagnostic],
    only: Option<&[CodeActionKind]>,
) -> Vec<CodeActionOrCommand> {
    if !wanted(only, &CodeActionKind::QUICKFIX) {
        return Vec::new();
    }
    // Edits made for another version would land in the wrong place.
    let Some(analysis) = target
        .doc
        .analysis
        .as_ref()
        .filter(|a| a.version == target.doc.version)
    else {
        return Vec::new();
    };
    let df = &analysis.df;
    let lines = Lines {
        text: df.text(),
        index: df.lines(),
        encoding: target.client.encoding,
    };
    let mut fixes = Vec::new();
    let mut ignores: Vec<CodeAction> = Vec::new();
    for d in diagnostics
        .iter()
        .filter(|d| d.source.as_deref() == Some(SOURCE))
    {
        let Some(finding) = finding_of(analysis, &lines, d) else {
            continue;
        };
        let rule = finding.rule;
        if let Some(fix) = finding
            .fix
            .as_ref()
            .filter(|f| f.safety != Safety::DisplayOnly)
        {
            let fix = FixData::new(fix, &lines);
            let mut plan = EditPlan::new(target);
            plan.document(fix.edits.clone());
            if fix.files.iter().all(|f| plan.file(f).is_some()) {
                let unsafe_note = if fix.safety == Safety::Unsafe {
                    " (unsafe)"
                } else {
                    ""
                };
                fixes.push(CodeAction {
                    title: format!("Fix {rule}{unsafe_note}: {}", fix.title),
                    kind: Some(CodeActionKind::QUICKFIX),
                    diagnostics: Some(vec![d.clone()]),
                    edit: Some(plan.finish()),
                    is_preferred: Some(fix.safety == Safety::Safe),
                    ..CodeAction::default()
                });
            }
        }
        // One of each per rule, however many of its findings were asked about: the edit is
        // only made for the first.
        let here = format!("Ignore {rule} for this instruction");
        if !ignores.iter().any(|a| a.title == here)
            && let Some(edit) = convert::ignore_edit(df, &lines, rule, finding.span)
        {
            ignores.push(ignore_action(target, d, here, edit));
        }
        let everywhere = format!("Ignore {rule} in this file");
        if !ignores.iter().any(|a| a.title == everywhere)
            && let Some(edit) = convert::global_ignore_edit(df, &lines, rule)
        {
            ignores.push(ignore_action(target, d, everywhere, edit));
        }
    }
    fixes
        .into_iter()
        .chain(ignores)
        .map(CodeActionOrCommand::CodeAction)
        .collect()
}

fn ignore_action(
    target: &Target<'_>,
    d: &lsp::Diagnostic,
    title: String,
    edit: TextEdit,
) -> CodeAction {
    let mut plan = EditPlan::new(target);
    plan.document(vec![edit]);
    CodeAction {
        title,
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: Some(vec![d.clone()]),
        edit: Some(plan.finish()),
        ..CodeAction::default()
    }
}

/// The finding a diagnostic stands for: the one its `data` names, or, from a client that does
/// not send `data` back, the one at the same place with the same code and message.
fn finding_of<'a>(
    analysis: &'a Analysis,
    lines: &Lines<'_>,
    d: &lsp::Diagnostic,
) -> Option<&'a Diagnostic> {
    let code = match &d.code {
        Some(lsp::NumberOrString::String(code)) => code.as_str(),
        _ => return None,
    };
    match &d.data {
        Some(value) => {
            let data: DiagnosticData = serde_json::from_value(value.clone()).ok()?;
            if data.version != analysis.version {
                return None;
            }
            analysis
                .findings
                .get(data.finding)
                .filter(|f| f.rule == code)
        }
        None => analysis
            .findings
            .iter()
            .find(|f| f.rule == code && f.message == d.message && lines.range(f.span) == d.range),
    }
}

/// "Fix all": the safe fixes of the whole document, as the edits between its text and the
/// fixed text.
pub fn fix_all(
    target: &Target<'_>,
    fixed: &crate::fixer::FixOutcome,
    encoding: convert::Encoding,
) -> Option<CodeActionOrCommand> {
    if !fixed.changed() || fixed.text == target.doc.text {
        return None;
    }
    let index = LineIndex::new(&target.doc.text);
    let lines = Lines {
        text: &target.doc.text,
        index: &index,
        encoding,
    };
    let mut plan = EditPlan::new(target);
    plan.document(line_edits(&lines, &fixed.text));
    for change in &fixed.files {
        plan.file(&FileData::from(change))?;
    }
    Some(CodeActionOrCommand::CodeAction(CodeAction {
        title: "Fix all safe layerwise findings".to_string(),
        kind: Some(fix_all_kind()),
        edit: Some(plan.finish()),
        ..CodeAction::default()
    }))
}

/// The edits that turn `old` into `new`, a hunk of whole lines each.
fn line_edits(old: &Lines<'_>, new: &str) -> Vec<TextEdit> {
    let diff = similar::TextDiff::from_lines(old.text, new);
    let old_lines: Vec<&str> = diff.old_slices().to_vec();
    let new_lines: Vec<&str> = diff.new_slices().to_vec();
    let mut starts = Vec::with_capacity(old_lines.len() + 1);
    let mut at = 0;
    for line in &old_lines {
        starts.push(at);
        at += line.len();
    }
    starts.push(at);
    diff.ops()
        .iter()
        .filter(|op| op.tag() != similar::DiffTag::Equal)
        .map(|op| {
            let (old_range, new_range) = (op.old_range(), op.new_range());
            let span = Span::new(starts[old_range.start], starts[old_range.end]);
            TextEdit::new(old.range(span), new_lines[new_range].concat())
        })
        .collect()
}

/// A workspace edit, in the form the client supports: versioned `documentChanges` with file
/// creation, or plain `changes`.
struct EditPlan<'a> {
    target: &'a Target<'a>,
    operations: Vec<DocumentChangeOperation>,
    changes: HashMap<Uri, Vec<TextEdit>>,
}

impl<'a> EditPlan<'a> {
    fn new(target: &'a Target<'a>) -> Self {
        EditPlan {
            target,
            operations: Vec::new(),
            changes: HashMap::new(),
        }
    }

    /// Edits of the document the action is for, at the version they were made for.
    fn document(&mut self, edits: Vec<TextEdit>) {
        if edits.is_empty() {
            return;
        }
        let (uri, version) = (self.target.uri.clone(), self.target.doc.version);
        self.edits(uri, Some(version), edits);
    }

    fn edits(&mut self, uri: Uri, version: Option<i32>, edits: Vec<TextEdit>) {
        if self.target.client.document_changes {
            self.operations
                .push(DocumentChangeOperation::Edit(TextDocumentEdit {
                    text_document: OptionalVersionedTextDocumentIdentifier { uri, version },
                    edits: edits.into_iter().map(OneOf::Left).collect(),
                }));
        } else {
            self.changes.entry(uri).or_default().extend(edits);
        }
    }

    /// A change to a file beside the Dockerfile; `None` when the client cannot make it.
    fn file(&mut self, file: &FileData) -> Option<()> {
        match file {
            FileData::Create { path, text } => {
                if !(self.target.client.document_changes && self.target.client.create_files) {
                    return None;
                }
                let uri = path_to_uri(path)?;
                self.operations
                    .push(DocumentChangeOperation::Op(ResourceOp::Create(
                        CreateFile {
                            uri: uri.clone(),
                            options: Some(CreateFileOptions {
                                overwrite: Some(false),
                                ignore_if_exists: Some(true),
                            }),
                            annotation_id: None,
                        },
                    )));
                let start = lsp::Position::new(0, 0);
                self.edits(
                    uri,
                    None,
                    vec![TextEdit::new(lsp::Range::new(start, start), text.clone())],
                );
            }
            FileData::Append { path, text } => {
                // The open buffer when the file is open, else the file on disk.
                let (uri, version, current) = match self.target.docs.by_path(path) {
                    Some((uri, doc)) => (uri.clone(), Some(doc.version), doc.text.clone()),
                    None => (
                        path_to_uri(path)?,
                        None,
                        std::fs::read_to_string(path).ok()?,
                    ),
                };
                let index = LineIndex::new(&current);
                let end = Lines {
                    text: &current,
                    index: &index,
                    encoding: self.target.client.encoding,
                }
                .end();
                self.edits(
                    uri,
                    version,
                    vec![TextEdit::new(lsp::Range::new(end, end), text.clone())],
                );
            }
        }
        Some(())
    }

    fn finish(self) -> WorkspaceEdit {
        if self.target.client.document_changes {
            WorkspaceEdit {
                document_changes: Some(DocumentChanges::Operations(self.operations)),
                ..WorkspaceEdit::default()
            }
        } else {
            WorkspaceEdit {
                changes: Some(self.changes),
                ..WorkspaceEdit::default()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_match_themselves_and_their_parents() {
        let fix_all = fix_all_kind();
        assert!(wanted(None, &fix_all));
        assert!(wanted(Some(&[CodeActionKind::SOURCE]), &fix_all));
        assert!(wanted(Some(&[CodeActionKind::SOURCE_FIX_ALL]), &fix_all));
        assert!(!wanted(Some(&[CodeActionKind::QUICKFIX]), &fix_all));
        assert!(!wanted(
            Some(&[CodeActionKind::from("source.fix")]),
            &fix_all
        ));
    }

    #[test]
    fn line_edits_touch_only_changed_lines() {
        let old = "FROM a\nRUN x\nRUN y\nCMD z\n";
        let new = "FROM a\nRUN x && y\nCMD z\n";
        let index = LineIndex::new(old);
        let lines = Lines {
            text: old,
            index: &index,
            encoding: convert::Encoding::Utf16,
        };
        let edits = line_edits(&lines, new);
        assert_eq!(edits.len(), 1);
        assert_eq!(edits[0].range.start, lsp::Position::new(1, 0));
        assert_eq!(edits[0].range.end, lsp::Position::new(3, 0));
        assert_eq!(edits[0].new_text, "RUN x && y\n");
    }
}
