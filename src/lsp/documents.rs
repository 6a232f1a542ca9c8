//! The open documents: their text as the editor has it, kept in step with full and incremental
//! changes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lsp_types::{TextDocumentContentChangeEvent, Uri};

use super::convert::{Encoding, Lines, uri_to_path};
use crate::diagnostic::Diagnostic;
use crate::shell::ScriptCache;
use crate::source::LineIndex;
use crate::syntax::Dockerfile;

/// A document's last lint: its text parsed and its findings, fixes included. The published
/// diagnostics carry only an index into `findings`; a code action converts the fix and makes
/// the ignore edits of the few findings it is asked about, then.
#[derive(Debug)]
pub struct Analysis {
    pub version: i32,
    pub df: Dockerfile,
    pub findings: Vec<Diagnostic>,
}

#[derive(Debug)]
pub struct Document {
    pub version: i32,
    pub language_id: String,
    /// On disk, for `file:` URIs: its folder is the build context.
    pub path: Option<PathBuf>,
    pub text: String,
    /// The lint behind the diagnostics last published for this document.
    pub analysis: Option<Analysis>,
    /// Its RUNs' parsed scripts, which the next lint reuses where a change left them alone.
    pub scripts: Arc<ScriptCache>,
}

impl Document {
    pub fn new(uri: &Uri, language_id: String, version: i32, text: String) -> Self {
        Document {
            version,
            language_id,
            path: uri_to_path(uri),
            text,
            analysis: None,
            scripts: Arc::default(),
        }
    }

    /// A Dockerfile by language or by name; other documents (a `.dockerignore`) are kept for
    /// their text but not linted.
    pub fn is_dockerfile(&self) -> bool {
        let language = self.language_id.to_ascii_lowercase();
        if matches!(language.as_str(), "dockerfile" | "containerfile") {
            return true;
        }
        self.file_name()
            .is_some_and(crate::discover::is_dockerfile_name)
    }

    /// A `.dockerignore` (or `Dockerfile.dockerignore`), which context rules read.
    pub fn is_ignore_file(&self) -> bool {
        self.file_name()
            .is_some_and(|n| n.ends_with(".dockerignore"))
    }

    pub fn file_name(&self) -> Option<&str> {
        self.path.as_deref()?.file_name()?.to_str()
    }

    /// Applies changes in order; each range is read against the text the previous change left.
    pub fn apply(&mut self, changes: Vec<TextDocumentContentChangeEvent>, encoding: Encoding) {
        for change in changes {
            match change.range {
                None => self.text = change.text,
                Some(range) => {
                    let index = LineIndex::new(&self.text);
                    let span = Lines {
                        text: &self.text,
                        index: &index,
                        encoding,
                    }
                    .span(range);
                    self.text.replace_range(span.range(), &change.text);
                }
            }
        }
    }
}

/// Open documents by URI.
#[derive(Debug, Default)]
pub struct Documents {
    docs: HashMap<Uri, Document>,
}

impl Documents {
    pub fn open(&mut self, uri: Uri, doc: Document) {
        self.docs.insert(uri, doc);
    }

    pub fn close(&mut self, uri: &Uri) -> Option<Document> {
        self.docs.remove(uri)
    }

    pub fn get(&self, uri: &Uri) -> Option<&Document> {
        self.docs.get(uri)
    }

    pub fn get_mut(&mut self, uri: &Uri) -> Option<&mut Document> {
        self.docs.get_mut(uri)
    }

    /// The URIs of the open Dockerfiles.
    pub fn dockerfiles(&self) -> Vec<Uri> {
        self.docs
            .iter()
            .filter(|(_, d)| d.is_dockerfile())
            .map(|(u, _)| u.clone())
            .collect()
    }

    /// The unsaved text of open ignore files, which the context rules read instead of the disk.
    pub fn ignore_overlay(&self) -> Vec<(PathBuf, String)> {
        self.docs
            .values()
            .filter(|d| d.is_ignore_file())
            .filter_map(|d| Some((d.path.clone()?, d.text.clone())))
            .collect()
    }

    /// The open document at a path.
    pub fn by_path(&self, path: &Path) -> Option<(&Uri, &Document)> {
        self.docs
            .iter()
            .find(|(_, d)| d.path.as_deref() == Some(path))
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use lsp_types as lsp;

    use super::*;

    fn change(
        range: Option<((u32, u32), (u32, u32))>,
        text: &str,
    ) -> TextDocumentContentChangeEvent {
        TextDocumentContentChangeEvent {
            range: range.map(|((a, b), (c, d))| {
                lsp::Range::new(lsp::Position::new(a, b), lsp::Position::new(c, d))
            }),
            range_length: None,
            text: text.to_string(),
        }
    }

    fn doc(text: &str) -> Document {
        let uri = Uri::from_str("file:///w/Dockerfile").unwrap();
        Document::new(&uri, "dockerfile".into(), 1, text.into())
    }

    #[test]
    fn incremental_changes_apply_in_order_in_utf16() {
        let mut d = doc("FROM a\nRUN \u{1d11e}x\n");
        d.apply(
            vec![
                // Replace `x` after the 2-unit character, then insert a line at the top.
                change(Some(((1, 6), (1, 7))), "y"),
                change(Some(((0, 0), (0, 0))), "# hi\n"),
            ],
            Encoding::Utf16,
        );
        assert_eq!(d.text, "# hi\nFROM a\nRUN \u{1d11e}y\n");
        d.apply(vec![change(None, "FROM b\n")], Encoding::Utf16);
        assert_eq!(d.text, "FROM b\n");
    }

    #[test]
    fn out_of_range_changes_clamp_instead_of_panicking() {
        let mut d = doc("FROM a\n");
        d.apply(
            vec![
                change(Some(((0, 40), (9, 9))), "!"),
                change(Some(((5, 0), (0, 2))), "_"),
            ],
            Encoding::Utf8,
        );
        assert_eq!(d.text, "FR_");
    }

    #[test]
    fn dockerfiles_are_known_by_language_or_name() {
        assert!(doc("").is_dockerfile());
        let other = |uri: &str, lang: &str| {
            Document::new(&Uri::from_str(uri).unwrap(), lang.into(), 1, String::new())
        };
        assert!(other("file:///w/api.Dockerfile", "plaintext").is_dockerfile());
        assert!(!other("file:///w/.dockerignore", "ignore").is_dockerfile());
        assert!(other("file:///w/.dockerignore", "ignore").is_ignore_file());
        assert!(!other("untitled:1", "plaintext").is_dockerfile());
    }
}
