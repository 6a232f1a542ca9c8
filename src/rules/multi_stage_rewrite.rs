//! LW301's rewrite: a single-stage file becomes a builder stage (the file as it was, named
//! `build`) and a runtime stage on a smaller base of the same family, which re-installs the
//! packages that are not toolchain, copies what the build wrote that the start command runs,
//! and keeps the image's settings. Each step refuses with the reason when it cannot be sure:
//! a rewrite that breaks the build is worse than none.

use crate::fix::{Edit, Fix, Safety};
use crate::knowledge::toolchains;
use crate::model::Base;
use crate::model::packages::{Action, Manager, classify};
use crate::rules::Context;
use crate::shell::Command;
use crate::syntax::{Instruction, Keyword};
use crate::unixpath::{resolve, within};

/// The builder stage's name.
const BUILD: &str = "build";

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
    let runs: Vec<Run> = stage
        .stage
        .instructions
        .iter()
        .filter(|i| i.keyword == Keyword::Run)
        .map(|&i| read_run(cx, i))
        .collect::<Result<_, _>>()?;
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
    let artifacts = artifacts(cx, &runs)?;
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
        && let Some(link) = artifacts.cxx_link
    {
        return Err(format!(
            "`{link}` links a C++ program against libstdc++, which the `{base}` runtime image does not have"
        ));
    }
    let artifacts = artifacts.paths;
    start_uses_artifacts(cx, &artifacts)?;
    let build_dirs: Vec<&str> = runs
        .iter()
        .filter(|r| r.class == Class::Build)
        .map(|r| r.workdir.as_str())
        .collect();
    if build_dirs.contains(&"/") {
        return Err("the build runs in `/`: which copied files it reads cannot be told".into());
    }

    let nl = cx.style.newline;
    let mut text = format!("{nl}{nl}FROM {base}{nl}");
    let mut runs = runs.iter().enumerate();
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
            | Keyword::Maintainer => line(&mut text, cx.df.slice(inst.span), nl),
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
                let before_build = runs.clone().next().is_some_and(|(i, _)| i <= last_build);
                if !(input && before_build) {
                    line(&mut text, cx.df.slice(inst.span), nl);
                }
            }
            Keyword::Run => {
                let Some((index, run)) = runs.next() else {
                    return Err("a RUN the model did not read".into());
                };
                if !installed && !run.runtime.is_empty() {
                    installed = true;
                    let (manager, names) = &runtime[0];
                    line(&mut text, &install(*manager, names, cx), nl);
                }
                if run.class == Class::Setup {
                    line(&mut text, cx.df.slice(inst.span), nl);
                }
                if index == last_build {
                    for path in artifacts.iter().chain(keep) {
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
            "build in `AS {BUILD}` and copy {} into a `{base}` runtime stage",
            artifacts
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Safety::Unsafe,
        edits,
    ))
}

fn line(text: &mut String, instruction: &str, nl: &str) {
    text.push_str(instruction);
    text.push_str(nl);
}

/// The runtime packages installed as LW102, LW103 and LW104 would have it.
fn install(manager: Manager, names: &[String], cx: &Context<'_>) -> String {
    let nl = cx.style.newline;
    let escape = cx.style.escape;
    let list = names.join(" ");
    match manager {
        Manager::Apk => format!("RUN apk add --no-cache {list}"),
        _ => format!(
            "RUN apt-get update {escape}{nl}    && apt-get install -y --no-install-recommends {list} {escape}{nl}    && rm -rf /var/lib/apt/lists/*"
        ),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    /// Installs packages (and cleans up after that), nothing else.
    Packages,
    /// Compiles: stays in the builder.
    Build,
    /// Creates users, groups or folders: carried into the runtime stage as written.
    Setup,
}

/// One RUN, as the rewrite sees it.
struct Run<'a> {
    inst: &'a Instruction,
    class: Class,
    workdir: String,
    /// Packages that are not toolchain, to install in the runtime stage.
    runtime: Vec<(Manager, String)>,
    /// `-dev` packages of libraries other than the C library's.
    headers: Vec<String>,
    /// `go build` with cgo off: a static program.
    static_go: bool,
}

