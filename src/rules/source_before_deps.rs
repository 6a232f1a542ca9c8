//! LW201 source-before-deps: the whole context is copied before the dependency install, so any
//! source edit re-runs the install.

use std::path::Path;
use std::sync::Arc;

use crate::diagnostic::{Diagnostic, command_text};
use crate::findings::Findings;
use crate::fix::{Edit, Fix, Safety};
use crate::model::BuildContext;
use crate::model::order::{command_footprint, move_before};
use crate::model::packages::{classify, dependency_install};
use crate::model::paths::{copies_whole_context, resolve};
use crate::model::stages::mount_field;
use crate::rules::edit::{first_line, lead_start, node_span};
use crate::rules::{Context, Rule};
use crate::shell::{Command, OperatorKind};
use crate::syntax::{Instruction, Keyword};

pub struct SourceBeforeDeps;

impl Rule for SourceBeforeDeps {
    fn id(&self) -> &'static str {
        "LW201"
    }

    /// After LW203 has moved the stable steps above the source, before the others.
    fn fix_order(&self) -> u8 {
        1
    }

    fn check(&self, cx: &Context<'_>, out: &mut Findings) {
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
                    // A build that fetches as it compiles re-runs on every edit anyway: with its
                    // downloads kept in a cache mount, a re-run fetches nothing.
                    if builds_itself(command) && caches_downloads(inst, ecosystem) {
                        continue;
                    }
                    // A module that vendors its dependencies builds from vendor/: nothing to
                    // download, nothing to cache.
                    if ecosystem == "go"
                        && cx
                            .context
                            .as_ref()
                            .is_some_and(|c| c.is_file(Path::new("vendor/modules.txt")))
                    {
                        continue;
                    }
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
                                // Unknown until a WORKDIR sets it: the base image may have its own.
                                workdir: cx.state(inst).and_then(|s| s.workdir.as_deref()),
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

/// A command that compiles the source and fetches its dependencies on the way (`go build`,
/// `dotnet publish`, `cargo build`), unlike an install of the dependencies alone.
fn builds_itself(command: &Command) -> bool {
    let sub = command.subcommand().map(|w| w.value());
    matches!(
        (command.name(), sub),
        (Some("go"), Some("build" | "install" | "test" | "run"))
            | (
                Some("dotnet"),
                Some("build" | "publish" | "test" | "run" | "pack")
            )
            | (Some("cargo"), Some("build" | "install"))
    )
}

/// Whether the RUN keeps the ecosystem's downloads in a cache mount
/// (`--mount=type=cache,target=/root/.nuget`): a folder named as its package cache is named.
fn caches_downloads(run: &Instruction, ecosystem: &str) -> bool {
    let names: &[&str] = match ecosystem {
        "npm" => &[".npm", "npm"],
        "yarn" => &["yarn", ".yarn"],
        "pnpm" => &["pnpm", ".pnpm-store"],
        "pip" => &["pip"],
        "poetry" => &["pypoetry", "pip"],
        "pipenv" => &["pipenv", "pip"],
        "go" => &["mod"],
        "cargo" => &["registry", ".cargo", "cargo"],
        "bundler" => &["bundle", "gems"],
        "composer" => &["composer"],
        "maven" => &[".m2"],
        "gradle" => &[".gradle"],
        "dotnet" => &[".nuget", "packages"],
        _ => &[],
    };
    run.flag_values("mount").any(|value| {
        let field = |key: &str| mount_field(value, key);
        field("type") == Some("cache")
            && ["target", "dst", "destination"]
                .iter()
                .find_map(|key| field(key))
                .is_some_and(|t| {
                    t.trim_end_matches('/')
                        .rsplit('/')
                        .any(|part| names.contains(&part))
                })
    })
}

struct Install<'a> {
    command: &'a Command,
    /// The command's place in its RUN's script.
    index: usize,
    ecosystem: &'static str,
    /// The stage's WORKDIR at the install, when known.
    workdir: Option<&'a str>,
}

fn finding(
    cx: &Context<'_>,
    span: &[&Instruction],
    copy: &Instruction,
    install: &Install<'_>,
) -> Diagnostic {
    let line = cx.df.position(install.command.span().start).line + 1;
    let name = command_text(install.command.words().iter().map(|w| w.value()), 60);
    let help = "copy the dependency manifests first, install, then copy the rest";
    let (fix, help) = match manifests_first(cx, span, install) {
        Ok(fix) => (Some(fix), help.to_string()),
        Err(why) => (None, format!("{help}; no automatic fix: {why}")),
    };
    Diagnostic::new(
        "LW201",
        first_line(cx.df, copy),
        format!(
            "the whole context is copied before `{name}` (line {line}), so every source edit re-runs the {} install",
            install.ecosystem
        ),
    )
    .with_label(install.command.span(), "re-runs after any source change")
    .with_help(help)
    .with_fix(fix)
}

