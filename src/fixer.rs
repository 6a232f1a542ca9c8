//! The fix loop: lint, apply the fixes that do not clash, and repeat until nothing changes.
//! The fixes themselves are data ([`crate::fix`]); this is the one place that applies them.

use std::path::PathBuf;

use crate::diagnostic::Diagnostic;
use crate::fix::{Edit, FileChange, Fix, Safety, apply};
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
    /// Each fix applied, beside `applied`: its rule, title and the files it wrote.
    pub fixes: Vec<AppliedFix>,
    /// The stretches of `text` that fixes wrote, sorted and disjoint, each with the index in
    /// `fixes` of the last fix that wrote it; the text between is the original's.
    pub written: Vec<(Span, usize)>,
}

/// One fix the loop applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedFix {
    pub rule: &'static str,
    pub title: String,
    /// The files beside the Dockerfile it created or appended to.
    pub files: Vec<PathBuf>,
}

impl FixOutcome {
    pub fn changed(&self) -> bool {
        !self.applied.is_empty()
    }

    /// The fixes that wrote some of `span` of the fixed text, with how many of its bytes each
    /// wrote, in the order they appear there.
    pub fn written_in(&self, span: Span) -> Vec<(&AppliedFix, usize)> {
        let first = self.written.partition_point(|(s, _)| s.end <= span.start);
        let mut out: Vec<(usize, usize)> = Vec::new();
        for (piece, fix) in self.written[first..]
            .iter()
            .take_while(|(s, _)| s.start < span.end)
        {
            let bytes = piece.end.min(span.end) - piece.start.max(span.start);
            match out.iter_mut().find(|(f, _)| f == fix) {
                Some((_, n)) => *n += bytes,
                None => out.push((*fix, bytes)),
            }
        }
        out.into_iter()
            .filter_map(|(fix, bytes)| self.fixes.get(fix).map(|f| (f, bytes)))
            .collect()
    }
}

/// Carries the stretches fixes wrote (sorted, disjoint, in the old text) through one pass's
/// edits (sorted, disjoint, each with its fix's index): what an edit replaces is no longer the
/// old fix's, the rest moves with the text, and each edit's new text is its fix's.
fn carry(written: &[(Span, usize)], edits: &[(&Edit, usize)]) -> Vec<(Span, usize)> {
    // growth of the text from the edits before each one
    let mut before = Vec::with_capacity(edits.len() + 1);
    let mut growth = 0isize;
    before.push(0);
    for (edit, _) in edits {
        growth += edit.text.len() as isize - edit.span.len() as isize;
        before.push(growth);
    }
    // where an old offset lands: after every edit that ends at or before it
    let moved = |at: usize| {
        let k = edits.partition_point(|(e, _)| e.span.end <= at);
        (at as isize + before[k]) as usize
    };
    let mut out = Vec::with_capacity(written.len() + edits.len());
    for &(piece, fix) in written {
        let mut keep = |from: usize, to: usize| {
            if from < to {
                let start = moved(from);
                out.push((Span::new(start, start + (to - from)), fix));
            }
        };
        let mut cursor = piece.start;
        let first = edits.partition_point(|(e, _)| e.span.end <= piece.start);
        for (edit, _) in edits[first..]
            .iter()
            .take_while(|(e, _)| e.span.start < piece.end)
        {
            keep(cursor, edit.span.start.max(cursor));
            cursor = cursor.max(edit.span.end);
        }
        keep(cursor, piece.end);
    }
    for (k, (edit, fix)) in edits.iter().enumerate() {
        if !edit.text.is_empty() {
            let start = (edit.span.start as isize + before[k]) as usize;
            out.push((Span::new(start, start + edit.text.len()), *fix));
        }
    }
    out.sort_by_key(|(s, _)| s.start);
    out
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
        let fixes: Vec<&Fix> = chosen.iter().filter_map(|d| d.fix.as_deref()).collect();
        let (new_text, applied) = apply(&outcome.text, &fixes);
        let mut progressed = new_text != outcome.text;
        let mut edits: Vec<(&Edit, usize)> = Vec::new();
        for &i in &applied {
            let mut files = Vec::new();
            for change in &fixes[i].files {
                if options.overlay_change(change) {
                    progressed = true;
                    outcome.files.push(change.clone());
                    files.push(change.path().to_path_buf());
                }
            }
            let index = outcome.fixes.len();
            edits.extend(fixes[i].edits.iter().map(|e| (e, index)));
            outcome.applied.push(chosen[i].rule);
            outcome.fixes.push(AppliedFix {
                rule: chosen[i].rule,
                title: fixes[i].title.to_string(),
                files,
            });
        }
        if !progressed {
            // Fixes that change nothing are not progress; do not report them as applied.
            let kept = outcome.applied.len() - applied.len();
            outcome.applied.truncate(kept);
            outcome.fixes.truncate(kept);
            break;
        }
        edits.sort_by_key(|(e, _)| (e.span.start, e.span.end));
        outcome.written = carry(&outcome.written, &edits);
        outcome.text = new_text;
    }
    outcome
}

