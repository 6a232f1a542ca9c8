//! LW103 package-cache-kept: a package manager leaves its download cache in the layer.

use crate::diagnostic::Diagnostic;
use crate::fix::{Edit, Fix, Safety};
use crate::knowledge::managers::{Cache, cache_dirs};
use crate::model::packages::{
    Action, Manager, PackageCommand, classify, mount_covers, removes_any,
};
use crate::rules::Context;
use crate::rules::Rule;
use crate::rules::edit::append_command;
use crate::rules::edit::privilege_prefix;
use crate::shell::{Command, Script};
use crate::syntax::{Instruction, Keyword};

pub struct PackageCacheKept;

impl Rule for PackageCacheKept {
    fn id(&self) -> &'static str {
        "LW103"
    }

    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        for stage in cx.stages.iter() {
            if !stage.in_final_image {
                continue;
            }
            for &inst in &stage.stage.instructions {
                if inst.keyword != Keyword::Run {
                    continue;
                }
                let Some(script) = cx.script(inst) else {
                    continue;
                };
                for (at, command) in script.commands.iter().enumerate() {
                    let Some(pkg) = classify(command).filter(|p| p.action == Action::Install)
                    else {
                        continue;
                    };
                    let Some(cache) = pkg.manager.spec().cache.as_ref() else {
                        continue;
                    };
                    if pkg.manager == Manager::Pip && pip_cache_off(cx, inst, command) {
                        continue;
                    }
                    if kept_out(inst, script, &pkg, cache) {
                        continue;
                    }
                    let clean = Clean {
                        prefix: privilege_prefix(cx, inst, &pkg),
                        removed_after: script.commands[at + 1..]
                            .iter()
                            .any(|c| may_remove(c, pkg.manager)),
                    };
                    out.extend(finding(cx, inst, &pkg, cache, &clean));
                }
            }
        }
    }
}

/// The cache never lands in the layer or is removed in the same RUN.
fn kept_out(inst: &Instruction, script: &Script, pkg: &PackageCommand, cache: &Cache) -> bool {
    let dirs = cache_dirs(cache, "/root");
    if cache.flag.is_some_and(|flag| pkg.has_flag(flag))
        || cache.also.iter().any(|f| pkg.has_flag(f))
    {
        return true;
    }
    if dirs.iter().any(|d| mount_covers(inst, d)) {
        return true;
    }
    let dirs: Vec<&str> = dirs.iter().map(String::as_str).collect();
    script.commands.iter().any(|c| {
        removes_any(c, &dirs)
            || classify(c).is_some_and(|p| p.manager == pkg.manager && p.action == Action::Clean)
    })
}

/// What decides whether a clean command can be appended after an install.
struct Clean {
    /// `sudo ` or nothing (see `privilege_prefix`); None under a user without sudo.
    prefix: Option<String>,
    /// A later command of the RUN removes packages, maybe the manager itself.
    removed_after: bool,
}

/// A removal that may take `manager` away: one by another system package manager (`apk del` of
/// the `npm` it added), or one naming the manager's own package (`npm uninstall -g npm`).
fn may_remove(command: &Command, manager: Manager) -> bool {
    let Some(p) = classify(command).filter(|p| p.action == Action::Remove) else {
        return false;
    };
    (p.manager.spec().system && p.manager != manager)
        || p.packages().iter().any(|w| {
            !w.literal || w.value.split(['=', '@']).next() == Some(manager.spec().own_package)
        })
}

fn finding(
    cx: &Context<'_>,
    inst: &Instruction,
    pkg: &PackageCommand,
    cache: &Cache,
    clean_ok: &Clean,
) -> Option<Diagnostic> {
    let head = cx.df.slice(pkg.head_span()).to_string();
    let (message, help, fix) = match (cache.flag, cache.clean) {
        (Some(flag), _) => {
            let at = pkg.sub.as_ref().map_or(pkg.head_span().end, |s| s.span.end);
            let fix = Fix::new(
                format!("add `{flag}`"),
                Safety::Safe,
                vec![Edit::insert(at, format!(" {flag}"))],
            );
            (
                format!("`{head}` without `{flag}` keeps its download cache in this layer"),
                format!("add `{flag}`"),
                Some(fix),
            )
        }
        (None, Some(clean)) => {
            let mut help = format!("end the same RUN with `&& {clean}`");
            // npm and yarn keep a cache per user: the user that installed can clean it.
            let per_user = matches!(pkg.manager, Manager::Npm | Manager::Yarn);
            let prefix = clean_ok
                .prefix
                .clone()
                .or_else(|| per_user.then(String::new));
            let fix = match prefix {
                _ if clean_ok.removed_after => {
                    help.push_str(" while the package manager is still installed (no fix is offered: a later command of the RUN removes packages, maybe the manager)");
                    None
                }
                None => {
                    help.push_str(" (no fix is offered: the stage runs as another user and the install does not use sudo)");
                    None
                }
                Some(prefix) => {
                    let command = format!("{prefix}{clean}");
                    append_command(cx, inst, &command).map(|edit| {
                        Fix::new(format!("append `&& {command}`"), Safety::Safe, vec![edit])
                    })
                }
            };
            (
                format!(
                    "`{head}` keeps its package cache in this layer; `{clean}` is not run in the same RUN"
                ),
                help,
                fix,
            )
        }
        (None, None) => return None,
    };
    Some(
        Diagnostic::new("LW103", pkg.head_span(), message)
            .with_help(help)
            .with_fix(fix)
            .with_hadolint(cache.hadolint),
    )
}