/// Dependency manifests per ecosystem (the first one is required), and how their install runs
/// from manifests alone.
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
            &[
                "package.json",
                "yarn.lock",
                ".yarnrc",
                ".yarnrc.yml",
                ".npmrc",
            ],
            Prefetch::Move,
        ),
        "pnpm" => (
            &["package.json", "pnpm-lock.yaml", ".npmrc"],
            Prefetch::Move,
        ),
        "pip" => (&[], Prefetch::Move),
        "pipenv" => (&["Pipfile", "Pipfile.lock"], Prefetch::Move),
        "bundler" => (&["Gemfile", "Gemfile.lock"], Prefetch::Move),
        "poetry" => (
            &["pyproject.toml", "poetry.lock", "poetry.toml"],
            Prefetch::Run("poetry install --no-root"),
        ),
        "go" => (&["go.mod", "go.sum"], Prefetch::Run("go mod download")),
        "composer" => (
            &["composer.json", "composer.lock", "auth.json"],
            Prefetch::Run("composer install --no-scripts --no-autoloader --no-interaction"),
        ),
        "maven" => (&["pom.xml"], Prefetch::Run("mvn -B dependency:go-offline")),
        // The project file the command names, and the settings restore reads (`dotnet_files`).
        "dotnet" => (&[], Prefetch::Run("dotnet restore")),
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

/// What the fix can see of the context: files on disk (or in the fix run's overlay) that the
/// context's ignore file does not exclude.
struct Files<'a> {
    view: &'a BuildContext,
}