/// Picks the fixes of one pass: fixes that move or merge instructions first, then at most one
/// rule's fixes per instruction, so that in-place fixes land on the final shape in a later pass
/// instead of on text that is about to move. One in-place rule may fix several places of an
/// instruction in one pass (`--no-install-recommends` on each of its installs) when its edits
/// do not touch: one fix a pass left a RUN of many installs unfinished after the last pass.
/// A fix that edits a FROM changes what its stage is (LW301 makes it a build stage) and claims
/// the whole stage: the in-place fixes there wait for a pass that sees the new shape (LW103
/// does not clean a cache in a stage the image leaves behind, so the build stage's steps stay
/// the original's and keep their layer cache).
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
                df.lines().line_start(i.lines().0),
                i.span().end.max(i.span().start),
            )
        })
        .collect();
    // Each stage's FROM and the whole stage, from the FROM's first line to its last instruction.
    let stages: Vec<(Span, Span)> = df
        .stages()
        .iter()
        .map(|stage| {
            let start = df.lines().line_start(stage.from.lines().0);
            let end = stage
                .instructions
                .last()
                .map_or(stage.from.span().end, |i| i.span().end);
            (
                Span::new(start, stage.from.span().end),
                Span::new(start, end.max(start)),
            )
        })
        .collect();
    // an edit in a FROM (not one that ends where its line starts, such as the removal of the
    // line before it)
    let edits_from = |from: Span, e: Span| from.start <= e.start && e.start <= from.end;
    // Instruction spans are sorted and disjoint: the ones an edit touches are found by search.
    let claim = |fix: &Fix| -> Vec<Span> {
        let mut spans: Vec<Span> = fix
            .edits
            .iter()
            .map(|e| {
                let first = instruction_lines.partition_point(|s| s.end < e.span.start);
                instruction_lines[first..]
                    .iter()
                    .take_while(|s| s.start <= e.span.end)
                    .fold(e.span, |acc, s| acc.cover(*s))
            })
            .collect();
        spans.extend(
            stages
                .iter()
                .filter(|(from, _)| fix.edits.iter().any(|e| edits_from(*from, e.span)))
                .map(|(_, stage)| *stage),
        );
        spans
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
    fn a_stage_made_a_build_stage_keeps_its_steps_as_they_were() {
        let dir = tempfile::tempdir().unwrap();
        for file in ["package.json", "package-lock.json", "build.js"] {
            std::fs::write(dir.path().join(file), "{}").unwrap();
        }
        let text = "FROM debian:bookworm-slim\n\
                    RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm g++ make && rm -rf /var/lib/apt/lists/*\n\
                    WORKDIR /app\n\
                    COPY package.json package-lock.json ./\n\
                    RUN npm ci\n\
                    COPY build.js ./\n\
                    RUN npm run build\n\
                    CMD [\"node\", \"dist/main.js\"]\n";
        let options = LintOptions::for_path(dir.path().join("Dockerfile"));
        // in the file as it is, the stage is final: LW103 would clean npm's cache there
        let found = lint(&Dockerfile::parse(text), &options);
        assert!(found.iter().any(|d| d.rule == "LW103"), "{found:#?}");
        let fixed = fix_text(text, &options, Safety::Unsafe);
        assert!(fixed.applied.contains(&"LW301"), "{:?}", fixed.applied);
        // the build stage's steps are the original's, so their layers come from its cache
        let build = fixed.text.split("\n\n").next().unwrap();
        assert!(build.contains("\nRUN npm ci\n"), "{}", fixed.text);
        assert!(!fixed.text.contains("npm cache clean"), "{}", fixed.text);
        assert!(!fixed.applied.contains(&"LW103"), "{:?}", fixed.applied);
        assert!(!fix_text(&fixed.text, &options, Safety::Unsafe).changed());
    }

    #[test]
    fn what_each_fix_wrote_is_carried_through_later_passes() {
        let edit = |start, end, text: &str| Edit::replace(Span::new(start, end), text);
        // "abcdef": fix 0 wrote "cd"; a pass puts "XY" over "b", drops "d" and inserts "!" at 6
        let written = vec![(Span::new(2, 4), 0)];
        let (e1, e2, e3) = (edit(1, 2, "XY"), edit(3, 4, ""), edit(6, 6, "!"));
        let carried = carry(&written, &[(&e1, 1), (&e2, 1), (&e3, 2)]);
        // "aXYcef!": "c" is still fix 0's, "XY" and "!" the new fixes'
        assert_eq!(
            carried,
            [
                (Span::new(1, 3), 1),
                (Span::new(3, 4), 0),
                (Span::new(6, 7), 2)
            ]
        );
        // an insertion inside a stretch splits it
        let e4 = edit(3, 3, "--");
        assert_eq!(
            carry(&written, &[(&e4, 1)]),
            [
                (Span::new(2, 3), 0),
                (Span::new(3, 5), 1),
                (Span::new(5, 6), 0)
            ]
        );
    }

    #[test]
    fn a_moved_instruction_is_the_moving_fixs_and_a_later_append_its_own() {
        let text = "FROM debian\nWORKDIR /app\nCOPY . /app\nRUN apt-get update && apt-get install -y curl\nCMD [\"sh\"]\n";
        let fixed = fix_text(text, &LintOptions::default(), Safety::Unsafe);
        let df = Dockerfile::parse(fixed.text.as_str());
        let run = df
            .instructions()
            .find(|i| i.keyword == crate::syntax::Keyword::Run)
            .expect("a RUN");
        let copy = df
            .instructions()
            .find(|i| i.keyword == crate::syntax::Keyword::Copy)
            .expect("a COPY");
        assert!(run.span().start < copy.span().start, "{}", fixed.text);
        let by: Vec<&str> = fixed
            .written_in(run.span())
            .iter()
            .map(|(f, _)| f.rule)
            .collect();
        assert!(by.contains(&"LW203"), "{by:?} in {}", fixed.text);
        assert!(by.contains(&"LW102"), "{by:?} in {}", fixed.text);
        // the COPY is the original's, and FROM too
        assert!(
            fixed.written_in(copy.span()).is_empty(),
            "{:?}",
            fixed.written
        );
        assert_eq!(fixed.fixes.len(), fixed.applied.len());
        for (piece, _) in &fixed.written {
            assert!(piece.end <= fixed.text.len());
        }
    }

    #[test]
    fn summary_counts_rules_in_the_order_first_applied() {
        assert_eq!(summary(&["LW102", "LW101", "LW102"]), "LW102 ×2, LW101");
        assert_eq!(summary(&["LW101".to_string()]), "LW101");
        assert_eq!(summary(&[] as &[&str]), "");
    }
}
