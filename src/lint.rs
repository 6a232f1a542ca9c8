//! The lint engine: the model of a file built once, every rule's check over it, then the rules
//! about the findings themselves (ignore comments), the ignore comments and the config.

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::Config;
use crate::diagnostic::{Diagnostic, Severity, Text};
use crate::findings::{Findings, Reported};
use crate::fix::{FileChange, Style};
use crate::model::{Model, ModelInput};
use crate::rules::{self, Context, Pass};
use crate::source::Span;
use crate::suppress::Suppressions;
use crate::syntax::Dockerfile;

/// Where the file lives, which decides its build context.
#[derive(Clone, Debug, Default)]
pub struct LintOptions {
    /// The Dockerfile's path; its folder is the context unless `context` says otherwise.
    pub path: Option<PathBuf>,
    pub context: Option<PathBuf>,
    /// Run only these rules (IDs); all when `None`.
    pub only: Option<Vec<String>>,
    /// Files the context rules see instead of the disk's (a `.dockerignore` a fix will write).
    pub overlay: Vec<(PathBuf, String)>,
    /// The config file that applies (`None`: the defaults).
    pub config: Option<Arc<Config>>,
    /// The stage the build targets (`--target`); the last one when `None`.
    pub target: Option<String>,
    /// `--build-arg` values, which ARGs take over their defaults.
    pub build_args: Vec<(String, String)>,
    /// Scripts parsed by earlier lints of this file, reused where unchanged (the language
    /// server keeps one cache per open document).
    pub scripts: Option<Arc<crate::shell::ScriptCache>>,
}

impl LintOptions {
    pub fn for_path(path: impl Into<PathBuf>) -> Self {
        LintOptions {
            path: Some(path.into()),
            ..LintOptions::default()
        }
    }

    /// Applies a fix's file change to the overlay; false when it changes nothing.
    pub fn overlay_change(&mut self, change: &FileChange) -> bool {
        let current = self.overlay.iter().position(|(p, _)| p == change.path());
        let (path, text) = match (change, current) {
            (FileChange::Create { path, text }, None) => (path.clone(), text.clone()),
            (FileChange::Create { .. }, Some(_)) => return false,
            (FileChange::Append { path, text }, Some(i)) => {
                let mut old = self.overlay.remove(i).1;
                old.push_str(text);
                (path.clone(), old)
            }
            (FileChange::Append { path, text }, None) => {
                let mut old = std::fs::read_to_string(path).unwrap_or_default();
                old.push_str(text);
                (path.clone(), old)
            }
        };
        self.overlay.push((path, text));
        true
    }
}

/// Runs every rule over a parsed file, then applies the file's ignore comments and the config's
/// severities. Findings come sorted by position, then rule.
pub fn lint(df: &Dockerfile, options: &LintOptions) -> Vec<Diagnostic> {
    lint_findings(df, options).into_vec()
}

/// [`lint`]'s findings, kept compact: a report expands them one at a time as it writes them.
pub fn lint_findings(df: &Dockerfile, options: &LintOptions) -> Reported {
    // The rules' findings repeat their texts line after line: made once each.
    let _sharing = Text::sharing();
    let input = ModelInput {
        path: options.path.clone(),
        context: options.context.clone(),
        overlay: options.overlay.clone(),
        target: options.target.clone(),
        build_args: options.build_args.clone(),
        scripts: options.scripts.clone(),
    };
    let config = options
        .config
        .as_deref()
        .unwrap_or_else(|| Config::default_ref());
    let suppressions = Suppressions::parse(df);
    let wanted = |id: &str| {
        options
            .only
            .as_ref()
            .is_none_or(|only| only.iter().any(|o| o == id))
    };
    // A rule runs when the config leaves it on and it is wanted, or when an ignore comment names
    // it and the unused-ignore rule needs to know what it finds.
    let runs = |id: &str| {
        config.enabled(id)
            && (wanted(id) || (wanted("LW902") && suppressions.named_rules().any(|r| r == id)))
    };
    let keep = |d: &Diagnostic| wanted(d.rule) && !suppressions.suppresses(d) && !config.ignores(d);
    let severity = |rule: &'static str, own: Severity| {
        let default = rules::meta(rule).map_or(own, |m| m.severity);
        config.severity(rule, default)
    };
    // The model (every RUN's commands) is done with before the findings are sorted, and they
    // stay compact, except in a file with ONBUILD triggers (few are): a finding there is placed
    // in its trigger from the model, so they are expanded while it lives.
    let mut placed = None;
    let found = {
        let model = Model::new(df, &input);
        let cx = Context {
            model: &model,
            style: Style::of(df),
            suppressions: &suppressions,
            options: &config.rules,
            ran: &runs,
        };
        let mut found = Findings::new();
        for pass in [Pass::Main, Pass::AfterRules] {
            for rule in rules::ALL
                .iter()
                .filter(|r| r.pass() == pass && runs(r.id()))
            {
                rule.check(&cx, &mut found);
            }
        }
        if !model.stages.triggers().is_empty() {
            let mut out = std::mem::take(&mut found).into_diagnostics(&keep);
            for d in &mut out {
                place_in_trigger(&model, d);
            }
            placed = Some(out);
        }
        found
    };
    let Some(mut out) = placed else {
        return Reported::Compact(found.finish(keep, severity));
    };
    for d in &mut out {
        d.severity = severity(d.rule, d.severity);
    }
    sort_findings(&mut out);
    // An ONBUILD trigger run by two stages is found once.
    out.dedup_by(|a, b| a.rule == b.rule && a.span == b.span && a.message == b.message);
    Reported::Whole(out)
}

