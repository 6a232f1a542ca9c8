//! LW201 source-before-deps: the whole context is copied before the dependency install, so any
//! source edit re-runs the install.

use std::path::Path;

use crate::diagnostic::Diagnostic;
use crate::fix::{Edit, Fix, Safety};
use crate::lint::LintContext;
use crate::rules::Rule;
use crate::rules::edit::{first_line, node_span};
use crate::rules::packages::dependency_install;
use crate::rules::paths::copies_whole_context;
use crate::shell::{Command, OperatorKind};
use crate::syntax::{Instruction, Keyword};

pub struct SourceBeforeDeps;

impl Rule for SourceBeforeDeps {
    fn id(&self) -> &'static str {
        "LW201"
    }

    fn check(&self, cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
        for stage in &cx.stages {
            let instructions = &stage.stage.instructions;
            let mut installed: Vec<&str> = Vec::new();
            let mut copy_at: Option<usize> = None;
            for (at, &inst) in instructions.iter().enumerate() {
                if copy_at.is_none() && copies_whole_context(inst) {
                    copy_at = Some(at);
                    continue;
                }
                if inst.keyword != Keyword::Run {
                    continue;
                }
                let Some(script) = cx.script(inst) else {
                    continue;
                };
                for (index, command) in script.commands.iter().enumerate() {
                    let Some(ecosystem) = dependency_install(command) else {
                        continue;
                    };
                    match copy_at {
                        // Installed before the source came in: later builds of the same
                        // ecosystem reuse it.
                        None => installed.push(ecosystem),
                        Some(c) if !installed.contains(&ecosystem) => {
                            let copy = instructions[c];
                            let install = Install {
                                command,
                                index,
                                ecosystem,
                            };
                            out.push(finding(cx, &instructions[c..=at], copy, &install));
                            installed.push(ecosystem);
                        }
                        Some(_) => {}
                    }
                }
            }
        }
    }
}

struct Install<'a> {
    command: &'a Command,
    /// The command's place in its RUN's script.
    index: usize,
    ecosystem: &'static str,
}

fn finding(
    cx: &LintContext<'_>,
    span: &[&Instruction],
    copy: &Instruction,
    install: &Install<'_>,
) -> Diagnostic {
    let line = cx.df.position(install.command.span.start).line + 1;
    let name = cx
        .df
        .slice(install.command.span)
        .chars()
        .take(40)
        .collect::<String>();
    Diagnostic::new(
        "LW201",
        first_line(cx.df, copy),
        format!(
            "the whole context is copied before `{name}` (line {line}), so every source edit re-runs the {} install",
            install.ecosystem
        ),
    )
    .with_label(install.command.span, "re-runs after any source change")
    .with_help("copy the dependency manifests first, install, then copy the rest")
    .with_fix(manifests_first(cx, span, install))
}

/// Dependency manifests per ecosystem, and how their install runs from manifests alone.
fn manifests(ecosystem: &str) -> (&'static [&'static str], Prefetch) {
    match ecosystem {
        "npm" => (
            &[
                "package.json",
                "package-lock.json",
                "npm-shrinkwrap.json",
                ".npmrc",
            ],
            Prefetch::Move,
        ),
        "yarn" => (
            &["package.json", "yarn.lock", ".yarnrc", ".yarnrc.yml"],
            Prefetch::Move,
        ),
        "pnpm" => (
            &[
                "package.json",
                "pnpm-lock.yaml",
                "pnpm-workspace.yaml",
                ".npmrc",
            ],
            Prefetch::Move,
        ),
        "pip" => (&[], Prefetch::Move),
        "pipenv" => (&["Pipfile", "Pipfile.lock"], Prefetch::Move),
        "bundler" => (&["Gemfile", "Gemfile.lock"], Prefetch::Move),
        "poetry" => (
            &["pyproject.toml", "poetry.lock"],
            Prefetch::Run("poetry install --no-root"),
        ),
        "go" => (&["go.mod", "go.sum"], Prefetch::Run("go mod download")),
        "composer" => (
            &["composer.json", "composer.lock"],
            Prefetch::Run("composer install --no-scripts --no-autoloader --no-interaction"),
        ),
        "maven" => (&["pom.xml"], Prefetch::Run("mvn -B dependency:go-offline")),
        _ => (&[], Prefetch::None),
    }
}

