//! LW103 package-cache-kept: a package manager leaves its download cache in the layer.

use crate::diagnostic::Diagnostic;
use crate::fix::{Edit, Fix, Safety};
use crate::lint::LintContext;
use crate::rules::Rule;
use crate::rules::edit::append_command;
use crate::rules::packages::{
    Action, Manager, PackageCommand, classify, mount_covers, removes_any,
};
use crate::shell::Script;
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

    fn check(&self, cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
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
                for command in &script.commands {
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
                    out.push(finding(cx, inst, &pkg, cache));
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

fn finding(
    cx: &LintContext<'_>,
    inst: &Instruction,
    pkg: &PackageCommand,
    cache: &Cache,
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
            let fix = append_command(cx, inst, clean)
                .map(|edit| Fix::new(format!("append `&& {clean}`"), Safety::Safe, vec![edit]));
            (
                format!(
                    "`{head}` keeps its package cache in this layer; `{clean}` is not run in the same RUN"
                ),
                format!("end the same RUN with `&& {clean}`"),
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
fn pip_cache_disabled_by_env(cx: &LintContext<'_>, stage: usize) -> Option<usize> {
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
