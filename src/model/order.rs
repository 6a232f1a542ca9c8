//! Whether two instructions of a stage may trade places: what each needs from the ones before
//! it (the programs it calls, the files it reads, the environment, folder, user and shell it
//! runs with) and what it gives the ones after it (programs it installs, files it writes).
//! Fixes that move a RUN ask here; where it cannot be told, the answer is no.

use crate::knowledge::programs::{always_there, builtin, provides};
use crate::model::Model;
use crate::model::effects::{Creation, EffectKind};
use crate::model::packages::{Action, classify};
use crate::model::paths::copies_whole_context;
use crate::shell::Command;
use crate::syntax::{Instruction, Keyword};
use crate::unixpath::{resolve, within};

/// Places of the image an instruction reads or writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Area {
    Places(Vec<Place>),
    /// Anything: what it touches cannot be told.
    Everything,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// A path and everything below it.
    Tree(String),
    /// The operating system's own folders, where package managers read and write (`/usr`,
    /// `/etc`, `/var`, …, but not `/home`, `/usr/src` or an application's folder such as `/app`).
    System,
}

/// What an instruction needs and gives, as far as it can be told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Footprint {
    /// The programs it calls by name; `None` when a program comes from an expansion.
    pub calls: Option<Vec<String>>,
    /// What it makes callable: packages installed (the knowledge says which programs they
    /// hold), or `None` when that cannot be told (a script, a language's package manager, a
    /// copy onto the PATH).
    pub installs: Option<Vec<String>>,
    /// Names it may put ahead on the PATH, over a program that was there already (a copy
    /// onto a folder of the PATH); `None` when any name may be.
    pub shadows: Option<Vec<String>>,
    pub reads: Area,
    pub writes: Area,
    /// It resolves a relative path against the working folder.
    pub uses_workdir: bool,
    /// What else it sets for the instructions after it.
    pub sets: Sets,
}

/// What an instruction sets for the ones after it besides files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sets {
    Nothing,
    /// ENV or ARG: the environment every later RUN's programs see.
    Environment,
    Workdir,
    User,
    Shell,
    /// VOLUME: what later RUNs write below it is dropped.
    Volume,
    /// FROM, ONBUILD, an instruction this does not know: never crossed.
    Barrier,
}

/// Why an instruction cannot move across another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blocker {
    /// The 1-based line of the instruction in the way.
    pub line: usize,
    pub keyword: &'static str,
    pub why: String,
}

impl std::fmt::Display for Blocker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the {} on line {} {}", self.keyword, self.line, self.why)
    }
}

impl Footprint {
    fn unknown() -> Footprint {
        Footprint {
            calls: None,
            installs: None,
            shadows: Some(Vec::new()),
            reads: Area::Everything,
            writes: Area::Everything,
            uses_workdir: true,
            sets: Sets::Nothing,
        }
    }

    fn nothing() -> Footprint {
        Footprint {
            calls: Some(Vec::new()),
            installs: Some(Vec::new()),
            shadows: Some(Vec::new()),
            reads: Area::Places(Vec::new()),
            writes: Area::Places(Vec::new()),
            uses_workdir: false,
            sets: Sets::Nothing,
        }
    }

    fn setting(sets: Sets) -> Footprint {
        Footprint {
            sets,
            ..Footprint::nothing()
        }
    }

    /// Whether what it calls, reads and writes is known.
    pub fn known(&self) -> bool {
        self.calls.is_some() && self.reads != Area::Everything && self.writes != Area::Everything
    }

    /// Whether it touches (reads or writes) anything at or below `path`.
    pub fn touches(&self, path: &str) -> bool {
        let tree = Place::Tree(path.to_string());
        overlaps(&self.reads, &Area::Places(vec![tree.clone()]))
            || overlaps(&self.writes, &Area::Places(vec![tree]))
    }

    fn add_call(&mut self, program: &str) {
        if let Some(calls) = &mut self.calls
            && !calls.iter().any(|c| c == program)
        {
            calls.push(program.to_string());
        }
    }

