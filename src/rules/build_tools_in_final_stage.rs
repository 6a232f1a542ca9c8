//! LW301 build-tools-in-final-stage: the final image compiles software and keeps the toolchain.

use serde::Deserialize;

use crate::diagnostic::Diagnostic;
use crate::findings::Findings;
use crate::fix::{Edit, Fix, Safety};
use crate::knowledge::toolchains;
use crate::model::Base;
use crate::model::copies::Origin;
use crate::model::packages::{Action, classify};
use crate::model::paths::resolve;
use crate::model::vars::Kind;
use crate::rules::Context;
use crate::rules::Rule;
use crate::rules::multi_stage_rewrite;
use crate::shell::Command;
use crate::source::Span;
use crate::syntax::{Instruction, Keyword};

/// LW301's options: toolchain packages the final image keeps on purpose.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BuildToolsOptions {
    #[serde(default)]
    pub allow_packages: Vec<String>,
    /// The runtime stage's base, instead of the one the rewrite would choose.
    #[serde(default)]
    pub runtime_base: Option<String>,
    /// More paths the rewrite copies from the builder (data files the program reads).
    #[serde(default)]
    pub keep: Vec<String>,
}

pub struct BuildToolsInFinalStage;

/// Something in the final image that builds software.
struct Evidence {
    /// The stage it is in: the final one, one it is built on, or one it copies whole.
    stage: usize,
    span: Span,
    what: String,
    /// The toolchain it points at, for the runtime stage the fix proposes.
    ecosystem: &'static str,
    /// Where the build writes its output, when the command says.
    output: Option<String>,
}

impl Rule for BuildToolsInFinalStage {
    fn id(&self) -> &'static str {
        "LW301"
    }

    /// Before the in-place fixes: its fix makes the stage a build stage, and claims it whole
    /// (`fixer`), so theirs there are made again on the new shape.
    fn fix_order(&self) -> u8 {
        3
    }

    fn check(&self, cx: &Context<'_>, out: &mut Findings) {
        let Some(last) = cx.stages.len().checked_sub(1) else {
            return;
        };
        if toolchain_is_the_image(cx, last) {
            return;
        }
        let allowed = &cx.options.build_tools_in_final_stage.allow_packages;
        let mut evidence = Vec::new();
        let mut builds = false;
        let mut compiles_at_run_time = false;
        for stage in reached(cx, last) {
            for &inst in &cx.stages[stage].stage.instructions {
                if inst.keyword != Keyword::Run {
                    continue;
                }
                let workdir = cx
                    .state(inst)
                    .and_then(|s| s.workdir.as_deref())
                    .unwrap_or("/");
                if let Some(script) = cx.script(inst) {
                    let cleanup = cleanup(&script.commands);
                    for command in &script.commands {
                        builds |= command.name().is_some_and(|name| {
                            let args: Vec<&str> =
                                command.args().iter().map(|w| w.value()).collect();
                            toolchains::builds_from_source(name, &args)
                        });
                        compiles_at_run_time |= kept_packages(command, &cleanup)
                            .iter()
                            .any(|p| toolchains::compiles_at_run_time(p));
                        let mut found = build_evidence(command, &cleanup, workdir);
                        // `ENV PHPIZE_DEPS="autoconf gcc"` then `apt-get install $PHPIZE_DEPS`:
                        // the image publishes its toolchain for the images built on it.
                        found.retain(|e| !published(cx, inst, e.span));
                        evidence.extend(found.into_iter().map(|e| Evidence { stage, ..e }));
                    }
                    // `gcc=4:12.2.0-3` is `gcc`; an allowed `make` also allows running it.
                    evidence.retain(|e| {
                        let name = e.what.split(['=', ':']).next().unwrap_or(&e.what);
                        !allowed.iter().any(|a| a == name)
                    });
                }
            }
        }
        if !builds || compiles_at_run_time {
            // Headers and compilers with nothing built here: `-dev` packages standing in for
            // runtime libraries, or tools kept for whoever runs the image. With `kmod` or
            // `dkms` the image builds modules for the kernel of the host it runs on, with
            // LLVM's libraries it compiles BPF programs: the toolchain is used at run time.
            return;
        }
        // Only headers left (the compilers removed where they were used): they stand in for
        // the runtime libraries (`libpcap-dev` for `libpcap`).
        if evidence.iter().all(|e| toolchains::headers_only(&e.what)) {
            return;
        }
        let Some(first) = evidence.first() else {
            return;
        };
        let mut names: Vec<&str> = Vec::new();
        for e in &evidence {
            if !names.contains(&e.what.as_str()) {
                names.push(&e.what);
            }
        }
        let listed = names
            .iter()
            .take(4)
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let lineage = cx.lineage(last);
        let how = match first.stage {
            s if s == last => String::new(),
            s if lineage.contains(&s) => format!(
                ": the final stage is built `FROM` the stage that builds ({})",
                stage_name(cx, s)
            ),
            s => format!(
                ": the final stage copies the whole filesystem of the stage that builds ({})",
                stage_name(cx, s)
            ),
        };
        let mut diagnostic = Diagnostic::new(
            self.id(),
            first.span,
            format!(
                "the final image builds software ({listed}) and keeps the toolchain that a multi-stage build would leave behind{how}"
            ),
        )
        .with_help("build in a stage of its own (`FROM … AS build`) and copy only the result into a slim runtime stage")
        .with_fix(fix(cx, last, first));
        for e in evidence.iter().skip(1).take(3) {
            diagnostic = diagnostic.with_label(e.span, format!("`{}`", e.what));
        }
        out.push(diagnostic);
    }
}

