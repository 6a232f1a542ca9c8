//! The semantic model of a Dockerfile, built once per file from the syntax tree and read by
//! every rule, fix, `measure` and the language server: the stages as BuildKit resolves them,
//! the shell of every RUN, and the build context.

pub mod context;
mod context_scan;
pub mod paths;
pub mod stages;

use std::path::{Path, PathBuf};

use crate::shell::{self, Script, ShellError};
use crate::syntax::{Dockerfile, Instruction, Keyword};

pub use context::BuildContext;
pub use stages::{Base, Source, StageInfo, Stages};

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
}

/// One file, understood.
pub struct Model<'a> {
    pub df: &'a Dockerfile,
    pub path: Option<&'a Path>,
    pub stages: Stages<'a>,
    /// Parsed scripts of RUN instructions, by the instruction's start offset.
    scripts: Vec<(usize, Script)>,
    /// RUNs for a POSIX shell whose script did not parse, by start offset.
    pub shell_errors: Vec<(usize, ShellError)>,
    /// The build context, when the file has one.
    pub context: Option<BuildContext>,
}

impl<'a> Model<'a> {
    pub fn new(df: &'a Dockerfile, input: &'a ModelInput) -> Model<'a> {
        let stages = Stages::new(df, input.target.as_deref());
        let mut scripts = Vec::new();
        let mut shell_errors = Vec::new();
        for info in &stages.list {
            let mut posix = info.posix_shell;
            for inst in &info.stage.instructions {
                posix = stages::shell_change(inst).unwrap_or(posix);
                if !posix || inst.keyword != Keyword::Run {
                    continue;
                }
                match shell::run_script(inst, df.text()).map(|s| shell::parse(&s)) {
                    Some(Ok(script)) => scripts.push((inst.span.start, script)),
                    Some(Err(e)) => shell_errors.push((inst.span.start, e)),
                    None => {}
                }
            }
        }
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
            context,
        }
    }

    /// The shell commands of a RUN, when it runs a POSIX shell script that parsed.
    pub fn script(&self, inst: &Instruction) -> Option<&Script> {
        self.scripts
            .binary_search_by_key(&inst.span.start, |(at, _)| *at)
            .ok()
            .map(|i| &self.scripts[i].1)
    }

    /// The stage the build produces.
    pub fn final_stage(&self) -> Option<&StageInfo<'a>> {
        self.stages.target.map(|t| &self.stages.list[t])
    }

    /// The stage and the stages it is built from, oldest first.
    pub fn lineage(&self, stage: usize) -> Vec<usize> {
        self.stages.lineage(stage)
    }
}