impl<'a> Files<'a> {
    /// `None` when the ignore file cannot be read as Docker reads it: no guessing then.
    fn new(view: &'a BuildContext) -> Option<Files<'a>> {
        let ignore = view.ignore_file();
        if ignore.found && ignore.parsed.is_none() {
            return None;
        }
        Some(Files { view })
    }

    /// Whether a COPY of `name` (relative to the context) finds a file.
    fn has(&self, name: &str) -> bool {
        self.view.has(name)
    }

    /// Whether the context has `name` at all, excluded or not (a folder too).
    fn holds(&self, name: &str) -> bool {
        self.view.exists(Path::new(name))
    }

    fn read(&self, name: &str) -> Option<Arc<str>> {
        self.view.read(Path::new(name))
    }
}

/// COPY the manifests that exist in the context, run the install (or a dependency-only step),
/// then copy the rest; or why that cannot be done.
fn manifests_first(
    cx: &Context<'_>,
    span: &[&Instruction],
    install: &Install<'_>,
) -> Result<Fix, String> {
    let eco = install.ecosystem;
    let view = cx
        .context
        .as_ref()
        .ok_or("the build context is not known (lint a file on disk, or give --context)")?;
    let (copy, run) = (span[0], span[span.len() - 1]);
    if !run.heredocs().is_empty() {
        return Err("the install runs in a heredoc".into());
    }
    if run.onbuild().is_some() {
        return Err("the install is an ONBUILD trigger".into());
    }
    // Whatever runs between the copy and the install may provide what the install uses (the
    // `pip3` an apt RUN installs, a setting, a file): moved above it, the install could fail.
    let moved = command_footprint(cx, run, install.command);
    move_before(cx, &moved, &span[1..span.len() - 1]).map_err(|b| b.to_string())?;
    let context =
        Files::new(view).ok_or("the context's .dockerignore cannot be read as Docker reads it")?;
    let (sources, dest) = copy.copy_paths().ok_or("the COPY's paths cannot be read")?;
    if sources.len() != 1 {
        return Err("the COPY copies more than the context".into());
    }
    let (names, prefetch) = manifests(eco);
    let mut project = None;
    let files: Vec<String> = if eco == "pip" {
        pip_files(&context, install.command, &dest, install.workdir).ok_or(
            "the pip install reads more than requirements files the context has (a local path, \
             the project itself, or a file placed where the WORKDIR is unknown)",
        )?
    } else if eco == "dotnet" {
        let (named, files) = dotnet_files(&context, install.command, &dest, install.workdir)
            .ok_or(
                "the dotnet command names no project file (.csproj, .fsproj, .vbproj) the \
                 context has alone, or the project references other projects or imports files",
            )?;
        project = Some(named);
        files
    } else {
        let first = names.first().ok_or_else(|| no_prefetch(eco))?;
        if !context.has(first) {
            return Err(format!("the context has no `{first}` the build can copy"));
        }
        if blocked(&context, install) {
            return Err(format!(
                "the {eco} install needs more than its manifests (workspaces, local packages, \
                 install scripts or a settings file)"
            ));
        }
        names
            .iter()
            .filter(|n| context.has(n))
            .map(|n| n.to_string())
            .collect()
    };
    let flags: String = copy
        .flags()
        .iter()
        .map(|f| format!("{} ", cx.df.slice(f.span)))
        .collect();
    let run_flags: String = run
        .flags()
        .iter()
        .map(|f| format!("{} ", cx.df.slice(f.span)))
        .collect();
    let nl = cx.style.newline;
    let (step, mut edits) = match prefetch {
        Prefetch::None => return Err(no_prefetch(eco)),
        Prefetch::Run(step) => (
            prefetch_step(
                &project.map_or(step.to_string(), |p| format!("{step} {p}")),
                install,
            )
            .ok_or("the install names a settings file or option the manifests do not bring")?,
            Vec::new(),
        ),
        Prefetch::Move => (
            cx.df.slice(install.command.span()).to_string(),
            vec![take_out(cx, run, install).ok_or(
                "the install cannot be taken out of its RUN (it is not first in an `&&` chain)",
            )?],
        ),
    };
    let indent = &cx.df.text()[cx.df.lines().line_start(copy.lines().0)..copy.span().start];
    let keyword = cx.df.slice(copy.keyword_span());
    // One COPY per folder, so that each manifest keeps its place under the destination.
    let mut folders: Vec<(&str, Vec<&str>)> = Vec::new();
    for file in &files {
        let folder = file.rsplit_once('/').map_or("", |(f, _)| f);
        match folders.iter_mut().find(|(f, _)| *f == folder) {
            Some((_, group)) => group.push(file),
            None => folders.push((folder, vec![file])),
        }
    }
    let mut inserted = String::new();
    for (folder, group) in &folders {
        inserted.push_str(&format!(
            "{indent}{keyword} {flags}{} {}{nl}",
            group.join(" "),
            destination(&dest, folder)
        ));
    }
    inserted.push_str(&format!("{indent}RUN {run_flags}{step}{nl}"));
    // Above the comment lines of the COPY: an ignore comment there stays with it.
    edits.push(Edit::insert(lead_start(cx.df, copy), inserted));
    Ok(Fix::new(
        format!(
            "copy {} first and install before the rest of the context",
            files.join(", ")
        ),
        Safety::Unsafe,
        edits,
    ))
}

/// Why there is no fix for an ecosystem without a dependency-only step, and what works instead.
fn no_prefetch(eco: &str) -> String {
    let target = match eco {
        "cargo" => " (`RUN --mount=type=cache,target=/usr/local/cargo/registry …`)",
        "gradle" => " (`RUN --mount=type=cache,target=/root/.gradle …`)",
        _ => "",
    };
    format!(
        "no manifests-only install is known for {eco}; keep its downloads in a cache mount \
         instead{target}"
    )
}

/// Where `folder` (relative to the context) lands when the context is copied to `dest`.
fn destination(dest: &str, folder: &str) -> String {
    match (dest, folder) {
        ("." | "./", "") => "./".to_string(),
        ("." | "./", f) => format!("{f}/"),
        (d, "") => format!("{}/", d.trim_end_matches('/')),
        (d, f) => format!("{}/{f}/", d.trim_end_matches('/')),
    }
}

/// Installs the manifests alone cannot serve: workspaces, local path dependencies, install
/// scripts that run the project's code, settings files the command names.
fn blocked(context: &Files<'_>, install: &Install<'_>) -> bool {
    let text = |name: &str| context.read(name).unwrap_or_default();
    match install.ecosystem {
        "npm" | "yarn" | "pnpm" => {
            let package: serde_json::Value =
                serde_json::from_str(&text("package.json")).unwrap_or_default();
            let scripts_run = !install.command.has_arg("--ignore-scripts");
            let lifecycle = [
                "preinstall",
                "install",
                "postinstall",
                "prepublish",
                "prepare",
            ]
            .iter()
            .any(|s| package["scripts"].get(s).is_some());
            let local = ["dependencies", "devDependencies", "optionalDependencies"]
                .iter()
                .filter_map(|k| package[k].as_object())
                .flat_map(|deps| deps.values())
                .filter_map(|v| v.as_str())
                .any(|v| {
                    ["file:", "link:", "workspace:", "portal:", "patch:"]
                        .iter()
                        .any(|p| v.starts_with(p))
                        // a bare path: `./vendor/x`, `../x`, `/x`, `~/x`, `vendor/x.tgz`
                        || v.starts_with(['.', '/', '~'])
                        || (!v.contains(':')
                            && [".tgz", ".tar.gz", ".tar"].iter().any(|e| v.ends_with(e)))
                });
            !package.is_object()
                || package.get("workspaces").is_some()
                || package
                    .get("pnpm")
                    .is_some_and(|p| p.get("patchedDependencies").is_some())
                || local
                || (scripts_run && lifecycle)
                || context.holds("pnpm-workspace.yaml")
                || context.holds(".pnpmfile.cjs")
                || (install.ecosystem == "yarn" && context.holds(".yarn"))
        }
        "go" => {
            let go_mod = text("go.mod");
            context.holds("go.work")
                || go_mod.lines().any(|l| {
                    l.split_once("=>")
                        .is_some_and(|(_, to)| to.trim_start().starts_with(['.', '/']))
                })
        }
        "maven" => {
            install.command.name() != Some("mvn")
                || context.holds(".mvn")
                || text("pom.xml").contains("<modules>")
        }
        "composer" => {
            let composer: serde_json::Value =
                serde_json::from_str(&text("composer.json")).unwrap_or_default();
            let repositories: Vec<&serde_json::Value> = match &composer["repositories"] {
                serde_json::Value::Array(r) => r.iter().collect(),
                serde_json::Value::Object(r) => r.values().collect(),
                _ => Vec::new(),
            };
            !composer.is_object()
                || repositories.iter().any(|r| r["type"] == "path")
                || has_option(install.command, &["-d", "--working-dir"])
        }
        "bundler" => text("Gemfile").lines().any(|l| {
            let l = l.trim_start();
            !l.starts_with('#')
                && (l.starts_with("gemspec")
                    || l.starts_with("eval_gemfile")
                    || ["path:", ":path", "path =>"].iter().any(|p| l.contains(p)))
        }),
        "pipenv" | "poetry" => {
            let manifest = if install.ecosystem == "pipenv" {
                "Pipfile"
            } else {
                "pyproject.toml"
            };
            text(manifest)
                .lines()
                .any(|l| l.contains("path =") || l.contains("path="))
        }
        _ => false,
    }
}

fn has_option(command: &Command, names: &[&str]) -> bool {
    command.args().iter().any(|w| {
        names.iter().any(|n| {
            w.value() == *n
                || w.value()
                    .strip_prefix(n)
                    .is_some_and(|rest| rest.starts_with('=') || n.len() == 2)
        })
    })
}

/// The dependency-only step, with the original install's options that decide what it installs
/// (`composer install --no-dev`, `mvn -Pprod`); `None` when the install reads a settings file
/// the manifests do not bring.
fn prefetch_step(step: &str, install: &Install<'_>) -> Option<String> {
    let args = install.command.args();
    let (kept_flags, kept_values, refused): (&[&str], &[&str], &[&str]) = match install.ecosystem {
        "composer" => (
            &[
                "--no-dev",
                "--prefer-dist",
                "--prefer-source",
                "--ignore-platform-reqs",
                "--no-plugins",
                "--no-progress",
            ],
            &["--ignore-platform-req", "--prefer-install"],
            &[],
        ),
        "maven" => (
            &["-U", "--update-snapshots", "-ntp", "--no-transfer-progress"],
            &["-P", "--activate-profiles"],
            &[
                "-s",
                "--settings",
                "-gs",
                "--global-settings",
                "-t",
                "--toolchains",
                "-f",
                "--file",
                "-pl",
                "--projects",
                "-o",
                "--offline",
            ],
        ),
        "poetry" => (
            &[
                "--no-dev",
                "--all-extras",
                "--sync",
                "--no-interaction",
                "-n",
            ],
            &["--without", "--with", "--only", "-E", "--extras"],
            &["--only-root", "-C", "--directory", "-P", "--project"],
        ),
        "dotnet" => (
            &[],
            &["-r", "--runtime"],
            &["--configfile", "-s", "--source", "--packages"],
        ),
        _ => (&[], &[], &[]),
    };
    let mut kept = Vec::new();
    let mut words = args.iter();
    while let Some(w) = words.next() {
        let v = w.value();
        let (name, inline) = match v.split_once('=') {
            Some((n, _)) if n.starts_with("--") => (n, true),
            _ => (v, false),
        };
        if refused.iter().any(|r| name == *r || short_with_value(v, r)) {
            return None;
        }
        if kept_flags.contains(&v) {
            kept.push(v.to_string());
        } else if kept_values.contains(&name) {
            kept.push(v.to_string());
            if !inline {
                kept.push(words.next()?.value().to_string());
            }
        } else if kept_values.iter().any(|k| short_with_value(v, k))
            || (install.ecosystem == "maven" && v.starts_with("-D"))
        {
            kept.push(v.to_string());
        }
    }
    if kept.iter().any(|k| k.contains(['$', '`', ' ', '\'', '"'])) {
        return None;
    }
    Some(match kept.is_empty() {
        true => step.to_string(),
        false => format!("{step} {}", kept.join(" ")),
    })
}

/// The project file a dotnet command names (as it names it) and the files its restore reads:
/// the project, and the NuGet settings, shared build properties and lock file beside it or at
/// the context's root. `None` when it names none, names a solution (its projects are not
/// known), or the project references other projects or imports files.
fn dotnet_files(
    context: &Files<'_>,
    command: &Command,
    dest: &str,
    workdir: Option<&str>,
) -> Option<(String, Vec<String>)> {
    const PROJECTS: &[&str] = &[".csproj", ".fsproj", ".vbproj"];
    const BESIDE: &[&str] = &[
        "NuGet.config",
        "nuget.config",
        "NuGet.Config",
        "Directory.Build.props",
        "Directory.Build.targets",
        "Directory.Packages.props",
        "global.json",
    ];
    let word = command
        .args()
        .iter()
        .find(|w| PROJECTS.iter().any(|e| w.value().ends_with(e)))?;
    if !word.literal()
        || word
            .value()
            .contains(|c: char| c.is_whitespace() || "'\"\\".contains(c))
    {
        return None;
    }
    let path = context_path(word.value(), dest, workdir)?;
    if !context.has(&path) {
        return None;
    }
    let text = context.read(&path)?;
    if text.contains("<ProjectReference") || text.contains("<Import ") {
        return None;
    }
    let folder = path.rsplit_once('/').map_or("", |(f, _)| f);
    let mut files = vec![path.clone()];
    let mut add = |name: String| {
        if context.has(&name) && !files.contains(&name) {
            files.push(name);
        }
    };
    for name in BESIDE {
        add(name.to_string());
        if !folder.is_empty() {
            add(format!("{folder}/{name}"));
        }
    }
    add(match folder {
        "" => "packages.lock.json".to_string(),
        f => format!("{f}/packages.lock.json"),
    });
    Some((word.value().to_string(), files))
}

/// `-Pprod` for `-P`: a one-letter option with its value attached.
fn short_with_value(word: &str, option: &str) -> bool {
    option.len() == 2 && word.len() > 2 && word.starts_with(option) && !word.starts_with("--")
}

/// The requirements and constraints files a pip install reads, as context paths with the files
/// they include; `None` when the install needs more than them (the project itself, a local
/// path, a folder of wheels) or a file is missing.
fn pip_files(
    context: &Files<'_>,
    command: &Command,
    dest: &str,
    workdir: Option<&str>,
) -> Option<Vec<String>> {
    let pip = classify(command)?;
    let mut files = Vec::new();
    let mut words = pip.rest.iter();
    while let Some(w) = words.next() {
        match pip_option(w.value(), || words.next().map(|n| n.value().to_string()))? {
            PipArg::File(file) => files.push(context_path(&file, dest, workdir)?),
            PipArg::Requirement(r) if is_local(&r) => return None,
            PipArg::Requirement(_) | PipArg::Other => {}
        }
    }
    if files.is_empty() {
        return None;
    }
    let mut at = 0;
    while let Some(file) = files.get(at).cloned() {
        at += 1;
        if !context.has(&file) || files.len() > 64 {
            return None;
        }
        let folder = file.rsplit_once('/').map_or("", |(f, _)| f);
        for included in requirement_lines(&context.read(&file)?)? {
            if included.contains("://") {
                continue;
            }
            let path = if included.starts_with('/') {
                context_path(&included, dest, workdir)?
            } else {
                relative(&format!("{folder}/{included}"))?
            };
            if !files.contains(&path) {
                files.push(path);
            }
        }
    }
    Some(files)
}

enum PipArg {
    /// `-r`/`-c`: a requirements or constraints file.
    File(String),
    /// What pip installs: a name, a URL or a path (`-e` values included).
    Requirement(String),
    Other,
}

/// Reads one pip option or argument; `next` takes the following word as the option's value.
fn pip_option(word: &str, mut next: impl FnMut() -> Option<String>) -> Option<PipArg> {
    const VALUED: &[&str] = &[
        "-i",
        "--index-url",
        "--extra-index-url",
        "--trusted-host",
        "-t",
        "--target",
        "--prefix",
        "--root",
        "--src",
        "--cache-dir",
        "--log",
        "--platform",
        "--python-version",
        "--implementation",
        "--abi",
        "--progress-bar",
        "--upgrade-strategy",
        "--report",
        "--no-binary",
        "--only-binary",
        "-C",
        "--config-settings",
        "--global-option",
        "--root-user-action",
        "--exists-action",
        "--timeout",
        "--retries",
        "--proxy",
        "--python",
        "--keyring-provider",
        "--use-feature",
        "--use-deprecated",
        "--build-option",
        "--install-option",
        "--hash",
    ];
    let (name, inline) = match word.split_once('=') {
        Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
        _ => (word, None),
    };
    let short = |letter: &str| {
        word.strip_prefix(letter)
            .filter(|v| !v.is_empty() && !word.starts_with("--"))
            .map(str::to_string)
    };
    let mut value = |inline: Option<String>| inline.or_else(&mut next);
    Some(match name {
        "-r" | "--requirement" | "-c" | "--constraint" => PipArg::File(value(inline)?),
        "-e" | "--editable" => PipArg::Requirement(value(inline)?),
        // a folder of archives unless it is a URL: `-f wheels` reads the context
        "-f" | "--find-links" => PipArg::Requirement(links(value(inline)?)),
        n if VALUED.contains(&n) => {
            value(inline)?;
            PipArg::Other
        }
        _ => {
            if let Some(file) = short("-r").or_else(|| short("-c")) {
                PipArg::File(file)
            } else if let Some(r) = short("-e") {
                PipArg::Requirement(r)
            } else if let Some(l) = short("-f") {
                PipArg::Requirement(links(l))
            } else if word.starts_with('-') {
                PipArg::Other
            } else {
                PipArg::Requirement(word.to_string())
            }
        }
    })
}

/// A `--find-links` value as a requirement `is_local` judges: a bare folder name is a path.
fn links(value: String) -> String {
    if value.contains("://") || value.starts_with(['.', '/', '~']) {
        value
    } else {
        format!("./{value}")
    }
}

/// Whether pip reads `requirement` from the filesystem (the project, a folder, an archive), or
/// it cannot be told.
fn is_local(requirement: &str) -> bool {
    let r = requirement.trim_start_matches("file:");
    requirement.starts_with("file:")
        || requirement.contains(['$', '`'])
        || (!r.contains("://")
            && (r.starts_with(['.', '/', '~'])
                || r.contains('/')
                || [".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2"]
                    .iter()
                    .any(|ext| r.ends_with(ext))))
}

/// The files a requirements file includes (`-r`, `-c`, as written); `None` when it installs a
/// local path or has a line this cannot read.
fn requirement_lines(text: &str) -> Option<Vec<String>> {
    let mut included = Vec::new();
    let joined = text.replace("\\\r\n", " ").replace("\\\n", " ");
    for line in joined.lines() {
        let line = match line.find(" #").or_else(|| line.find("\t#")) {
            Some(at) => &line[..at],
            None if line.trim_start().starts_with('#') => "",
            None => line,
        };
        let mut words = line.split_whitespace();
        let Some(first) = words.next() else { continue };
        if first.contains('$') {
            return None;
        }
        match pip_option(first, || words.next().map(str::to_string))? {
            PipArg::File(f) if f.contains('$') => return None,
            PipArg::File(f) => included.push(f),
            PipArg::Requirement(r) if is_local(&r) => return None,
            PipArg::Requirement(_) | PipArg::Other => {}
        }
        if line.contains(" @ file:") || line.contains("@file:") {
            return None;
        }
    }
    Some(included)
}

/// The context path of `path` (as a command in `workdir` names it) when the context is copied
/// to `dest`; `None` when it is not under the copy or the workdir that decides is unknown.
fn context_path(path: &str, dest: &str, workdir: Option<&str>) -> Option<String> {
    let up = |p: &str| p.split('/').any(|c| c == "..");
    let absolute = |p: &str| match (p.starts_with('/'), workdir) {
        (true, _) => Some(resolve("/", p)),
        (false, Some(w)) => Some(resolve(w, p)),
        (false, None) => None,
    };
    // Both relative to the same WORKDIR: no need to know it.
    let (file, dest) = if !path.starts_with('/') && !dest.starts_with('/') && !up(path) && !up(dest)
    {
        (resolve("/", path), resolve("/", dest))
    } else {
        (absolute(path)?, absolute(dest)?)
    };
    let inside = if dest == "/" {
        file.strip_prefix('/')
    } else {
        file.strip_prefix(&dest)?.strip_prefix('/')
    }?;
    (!inside.is_empty() && !inside.contains('$')).then(|| inside.to_string())
}

/// A context-relative path with `.` and `..` folded; `None` when it leaves the context.
fn relative(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Removes the install command from its RUN: the whole RUN when it is the only command, or the
/// command and the `&&` after it when it comes first in the chain.
fn take_out(cx: &Context<'_>, run: &Instruction, install: &Install<'_>) -> Option<Edit> {
    let script = cx.script(run)?;
    if script.commands.len() == 1 {
        return Some(Edit::delete(node_span(cx.df, run)));
    }
    let op = install.command.op()?;
    if install.index != 0 || op.kind != OperatorKind::And {
        return None;
    }
    let next = script.commands.get(1)?;
    Some(Edit::delete(crate::source::Span::new(
        install.command.span().start,
        next.span().start,
    )))
}

#[cfg(test)]
mod tests {
    use crate::fix::Safety;
    use crate::fixer::fix_text;
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

    /// LW201 alone, on a Dockerfile whose context holds `files` (name, contents); the folder
    /// lives as long as the first value.
    fn context_with(files: &[(&str, &str)]) -> (tempfile::TempDir, LintOptions) {
        let dir = tempfile::tempdir().unwrap();
        for (name, body) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, body).unwrap();
        }
        let options = LintOptions {
            path: Some(dir.path().join("Dockerfile")),
            only: Some(vec!["LW201".into()]),
            ..LintOptions::default()
        };
        (dir, options)
    }