/// The stages whose files end up in the final image: its lineage, and the lineage of any stage
/// it copies whole (`COPY --from=build / /`).
fn reached(cx: &Context<'_>, last: usize) -> Vec<usize> {
    let mut out = cx.lineage(last);
    let mut at = 0;
    while at < out.len() {
        for &inst in &cx.stages[out[at]].stage.instructions {
            let Some(copy) = cx.copy(inst) else {
                continue;
            };
            for source in &copy.sources {
                let whole = matches!(source.path.trim_end_matches(['/', '.']), "");
                if let (true, Origin::Stage(from)) = (whole, &source.origin) {
                    for s in cx.lineage(*from) {
                        if !out.contains(&s) {
                            out.push(s);
                        }
                    }
                }
            }
        }
        at += 1;
    }
    out
}

fn stage_name(cx: &Context<'_>, stage: usize) -> String {
    match &cx.stages[stage].stage.name {
        Some(name) => format!("`{name}`"),
        None => format!("stage {stage}"),
    }
}

/// The word at `span` is a variable the image keeps in its environment (`$X`, `${X}`).
fn published(cx: &Context<'_>, inst: &Instruction, span: Span) -> bool {
    let written = cx.df.slice(span);
    let Some(name) = written.strip_prefix('$') else {
        return false;
    };
    let name = name.trim_start_matches('{').trim_end_matches('}');
    cx.state(inst)
        .and_then(|s| s.vars.get(name))
        .is_some_and(|v| v.kind == Kind::Env)
}

/// The toolchain is what the image is for: a development container, or an image whose start
/// command is a shell, an interpreter's prompt or a toolchain (set here or kept from an
/// operating-system, language or toolchain base).
fn toolchain_is_the_image(cx: &Context<'_>, last: usize) -> bool {
    if cx
        .path
        .is_some_and(|p| p.to_string_lossy().contains(".devcontainer"))
    {
        return true;
    }
    let lineage = cx.lineage(last);
    let base = lineage.first().map(|&s| &cx.stages[s].base);
    if let Some(Base::Image(image)) = base
        && toolchains::dev_container(image)
    {
        return true;
    }
    let mut entrypoint = None;
    let mut cmd = None;
    for &stage in &lineage {
        for &inst in &cx.stages[stage].stage.instructions {
            match inst.keyword {
                Keyword::Entrypoint => entrypoint = Some(start_words(inst)),
                Keyword::Cmd => cmd = Some(start_words(inst)),
                _ => {}
            }
        }
    }
    let command: Vec<String> = match (entrypoint, cmd) {
        (Some(mut e), Some(c)) => {
            e.extend(c);
            e
        }
        (Some(e), None) => e,
        (None, Some(c)) => c,
        (None, None) => {
            return match base {
                Some(Base::Image(image)) => toolchains::starts_a_prompt(image),
                _ => false,
            };
        }
    };
    let words: Vec<&str> = command.iter().map(String::as_str).collect();
    toolchains::toolchain_is_the_product(&words)
}

