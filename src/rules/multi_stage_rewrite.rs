//! LW301's rewrite: a single-stage file becomes a builder stage (the file as it was, named
//! `build`) and a runtime stage on a smaller base of the same family, which re-installs the
//! packages that are not toolchain, copies what the build wrote that the start command runs,
//! and keeps the image's settings. Each step refuses with the reason when it cannot be sure:
//! a rewrite that breaks the build is worse than none.
//!
//! The shapes: a compiled program (C/C++, Go, Rust, a Java jar), copied by path; a Node
//! application, whose folder is copied from a stage that prunes its development
//! dependencies; a Python virtualenv, copied whole beside the sources the image ran from.

use crate::fix::{Edit, Fix, Safety};
use crate::knowledge::toolchains;
use crate::model::Base;
use crate::model::packages::{Action, Manager, classify};
use crate::model::vars::State;
use crate::rules::Context;
use crate::shell::Command;
use crate::syntax::{Instruction, Keyword};
use crate::unixpath::{resolve, within};

/// The builder stage's name.
const BUILD: &str = "build";

/// The stage that prunes a Node application's development dependencies.
const PRODUCTION: &str = "production-deps";

/// The stage that makes a Java runtime with jlink, and where it puts it.
const JAVA_RUNTIME: &str = "java-runtime";
const JAVA_HOME: &str = "/opt/java-runtime";

/// Where a shell looks for a program when the image's PATH is not set in the file.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The two-stage file, or why there is none.
pub fn two_stages(
    cx: &Context<'_>,
    runtime_base: Option<&str>,
    keep: &[String],
) -> Result<Fix, String> {
    if cx.stages.len() != 1 {
        return Err("the file has more than one stage".into());
    }
    let stage = &cx.stages.list[0];
    let image = match &stage.base {
        Base::Image(image) if !image.contains('$') => image.as_str(),
        _ => return Err("its base image is not known".into()),
    };
    let mut venvs = Vec::new();
    let mut runs: Vec<Run> = Vec::new();
    for &inst in stage
        .stage
        .instructions
        .iter()
        .filter(|i| i.keyword == Keyword::Run)
    {
        runs.push(read_run(cx, inst, &mut venvs)?);
    }
    let last_build = runs
        .iter()
        .rposition(|r| r.class == Class::Build)
        .ok_or("nothing is compiled into a file the image runs")?;
    let static_go = runs.iter().any(|r| r.static_go);
    let mut runtime: Vec<(Manager, Vec<String>)> = Vec::new();
    for run in &runs {
        if let Some(h) = run.headers.first().filter(|_| !static_go) {
            return Err(format!(
                "the program may link against `{h}`, whose runtime library layerwise cannot name"
            ));
        }
        for (manager, name) in &run.runtime {
            match runtime.iter_mut().find(|(m, _)| m == manager) {
                Some((_, names)) if !names.contains(name) => names.push(name.clone()),
                Some(_) => {}
                None => runtime.push((*manager, vec![name.clone()])),
            }
        }
    }
    let node = node_app(&runs)?;
    let outputs = outputs(cx, &runs, node.as_ref())?;
    // A JDK from apt has jlink and jdeps: a runtime of the modules the program needs, in
    // place of the distribution's whole JRE.
    let jlink = by_jlink(cx, &runs);
    if jlink {
        for (_, names) in &mut runtime {
            names.retain(|n| !runs.iter().any(|r| r.jres.contains(n)));
        }
        runtime.retain(|(_, names)| !names.is_empty());
        for run in &mut runs {
            run.runtime.retain(|(_, n)| !run.jres.contains(n));
        }
    }
    if runtime.len() > 1 {
        return Err("packages come from more than one package manager".into());
    }
    let base = match runtime_base {
        Some(base) => base.to_string(),
        None => toolchains::runtime_base(image).ok_or_else(|| {
            format!(
                "no smaller image of `{image}`'s family is known (name one with `rules: {{LW301: {{runtime-base: …}}}}`)"
            )
        })?,
    };
    if toolchains::image_repository(&base).rsplit('/').next() == Some("alpine")
        && let Some(link) = &outputs.cxx_link
    {
        return Err(format!(
            "`{link}` links a C++ program against libstdc++, which the `{base}` runtime image does not have"
        ));
    }
    let packages: Vec<&str> = runtime
        .iter()
        .flat_map(|(_, names)| names.iter().map(String::as_str))
        .collect();
    let artifacts = start_uses_artifacts(cx, &outputs, &base, &packages, jlink)?;
    let build_dirs: Vec<&str> = runs
        .iter()
        .filter(|r| r.class == Class::Build)
        .map(|r| r.workdir.as_str())
        .collect();
    if build_dirs.contains(&"/") {
        return Err("the build runs in `/`: which copied files it reads cannot be told".into());
    }
    // Python runs from its sources: what was copied in stays, the virtualenv comes across.
    let keeps_sources = !venvs.is_empty();

    let nl = cx.style.newline;
    let mut text = String::new();
    if let Some(node) = &node {
        text.push_str(&format!("{nl}{nl}FROM {BUILD} AS {PRODUCTION}{nl}"));
        let last = stage.stage.instructions.last().and_then(|&i| cx.state(i));
        if !last.is_some_and(State::root) {
            line(&mut text, "USER root", nl);
        }
        if last.and_then(|s| s.workdir.as_deref()) != Some(node.dir.as_str()) {
            line(&mut text, &format!("WORKDIR {}", node.dir), nl);
        }
        line(&mut text, &format!("RUN {}", node.prune()), nl);
        text.push_str(nl);
    } else {
        text.push_str(&format!("{nl}{nl}"));
    }
    if jlink {
        // the modules the program's classes use, as jdeps reads them
        text.push_str(&format!("FROM {BUILD} AS {JAVA_RUNTIME}{nl}"));
        if !stage
            .stage
            .instructions
            .last()
            .and_then(|&i| cx.state(i))
            .is_some_and(State::root)
        {
            line(&mut text, "USER root", nl);
        }
        let programs: Vec<&str> = artifacts.iter().map(|(_, a)| a.as_str()).collect();
        let escape = cx.style.escape;
        line(
            &mut text,
            &format!(
                "RUN jlink --add-modules \"$(jdeps --print-module-deps --ignore-missing-deps {})\" {escape}{nl}    --strip-java-debug-attributes --no-man-pages --no-header-files --compress=2 --output {JAVA_HOME}",
                programs.join(" ")
            ),
            nl,
        );
        text.push_str(nl);
    }
    text.push_str(&format!("FROM {base}{nl}"));
    if jlink {
        line(
            &mut text,
            &format!("COPY --from={JAVA_RUNTIME} {JAVA_HOME} {JAVA_HOME}"),
            nl,
        );
        // the folders the original made for its installs, when none is left to make them
        let folders: Vec<&str> = runs
            .iter()
            .flat_map(|r| r.folders.iter().map(String::as_str))
            .filter(|_| runtime.is_empty())
            .collect();
        let mkdir = if folders.is_empty() {
            String::new()
        } else {
            format!("mkdir -p {} && ", folders.join(" "))
        };
        line(
            &mut text,
            &format!("RUN {mkdir}ln -s {JAVA_HOME}/bin/java /usr/bin/java"),
            nl,
        );
    }
    let mut run_iter = runs.iter().enumerate();
    let mut installed = false;
    for &inst in &stage.stage.instructions {
        match inst.keyword {
            Keyword::Arg
            | Keyword::Env
            | Keyword::Label
            | Keyword::Expose
            | Keyword::Volume
            | Keyword::Workdir
            | Keyword::User
            | Keyword::Entrypoint
            | Keyword::Cmd
            | Keyword::Healthcheck
            | Keyword::Stopsignal
            | Keyword::Shell
            | Keyword::Maintainer => line(&mut text, cx.df.slice(inst.span()), nl),
            Keyword::Copy | Keyword::Add => {
                let copy = cx
                    .copy(inst)
                    .ok_or("a COPY or ADD whose destination is not known")?;
                let dest = copy
                    .dest_abs
                    .as_deref()
                    .ok_or("a COPY or ADD whose destination is not known")?;
                // What goes where the build runs is its input; anything else stays.
                let input = build_dirs.iter().any(|d| within(dest, d));
                let before_build = run_iter
                    .clone()
                    .next()
                    .is_some_and(|(i, _)| i <= last_build);
                if keeps_sources || !(input && before_build) {
                    line(&mut text, cx.df.slice(inst.span()), nl);
                }
            }
            Keyword::Run => {
                let Some((index, run)) = run_iter.next() else {
                    return Err("a RUN the model did not read".into());
                };
                if !installed && !run.runtime.is_empty() {
                    installed = true;
                    let (manager, names) = &runtime[0];
                    let folders: Vec<&str> = runs
                        .iter()
                        .flat_map(|r| r.folders.iter().map(String::as_str))
                        .collect();
                    line(&mut text, &install(*manager, names, &folders, cx), nl);
                }
                if run.class == Class::Setup {
                    line(&mut text, cx.df.slice(inst.span()), nl);
                }
                if index == last_build {
                    for (from, path) in &artifacts {
                        line(&mut text, &format!("COPY --from={from} {path} {path}"), nl);
                    }
                    for path in keep {
                        line(&mut text, &format!("COPY --from={BUILD} {path} {path}"), nl);
                    }
                }
            }
            Keyword::From => {}
            other => {
                return Err(format!(
                    "{} instructions are not carried into a runtime stage",
                    other.as_str()
                ));
            }
        }
    }
    let from = stage.stage.from;
    let mut edits = Vec::new();
    match &stage.stage.name {
        Some(name) if name == BUILD => {}
        Some(_) => return Err("the stage already has a name".into()),
        None => edits.push(Edit::insert(from.args_span().end, format!(" AS {BUILD}"))),
    }
    let end = cx.df.text().trim_end().len();
    edits.push(Edit::insert(end, text.trim_end().to_string()));
    Ok(Fix::new(
        format!(
            "build in `AS {BUILD}` and copy {} into a `{base}` runtime stage{}",
            artifacts
                .iter()
                .map(|(_, a)| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", "),
            if jlink {
                ", on a Java runtime that jlink makes of the modules it uses"
            } else {
                ""
            }
        ),
        Safety::Unsafe,
        edits,
    ))
}

