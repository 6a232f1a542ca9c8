//! The lint engine: what every rule needs about a file computed once (stages, which stages end
//! up in the image, the parsed shell of every RUN), then each rule's check.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use fnv::FnvHashMap;

use crate::config::Config;
use crate::diagnostic::Diagnostic;
use crate::fix::{FileChange, Style};
use crate::rules;
use crate::shell::{self, Script, ShellError};
use crate::suppress::Suppressions;
use crate::syntax::{Dockerfile, Instruction, Keyword, Stage};

/// Where the file lives, which decides its build context.
#[derive(Clone, Debug, Default)]
pub struct LintOptions {
    /// The Dockerfile's path; its folder is the context unless `context` says otherwise.
    pub path: Option<PathBuf>,
    pub context: Option<PathBuf>,
    /// Run only these rules (IDs); all when `None`.
    pub only: Option<Vec<String>>,
    /// Files the context rules see instead of the disk's (a `.dockerignore` a fix will write).
    pub overlay: Vec<(PathBuf, String)>,
    /// The config file that applies (`None`: the defaults).
    pub config: Option<Arc<Config>>,
}

impl LintOptions {
    pub fn for_path(path: impl Into<PathBuf>) -> Self {
        LintOptions {
            path: Some(path.into()),
            ..LintOptions::default()
        }
    }

    /// Applies a fix's file change to the overlay; false when it changes nothing.
    pub fn overlay_change(&mut self, change: &FileChange) -> bool {
        let current = self.overlay.iter().position(|(p, _)| p == change.path());
        let (path, text) = match (change, current) {
            (FileChange::Create { path, text }, None) => (path.clone(), text.clone()),
            (FileChange::Create { .. }, Some(_)) => return false,
            (FileChange::Append { path, text }, Some(i)) => {
                let mut old = self.overlay.remove(i).1;
                old.push_str(text);
                (path.clone(), old)
            }
            (FileChange::Append { path, text }, None) => {
                let mut old = std::fs::read_to_string(path).unwrap_or_default();
                old.push_str(text);
                (path.clone(), old)
            }
        };
        self.overlay.push((path, text));
        true
    }

    /// A file of the context, as a fix run sees it: the overlay first, then the disk.
    pub fn read(&self, path: &Path) -> Option<String> {
        match self.overlay.iter().find(|(p, _)| p == path) {
            Some((_, text)) => Some(text.clone()),
            None => std::fs::read_to_string(path).ok(),
        }
    }
}

/// A build stage with what the rules ask of it.
#[derive(Debug)]
pub struct StageInfo<'a> {
    pub stage: Stage<'a>,
    /// The earlier stage this one is built `FROM`, if any.
    pub parent: Option<usize>,
    /// The final stage or one of its ancestors: its layers are in the image.
    pub in_final_image: bool,
    /// At the stage's start, RUN goes to a POSIX shell (not `SHELL ["powershell", …]` or the
    /// `cmd` of a Windows image, whose files say `# escape=``).
    pub posix_shell: bool,
    /// The stage's USER instructions: found here once rather than by a scan per finding.
    pub users: Vec<&'a Instruction>,
}

pub struct LintContext<'a> {
    pub df: &'a Dockerfile,
    pub options: &'a LintOptions,
    pub path: Option<&'a Path>,
    /// The build context folder, when the file is on disk.
    pub context: Option<PathBuf>,
    pub stages: Vec<StageInfo<'a>>,
    /// How the file formats continuations, for generated text.
    pub style: Style,
    /// Parsed scripts of RUN instructions, by the instruction's start offset.
    scripts: Vec<(usize, Script)>,
    /// RUNs for a POSIX shell whose script did not parse, by start offset.
    pub shell_errors: Vec<(usize, ShellError)>,
    /// The file's ignore comments.
    pub suppressions: Suppressions,
}

impl<'a> LintContext<'a> {
    pub fn new(df: &'a Dockerfile, options: &'a LintOptions) -> Self {
        let stages = stage_infos(df);
        let mut scripts = Vec::new();
        let mut shell_errors = Vec::new();
        for info in &stages {
            let mut posix = info.posix_shell;
            for inst in &info.stage.instructions {
                posix = shell_change(inst).unwrap_or(posix);
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
        let context = options.context.clone().or_else(|| {
            let parent = options.path.as_deref()?.parent()?;
            Some(if parent.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                parent.to_path_buf()
            })
        });
        LintContext {
            df,
            options,
            path: options.path.as_deref(),
            context,
            stages,
            style: Style::of(df),
            scripts,
            shell_errors,
            suppressions: Suppressions::parse(df),
        }
    }

    pub fn config(&self) -> &Config {
        self.options
            .config
            .as_deref()
            .unwrap_or_else(|| Config::default_ref())
    }

    /// Whether the caller asked for a rule's findings (`LintOptions::only`).
    pub fn wanted(&self, id: &str) -> bool {
        self.options
            .only
            .as_ref()
            .is_none_or(|only| only.iter().any(|o| o == id))
    }

    /// Whether a rule runs on this file: the config leaves it on, and it is wanted, or an
    /// ignore comment names it and the unused-ignore rule needs to know what it finds.
    pub fn runs(&self, id: &str) -> bool {
        self.config().enabled(id)
            && (self.wanted(id)
                || (self.wanted("LW902") && self.suppressions.named_rules().any(|r| r == id)))
    }

    /// The shell commands of a RUN, when it runs a POSIX shell script that parsed.
    pub fn script(&self, inst: &Instruction) -> Option<&Script> {
        self.scripts
            .binary_search_by_key(&inst.span.start, |(at, _)| *at)
            .ok()
            .map(|i| &self.scripts[i].1)
    }

    pub fn final_stage(&self) -> Option<&StageInfo<'a>> {
        self.stages.last()
    }

