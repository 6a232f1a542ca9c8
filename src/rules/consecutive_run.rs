//! LW101 consecutive-run: RUN after RUN, each a layer, where one would do.

use serde::{Deserialize, Deserializer};

use crate::diagnostic::Diagnostic;
use crate::findings::Findings;
use crate::fix::Fix;
use crate::model::order::{Area, footprint};
use crate::rules::Context;
use crate::rules::Rule;
use crate::rules::edit::{annotated, first_line, merge_runs, same_flags};
use crate::syntax::{Instruction, Keyword};

/// LW101's options: how many RUN instructions in a row are fine.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ConsecutiveRunOptions {
    /// The most RUNs in a row before the rule fires (default 1: two in a row fire).
    #[serde(default = "one", deserialize_with = "at_least_one")]
    pub max_runs: usize,
}

fn one() -> usize {
    1
}

fn at_least_one<'de, D: Deserializer<'de>>(deserializer: D) -> Result<usize, D::Error> {
    match u64::deserialize(deserializer)? {
        0 => Err(serde::de::Error::custom(
            "max-runs must be 1 or more (1: two RUNs in a row fire)",
        )),
        n => usize::try_from(n).map_err(|_| serde::de::Error::custom("max-runs is too large")),
    }
}

impl Default for ConsecutiveRunOptions {
    fn default() -> Self {
        ConsecutiveRunOptions { max_runs: 1 }
    }
}

pub struct ConsecutiveRun;

impl Rule for ConsecutiveRun {
    fn id(&self) -> &'static str {
        "LW101"
    }

    fn fix_order(&self) -> u8 {
        3
    }

    fn check(&self, cx: &Context<'_>, out: &mut Findings) {
        let max_runs = cx.options.consecutive_run.max_runs;
        for stage in &cx.stages {
            // The layers of a stage the image does not keep are never pulled or stored.
            if !stage.in_final_image {
                continue;
            }
            // ONBUILD triggers are left alone: joined, they would cross the ONBUILD.
            let own: Vec<&Instruction> = stage
                .stage
                .instructions
                .iter()
                .copied()
                .filter(|i| cx.stages.trigger(i).is_none())
                .collect();
            let groups = groups(cx, &own);
            for group in groups.into_iter().filter(|g| g.len() > max_runs) {
                let n = group.len();
                let second = group[1];
                let diagnostic = Diagnostic::new(
                    self.id(),
                    first_line(cx.df, second),
                    format!("{n} consecutive RUN instructions make {n} layers where one would do"),
                )
                .with_label(first_line(cx.df, group[0]), "the first of them")
                .with_help(help(cx, &group))
                .with_fix(merge_in_parts(cx, &group));
                out.push(diagnostic);
            }
        }
    }
}

/// Whether LW203 moves the RUN above the source copy.
fn moves_above_source(cx: &Context<'_>, inst: &Instruction) -> bool {
    let steps = cx.stable_steps();
    steps
        .binary_search_by_key(&inst.span().start, |s| s.run.span().start)
        .is_ok_and(|i| steps[i].moves.is_ok())
}

/// What to do, and why there is no fix when the group's RUNs belong on either side of the
/// source copy.
fn help(cx: &Context<'_>, group: &[&Instruction]) -> String {
    let join = "join them into one RUN with `&&`";
    let stable: Vec<&Instruction> = group
        .iter()
        .copied()
        .filter(|i| moves_above_source(cx, i))
        .collect();
    let help = match stable.first() {
        Some(first) if stable.len() < group.len() => format!(
            "{join}, on each side of the source copy: LW203 moves the RUN on line {} above it first",
            cx.df.position(first.span().start).line + 1
        ),
        _ => join.to_string(),
    };
    if group.iter().any(|i| !i.heredocs().is_empty()) {
        return format!(
            "{help}; the fix leaves heredoc RUNs to you: a heredoc script fails only when its \
             last command does, so start it with `set -e` when joining"
        );
    }
    help
}