fn line(text: &mut String, instruction: &str, nl: &str) {
    text.push_str(instruction);
    text.push_str(nl);
}

/// The runtime packages installed as LW102, LW103 and LW104 would have it, after the folders
/// the original made for its installs (`mkdir -p /usr/share/man/man1`, which a JRE's install
/// needs on a slim Debian).
fn install(manager: Manager, names: &[String], folders: &[&str], cx: &Context<'_>) -> String {
    let nl = cx.style.newline;
    let escape = cx.style.escape;
    let list = names.join(" ");
    let mkdir = if folders.is_empty() {
        String::new()
    } else {
        format!("mkdir -p {} && ", folders.join(" "))
    };
    match manager {
        Manager::Apk => format!("RUN {mkdir}apk add --no-cache {list}"),
        _ => format!(
            "RUN {mkdir}apt-get update {escape}{nl}    && apt-get install -y --no-install-recommends {list} {escape}{nl}    && rm -rf /var/lib/apt/lists/*"
        ),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    /// Installs packages (and cleans up after that), nothing else.
    Packages,
    /// Compiles, or installs dependencies to build with: stays in the builder.
    Build,
    /// Creates users, groups or folders: carried into the runtime stage as written.
    Setup,
}

/// One RUN, as the rewrite sees it.
struct Run<'a> {
    inst: &'a Instruction,
    class: Class,
    workdir: String,
    /// Packages that are not toolchain, to install in the runtime stage (a JDK's runtime for
    /// the JDK).
    runtime: Vec<(Manager, String)>,
    /// `-dev` packages of libraries other than the C library's.
    headers: Vec<String>,
    /// `go build` with cgo off: a static program.
    static_go: bool,
    /// Folders a package RUN makes (`mkdir -p …`), for the runtime stage's install.
    folders: Vec<String>,
    /// npm, yarn or pnpm installing a project's dependencies, and the folder it ran in.
    node: Option<(Manager, String)>,
    /// A virtualenv pip installs into.
    venv: Option<String>,
    /// The JREs `runtime` has in place of JDKs.
    jres: Vec<String>,
    /// Maven or Gradle: the jar's dependencies come from outside its own classes.
    dependency_tool: bool,
}

