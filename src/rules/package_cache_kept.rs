//! LW103 package-cache-kept: a package manager leaves its download cache in the layer.

use crate::diagnostic::Diagnostic;
use crate::fix::{Edit, Fix, Safety};
use crate::rules::Context;
use crate::rules::Rule;
use crate::rules::edit::append_command;
use crate::rules::packages::{
    Action, Manager, PackageCommand, classify, mount_covers, privilege_prefix, removes_any,
};
use crate::shell::{Command, Script};
use crate::syntax::{Instruction, Keyword};

pub struct PackageCacheKept;

/// Where each manager keeps its cache, and how it is cleaned.
struct Cache {
    manager: &'static [Manager],
    dirs: &'static [&'static str],
    /// The flag that keeps the cache from being written, inserted after the subcommand.
    flag: Option<&'static str>,
    /// Other flags that keep it from being written (`apk add --no-network` downloads nothing).
    also: &'static [&'static str],
    /// The command that cleans it, appended to the RUN.
    clean: Option<&'static str>,
    /// hadolint's check for this manager, if it has one.
    hadolint: Option<&'static str>,
}

const CACHES: &[Cache] = &[
    Cache {
        manager: &[Manager::Apk],
        dirs: &["/var/cache/apk", "/etc/apk/cache"],
        flag: Some("--no-cache"),
        also: &["--no-network"],
        clean: None,
        hadolint: Some("DL3019"),
    },
    Cache {
        manager: &[Manager::Pip],
        dirs: &[
            "/root/.cache/pip",
            "~/.cache/pip",
            "$HOME/.cache/pip",
            "${HOME}/.cache/pip",
        ],
        flag: Some("--no-cache-dir"),
        also: &[],
        clean: None,
        hadolint: Some("DL3042"),
    },
    Cache {
        manager: &[Manager::Yum],
        dirs: &["/var/cache/yum"],
        flag: None,
        also: &[],
        clean: Some("yum clean all"),
        hadolint: Some("DL3032"),
    },
    Cache {
        manager: &[Manager::Dnf],
        dirs: &["/var/cache/dnf"],
        flag: None,
        also: &[],
        clean: Some("dnf clean all"),
        hadolint: Some("DL3040"),
    },
    Cache {
        manager: &[Manager::Microdnf],
        dirs: &["/var/cache/yum", "/var/cache/dnf"],
        flag: None,
        also: &[],
        clean: Some("microdnf clean all"),
        hadolint: Some("DL3040"),
    },
    Cache {
        manager: &[Manager::Zypper],
        dirs: &["/var/cache/zypp"],
        flag: None,
        also: &[],
        clean: Some("zypper clean --all"),
        hadolint: Some("DL3036"),
    },
    Cache {
        manager: &[Manager::Npm],
        dirs: &["/root/.npm", "~/.npm", "$HOME/.npm", "${HOME}/.npm"],
        flag: None,
        also: &[],
        clean: Some("npm cache clean --force"),
        hadolint: None,
    },
    Cache {
        manager: &[Manager::Yarn],
        dirs: &[
            "/usr/local/share/.cache/yarn",
            "/root/.cache/yarn",
            "~/.cache/yarn",
            "$HOME/.cache/yarn",
        ],
        flag: None,
        also: &[],
        clean: Some("yarn cache clean"),
        hadolint: Some("DL3060"),
    },
];

impl Rule for PackageCacheKept {
    fn id(&self) -> &'static str {
        "LW103"
    }

    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        for (index, stage) in cx.stages.iter().enumerate() {
            if !stage.in_final_image {
                continue;
            }
            let pip_env = pip_cache_disabled_by_env(cx, index);
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
                    let Some(cache) = CACHES.iter().find(|c| c.manager.contains(&pkg.manager))
                    else {
                        continue;
                    };
                    if pkg.manager == Manager::Pip
                        && (pip_env.is_some_and(|at| at < inst.span.start)
                            || pkg
                                .command
                                .assigns
                                .iter()
                                .any(|a| a.value.starts_with("PIP_NO_CACHE_DIR=")))
                    {
                        continue;
                    }
                    if kept_out(inst, script, &pkg, cache) {
                        continue;
                    }
                    let clean = Clean {
                        prefix: privilege_prefix(cx, index, inst, &pkg),
                        removed_after: script.commands[at + 1..]
                            .iter()
                            .any(|c| may_remove(c, pkg.manager)),
                    };
                    out.push(finding(cx, inst, &pkg, cache, &clean));
                }
            }
        }
    }
}

/// The cache never lands in the layer or is removed in the same RUN.
fn kept_out(inst: &Instruction, script: &Script, pkg: &PackageCommand, cache: &Cache) -> bool {
    if cache.flag.is_some_and(|flag| pkg.has_flag(flag))
        || cache.also.iter().any(|f| pkg.has_flag(f))
    {
        return true;
    }
    if cache.dirs.iter().any(|d| mount_covers(inst, d)) {
        return true;
    }
    script.commands.iter().any(|c| {
        removes_any(c, cache.dirs)
            || classify(c)
                .is_some_and(|p| cache.manager.contains(&p.manager) && p.action == Action::Clean)
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
    let system = !matches!(
        p.manager,
        Manager::Pip | Manager::Npm | Manager::Yarn | Manager::Pnpm
    );
    (system && p.manager != manager)
        || p.packages().iter().any(|w| {
            !w.literal || w.value.split(['=', '@']).next() == Some(manager_package(manager))
        })
}

fn manager_package(manager: Manager) -> &'static str {
    match manager {
        Manager::Apt => "apt",
        Manager::Apk => "apk-tools",
        Manager::Yum => "yum",
        Manager::Dnf => "dnf",
        Manager::Microdnf => "microdnf",
        Manager::Zypper => "zypper",
        Manager::Pip => "pip",
        Manager::Npm => "npm",
        Manager::Yarn => "yarn",
        Manager::Pnpm => "pnpm",
    }
}

fn finding(
    cx: &Context<'_>,
    inst: &Instruction,
    pkg: &PackageCommand,
    cache: &Cache,
    clean_ok: &Clean,
) -> Diagnostic {
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
        (None, None) => unreachable!("every cache has a flag or a clean command"),
    };
    Diagnostic::new("LW103", pkg.head_span(), message)
        .with_help(help)
        .with_fix(fix)
        .with_hadolint(cache.hadolint)
}

/// The offset of an `ENV PIP_NO_CACHE_DIR=…` in the stage or its ancestors, if any.
fn pip_cache_disabled_by_env(cx: &Context<'_>, stage: usize) -> Option<usize> {
    cx.lineage(stage)
        .into_iter()
        .flat_map(|s| cx.stages[s].stage.instructions.iter())
        .filter(|i| i.keyword == Keyword::Env)
        .find(|i| {
            i.words()
                .iter()
                .any(|w| w.value.starts_with("PIP_NO_CACHE_DIR"))
        })
        .map(|i| i.span.start)
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