    /// The text after LW201's fix, with `files` (name, contents) in the context.
    fn fixed_with(files: &[(&str, &str)], text: &str) -> String {
        let (_dir, options) = context_with(files);
        fix_text(text, &options, Safety::Unsafe).text
    }

    const NPM: &str = "FROM node\nWORKDIR /app\nCOPY . .\nRUN npm install\n";

    #[test]
    fn an_install_is_never_moved_above_a_run_that_may_provide_its_program() {
        // The first-day file: apt installs pip3 between the copy and the pip install. Moving the
        // install above the apt RUNs fails with `pip3: not found`; no fix is better.
        let text = "FROM debian:bookworm-slim\nWORKDIR /app\nCOPY . /app\nRUN apt-get update\n\
                    RUN apt-get install -y python3-pip\n\
                    RUN pip3 install --break-system-packages -r requirements.txt\n\
                    CMD [\"python3\", \"app.py\"]\n";
        let files = [("requirements.txt", "flask\n"), ("app.py", "")];
        assert_eq!(fixed_with(&files, text), text);
        // Nothing between the copy and the install: the move stays.
        let direct =
            "FROM python\nWORKDIR /app\nCOPY . /app\nRUN pip install -r requirements.txt\n";
        assert_eq!(
            fixed_with(&files, direct),
            "FROM python\nWORKDIR /app\nCOPY requirements.txt /app/\nRUN pip install -r requirements.txt\nCOPY . /app\n"
        );
    }

