//! LW202 update-without-install: a package index refreshed in a RUN of its own.

use crate::diagnostic::Diagnostic;
use crate::findings::Findings;
use crate::fix::{Edit, Fix, Safety};
use crate::model::order::{Sets, blocker, footprint};
use crate::model::packages::{Action, Manager, PackageCommand, classify};
use crate::rules::Context;
use crate::rules::Rule;
use crate::rules::edit::{annotated, node_span, same_flags};
use crate::shell::Script;
use crate::syntax::{Instruction, Keyword};

pub struct UpdateWithoutInstall;

impl Rule for UpdateWithoutInstall {
    fn id(&self) -> &'static str {
        "LW202"
    }

    fn fix_order(&self) -> u8 {
        1
    }

    fn check(&self, cx: &Context<'_>, out: &mut Findings) {
        for stage in &cx.stages {
            let instructions = &stage.stage.instructions;
            for (at, &inst) in instructions.iter().enumerate() {
                if inst.keyword != Keyword::Run {
                    continue;
                }
                let Some(script) = cx.script(inst) else {
                    continue;
                };
                let packages: Vec<PackageCommand> =
                    script.commands.iter().filter_map(classify).collect();
                for update in packages.iter().filter(|p| p.action == Action::Update) {
                    let family = family(update.manager);
                    let consumed = packages.iter().any(|p| {
                        family == self::family(p.manager)
                            && matches!(p.action, Action::Install | Action::Upgrade)
                    });
                    // Anything else in the RUN (a script, a download) may use the index.
                    let alone = script.commands.iter().all(|c| {
                        classify(c).is_some_and(|p| p.action == Action::Update)
                            || matches!(
                                c.name(),
                                Some("set" | "echo" | "true" | ":" | "export") | None
                            )
                    });
                    if consumed || !alone {
                        continue;
                    }
                    let head = cx.df.slice(update.head_span()).to_string();
                    let fix = move_into_install(cx, &instructions[at..], &script, update);
                    out.push(
                        Diagnostic::new(
                            self.id(),
                            update.head_span(),
                            format!(
                                "`{head}` runs in a RUN of its own: its layer is cached apart from the install that needs it, so the index goes stale"
                            ),
                        )
                        .with_help(format!("run it in the same RUN as the install: `{head} && … install …`"))
                        .with_fix(fix),
                    );
                }
            }
        }
    }
}

/// Managers sharing one index.
fn family(manager: Manager) -> u8 {
    match manager {
        Manager::Apt => 0,
        Manager::Apk => 1,
        Manager::Yum | Manager::Dnf | Manager::Microdnf => 2,
        Manager::Zypper => 3,
        _ => 4,
    }
}