fn sort_findings(out: &mut [Diagnostic]) {
    crate::findings::sort_by_place(out, |d| (d.span.start, d.span.end, d.rule));
}

/// A finding inside an ONBUILD says which build runs it; a fix whose edits reach over the
/// ONBUILD (a merge, a move) is dropped, since it would take the instruction out of it.
fn place_in_trigger(model: &Model<'_>, d: &mut Diagnostic) {
    let triggers = model.stages.triggers();
    let inside = |span: Span| {
        triggers
            .iter()
            .find(|t| t.wrapper.span().start <= span.start && span.end <= t.wrapper.span().end)
    };
    if let Some(fix) = &d.fix {
        let crosses = fix.edits.iter().any(|e| {
            triggers.iter().any(|t| {
                let overlaps =
                    e.span.start <= t.wrapper.span().end && t.wrapper.span().start <= e.span.end;
                let within =
                    t.inner.span().start <= e.span.start && e.span.end <= t.inner.span().end;
                overlaps && !within
            })
        });
        if crosses {
            d.fix = None;
        }
    }
    let Some(trigger) = inside(d.span) else {
        return;
    };
    let stage = |s: usize| match &model.stages[s].stage.name {
        Some(name) => format!("`{name}`"),
        None => format!("{}", s + 1),
    };
    let line = |s: usize| {
        model
            .df
            .position(model.stages[s].stage.from.span().start)
            .line
            + 1
    };
    let where_ = match trigger.runs_in.as_slice() {
        [] => "in every image built FROM this one".to_string(),
        [one] => format!(
            "in the stage built FROM {} on line {}",
            stage(trigger.written_in),
            line(*one)
        ),
        many => format!(
            "in the {} stages built FROM {} (lines {})",
            many.len(),
            stage(trigger.written_in),
            many.iter()
                .map(|&s| line(s).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    d.message = format!("{} (ONBUILD trigger, runs {where_})", d.message).into();
}

#[cfg(test)]
mod tests {
    use crate::diagnostic::Diagnostic;
    use crate::rules::test_support::{fix_rule, lint_rule};
    use crate::source::Span;

    #[test]
    fn findings_sort_as_a_stable_sort_would_put_them() {
        // Many ties (same place and rule, messages in the rules' order) and cycles of all sizes.
        let mut seed = 7u64;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        let rules = ["LW101", "LW102", "LW104"];
        let mut found: Vec<Diagnostic> = (0..500)
            .map(|i| {
                let start = next(40) as usize;
                let span = Span::new(start, start + next(3) as usize);
                Diagnostic::new(rules[next(3) as usize], span, format!("{i}"))
            })
            .collect();
        let mut expected = found.clone();
        expected.sort_by(|a, b| {
            (a.span.start, a.span.end, a.rule).cmp(&(b.span.start, b.span.end, b.rule))
        });
        super::sort_findings(&mut found);
        assert_eq!(found, expected);
    }

    #[test]
    fn an_onbuild_trigger_is_checked_where_it_runs() {
        // Nothing here builds on it: a finding about the images others build.
        let alone = "FROM debian\nONBUILD RUN apt-get update && apt-get install -y curl\n";
        let found = lint_rule("LW102", alone);
        assert_eq!(found.len(), 1);
        assert!(
            found[0]
                .message
                .ends_with("(ONBUILD trigger, runs in every image built FROM this one)"),
            "{}",
            found[0].message
        );
        assert_eq!(lint_rule("LW104", alone).len(), 1);
        // A later stage runs it: this image holds the lists.
        let here = "FROM debian AS base\nONBUILD RUN apt-get update && apt-get install -y curl\nFROM base\nCMD [\"curl\"]\n";
        let found = lint_rule("LW102", here);
        assert_eq!(found.len(), 1);
        assert!(
            found[0]
                .message
                .contains("runs in the stage built FROM `base` on line 3"),
            "{}",
            found[0].message
        );
        // Two stages run it; it is one finding.
        let twice = "FROM debian AS base\nONBUILD RUN apt-get update && apt-get install -y curl\nFROM base AS a\nFROM base\nCOPY --from=a / /\n";
        let found = lint_rule("LW102", twice);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].message.contains("2 stages"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn a_trigger_s_fix_stays_inside_its_onbuild() {
        let text = "FROM debian\nONBUILD RUN apt-get update && apt-get install -y curl\n";
        assert_eq!(
            fix_rule("LW102", text, false),
            "FROM debian\nONBUILD RUN apt-get update && apt-get install -y curl \\\n    && rm -rf /var/lib/apt/lists/*\n"
        );
        // Triggers are not joined with each other or with the RUNs around them.
        let runs = "FROM debian\nRUN a\nONBUILD RUN b\nONBUILD RUN c\nRUN d\n";
        assert!(lint_rule("LW101", runs).is_empty());
        let child = "FROM debian AS base\nONBUILD RUN b\nONBUILD RUN c\nFROM base\nRUN d\nRUN e\n";
        let found = lint_rule("LW101", child);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.starts_with("2 consecutive"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn a_trigger_sees_the_state_of_the_stage_that_runs_it() {
        // The pip cache setting of the child's parent stage reaches the trigger.
        let text = "FROM python AS base\nONBUILD RUN pip install flask\nENV PIP_NO_CACHE_DIR=1\nFROM base\n";
        assert!(lint_rule("LW103", text).is_empty());
        let without = "FROM python AS base\nONBUILD RUN pip install flask\nFROM base\n";
        assert_eq!(lint_rule("LW103", without).len(), 1);
    }
}
