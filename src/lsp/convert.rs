//! Conversions between the linter's byte spans and findings and the protocol's positions,
//! diagnostics and edits.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::OnceLock;

use lsp_types::{
    self as lsp, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString,
    PositionEncodingKind, TextEdit, Uri,
};
use serde::{Deserialize, Serialize};

use crate::diagnostic::{Diagnostic, Severity};
use crate::fix::{FileChange, Fix, Safety};
use crate::source::{LineIndex, Span, floor_char_boundary};
use crate::syntax::Dockerfile;

/// The diagnostics' `source`.
pub const SOURCE: &str = "layerwise";

/// What a column counts, as agreed with the client at `initialize`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8 bytes: no conversion needed, taken when the client offers it.
    Utf8,
    /// UTF-16 code units: the protocol's default, which every client supports.
    Utf16,
}

impl Encoding {
    /// Picks from the client's `general.positionEncodings`.
    pub fn negotiate(offered: &[String]) -> Encoding {
        if offered.iter().any(|e| e == "utf-8") {
            Encoding::Utf8
        } else {
            Encoding::Utf16
        }
    }

    pub fn kind(self) -> PositionEncodingKind {
        match self {
            Encoding::Utf8 => PositionEncodingKind::UTF8,
            Encoding::Utf16 => PositionEncodingKind::UTF16,
        }
    }
}

/// A text with its line index: converts both ways between byte offsets and positions.
pub struct Lines<'a> {
    pub text: &'a str,
    pub index: &'a LineIndex,
    pub encoding: Encoding,
}

impl Lines<'_> {
    pub fn position(&self, offset: usize) -> lsp::Position {
        let offset = floor_char_boundary(self.text, offset.min(self.text.len()));
        let pos = self.index.position(self.text, offset);
        let character = match self.encoding {
            Encoding::Utf8 => offset - self.index.line_start(pos.line),
            Encoding::Utf16 => pos.utf16_column,
        };
        lsp::Position::new(to_u32(pos.line), to_u32(character))
    }

    pub fn range(&self, span: Span) -> lsp::Range {
        lsp::Range::new(self.position(span.start), self.position(span.end))
    }

    /// The byte offset of a position, clamped into the text: past the end of a line is the
    /// line's end, past the last line the text's end; never inside a character.
    pub fn offset(&self, position: lsp::Position) -> usize {
        let line = position.line as usize;
        let column = position.character as usize;
        match self.encoding {
            Encoding::Utf16 => self.index.offset_utf16(self.text, line, column),
            Encoding::Utf8 => {
                if line >= self.index.line_count() {
                    return self.text.len();
                }
                let span = self.index.line_span(self.text, line);
                floor_char_boundary(self.text, (span.start + column).min(span.end))
            }
        }
    }

    /// The byte span of a range; a reversed range is put in order.
    pub fn span(&self, range: lsp::Range) -> Span {
        let (a, b) = (self.offset(range.start), self.offset(range.end));
        Span::new(a.min(b), a.max(b))
    }

    /// The position after the last character.
    pub fn end(&self) -> lsp::Position {
        self.position(self.text.len())
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// What a diagnostic carries in `data`: which finding of which lint it is. The code action
/// for it looks the finding up and converts its fix then, so that a change is answered
/// without converting (and sending) a fix and two ignore edits per finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiagnosticData {
    /// The document version the finding was made for.
    pub version: i32,
    /// Its index among that lint's findings.
    pub finding: usize,
}

/// A fix as protocol edits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixData {
    pub title: String,
    pub safety: Safety,
    pub edits: Vec<TextEdit>,
    pub files: Vec<FileData>,
}

impl FixData {
    pub fn new(fix: &Fix, lines: &Lines<'_>) -> Self {
        FixData {
            title: fix.title.to_string(),
            safety: fix.safety,
            edits: fix
                .edits
                .iter()
                .map(|e| TextEdit::new(lines.range(e.span), e.text.to_string()))
                .collect(),
            files: fix.files.iter().map(FileData::from).collect(),
        }
    }
}

/// A fix's change to a file beside the Dockerfile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileData {
    Create { path: PathBuf, text: String },
    Append { path: PathBuf, text: String },
}