fn read_run<'a>(cx: &Context<'_>, inst: &'a Instruction) -> Result<Run<'a>, String> {
    let line = cx.df.lines().line_of(inst.span.start) + 1;
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
    };
    let mut packages = false;
    let mut builds = false;
    for command in &script.commands {
        let Some(name) = command.name() else {
            continue;
        };
        let args: Vec<&str> = command.args().iter().map(|w| w.value.as_str()).collect();
        // A build tool's build (`go build`) is a build step, not an install.
        if let Some(pkg) = classify(command).filter(|p| !p.manager.spec().compiles) {
            if !matches!(pkg.manager, Manager::Apt | Manager::Apk) {
                return Err(format!(
                    "line {line} installs with {}, whose packages the runtime stage would need",
                    name
                ));
            }
            match pkg.action {
                Action::Install => {
                    packages = true;
                    for word in pkg.packages() {
                        if !word.literal {
                            return Err(format!(
                                "line {line} installs packages named by `{}`",
                                word.value
                            ));
                        }
                        let package = word.value.split(['=', ':']).next().unwrap_or(&word.value);
                        if toolchains::libc_headers(package) {
                            continue;
                        }
                        match toolchains::build_package(package) {
                            Some(_) if package.ends_with("-dev") || package.ends_with("-devel") => {
                                run.headers.push(package.to_string())
                            }
                            Some(_) => {}
                            None => run.runtime.push((pkg.manager, word.value.clone())),
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
        if toolchains::builds_from_source(name, &args) {
            if matches!(
                name,
                "pip" | "pip3" | "npm" | "yarn" | "pnpm" | "gem" | "bundle"
            ) {
                return Err(format!(
                    "line {line} installs with {name}, whose packages the runtime stage would need"
                ));
            }
            builds = true;
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
            "useradd" | "groupadd" | "adduser" | "addgroup" | "mkdir" | "true" | "set" => {}
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
    if run.class == Class::Setup && !state.root() {
        return Err(format!("the RUN at line {line} runs as another user"));
    }
    Ok(run)
}

fn writes(command: &Command) -> bool {
    !command.writes.is_empty()
}

/// An `rm` of package indexes, caches and temporary files only.
fn cleans_only(cx: &Context<'_>, inst: &Instruction, command: &Command) -> bool {
    let removed: Vec<String> = cx
        .effects(inst)
        .into_iter()
        .filter(|e| command.span.contains(e.span.start))
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

/// What the build writes that the runtime stage needs.
struct Artifacts {
    /// The output of every link (`-o`), or the prefix `make install` fills.
    paths: Vec<String>,
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

fn artifacts(cx: &Context<'_>, runs: &[Run<'_>]) -> Result<Artifacts, String> {
    let mut out: Vec<String> = Vec::new();
    let mut cxx_link = None;
    for run in runs.iter().filter(|r| r.class == Class::Build) {
        let Some(script) = cx.script(run.inst) else {
            continue;
        };
        if !cx.state(run.inst).is_some_and(|s| s.root()) {
            return Err("the build runs as another user".into());
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
            let args = command.args();
            let value_of = |flag: &str| {
                args.iter()
                    .position(|w| w.value == flag)
                    .and_then(|i| args.get(i + 1))
            };
            let compiles_only = args
                .iter()
                .any(|w| matches!(w.value.as_str(), "-c" | "-S" | "-E"));
            let found = match name {
                "gcc" | "g++" | "cc" | "c++" | "clang" | "clang++" if !compiles_only => {
                    let words: Vec<&str> = args.iter().map(|w| w.value.as_str()).collect();
                    if let Some(library) = foreign_library(&words) {
                        return Err(format!(
                            "`{name} {library}` links a library whose runtime package layerwise cannot name"
                        ));
                    }
                    if matches!(name, "g++" | "c++" | "clang++") && !words.contains(&"-static") {
                        cxx_link.get_or_insert_with(|| name.to_string());
                    }
                    value_of("-o").map(|w| (w.literal, resolve(&cwd, &w.value)))
                }
                "go" if command.subcommand().is_some_and(|s| s.value == "build") => {
                    match value_of("-o") {
                        Some(w) => Some((w.literal, resolve(&cwd, &w.value))),
                        None => {
                            return Err(
                                "`go build` without `-o`: where the program lands is not written"
                                    .into(),
                            );
                        }
                    }
                }
                "configure" | "cmake" => {
                    for w in args {
                        if let Some(p) = w
                            .value
                            .strip_prefix("--prefix=")
                            .or_else(|| w.value.strip_prefix("-DCMAKE_INSTALL_PREFIX="))
                        {
                            prefix = Some(resolve(&cwd, p));
                        }
                    }
                    None
                }
                "make" | "gmake" if args.iter().any(|w| w.value == "install") => {
                    if args.iter().any(|w| w.value.starts_with("DESTDIR=")) {
                        return Err("`make install` into a DESTDIR".into());
                    }
                    let given = args
                        .iter()
                        .find_map(|w| w.value.strip_prefix("PREFIX="))
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
                Some((true, path)) if !out.contains(&path) => out.push(path),
                _ => {}
            }
        }
    }
    if out.is_empty() {
        return Err("which file the build writes is not in the Dockerfile".into());
    }
    Ok(Artifacts {
        paths: out,
        cxx_link,
    })
}

/// The start command runs what the build wrote: the artifacts are what the image is for.
fn start_uses_artifacts(cx: &Context<'_>, artifacts: &[String]) -> Result<(), String> {
    let stage = &cx.stages.list[0];
    let start = stage
        .stage
        .instructions
        .iter()
        .rev()
        .find(|i| i.keyword == Keyword::Entrypoint)
        .or_else(|| {
            stage
                .stage
                .instructions
                .iter()
                .rev()
                .find(|i| i.keyword == Keyword::Cmd)
        })
        .ok_or("the image sets no start command, so what it runs is not known")?;
    let program = match &start.exec {
        Some(values) => values.first().cloned(),
        None => start.words().into_iter().next().map(|w| w.value),
    }
    .ok_or("the start command is empty")?;
    let state = cx.state(start);
    let workdir = state.and_then(|s| s.workdir.as_deref()).unwrap_or("/");
    let candidates: Vec<String> = if program.contains('/') {
        vec![resolve(workdir, &program)]
    } else {
        let path = state.and_then(|s| s.var("PATH")).unwrap_or(DEFAULT_PATH);
        path.split(':')
            .filter(|d| d.starts_with('/'))
            .map(|d| resolve(d, &program))
            .collect()
    };
    if candidates
        .iter()
        .any(|c| artifacts.iter().any(|a| within(c, a)))
    {
        Ok(())
    } else {
        Err(format!(
            "the image starts `{program}`, which is not what the build writes ({})",
            artifacts.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use crate::fix::Safety;
    use crate::rules::test_support::{fix_rule, lint_rule};

    fn safety(text: &str) -> (Safety, String) {
        let found = lint_rule("LW301", text);
        assert_eq!(found.len(), 1, "{text}");
        let fix = found[0].fix.as_ref().expect("a fix or a sketch");
        (fix.safety, fix.title.clone())
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
            let (safety, title) = safety(text);
            assert_eq!(safety, Safety::DisplayOnly, "{text}");
            assert!(title.contains(why), "{title}");
            assert_eq!(fix_rule("LW301", text, true), text);
        }
    }
}