/// The words of a CMD or ENTRYPOINT, in either form.
fn start_words(inst: &Instruction) -> Vec<String> {
    match inst.exec() {
        Some(values) => values.to_vec(),
        None => inst.words().into_iter().map(|w| w.value).collect(),
    }
}

/// What a RUN takes away again before its layer is written.
struct Cleanup {
    /// Packages (and virtual package names) removed by name: `apk del .build-deps`,
    /// `apt-get purge gcc`.
    packages: Vec<String>,
    /// The RUN removes packages at all: what it compiled with is taken to be gone.
    any: bool,
    /// The `apt-mark auto '.*'` + `apt-get purge --auto-remove` idiom of the official images,
    /// which removes every package the RUN installed.
    everything: bool,
}

fn cleanup(commands: &[Command]) -> Cleanup {
    let removals: Vec<_> = commands
        .iter()
        .filter_map(classify)
        .filter(|p| p.action == Action::Remove)
        .collect();
    // `apt-mark auto '.*'`, or through xargs: `apt-mark showmanual | xargs apt-mark auto`.
    let marks_auto = commands.iter().any(|c| {
        c.words()
            .pairs()
            .any(|(a, b)| a.value().rsplit('/').next() == Some("apt-mark") && b.value() == "auto")
    });
    let auto_removes = removals
        .iter()
        .any(|p| p.has_flag("--auto-remove") || p.sub.is_some_and(|s| s.value() == "autoremove"));
    Cleanup {
        packages: removals
            .iter()
            .flat_map(|p| p.packages().into_iter().map(|w| w.value().to_string()))
            .collect(),
        any: !removals.is_empty(),
        // `apt-get purge -y $(…)`: a list the model cannot read is taken to be what was built
        // with.
        everything: (marks_auto && auto_removes)
            || removals
                .iter()
                .any(|p| p.packages().iter().any(|w| !w.literal())),
    }
}

/// The packages a command installs that its RUN does not remove again.
fn kept_packages(command: &Command, cleanup: &Cleanup) -> Vec<String> {
    let Some(pkg) =
        classify(command).filter(|p| p.action == Action::Install && !p.manager.spec().compiles)
    else {
        return Vec::new();
    };
    if cleanup.everything || virtual_name(&pkg).is_some_and(|v| cleanup.packages.contains(&v)) {
        return Vec::new();
    }
    pkg.packages()
        .into_iter()
        .map(|w| w.value().to_string())
        .filter(|p| !cleanup.packages.contains(p))
        .collect()
}

/// `apk add --virtual .build-deps gcc …`: the name to remove them by.
fn virtual_name(pkg: &crate::model::packages::PackageCommand<'_>) -> Option<String> {
    pkg.rest
        .iter()
        .position(|w| w.value() == "-t" || w.value() == "--virtual")
        .and_then(|i| pkg.rest.get(i + 1))
        .map(|w| w.value().to_string())
        .or_else(|| {
            pkg.rest
                .iter()
                .find_map(|w| w.value().strip_prefix("--virtual="))
                .map(str::to_string)
        })
}