    fn read(&mut self, place: Place) {
        if let Area::Places(places) = &mut self.reads {
            places.push(place);
        }
    }

    fn write(&mut self, place: Place) {
        if let Area::Places(places) = &mut self.writes {
            places.push(place);
        }
    }

    /// Both ways: reads and writes anything.
    fn touch_everything(&mut self) {
        self.reads = Area::Everything;
        self.writes = Area::Everything;
    }
}

/// What an instruction needs and gives.
pub fn footprint(model: &Model<'_>, inst: &Instruction) -> Footprint {
    if inst.onbuild().is_some() || model.stages.trigger(inst).is_some() {
        return Footprint::setting(Sets::Barrier);
    }
    match inst.keyword {
        Keyword::Run => match model.script(inst) {
            Some(script) => {
                let mut print = Footprint::nothing();
                for command in &script.commands {
                    add_command(model, inst, command, &mut print);
                }
                run_flags(inst, &mut print);
                print
            }
            None => Footprint::unknown(),
        },
        Keyword::Copy | Keyword::Add => copy_footprint(model, inst),
        Keyword::Env | Keyword::Arg => Footprint::setting(Sets::Environment),
        Keyword::Workdir => {
            let mut print = Footprint::setting(Sets::Workdir);
            // WORKDIR makes its folder.
            let state = model.state(inst);
            let dir = inst.words().into_iter().next().and_then(|w| {
                let raw = inst.line.as_str().get(w.range)?;
                let expanded = state?.vars.expand(raw)?;
                if expanded.starts_with('/') {
                    return Some(resolve("/", &expanded));
                }
                Some(resolve(state?.workdir.as_deref()?, &expanded))
            });
            match dir {
                Some(dir) => print.write(Place::Tree(dir)),
                None => print.writes = Area::Everything,
            }
            print
        }
        Keyword::User => Footprint::setting(Sets::User),
        Keyword::Shell => Footprint::setting(Sets::Shell),
        Keyword::Volume => Footprint::setting(Sets::Volume),
        Keyword::Label
        | Keyword::Expose
        | Keyword::Cmd
        | Keyword::Entrypoint
        | Keyword::Healthcheck
        | Keyword::Stopsignal
        | Keyword::Maintainer => Footprint::nothing(),
        _ => Footprint::setting(Sets::Barrier),
    }
}

/// The footprint of one command of a RUN, as if it ran alone (the RUN's flags count too).
pub fn command_footprint(model: &Model<'_>, inst: &Instruction, command: &Command) -> Footprint {
    let mut print = Footprint::nothing();
    add_command(model, inst, command, &mut print);
    run_flags(inst, &mut print);
    print
}

/// `RUN --mount`: a bind mount brings files of the context or a stage (what it reads cannot be
/// told); a cache or tmpfs mount keeps what is below it out of the layer, wherever it runs.
fn run_flags(inst: &Instruction, print: &mut Footprint) {
    let binds = inst.flag_values("mount").any(|m| {
        let kind = crate::model::stages::mount_field(m, "type").unwrap_or("bind");
        kind == "bind"
    });
    if binds {
        print.touch_everything();
    }
}

/// Whether instruction `b`, now right after `a`, may run before it instead (or `a` after `b`):
/// the reason when not.
pub fn blocker(
    model: &Model<'_>,
    moved: &Footprint,
    other: &Instruction,
    other_print: &Footprint,
) -> Option<Blocker> {
    let line = model.df.position(other.span().start).line + 1;
    let blocked = |why: String| {
        Some(Blocker {
            line,
            keyword: other.keyword.as_str(),
            why,
        })
    };
    match other_print.sets {
        Sets::Nothing => {}
        Sets::Environment => {
            return blocked("sets variables its programs may read".into());
        }
        Sets::Workdir if moved.uses_workdir => {
            return blocked("changes the folder it runs in".into());
        }
        Sets::Workdir => {}
        Sets::User => return blocked("changes the user it runs as".into()),
        Sets::Shell => return blocked("changes the shell it runs in".into()),
        Sets::Volume if moved.writes != Area::Places(Vec::new()) => {
            return blocked("declares a volume, below which writes are dropped".into());
        }
        Sets::Volume => {}
        Sets::Barrier => return blocked("cannot be crossed".into()),
    }
    if let Some(why) =
        program_clash(moved, other_print).or_else(|| program_clash(other_print, moved))
    {
        return blocked(why);
    }
    let files = overlaps(&moved.reads, &other_print.writes)
        || overlaps(&moved.writes, &other_print.reads)
        || overlaps(&moved.writes, &other_print.writes);
    if files {
        let why = if other_print.writes == Area::Everything || other_print.reads == Area::Everything
        {
            "does what cannot be told, and may make or use what it needs"
        } else if moved.reads == Area::Everything || moved.writes == Area::Everything {
            "writes files, and which files it reads cannot be told"
        } else {
            "writes where it reads or writes"
        };
        return blocked(why.into());
    }
    None
}