    /// The stage and the stages it is built from, oldest first.
    pub fn lineage(&self, stage: usize) -> Vec<usize> {
        let mut chain = vec![stage];
        let mut at = stage;
        // A parent is always an earlier stage, so the chain ends; `parent < at` says so here
        // without a search of the chain at every step (quadratic in a long chain).
        while let Some(parent) = self.stages[at].parent.filter(|&p| p < at) {
            chain.push(parent);
            at = parent;
        }
        chain.reverse();
        chain
    }
}

fn stage_infos(df: &Dockerfile) -> Vec<StageInfo<'_>> {
    let mut infos: Vec<StageInfo<'_>> = Vec::new();
    // Stage names to the first stage of that name: a lookup per stage, not a scan.
    let mut by_name: FnvHashMap<String, usize> = FnvHashMap::default();
    for stage in df.stages() {
        let base = stage.base.to_ascii_lowercase();
        let parent = by_name.get(base.as_str()).copied();
        // A child stage starts with the shell its parent ended with.
        let posix_shell = match parent {
            Some(p) => infos[p]
                .stage
                .instructions
                .iter()
                .fold(infos[p].posix_shell, |posix, i| {
                    shell_change(i).unwrap_or(posix)
                }),
            None => df.escape != '`' && !windows_image(&base),
        };
        if let Some(name) = stage.name.as_deref() {
            by_name.entry(name.to_string()).or_insert(infos.len());
        }
        let users = stage
            .instructions
            .iter()
            .copied()
            .filter(|i| i.keyword == Keyword::User)
            .collect();
        infos.push(StageInfo {
            stage,
            parent,
            in_final_image: false,
            posix_shell,
            users,
        });
    }
    // The final stage and its ancestors end up in the image.
    let mut at = infos.len().checked_sub(1);
    while let Some(i) = at {
        if infos[i].in_final_image {
            break;
        }
        infos[i].in_final_image = true;
        at = infos[i].parent;
    }
    infos
}

/// A Windows base image, whose RUN goes to `cmd` unless a SHELL says otherwise.
fn windows_image(base: &str) -> bool {
    let repository = base.split([':', '@']).next().unwrap_or(base);
    ["windows", "nanoserver", "servercore"]
        .iter()
        .any(|w| repository.contains(w))
}

/// `Some(posix?)` when the instruction is a SHELL.
fn shell_change(inst: &Instruction) -> Option<bool> {
    if inst.keyword != Keyword::Shell {
        return None;
    }
    let first = inst.exec.as_ref()?.first()?;
    let name = first.rsplit(['/', '\\']).next().unwrap_or(first);
    Some(matches!(
        name,
        "sh" | "bash" | "ash" | "dash" | "zsh" | "ksh"
    ))
}

/// Runs every rule over a parsed file, then applies the file's ignore comments and the config's
/// severities. Findings come sorted by position, then rule.
pub fn lint(df: &Dockerfile, options: &LintOptions) -> Vec<Diagnostic> {
    let cx = LintContext::new(df, options);
    let mut out = Vec::new();
    // In ID order, so the ignore-comment rules (LW9xx) see every other rule's findings.
    for rule in rules::ALL.iter().filter(|r| cx.runs(r.id())) {
        rule.check(&cx, &mut out);
    }
    let config = cx.config();
    out.retain(|d| cx.wanted(d.rule) && !cx.suppressions.suppresses(d) && !config.ignores(d));
    for d in &mut out {
        d.severity = config.severity(d.rule, d.severity);
    }
    out.sort_by(|a, b| (a.span.start, a.span.end, a.rule).cmp(&(b.span.start, b.span.end, b.rule)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infos(text: &str) -> Vec<(Option<usize>, bool, bool)> {
        let df = Dockerfile::parse(text);
        stage_infos(&df)
            .iter()
            .map(|s| (s.parent, s.in_final_image, s.posix_shell))
            .collect()
    }

    #[test]
    fn stages_find_their_parent_by_name_and_the_final_image_its_ancestors() {
        let text = "FROM alpine AS Base\n\
                    SHELL [\"pwsh\", \"-c\"]\n\
                    FROM base AS build\n\
                    FROM alpine AS base\n\
                    FROM BASE\n\
                    SHELL [\"/bin/sh\", \"-c\"]\n\
                    FROM build\n";
        assert_eq!(
            infos(text),
            [
                (None, true, true),
                // inherits the shell its parent ended with
                (Some(0), true, false),
                (None, false, true),
                // a repeated name resolves to the first stage of that name
                (Some(0), false, false),
                (Some(1), true, false),
            ]
        );
    }

    #[test]
    fn a_chain_of_many_stages_links_each_to_the_one_before() {
        let mut text = String::from("FROM alpine AS s0\n");
        for i in 1..2000 {
            text.push_str(&format!("FROM s{} AS s{i}\n", i - 1));
        }
        let infos = infos(&text);
        assert_eq!(infos.len(), 2000);
        assert!(
            infos
                .iter()
                .enumerate()
                .all(|(i, s)| s.0 == i.checked_sub(1))
        );
        assert!(infos.iter().all(|s| s.1));
    }
}
