//! The semantic model of a Dockerfile, built once per file from the syntax tree and read by
//! every rule, fix, `measure` and the language server: the stages as BuildKit resolves them,
//! the shell of every RUN, and the build context.

pub mod context;
mod context_scan;
pub mod copies;
pub mod effects;
pub mod order;
pub mod packages;
pub mod paths;
pub mod stages;
pub mod vars;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::shell::{self, Script, ShellError};
use crate::syntax::MappedText;
use crate::syntax::{Dockerfile, Instruction, Keyword};

pub use context::BuildContext;
pub use stages::{Base, Source, StageInfo, Stages, Trigger};
pub use vars::{State, Vars};

/// What the model is built from besides the text.
#[derive(Clone, Debug, Default)]
pub struct ModelInput {
    /// The Dockerfile's path, when it is on disk.
    pub path: Option<PathBuf>,
    /// The build context folder, when known.
    pub context: Option<PathBuf>,
    /// Files of the context a fix run is about to write, seen instead of the disk's.
    pub overlay: Vec<(PathBuf, String)>,
    /// The stage the build targets (`--target`); the last one when `None`.
    pub target: Option<String>,
    /// `--build-arg` values.
    pub build_args: Vec<(String, String)>,
    /// Scripts parsed by earlier lints of this file (the language server's), reused.
    pub scripts: Option<Arc<shell::ScriptCache>>,
}

/// One file, understood.
pub struct Model<'a> {
    pub df: &'a Dockerfile,
    pub path: Option<&'a Path>,
    pub stages: Stages<'a>,
    /// Parsed scripts of RUN instructions, by the instruction's start offset, encoded
    /// (`shell::encoded`): a few bytes each instead of hundreds while every rule runs.
    scripts: Vec<(usize, Box<[u8]>)>,
    /// RUNs for a POSIX shell whose script did not parse, by start offset.
    pub shell_errors: Vec<(usize, ShellError)>,
    /// What is in effect at each instruction of a stage (before it runs), by start offset: an
    /// index into `state_list`, where instructions in a row that see the same state share one.
    states: Vec<(usize, usize)>,
    state_list: Vec<State>,
    /// The ARGs before the first FROM.
    pub globals: Vars,
    /// The build context, when the file has one.
    pub context: Option<BuildContext>,
    /// The stable steps after whole-context copies, found on first use.
    stable: std::sync::OnceLock<Vec<order::StableStep<'a>>>,
    /// The script decoded last, by its RUN's start: a rule reading a RUN asks for its script
    /// again and again (its effects, where its script ends), one RUN after another.
    decoded: Mutex<Option<(usize, Arc<Script>)>>,
}