/// Whether `giver` may install a program `user` calls, or put another of the same name ahead
/// on the PATH.
fn program_clash(user: &Footprint, giver: &Footprint) -> Option<String> {
    let none = Some(Vec::new());
    if giver.installs == none {
        return None;
    }
    let Some(calls) = &user.calls else {
        return Some("installs programs, and which it calls cannot be told".into());
    };
    for program in calls.iter().filter(|p| !always_there(p)) {
        let given = match &giver.installs {
            None => None,
            Some(packages) => {
                let answers: Vec<Option<bool>> =
                    packages.iter().map(|p| provides(p, program)).collect();
                if answers.contains(&Some(true)) {
                    Some(true)
                } else if answers.contains(&None) {
                    None
                } else {
                    Some(false)
                }
            }
        };
        match given {
            Some(false) => {}
            Some(true) => return Some(format!("installs `{program}`, which it calls")),
            None => return Some(format!("may install `{program}`, which it calls")),
        }
    }
    if giver.shadows != none
        && let Some(calls) = &user.calls
    {
        let shadowed = calls
            .iter()
            .find(|p| !builtin(p) && giver.shadows.as_ref().is_none_or(|names| names.contains(p)));
        if let Some(program) = shadowed {
            return Some(format!(
                "puts programs on the PATH, and may put another `{program}` there, which it calls"
            ));
        }
    }
    None
}

/// Whether two areas share a place.
pub fn overlaps(a: &Area, b: &Area) -> bool {
    match (a, b) {
        (Area::Places(a), Area::Places(b)) => a.iter().any(|x| b.iter().any(|y| meet(x, y))),
        (Area::Places(p), Area::Everything) | (Area::Everything, Area::Places(p)) => !p.is_empty(),
        (Area::Everything, Area::Everything) => true,
    }
}

fn meet(a: &Place, b: &Place) -> bool {
    match (a, b) {
        (Place::System, Place::System) => true,
        (Place::System, Place::Tree(p)) | (Place::Tree(p), Place::System) => system(p),
        (Place::Tree(a), Place::Tree(b)) => within(a, b) || within(b, a),
    }
}

/// Top folders of the operating system, where packages install and their scripts write.
/// (`/tmp`, `/mnt` and `/media` are scratch: nothing a package does reads what is put there.)
const SYSTEM: &[&str] = &[
    "bin", "boot", "dev", "etc", "lib", "lib32", "lib64", "libx32", "opt", "proc", "root", "run",
    "sbin", "srv", "sys", "usr", "var",
];

/// Folders of the system tree that packages leave alone.
const NOT_SYSTEM: &[&str] = &["/usr/src", "/usr/local/src"];

/// Whether the tree at `path` meets the system's folders.
fn system(path: &str) -> bool {
    let top = path.trim_start_matches('/').split('/').next().unwrap_or("");
    top.is_empty() || (SYSTEM.contains(&top) && !NOT_SYSTEM.iter().any(|n| within(path, n)))
}

/// Folders on every image's default PATH.
const PATH_DIRS: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