    #[test]
    fn go_builds_and_dotnet_restores_download_what_their_manifests_name() {
        let go = "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go build -o /app .\n";
        assert_eq!(lint_rule("LW201", go).len(), 1);
        let module = [("go.mod", "module x\n"), ("go.sum", ""), ("main.go", "")];
        assert_eq!(
            fixed_with(&module, go),
            "FROM golang:1.22\nWORKDIR /src\nCOPY go.mod go.sum ./\nRUN go mod download\nCOPY . .\nRUN go build -o /app .\n"
        );
        // a vendored module downloads nothing
        let (_dir, options) = context_with(&[("go.mod", "module x\n"), ("vendor/modules.txt", "")]);
        let df = crate::syntax::Dockerfile::parse(go);
        assert!(crate::lint::lint(&df, &options).is_empty());

        let dotnet = "FROM mcr.microsoft.com/dotnet/sdk:8.0\nWORKDIR /src\nCOPY . .\nRUN dotnet publish \"app.csproj\" -c Release -r linux-x64 -o /out\n";
        assert_eq!(lint_rule("LW201", dotnet).len(), 1);
        let project = [
            (
                "app.csproj",
                "<Project Sdk=\"Microsoft.NET.Sdk\"></Project>",
            ),
            ("NuGet.config", "<configuration/>"),
            ("Program.cs", ""),
        ];
        assert_eq!(
            fixed_with(&project, dotnet),
            "FROM mcr.microsoft.com/dotnet/sdk:8.0\nWORKDIR /src\nCOPY app.csproj NuGet.config ./\nRUN dotnet restore app.csproj -r linux-x64\nCOPY . .\nRUN dotnet publish \"app.csproj\" -c Release -r linux-x64 -o /out\n"
        );
        // its packages kept in a cache mount: the build re-runs on every edit anyway, and
        // fetches nothing; a restore alone could be cached as a layer, so it still fires
        let restore = "FROM mcr.microsoft.com/dotnet/sdk:8.0\nWORKDIR /src\nCOPY . .\nRUN --mount=type=cache,target=/root/.nuget dotnet restore\n";
        assert_eq!(lint_rule("LW201", restore).len(), 1);
        let cached = "FROM mcr.microsoft.com/dotnet/sdk:8.0\nWORKDIR /src\nCOPY . .\nRUN --mount=type=cache,target=/root/.nuget dotnet publish app.csproj\n";
        assert!(lint_rule("LW201", cached).is_empty());
        let other = "FROM mcr.microsoft.com/dotnet/sdk:8.0\nWORKDIR /src\nCOPY . .\nRUN --mount=type=cache,target=/src/obj dotnet publish app.csproj\n";
        assert_eq!(lint_rule("LW201", other).len(), 1);
        // a project that references another needs it too: no fix
        let referencing = [(
            "app.csproj",
            "<Project><ItemGroup><ProjectReference Include=\"../lib/lib.csproj\" /></ItemGroup></Project>",
        )];
        assert_eq!(fixed_with(&referencing, dotnet), dotnet);
        // built without restoring: a restore before it is the install
        let split = "FROM mcr.microsoft.com/dotnet/sdk:8.0\nWORKDIR /src\nCOPY . .\nRUN dotnet build --no-restore\n";
        assert!(lint_rule("LW201", split).is_empty());
    }