fn build_evidence(command: &Command, cleanup: &Cleanup, workdir: &str) -> Vec<Evidence> {
    let mut found = Vec::new();
    if let Some(pkg) =
        classify(command).filter(|p| p.action == Action::Install && !p.manager.spec().compiles)
    {
        // `apk add --virtual .build-deps gcc …` removed later by its virtual name.
        let virtual_name = virtual_name(&pkg);
        if cleanup.everything || virtual_name.is_some_and(|v| cleanup.packages.contains(&v)) {
            return found;
        }
        for word in pkg.packages() {
            if cleanup.packages.iter().any(|p| p == word.value()) {
                continue;
            }
            if let Some(ecosystem) = toolchains::build_package(word.value()) {
                found.push(Evidence {
                    stage: 0,
                    span: word.span(),
                    what: word.value().to_string(),
                    ecosystem,
                    output: None,
                });
            }
        }
        return found;
    }
    let Some(name) = command.name() else {
        return found;
    };
    if cleanup.any {
        // Built, then the build dependencies removed in the same layer: nothing is kept.
        return found;
    }
    let sub = command.subcommand().map(|w| w.value());
    let script = command
        .args()
        .iter()
        .position(|w| w.value() == "run")
        .and_then(|i| command.args().get(i + 1));
    let ecosystem = match (name, sub) {
        ("go", Some("build" | "install")) => "go",
        ("cargo", Some("build" | "install")) => "rust",
        ("npm" | "yarn" | "pnpm", Some("run")) if script.is_some_and(|s| s.value() == "build") => {
            "node"
        }
        ("yarn" | "pnpm", Some("build")) => "node",
        ("mvn" | "mvnw" | "./mvnw", Some("package" | "install" | "verify")) => "java",
        (
            "gradle" | "gradlew" | "./gradlew",
            Some("build" | "assemble" | "bootJar" | "installDist"),
        ) => "java",
        ("dotnet", Some("build" | "publish")) => "dotnet",
        ("javac", _) => "java",
        ("gcc" | "g++" | "cc" | "c++" | "clang" | "cmake", _) => "c",
        ("make", _) => "c",
        _ => return found,
    };
    let output = command
        .args()
        .iter()
        .position(|w| w.value() == "-o" || w.value() == "--output")
        .and_then(|i| command.args().get(i + 1))
        .map(|w| resolve(workdir, w.value()));
    let shown = if name == "make" { 1 } else { 2 };
    let what = command
        .words()
        .iter()
        .take(shown)
        .map(|w| w.value())
        .collect::<Vec<_>>()
        .join(" ");
    let span = command
        .words()
        .iter()
        .take(shown)
        .map(|w| w.span())
        .reduce(Span::cover)
        .unwrap_or(command.span());
    found.push(Evidence {
        stage: 0,
        span,
        what: if script.is_some() && sub == Some("run") {
            format!("{what} build")
        } else {
            what
        },
        ecosystem,
        output: output.or_else(|| default_output(ecosystem, workdir)),
    });
    found
}

fn default_output(ecosystem: &str, workdir: &str) -> Option<String> {
    let base = workdir.trim_end_matches('/');
    match ecosystem {
        "rust" => Some(format!("{base}/target/release/")),
        "node" => Some(format!("{base}/dist/")),
        "java" => Some(format!("{base}/target/")),
        "dotnet" => Some(format!("{base}/out/")),
        _ => None,
    }
}

/// The runtime base a two-stage build would use.
fn runtime_base(ecosystem: &str) -> &'static str {
    match ecosystem {
        "go" => "gcr.io/distroless/static-debian12",
        "node" => "node:lts-slim",
        "java" => "eclipse-temurin:21-jre",
        "dotnet" => "mcr.microsoft.com/dotnet/aspnet:8.0",
        _ => "debian:bookworm-slim",
    }
}

/// The rewrite into two stages when the model is sure of it; otherwise the sketch, saying why.
fn fix(cx: &Context<'_>, last: usize, evidence: &Evidence) -> Option<Fix> {
    let options = &cx.options.build_tools_in_final_stage;
    match multi_stage_rewrite::two_stages(cx, options.runtime_base.as_deref(), &options.keep) {
        Ok(fix) => Some(fix),
        Err(why) => sketch(cx, last, evidence, &why),
    }
}

