//! LW103 package-cache-kept: a package manager leaves its download cache in the layer.

use crate::diagnostic::Diagnostic;
use crate::findings::Findings;
use crate::fix::{Edit, Fix, Safety};
use crate::knowledge::managers::{Cache, cache_dirs, cache_off_variable, dnf_generation};
use crate::model::Base;
use crate::model::packages::{Action, Manager, PackageCommand, classify, mount_covers, removes};
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

    fn check(&self, cx: &Context<'_>, out: &mut Findings) {
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
                    // An upgrade downloads and caches packages as an install does; `apk
                    // update` writes its index into the cache folder.
                    let Some(pkg) = classify(command).filter(|p| {
                        matches!(p.action, Action::Install | Action::Upgrade)
                            || apk_index_unread(cx, &stage.stage.instructions, inst, at, p)
                    }) else {
                        continue;
                    };
                    let Some(cache) = pkg.manager.spec().cache.as_ref() else {
                        continue;
                    };
                    if cache_off(cx, inst, command, pkg.manager) {
                        continue;
                    }
                    // One clean after the last install of a manager covers them all: the
                    // finding is on that last one.
                    if cache.flag.is_none()
                        && script.commands[at + 1..].iter().any(|c| {
                            classify(c).is_some_and(|p| {
                                p.manager == pkg.manager
                                    && matches!(p.action, Action::Install | Action::Upgrade)
                            })
                        })
                    {
                        continue;
                    }
                    // A build tool's caches are what its next build in the stage reads
                    // (`RUN go build -a std` warms them on purpose).
                    if pkg.manager.spec().compiles
                        && builds_again(cx, &stage.stage.instructions, inst, pkg.manager)
                    {
                        continue;
                    }
                    let dirs = cache_dirs_here(cx, inst, command, cache);
                    if kept_out(inst, &script.commands[at..], &pkg, &dirs, image) {
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
    dirs: &[String],
    image: Option<&str>,
) -> bool {
    let cache = pkg
        .manager
        .spec()
        .cache
        .as_ref()
        .expect("a manager with a cache");
    if cache.flag.is_some_and(|flag| pkg.has_flag(flag))
        || cache.also.iter().any(|f| pkg.has_flag(f))
    {
        return true;
    }
    let mut dirs = dirs.to_vec();
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
    let cleans = |c: &Command| {
        dirs.iter().any(|d| removes_dir(c, d))
            || classify(c).is_some_and(|p| {
                // gem and Bundler share one cache; so do conda, mamba and micromamba
                p.manager.spec().cache.as_ref().map(|c| c.kind) == Some(cache.kind)
                    && p.action == Action::Clean
            })
    };
    from.windows(2).any(|pair| {
        let [before, c] = pair else { return false };
        let unconditional = before.op().is_none_or(|op| op.kind != OperatorKind::Or);
        unconditional && cleans(c)
    })
}

/// `apk update` (at `at` in `inst`'s script) whose index no later install of the stage reads:
/// every later `apk add` or `upgrade` fetches its own with `--no-cache` (or `--no-network`
/// needs none). Then `--no-cache` on the update keeps the index out of the layer, safely.
fn apk_index_unread(
    cx: &Context<'_>,
    instructions: &[&Instruction],
    inst: &Instruction,
    at: usize,
    pkg: &PackageCommand,
) -> bool {
    if pkg.manager != Manager::Apk || pkg.action != Action::Update {
        return false;
    }
    let here = cx.script(inst);
    let later_here = here.as_ref().map_or(&[][..], |s| &s.commands[at + 1..]);
    let mut later_runs = instructions
        .iter()
        .skip_while(|i| i.span().start <= inst.span().start)
        .filter_map(|i| cx.script(i));
    let fetches_own = |p: &PackageCommand| p.has_flag("--no-cache") || p.has_flag("--no-network");
    // an install after it in the RUN that shows the update is only for show
    let shown = later_here.iter().any(|c| {
        classify(c).is_some_and(|p| {
            p.manager == Manager::Apk
                && matches!(p.action, Action::Install | Action::Upgrade)
                && fetches_own(&p)
        })
    });
    let fetches_index = |c: &Command| {
        // a script may `apk add` from the index: keep it
        runs_a_script(c)
            || classify(c).is_some_and(|p| {
                p.manager == Manager::Apk
                    && matches!(p.action, Action::Install | Action::Upgrade)
                    && !fetches_own(&p)
            })
    };
    shown
        && !later_here.iter().any(fetches_index)
        && !later_runs.any(|s| s.commands.iter().any(fetches_index))
}

/// A shell, or a program named by its path or as a `.sh` file: what it runs is unknown.
fn runs_a_script(command: &Command) -> bool {
    command.name().is_some_and(|name| {
        crate::knowledge::shells::is_posix_shell(name)
            || matches!(name, "source" | "." | "busybox")
            || name.contains('/')
            || name.ends_with(".sh")
    })
}

/// A RUN after `inst` in the stage runs `manager` again to build or fetch.
fn builds_again(
    cx: &Context<'_>,
    instructions: &[&Instruction],
    inst: &Instruction,
    manager: Manager,
) -> bool {
    instructions
        .iter()
        .skip_while(|i| i.span().start <= inst.span().start)
        .filter_map(|i| cx.script(i))
        .any(|s| {
            s.commands.iter().any(|c| {
                classify(c).is_some_and(|p| p.manager == manager && p.action == Action::Install)
            })
        })
}

/// Where the cache of `cache` is for this command: its usual folders, the ways a script names
/// them through the variables that move it (`$GEM_HOME/cache`), and where those variables
/// point when the file or the command sets them.
fn cache_dirs_here(
    cx: &Context<'_>,
    inst: &Instruction,
    command: &Command,
    cache: &Cache,
) -> Vec<String> {
    let mut dirs = cache_dirs(cache, "/root");
    // The folder the clean command removes, as written (`"$(gem env gemdir)/cache"`).
    if let Some(target) = cache.clean.and_then(|c| c.strip_prefix("rm -rf ")) {
        dirs.push(target.trim_matches('"').to_string());
    }
    for (name, suffix) in cache.relocated {
        dirs.push(format!("${name}{suffix}"));
        dirs.push(format!("${{{name}}}{suffix}"));
        let value = command
            .var(name)
            .flatten()
            .or_else(|| cx.state(inst).and_then(|s| s.var(name)));
        if let Some(value) = value.filter(|v| v.starts_with('/')) {
            dirs.push(format!("{}{suffix}", value.trim_end_matches('/')));
        }
    }
    dirs
}

/// `rm` of `dir` (see [`removes`]), where a `*` segment of `dir` stands for any one segment
/// (`/var/lib/gems/*/cache`).
fn removes_dir(command: &Command, dir: &str) -> bool {
    if !dir.split('/').any(|segment| segment == "*") {
        return removes(command, dir);
    }
    command.name() == Some("rm")
        && command.args().iter().any(|w| {
            let target: Vec<&str> = w.value().split('/').collect();
            // the dir with its `*`s taken from the removed path
            let concrete: Vec<&str> = dir
                .split('/')
                .enumerate()
                .map(|(i, s)| match (s, target.get(i)) {
                    ("*", Some(t)) if *t != "*" => t,
                    _ => s,
                })
                .collect();
            !w.value().starts_with('-') && removes(command, &concrete.join("/"))
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
        .map(|inst| inst.span().start)
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
    let removed_on = removed_before.or(removed_here.map(|_| inst.span().start))?;
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
            before.op().is_none_or(|op| op.kind != OperatorKind::Or)
                && (removes(c, APT_CACHE)
                    || classify(c).is_some_and(|p| {
                        p.manager == Manager::Apt
                            && p.sub.is_some_and(|s| {
                                matches!(s.value(), "clean" | "dist-clean" | "distclean")
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
            !w.literal() || w.value().split(['=', '@']).next() == Some(manager.spec().own_package)
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
            // after the subcommand, or its second word (`uv pip install`)
            let second = pkg.sub.zip(pkg.rest.first()).filter(|(sub, next)| {
                pkg.manager.spec().action(sub.value(), Some(next.value()))
                    != pkg.manager.spec().action(sub.value(), None)
            });
            let at = match second {
                Some((_, next)) => next.span().end,
                None => pkg
                    .sub
                    .as_ref()
                    .map_or(pkg.head_span().end, |s| s.span().end),
            };
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
            // the program as the install ran it (`/opt/conda/bin/conda`): it may not be on PATH
            let program = pkg
                .command
                .program_words()
                .first()
                .map_or("", |w| w.value());
            let clean = clean.replace("{program}", program);
            let clean = clean.as_str();
            let mut help = format!("end the same RUN with `&& {clean}`");
            // A language's manager keeps its cache where the user that installed can clean it.
            let per_user = !pkg.manager.spec().system;
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
                    "`{head}` keeps its {} in this layer; `{clean}` is not run in the same RUN",
                    cache.kind
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
/// `0`, which pip reads as "no cache" too), uv none with `UV_NO_CACHE`: by the command's prefix,
/// the script before it, or an ENV or ARG with a value in the instruction's environment.
fn cache_off(cx: &Context<'_>, inst: &Instruction, command: &Command, manager: Manager) -> bool {
    let Some(name) = cache_off_variable(manager) else {
        return false;
    };
    command.var(name).is_some() || cx.state(inst).is_some_and(|s| s.var(name).is_some())
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
    fn language_managers_and_build_tools_are_caught_and_fixed_once() {
        for (text, fixed) in [
            (
                "FROM ruby:3.3\nRUN gem install rails\n",
                "FROM ruby:3.3\nRUN gem install rails \\\n    && rm -rf \"$(gem env gemdir)/cache\"\n",
            ),
            (
                "FROM ruby:3.3\nRUN bundle install\n",
                "FROM ruby:3.3\nRUN bundle install \\\n    && rm -rf \"$(gem env gemdir)/cache\"\n",
            ),
            (
                "FROM x\nRUN /opt/conda/bin/conda env update -f e.yml\n",
                "FROM x\nRUN /opt/conda/bin/conda env update -f e.yml \\\n    && /opt/conda/bin/conda clean --all --yes\n",
            ),
            (
                "FROM x\nRUN mamba install -y numpy\n",
                "FROM x\nRUN mamba install -y numpy \\\n    && mamba clean --all --yes\n",
            ),
            (
                "FROM php\nRUN composer install\n",
                "FROM php\nRUN composer install \\\n    && composer clear-cache\n",
            ),
            (
                "FROM python\nRUN uv pip install --system flask\n",
                "FROM python\nRUN uv pip install --no-cache --system flask\n",
            ),
            (
                "FROM python\nRUN poetry install\n",
                "FROM python\nRUN poetry install \\\n    && rm -rf \"${POETRY_CACHE_DIR:-$HOME/.cache/pypoetry}\"\n",
            ),
            (
                "FROM golang\nRUN go mod download && go build -o /app .\n",
                "FROM golang\nRUN go mod download && go build -o /app . \\\n    && go clean -cache -modcache\n",
            ),
            (
                "FROM rust\nRUN cargo install ripgrep\n",
                "FROM rust\nRUN cargo install ripgrep \\\n    && rm -rf \"${CARGO_HOME:-$HOME/.cargo}/registry\"\n",
            ),
        ] {
            let found = lint_rule("LW103", text);
            assert_eq!(found.len(), 1, "{text}: {found:#?}");
            assert_eq!(fix_rule("LW103", text, false), fixed, "{text}");
            assert!(lint_rule("LW103", fixed).is_empty(), "{fixed}");
        }
        let go = &lint_rule("LW103", "FROM golang\nRUN go mod download && go build .\n")[0];
        assert!(
            go.message
                .starts_with("`go build` keeps its go build and module cache")
        );
    }

    #[test]
    fn language_caches_kept_out_their_own_ways() {
        for text in [
            "FROM ruby\nRUN gem install a && rm -rf /usr/local/bundle/cache\n",
            "FROM debian\nRUN gem install a && rm -rf /var/lib/gems/3.1.0/cache/*.gem\n",
            "FROM ruby\nENV GEM_HOME=/gems\nRUN gem install a && rm -rf /gems/cache\n",
            "FROM x\nRUN mamba install -y a && mamba clean -afy\n",
            "FROM x\nRUN conda install -y a && conda clean --all\n",
            "FROM python\nRUN UV_NO_CACHE=1 uv sync\n",
            "FROM python\nENV UV_NO_CACHE=1\nRUN uv pip install x\n",
            "FROM python\nRUN --mount=type=cache,target=/root/.cache/uv uv sync\n",
            "FROM python\nENV POETRY_CACHE_DIR=/tmp/pc\nRUN poetry install && rm -rf /tmp/pc\n",
            "FROM golang\nRUN --mount=type=cache,target=/root/.cache/go-build go build .\n",
            "FROM golang\nRUN go build . && go clean -modcache -cache\n",
            "FROM php\nRUN composer install && composer cc\n",
            "FROM rust\nRUN cargo install x && rm -rf /usr/local/cargo/registry\n",
            "FROM golang\nRUN go version && cargo --version && gem --version\n",
        ] {
            let found = lint_rule("LW103", text);
            assert!(found.is_empty(), "{text}: {found:#?}");
        }
        // `go clean` without -cache cleans the package's objects, not the caches.
        assert_eq!(
            lint_rule("LW103", "FROM golang\nRUN go build . && go clean\n").len(),
            1
        );
    }

    #[test]
    fn a_build_tool_s_cache_read_by_a_later_build_is_kept() {
        let warmed = "FROM golang\nRUN go build -a std\nCOPY . .\nRUN go build\n";
        let found = lint_rule("LW103", warmed);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(&warmed[found[0].span.range()], "go build");
        assert!(found[0].span.start > warmed.find("COPY").unwrap());
        // one clean after the last install of a manager covers the RUN: one finding
        let twice = "FROM centos\nRUN yum install -y a && yum install -y b\n";
        assert_eq!(lint_rule("LW103", twice).len(), 1);
    }

    #[test]
    fn apk_update_only_when_no_install_reads_its_index() {
        let shown = "FROM alpine\nRUN apk update && apk add --no-cache git\n";
        assert_eq!(
            fix_rule("LW103", shown, false),
            "FROM alpine\nRUN apk update --no-cache && apk add --no-cache git\n"
        );
        for read in [
            // the add reads the index the update wrote
            "FROM alpine\nRUN apk update && apk add --no-cache git\nRUN apk add curl\n",
            // a script may add packages from it
            "FROM alpine\nRUN apk update && apk add --no-cache git && sh /tmp/setup.sh\n",
            // nothing after it shows the update is for show
            "FROM alpine\nRUN apk update\n",
        ] {
            assert!(
                !lint_rule("LW103", read)
                    .iter()
                    .any(|d| d.message.starts_with("`apk update`")),
                "{read}"
            );
        }
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
