//! Editing helpers shared by the rules' fixes: where a command can be appended to a RUN, and
//! how a RUN's text is rebuilt.

use crate::fix::{Edit, Fix, Safety};
use crate::model::packages::PackageCommand;
use crate::rules::Context;
use crate::shell::{OperatorKind, Script};
use crate::source::Span;
use crate::syntax::{Instruction, NodeKind};

/// Where a RUN's script ends, so a command can run after everything it does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tail {
    /// After the last command of a shell-form line: insert ` \ && cmd` here.
    Chain(usize),
    /// A heredoc script: insert a line before its terminator here.
    Line(usize),
}

/// The end of a RUN's script, when text can safely follow it: shell form with no trailing
/// comment or dangling operator, or a heredoc whose body is the script.
pub fn run_tail(cx: &Context<'_>, inst: &Instruction) -> Option<Tail> {
    if inst.is_exec_form() || inst.onbuild().is_some() {
        return None;
    }
    let script = cx.script(inst)?;
    let last = script.commands.last()?;
    if let Some(heredoc) = inst.heredocs().first() {
        let in_body = heredoc.body.contains(last.span().start);
        return (inst.heredocs().len() == 1 && in_body && !heredoc.terminator.is_empty())
            .then_some(Tail::Line(heredoc.terminator.start));
    }
    let end = inst.args_span().end;
    let rest = cx.df.text().get(last.span().end..end)?.trim();
    let dangling = rest.ends_with([';', '&', '|']) || rest.contains('#');
    (!dangling).then_some(Tail::Chain(end))
}

/// An edit running `command` after everything else in the RUN. None when the script may leave
/// before its end (an `exit` or `exec` not behind `||`), so the command would never run, or when
/// a heredoc body's last line continues onto the terminator's, so the command would join it.
pub fn append_command(cx: &Context<'_>, inst: &Instruction, command: &str) -> Option<Edit> {
    let script = cx.script(inst)?;
    // After `&&` a compound command's `set -e` would be ignored
    if leaves_early(&script) || script.ends_compound {
        return None;
    }
    Some(match run_tail(cx, inst)? {
        Tail::Chain(at) => Edit::insert(at, cx.style.and_then(command)),
        Tail::Line(at) => {
            // On the body's last line, after `&&`: a line of its own would run even when the
            // last command failed, and its success would hide that failure.
            let text = cx.df.text();
            let body = text[..at].trim_end_matches(['\n', '\r', ' ', '\t']);
            let line = &body[body.rfind('\n').map_or(0, |i| i + 1)..];
            if body.ends_with('\\') || line.contains('#') || line.trim().is_empty() {
                return None;
            }
            Edit::insert(body.len(), format!(" && {command}"))
        }
    })
}

/// An `exit` or `exec` that may run when everything before it succeeded; one right behind `||`
/// runs only on failure.
fn leaves_early(script: &Script) -> bool {
    script.commands.iter().enumerate().any(|(i, c)| {
        let leaves = c
            .words()
            .first()
            .is_some_and(|w| matches!(w.value(), "exit" | "exec"));
        let on_failure = i > 0
            && script.commands[i - 1]
                .op()
                .is_some_and(|op| op.kind == OperatorKind::Or);
        leaves && !on_failure
    })
}

/// The instruction's first line: where a finding about the whole instruction points.
pub fn first_line(df: &crate::syntax::Dockerfile, inst: &Instruction) -> crate::source::Span {
    let line = df.lines().line_span(df.text(), inst.lines().0);
    let end = line.end.min(inst.span().end);
    let blank = ['\r', ' ', '\t'];
    let content = df.text()[inst.span().start..end].trim_end_matches(blank);
    let content = content
        .strip_suffix(df.escape)
        .map_or(content, |c| c.trim_end_matches(blank));
    crate::source::Span::new(inst.span().start, inst.span().start + content.len())
}

/// The whole lines of an instruction, line break included: what deleting it removes.
pub fn node_span(df: &crate::syntax::Dockerfile, inst: &Instruction) -> crate::source::Span {
    let start = df.lines().line_start(inst.lines().0);
    let last = df.lines().line_span(df.text(), inst.lines().1);
    let end = if last.end < df.text().len() {
        last.end + 1
    } else {
        last.end
    };
    crate::source::Span::new(start, end)
}

pub fn same_flags(a: &Instruction, b: &Instruction) -> bool {
    let key = |i: &Instruction| {
        let mut flags: Vec<(String, Option<String>)> = i
            .flags()
            .iter()
            .map(|f| (f.name.to_ascii_lowercase(), f.value.clone()))
            .collect();
        flags.sort();
        flags
    };
    key(a) == key(b)
}