fn copy_footprint(model: &Model<'_>, inst: &Instruction) -> Footprint {
    let mut print = Footprint::nothing();
    let Some(copy) = model.copy(inst) else {
        return Footprint::unknown();
    };
    // `--chown=app` reads the image's users and groups.
    if copy.chown.as_deref().is_some_and(|c| {
        !c.split(':')
            .all(|p| p.chars().all(|ch| ch.is_ascii_digit()))
    }) {
        print.read(Place::System);
    }
    let Some(dest) = copy.dest_abs.clone() else {
        print.writes = Area::Everything;
        print.installs = None;
        return print;
    };
    // Onto the PATH (the default one, or what an ENV made it), it installs programs.
    let state = model.state(inst);
    let path_var = state.and_then(|s| s.vars.get("PATH"));
    let on_path = match path_var {
        Some(var) => match &var.value {
            Some(value) => value
                .split(':')
                .filter(|d| d.starts_with('/'))
                .any(|d| within(d, &dest) || within(&dest, d)),
            None => true,
        },
        None => false,
    } || PATH_DIRS
        .iter()
        .any(|d| within(d, &dest) || within(&dest, d));
    if on_path {
        print.installs = None;
        // A file named like a script or a program's data (`entrypoint.sh`) lands under its
        // own name; a folder, the whole context or a pattern may bring any name, and the
        // folder of the PATH it lands in may come before the system's.
        let names: Option<Vec<String>> = copy
            .sources
            .iter()
            .map(|source| {
                let name = source.path.trim_end_matches('/').rsplit('/').next()?;
                let file = name.contains('.')
                    && !name.starts_with('.')
                    && !name.contains(['*', '?', '[', '$']);
                file.then(|| match copy.into_dir {
                    true => name.to_string(),
                    false => copy
                        .dest
                        .trim_end_matches('/')
                        .rsplit('/')
                        .next()
                        .unwrap_or(name)
                        .to_string(),
                })
            })
            .collect();
        print.shadows = names;
    }
    print.write(Place::Tree(dest));
    print
}

/// Commands whose only effect is on the shell itself or its output.
const SHELL_ONLY: &[&str] = &[
    ":", "true", "false", "echo", "printf", "set", "export", "unset", "test", "[", "exit", "sleep",
    "pwd", "which", "type", "hash", "umask", "ulimit", "wait", "id", "whoami", "uname", "date",
    "nproc", "cd",
];

/// Arguments that only ask a program its version: alone, the program writes nothing. (Not
/// `help`: `RUN dotnet help` is how .NET images trigger the SDK's first run, which writes.)
const QUERIES: &[&str] = &["--version", "-version", "-V", "version"];

/// Commands that make or remove the paths they are given (the first operand of chmod and
/// chown is the mode or owner).
const PATH_MAKERS: &[&str] = &[
    "rm", "mkdir", "touch", "rmdir", "ln", "chmod", "chown", "chgrp",
];

/// Commands that change the system's users and groups (and make home folders).
const ACCOUNT_TOOLS: &[&str] = &[
    "useradd", "groupadd", "adduser", "addgroup", "usermod", "groupmod", "userdel", "groupdel",
    "deluser", "delgroup", "chpasswd",
];

/// Commands that read and write system state only.
const SYSTEM_TOOLS: &[&str] = &[
    "update-ca-certificates",
    "locale-gen",
    "ldconfig",
    "update-alternatives",
    "dpkg-reconfigure",
    "apt-mark",
];