enum Prefetch {
    /// The install needs only the manifests: move it before the source copy.
    Move,
    /// The install needs the source; run this dependency-only step before the copy instead.
    Run(&'static str),
    None,
}

/// COPY the manifests that exist in the context, run the install (or a dependency-only step),
/// then copy the rest.
fn manifests_first(
    cx: &LintContext<'_>,
    span: &[&Instruction],
    install: &Install<'_>,
) -> Option<Fix> {
    let context = cx.context.as_deref()?;
    let (copy, run) = (span[0], *span.last()?);
    // Settings made between the copy and the install would be lost by moving it up.
    if span[1..span.len() - 1]
        .iter()
        .any(|i| i.keyword != Keyword::Run)
        || !run.heredocs.is_empty()
        || run.onbuild.is_some()
    {
        return None;
    }
    let (names, prefetch) = manifests(install.ecosystem);
    let mut files: Vec<String> = names
        .iter()
        .filter(|n| exists(cx, context, n))
        .map(|n| n.to_string())
        .collect();
    if install.ecosystem == "pip" {
        files = requirement_files(install.command);
        if files.is_empty() || !files.iter().all(|f| exists(cx, context, f)) {
            return None;
        }
    }
    let primary = names
        .first()
        .map_or(files.first().cloned(), |n| Some(n.to_string()))?;
    if !files.contains(&primary) {
        return None;
    }
    let (_, dest) = copy.copy_paths()?;
    let dest = match dest.as_str() {
        "." => "./".to_string(),
        d if d.ends_with('/') => d.to_string(),
        d => format!("{d}/"),
    };
    let flags: String = copy
        .flags
        .iter()
        .map(|f| format!("{} ", cx.df.slice(f.span)))
        .collect();
    let run_flags: String = run
        .flags
        .iter()
        .map(|f| format!("{} ", cx.df.slice(f.span)))
        .collect();
    let nl = cx.style.newline;
    let (step, mut edits) = match prefetch {
        Prefetch::None => return None,
        Prefetch::Run(step) => (step.to_string(), Vec::new()),
        Prefetch::Move => (
            cx.df.slice(install.command.span).to_string(),
            vec![take_out(cx, run, install)?],
        ),
    };
    let indent = &cx.df.text()[cx.df.lines().line_start(copy.lines.0)..copy.span.start];
    let inserted = format!(
        "{keyword} {flags}{files} {dest}{nl}{indent}RUN {run_flags}{step}{nl}{indent}",
        keyword = cx.df.slice(copy.keyword_span),
        files = files.join(" "),
    );
    edits.push(Edit::insert(copy.span.start, inserted));
    Some(Fix::new(
        format!(
            "copy {} first and install before the rest of the context",
            files.join(", ")
        ),
        Safety::Unsafe,
        edits,
    ))
}

/// Removes the install command from its RUN: the whole RUN when it is the only command, or the
/// command and the `&&` after it when it comes first in the chain.
fn take_out(cx: &LintContext<'_>, run: &Instruction, install: &Install<'_>) -> Option<Edit> {
    let script = cx.script(run)?;
    if script.commands.len() == 1 {
        return Some(Edit::delete(node_span(cx.df, run)));
    }
    let op = install.command.op?;
    if install.index != 0 || op.kind != OperatorKind::And {
        return None;
    }
    let next = script.commands.get(1)?;
    Some(Edit::delete(crate::source::Span::new(
        install.command.span.start,
        next.span.start,
    )))
}

fn requirement_files(command: &Command) -> Vec<String> {
    let args = command.args();
    let mut files = Vec::new();
    for (i, w) in args.iter().enumerate() {
        if w.value == "-r" || w.value == "--requirement" {
            files.extend(args.get(i + 1).map(|f| f.value.clone()));
        } else if let Some(f) = w.value.strip_prefix("--requirement=") {
            files.push(f.to_string());
        }
    }
    files
}

fn exists(cx: &LintContext<'_>, context: &Path, name: &str) -> bool {
    let path = context.join(name);
    cx.options.read(&path).is_some() || path.is_file()
}

#[cfg(test)]
mod tests {
    use crate::fix::{Safety, fix_text};
    use crate::lint::LintOptions;
    use crate::rules::test_support::lint_rule;

    #[test]
    fn fires_when_the_install_follows_the_whole_context() {
        let found = lint_rule(
            "LW201",
            "FROM node\nWORKDIR /app\nCOPY . .\nRUN npm ci && npm run build\n",
        );
        assert_eq!(found.len(), 1);
        let good = "FROM node\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\nRUN npm run build\n";
        assert!(lint_rule("LW201", good).is_empty());
    }

    #[test]
    fn dependency_only_step_before_the_copy_counts() {
        let good = "FROM golang\nCOPY go.mod go.sum ./\nRUN go mod download\nCOPY . .\nRUN go mod download && go build\n";
        assert!(lint_rule("LW201", good).is_empty());
        assert_eq!(
            lint_rule(
                "LW201",
                "FROM python\nCOPY . /src\nRUN pip install -r /src/requirements.txt\n"
            )
            .len(),
            1
        );
    }

    #[test]
    fn fix_uses_the_manifests_in_the_context() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("package.json"), "{}").unwrap();
        std::fs::write(dir.path().join("package-lock.json"), "{}").unwrap();
        let options = LintOptions {
            path: Some(dir.path().join("Dockerfile")),
            only: Some(vec!["LW201".into()]),
            ..LintOptions::default()
        };
        let text =
            "FROM node\nWORKDIR /app\nCOPY --chown=node . .\nRUN npm ci \\\n  && npm run build\n";
        let fixed = fix_text(text, &options, Safety::Unsafe).text;
        assert_eq!(
            fixed,
            "FROM node\nWORKDIR /app\nCOPY --chown=node package.json package-lock.json ./\nRUN npm ci\nCOPY --chown=node . .\nRUN npm run build\n"
        );
    }
}