fn read_run<'a>(
    cx: &Context<'_>,
    inst: &'a Instruction,
    venvs: &mut Vec<String>,
) -> Result<Run<'a>, String> {
    let line = cx.df.lines().line_of(inst.span().start) + 1;
    let script = cx
        .script(inst)
        .ok_or_else(|| format!("the RUN at line {line} is not a script layerwise reads"))?;
    let state = cx
        .state(inst)
        .ok_or_else(|| format!("the RUN at line {line} is not in a stage"))?;
    let workdir = state.workdir.as_deref().unwrap_or("/").to_string();
    let mut run = Run {
        inst,
        class: Class::Setup,
        workdir,
        runtime: Vec::new(),
        headers: Vec::new(),
        static_go: false,
        folders: Vec::new(),
        node: None,
        venv: None,
        jres: Vec::new(),
        dependency_tool: false,
    };
    let mut packages = false;
    let mut builds = false;
    let mut mkdirs = Vec::new();
    // A virtualenv `. /opt/venv/bin/activate` put first on the PATH for the rest of the RUN.
    let mut active: Option<String> = None;
    for command in &script.commands {
        let Some(name) = command.name() else {
            continue;
        };
        let cwd = command
            .var("PWD")
            .flatten()
            .map_or(run.workdir.clone(), str::to_string);
        let args: Vec<&str> = command.args().iter().map(|w| w.value()).collect();
        // A build tool's build (`go build`) is a build step, not an install.
        if let Some(pkg) = classify(command).filter(|p| !p.manager.spec().compiles) {
            match pkg.manager {
                Manager::Apt | Manager::Apk => {}
                Manager::Npm | Manager::Yarn | Manager::Pnpm => {
                    // Dependencies to build with, or the build itself (`npm run build`).
                    if !args.iter().any(|a| matches!(*a, "-g" | "--global")) {
                        run.node = Some((pkg.manager, cwd.clone()));
                    }
                    builds = true;
                    continue;
                }
                Manager::Pip if pkg.action == Action::Install => {
                    let venv = pip_venv(cx, inst, command, venvs, active.as_deref()).ok_or_else(
                        || {
                            format!(
                                "line {line} installs with pip outside a virtualenv: the runtime stage would need pip's packages"
                            )
                        },
                    )?;
                    if args.iter().any(|a| {
                        matches!(*a, "-e" | "--editable" | "--user" | "--target" | "-t")
                            || a.starts_with("--prefix")
                            || a.starts_with("--target=")
                    }) {
                        return Err(format!(
                            "line {line} installs with pip somewhere else than into the virtualenv's own folder"
                        ));
                    }
                    run.venv = Some(venv);
                    builds = true;
                    continue;
                }
                _ => {
                    return Err(format!(
                        "line {line} installs with {name}, whose packages the runtime stage would need"
                    ));
                }
            }
            match pkg.action {
                Action::Install => {
                    packages = true;
                    for word in pkg.packages() {
                        if !word.literal() {
                            return Err(format!(
                                "line {line} installs packages named by `{}`",
                                word.value()
                            ));
                        }
                        let package = word
                            .value()
                            .split(['=', ':'])
                            .next()
                            .unwrap_or(word.value());
                        if toolchains::libc_headers(package)
                            || toolchains::interpreter_headers(package)
                        {
                            continue;
                        }
                        if let Some(jre) = toolchains::runtime_package(package) {
                            if pkg.manager == Manager::Apt {
                                run.jres.push(jre.clone());
                            }
                            run.runtime.push((pkg.manager, jre));
                            continue;
                        }
                        match toolchains::build_package(package) {
                            Some(_) if package.ends_with("-dev") || package.ends_with("-devel") => {
                                run.headers.push(package.to_string())
                            }
                            Some(_) => {}
                            None if toolchains::build_only_package(package) => {}
                            None => run.runtime.push((pkg.manager, word.value().to_string())),
                        }
                    }
                }
                Action::Update | Action::Clean => {}
                _ => {
                    return Err(format!(
                        "line {line} removes or upgrades packages: the rewrite does not follow that"
                    ));
                }
            }
            continue;
        }
        if let Some(dir) = makes_venv(command) {
            venvs.push(resolve(&cwd, &dir));
            builds = true;
            continue;
        }
        if matches!(name, "." | "source")
            && let Some(dir) = args
                .first()
                .and_then(|a| a.strip_suffix("/bin/activate"))
                .map(|d| resolve(&cwd, d))
                .filter(|d| venvs.contains(d))
        {
            active = Some(dir);
            continue;
        }
        if toolchains::builds_from_source(name, &args) || name == "jar" {
            if matches!(name, "gem" | "bundle" | "pecl" | "luarocks" | "cpanm") {
                return Err(format!(
                    "line {line} installs with {name}, whose packages the runtime stage would need"
                ));
            }
            builds = true;
            run.dependency_tool |= matches!(name, "mvn" | "mvnw" | "gradle" | "gradlew");
            if name == "go" {
                let cgo = command
                    .var("CGO_ENABLED")
                    .flatten()
                    .or_else(|| state.var("CGO_ENABLED"));
                run.static_go |= cgo == Some("0");
            }
            continue;
        }
        match name {
            "mkdir" => mkdirs.extend(
                command
                    .args()
                    .iter()
                    .filter(|w| !w.value().starts_with('-'))
                    .map(|w| w.value().to_string()),
            ),
            "useradd" | "groupadd" | "adduser" | "addgroup" | "true" | "set" => {}
            "cd" | "export" | "echo" | "ls" | "strip" | "test" | "[" if !writes(command) => {}
            "go" => builds = true,
            "rm" if cleans_only(cx, inst, command) => {}
            _ => {
                return Err(format!(
                    "`{name}` at line {line} may change what the runtime stage needs"
                ));
            }
        }
    }
    run.class = match (builds, packages) {
        (true, _) => Class::Build,
        (false, true) => Class::Packages,
        (false, false) => Class::Setup,
    };
    if run.class == Class::Packages {
        run.folders = mkdirs;
    }
    if run.class == Class::Setup && !state.root() {
        return Err(format!("the RUN at line {line} runs as another user"));
    }
    Ok(run)
}

/// The folder a command makes a virtualenv in: `python3 -m venv /opt/venv`, `virtualenv DIR`.
fn makes_venv(command: &Command) -> Option<String> {
    let name = command.name()?;
    let args = command.args();
    let rest = if name == "virtualenv" {
        args
    } else if name.starts_with("python") {
        let at = args
            .pairs()
            .position(|(a, b)| a.value() == "-m" && b.value() == "venv")?;
        args.from(at + 2)
    } else {
        return None;
    };
    rest.iter()
        .rev()
        .find(|w| !w.value().starts_with('-') && w.literal())
        .map(|w| w.value().to_string())
}