    #[test]
    fn manifests_the_dockerignore_excludes_are_not_copied() {
        let fixed = "FROM node\nWORKDIR /app\nCOPY package.json ./\nRUN npm install\nCOPY . .\n";
        let lock = [("package.json", "{}"), ("package-lock.json", "{}")];
        for ignore in [
            "package-lock.json\nnode_modules\n",
            "*\n!src\n!package.json\n",
        ] {
            let files = [lock[0], lock[1], (".dockerignore", ignore)];
            assert_eq!(fixed_with(&files, NPM), fixed, "{ignore}");
        }
        let files = [lock[0], lock[1], (".dockerignore", "*.json\n")];
        assert_eq!(
            fixed_with(&files, NPM),
            NPM,
            "package.json itself is excluded"
        );
    }

    #[test]
    fn manifests_keep_their_folder_under_the_destination() {
        let files = [("requirements/prod.txt", "flask\n")];
        let text =
            "FROM python\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements/prod.txt\n";
        assert_eq!(
            fixed_with(&files, text),
            "FROM python\nWORKDIR /app\nCOPY requirements/prod.txt requirements/\nRUN pip install -r requirements/prod.txt\nCOPY . .\n"
        );
        let absolute = "FROM python\nCOPY . /src\nRUN pip install -r /src/requirements/prod.txt\n";
        assert_eq!(
            fixed_with(&files, absolute),
            "FROM python\nCOPY requirements/prod.txt /src/requirements/\nRUN pip install -r /src/requirements/prod.txt\nCOPY . /src\n"
        );
        let elsewhere = "FROM python\nCOPY . /src\nRUN pip install -r requirements/prod.txt\n";
        assert_eq!(
            fixed_with(&files, elsewhere),
            elsewhere,
            "the WORKDIR is unknown"
        );
    }