/// The merge of a group, part by part: a RUN an ignore comment applies to stays alone (merged,
/// the comment would cover the others' commands too), a RUN that is not a plain `&&` chain
/// ends its part (only the last RUN of a merge may be anything else; see `merge_runs`), and
/// RUNs that belong above the source (LW203's stable steps) are not merged with the ones that
/// read it: merged, neither could move.
fn merge_in_parts(cx: &Context<'_>, group: &[&Instruction]) -> Option<Fix> {
    let stable = |inst: &Instruction| moves_above_source(cx, inst);
    let mut parts: Vec<Vec<&Instruction>> = vec![Vec::new()];
    let mut side = None;
    for &inst in group {
        // A heredoc's script runs without errexit: merged, a failure in it would pass unseen.
        if annotated(cx, inst) || !inst.heredocs().is_empty() {
            parts.push(Vec::new());
            continue;
        }
        let here = stable(inst);
        if side.is_some_and(|s| s != here) {
            parts.push(Vec::new());
        }
        side = Some(here);
        let current = parts.last_mut().expect("never empty");
        current.push(inst);
        if !cx.script(inst).is_some_and(|s| s.and_chain) {
            parts.push(Vec::new());
        }
    }
    let mut fixes = parts
        .iter()
        .filter(|part| part.len() >= 2)
        .filter_map(|part| merge_runs(cx, part));
    let mut fix = fixes.next()?;
    let mut edits = std::mem::take(&mut fix.edits).into_vec();
    for more in fixes {
        edits.extend(more.edits.into_vec());
    }
    fix.edits = edits.into_boxed_slice();
    Some(fix)
}