impl<'a> Model<'a> {
    pub fn new(df: &'a Dockerfile, input: &'a ModelInput) -> Model<'a> {
        let (stages, globals) = resolve_stages(df, input.target.as_deref(), &input.build_args);
        let mut scripts = Vec::new();
        let mut shell_errors = Vec::new();
        let mut states = Vec::new();
        let mut state_list: Vec<State> = Vec::new();
        // Each stage's state after its last instruction: what a stage built on it starts with.
        let mut finals: Vec<State> = Vec::with_capacity(stages.len());
        for info in &stages.list {
            let mut state = match info.parent {
                Some(p) => State {
                    vars: Arc::new(finals[p].vars.envs()),
                    ..finals[p].clone()
                },
                None => State {
                    workdir: (info.base == Base::Scratch).then(|| Arc::from("/")),
                    user: None,
                    posix: info.posix_shell,
                    vars: Arc::default(),
                },
            };
            for inst in &info.stage.instructions {
                if state_list.last().is_none_or(|last| !last.same(&state)) {
                    state_list.push(state.clone());
                }
                states.push((inst.span().start, state_list.len() - 1));
                match inst.keyword {
                    Keyword::Run if state.posix => {
                        // The shell starts in the WORKDIR, with PWD saying so.
                        let lookup = |name: &str| match name {
                            "PWD" => state.workdir.as_deref().map(str::to_string),
                            _ => state.var(name).map(str::to_string),
                        };
                        let parse = |s: MappedText| match &input.scripts {
                            Some(cache) => cache.parse_with(&s, &lookup),
                            None => shell::parse_with(&s, &lookup),
                        };
                        match shell::run_script(inst, df.text()).map(parse) {
                            Some(Ok(script)) => {
                                let code =
                                    shell::encoded::encode(&script, inst.span().start, df.text());
                                scripts.push((inst.span().start, code));
                            }
                            Some(Err(e)) => shell_errors.push((inst.span().start, e)),
                            None => {}
                        }
                    }
                    Keyword::Arg => {
                        vars::declare_args(
                            inst,
                            Arc::make_mut(&mut state.vars),
                            Some(&globals),
                            &input.build_args,
                        );
                    }
                    Keyword::Env => vars::declare_env(inst, Arc::make_mut(&mut state.vars)),
                    Keyword::Workdir => {
                        let dir = first_word_expanded(inst, &state.vars);
                        state.workdir = match (dir, &state.workdir) {
                            (Some(d), _) if d.starts_with('/') => {
                                Some(Arc::from(paths::resolve("/", &d)))
                            }
                            (Some(d), Some(current)) => {
                                Some(Arc::from(paths::resolve(current, &d)))
                            }
                            _ => None,
                        };
                    }
                    Keyword::User => {
                        state.user = first_word_expanded(inst, &state.vars).map(Arc::from);
                    }
                    Keyword::Shell => {
                        state.posix = stages::shell_change(inst).unwrap_or(state.posix);
                    }
                    _ => {}
                }
            }
            finals.push(state);
        }
        // ONBUILD triggers run in later stages but sit earlier in the file: back into file order
        // for the lookups (a trigger run by two stages keeps the state of the first).
        states.sort_by_key(|(at, _)| *at);
        states.dedup_by_key(|(at, _)| *at);
        scripts.sort_by_key(|(at, _)| *at);
        scripts.dedup_by_key(|(at, _)| *at);
        scripts.shrink_to_fit();
        shell_errors.sort_by_key(|(at, _)| *at);
        shell_errors.dedup_by_key(|(at, _)| *at);
        let root = input.context.clone().or_else(|| {
            let parent = input.path.as_deref()?.parent()?;
            Some(if parent.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                parent.to_path_buf()
            })
        });
        let context =
            root.map(|root| BuildContext::new(root, input.path.clone(), input.overlay.clone()));
        Model {
            df,
            path: input.path.as_deref(),
            stages,
            scripts,
            shell_errors,
            states,
            state_list,
            globals,
            context,
            stable: std::sync::OnceLock::new(),
            decoded: Mutex::new(None),
        }
    }

    /// RUNs after a COPY of the whole context that read nothing of it (see [`order`]).
    pub fn stable_steps(&self) -> &[order::StableStep<'a>] {
        self.stable.get_or_init(|| order::stable_steps(self))
    }

    /// The shell commands of a RUN, when it runs a POSIX shell script that parsed: decoded
    /// unless it was the last one asked for (a decode is some hundreds of nanoseconds).
    pub fn script(&self, inst: &Instruction) -> Option<Arc<Script>> {
        let at = inst.span().start;
        let mut decoded = self.decoded.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((last, script)) = &*decoded
            && *last == at
        {
            return Some(script.clone());
        }
        let i = self.scripts.binary_search_by_key(&at, |(at, _)| *at).ok()?;
        let script = shell::encoded::decode(&self.scripts[i].1, at, self.df.text());
        debug_assert!(script.is_some(), "a script the model encoded decodes");
        let script = Arc::new(script?);
        *decoded = Some((at, script.clone()));
        Some(script)
    }

    /// The stage the build produces.
    pub fn final_stage(&self) -> Option<&StageInfo<'a>> {
        self.stages.target.map(|t| &self.stages.list[t])
    }

    /// The stage and the stages it is built from, oldest first.
    pub fn lineage(&self, stage: usize) -> Vec<usize> {
        self.stages.lineage(stage)
    }

    /// What is in effect when an instruction of a stage runs: WORKDIR, USER, shell, variables.
    pub fn state(&self, inst: &Instruction) -> Option<&State> {
        self.states
            .binary_search_by_key(&inst.span().start, |(at, _)| *at)
            .ok()
            .map(|i| &self.state_list[self.states[i].1])
    }

    /// What a COPY or ADD brings in and where it goes; `None` for other instructions.
    pub fn copy(&self, inst: &Instruction) -> Option<copies::Copy> {
        copies::read(inst, self.state(inst), &self.stages)
    }

    /// What a RUN does, command by command (empty when its script is not known).
    pub fn effects(&self, inst: &Instruction) -> Vec<effects::Effect> {
        let (Some(script), Some(state)) = (self.script(inst), self.state(inst)) else {
            return Vec::new();
        };
        // A home folder is known for root only; caches of another user's home are skipped.
        let home = if state.root() { "/root" } else { "~" };
        // What is written below a `--mount` target never lands in the layer.
        let mounts: Vec<String> = inst
            .flag_values("mount")
            .filter_map(|m| stages::mount_field(m, "target").or(stages::mount_field(m, "dst")))
            .filter_map(|t| match (t.starts_with('/'), state.workdir.as_deref()) {
                (true, _) => Some(paths::resolve("/", t)),
                (false, Some(w)) => Some(paths::resolve(w, t)),
                (false, None) => None,
            })
            .collect();
        let mounted = |e: &effects::Effect| {
            let path = match &e.kind {
                effects::EffectKind::Creates { path, .. }
                | effects::EffectKind::Removes { path }
                | effects::EffectKind::Changes { path, .. } => path,
                effects::EffectKind::Packages { .. } => return false,
            };
            let path = path.strip_suffix("/*").unwrap_or(path);
            mounts.iter().any(|m| paths::within(path, m))
        };
        script
            .commands
            .iter()
            .enumerate()
            .flat_map(|(i, command)| {
                let cwd = match command.var("PWD") {
                    Some(pwd) => pwd,
                    None => state.workdir.as_deref(),
                };
                effects::of_command(i, command, cwd, home)
            })
            .filter(|e| !mounted(e))
            .collect()
    }

    /// Whether an instruction runs as root (the base image's default user is taken to be).
    pub fn runs_as_root(&self, inst: &Instruction) -> bool {
        self.state(inst).is_none_or(State::root)
    }
}