    #[test]
    fn a_pip_install_of_a_local_path_is_not_moved() {
        let files = [("requirements.txt", "flask\n"), ("setup.py", "")];
        for extra in [
            "-e .",
            ".",
            "./lib",
            "--editable=.",
            "-f ./wheels",
            "-f wheels",
            "--find-links=wheels",
            "-fwheels",
            "dist/x.whl",
        ] {
            let text = format!(
                "FROM python\nWORKDIR /app\nCOPY . .\nRUN pip install --no-cache-dir -r requirements.txt {extra}\n"
            );
            assert_eq!(fixed_with(&files, &text), text, "{extra}");
        }
        let named =
            "FROM python\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt gunicorn\n";
        assert_ne!(fixed_with(&files, named), named);
    }

    #[test]
    fn requirements_files_bring_what_they_include() {
        let files = [
            (
                "requirements.txt",
                "-r requirements/base.txt\n-c constraints.txt # pins\nflask\n",
            ),
            ("requirements/base.txt", "--requirement common.txt\n"),
            ("requirements/common.txt", "requests\n"),
            ("constraints.txt", "flask<4\n"),
        ];
        let text = "FROM python\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n";
        assert_eq!(
            fixed_with(&files, text),
            "FROM python\nWORKDIR /app\nCOPY requirements.txt constraints.txt ./\nCOPY requirements/base.txt requirements/common.txt requirements/\nRUN pip install -r requirements.txt\nCOPY . .\n"
        );
        let missing = [files[0], files[1], files[3]];
        assert_eq!(fixed_with(&missing, text), text);
        let project = [("requirements.txt", "flask\n-e .\n")];
        assert_eq!(fixed_with(&project, text), text);
    }