/// A display-only sketch: the final stage becomes `AS build`, and a slim runtime stage copies
/// the build output and keeps the image's start-up settings.
fn sketch(cx: &Context<'_>, last: usize, evidence: &Evidence, why: &str) -> Option<Fix> {
    let stage = &cx.stages[last];
    let from = stage.stage.from;
    if cx.stages.len() > 1 {
        // Already a multi-stage build: the sketch would not fit blindly.
        return None;
    }
    let nl = cx.style.newline;
    let mut edits = Vec::new();
    if stage.stage.name.is_none() {
        edits.push(Edit::insert(from.args_span().end, " AS build"));
    }
    let output = evidence
        .output
        .clone()
        .unwrap_or_else(|| "/path/to/build/output".to_string());
    let mut runtime = format!(
        "{nl}{nl}FROM {}{nl}COPY --from={} {output} {output}{nl}",
        runtime_base(evidence.ecosystem),
        stage.stage.name.as_deref().unwrap_or("build"),
    );
    let keeps = [
        Keyword::Workdir,
        Keyword::Expose,
        Keyword::User,
        Keyword::Entrypoint,
        Keyword::Cmd,
    ];
    for &inst in stage
        .stage
        .instructions
        .iter()
        .filter(|i| keeps.contains(&i.keyword))
    {
        runtime.push_str(cx.df.slice(inst.span()));
        runtime.push_str(nl);
    }
    let end = cx.df.text().trim_end().len();
    edits.push(Edit::insert(end, runtime.trim_end().to_string()));
    Some(Fix::new(
        format!(
            "build in `AS build` and copy {output} into a `{}` runtime stage (a sketch: {why})",
            runtime_base(evidence.ecosystem)
        ),
        Safety::DisplayOnly,
        edits,
    ))
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{fix_rule, lint_rule, lint_rule_configured};

    #[test]
    fn allowed_packages_from_the_config() {
        let text =
            "FROM debian\nRUN apt-get install -y make=4.3-4.1 gcc\nRUN make\nCMD [\"/app\"]\n";
        let config = "rules: {build-tools-in-final-stage: {allow-packages: [make]}}";
        let found = lint_rule_configured("LW301", text, config);
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("`gcc`") && !found[0].message.contains("make"));
        let both = "rules: {LW301: {allow-packages: [make, gcc]}}";
        assert!(lint_rule_configured("LW301", text, both).is_empty());
        assert_eq!(lint_rule("LW301", text).len(), 1);
    }

    #[test]
    fn compiling_in_the_final_stage() {
        let found = lint_rule(
            "LW301",
            "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go build -o /bin/app .\nCMD [\"/bin/app\"]\n",
        );
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains("`go build`"),
            "{}",
            found[0].message
        );
        let fix = found[0].fix.as_ref().unwrap();
        assert_eq!(fix.safety, crate::fix::Safety::DisplayOnly);
    }

    #[test]
    fn toolchain_packages_unless_removed_in_the_same_run() {
        assert_eq!(
            lint_rule(
                "LW301",
                "FROM alpine\nRUN apk add --no-cache gcc musl-dev && make\nCMD [\"/app\"]\n"
            )
            .len(),
            1
        );
        let removed = "FROM alpine\nRUN apk add --no-cache --virtual .deps gcc musl-dev && make && apk del .deps\n";
        assert!(
            lint_rule("LW301", removed).is_empty(),
            "built and cleaned in one layer"
        );
        let official = "FROM debian\nRUN savedAptMark=\"$(apt-mark showmanual)\"; \\\n  apt-get install -y gcc libssl-dev; make; \\\n  apt-mark auto '.*' > /dev/null; apt-mark manual $savedAptMark; \\\n  apt-get purge -y --auto-remove\n";
        assert!(
            lint_rule("LW301", official).is_empty(),
            "the apt-mark idiom removes it all"
        );
    }

    #[test]
    fn a_toolchain_the_image_publishes_in_its_environment_is_its_product() {
        let published = "FROM debian\nENV PHPIZE_DEPS=\"autoconf gcc make\"\nRUN apt-get install -y $PHPIZE_DEPS curl\nRUN pip install x\nCMD [\"/app\"]\n";
        assert!(lint_rule("LW301", published).is_empty());
        // The same list as a build argument is only a way to write it.
        let arg = "FROM debian\nARG DEPS=\"autoconf gcc make\"\nRUN apt-get install -y $DEPS curl\nRUN pip install x\nCMD [\"/app\"]\n";
        let found = lint_rule("LW301", arg);
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("`gcc`"), "{}", found[0].message);
    }

    #[test]
    fn a_multi_stage_build_is_fine() {
        let text = "FROM golang AS build\nRUN go build -o /app\nFROM scratch\nCOPY --from=build /app /app\n";
        assert!(lint_rule("LW301", text).is_empty());
    }

    #[test]
    fn the_toolchain_is_the_product() {
        let app = "FROM debian\nRUN apt-get install -y gcc make\nCOPY . /src\nRUN make -C /src\n";
        // A shell, a prompt or a toolchain as the start command; or none on an OS base.
        for start in [
            "CMD [\"bash\"]",
            "CMD /bin/sh -l",
            "ENTRYPOINT [\"make\"]",
            "CMD [\"python3\"]",
            "",
        ] {
            let text = format!("{app}{start}\n");
            assert!(lint_rule("LW301", &text).is_empty(), "{text}");
        }
        for start in ["CMD [\"/src/app\"]", "CMD bash -c /src/app"] {
            let text = format!("{app}{start}\n");
            assert_eq!(lint_rule("LW301", &text).len(), 1, "{text}");
        }
        // An unknown base keeps its own start command: an application's.
        let notebook = "FROM jupyter/base-notebook\nRUN apt-get install -y g++ make && npm install -g ijavascript\n";
        assert_eq!(lint_rule("LW301", notebook).len(), 1);
        // Kernel modules built for the host when the image runs: kmod or dkms beside gcc.
        let modules = "FROM debian\nRUN apt-get install -y build-essential kmod libelf-dev git\nRUN make -C /tools install\nENTRYPOINT [\"/entrypoint.sh\"]\n";
        assert!(lint_rule("LW301", modules).is_empty());
        assert_eq!(lint_rule("LW301", &modules.replace(" kmod", "")).len(), 1);
        // BPF tools compile with LLVM's libraries when they run; removed, they are no sign.
        let bpf = "FROM debian\nRUN apt-get install -y gcc cmake libclang-dev llvm-dev\nRUN make -C /bcc install\nENTRYPOINT [\"/entrypoint.sh\"]\n";
        assert!(lint_rule("LW301", bpf).is_empty());
        let removed = "FROM alpine\nRUN apk add gcc make\nRUN apk add --virtual .deps llvm-dev && make && apk del .deps\nCMD [\"/app\"]\n";
        assert_eq!(lint_rule("LW301", removed).len(), 1);
        let devcontainer = "FROM mcr.microsoft.com/devcontainers/base:ubuntu\nRUN apt-get install -y gcc && make\nCMD [\"/app\"]\n";
        assert!(lint_rule("LW301", devcontainer).is_empty());
    }

    #[test]
    fn nothing_built_nothing_to_move() {
        // Only `make`, or `-dev` packages standing in for runtime libraries.
        for text in [
            "FROM debian\nRUN apt-get install -y make curl\nCMD [\"/app\"]\n",
            "FROM debian\nRUN apt-get install -y libexif-dev chromium\nENTRYPOINT [\"chromium\"]\n",
            "FROM debian\nRUN apt-get install -y microsoft-edge-dev && pip install x\nCMD [\"/app\"]\n",
        ] {
            assert!(lint_rule("LW301", text).is_empty(), "{text}");
        }
        let pip = "FROM python:3.12\nRUN apt-get install -y gcc libffi-dev && pip install cffi\nCMD [\"python\", \"app.py\"]\n";
        assert_eq!(lint_rule("LW301", pip).len(), 1);
    }

    #[test]
    fn toolchains_removed_in_the_same_run() {
        for text in [
            "FROM debian\nRUN apt-get install -y gcc libpq-dev && make && apt-get purge -y $(cat /deps)\nCMD [\"/app\"]\n",
            "FROM debian\nRUN apt-get install -y gcc && make && apt-mark showmanual | xargs apt-mark auto && apt-get autoremove -y\nCMD [\"/app\"]\n",
            "FROM alpine\nRUN apk add --virtual=.build-deps gcc musl-dev && make && apk del .build-deps\nCMD [\"/app\"]\n",
            // what is left are headers standing in for the runtime library
            "FROM alpine\nRUN apk add --no-cache libpcap-dev\nRUN apk add --virtual .deps gcc make && make && apk del .deps\nCMD [\"/app\"]\n",
        ] {
            assert!(lint_rule("LW301", text).is_empty(), "{text}");
        }
    }

    #[test]
    fn a_final_stage_on_the_builder_or_a_copy_of_its_whole_filesystem() {
        let on_builder = "FROM debian AS build\nRUN apt-get install -y gcc && gcc -o /app app.c\nFROM build\nCMD [\"/app\"]\n";
        let found = lint_rule("LW301", on_builder);
        assert_eq!(found.len(), 1);
        assert!(
            found[0]
                .message
                .contains("built `FROM` the stage that builds (`build`)")
        );
        let whole = "FROM debian AS build\nRUN apt-get install -y gcc && gcc -o /app app.c\nFROM scratch\nCOPY --from=build / /\nCMD [\"/app\"]\n";
        let found = lint_rule("LW301", whole);
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("copies the whole filesystem"));
        let one_file = whole.replace("COPY --from=build / /", "COPY --from=build /app /app");
        assert!(lint_rule("LW301", &one_file).is_empty());
    }

    #[test]
    fn a_sketch_is_never_applied() {
        let text = "FROM golang:1.22\nRUN go build -o /bin/app .\nCMD [\"/bin/app\"]\n";
        assert_eq!(lint_rule("LW301", text).len(), 1);
        assert_eq!(fix_rule("LW301", text, true), text);
    }
}