fn add_command(model: &Model<'_>, inst: &Instruction, command: &Command, print: &mut Footprint) {
    let text = model.df.slice(command.span());
    // A command substitution or an input redirection reads what cannot be told.
    let hidden = command
        .assigns()
        .iter()
        .chain(command.words())
        .any(|w| w.value().contains("$(") || w.value().contains('`'))
        || text.contains('<');
    if hidden {
        *print = Footprint {
            sets: print.sets,
            ..Footprint::unknown()
        };
        return;
    }
    let cwd = command
        .var("PWD")
        .map(|pwd| pwd.map(str::to_string))
        .unwrap_or_else(|| {
            model
                .state(inst)
                .and_then(|s| s.workdir.as_deref().map(str::to_string))
        });
    // A path as the command names it, placed in the image.
    let place = |word: crate::shell::Word, print: &mut Footprint| -> Option<Place> {
        if !word.literal() {
            return None;
        }
        let value = word.value().trim_end_matches("/*");
        if value.contains(['*', '?', '[']) {
            return None;
        }
        if value.starts_with('/') {
            return Some(Place::Tree(resolve("/", value)));
        }
        if value.starts_with('~') {
            return Some(Place::System);
        }
        print.uses_workdir = true;
        cwd.as_deref().map(|c| Place::Tree(resolve(c, value)))
    };
    for wrapper in command.wrappers() {
        let name = wrapper.value().rsplit('/').next().unwrap_or("");
        if !wrapper.value().starts_with('-') && !wrapper.value().contains('=') {
            print.add_call(name);
        }
    }
    let Some(program) = command.program_words().first() else {
        return;
    };
    if !program.literal() {
        print.calls = None;
        print.installs = None;
        print.touch_everything();
        return;
    }
    let Some(name) = command.name() else { return };
    print.add_call(name);
    if program.value().contains('/') {
        match place(program, print) {
            Some(p) => print.read(p),
            None => print.reads = Area::Everything,
        }
    }
    // What redirections write.
    for target in command.writes() {
        if target.value().starts_with("/dev/") {
            continue;
        }
        match place(target, print) {
            Some(p) => print.write(p),
            None => print.writes = Area::Everything,
        }
    }
    let args = command.args();
    let operands = || args.iter().filter(|w| !w.value().starts_with('-'));
    // `java -version`, `node --version`, `go version`: it answers and writes nothing.
    if !args.is_empty() && args.iter().all(|w| QUERIES.contains(&w.value())) {
        return;
    }
    if let Some(package) = classify(command)
        && package.manager.spec().system
    {
        match package.action {
            Action::Update | Action::Upgrade | Action::Clean | Action::Remove => {}
            Action::Install => {
                let mut names = Vec::new();
                for word in package.packages() {
                    let local = word.value().contains('/')
                        || [".deb", ".rpm", ".apk"]
                            .iter()
                            .any(|e| word.value().ends_with(e));
                    if !word.literal() || local {
                        print.installs = None;
                        print.touch_everything();
                        return;
                    }
                    names.push(word.value().to_string());
                }
                if let Some(installs) = &mut print.installs {
                    installs.extend(names);
                }
            }
            Action::Other => {
                print.installs = None;
                print.touch_everything();
                return;
            }
        }
        print.read(Place::System);
        print.write(Place::System);
        return;
    }
    if SHELL_ONLY.contains(&name) {
        if name == "cd" {
            print.uses_workdir |= operands().any(|w| !w.value().starts_with('/'));
        }
        return;
    }
    if PATH_MAKERS.contains(&name) {
        let skip = usize::from(matches!(name, "chmod" | "chown" | "chgrp"));
        if matches!(name, "chown" | "chgrp") {
            print.read(Place::System);
        }
        for word in operands().skip(skip) {
            match place(word, print) {
                Some(p) => {
                    // A program made callable where the PATH looks.
                    if let Place::Tree(path) = &p
                        && PATH_DIRS.iter().any(|d| within(path, d) || within(d, path))
                    {
                        print.installs = None;
                    }
                    print.write(p.clone());
                    print.read(p);
                }
                None => {
                    print.installs = None;
                    print.touch_everything();
                    return;
                }
            }
        }
        return;
    }
    if ACCOUNT_TOOLS.contains(&name) || SYSTEM_TOOLS.contains(&name) {
        print.read(Place::System);
        print.write(Place::System);
        print.write(Place::Tree("/home".into()));
        for word in args.iter().filter(|w| w.value().starts_with('/')) {
            match place(word, print) {
                Some(p) => print.write(p),
                None => print.writes = Area::Everything,
            }
        }
        return;
    }
    if matches!(name, "curl" | "wget") {
        download(model, inst, command, name, print);
        return;
    }
    // Anything else: a program whose reads, writes and installs cannot be told.
    print.installs = None;
    print.touch_everything();
}

