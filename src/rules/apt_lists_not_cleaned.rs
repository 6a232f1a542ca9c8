//! LW102 apt-lists-not-cleaned: `apt-get install` leaves the package lists in its layer.

use std::collections::HashSet;

use crate::diagnostic::Diagnostic;
use crate::findings::Findings;
use crate::fix::{Fix, Safety};
use crate::knowledge::shells::is_posix_shell;
use crate::model::packages::{Action, Manager, classify, mount_covers, removes};
use crate::rules::Context;
use crate::rules::Rule;
use crate::rules::edit::append_command;
use crate::rules::edit::privilege_prefix;
use crate::shell::{Command, OperatorKind};
use crate::syntax::{Instruction, Keyword};

const LISTS: &str = "/var/lib/apt/lists";

pub struct AptListsNotCleaned;

impl Rule for AptListsNotCleaned {
    fn id(&self) -> &'static str {
        "LW102"
    }

    fn check(&self, cx: &Context<'_>, out: &mut Findings) {
        // Built at the first finding, once for the file: a scan of the later RUNs per finding
        // made a file of many installs quadratic.
        let users = std::cell::OnceCell::new();
        for (index, stage) in cx.stages.iter().enumerate() {
            if !stage.in_final_image {
                continue;
            }
            let descendants = std::cell::OnceCell::new();
            for &inst in &stage.stage.instructions {
                if inst.keyword != Keyword::Run || mount_covers(inst, LISTS) {
                    continue;
                }
                let Some(script) = cx.script(inst) else {
                    continue;
                };
                // The install (else an upgrade, which needs the lists as an install does) of a
                // RUN that writes the lists: one that reads what an earlier layer wrote leaves
                // nothing new here.
                let commands = &script.commands;
                let apt = |action: Action| {
                    commands.iter().find_map(|c| {
                        classify(c).filter(|p| p.manager == Manager::Apt && p.action == action)
                    })
                };
                let Some(install) = apt(Action::Install).or_else(|| apt(Action::Upgrade)) else {
                    continue;
                };
                let Some(last_fill) = (0..commands.len())
                    .rev()
                    .find(|&i| writes_lists(commands, i))
                else {
                    continue;
                };
                if cleaned_after(&commands[last_fill..]) {
                    continue;
                }
                let mut help =
                    "remove them in the same RUN: `&& rm -rf /var/lib/apt/lists/*`".to_string();
                let users = users.get_or_init(|| ListsUsers::new(cx));
                let later = users.after(descendants.get_or_init(|| users.family(index)), inst);
                let prefix = privilege_prefix(cx, inst, &install);
                let fix = match (later, &prefix) {
                    (Some(user), _) => {
                        let line = cx.df.position(user.span().start).line + 1;
                        help = format!(
                            "the RUN on line {line} may read these lists before any `apt-get update` of its own, so no fix is offered: remove them in the last RUN that uses them, or refresh the index in each"
                        );
                        None
                    }
                    (None, None) => {
                        help.push_str(
                            " (no fix is offered: the stage runs as another user and the install does not use sudo)",
                        );
                        None
                    }
                    (None, Some(prefix)) => {
                        let command = format!("{prefix}rm -rf /var/lib/apt/lists/*");
                        append_command(cx, inst, &command).map(|edit| {
                            Fix::new(format!("append `&& {command}`"), Safety::Safe, vec![edit])
                        })
                    }
                };
                let name = install.command.name().unwrap_or("apt-get");
                let sub = install.sub.map_or("install", |s| s.value());
                out.push(
                    Diagnostic::new(
                        self.id(),
                        install.command.span(),
                        format!("`{name} {sub}` leaves the package lists in {LISTS} in this layer"),
                    )
                    .with_help(help)
                    .with_fix(fix),
                );
            }
        }
    }
}

/// Whether command `at` writes apt's lists: `apt-get update`, `add-apt-repository` (which
/// updates), or a downloaded setup script piped into a shell (`curl … | bash -`, as
/// NodeSource's, which updates).
fn writes_lists(commands: &[Command], at: usize) -> bool {
    let command = &commands[at];
    let piped_in = at.checked_sub(1).is_some_and(|i| {
        commands[i]
            .op()
            .is_some_and(|op| op.kind == OperatorKind::Pipe)
    });
    classify(command).is_some_and(|p| p.manager == Manager::Apt && p.action == Action::Update)
        || matches!(
            command.name(),
            Some("add-apt-repository" | "apt-add-repository")
        )
        || (piped_in && command.name().is_some_and(is_posix_shell))
}

