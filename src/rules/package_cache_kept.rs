//! LW103 package-cache-kept: a package manager leaves its download cache in the layer.

use crate::diagnostic::Diagnostic;
use crate::fix::{Edit, Fix, Safety};
use crate::knowledge::managers::{Cache, cache_dirs, dnf_generation};
use crate::model::Base;
use crate::model::packages::{
    Action, Manager, PackageCommand, classify, mount_covers, removes, removes_any,
};
use crate::rules::Context;
use crate::rules::Rule;
use crate::rules::edit::append_command;
use crate::rules::edit::privilege_prefix;
use crate::shell::{Command, OperatorKind};
use crate::syntax::{Instruction, Keyword};

pub struct PackageCacheKept;

impl Rule for PackageCacheKept {
    fn id(&self) -> &'static str {
        "LW103"
    }

    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        for (index, stage) in cx.stages.iter().enumerate() {
            if !stage.in_final_image {
                continue;
            }
            let image = match &cx.stages[cx.lineage(index)[0]].base {
                Base::Image(image) => Some(image.as_str()),
                _ => None,
            };
            let mut docker_clean_gone = docker_clean_removed_before(cx, index);
            for &inst in &stage.stage.instructions {
                if let Some(gone) = apt_archives(cx, inst, docker_clean_gone) {
                    docker_clean_gone = Some(gone.removed_on);
                    out.extend(gone.finding);
                }
                if inst.keyword != Keyword::Run {
                    continue;
                }
                let Some(script) = cx.script(inst) else {
                    continue;
                };
                for (at, command) in script.commands.iter().enumerate() {
                    // An upgrade downloads and caches packages as an install does.
                    let Some(pkg) = classify(command)
                        .filter(|p| matches!(p.action, Action::Install | Action::Upgrade))
                    else {
                        continue;
                    };
                    let Some(cache) = pkg.manager.spec().cache.as_ref() else {
                        continue;
                    };
                    if pkg.manager == Manager::Pip && pip_cache_off(cx, inst, command) {
                        continue;
                    }
                    if kept_out(inst, &script.commands[at..], &pkg, cache, image) {
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

/// The cache never lands in the layer, or is removed after the install (`from[0]`) in the same
/// RUN: a clean before it, or one that runs only when a command fails (`|| yum clean all`),
/// leaves the cache the install writes.
fn kept_out(
    inst: &Instruction,
    from: &[Command],
    pkg: &PackageCommand,
    cache: &Cache,
    image: Option<&str>,
) -> bool {
    if cache.flag.is_some_and(|flag| pkg.has_flag(flag))
        || cache.also.iter().any(|f| pkg.has_flag(f))
    {
        return true;
    }
    let mut dirs = cache_dirs(cache, "/root");
    // dnf5 keeps its cache in /var/cache/libdnf5, dnf4 in /var/cache/dnf: where the image or
    // the program tells which dnf runs, only its folder counts.
    let generation = match pkg.command.name() {
        Some("dnf5") => Some(5),
        _ if matches!(pkg.manager, Manager::Dnf | Manager::Microdnf) => {
            image.and_then(dnf_generation)
        }
        _ => None,
    };
    match generation {
        Some(5) => dirs.retain(|d| d != "/var/cache/dnf"),
        Some(_) => dirs.retain(|d| d != "/var/cache/libdnf5"),
        None => {}
    }
    if dirs.iter().any(|d| mount_covers(inst, d)) {
        return true;
    }
    let dirs: Vec<&str> = dirs.iter().map(String::as_str).collect();
    from.windows(2).any(|pair| {
        let [before, c] = pair else { return false };
        let unconditional = before.op.is_none_or(|op| op.kind != OperatorKind::Or);
        unconditional
            && (removes_any(c, &dirs)
                || classify(c)
                    .is_some_and(|p| p.manager == pkg.manager && p.action == Action::Clean))
    })
}

/// apt's archives: Docker's Debian and Ubuntu images clean `/var/cache/apt` after every install
/// through `/etc/apt/apt.conf.d/docker-clean`. A RUN that removes that file turns it off for
/// every later install of the stage (and the stages built on it).
const DOCKER_CLEAN: &str = "/etc/apt/apt.conf.d/docker-clean";
const APT_CACHE: &str = "/var/cache/apt";

/// The offset of the first instruction before stage `index` (in the stages it is built on)
/// that removes docker-clean.
fn docker_clean_removed_before(cx: &Context<'_>, index: usize) -> Option<usize> {
    let lineage = cx.lineage(index);
    lineage[..lineage.len() - 1]
        .iter()
        .flat_map(|&s| cx.stages[s].stage.instructions.iter())
        .find(|inst| {
            cx.script(inst)
                .is_some_and(|s| s.commands.iter().any(|c| removes(c, DOCKER_CLEAN)))
        })
        .map(|inst| inst.span.start)
}

struct AptArchives {
    /// Where docker-clean was removed (this RUN or an earlier one).
    removed_on: usize,
    finding: Option<Diagnostic>,
}

/// A RUN that installs with apt after docker-clean is gone, keeping the `.deb` files in
/// `/var/cache/apt`: neither `apt-get clean` after the install nor a cache mount on it.
fn apt_archives(
    cx: &Context<'_>,
    inst: &Instruction,
    removed_before: Option<usize>,
) -> Option<AptArchives> {
    let script = cx.script(inst)?;
    let removed_here = script
        .commands
        .iter()
        .position(|c| removes(c, DOCKER_CLEAN));
    let removed_on = removed_before.or(removed_here.map(|_| inst.span.start))?;
    let first = removed_here.map_or(0, |at| at + 1);
    let installs = |c: &Command| {
        classify(c).is_some_and(|p| {
            p.manager == Manager::Apt && matches!(p.action, Action::Install | Action::Upgrade)
        })
    };
    let last = script.commands[first..]
        .iter()
        .rposition(installs)
        .map(|at| first + at);
    let finding = last.and_then(|at| {
        if mount_covers(inst, APT_CACHE) {
            return None;
        }
        let cleaned = script.commands[at..].windows(2).any(|pair| {
            let [before, c] = pair else { return false };
            before.op.is_none_or(|op| op.kind != OperatorKind::Or)
                && (removes(c, APT_CACHE)
                    || classify(c).is_some_and(|p| {
                        p.manager == Manager::Apt
                            && p.sub.is_some_and(|s| {
                                matches!(s.value.as_str(), "clean" | "dist-clean" | "distclean")
                            })
                    }))
        });
        if cleaned {
            return None;
        }
        let pkg = classify(&script.commands[at])?;
        let line = cx.df.position(removed_on).line + 1;
        let prefix = privilege_prefix(cx, inst, &pkg);
        let fix = prefix.and_then(|prefix| {
            let command = format!("{prefix}apt-get clean");
            append_command(cx, inst, &command)
                .map(|edit| Fix::new(format!("append `&& {command}`"), Safety::Safe, vec![edit]))
        });
        let head = cx.df.slice(pkg.head_span()).to_string();
        Some(
            Diagnostic::new(
                "LW103",
                pkg.head_span(),
                format!(
                    "`{head}` keeps the downloaded .deb files in {APT_CACHE}: the RUN on line {line} removed {DOCKER_CLEAN}, which cleaned them"
                ),
            )
            .with_help(format!(
                "end the RUN with `&& apt-get clean`, or mount a cache on {APT_CACHE} (`--mount=type=cache,target={APT_CACHE},sharing=locked`)"
            ))
            .with_fix(fix),
        )
    });
    Some(AptArchives {
        removed_on,
        finding,
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
    fn a_clean_before_the_install_or_after_or_is_no_clean() {
        for text in [
            "FROM centos\nRUN yum clean all && yum install -y gcc\n",
            "FROM node\nRUN yarn cache clean && yarn install\n",
            "FROM opensuse/leap\nRUN zypper clean && zypper in -y x\n",
            "FROM centos\nRUN yum install -y gcc || yum clean all\n",
        ] {
            assert_eq!(lint_rule("LW103", text).len(), 1, "{text}");
        }
        let fixed = fix_rule(
            "LW103",
            "FROM centos\nRUN yum clean all && yum install -y gcc\n",
            false,
        );
        assert_eq!(
            fixed,
            "FROM centos\nRUN yum clean all && yum install -y gcc \\\n    && yum clean all\n"
        );
    }

    #[test]
    fn upgrades_and_aliases_fill_the_cache_too() {
        for text in [
            "FROM fedora:40\nRUN dnf -y upgrade\n",
            "FROM fedora:40\nRUN dnf upgrade-minimal -y\n",
            "FROM centos:7\nRUN yum -y update\n",
            "FROM alpine\nRUN apk upgrade\n",
            "FROM opensuse/leap\nRUN zypper -n up\n",
            "FROM fedora:40\nRUN dnf in -y gcc\n",
            "FROM fedora:40\nRUN dnf rei -y gcc\n",
            "FROM fedora:40\nRUN dnf up -y\n",
            "FROM fedora:40\nRUN dnf up-min -y\n",
        ] {
            assert_eq!(lint_rule("LW103", text).len(), 1, "{text}");
        }
        assert!(lint_rule("LW103", "FROM alpine\nRUN apk upgrade --no-cache\n").is_empty());
    }

    #[test]
    fn dnf5_caches_in_libdnf5() {
        let mounted =
            "FROM fedora:41\nRUN --mount=type=cache,target=/var/cache/libdnf5 dnf install -y gcc\n";
        assert!(lint_rule("LW103", mounted).is_empty());
        // On Fedora 41 and later the dnf4 folder is not where the cache is.
        let wrong = "FROM fedora:42\nRUN dnf install -y gcc && rm -rf /var/cache/dnf\n";
        assert_eq!(lint_rule("LW103", wrong).len(), 1);
        let right = "FROM fedora:42\nRUN dnf install -y gcc && rm -rf /var/cache/libdnf5\n";
        assert!(lint_rule("LW103", right).is_empty());
        let dnf4 = "FROM rockylinux:9\nRUN dnf install -y gcc && rm -rf /var/cache/dnf\n";
        assert!(lint_rule("LW103", dnf4).is_empty());
    }

    #[test]
    fn apt_archives_stay_once_docker_clean_is_gone() {
        let text = "FROM debian\nRUN rm -f /etc/apt/apt.conf.d/docker-clean\n\
                    RUN --mount=type=cache,target=/var/lib/apt apt-get update && apt-get install -y curl\n";
        let found = lint_rule("LW103", text);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].message.contains("line 2"), "{}", found[0].message);
        assert!(
            fix_rule("LW103", text, false)
                .ends_with("apt-get install -y curl \\\n    && apt-get clean\n")
        );
        // Docker's docs: both folders mounted.
        let docs = "FROM debian\nRUN rm -f /etc/apt/apt.conf.d/docker-clean\n\
                    RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \\\n  --mount=type=cache,target=/var/lib/apt,sharing=locked \\\n  apt-get update && apt-get install -y curl\n";
        assert!(lint_rule("LW103", docs).is_empty());
        // docker-clean in place: apt cleans its archives itself.
        let kept = "FROM debian\nRUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n";
        assert!(lint_rule("LW103", kept).is_empty());
        // Gone in a parent stage counts too.
        let parent = "FROM debian AS base\nRUN rm -f /etc/apt/apt.conf.d/docker-clean\nFROM base\nRUN apt-get update && apt-get install -y curl && apt-get clean\nRUN apt-get install -y jq\n";
        let found = lint_rule("LW103", parent);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].message.starts_with("`apt-get install` keeps"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn the_shell_s_own_exports_and_build_args_turn_pip_s_cache_off() {
        for text in [
            "FROM python\nRUN export PIP_NO_CACHE_DIR=1 && pip install x\n",
            "FROM python\nRUN export PIP_NO_CACHE_DIR=1; pip install x\n",
            "FROM python\nRUN PIP_NO_CACHE_DIR=1 pip install x\n",
            "FROM python\nARG PIP_NO_CACHE_DIR=1\nRUN pip install x\n",
        ] {
            assert!(lint_rule("LW103", text).is_empty(), "{text}");
        }
        assert_eq!(
            lint_rule(
                "LW103",
                "FROM python\nARG PIP_NO_CACHE_DIR\nRUN pip install x\n"
            )
            .len(),
            1
        );
    }

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
