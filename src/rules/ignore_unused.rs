//! LW902 ignore-unused: an ignore comment names a rule that does not fire where it applies.
//!
//! It runs after every other rule ([`Pass::AfterRules`]), so `out` holds their findings before
//! any comment suppresses them.

use crate::diagnostic::Diagnostic;
use crate::findings::Findings;
use crate::fix::{Edit, Fix, Safety};
use crate::rules::Context;
use crate::rules::{self, Pass, Rule};
use crate::suppress::{Code, IgnoreComment, Tool};
use crate::syntax::Dockerfile;

pub struct IgnoreUnused;

impl Rule for IgnoreUnused {
    fn id(&self) -> &'static str {
        "LW902"
    }

    fn pass(&self) -> Pass {
        Pass::AfterRules
    }

    fn check(&self, cx: &Context<'_>, out: &mut Findings) {
        let mut found = Vec::new();
        // hadolint's comments also serve hadolint, which reports its own unused ones.
        let ours = cx
            .suppressions
            .comments
            .iter()
            .filter(|c| c.tool == Tool::Layerwise);
        for comment in ours {
            let unused: Vec<&Code> = comment
                .codes
                .iter()
                .filter(|code| {
                    code.rule.is_some_and(|rule| {
                        knowable(cx, rule)
                            && !out
                                .iter()
                                .any(|d| d.rule() == rule && comment.covers(d.span()))
                    })
                })
                .collect();
            if unused.is_empty() {
                continue;
            }
            found.push(report(cx, comment, &unused));
        }
        out.extend(found);
    }
}

/// Whether this run can tell that a rule does not fire: it ran, and it had what it reads.
fn knowable(cx: &Context<'_>, rule: &str) -> bool {
    (cx.ran)(rule)
        && (cx.context.is_some() || rules::rule(rule).is_some_and(|r| !r.reads_context()))
}

fn report(cx: &Context<'_>, comment: &IgnoreComment, unused: &[&Code]) -> Diagnostic {
    let listed = unused
        .iter()
        .map(|c| format!("`{}`", c.text))
        .collect::<Vec<_>>()
        .join(", ");
    let plural = unused.len() > 1;
    let (why, help) = match (comment.global, comment.target) {
        (true, _) => (
            format!(
                "{listed} {} nowhere in this file",
                if plural { "fire" } else { "fires" }
            ),
            "remove it from the comment",
        ),
        (false, Some(target)) => (
            format!(
                "{listed} {} not fire on {}",
                if plural { "do" } else { "does" },
                if target.start < comment.line.start {
                    "the instruction it sits in"
                } else {
                    "the next instruction"
                }
            ),
            "remove it, or move the comment above the instruction the finding is on",
        ),
        (false, None)
            if cx
                .df
                .instructions()
                .any(|i| i.span().start >= comment.line.end) =>
        {
            (
                "a blank line ends its reach before the next instruction".to_string(),
                "remove the blank lines between the comment and the instruction",
            )
        }
        (false, None) => (
            "no instruction follows it".to_string(),
            "put the comment right above an instruction (only comments may sit between)",
        ),
    };
    let span = match unused {
        [one] => one.span,
        _ => comment.list,
    };
    Diagnostic::new(
        "LW902",
        span,
        format!("this ignore comment suppresses nothing: {why}"),
    )
    .with_help(help)
    .with_fix(removal(cx.df, comment, unused))
}

/// Drops the unused codes from the comment, or the whole comment line when none is left.
fn removal(df: &Dockerfile, comment: &IgnoreComment, unused: &[&Code]) -> Option<Fix> {
    let kept: Vec<&str> = comment
        .codes
        .iter()
        .filter(|c| !unused.iter().any(|u| u.span == c.span))
        .map(|c| c.text.as_str())
        .collect();
    if !kept.is_empty() {
        return Some(Fix::new(
            "remove the unused rule(s) from the comment",
            Safety::Safe,
            vec![Edit::replace(comment.list, kept.join(","))],
        ));
    }
    let edit = Edit::delete(comment.line);
    // Deleting a comment above the first instruction could turn a later `# escape=` comment
    // into a directive, which changes the build: no fix then.
    let before_instructions = df
        .instructions()
        .next()
        .is_none_or(|i| comment.line.end <= i.span().start);
    if before_instructions {
        let mut text = df.text().to_string();
        text.replace_range(comment.line.range(), "");
        let after = Dockerfile::parse(text);
        let directives = |d: &Dockerfile| {
            d.directives()
                .map(|x| (x.name.clone(), x.value.clone()))
                .collect::<Vec<_>>()
        };
        if directives(&after) != directives(df) {
            return None;
        }
    }
    Some(Fix::new(
        "delete the ignore comment",
        Safety::Safe,
        vec![edit],
    ))
}