/// The lists are removed after `from[0]` (the last command that writes them) by a command that
/// runs whatever came before: not one after `||`. `apt-get dist-clean` (apt 2.7+) removes them
/// too.
fn cleaned_after(from: &[Command]) -> bool {
    from.windows(2).any(|pair| {
        let [before, c] = pair else { return false };
        before.op().is_none_or(|op| op.kind != OperatorKind::Or)
            && (removes(c, LISTS)
                || classify(c).is_some_and(|p| {
                    p.manager == Manager::Apt
                        && p.sub
                            .is_some_and(|s| matches!(s.value(), "dist-clean" | "distclean"))
                }))
    })
}

/// The instructions of each stage that read apt's lists before refreshing them, in file order.
struct ListsUsers<'a> {
    by_stage: Vec<Vec<&'a Instruction>>,
    /// The stages built `FROM` each stage.
    children: Vec<Vec<usize>>,
}

impl<'a> ListsUsers<'a> {
    fn new(cx: &Context<'a>) -> Self {
        let copied = copied_names(cx);
        let by_stage = cx
            .stages
            .iter()
            .map(|s| {
                s.stage
                    .instructions
                    .iter()
                    .copied()
                    .filter(|i| needs_lists(cx, &copied, i))
                    .collect()
            })
            .collect();
        let mut children = vec![Vec::new(); cx.stages.len()];
        for (i, s) in cx.stages.iter().enumerate() {
            if let Some(parent) = s.parent {
                children[parent].push(i);
            }
        }
        ListsUsers { by_stage, children }
    }

    /// A stage and every stage built from it, directly or through others.
    fn family(&self, stage: usize) -> Vec<usize> {
        let mut family = vec![stage];
        let mut at = 0;
        while let Some(&s) = family.get(at) {
            family.extend(&self.children[s]);
            at += 1;
        }
        family
    }

    /// A later RUN that would fail without the lists `inst` leaves: the first after it in the
    /// same stage or a stage built from it (`stages`, directly or through others).
    fn after(&self, stages: &[usize], inst: &Instruction) -> Option<&'a Instruction> {
        stages
            .iter()
            .filter_map(|&s| {
                let users = &self.by_stage[s];
                let at = users.partition_point(|u| u.span().start <= inst.span().start);
                users.get(at).copied()
            })
            .min_by_key(|u| u.span().start)
    }
}

/// Whether the instruction reads apt's lists before refreshing them. What cannot be read (a RUN
/// that did not parse, an ONBUILD) counts when it names apt at all.
fn needs_lists(cx: &Context<'_>, copied: &HashSet<String>, inst: &Instruction) -> bool {
    if inst.keyword == Keyword::Onbuild {
        return mentions_apt(inst.args_text());
    }
    if inst.keyword != Keyword::Run {
        return false;
    }
    let Some(script) = cx.script(inst) else {
        return mentions_apt(inst.args_text())
            || inst.exec().into_iter().flatten().any(|w| mentions_apt(w));
    };
    for command in &script.commands {
        match classify(command).filter(|p| p.manager == Manager::Apt) {
            Some(p) if p.action == Action::Update => return false,
            // Removing and cleaning work without the lists; everything else may read them.
            Some(p) if matches!(p.action, Action::Remove | Action::Clean) => {}
            Some(_) => return true,
            None if runs_script(command)
                || command.name().is_some_and(|name| copied.contains(name))
                || command.words().iter().any(|w| mentions_apt(w.value())) =>
            {
                return true;
            }
            None => {}
        }
    }
    false
}

/// A word naming an apt program as a command: `apt-get`, `/usr/bin/apt`, `xargs apt-get …`,
/// `bash -c "apt-get install …"` (but not a path such as `/var/lib/apt`).
fn mentions_apt(text: &str) -> bool {
    text.split(|c: char| c.is_whitespace() || "\'\"`;&|()".contains(c))
        .any(|token| {
            ["apt-get", "apt", "aptitude", "apt-cache"]
                .iter()
                .any(|name| token == *name || token.ends_with(&format!("bin/{name}")))
        })
}