/// The virtualenv a pip command installs into: its program is the virtualenv's (`/opt/venv/bin/pip`,
/// `/opt/venv/bin/python -m pip`), or found first on the PATH (`ENV PATH=/opt/venv/bin:$PATH`,
/// or an activated virtualenv).
fn pip_venv(
    cx: &Context<'_>,
    inst: &Instruction,
    command: &Command,
    venvs: &[String],
    active: Option<&str>,
) -> Option<String> {
    let program = &command.program_words().first()?.value();
    let of = |path: &str| {
        venvs
            .iter()
            .find(|v| within(path, &format!("{v}/bin")))
            .cloned()
    };
    if program.contains('/') {
        return of(program);
    }
    if let Some(active) = active {
        return Some(active.to_string());
    }
    let path = search_path(cx, inst);
    let first = path.split(':').next()?;
    of(&format!("{}/{program}", first.trim_end_matches('/')))
}

/// The PATH at `inst`: its value when known, else what the ENVs before it make of the base
/// image's own (`ENV PATH=/opt/venv/bin:$PATH`), that taken to be the usual one.
fn search_path(cx: &Context<'_>, inst: &Instruction) -> String {
    if let Some(path) = cx.state(inst).and_then(|s| s.var("PATH")) {
        return path.to_string();
    }
    let mut path = DEFAULT_PATH.to_string();
    for &env in &cx.stages.list[0].stage.instructions {
        if env.span().start >= inst.span().start {
            break;
        }
        if env.keyword != Keyword::Env {
            continue;
        }
        let words = env.words();
        let value = match words.first() {
            Some(w) if w.value == "PATH" => words.get(1).map(|w| w.value.clone()),
            _ => words
                .iter()
                .find_map(|w| w.value.strip_prefix("PATH=").map(str::to_string)),
        };
        if let Some(value) = value {
            path = value.replace("${PATH}", &path).replace("$PATH", &path);
        }
    }
    path
}

/// The Node application the build installs dependencies for, in one folder.
struct NodeApp {
    manager: Manager,
    dir: String,
}

impl NodeApp {
    /// The command that keeps the production dependencies only, from what is installed.
    fn prune(&self) -> &'static str {
        match self.manager {
            Manager::Pnpm => "pnpm prune --prod",
            Manager::Yarn => {
                "yarn install --production --frozen-lockfile --ignore-scripts --prefer-offline"
            }
            // the lock file and what the install scripts built stay as the build left them
            _ => "npm prune --omit=dev --no-save --ignore-scripts",
        }
    }
}