/// pip keeps no cache when `PIP_NO_CACHE_DIR` is set to any value pip accepts (even `off` or
/// `0`, which pip reads as "no cache" too): by the command's prefix, the script before it, or
/// an ENV or ARG with a value in the instruction's environment.
fn pip_cache_off(cx: &Context<'_>, inst: &Instruction, command: &Command) -> bool {
    const NAME: &str = "PIP_NO_CACHE_DIR";
    command.var(NAME).is_some() || cx.state(inst).is_some_and(|s| s.var(NAME).is_some())
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{fix_rule, lint_rule};

    #[test]
    fn each_manager_is_caught() {
        let text = "FROM x\nRUN apk add curl\nRUN pip install flask\nRUN yum install -y gcc\nRUN npm ci\nRUN yarn install\nRUN zypper in -y a\n";
        let found = lint_rule("LW103", text);
        assert_eq!(found.len(), 6, "{found:#?}");
    }

    #[test]
    fn the_good_forms_pass() {
        let text = "FROM x\nENV PIP_NO_CACHE_DIR=1\nRUN apk add --no-cache curl\nRUN pip install flask\n\
                    RUN pip3 install --no-cache-dir x\nRUN yum install -y gcc && yum clean all\n\
                    RUN npm ci && npm cache clean --force\nRUN --mount=type=cache,target=/usr/local/share/.cache/yarn yarn\n\
                    RUN dnf install -y x && rm -rf /var/cache/dnf\n";
        let found = lint_rule("LW103", text);
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn no_clean_after_a_removal_that_may_take_the_manager() {
        let text = "FROM alpine\nRUN apk add --no-cache --virtual .build nodejs npm && npm install -g some-cli && apk del .build\n";
        assert_eq!(fix_rule("LW103", text, false), text);
        assert_eq!(lint_rule("LW103", text).len(), 1);
        let npm_gone = "FROM node\nRUN npm install -g x && npm uninstall -g npm\n";
        assert_eq!(fix_rule("LW103", npm_gone, false), npm_gone);
        let yarn_gone = "FROM node\nRUN yarn install && npm uninstall -g yarn\n";
        assert_eq!(fix_rule("LW103", yarn_gone, false), yarn_gone);
        let pip_removal = "FROM fedora\nRUN dnf install -y gcc && pip uninstall -y x\n";
        assert_ne!(fix_rule("LW103", pip_removal, false), pip_removal);
        // Removing other packages with the same manager leaves it in place.
        let same = "FROM fedora\nRUN dnf install -y gcc && dnf remove -y vim\n";
        assert_eq!(
            fix_rule("LW103", same, false),
            "FROM fedora\nRUN dnf install -y gcc && dnf remove -y vim \\\n    && dnf clean all\n"
        );
    }

    #[test]
    fn clean_runs_with_the_install_rights() {
        let text = "FROM centos\nUSER u\nRUN sudo yum install -y git\n";
        assert_eq!(
            fix_rule("LW103", text, false),
            "FROM centos\nUSER u\nRUN sudo yum install -y git \\\n    && sudo yum clean all\n"
        );
        let no_sudo = "FROM centos\nUSER u\nRUN yum install -y git\n";
        assert_eq!(fix_rule("LW103", no_sudo, false), no_sudo);
        // npm's cache belongs to the user that installs.
        let npm = "FROM node\nUSER node\nRUN npm ci\n";
        assert_eq!(
            fix_rule("LW103", npm, false),
            "FROM node\nUSER node\nRUN npm ci \\\n    && npm cache clean --force\n"
        );
    }

    #[test]
    fn no_clean_into_a_heredoc_that_exits_or_continues() {
        let exits = "FROM fedora\nRUN <<EOF\ndnf install -y gcc\nexit 0\nEOF\n";
        assert_eq!(fix_rule("LW103", exits, false), exits);
        let continues = "FROM fedora\nRUN <<EOF\ndnf install -y gcc \\\nEOF\n";
        assert_eq!(fix_rule("LW103", continues, false), continues);
    }

    #[test]
    fn yarn_version_is_not_an_install() {
        let text = "FROM node:alpine\nRUN apk add --no-cache yarn && yarn --version\n";
        assert!(lint_rule("LW103", text).is_empty());
    }

    #[test]
    fn fixes_add_flags_or_clean_commands() {
        let fixed = fix_rule(
            "LW103",
            "FROM x\nRUN apk add curl && pip install flask\nRUN dnf install -y x\n",
            false,
        );
        assert_eq!(
            fixed,
            "FROM x\nRUN apk add --no-cache curl && pip install --no-cache-dir flask\nRUN dnf install -y x \\\n    && dnf clean all\n"
        );
    }
}