/// Deletes a RUN that only refreshes the index and puts the refresh in front of the next RUN
/// that installs from it (or just deletes it when that RUN refreshes the index itself).
fn move_into_install(
    cx: &Context<'_>,
    from: &[&Instruction],
    script: &Script,
    update: &PackageCommand,
) -> Option<Fix> {
    let lone = from[0];
    let only_updates = script
        .commands
        .iter()
        .all(|c| classify(c).is_some_and(|p| p.action == Action::Update));
    // Deleted, its ignore comment would fall to the next instruction.
    if annotated(cx, lone) {
        return None;
    }
    if !only_updates || !lone.heredocs().is_empty() || lone.onbuild().is_some() || !script.and_chain
    {
        return None;
    }
    let mut target = None;
    let refresh = footprint(cx, lone);
    for &inst in &from[1..] {
        if inst.keyword != Keyword::Run {
            // What the refresh would now run after: another user, new package sources (a COPY
            // into `/etc`), anything that cannot be told. Variables do not count: the install
            // it joins runs with them already.
            let print = footprint(cx, inst);
            if print.sets != Sets::Environment && blocker(cx, &refresh, inst, &print).is_some() {
                return None;
            }
            continue;
        }
        let script = cx.script(inst);
        let installs: Vec<PackageCommand> = script
            .as_ref()
            .map(|s| s.commands.iter().filter_map(classify).collect())
            .unwrap_or_default();
        let same = |p: &PackageCommand| family(p.manager) == family(update.manager);
        if installs
            .iter()
            .any(|p| same(p) && matches!(p.action, Action::Install | Action::Upgrade))
        {
            target = Some((
                inst,
                installs
                    .iter()
                    .any(|p| same(p) && p.action == Action::Update),
            ));
            break;
        }
        // Any other RUN may read the index in ways not recognised (`xargs apt-get install`,
        // `bash -c "…"`, `apt-get build-dep`, a script): the refresh must not move past it.
        return None;
    }
    let (target, refreshes_itself) = target?;
    let mut edits = vec![Edit::delete(node_span(cx.df, lone))];
    if !refreshes_itself {
        // An ignore comment on the install would cover the refresh too.
        if annotated(cx, target) {
            return None;
        }
        // `update && a; b` or `update && a || b` would let a failed update through
        let plain = cx.script(target).is_some_and(|s| s.and_chain);
        if target.is_exec_form()
            || !target.heredocs().is_empty()
            || !same_flags(lone, target)
            || !plain
        {
            return None;
        }
        let refresh = cx.df.slice(lone.args_span());
        let joiner = if target.lines().0 == target.lines().1 {
            " && ".to_string()
        } else {
            format!("{}&& ", cx.style.continuation())
        };
        edits.push(Edit::insert(
            target.args_span().start,
            format!("{refresh}{joiner}"),
        ));
    }
    Some(Fix::new(
        "move the index refresh into the RUN that installs",
        Safety::Safe,
        edits,
    ))
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{fix_rule, lint_rule};

    #[test]
    fn no_fix_into_or_out_of_a_run_an_ignore_comment_covers() {
        // Merged, the comment would cover the refresh; deleted, the comment would fall to the
        // next instruction.
        for text in [
            "FROM d\nRUN apt-get update\n# layerwise ignore=LW102\nRUN apt-get install -y x\n",
            "FROM d\n# layerwise ignore=LW104\nRUN apt-get update\nRUN apt-get update && apt-get install -y x\n",
        ] {
            assert_eq!(lint_rule("LW202", text).len(), 1, "{text}");
            assert_eq!(fix_rule("LW202", text, false), text);
        }
        let env = "FROM d\nRUN apt-get update\nENV DEBIAN_FRONTEND=noninteractive\nRUN apt-get install -y x\n";
        assert_eq!(
            fix_rule("LW202", env, false),
            "FROM d\nENV DEBIAN_FRONTEND=noninteractive\nRUN apt-get update && apt-get install -y x\n"
        );
    }

    #[test]
    fn fires_on_a_lone_update() {
        let found = lint_rule(
            "LW202",
            "FROM d\nRUN apt-get update\nRUN apt-get install -y x\n",
        );
        assert_eq!(found.len(), 1);
        assert!(
            lint_rule(
                "LW202",
                "FROM d\nRUN apt-get update && apt-get install -y x\n"
            )
            .is_empty()
        );
        assert!(lint_rule("LW202", "FROM a\nRUN apk update && apk upgrade\n").is_empty());
    }

    #[test]
    fn other_commands_may_use_the_index() {
        let text = "FROM d\nRUN apt-get update && bash /tmp/install-tools.sh\n";
        assert!(lint_rule("LW202", text).is_empty());
        assert_eq!(
            lint_rule("LW202", "FROM d\nRUN set -eux; apt-get update\n").len(),
            1
        );
    }

    #[test]
    fn no_fix_into_a_run_that_is_not_a_plain_chain() {
        for install in [
            "set -eux; apt-get install -y --no-install-recommends curl; rm -rf /var/lib/apt/lists/*",
            "apt-get install -y --no-install-recommends curl || true",
        ] {
            let text = format!("FROM ubuntu\nRUN apt-get update\nRUN {install}\n");
            assert_eq!(lint_rule("LW202", &text).len(), 1, "{install}");
            assert_eq!(fix_rule("LW202", &text, false), text, "{install}");
        }
    }

    #[test]
    fn fix_moves_the_update_into_the_install() {
        let text = "FROM d\nRUN apt-get update\nCOPY a /a\nRUN apt-get install -y x\n";
        assert_eq!(
            fix_rule("LW202", text, false),
            "FROM d\nCOPY a /a\nRUN apt-get update && apt-get install -y x\n"
        );
        let multi = "FROM d\nRUN apt-get update -qq\nRUN apt-get install -y x \\\n  && rm -rf /var/lib/apt/lists/*\n";
        assert_eq!(
            fix_rule("LW202", multi, false),
            "FROM d\nRUN apt-get update -qq \\\n  && apt-get install -y x \\\n  && rm -rf /var/lib/apt/lists/*\n"
        );
    }

    #[test]
    fn redundant_update_is_deleted() {
        let text = "FROM d\nRUN apt-get update\nRUN apt-get update && apt-get install -y x\n";
        assert_eq!(
            fix_rule("LW202", text, false),
            "FROM d\nRUN apt-get update && apt-get install -y x\n"
        );
    }

    #[test]
    fn no_fix_past_a_run_that_may_use_the_index() {
        for between in [
            "/install-deps.sh",
            "xargs apt-get install -y < /x",
            "bash -c 'apt-get install -y git'",
            "apt-get build-dep -y git",
            "apt-get source git",
            "apt-get satisfy -y 'git (>= 1)'",
            "apt-cache policy curl > /x && apt-get download curl",
            "mkdir /x",
        ] {
            let text = format!(
                "FROM d\nRUN apt-get update\nCOPY x /x\nRUN {between}\nCOPY y /y\nRUN apt-get install -y curl\n"
            );
            assert_eq!(fix_rule("LW202", &text, false), text, "{between}");
            assert_eq!(lint_rule("LW202", &text).len(), 1, "{between}");
        }
    }

    #[test]
    fn no_fix_past_new_package_sources() {
        let text = "FROM d\nRUN apt-get update\nCOPY sources.list /etc/apt/sources.list\nRUN apt-get install -y x\n";
        assert_eq!(fix_rule("LW202", text, false), text);
    }

    #[test]
    fn no_fix_across_a_user_switch() {
        let text = "FROM d\nRUN apt-get update\nUSER app\nRUN sudo apt-get install -y x\n";
        assert_eq!(fix_rule("LW202", text, false), text);
    }
}