fn node_app(runs: &[Run<'_>]) -> Result<Option<NodeApp>, String> {
    let mut app: Option<NodeApp> = None;
    for (manager, dir) in runs.iter().filter_map(|r| r.node.as_ref()) {
        match &app {
            Some(a) if a.dir != *dir => {
                return Err(format!(
                    "the Node build runs in `{}` and `{dir}`: which folder is the application cannot be told",
                    a.dir
                ));
            }
            Some(_) => {}
            None => {
                app = Some(NodeApp {
                    manager: *manager,
                    dir: dir.clone(),
                })
            }
        }
    }
    if app.as_ref().is_some_and(|a| a.dir == "/") {
        return Err("the Node build runs in `/`".into());
    }
    Ok(app)
}

fn writes(command: &Command) -> bool {
    !command.writes().is_empty()
}

/// An `rm` of package indexes, caches and temporary files only.
fn cleans_only(cx: &Context<'_>, inst: &Instruction, command: &Command) -> bool {
    let removed: Vec<String> = cx
        .effects(inst)
        .into_iter()
        .filter(|e| command.span().contains(e.span.start))
        .filter_map(|e| match e.kind {
            crate::model::effects::EffectKind::Removes { path } => Some(path),
            _ => None,
        })
        .collect();
    !removed.is_empty()
        && removed.iter().all(|p| {
            ["/var/lib/apt/lists", "/var/cache", "/tmp"]
                .iter()
                .any(|d| within(p, d))
        })
}

/// What the build writes that the runtime stage may need.
struct Outputs {
    /// Copied whole, from the stage named: the output of every link (`-o`), the prefix `make
    /// install` or `cargo install` fills, a jar, a virtualenv, a Node application.
    paths: Vec<(&'static str, String)>,
    /// Folders a build tool writes several files into (`target/release`, Maven's `target`):
    /// of these, only what the start command names is copied.
    folders: Vec<String>,
    /// A C++ driver linking a program against the shared libstdc++: the command's name.
    cxx_link: Option<String>,
}

/// Libraries of the C library itself, which every image of the family has: a program linked
/// against these (`-lm`) runs wherever the C library does.
const LIBC_LIBRARIES: &[&str] = &["c", "m", "pthread", "dl", "rt", "util", "resolv"];

/// A link that needs a shared library the runtime image may not have and whose package
/// layerwise cannot name: `-lgomp`, `-fopenmp` (libgomp), `-fsanitize=…` (the sanitizers'
/// runtimes). A static link (`-static`) needs none.
fn foreign_library(args: &[&str]) -> Option<String> {
    if args.contains(&"-static") {
        return None;
    }
    let mut words = args.iter();
    while let Some(&word) = words.next() {
        let library = match word {
            "-l" => words.next().copied(),
            _ => word.strip_prefix("-l"),
        };
        if let Some(library) = library {
            if !LIBC_LIBRARIES.contains(&library) && library != "stdc++" {
                return Some(format!("-l{library}"));
            }
        } else if word == "-fopenmp" || word.starts_with("-fsanitize=") {
            return Some(word.to_string());
        }
    }
    None
}

/// The jar a `jar` command creates: `--file X`, `--file=X`, `-f X`, or the `f` of bundled
/// letters (`jar cf X …`, `jar cvfe X Main …`, whose values follow in the letters' order).
fn jar_file(args: crate::shell::Words) -> Option<crate::shell::Word> {
    if let Some(i) = args
        .iter()
        .position(|w| w.value() == "--file" || w.value() == "-f")
    {
        return args.get(i + 1);
    }
    if let Some(w) = args.iter().find(|w| w.value().starts_with("--file=")) {
        return Some(w);
    }
    let letters = args.first()?.value().trim_start_matches('-');
    if !letters.contains('c') || !letters.chars().all(|c| "ctuxvfmeM0Pi".contains(c)) {
        return None;
    }
    let mut values = args.from(1).iter();
    for letter in letters.chars() {
        match letter {
            'f' => return values.next(),
            'm' | 'e' => {
                values.next();
            }
            _ => {}
        }
    }
    None
}

/// The value of `--flag X` or `--flag=X`.
fn flag_value(args: crate::shell::Words, flag: &str) -> Option<(bool, String)> {
    let prefix = format!("{flag}=");
    args.iter().enumerate().find_map(|(i, w)| {
        if w.value() == flag {
            args.get(i + 1)
                .map(|v| (v.literal(), v.value().to_string()))
        } else {
            w.value()
                .strip_prefix(&prefix)
                .map(|v| (w.literal(), v.to_string()))
        }
    })
}

fn outputs(cx: &Context<'_>, runs: &[Run<'_>], node: Option<&NodeApp>) -> Result<Outputs, String> {
    let mut out = Outputs {
        paths: Vec::new(),
        folders: Vec::new(),
        cxx_link: None,
    };
    let push = |out: &mut Outputs, from: &'static str, path: String| {
        if !out.paths.iter().any(|(_, p)| *p == path) {
            out.paths.push((from, path));
        }
    };
    for run in runs.iter().filter(|r| r.class == Class::Build) {
        let Some(script) = cx.script(run.inst) else {
            continue;
        };
        let Some(state) = cx.state(run.inst).filter(|s| s.root()) else {
            return Err("the build runs as another user".into());
        };
        if let Some(venv) = &run.venv {
            push(&mut out, BUILD, venv.clone());
        }
        let mut prefix: Option<String> = None;
        for command in &script.commands {
            let Some(name) = command.name() else {
                continue;
            };
            let cwd = command
                .var("PWD")
                .flatten()
                .map_or(run.workdir.clone(), str::to_string);
            let var = |name: &str| {
                command
                    .var(name)
                    .flatten()
                    .or_else(|| state.var(name))
                    .map(str::to_string)
            };
            let args = command.args();
            let value_of = |flag: &str| {
                args.iter()
                    .position(|w| w.value() == flag)
                    .and_then(|i| args.get(i + 1))
            };
            let compiles_only = args.iter().any(|w| matches!(w.value(), "-c" | "-S" | "-E"));
            let sub = command.subcommand().map(|w| w.value());
            let found = match toolchains::compiler_name(name) {
                "gcc" | "g++" | "cc" | "c++" | "clang" | "clang++" if !compiles_only => {
                    let words: Vec<&str> = args.iter().map(|w| w.value()).collect();
                    if let Some(library) = foreign_library(&words) {
                        return Err(format!(
                            "`{name} {library}` links a library whose runtime package layerwise cannot name"
                        ));
                    }
                    if matches!(toolchains::compiler_name(name), "g++" | "c++" | "clang++")
                        && !words.contains(&"-static")
                    {
                        out.cxx_link.get_or_insert_with(|| name.to_string());
                    }
                    value_of("-o").map(|w| (w.literal(), resolve(&cwd, w.value())))
                }
                "go" if sub == Some("build") => match value_of("-o") {
                    Some(w) => Some((w.literal(), resolve(&cwd, w.value()))),
                    None => {
                        return Err(
                            "`go build` without `-o`: where the program lands is not written"
                                .into(),
                        );
                    }
                },
                "cargo" if sub == Some("build") => {
                    // target/release, or target/<triple>/release with `--target`.
                    let (literal, dir) = flag_value(args, "--target-dir")
                        .or_else(|| var("CARGO_TARGET_DIR").map(|v| (true, v)))
                        .unwrap_or((true, "target".into()));
                    let profile = match flag_value(args, "--profile") {
                        Some((_, p)) if p == "dev" => "debug".to_string(),
                        Some((_, p)) => p,
                        None if args
                            .iter()
                            .any(|w| w.value() == "--release" || w.value() == "-r") =>
                        {
                            "release".into()
                        }
                        None => "debug".into(),
                    };
                    let triple = flag_value(args, "--target").map(|(_, t)| format!("{t}/"));
                    let folder = resolve(
                        &cwd,
                        &format!("{dir}/{}{profile}", triple.unwrap_or_default()),
                    );
                    if !literal {
                        return Err("the build's output is named by a variable".into());
                    }
                    if !out.folders.contains(&folder) {
                        out.folders.push(folder);
                    }
                    None
                }
                "cargo" if sub == Some("install") => {
                    let root = flag_value(args, "--root")
                        .or_else(|| var("CARGO_INSTALL_ROOT").map(|v| (true, v)))
                        .or_else(|| var("CARGO_HOME").map(|v| (true, v)))
                        .unwrap_or((true, "/root/.cargo".into()));
                    Some((root.0, format!("{}/bin", resolve(&cwd, &root.1))))
                }
                "jar" => jar_file(args).map(|w| {
                    let file = w.value().strip_prefix("--file=").unwrap_or(w.value());
                    (w.literal(), resolve(&cwd, file))
                }),
                "javac" => {
                    if let Some(w) = value_of("-d") {
                        let folder = resolve(&cwd, w.value());
                        if !out.folders.contains(&folder) {
                            out.folders.push(folder);
                        }
                    }
                    None
                }
                "mvn" | "mvnw" | "gradle" | "gradlew" => {
                    let folder = if name.starts_with("mvn") {
                        resolve(&cwd, "target")
                    } else {
                        resolve(&cwd, "build/libs")
                    };
                    if !out.folders.contains(&folder) {
                        out.folders.push(folder);
                    }
                    None
                }
                "configure" | "cmake" => {
                    for w in args {
                        if let Some(p) = w
                            .value()
                            .strip_prefix("--prefix=")
                            .or_else(|| w.value().strip_prefix("-DCMAKE_INSTALL_PREFIX="))
                        {
                            prefix = Some(resolve(&cwd, p));
                        }
                    }
                    None
                }
                "make" | "gmake" if args.iter().any(|w| w.value() == "install") => {
                    if args.iter().any(|w| w.value().starts_with("DESTDIR=")) {
                        return Err("`make install` into a DESTDIR".into());
                    }
                    let given = args
                        .iter()
                        .find_map(|w| w.value().strip_prefix("PREFIX="))
                        .map(|p| resolve(&cwd, p));
                    let dir = given
                        .or_else(|| prefix.clone())
                        .unwrap_or_else(|| "/usr/local".to_string());
                    Some((true, dir))
                }
                _ => None,
            };
            match found {
                Some((false, _)) => return Err("the build's output is named by a variable".into()),
                Some((true, path)) => push(&mut out, BUILD, path),
                None => {}
            }
        }
    }
    if let Some(node) = node {
        push(&mut out, PRODUCTION, node.dir.clone());
    }
    if out.paths.is_empty() && out.folders.is_empty() {
        return Err("which file the build writes is not in the Dockerfile".into());
    }
    Ok(out)
}