/// Runs of at least two RUNs in a row that could be one: shell form, same flags, each writing
/// something (a RUN that writes nothing, `RUN export X=1` or `RUN java -version`, leaves an
/// empty layer the builders drop: joining it saves nothing).
fn groups<'a>(cx: &Context<'_>, instructions: &[&'a Instruction]) -> Vec<Vec<&'a Instruction>> {
    let mut groups = Vec::new();
    let mut current: Vec<&Instruction> = Vec::new();
    let mergeable = |inst: &Instruction| {
        inst.keyword == Keyword::Run
            && !inst.is_exec_form()
            && footprint(cx, inst).writes != Area::Places(Vec::new())
    };
    for &inst in instructions {
        let joins = mergeable(inst) && current.last().is_none_or(|prev| same_flags(prev, inst));
        if joins {
            current.push(inst);
            continue;
        }
        if current.len() >= 2 {
            groups.push(std::mem::take(&mut current));
        }
        current = if mergeable(inst) {
            vec![inst]
        } else {
            Vec::new()
        };
    }
    if current.len() >= 2 {
        groups.push(current);
    }
    groups
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{fix_rule, lint_rule, lint_rule_configured};

    #[test]
    fn max_runs_from_the_config() {
        let text = "FROM a\nRUN a\nRUN b\nCOPY x y\nRUN c\nRUN d\nRUN e\n";
        assert_eq!(lint_rule("LW101", text).len(), 2);
        let found = lint_rule_configured("LW101", text, "rules: {LW101: {max-runs: 2}}");
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.starts_with("3 consecutive"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn fires_on_runs_in_a_row_with_the_same_flags() {
        let found = lint_rule(
            "LW101",
            "FROM a\nRUN a\n# why\nRUN b\nRUN c\nCOPY x y\nRUN d\n",
        );
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].message,
            "3 consecutive RUN instructions make 3 layers where one would do"
        );
    }

    #[test]
    fn different_flags_and_exec_form_break_the_run() {
        let text = "FROM a\nRUN a\nRUN --mount=type=cache,target=/x b\nRUN [\"c\"]\nRUN d\n";
        assert!(lint_rule("LW101", text).is_empty());
    }

    #[test]
    fn heredoc_runs_count_but_are_never_merged() {
        // a heredoc script runs without errexit: merged, a failure in it would pass unseen
        let text = "FROM a\nRUN <<EOF\napt-get update\nEOF\nRUN <<EOF\nuseradd app\nEOF\n";
        let found = lint_rule("LW101", text);
        assert_eq!(found.len(), 1);
        assert!(
            found[0]
                .help
                .as_deref()
                .unwrap_or("")
                .contains("heredoc RUNs to you")
        );
        assert_eq!(fix_rule("LW101", text, false), text);
        // the plain RUNs beside one are still merged
        let text = "FROM a\nRUN a\nRUN b\nRUN cat <<EOF >> /etc/profile\nexport X=1\nEOF\n";
        assert_eq!(lint_rule("LW101", text).len(), 1);
        assert_eq!(
            fix_rule("LW101", text, false),
            "FROM a\nRUN a \\\n    && b\nRUN cat <<EOF >> /etc/profile\nexport X=1\nEOF\n"
        );
    }

    #[test]
    fn runs_that_write_nothing_are_not_counted() {
        // the builders drop the empty layer of a RUN that writes nothing: joining saves nothing
        for noop in [
            "export FLASK_APP=app.py",
            "java -version",
            "node --version",
            "echo done",
        ] {
            let text = format!("FROM a\nRUN apt-get install -y x\nRUN {noop}\nRUN pip install y\n");
            assert!(lint_rule("LW101", &text).is_empty(), "{noop}");
        }
        // so does a group of commands whose output goes to a file
        let text = "FROM a\nRUN apt-get install -y x\nRUN { echo a; echo b; } > ~/.cfg\n";
        assert_eq!(lint_rule("LW101", text).len(), 1);
        // a query whose answer goes to a file writes it
        let text = "FROM a\nRUN apt-get install -y x\nRUN java -version > /v 2>&1\n";
        assert_eq!(lint_rule("LW101", text).len(), 1);
    }

    #[test]
    fn merges_keeping_comments_above() {
        let fixed = fix_rule("LW101", "FROM a\nRUN a \\\n  && b\n# why c\nRUN c\n", false);
        assert_eq!(fixed, "FROM a\n# why c\nRUN a \\\n  && b \\\n  && c\n");
    }

    #[test]
    fn state_changing_runs_go_in_a_subshell() {
        let fixed = fix_rule("LW101", "FROM a\nRUN cd /tmp && make\nRUN make\n", false);
        assert_eq!(fixed, "FROM a\nRUN ( cd /tmp && make ) \\\n    && make\n");
    }

    #[test]
    fn a_run_an_ignore_comment_applies_to_is_not_merged() {
        // merged, `ignore=LW102` would cover the curl install too
        let text = "FROM a\nRUN apt-get install -y curl\n# layerwise ignore=LW102\nRUN apt-get install -y git\n";
        assert_eq!(lint_rule("LW101", text).len(), 1);
        assert_eq!(fix_rule("LW101", text, false), text);
        // the RUNs around it are merged on their own
        let text = "FROM a\nRUN a\nRUN b\n# hadolint ignore=DL3009\nRUN c\nRUN d\nRUN e\n";
        assert_eq!(
            fix_rule("LW101", text, false),
            "FROM a\nRUN a \\\n    && b\n# hadolint ignore=DL3009\nRUN c\nRUN d \\\n    && e\n"
        );
    }

    #[test]
    fn only_plain_and_chains_are_followed_by_more_commands() {
        // errexit is ignored left of `&&`, even in a subshell: never merge after it
        let text = "FROM a\nRUN set -e; false; touch /ran\nRUN touch /next\n";
        assert_eq!(fix_rule("LW101", text, false), text);
        // a later RUN's `||` or `;` must not take the chain with it
        let fixed = fix_rule("LW101", "FROM a\nRUN make\nRUN make || true\n", false);
        assert_eq!(fixed, "FROM a\nRUN make \\\n    && ( make || true )\n");
        let fixed = fix_rule("LW101", "FROM a\nRUN a && b\nRUN c; d\n", false);
        assert_eq!(fixed, "FROM a\nRUN a && b \\\n    && ( c; d )\n");
        // a compound command is not a plain chain; the RUNs after it merge among themselves
        let text = "FROM a\nRUN for f in *; do x \"$f\"; done\nRUN b\nRUN c\n";
        assert_eq!(
            fix_rule("LW101", text, false),
            "FROM a\nRUN for f in *; do x \"$f\"; done\nRUN b \\\n    && c\n"
        );
    }

    #[test]
    fn a_last_run_ending_in_a_comment_is_not_wrapped() {
        for last in ["false || true # ok", "echo b; echo c # x"] {
            let text = format!("FROM debian\nRUN echo a\nRUN {last}\n");
            assert_eq!(fix_rule("LW101", &text, false), text, "{last}");
        }
    }

    #[test]
    fn every_shell_state_change_is_kept_in_its_subshell() {
        for first in [
            "eval \"$(echo cd /tmp)\"",
            "read x < /f",
            "exec nginx",
            "let i=1",
            "builtin cd /tmp",
            "printf -v x %s y",
        ] {
            let fixed = fix_rule(
                "LW101",
                &format!("FROM a\nRUN {first} && make\nRUN make\n"),
                false,
            );
            assert_eq!(
                fixed,
                format!("FROM a\nRUN ( {first} && make ) \\\n    && make\n"),
                "{first}"
            );
        }
    }

    #[test]
    fn windows_base_images_get_no_sh_merge() {
        let text = "FROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN cd C:\\app\nRUN dir\n";
        assert_eq!(lint_rule("LW101", text).len(), 1);
        assert_eq!(fix_rule("LW101", text, false), text);
    }

    #[test]
    fn trailing_comment_blocks_the_fix_but_not_the_finding() {
        let text = "FROM a\nRUN a # note\nRUN b\n";
        assert_eq!(lint_rule("LW101", text).len(), 1);
        assert_eq!(fix_rule("LW101", text, false), text);
    }
}