impl From<&FileChange> for FileData {
    fn from(change: &FileChange) -> Self {
        match change {
            FileChange::Create { path, text } => FileData::Create {
                path: absolute(path),
                text: text.clone(),
            },
            FileChange::Append { path, text } => FileData::Append {
                path: absolute(path),
                text: text.clone(),
            },
        }
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

pub fn severity(severity: Severity) -> DiagnosticSeverity {
    match severity {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
        Severity::Info => DiagnosticSeverity::INFORMATION,
    }
}

/// A finding as a protocol diagnostic; `data` says which finding of which lint it is.
pub fn diagnostic(
    d: &Diagnostic,
    lines: &Lines<'_>,
    uri: &Uri,
    data: &DiagnosticData,
) -> lsp::Diagnostic {
    let related: Vec<DiagnosticRelatedInformation> = d
        .labels()
        .iter()
        .map(|label| DiagnosticRelatedInformation {
            location: Location::new(uri.clone(), lines.range(label.span)),
            message: label.message.to_string(),
        })
        .collect();
    lsp::Diagnostic {
        range: lines.range(d.span),
        severity: Some(severity(d.severity)),
        code: Some(NumberOrString::String(d.rule.to_string())),
        code_description: code_description(d.rule),
        source: Some(SOURCE.to_string()),
        message: d.message.to_string(),
        related_information: (!related.is_empty()).then_some(related),
        // An ignore comment that suppresses nothing can go: editors grey it out.
        tags: (d.rule == "LW902").then(|| vec![lsp::DiagnosticTag::UNNECESSARY]),
        data: serde_json::to_value(data).ok(),
    }
}

/// The link to a rule's docs, its URI parsed once per rule rather than once per finding.
fn code_description(rule: &str) -> Option<lsp::CodeDescription> {
    static LINKS: OnceLock<Vec<(&'static str, Option<Uri>)>> = OnceLock::new();
    let links = LINKS.get_or_init(|| {
        crate::rules::all_meta()
            .iter()
            .map(|m| (m.id.as_str(), Uri::from_str(&m.url()).ok()))
            .collect()
    });
    let (_, href) = links.iter().find(|(id, _)| *id == rule)?;
    Some(lsp::CodeDescription {
        href: href.clone()?,
    })
}

/// A parse error as a diagnostic.
pub fn syntax_error(message: &str, span: Span, lines: &Lines<'_>) -> lsp::Diagnostic {
    lsp::Diagnostic {
        range: lines.range(span),
        severity: Some(DiagnosticSeverity::ERROR),
        source: Some(SOURCE.to_string()),
        message: message.to_string(),
        ..lsp::Diagnostic::default()
    }
}

/// The edit that suppresses `rule` on the instruction holding `span` (a new `# layerwise
/// ignore=` line above it, or the rule added to the one there); none for the ignore-comment
/// rules themselves.
pub fn ignore_edit(df: &Dockerfile, lines: &Lines<'_>, rule: &str, span: Span) -> Option<TextEdit> {
    if crate::suppress::COMMENT_RULES.contains(&rule) {
        return None;
    }
    let edit = crate::suppress::ignore_edit(df, span.start, rule)?;
    Some(TextEdit::new(lines.range(edit.span), edit.text.into()))
}

/// The edit that suppresses `rule` in the whole file: the rule added to a `# layerwise global
/// ignore=` comment, or a new one after the parser directives (a comment before them would end
/// them).
pub fn global_ignore_edit(df: &Dockerfile, lines: &Lines<'_>, rule: &str) -> Option<TextEdit> {
    use crate::suppress::{Suppressions, Tool};
    use crate::syntax::NodeKind;
    if crate::suppress::COMMENT_RULES.contains(&rule) {
        return None;
    }
    let existing = Suppressions::parse(df)
        .comments
        .into_iter()
        .find(|c| c.tool == Tool::Layerwise && c.global);
    if let Some(comment) = existing {
        if comment.codes.iter().any(|c| c.rule == Some(rule)) {
            return None;
        }
        let separator = if comment.codes.is_empty() { "" } else { "," };
        let at = Span::empty(comment.list.end);
        return Some(TextEdit::new(lines.range(at), format!("{separator}{rule}")));
    }
    let at = df
        .nodes
        .iter()
        .find(|n| !matches!(n.kind, NodeKind::Bom | NodeKind::Directive(_)))
        .map_or(df.text().len(), |n| n.start);
    let newline = if df.text().contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    // After a last directive line without a line break, start a new line first.
    let before = if at > 0 && !df.text()[..at].ends_with('\n') {
        newline
    } else {
        ""
    };
    Some(TextEdit::new(
        lines.range(Span::empty(at)),
        format!("{before}# layerwise global ignore={rule}{newline}"),
    ))
}

/// A `file:` URI's path.
pub fn uri_to_path(uri: &Uri) -> Option<PathBuf> {
    let url = url::Url::parse(uri.as_str()).ok()?;
    if url.scheme() != "file" {
        return None;
    }
    url.to_file_path().ok()
}

pub fn path_to_uri(path: &Path) -> Option<Uri> {
    let url = url::Url::from_file_path(absolute(path)).ok()?;
    Uri::from_str(url.as_str()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines<'a>(text: &'a str, index: &'a LineIndex, encoding: Encoding) -> Lines<'a> {
        Lines {
            text,
            index,
            encoding,
        }
    }

    #[test]
    fn utf16_and_utf8_columns_round_trip() {
        let text = "FROM a\nRUN echo \"h\u{e9}\u{1d11e}\" x\n";
        let index = LineIndex::new(text);
        let x = text.rfind('x').unwrap();
        let utf16 = lines(text, &index, Encoding::Utf16);
        // `RUN echo "h` is 11 units, é is 1, 𝄞 is 2, `" ` is 2.
        assert_eq!(utf16.position(x), lsp::Position::new(1, 16));
        assert_eq!(utf16.offset(lsp::Position::new(1, 16)), x);
        let utf8 = lines(text, &index, Encoding::Utf8);
        assert_eq!(utf8.position(x), lsp::Position::new(1, 19));
        assert_eq!(utf8.offset(lsp::Position::new(1, 19)), x);
    }

    #[test]
    fn out_of_range_positions_clamp() {
        let text = "FROM a\nRUN \u{e9}\n";
        let index = LineIndex::new(text);
        for encoding in [Encoding::Utf8, Encoding::Utf16] {
            let l = lines(text, &index, encoding);
            assert_eq!(l.offset(lsp::Position::new(0, 999)), 6);
            assert_eq!(l.offset(lsp::Position::new(99, 0)), text.len());
            assert_eq!(l.offset(lsp::Position::new(u32::MAX, u32::MAX)), text.len());
        }
        // Inside é (a 2-byte character) in UTF-8 rounds down to its start.
        let utf8 = lines(text, &index, Encoding::Utf8);
        assert_eq!(utf8.offset(lsp::Position::new(1, 5)), 11);
        let reversed = lsp::Range::new(lsp::Position::new(1, 0), lsp::Position::new(0, 0));
        assert_eq!(utf8.span(reversed), Span::new(0, 7));
    }

    #[test]
    fn negotiation_prefers_utf8_and_falls_back_to_utf16() {
        let offered = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            Encoding::negotiate(&offered(&["utf-16", "utf-8"])),
            Encoding::Utf8
        );
        assert_eq!(Encoding::negotiate(&offered(&["utf-32"])), Encoding::Utf16);
        assert_eq!(Encoding::negotiate(&[]), Encoding::Utf16);
    }

    #[test]
    fn ignore_edits_for_an_instruction_and_for_the_file() {
        let text = "# syntax=docker/dockerfile:1\nFROM a\n  RUN x\n";
        let df = Dockerfile::parse(text);
        let l = lines(text, df.lines(), Encoding::Utf16);
        let x = text.find("RUN x").unwrap();
        let edit = ignore_edit(&df, &l, "LW101", Span::new(x, x + 5)).unwrap();
        assert_eq!(edit.range.start, lsp::Position::new(2, 0));
        assert_eq!(edit.new_text, "  # layerwise ignore=LW101\n");
        assert_eq!(ignore_edit(&df, &l, "LW902", Span::new(x, x + 5)), None);
        // The file-wide comment goes after the directive, which must stay first.
        let global = global_ignore_edit(&df, &l, "LW101").unwrap();
        assert_eq!(global.range.start, lsp::Position::new(1, 0));
        assert_eq!(global.new_text, "# layerwise global ignore=LW101\n");
        let text = "# layerwise global ignore=LW104\nFROM a\n";
        let df = Dockerfile::parse(text);
        let l = lines(text, df.lines(), Encoding::Utf16);
        let global = global_ignore_edit(&df, &l, "LW101").unwrap();
        assert_eq!(global.range.start, lsp::Position::new(0, 31));
        assert_eq!(global.new_text, ",LW101");
        assert_eq!(global_ignore_edit(&df, &l, "LW104"), None);
    }

    #[test]
    fn file_uris_and_paths_convert_both_ways() {
        let uri = Uri::from_str("file:///tmp/a%20b/Dockerfile").unwrap();
        let path = uri_to_path(&uri).unwrap();
        assert_eq!(path, PathBuf::from("/tmp/a b/Dockerfile"));
        assert_eq!(path_to_uri(&path).unwrap(), uri);
        assert_eq!(
            uri_to_path(&Uri::from_str("untitled:Untitled-1").unwrap()),
            None
        );
    }
}