/// Interpreters that run what the build wrote (`java -jar app.jar`, `node dist/main.js`,
/// `python app.py`), and the runtime packages or images that give them.
fn interpreter(program: &str) -> Option<(&'static [&'static str], &'static [&'static str])> {
    let name = program.rsplit('/').next().unwrap_or(program);
    match name {
        "java" => Some((
            &["-jre", "-jdk"],
            &["eclipse-temurin", "amazoncorretto", "openjdk", "sapmachine"],
        )),
        "node" | "nodejs" => Some((&["nodejs"], &["node"])),
        n if n.starts_with("python") => Some((&["python"], &["python"])),
        _ => None,
    }
}

/// The file an interpreter's start command runs: `java -jar X` (or `-cp X`), `node X`,
/// `python X`.
fn script_of(program: &str, args: &[String]) -> Option<String> {
    let name = program.rsplit('/').next().unwrap_or(program);
    if name == "java" {
        let at = args
            .iter()
            .position(|a| matches!(a.as_str(), "-jar" | "-cp" | "-classpath" | "--class-path"))?;
        return args.get(at + 1).cloned();
    }
    args.iter().find(|a| !a.starts_with('-')).cloned()
}

/// What the start command runs from the build: the outputs it is in, or the one file it names
/// in an output folder. Refuses when it runs nothing the build wrote.
fn start_uses_artifacts(
    cx: &Context<'_>,
    outputs: &Outputs,
    base: &str,
    packages: &[&str],
    jlink: bool,
) -> Result<Vec<(&'static str, String)>, String> {
    let (start, command) = start_command(cx)?;
    let program = command.first().ok_or("the start command is empty")?;
    let state = cx.state(start);
    let workdir = state.and_then(|s| s.workdir.as_deref()).unwrap_or("/");
    let candidates: Vec<String> = if program.contains('/') {
        vec![resolve(workdir, program)]
    } else {
        let path = search_path(cx, start);
        path.split(':')
            .filter(|d| d.starts_with('/'))
            .map(|d| resolve(d, program))
            .collect()
    };
    let mut artifacts = outputs.paths.clone();
    let uses = |file: &str, artifacts: &mut Vec<(&'static str, String)>| {
        if outputs.paths.iter().any(|(_, a)| within(file, a)) {
            return true;
        }
        if outputs.folders.iter().any(|f| within(file, f)) {
            artifacts.push((BUILD, file.to_string()));
            return true;
        }
        false
    };
    if candidates.iter().any(|c| uses(c, &mut artifacts)) {
        return Ok(artifacts);
    }
    let written = outputs
        .paths
        .iter()
        .map(|(_, p)| p.as_str())
        .chain(outputs.folders.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(", ");
    if let Some((provides, images)) = interpreter(program) {
        let repository = toolchains::image_repository(base);
        let image = repository.rsplit('/').next().unwrap_or(repository);
        let installed = packages
            .iter()
            .any(|p| provides.iter().any(|w| p.contains(w)))
            || images.contains(&image)
            || (jlink && interpreter(program) == interpreter("java"));
        if !installed {
            return Err(format!(
                "the image starts `{program}`, which no runtime package of the `{base}` stage gives"
            ));
        }
        if let Some(script) = script_of(program, &command[1..]) {
            let file = resolve(workdir, &script);
            if uses(&file, &mut artifacts) {
                return Ok(artifacts);
            }
        }
    }
    Err(format!(
        "the image starts `{program}`, which is not what the build writes ({written})"
    ))
}

/// Whether the runtime stage runs Java on a jlink runtime: a JDK installed with apt (Debian's
/// and Ubuntu's have jlink and jdeps, and the modules), the start command runs `java` found on
/// the PATH, and the program is the build's own classes (javac and jar: jdeps sees all of
/// them; a Maven or Gradle jar's dependencies it may not).
fn by_jlink(cx: &Context<'_>, runs: &[Run<'_>]) -> bool {
    let jdk_from_apt = runs.iter().any(|r| !r.jres.is_empty());
    let program = start_command(cx)
        .ok()
        .and_then(|(_, command)| command.first().cloned());
    jdk_from_apt
        && !runs.iter().any(|r| r.dependency_tool)
        && matches!(program.as_deref(), Some("java" | "/usr/bin/java"))
}

/// The instruction that sets the start command, and its words (ENTRYPOINT's and CMD's).
fn start_command<'a>(cx: &Context<'a>) -> Result<(&'a Instruction, Vec<String>), String> {
    let stage = &cx.stages.list[0];
    let last = |keyword: Keyword| {
        stage
            .stage
            .instructions
            .iter()
            .rev()
            .find(|i| i.keyword == keyword)
            .copied()
    };
    let words = |inst: &Instruction| -> Vec<String> {
        match inst.exec() {
            Some(values) => values.to_vec(),
            None => inst.words().into_iter().map(|w| w.value).collect(),
        }
    };
    Ok(match (last(Keyword::Entrypoint), last(Keyword::Cmd)) {
        (Some(e), Some(c)) if e.exec().is_some() => {
            let mut all = words(e);
            all.extend(words(c));
            (e, all)
        }
        (Some(e), _) => (e, words(e)),
        (None, Some(c)) => (c, words(c)),
        (None, None) => {
            return Err("the image sets no start command, so what it runs is not known".into());
        }
    })
}
#[cfg(test)]
mod tests {
    use crate::fix::Safety;
    use crate::rules::test_support::{fix_rule, lint_rule};

    fn safety(text: &str) -> (Safety, String) {
        let found = lint_rule("LW301", text);
        assert_eq!(found.len(), 1, "{text}");
        let fix = found[0].fix.as_ref().expect("a fix or a sketch");
        (fix.safety, fix.title.to_string())
    }

    #[test]
    fn go_static_onto_the_same_slim_base() {
        let text = "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y --no-install-recommends golang-go && rm -rf /var/lib/apt/lists/*\nENV CGO_ENABLED=0\nWORKDIR /src\nCOPY go.mod main.go ./\nRUN go build -o /usr/local/bin/hello .\nUSER nobody\nENTRYPOINT [\"/usr/local/bin/hello\"]\n";
        let fixed = fix_rule("LW301", text, true);
        let runtime = fixed.split("\n\nFROM ").nth(1).expect("a runtime stage");
        assert_eq!(
            runtime,
            "debian:bookworm-slim\nENV CGO_ENABLED=0\nWORKDIR /src\nCOPY --from=build /usr/local/bin/hello /usr/local/bin/hello\nUSER nobody\nENTRYPOINT [\"/usr/local/bin/hello\"]\n"
        );
        assert!(fixed.starts_with("FROM debian:bookworm-slim AS build\n"));
    }