    #[test]
    fn dependency_only_steps_keep_the_install_options() {
        let composer = [("composer.json", "{}"), ("composer.lock", "{}")];
        let text =
            "FROM composer\nWORKDIR /app\nCOPY . .\nRUN composer install --no-dev --prefer-dist\n";
        assert_eq!(
            fixed_with(&composer, text),
            "FROM composer\nWORKDIR /app\nCOPY composer.json composer.lock ./\nRUN composer install --no-scripts --no-autoloader --no-interaction --no-dev --prefer-dist\nCOPY . .\nRUN composer install --no-dev --prefer-dist\n"
        );
        let maven = [("pom.xml", "<project/>"), ("settings.xml", "")];
        let text = "FROM maven\nWORKDIR /app\nCOPY . .\nRUN mvn -B -Pprod -Dmaven.repo.local=/m2 package\n";
        assert_eq!(
            fixed_with(&maven, text),
            "FROM maven\nWORKDIR /app\nCOPY pom.xml ./\nRUN mvn -B dependency:go-offline -Pprod -Dmaven.repo.local=/m2\nCOPY . .\nRUN mvn -B -Pprod -Dmaven.repo.local=/m2 package\n"
        );
        for settings in [
            "-s settings.xml",
            "--settings=settings.xml",
            "-ssettings.xml",
        ] {
            let text = format!("FROM maven\nCOPY . .\nRUN mvn {settings} -B package\n");
            assert_eq!(fixed_with(&maven, &text), text, "{settings}");
        }
        let modules = [(
            "pom.xml",
            "<project><modules><module>a</module></modules></project>",
        )];
        let text = "FROM maven\nCOPY . .\nRUN mvn -B package\n";
        assert_eq!(fixed_with(&modules, text), text);
    }

    #[test]
    fn workspaces_and_install_scripts_get_no_fix() {
        let cases: [&[(&str, &str)]; 6] = [
            &[("package.json", r#"{"workspaces": ["packages/*"]}"#)],
            &[
                ("package.json", "{}"),
                ("pnpm-workspace.yaml", "packages: ['a']\n"),
            ],
            &[(
                "package.json",
                r#"{"scripts": {"postinstall": "node setup.js"}}"#,
            )],
            &[("package.json", r#"{"dependencies": {"a": "file:./a"}}"#)],
            &[("package.json", r#"{"dependencies": {"a": "./vendor/a"}}"#)],
            &[("package.json", r#"{"dependencies": {"a": "vendor/a.tgz"}}"#)],
        ];
        for files in cases {
            assert_eq!(fixed_with(files, NPM), NPM, "{files:?}");
            let pnpm = NPM.replace("npm install", "pnpm install");
            assert_eq!(fixed_with(files, &pnpm), pnpm, "{files:?}");
        }
        let gem = "FROM ruby\nWORKDIR /app\nCOPY . .\nRUN bundle install\n";
        let gemspec = [("Gemfile", "source 'https://rubygems.org'\ngemspec\n")];
        assert_eq!(fixed_with(&gemspec, gem), gem);
        let pathname = [("Gemfile", "gem 'pathname'\n")];
        assert_ne!(fixed_with(&pathname, gem), gem);
        let ignored = [(
            "package.json",
            r#"{"scripts": {"postinstall": "node setup.js"}}"#,
        )];
        let text = NPM.replace("npm install", "npm ci --ignore-scripts");
        assert_ne!(fixed_with(&ignored, &text), text);
    }
}
