//! A fix is data: edits to the Dockerfile (and files beside it) plus how safe they are.
//! Applying takes non-overlapping edits in one pass; the caller re-lints and repeats until
//! nothing changes.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::source::Span;

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
    pub text: String,
}

impl Edit {
    pub fn replace(span: Span, text: impl Into<String>) -> Self {
        Edit {
            span,
            text: text.into(),
        }
    }

    pub fn insert(at: usize, text: impl Into<String>) -> Self {
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

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    /// What the fix does, in a line: "append `&& rm -rf /var/lib/apt/lists/*`".
    pub title: String,
    pub safety: Safety,
    /// Sorted, non-overlapping edits of the Dockerfile.
    pub edits: Vec<Edit>,
    pub files: Vec<FileChange>,
}

impl Fix {
    pub fn new(title: impl Into<String>, safety: Safety, mut edits: Vec<Edit>) -> Self {
        edits.sort_by_key(|e| (e.span.start, e.span.end));
        Fix {
            title: title.into(),
            safety,
            edits,
            files: Vec::new(),
        }
    }

    pub fn with_file(mut self, change: FileChange) -> Self {
        self.files.push(change);
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
            if inst.lines.1 == inst.lines.0 || !inst.heredocs.is_empty() {
                continue;
            }
            let line = df.lines().line_span(text, inst.lines.0 + 1);
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

/// The result of fixing a file: its new text, which rules' fixes went in, and the changes to
/// files beside it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FixOutcome {
    pub text: String,
    /// Rule IDs of the fixes applied, in the order applied.
    pub applied: Vec<&'static str>,
    pub files: Vec<FileChange>,
}

impl FixOutcome {
    pub fn changed(&self) -> bool {
        !self.applied.is_empty()
    }
}

/// The rules of applied fixes, counted, in the order first applied: `LW102, LW101 ×2`.
pub fn summary(applied: &[impl AsRef<str>]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for id in applied.iter().map(AsRef::as_ref) {
        match counts.iter_mut().find(|(i, _)| *i == id) {
            Some((_, n)) => *n += 1,
            None => counts.push((id, 1)),
        }
    }
    counts
        .iter()
        .map(|&(id, n)| match n {
            1 => id.to_string(),
            n => format!("{id} ×{n}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Most passes a fix run makes; each pass applies every fix that does not overlap another.
const MAX_PASSES: usize = 10;

/// Lints and applies the fixes at or below `max` safety (never display-only ones), pass after
/// pass until nothing changes. A text that does not parse is returned untouched.
pub fn fix_text(text: &str, options: &crate::lint::LintOptions, max: Safety) -> FixOutcome {
    let mut outcome = FixOutcome {
        text: text.to_string(),
        ..FixOutcome::default()
    };
    let mut options = options.clone();
    for _ in 0..MAX_PASSES {
        let df = crate::syntax::Dockerfile::parse(outcome.text.as_str());
        if !df.errors.is_empty() {
            break;
        }
        let diagnostics = crate::lint::lint(&df, &options);
        let candidates: Vec<&Diagnostic> = diagnostics
            .iter()
            .filter(|d| {
                d.fix
                    .as_ref()
                    .is_some_and(|f| f.safety <= max && f.safety != Safety::DisplayOnly)
            })
            .collect();
        let chosen = one_fix_per_instruction(&df, &candidates);
        let fixes: Vec<&Fix> = chosen.iter().filter_map(|d| d.fix.as_ref()).collect();
        let (new_text, applied) = apply(&outcome.text, &fixes);
        let mut progressed = new_text != outcome.text;
        for &i in &applied {
            for change in &fixes[i].files {
                if options.overlay_change(change) {
                    progressed = true;
                    outcome.files.push(change.clone());
                }
            }
            outcome.applied.push(chosen[i].rule);
        }
        if !progressed {
            // Fixes that change nothing are not progress; do not report them as applied.
            outcome
                .applied
                .truncate(outcome.applied.len() - applied.len());
            break;
        }
        outcome.text = new_text;
    }
    outcome
}

/// Picks the fixes of one pass: fixes that move or merge instructions first, then at most one
/// rule's fixes per instruction, so that in-place fixes land on the final shape in a later pass
/// instead of on text that is about to move. One in-place rule may fix several places of an
/// instruction in one pass (`--no-install-recommends` on each of its installs) when its edits
/// do not touch: one fix a pass left a RUN of many installs unfinished after the last pass.
fn one_fix_per_instruction<'d>(
    df: &crate::syntax::Dockerfile,
    candidates: &[&'d Diagnostic],
) -> Vec<&'d Diagnostic> {
    let mut order: Vec<&Diagnostic> = candidates.to_vec();
    order.sort_by_key(|d| (crate::rules::fix_priority(d.rule), d.span.start));
    let instruction_lines: Vec<Span> = df
        .instructions()
        .map(|i| {
            Span::new(
                df.lines().line_start(i.lines.0),
                i.span.end.max(i.span.start),
            )
        })
        .collect();
    // Instruction spans are sorted and disjoint: the ones an edit touches are found by search.
    let claim = |fix: &Fix| -> Vec<Span> {
        fix.edits
            .iter()
            .map(|e| {
                let first = instruction_lines.partition_point(|s| s.end < e.span.start);
                instruction_lines[first..]
                    .iter()
                    .take_while(|s| s.start <= e.span.end)
                    .fold(e.span, |acc, s| acc.cover(*s))
            })
            .collect()
    };
    let in_place = |rule: &str| crate::rules::fix_priority(rule) == crate::rules::IN_PLACE;
    // What is claimed (instructions, by rule) and every edit chosen so far, as disjoint spans
    // by start, so that a pass of many fixes is not quadratic.
    let mut taken = Claims::default();
    let mut edits = Claims::default();
    let mut chosen = Vec::new();
    for d in order {
        let Some(fix) = &d.fix else { continue };
        let spans = claim(fix);
        let shares = |rule: &str| rule == d.rule && in_place(rule);
        let clashes = spans
            .iter()
            .any(|s| taken.touching(*s).any(|rule| !shares(rule)))
            || fix
                .edits
                .iter()
                .any(|e| edits.touching(e.span).next().is_some());
        if !clashes {
            for s in spans {
                taken.insert(s, d.rule);
            }
            for e in &fix.edits {
                edits.insert(e.span, d.rule);
            }
            chosen.push(d);
        }
    }
    chosen
}

/// Disjoint spans by start, each with the rule that claimed it. Spans that touch are merged,
/// which callers only let happen between spans of one rule.
#[derive(Default)]
struct Claims(std::collections::BTreeMap<usize, (usize, &'static str)>);

impl Claims {
    /// The rules of the spans that overlap or touch `span`.
    fn touching(&self, span: Span) -> impl Iterator<Item = &'static str> + '_ {
        self.0
            .range(..=span.end)
            .rev()
            .take_while(move |(_, (end, _))| *end >= span.start)
            .map(|(_, (_, rule))| *rule)
    }

    fn insert(&mut self, span: Span, rule: &'static str) {
        let mut merged = span;
        let starts: Vec<usize> = self
            .0
            .range(..=span.end)
            .rev()
            .take_while(|(_, (end, _))| *end >= span.start)
            .map(|(start, _)| *start)
            .collect();
        for start in starts {
            if let Some((end, _)) = self.0.remove(&start) {
                merged = merged.cover(Span::new(start, end));
            }
        }
        self.0.insert(merged.start, (merged.end, rule));
    }
}

use crate::diagnostic::Diagnostic;

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
    fn a_run_of_many_installs_is_fixed_within_the_passes() {
        let installs = vec!["apt-get install -y curl"; 3 * MAX_PASSES].join(" && ");
        let text = format!(
            "FROM debian\nRUN apt-get update && {installs} && rm -rf /var/lib/apt/lists/*\n"
        );
        let options = crate::lint::LintOptions::default();
        let fixed = fix_text(&text, &options, Safety::Unsafe);
        assert_eq!(
            fixed.text.matches("--no-install-recommends").count(),
            3 * MAX_PASSES,
            "{}",
            fixed.text
        );
        assert!(!fix_text(&fixed.text, &options, Safety::Unsafe).changed());
    }

    #[test]
    fn summary_counts_rules_in_the_order_first_applied() {
        assert_eq!(summary(&["LW102", "LW101", "LW102"]), "LW102 ×2, LW101");
        assert_eq!(summary(&["LW101".to_string()]), "LW101");
        assert_eq!(summary(&[] as &[&str]), "");
    }

    #[test]
    fn out_of_range_edits_are_skipped_not_panicking() {
        let a = fix(vec![Edit::replace(Span::new(3, 99), "X")]);
        let (out, applied) = apply("abc", &[&a]);
        assert_eq!(out, "abc");
        assert!(applied.is_empty());
    }
}