    #[test]
    fn libc_libraries_and_static_links_are_rewritten() {
        for text in [
            "FROM debian:bookworm\nRUN apt-get install -y gcc\nWORKDIR /src\nCOPY a.c .\nRUN gcc -o /app a.c -lm -lpthread\nCMD [\"/app\"]\n",
            "FROM debian:bookworm\nRUN apt-get install -y g++\nWORKDIR /src\nCOPY a.cpp .\nRUN g++ -o /app a.cpp\nCMD [\"/app\"]\n",
            "FROM alpine:3.20\nRUN apk add --no-cache g++\nWORKDIR /src\nCOPY a.cpp .\nRUN g++ -static -fopenmp -o /app a.cpp\nCMD [\"/app\"]\n",
        ] {
            let (safety, title) = safety(text);
            assert_eq!(safety, Safety::Unsafe, "{text}: {title}");
        }
    }

    #[test]
    fn llvm_s_compiler_stays_in_the_build_stage() {
        let text = "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y --no-install-recommends clang-16 lld-16 libc6-dev ca-certificates && rm -rf /var/lib/apt/lists/*\nWORKDIR /src\nCOPY hello.c .\nRUN clang-16 -O2 -fuse-ld=lld -o /usr/local/bin/hello hello.c\nCMD [\"hello\"]\n";
        let runtime = added(text);
        assert!(
            runtime.contains("--no-install-recommends ca-certificates ")
                && !runtime.contains("clang")
                && runtime
                    .contains("COPY --from=build /usr/local/bin/hello /usr/local/bin/hello\n"),
            "{runtime}"
        );
    }

    #[test]
    fn make_install_into_a_prefix() {
        let text = "FROM debian:bookworm\nRUN apt-get update && apt-get install -y build-essential curl\nCOPY . /src\nWORKDIR /src\nRUN ./configure --prefix=/opt/tool && make && make install\nCMD [\"/opt/tool/bin/tool\"]\n";
        let fixed = fix_rule("LW301", text, true);
        assert!(fixed.contains("\n\nFROM debian:bookworm-slim\n"), "{fixed}");
        assert!(fixed.contains("apt-get install -y --no-install-recommends curl"));
        assert!(fixed.contains("COPY --from=build /opt/tool /opt/tool\n"));
        assert!(
            !fixed.contains("COPY . /src\nWORKDIR /src\nCOPY --from"),
            "{fixed}"
        );
    }

    /// No rewrite: a sketch whose title says `why`, and the file left as it was.
    fn refuses(text: &str, why: &str) {
        let (safety, title) = safety(text);
        assert_eq!(safety, Safety::DisplayOnly, "{text}");
        assert!(title.contains(why), "{title}");
        assert_eq!(fix_rule("LW301", text, true), text);
    }

    /// The runtime stage (and the stages before it) the fix adds: what follows the original.
    fn added(text: &str) -> String {
        let fixed = fix_rule("LW301", text, true);
        assert!(fixed.starts_with(text.lines().next().unwrap()), "{fixed}");
        fixed[text.trim_end().len() + " AS build".len()..]
            .trim_end()
            .to_string()
    }

    #[test]
    fn rust_the_binary_the_start_command_names_from_target_release() {
        let text = "FROM rust:1.80-bookworm\nWORKDIR /src\nCOPY . .\nRUN cargo build --release --locked\nENTRYPOINT [\"/src/target/release/hello\"]\n";
        assert_eq!(
            added(text),
            "\n\nFROM debian:bookworm-slim\nWORKDIR /src\nCOPY --from=build /src/target/release/hello /src/target/release/hello\nENTRYPOINT [\"/src/target/release/hello\"]"
        );
        let installed = "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y --no-install-recommends cargo ca-certificates && rm -rf /var/lib/apt/lists/*\nWORKDIR /src\nCOPY . .\nRUN cargo install --path . --root /usr/local\nCMD [\"hello\"]\n";
        let runtime = added(installed);
        assert!(
            runtime.contains("--no-install-recommends ca-certificates ")
                && runtime.contains("COPY --from=build /usr/local/bin /usr/local/bin\n"),
            "{runtime}"
        );
        let target_dir = "FROM rust:1-bookworm\nWORKDIR /src\nCOPY . .\nRUN cargo build --release --target-dir /out\nCMD [\"/out/release/app\"]\n";
        assert!(added(target_dir).contains("COPY --from=build /out/release/app /out/release/app"));
        let elsewhere = "FROM rust:1-bookworm\nWORKDIR /src\nCOPY . .\nRUN cargo build --release\nCMD [\"/src/target/debug/app\"]\n";
        let (safety, title) = safety(elsewhere);
        assert_eq!(safety, Safety::DisplayOnly, "{title}");
        assert!(title.contains("/src/target/release"), "{title}");
    }

    #[test]
    fn node_the_application_folder_with_production_dependencies_only() {
        let text = "FROM node:20-bookworm\nWORKDIR /app\nCOPY package.json package-lock.json ./\nRUN npm ci\nCOPY . .\nRUN npm run build\nUSER node\nCMD [\"node\", \"dist/server.js\"]\n";
        assert_eq!(
            added(text),
            "\n\nFROM build AS production-deps\nUSER root\nRUN npm prune --omit=dev --no-save --ignore-scripts\n\nFROM node:20-bookworm-slim\nWORKDIR /app\nCOPY --from=production-deps /app /app\nUSER node\nCMD [\"node\", \"dist/server.js\"]"
        );
        // Debian's nodejs stays, npm and the compilers of native modules do not.
        let debian = "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y --no-install-recommends nodejs npm g++ make && rm -rf /var/lib/apt/lists/*\nWORKDIR /app\nCOPY . .\nRUN npm ci && npm run build\nENTRYPOINT [\"node\", \"dist/main.js\"]\n";
        let runtime = added(debian);
        assert!(
            runtime.contains("--no-install-recommends nodejs "),
            "{runtime}"
        );
        assert!(!runtime.contains("npm ci"), "{runtime}");
        let yarn = "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN yarn install --frozen-lockfile && yarn build\nCMD [\"node\", \"dist/index.js\"]\n";
        assert!(added(yarn).contains(
            "RUN yarn install --production --frozen-lockfile --ignore-scripts --prefer-offline\n"
        ));
        // `npm start` needs npm, which Debian's runtime stage would not have.
        let start = debian.replace(
            "ENTRYPOINT [\"node\", \"dist/main.js\"]",
            "CMD [\"npm\", \"start\"]",
        );
        assert_eq!(safety(&start).0, Safety::DisplayOnly);
    }

