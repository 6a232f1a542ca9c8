//! A fix is data: edits to the Dockerfile (and files beside it) plus how safe they are.
//! Applying takes non-overlapping edits in one pass; the caller re-lints and repeats until
//! nothing changes.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::source::Span;
use crate::text::Text;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Safety {
    /// Cannot change what the image does.
    Safe,
    /// Changes what is installed or the order of steps: right in most cases, needs a look.
    Unsafe,
    /// A suggestion too large to apply blindly; shown, never applied.
    DisplayOnly,
}

impl Safety {
    pub fn as_str(self) -> &'static str {
        match self {
            Safety::Safe => "safe",
            Safety::Unsafe => "unsafe",
            Safety::DisplayOnly => "display-only",
        }
    }
}

/// Replace `span` of the Dockerfile with `text` (an empty span inserts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub span: Span,
    pub text: Text,
}

impl Edit {
    pub fn replace(span: Span, text: impl Into<Text>) -> Self {
        Edit {
            span,
            text: text.into(),
        }
    }

    pub fn insert(at: usize, text: impl Into<Text>) -> Self {
        Edit::replace(Span::empty(at), text)
    }

    pub fn delete(span: Span) -> Self {
        Edit::replace(span, "")
    }
}

/// A change to a file other than the Dockerfile, such as the `.dockerignore` beside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileChange {
    Create { path: PathBuf, text: String },
    Append { path: PathBuf, text: String },
}

impl FileChange {
    pub fn path(&self) -> &std::path::Path {
        match self {
            FileChange::Create { path, .. } | FileChange::Append { path, .. } => path,
        }
    }
}

/// A file of many findings holds every fix until its report is written: the lists are boxed
/// slices, without a `Vec`'s spare room and capacity field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    /// What the fix does, in a line: "append `&& rm -rf /var/lib/apt/lists/*`".
    pub title: Text,
    pub safety: Safety,
    /// Sorted, non-overlapping edits of the Dockerfile.
    pub edits: Box<[Edit]>,
    pub files: Box<[FileChange]>,
}

impl Fix {
    pub fn new(title: impl Into<Text>, safety: Safety, mut edits: Vec<Edit>) -> Self {
        edits.sort_by_key(|e| (e.span.start, e.span.end));
        Fix {
            title: title.into(),
            safety,
            edits: edits.into_boxed_slice(),
            files: Box::default(),
        }
    }

    pub fn with_file(mut self, change: FileChange) -> Self {
        let mut files = std::mem::take(&mut self.files).into_vec();
        files.push(change);
        self.files = files.into_boxed_slice();
        self
    }

    /// The part of the Dockerfile the fix touches.
    pub fn span(&self) -> Option<Span> {
        self.edits.iter().map(|e| e.span).reduce(Span::cover)
    }
}

/// Applies the fixes whose edits do not overlap an earlier accepted fix's, in order of position.
/// Returns the new text and the indices of the fixes applied; the rest wait for the next pass.
pub fn apply(text: &str, fixes: &[&Fix]) -> (String, Vec<usize>) {
    let mut order: Vec<usize> = (0..fixes.len()).collect();
    order.sort_by_key(|&i| fixes[i].span().map(|s| (s.start, s.end)));
    let mut taken: Vec<Span> = Vec::new();
    let mut applied = Vec::new();
    for i in order {
        let spans: Vec<Span> = fixes[i].edits.iter().map(|e| e.span).collect();
        // Touching (not just overlapping) counts: two insertions at one point would race.
        let clashes = spans.iter().any(|s| {
            taken.iter().any(|t| {
                s.start <= t.end
                    && t.start <= s.end
                    && !(s.is_empty() && t.is_empty() && s.start != t.start)
            })
        });
        if clashes || !edits_are_valid(text, &fixes[i].edits) {
            continue;
        }
        taken.extend(spans);
        applied.push(i);
    }
    let mut edits: Vec<&Edit> = applied.iter().flat_map(|&i| &fixes[i].edits).collect();
    edits.sort_by_key(|e| (e.span.start, e.span.end));
    let mut out = String::with_capacity(text.len() + 64);
    let mut at = 0;
    for edit in edits {
        out.push_str(&text[at..edit.span.start]);
        out.push_str(&edit.text);
        at = edit.span.end;
    }
    out.push_str(&text[at..]);
    applied.sort_unstable();
    (out, applied)
}

fn edits_are_valid(text: &str, edits: &[Edit]) -> bool {
    edits.windows(2).all(|w| w[0].span.end <= w[1].span.start)
        && edits.iter().all(|e| {
            e.span.start <= e.span.end
                && e.span.end <= text.len()
                && text.is_char_boundary(e.span.start)
                && text.is_char_boundary(e.span.end)
        })
}

/// How a file writes multi-line instructions, so generated text looks like the user's own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Style {
    /// Leading whitespace of continuation lines.
    pub indent: String,
    pub escape: char,
    pub newline: &'static str,
}

impl Style {
    pub fn of(df: &crate::syntax::Dockerfile) -> Style {
        let text = df.text();
        let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
        let mut counts: Vec<(String, usize)> = Vec::new();
        for inst in df.instructions() {
            if inst.lines().1 == inst.lines().0 || !inst.heredocs().is_empty() {
                continue;
            }
            let line = df.lines().line_span(text, inst.lines().0 + 1);
            let content = &text[line.range()];
            let indent = &content[..content.len() - content.trim_start().len()];
            if indent.is_empty() || content.trim().is_empty() {
                continue;
            }
            match counts.iter_mut().find(|(i, _)| i == indent) {
                Some((_, n)) => *n += 1,
                None => counts.push((indent.to_string(), 1)),
            }
        }
        let indent = counts
            .into_iter()
            .max_by_key(|(_, n)| *n)
            .map_or_else(|| "    ".to_string(), |(i, _)| i);
        Style {
            indent,
            escape: df.escape,
            newline,
        }
    }

    /// ` \` + newline + indent: the break before the next command of a chain.
    pub fn continuation(&self) -> String {
        format!(" {}{}{}", self.escape, self.newline, self.indent)
    }

    /// Text appending `command` to a chain: ` \` newline indent `&& command`.
    pub fn and_then(&self, command: &str) -> String {
        format!("{}&& {command}", self.continuation())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(edits: Vec<Edit>) -> Fix {
        Fix::new("t", Safety::Safe, edits)
    }

    #[test]
    fn applies_disjoint_edits_and_defers_overlapping_ones() {
        let text = "abcdef";
        let a = fix(vec![Edit::replace(Span::new(0, 2), "X")]);
        let b = fix(vec![Edit::replace(Span::new(1, 3), "Y")]);
        let c = fix(vec![Edit::insert(6, "!")]);
        let (out, applied) = apply(text, &[&a, &b, &c]);
        assert_eq!(out, "Xcdef!");
        assert_eq!(applied, [0, 2]);
    }

    #[test]
    fn out_of_range_edits_are_skipped_not_panicking() {
        let a = fix(vec![Edit::replace(Span::new(3, 99), "X")]);
        let (out, applied) = apply("abc", &[&a]);
        assert_eq!(out, "abc");
        assert!(applied.is_empty());
    }
}