/// A download: it reads nothing of the image but its settings, and writes the file it names.
fn download(
    model: &Model<'_>,
    inst: &Instruction,
    command: &Command,
    name: &str,
    print: &mut Footprint,
) {
    let args = command.args();
    // Options that read a local file: uploads, configs, certificates, `-d @file`.
    let reads_file = args.iter().any(|w| {
        let v = w.value();
        v.starts_with('@')
            || v.contains("=@")
            || [
                "-T",
                "--upload-file",
                "-K",
                "--config",
                "--cacert",
                "--cert",
                "--key",
                "-E",
                "--netrc-file",
                "-i",
                "--input-file",
                "--post-file",
                "--body-file",
                "--load-cookies",
                "-b",
                "--cookie",
                "-c",
                "--cookie-jar",
            ]
            .iter()
            .any(|o| v == *o || v.starts_with(&format!("{o}=")))
    });
    if reads_file {
        print.touch_everything();
        return;
    }
    // Each call decodes the script anew: the command is found by value (its span is its own).
    let index = model
        .script(inst)
        .and_then(|s| s.commands.iter().position(|c| c == command));
    let placed: Vec<String> = index
        .map(|i| {
            model
                .effects(inst)
                .into_iter()
                .filter(|e| e.command == i)
                .filter_map(|e| match e.kind {
                    EffectKind::Creates { path, .. } => Some(path),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let to_stdout = match name {
        "curl" => !args.iter().any(|w| {
            let v = w.value();
            v.starts_with("--output") || v.starts_with("--remote-name") || {
                let short = v.strip_prefix('-').filter(|s| !s.starts_with('-'));
                short.is_some_and(|s| s.contains(['o', 'O']))
            }
        }),
        _ => {
            args.pairs()
                .any(|(a, b)| a.value() == "-O" && b.value() == "-")
                || args.iter().any(|w| {
                    let v = w.value();
                    v == "--output-document=-"
                        || (v.starts_with('-') && !v.starts_with("--") && v.ends_with("O-"))
                })
        }
    };
    if to_stdout {
        return;
    }
    if placed.is_empty() {
        print.writes = Area::Everything;
        print.uses_workdir = true;
        return;
    }
    for path in placed {
        // A program downloaded where the PATH looks.
        if PATH_DIRS.iter().any(|d| within(&path, d)) {
            print.installs = None;
        }
        print.write(Place::Tree(path));
    }
    print.uses_workdir = true;
}

/// Whether `moved` may run before every instruction of `over` instead of after them (they stay
/// in their order): the first reason why not.
pub fn move_before(
    model: &Model<'_>,
    moved: &Footprint,
    over: &[&Instruction],
) -> Result<(), Blocker> {
    for &other in over.iter().rev() {
        let print = footprint(model, other);
        if let Some(b) = blocker(model, moved, other, &print) {
            return Err(b);
        }
    }
    Ok(())
}

/// A RUN after a COPY of the whole build context that reads nothing of it and does work worth
/// keeping above it (LW203), and whether it may move there.
#[derive(Clone, Debug)]
pub struct StableStep<'a> {
    pub run: &'a Instruction,
    /// The whole-context COPY (or ADD) before it.
    pub copy: &'a Instruction,
    /// What it does, for a message: "installs system packages".
    pub work: &'static str,
    /// `Ok` when it may move above the copy together with the other steps after that copy that
    /// may (in their order); else what is in the way.
    pub moves: Result<(), Blocker>,
}

/// The stable steps of every built stage, in file order.
pub fn stable_steps<'a>(model: &Model<'a>) -> Vec<StableStep<'a>> {
    let mut steps = Vec::new();
    for stage in model.stages.iter().filter(|s| s.built) {
        let own: Vec<&'a Instruction> = stage
            .stage
            .instructions
            .iter()
            .copied()
            .filter(|i| model.stages.trigger(i).is_none())
            .collect();
        let copies: Vec<usize> = (0..own.len())
            .filter(|&i| copies_whole_context(own[i]))
            .collect();
        for (n, &at) in copies.iter().enumerate() {
            let end = copies.get(n + 1).copied().unwrap_or(own.len());
            after_copy(model, &own[at..end], &mut steps);
        }
    }
    steps
}

/// One whole-context COPY and the instructions after it, up to the next one.
fn after_copy<'a>(model: &Model<'a>, span: &[&'a Instruction], steps: &mut Vec<StableStep<'a>>) {
    let copy = span[0];
    let Some(dest) = model.copy(copy).and_then(|c| c.dest_abs) else {
        return;
    };
    // What stays in place, nearest last, with what each needs and gives.
    let mut staying: Vec<(&Instruction, Footprint)> = vec![(copy, footprint(model, copy))];
    for &inst in &span[1..] {
        let print = footprint(model, inst);
        let candidate = inst.keyword == Keyword::Run
            && inst.heredocs().is_empty()
            && !inst.is_exec_form()
            // It reads or writes where the context lands: it needs the source.
            && !print.touches(&dest);
        let work = if candidate {
            stable_work(model, inst, &print)
        } else {
            None
        };
        let Some(work) = work else {
            staying.push((inst, print));
            continue;
        };
        let moves = staying
            .iter()
            .rev()
            .find_map(|(other, other_print)| blocker(model, &print, other, other_print))
            .map_or(Ok(()), Err);
        if moves.is_err() {
            staying.push((inst, print));
        }
        steps.push(StableStep {
            run: inst,
            copy,
            work,
            moves,
        });
    }
}

/// What makes a RUN worth keeping above the source, when what it calls, reads and writes is
/// known: it installs or refreshes system packages, or downloads.
fn stable_work(model: &Model<'_>, inst: &Instruction, print: &Footprint) -> Option<&'static str> {
    if !print.known() {
        return None;
    }
    let script = model.script(inst)?;
    let actions: Vec<Action> = script
        .commands
        .iter()
        .filter_map(classify)
        .filter(|p| p.manager.spec().system)
        .map(|p| p.action)
        .collect();
    for (action, work) in [
        (Action::Install, "installs system packages"),
        (Action::Upgrade, "upgrades system packages"),
        (Action::Update, "refreshes the package index"),
    ] {
        if actions.contains(&action) {
            return Some(work);
        }
    }
    let downloads = model.effects(inst).iter().any(|e| {
        matches!(
            e.kind,
            EffectKind::Creates {
                how: Creation::Download,
                ..
            }
        )
    });
    downloads.then_some("downloads files")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelInput;
    use crate::syntax::Dockerfile;

    #[test]
    fn a_copy_onto_the_path_may_bring_another_program_of_the_same_name() {
        // the context's tools/ comes before the system's folders: its apt-get is the one called
        let text = "FROM debian\nENV PATH=/app/tools:$PATH\nWORKDIR /app\nCOPY . /app\nRUN apt-get update\n";
        assert_eq!(
            may_move(text, 5, 4),
            Err(
                "the COPY on line 4 puts programs on the PATH, and may put another `apt-get` \
                 there, which it calls"
                    .into()
            )
        );
        // a script copied by name shadows only its own name; builtins are never shadowed
        let text =
            "FROM debian\nCOPY entrypoint.sh /usr/local/bin/\nRUN mkdir -p /srv/data && echo ok\n";
        assert_eq!(may_move(text, 3, 2), Ok(()));
        let text = "FROM debian\nENV PATH=/app/tools:$PATH\nWORKDIR /app\nCOPY . /app\nRUN echo ok > /tmp/x\n";
        assert_eq!(may_move(text, 5, 4), Ok(()));
    }

    /// Whether the RUN on line `line` may move above the instructions from line `from` to the
    /// one before it, or why not.
    fn may_move(text: &str, line: usize, from: usize) -> Result<(), String> {
        let df = Dockerfile::parse(text);
        let input = ModelInput::default();
        let model = Model::new(&df, &input);
        let at = |l: usize| {
            df.instructions()
                .find(|i| df.position(i.span().start).line + 1 == l)
                .unwrap()
        };
        let moved = footprint(&model, at(line));
        let over: Vec<&Instruction> = df
            .instructions()
            .filter(|i| {
                let l = df.position(i.span().start).line + 1;
                l >= from && l < line
            })
            .collect();
        move_before(&model, &moved, &over).map_err(|b| b.to_string())
    }

    const FIRST_DAY: &str = "FROM debian:bookworm-slim\nWORKDIR /app\nCOPY . /app\n\
        RUN apt-get update\nRUN apt-get install -y python3-pip\n\
        RUN pip3 install --break-system-packages -r requirements.txt\nRUN apt-get clean\n";

    #[test]
    fn an_install_does_not_move_above_the_run_that_installs_its_program() {
        assert_eq!(
            may_move(FIRST_DAY, 6, 5),
            Err("the RUN on line 5 installs `pip3`, which it calls".into())
        );
        // The apt RUNs read nothing the copy brings.
        assert_eq!(may_move(FIRST_DAY, 4, 3), Ok(()));
        assert_eq!(
            may_move(FIRST_DAY, 5, 3),
            Err("the RUN on line 4 writes where it reads or writes".into())
        );
        // A cleanup after pip: pip's writes cannot be told.
        assert_eq!(
            may_move(FIRST_DAY, 7, 6),
            Err(
                "the RUN on line 6 does what cannot be told, and may make or use what it needs"
                    .into()
            )
        );
    }

    #[test]
    fn settings_block_a_move_and_metadata_does_not() {
        let text = "FROM debian\nENV DEBIAN_FRONTEND=noninteractive\nUSER app\nWORKDIR /w\nLABEL a=b\nEXPOSE 80\nRUN apt-get install -y curl\n";
        assert_eq!(may_move(text, 7, 5), Ok(()));
        assert_eq!(
            may_move(text, 7, 4),
            Ok(()),
            "apt-get reads no relative path"
        );
        let build = "FROM debian\nWORKDIR /w\nRUN ./build.sh\n";
        assert_eq!(
            may_move(build, 3, 2),
            Err("the WORKDIR on line 2 changes the folder it runs in".into())
        );
        assert!(
            may_move(text, 7, 3)
                .unwrap_err()
                .contains("changes the user")
        );
        let env = "FROM debian\nENV DEBIAN_FRONTEND=noninteractive\nRUN apt-get install -y curl\n";
        assert_eq!(
            may_move(env, 3, 2),
            Err("the ENV on line 2 sets variables its programs may read".into())
        );
    }

    #[test]
    fn copies_onto_the_path_or_into_the_system_block_a_move() {
        let text = "FROM debian\nCOPY tool /usr/local/bin/\nCOPY conf /etc/apt/\nCOPY . /srv/app\nCOPY . /opt/app\nCOPY . /code\nRUN apt-get install -y curl\n";
        assert_eq!(may_move(text, 7, 6), Ok(()));
        assert!(may_move(text, 7, 5).is_err(), "/opt is the system's");
        assert!(may_move(text, 7, 3).is_err());
        let tool = "FROM debian\nCOPY tool /usr/local/bin/\nRUN mytool --version\n";
        assert!(
            may_move(tool, 3, 2)
                .unwrap_err()
                .contains("may install `mytool`")
        );
    }

    #[test]
    fn unknown_packages_may_install_anything() {
        let text = "FROM debian\nRUN apt-get install -y acme-tools\nRUN acme --go\n";
        assert!(
            may_move(text, 3, 2)
                .unwrap_err()
                .contains("may install `acme`")
        );
        let echo = "FROM debian\nRUN apt-get install -y acme-tools\nRUN echo hi > /etc/motd\n";
        assert_eq!(
            may_move(echo, 3, 2),
            Err("the RUN on line 2 writes where it reads or writes".into())
        );
        let known = "FROM debian\nRUN apt-get install -y curl\nRUN mkdir -p /app/logs\n";
        assert_eq!(may_move(known, 3, 2), Ok(()));
    }
}