    #[test]
    fn python_the_virtualenv_and_the_sources() {
        let text = "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv gcc libc6-dev python3-dev && rm -rf /var/lib/apt/lists/*\nENV PATH=/opt/venv/bin:$PATH\nWORKDIR /src\nCOPY . .\nRUN python3 -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir .\nCMD [\"hello\"]\n";
        assert_eq!(
            added(text),
            "\n\nFROM debian:bookworm-slim\nRUN apt-get update \\\n    && apt-get install -y --no-install-recommends python3 \\\n    && rm -rf /var/lib/apt/lists/*\nENV PATH=/opt/venv/bin:$PATH\nWORKDIR /src\nCOPY . .\nCOPY --from=build /opt/venv /opt/venv\nCMD [\"hello\"]"
        );
        // pip on the PATH, a script the interpreter of the virtualenv runs
        let activated = "FROM python:3.12\nRUN apt-get update && apt-get install -y gcc && rm -rf /var/lib/apt/lists/*\nWORKDIR /app\nCOPY . .\nRUN python -m venv .venv && . .venv/bin/activate && pip install -r requirements.txt\nCMD [\"/app/.venv/bin/python\", \"app.py\"]\n";
        assert!(added(activated).contains("FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nCOPY --from=build /app/.venv /app/.venv\n"));
        for (text, why) in [
            (
                "FROM python:3.12\nRUN apt-get install -y gcc\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\nCMD [\"python\", \"app.py\"]\n",
                "outside a virtualenv",
            ),
            (
                "FROM python:3.12\nRUN apt-get install -y gcc\nWORKDIR /app\nCOPY . .\nRUN python -m venv /venv && /venv/bin/pip install -e .\nCMD [\"/venv/bin/app\"]\n",
                "somewhere else",
            ),
        ] {
            refuses(text, why);
        }
    }

    #[test]
    fn java_the_jar_on_a_runtime_jlink_makes_or_the_jdks_runtime() {
        let text = "FROM debian:bookworm-slim\nRUN mkdir -p /usr/share/man/man1 && apt-get update && apt-get install -y --no-install-recommends default-jdk-headless && rm -rf /var/lib/apt/lists/*\nWORKDIR /src\nCOPY Hello.java .\nRUN javac -d classes Hello.java && jar cfe /opt/hello.jar Hello -C classes .\nENTRYPOINT [\"java\", \"-jar\", \"/opt/hello.jar\"]\n";
        assert_eq!(
            added(text),
            "\n\nFROM build AS java-runtime\nRUN jlink --add-modules \"$(jdeps --print-module-deps --ignore-missing-deps /opt/hello.jar)\" \\\n    --strip-java-debug-attributes --no-man-pages --no-header-files --compress=2 --output /opt/java-runtime\n\nFROM debian:bookworm-slim\nCOPY --from=java-runtime /opt/java-runtime /opt/java-runtime\nRUN mkdir -p /usr/share/man/man1 && ln -s /opt/java-runtime/bin/java /usr/bin/java\nWORKDIR /src\nCOPY --from=build /opt/hello.jar /opt/hello.jar\nENTRYPOINT [\"java\", \"-jar\", \"/opt/hello.jar\"]"
        );
        // Maven's jar may hold dependencies jdeps does not see: the distribution's JRE
        let mvn = "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y --no-install-recommends maven openjdk-17-jdk-headless && rm -rf /var/lib/apt/lists/*\nWORKDIR /app\nCOPY . .\nRUN mvn -B package\nCMD [\"java\", \"-jar\", \"target/app.jar\"]\n";
        let runtime = added(mvn);
        assert!(
            runtime.contains("--no-install-recommends openjdk-17-jre-headless ")
                && !runtime.contains("jlink"),
            "{runtime}"
        );
        let maven = "FROM maven:3.9-eclipse-temurin-21\nWORKDIR /app\nCOPY . .\nRUN mvn -B package\nCMD [\"java\", \"-jar\", \"target/app.jar\"]\n";
        assert!(added(maven).contains("FROM eclipse-temurin:21-jre\nWORKDIR /app\nCOPY --from=build /app/target/app.jar /app/target/app.jar\n"));
        // A JDK image with no runtime known for it, and a jar the build does not write.
        let (safety, title) = safety(
            "FROM maven:3.9\nWORKDIR /app\nCOPY . .\nRUN mvn package\nCMD [\"java\", \"-jar\", \"target/app.jar\"]\n",
        );
        assert_eq!(safety, Safety::DisplayOnly);
        assert!(title.contains("no smaller image"), "{title}");
    }

    #[test]
    fn unsure_means_a_sketch_that_says_why() {
        for (text, why) in [
            (
                "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go build -o /bin/app .\nCMD [\"/bin/app\"]\n",
                "no smaller image of `golang:1.22`'s family",
            ),
            (
                "FROM debian:bookworm\nRUN apt-get install -y gcc libssl-dev\nCOPY a.c /src/\nWORKDIR /src\nRUN gcc -o /app a.c -lssl\nCMD [\"/app\"]\n",
                "`libssl-dev`",
            ),
            (
                "FROM debian:bookworm\nRUN apt-get install -y gcc\nWORKDIR /src\nCOPY . .\nRUN gcc -o /app a.c\nCMD [\"/entrypoint.sh\"]\n",
                "starts `/entrypoint.sh`",
            ),
            (
                "FROM debian:bookworm\nRUN apt-get install -y gcc\nWORKDIR /src\nCOPY . .\nRUN make\nCMD [\"/app\"]\n",
                "which file the build writes",
            ),
            (
                "FROM debian:bookworm\nRUN apt-get install -y gcc git\nWORKDIR /src\nRUN git clone x . && gcc -o /app a.c\nCMD [\"/app\"]\n",
                "`git`",
            ),
            (
                "FROM debian:bookworm\nRUN apt-get install -y gcc\nWORKDIR /src\nCOPY a.c .\nRUN gcc -fopenmp -o /app a.c\nCMD [\"/app\"]\n",
                "`gcc -fopenmp`",
            ),
            (
                "FROM debian:bookworm\nRUN apt-get install -y gcc\nWORKDIR /src\nCOPY a.c .\nRUN gcc -o /app a.c -lm -l gomp\nCMD [\"/app\"]\n",
                "`gcc -lgomp`",
            ),
            (
                "FROM alpine:3.20\nRUN apk add --no-cache g++\nWORKDIR /src\nCOPY a.cpp .\nRUN g++ -O2 -o /app a.cpp\nCMD [\"/app\"]\n",
                "libstdc++, which the `alpine:3.20` runtime image",
            ),
        ] {
            refuses(text, why);
        }
    }
}