/// A shell script of the image or context (`./install.sh`, `bash setup.sh`, a program named by
/// its path such as `/install-deps`, a `make` target): it may run apt.
fn runs_script(command: &Command) -> bool {
    let Some(name) = command.name() else {
        return false;
    };
    let by_path = command
        .program_words()
        .first()
        .is_some_and(|w| w.value().contains('/'));
    if name.ends_with(".sh") || by_path || name == "make" {
        return true;
    }
    is_posix_shell(name)
        && command
            .args()
            .iter()
            .take_while(|w| w.value() != "-c")
            .any(|w| !w.value().starts_with('-'))
}

/// The names of what the file copies in, as programs a RUN may then run (`COPY setup
/// /usr/local/bin/`, then `RUN setup`).
fn copied_names(cx: &Context<'_>) -> HashSet<String> {
    cx.stages
        .iter()
        .flat_map(|s| s.stage.instructions.iter().copied())
        .filter(|i| matches!(i.keyword, Keyword::Copy | Keyword::Add))
        .filter_map(|i| i.copy_paths())
        .flat_map(|(sources, _)| sources)
        .filter_map(|source| {
            let name = source.trim_end_matches('/').rsplit('/').next()?;
            Some(name.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{fix_rule, lint_rule};

    #[test]
    fn a_removal_counts_only_after_the_last_update_and_not_after_or() {
        for text in [
            "FROM debian\nRUN rm -rf /var/lib/apt/lists/* && apt-get update && apt-get install -y curl\n",
            "FROM debian\nRUN apt-get update && rm -rf /var/lib/apt/lists/* && apt-get update && apt-get install -y curl\n",
            "FROM debian\nRUN apt-get update && apt-get install -y curl || rm -rf /var/lib/apt/lists/*\n",
        ] {
            assert_eq!(lint_rule("LW102", text).len(), 1, "{text}");
        }
        let after = "FROM debian\nRUN apt-get update && apt-get install -y curl; rm -rf /var/lib/apt/lists/*\n";
        assert!(lint_rule("LW102", after).is_empty());
        // The fix removes them at the end, after the last update.
        let before = "FROM debian\nRUN rm -rf /var/lib/apt/lists/* && apt-get update && apt-get install -y curl\n";
        assert!(
            fix_rule("LW102", before, false)
                .ends_with("apt-get install -y curl \\\n    && rm -rf /var/lib/apt/lists/*\n")
        );
    }

    #[test]
    fn a_run_that_writes_no_lists_leaves_none() {
        // The lists come from an earlier layer (or the base image): removing them here saves
        // nothing.
        let text = "FROM debian\nRUN apt-get install -y curl\n";
        assert!(lint_rule("LW102", text).is_empty());
        for writes in [
            "FROM ubuntu\nRUN add-apt-repository ppa:x/y && apt-get install -y z\n",
            "FROM debian\nRUN curl -fsSL https://deb.nodesource.com/setup_20.x | bash - && apt-get install -y nodejs\n",
        ] {
            assert_eq!(lint_rule("LW102", writes).len(), 1, "{writes}");
        }
    }

    #[test]
    fn an_upgrade_leaves_the_lists_as_an_install_does() {
        let text = "FROM debian\nRUN apt-get update && apt-get dist-upgrade -y\n";
        assert_eq!(lint_rule("LW102", text).len(), 1);
        let clean = "FROM debian\nRUN apt-get update && apt-get upgrade -y && rm -rf /var/lib/apt/lists/*\n";
        assert!(lint_rule("LW102", clean).is_empty());
    }

    #[test]
    fn fires_without_removal_in_the_same_run() {
        let found = lint_rule(
            "LW102",
            "FROM debian\nRUN apt-get update && apt-get install -y curl\n",
        );
        assert_eq!(found.len(), 1);
        let clean = "FROM debian\nRUN apt-get update && apt-get install -y curl \\\n && rm -rf /var/lib/apt/lists/*\n";
        assert!(lint_rule("LW102", clean).is_empty());
    }

    #[test]
    fn dist_clean_counts() {
        let text = "FROM debian:trixie\nRUN apt-get update; apt-get install -y gnupg; apt-get dist-clean\n";
        assert!(lint_rule("LW102", text).is_empty());
    }

    #[test]
    fn removal_in_a_later_run_does_not_count() {
        let text = "FROM debian\nRUN apt-get update && apt-get install -y curl\nRUN rm -rf /var/lib/apt/lists/*\n";
        assert_eq!(lint_rule("LW102", text).len(), 1);
    }

    #[test]
    fn cache_mounts_and_builder_stages_are_fine() {
        let mounted = "FROM debian\nRUN --mount=type=cache,target=/var/lib/apt apt-get update && apt-get install -y x\n";
        assert!(lint_rule("LW102", mounted).is_empty());
        let builder = "FROM debian AS build\nRUN apt-get update && apt-get install -y gcc\nFROM scratch\nCOPY --from=build /x /x\n";
        assert!(lint_rule("LW102", builder).is_empty());
    }

    #[test]
    fn heredoc_bodies_are_checked_and_fixed() {
        let text = "FROM debian\nRUN <<EOF\napt-get update\napt-get install -y curl\nEOF\n";
        assert_eq!(lint_rule("LW102", text).len(), 1);
        assert_eq!(
            fix_rule("LW102", text, false),
            "FROM debian\nRUN <<EOF\napt-get update\napt-get install -y curl && rm -rf /var/lib/apt/lists/*\nEOF\n"
        );
    }

    #[test]
    fn a_cleanup_never_hides_a_failure_or_an_errexit() {
        // a line of its own would run after a failed install and make the script succeed
        let heredoc = "FROM debian\nRUN <<EOF\napt-get update\napt-get install -y curl\nEOF\n";
        assert!(fix_rule("LW102", heredoc, false).contains("curl && rm -rf"));
        // after `&&` a subshell's or a loop's `set -e` is ignored: no fix
        for script in [
            "( set -e; apt-get update; apt-get install -y curl; echo ran )",
            "set -e; for p in curl git; do apt-get update; apt-get install -y $p; done",
        ] {
            let text = format!("FROM debian\nRUN {script}\n");
            assert_eq!(lint_rule("LW102", &text).len(), 1, "{script}");
            assert_eq!(fix_rule("LW102", &text, false), text, "{script}");
        }
    }

    #[test]
    fn backtick_files_keep_their_escape() {
        let text = "# escape=`\nFROM debian\nSHELL [\"/bin/sh\", \"-c\"]\nRUN apt-get update `\n  && apt-get install -y curl\n";
        assert_eq!(
            fix_rule("LW102", text, false),
            "# escape=`\nFROM debian\nSHELL [\"/bin/sh\", \"-c\"]\nRUN apt-get update `\n  && apt-get install -y curl `\n  && rm -rf /var/lib/apt/lists/*\n"
        );
    }

    #[test]
    fn no_fix_when_a_later_run_runs_a_copied_program() {
        let text = "FROM debian\nRUN apt-get update && apt-get install -y curl\nCOPY setup /usr/local/bin/\nRUN setup --all\n";
        assert_eq!(fix_rule("LW102", text, false), text);
    }

    #[test]
    fn no_fix_when_a_later_run_installs_from_the_lists() {
        let same_stage = "FROM debian\nRUN apt-get update && apt-get install -y curl\nCOPY x /x\nRUN apt-get install -y git && rm -rf /var/lib/apt/lists/*\n";
        assert_eq!(fix_rule("LW102", same_stage, false), same_stage);
        let found = lint_rule("LW102", same_stage);
        assert_eq!(found.len(), 1);
        assert!(found[0].help.as_deref().unwrap().contains("line 4"));
        // Through a chain of child stages.
        let child = "FROM debian AS base\nRUN apt-get update && apt-get install -y curl\nFROM base AS mid\nENV A=1\nFROM mid\nRUN apt-get install -y git && rm -rf /var/lib/apt/lists/*\n";
        assert_eq!(fix_rule("LW102", child, false), child);
        // Uses apt cannot be told apart from: a wrapper, a script, build-dep, apt-cache.
        for later in [
            "xargs apt-get install -y < /x",
            "bash -c 'apt-get install -y git'",
            "apt-get build-dep -y git",
            "apt-get source git",
            "apt-get download git",
            "apt-get satisfy -y 'git (>= 1)'",
            "apt-cache policy git",
            "/install-deps.sh",
            "sh ./setup.sh",
            "/install-deps",
            "/s/install-deps --all",
            "make -C /src deps",
            "[\"apt-get\", \"install\", \"-y\", \"git\"]",
        ] {
            let text = format!(
                "FROM debian\nRUN apt-get update && apt-get install -y curl\nRUN {later}\n"
            );
            assert_eq!(fix_rule("LW102", &text, false), text, "{later}");
        }
    }

    #[test]
    fn later_runs_that_refresh_or_do_not_use_apt_keep_the_fix() {
        let text = "FROM debian AS base\nRUN apt-get update && apt-get install -y curl\nRUN apt-get update && apt-get install -y git\nRUN apt-get purge -y curl && echo done\nFROM base\nRUN echo ok\n";
        let fixed = fix_rule("LW102", text, false);
        assert!(
            fixed.starts_with("FROM debian AS base\nRUN apt-get update && apt-get install -y curl \\\n    && rm -rf /var/lib/apt/lists/*\n"),
            "{fixed}"
        );
    }

    #[test]
    fn under_another_user_the_removal_needs_the_same_sudo() {
        let text =
            "FROM debian\nUSER u\nRUN sudo apt-get update && sudo -E apt-get install -y git\n";
        assert_eq!(
            fix_rule("LW102", text, false),
            "FROM debian\nUSER u\nRUN sudo apt-get update && sudo -E apt-get install -y git \\\n    && sudo -E rm -rf /var/lib/apt/lists/*\n"
        );
        let no_sudo = "FROM debian\nUSER u\nRUN apt-get update && apt-get install -y git\n";
        assert_eq!(fix_rule("LW102", no_sudo, false), no_sudo);
        assert_eq!(lint_rule("LW102", no_sudo).len(), 1);
        let back_to_root = "FROM debian AS a\nUSER u\nFROM a\nUSER 0:0\nRUN apt-get update && apt-get install -y git\n";
        assert_ne!(fix_rule("LW102", back_to_root, false), back_to_root);
        let inherited =
            "FROM debian AS a\nUSER u\nFROM a\nRUN apt-get update && apt-get install -y git\n";
        assert_eq!(fix_rule("LW102", inherited, false), inherited);
    }

    #[test]
    fn no_fix_into_a_heredoc_that_exits_or_continues() {
        let exits = "FROM debian\nRUN <<EOF\nset -e\napt-get update\napt-get install -y curl\nexit 0\nEOF\n";
        assert_eq!(fix_rule("LW102", exits, false), exits);
        assert_eq!(lint_rule("LW102", exits).len(), 1);
        let continues = "FROM debian\nRUN <<EOF\napt-get update\napt-get install -y curl \\\nEOF\n";
        assert_eq!(fix_rule("LW102", continues, false), continues);
        let chained_exit = "FROM debian\nRUN apt-get update && apt-get install -y curl; exit 0\n";
        assert_eq!(fix_rule("LW102", chained_exit, false), chained_exit);
        // An exit that runs only on failure leaves the end reachable.
        let on_failure =
            "FROM debian\nRUN <<EOF\napt-get update || exit 1\napt-get install -y curl\nEOF\n";
        assert_eq!(
            fix_rule("LW102", on_failure, false),
            "FROM debian\nRUN <<EOF\napt-get update || exit 1\napt-get install -y curl && rm -rf /var/lib/apt/lists/*\nEOF\n"
        );
    }

    #[test]
    fn fix_appends_in_the_file_style() {
        let text = "FROM debian\nRUN apt-get update \\\n\t&& apt-get install -y curl\n";
        assert_eq!(
            fix_rule("LW102", text, false),
            "FROM debian\nRUN apt-get update \\\n\t&& apt-get install -y curl \\\n\t&& rm -rf /var/lib/apt/lists/*\n"
        );
    }

    #[test]
    fn a_removal_through_an_env_variable_counts() {
        let text = "FROM debian\nENV LISTS=/var/lib/apt/lists\n\
                    RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf ${LISTS}/*\n";
        assert!(crate::rules::test_support::lint_rule("LW102", text).is_empty());
        let legacy = "FROM debian\nENV LISTS /var/lib/apt/lists\n\
                      RUN apt-get update && apt-get install -y curl && rm -rf $LISTS/*\n";
        assert!(crate::rules::test_support::lint_rule("LW102", legacy).is_empty());
    }
}