/// The stages of a file as a build of `target` with these `--build-arg`s resolves them (FROM
/// lines see the global ARGs), and those global ARGs. The one stage resolution lint, fix, the
/// language server and `measure` use.
pub fn resolve_stages<'a>(
    df: &'a Dockerfile,
    target: Option<&str>,
    build_args: &vars::BuildArgs,
) -> (Stages<'a>, Vars) {
    let preamble: Vec<&Instruction> = df
        .instructions()
        .take_while(|i| i.keyword != Keyword::From)
        .collect();
    let globals = vars::global_args(&preamble, build_args);
    let stages = Stages::new(df, target, &|base| globals.expand(base));
    (stages, globals)
}

/// The first word of a WORKDIR or USER, expanded; `None` when it uses an unknown variable.
fn first_word_expanded(inst: &Instruction, vars: &Vars) -> Option<String> {
    let word = inst.words().into_iter().next()?;
    let raw = inst.line.as_str().get(word.range)?;
    vars.expand(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of `name` in the environment of the RUN on line `line` (1-based).
    fn var_at(text: &str, line: usize, name: &str, build_args: &[(&str, &str)]) -> Option<String> {
        let df = Dockerfile::parse(text);
        let input = ModelInput {
            build_args: build_args
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..ModelInput::default()
        };
        let model = Model::new(&df, &input);
        let inst = df
            .instructions()
            .find(|i| df.position(i.span().start).line + 1 == line)
            .expect("an instruction on that line");
        model.state(inst)?.var(name).map(str::to_string)
    }

    #[test]
    fn a_global_arg_is_seen_in_a_stage_only_when_declared_again() {
        let text = "ARG V=1\nFROM a\nRUN echo $V\nARG V\nRUN echo $V\n";
        assert_eq!(var_at(text, 3, "V", &[]), None);
        assert_eq!(var_at(text, 5, "V", &[]).as_deref(), Some("1"));
        assert_eq!(var_at(text, 5, "V", &[("V", "2")]).as_deref(), Some("2"));
    }

    #[test]
    fn a_child_stage_inherits_env_but_not_args() {
        let text = "FROM a AS base\nARG A=1\nENV E=2\nFROM base\nRUN true\n";
        assert_eq!(var_at(text, 5, "A", &[]), None);
        assert_eq!(var_at(text, 5, "E", &[]).as_deref(), Some("2"));
    }

    #[test]
    fn from_lines_see_global_args_and_resolve_stages_through_them() {
        let df = Dockerfile::parse("ARG BASE=builder\nFROM alpine AS builder\nFROM ${BASE}\n");
        let (stages, _) = resolve_stages(&df, None, &[]);
        assert_eq!(stages[1].parent, Some(0));
        let (stages, _) = resolve_stages(&df, None, &[("BASE".into(), "debian".into())]);
        assert_eq!(stages[1].base, Base::Image("debian".into()));
    }

    #[test]
    fn workdir_and_user_follow_the_stage_and_its_parents() {
        let text = "FROM scratch AS a\nWORKDIR app\nENV D=/srv\nUSER $U\nFROM a\nWORKDIR ${D}/x\nUSER 1000\nRUN true\nFROM debian\nWORKDIR rel\nRUN true\n";
        let df = Dockerfile::parse(text);
        let input = ModelInput::default();
        let model = Model::new(&df, &input);
        let at = |line: usize| {
            let inst = df
                .instructions()
                .find(|i| df.position(i.span().start).line + 1 == line)
                .unwrap();
            model.state(inst).unwrap().clone()
        };
        // scratch starts at `/`; an unknown user stays unknown (not root).
        assert_eq!(at(3).workdir.as_deref(), Some("/app"));
        assert_eq!(at(5 + 1).user, None);
        assert_eq!(at(8).workdir.as_deref(), Some("/srv/x"));
        assert_eq!(at(8).user.as_deref(), Some("1000"));
        assert!(!at(8).root());
        // An image's own WORKDIR is unknown, so a relative one is too.
        assert_eq!(at(11).workdir, None);
    }

    #[test]
    fn run_scripts_expand_known_variables_and_split_them() {
        let text = "FROM a\nARG FLAGS=\"-y --no-install-recommends\"\nENV L=/var/lib/apt/lists\n\
                    RUN apt-get install ${FLAGS} curl \"$FLAGS\" && rm -rf ${L}/* $UNKNOWN\n";
        let df = Dockerfile::parse(text);
        let input = ModelInput::default();
        let model = Model::new(&df, &input);
        let run = df.instructions().last().unwrap();
        let script = model.script(run).unwrap();
        let install: Vec<&str> = script.commands[0]
            .args()
            .iter()
            .map(|w| w.value())
            .collect();
        assert_eq!(
            install,
            [
                "install",
                "-y",
                "--no-install-recommends",
                "curl",
                "-y --no-install-recommends"
            ]
        );
        let rm: Vec<(&str, bool)> = script.commands[1]
            .args()
            .iter()
            .map(|w| (w.value(), w.literal()))
            .collect();
        assert_eq!(
            rm,
            [
                ("-rf", true),
                ("/var/lib/apt/lists/*", true),
                ("$UNKNOWN", false)
            ]
        );
    }

    #[test]
    fn the_script_s_own_exports_and_cd_are_followed() {
        let text = "FROM a\nWORKDIR /w\nRUN export A=1 && B=2 && (C=3) && cd sub && x $A $B $C && if y; then D=4; fi && z $D\n";
        let df = Dockerfile::parse(text);
        let input = ModelInput::default();
        let model = Model::new(&df, &input);
        let run = df.instructions().last().unwrap();
        let script = model.script(run).unwrap();
        let x = script
            .commands
            .iter()
            .find(|c| c.name() == Some("x"))
            .unwrap();
        let args: Vec<&str> = x.args().iter().map(|w| w.value()).collect();
        // A subshell's assignment does not survive it.
        assert_eq!(args, ["1", "2", "$C"]);
        assert_eq!(x.var("PWD"), Some(Some("/w/sub")));
        let z = script
            .commands
            .iter()
            .find(|c| c.name() == Some("z"))
            .unwrap();
        // Set in a branch: maybe set, so unknown.
        assert_eq!(z.args().first().unwrap().value(), "$D");
        assert_eq!(z.var("D"), Some(None));
    }
}
