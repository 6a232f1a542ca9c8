//! The fix loop: lint, apply the fixes that do not clash, and repeat until nothing changes.
//! The fixes themselves are data ([`crate::fix`]); this is the one place that applies them.

use crate::diagnostic::Diagnostic;
use crate::fix::{FileChange, Fix, Safety, apply};
use crate::lint::{LintOptions, lint};
use crate::source::Span;
use crate::syntax::Dockerfile;

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
pub fn fix_text(text: &str, options: &LintOptions, max: Safety) -> FixOutcome {
    let mut outcome = FixOutcome {
        text: text.to_string(),
        ..FixOutcome::default()
    };
    let mut options = options.clone();
    for _ in 0..MAX_PASSES {
        let df = Dockerfile::parse(outcome.text.as_str());
        if !df.errors.is_empty() {
            break;
        }
        let diagnostics = lint(&df, &options);
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
    df: &Dockerfile,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_of_many_installs_is_fixed_within_the_passes() {
        let installs = vec!["apt-get install -y curl"; 3 * MAX_PASSES].join(" && ");
        let text = format!(
            "FROM debian\nRUN apt-get update && {installs} && rm -rf /var/lib/apt/lists/*\n"
        );
        let options = LintOptions::default();
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
}