/// Commands whose effect outlives them in a shell: merged into a chain they would change what
/// the later commands see, so such a RUN is wrapped in a subshell.
fn changes_shell_state(cx: &Context<'_>, inst: &Instruction) -> bool {
    let Some(script) = cx.script(inst) else {
        return true;
    };
    script.commands.iter().any(|c| {
        // `exec` is a wrapper to the parser (`exec nginx` runs nginx), but it ends the shell
        let execs = c
            .wrappers()
            .iter()
            .any(|w| w.value().rsplit('/').next() == Some("exec"));
        c.words().is_empty()
            || execs
            || (c.name() == Some("printf") && c.has_arg("-v"))
            || matches!(
                c.name(),
                Some(
                    "cd" | "export"
                        | "set"
                        | "source"
                        | "."
                        | "umask"
                        | "unset"
                        | "alias"
                        | "shopt"
                        | "pushd"
                        | "popd"
                        | "trap"
                        | "ulimit"
                        | "exec"
                        | "exit"
                        | "readonly"
                        | "declare"
                        | "typeset"
                        | "local"
                        | "shift"
                        | "eval"
                        | "read"
                        | "getopts"
                        | "let"
                        | "builtin"
                        | "hash"
                        | "enable"
                        | "unalias"
                        | "mapfile"
                        | "readarray"
                )
            )
    })
}

/// One RUN with the others' commands chained after `&&`; comments between them move above.
/// The group must be RUNs in a row of one stage, shell form, no heredocs, the same flags. None
/// when an ignore comment applies to one of them: merged, it would cover the others too.
pub fn merge_runs(cx: &Context<'_>, group: &[&Instruction]) -> Option<Fix> {
    let text = cx.df.text();
    let (first, last) = (group[0], *group.last()?);
    if group.iter().any(|i| annotated(cx, i)) {
        return None;
    }
    // Every RUN but the last is followed by more commands: its script must end cleanly, and be
    // a plain `&&` chain, so that `&& more` keeps its meaning (see `Script::and_chain`).
    for inst in &group[..group.len() - 1] {
        if !matches!(run_tail(cx, inst), Some(Tail::Chain(_))) || !cx.script(inst)?.and_chain {
            return None;
        }
    }
    // The last runs after `&&`: in a subshell unless it is a plain chain too, so that its own
    // `;`, `||` or `set -e` mean what they meant alone.
    let last_alone = !cx.script(last)?.and_chain;
    // a comment at its end would swallow the closing parenthesis
    if last_alone && !matches!(run_tail(cx, last), Some(Tail::Chain(_))) {
        return None;
    }
    let start = cx.df.lines().line_start(first.lines().0);
    let mut comments = String::new();
    for (span, kind) in cx.df.node_spans() {
        let between = span.start >= first.span().end && span.end <= last.span().start;
        if between && matches!(kind, NodeKind::Comment) {
            comments.push_str(&text[span.range()]);
        }
    }
    let mut merged = comments;
    for (i, inst) in group.iter().enumerate() {
        let args = &text[inst.args_span().range()];
        let is_last = i == group.len() - 1;
        let args = if (!is_last && changes_shell_state(cx, inst)) || (is_last && last_alone) {
            format!("( {args} )")
        } else {
            args.to_string()
        };
        if i == 0 {
            merged.push_str(&text[start..first.args_span().start]);
            merged.push_str(&args);
        } else {
            merged.push_str(&cx.style.and_then(&args));
        }
    }
    Some(Fix::new(
        format!("merge the {} RUN instructions into one", group.len()),
        Safety::Safe,
        vec![Edit::replace(Span::new(start, last.span().end), merged)],
    ))
}

/// Whether an ignore comment applies to the instruction (see `Suppressions::annotates`).
pub fn annotated(cx: &Context<'_>, inst: &Instruction) -> bool {
    cx.suppressions
        .annotates(cx.df.lines().line_start(inst.lines().0))
}

/// How a command appended after `install` gets the rights `install` ran with: `sudo ` (as the
/// install has it) when it runs through sudo, nothing under root, None under another user.
pub fn privilege_prefix(
    cx: &Context<'_>,
    inst: &Instruction,
    install: &PackageCommand,
) -> Option<String> {
    if let Some(sudo) = install.sudo(cx.df.text()) {
        return Some(format!("{sudo} "));
    }
    cx.runs_as_root(inst).then(String::new)
}

/// Where an instruction's block starts: the first of the comment lines right above it (an
/// ignore comment among them applies to it, so they go wherever it goes).
pub fn lead_start(df: &crate::syntax::Dockerfile, inst: &Instruction) -> usize {
    let start = df.lines().line_start(inst.lines().0);
    let at = df.nodes.partition_point(|n| n.start < start);
    let mut lead = start;
    for node in df.nodes[..at].iter().rev() {
        if !matches!(node.kind, NodeKind::Comment) {
            break;
        }
        lead = df.lines().line_start(df.position(node.start).line);
    }
    lead
}

/// An instruction's lines with the comment lines right above it: what moving it moves.
pub fn block_span(df: &crate::syntax::Dockerfile, inst: &Instruction) -> Span {
    Span::new(lead_start(df, inst), node_span(df, inst).end)
}
