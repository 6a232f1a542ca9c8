//! Build stages as BuildKit resolves them: what each `FROM` builds on, what a `--from` names,
//! which stages the build runs and which end up in the image.
//!
//! BuildKit's rules (frontend/dockerfile/dockerfile2llb): stage names are case-insensitive; a
//! `FROM name` means the latest stage of that name *before* it, and otherwise an image; a
//! `COPY --from` or `RUN --mount from=` name means a stage of that name anywhere in the file
//! (the last one when a name repeats, which BuildKit warns about), an index means the stage
//! with that index, and anything else an image. Only the target stage (the last one unless
//! `--target` names another) and what it depends on are built.

use fnv::FnvHashMap;

use crate::knowledge::shells::is_posix_shell;
use crate::syntax::{Dockerfile, Instruction, Keyword, Stage};

/// What a stage is built on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Base {
    /// An image from a registry (or the daemon), as written after ARG expansion.
    Image(String),
    /// An earlier stage of this file.
    Stage(usize),
    /// The empty image.
    Scratch,
}

/// What a `--from` (or a `RUN --mount from=`) refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Stage(usize),
    Image(String),
}

/// A build stage with what the rules ask of it.
#[derive(Debug)]
pub struct StageInfo<'a> {
    pub stage: Stage<'a>,
    pub base: Base,
    /// The earlier stage this one is built `FROM`, if any.
    pub parent: Option<usize>,
    /// The target stage or one of its ancestors: its layers are in the image.
    pub in_final_image: bool,
    /// The build runs it: the target, or a stage the target needs (through `FROM`, `--from` or a
    /// mount), directly or not. BuildKit skips the others.
    pub built: bool,
    /// A Windows base image (or a file whose `# escape=`` says it is written for one).
    pub windows: bool,
    /// At the stage's start, RUN goes to a POSIX shell (not `SHELL ["powershell", …]` or the
    /// `cmd` of a Windows image).
    pub posix_shell: bool,
    /// The stage's USER instructions: found once rather than by a scan per finding.
    pub users: Vec<&'a Instruction>,
}

/// The stages of a file, resolved.
#[derive(Debug, Default)]
pub struct Stages<'a> {
    pub list: Vec<StageInfo<'a>>,
    /// Stage names to the stages of that name, in order (more than one: BuildKit warns).
    by_name: FnvHashMap<String, Vec<usize>>,
    /// The stage the build produces.
    pub target: Option<usize>,
    /// The ONBUILD triggers, by the start of the instruction each wraps.
    triggers: Vec<Trigger<'a>>,
}

/// An instruction an ONBUILD wraps, and where the build runs it.
#[derive(Debug, Clone)]
pub struct Trigger<'a> {
    /// The wrapped instruction, as it runs.
    pub inner: &'a Instruction,
    /// The `ONBUILD` itself.
    pub wrapper: &'a Instruction,
    /// The stage the ONBUILD is written in.
    pub written_in: usize,
    /// The stages of this file built `FROM` that stage, which run it first; none: it runs in
    /// the images others build on this one.
    pub runs_in: Vec<usize>,
}

impl<'a> Stages<'a> {
    /// Resolves the stages of `df`; `target` is `--target` (the last stage when `None`; no
    /// stage when no stage has that name, as the build then fails).
    /// `expand` gives a FROM's image with the global ARGs expanded, when they are known.
    pub fn new(
        df: &'a Dockerfile,
        target: Option<&str>,
        expand: &dyn Fn(&str) -> Option<String>,
    ) -> Stages<'a> {
        let mut stages = Stages::default();
        for stage in df.stages() {
            let index = stages.list.len();
            let image = expand(&stage.base).unwrap_or_else(|| stage.base.clone());
            let base = stages.base_of(&image, index);
            let parent = match base {
                Base::Stage(p) => Some(p),
                _ => None,
            };
            let windows = match parent {
                Some(p) => stages.list[p].windows,
                None => df.escape == '`' || windows_image(&image),
            };
            // A child stage starts with the shell its parent ended with.
            let posix_shell = match parent {
                Some(p) => stages.list[p]
                    .stage
                    .instructions
                    .iter()
                    .fold(stages.list[p].posix_shell, |posix, i| {
                        shell_change(i).unwrap_or(posix)
                    }),
                None => !windows,
            };
            if let Some(name) = stage.name.as_deref() {
                stages
                    .by_name
                    .entry(name.to_ascii_lowercase())
                    .or_default()
                    .push(index);
            }
            let users = stage
                .instructions
                .iter()
                .copied()
                .filter(|i| i.keyword == Keyword::User)
                .collect();
            stages.list.push(StageInfo {
                stage,
                base,
                parent,
                in_final_image: false,
                built: false,
                windows,
                posix_shell,
                users,
            });
        }
        stages.place_triggers();
        stages.target = match target {
            // BuildKit refuses a target no stage is named: nothing is built then.
            Some(name) => stages
                .by_name
                .get(&name.to_ascii_lowercase())
                .and_then(|v| v.last().copied()),
            None => stages.list.len().checked_sub(1),
        };
        stages.mark_reached();
        stages
    }

    /// Puts each ONBUILD trigger where the build runs it: at the start of every stage of this
    /// file built `FROM` its stage, else (for the images others build on this one) right after
    /// the ONBUILD itself, so that every rule reads it like the instruction it wraps.
    fn place_triggers(&mut self) {
        for s in 0..self.list.len() {
            let wrapped: Vec<(&'a Instruction, &'a Instruction)> = self.list[s]
                .stage
                .instructions
                .iter()
                .filter_map(|&w| Some((w, w.onbuild()?)))
                .collect();
            if wrapped.is_empty() {
                continue;
            }
            let children: Vec<usize> = (s + 1..self.list.len())
                .filter(|&c| self.list[c].parent == Some(s))
                .collect();
            for &(wrapper, inner) in &wrapped {
                self.triggers.push(Trigger {
                    inner,
                    wrapper,
                    written_in: s,
                    runs_in: children.clone(),
                });
            }
            if children.is_empty() {
                let list = &mut self.list[s].stage.instructions;
                for &(wrapper, inner) in wrapped.iter().rev() {
                    let at = list
                        .iter()
                        .position(|i| std::ptr::eq(*i, wrapper))
                        .unwrap_or(0);
                    list.insert(at + 1, inner);
                }
            } else {
                for &c in &children {
                    let list = &mut self.list[c].stage.instructions;
                    list.splice(0..0, wrapped.iter().map(|&(_, inner)| inner));
                    self.list[c].users = list
                        .iter()
                        .copied()
                        .filter(|i| i.keyword == Keyword::User)
                        .collect();
                }
            }
        }
        self.triggers.sort_by_key(|t| t.inner.span().start);
    }

    /// The ONBUILD trigger an instruction is, if it is one.
    pub fn trigger(&self, inst: &Instruction) -> Option<&Trigger<'a>> {
        self.triggers
            .binary_search_by_key(&inst.span().start, |t| t.inner.span().start)
            .ok()
            .map(|i| &self.triggers[i])
    }

    /// Every ONBUILD trigger of the file, in file order.
    pub fn triggers(&self) -> &[Trigger<'a>] {
        &self.triggers
    }

    /// What a `FROM` of stage `index` builds on: the latest earlier stage of that name, else an
    /// image.
    fn base_of(&self, base: &str, index: usize) -> Base {
        if base.eq_ignore_ascii_case("scratch") {
            return Base::Scratch;
        }
        match self.by_name.get(&base.to_ascii_lowercase()) {
            Some(found) => match found.iter().rev().find(|&&s| s < index) {
                Some(&s) => Base::Stage(s),
                None => Base::Image(base.to_string()),
            },
            None => Base::Image(base.to_string()),
        }
    }

    /// What a `--from=` value names: a stage by name (anywhere in the file) or index, else an
    /// image.
    pub fn source(&self, from: &str) -> Source {
        if let Some(&s) = self
            .by_name
            .get(&from.to_ascii_lowercase())
            .and_then(|v| v.last())
        {
            return Source::Stage(s);
        }
        match from.parse::<usize>() {
            Ok(i) if i < self.list.len() => Source::Stage(i),
            _ => Source::Image(from.to_string()),
        }
    }

    /// Names given to more than one stage (BuildKit warns: a reference means the latest).
    pub fn duplicate_names(&self) -> impl Iterator<Item = (&str, &[usize])> + '_ {
        self.by_name
            .iter()
            .filter(|(_, v)| v.len() > 1)
            .map(|(n, v)| (n.as_str(), v.as_slice()))
    }

    /// The stages a stage depends on directly: its parent, and those its `--from` flags and
    /// `RUN --mount from=` name.
    pub fn dependencies(&self, stage: usize) -> Vec<usize> {
        let info = &self.list[stage];
        let mut deps: Vec<usize> = info.parent.into_iter().collect();
        for inst in &info.stage.instructions {
            let inst = inst.onbuild().unwrap_or(inst);
            let froms = inst.flag_values("from").map(str::to_string).chain(
                inst.flag_values("mount")
                    .filter_map(|m| mount_field(m, "from").map(str::to_string)),
            );
            for from in froms {
                if let Source::Stage(s) = self.source(&from)
                    && s != stage
                {
                    deps.push(s);
                }
            }
        }
        deps
    }

    fn mark_reached(&mut self) {
        let Some(target) = self.target else { return };
        let mut at = Some(target);
        while let Some(i) = at {
            if self.list[i].in_final_image {
                break;
            }
            self.list[i].in_final_image = true;
            at = self.list[i].parent;
        }
        let mut todo = vec![target];
        while let Some(i) = todo.pop() {
            if std::mem::replace(&mut self.list[i].built, true) {
                continue;
            }
            todo.extend(self.dependencies(i));
        }
    }

    /// The stage and the stages it is built from, oldest first.
    pub fn lineage(&self, stage: usize) -> Vec<usize> {
        let mut chain = vec![stage];
        let mut at = stage;
        // A parent is always an earlier stage, so the chain ends; `parent < at` says so here
        // without a search of the chain at every step (quadratic in a long chain).
        while let Some(parent) = self.list[at].parent.filter(|&p| p < at) {
            chain.push(parent);
            at = parent;
        }
        chain.reverse();
        chain
    }

    /// The stage an instruction belongs to.
    pub fn of(&self, inst: &Instruction) -> Option<usize> {
        let at = self
            .list
            .partition_point(|s| s.stage.from.span().start <= inst.span().start);
        at.checked_sub(1)
    }
}

impl<'a> std::ops::Deref for Stages<'a> {
    type Target = [StageInfo<'a>];

    fn deref(&self) -> &[StageInfo<'a>] {
        &self.list
    }
}

impl<'s, 'a> IntoIterator for &'s Stages<'a> {
    type Item = &'s StageInfo<'a>;
    type IntoIter = std::slice::Iter<'s, StageInfo<'a>>;

    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

/// One `key=value` field of a `--mount` value.
pub fn mount_field<'v>(value: &'v str, key: &str) -> Option<&'v str> {
    value
        .split(',')
        .filter_map(|f| f.split_once('='))
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// A Windows base image, whose RUN goes to `cmd` unless a SHELL says otherwise.
fn windows_image(base: &str) -> bool {
    let repository = base.split([':', '@']).next().unwrap_or(base);
    let repository = repository.to_ascii_lowercase();
    ["windows", "nanoserver", "servercore"]
        .iter()
        .any(|w| repository.contains(w))
}

/// `Some(posix?)` when the instruction is a SHELL.
pub fn shell_change(inst: &Instruction) -> Option<bool> {
    if inst.keyword != Keyword::Shell {
        return None;
    }
    let first = inst.exec()?.first()?;
    Some(is_posix_shell(first))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(text: &str, target: Option<&str>) -> Vec<(Option<usize>, bool, bool, bool)> {
        let df = Dockerfile::parse(text);
        Stages::new(&df, target, &|_| None)
            .list
            .iter()
            .map(|s| (s.parent, s.in_final_image, s.built, s.posix_shell))
            .collect()
    }

    #[test]
    fn a_from_means_the_latest_earlier_stage_of_that_name() {
        let text = "FROM alpine AS Base\n\
                    SHELL [\"pwsh\", \"-c\"]\n\
                    FROM base AS build\n\
                    FROM alpine AS base\n\
                    FROM BASE\n\
                    SHELL [\"/bin/sh\", \"-c\"]\n\
                    FROM build\n";
        assert_eq!(
            resolved(text, None),
            [
                (None, true, true, true),
                // inherits the shell its parent ended with
                (Some(0), true, true, false),
                (None, false, false, true),
                // a repeated name means the latest stage of that name before the FROM
                (Some(2), false, false, true),
                (Some(1), true, true, false),
            ]
        );
    }

    #[test]
    fn a_from_never_means_a_later_stage() {
        let text = "FROM app AS base\nFROM alpine AS app\n";
        let df = Dockerfile::parse(text);
        let stages = Stages::new(&df, None, &|_| None);
        assert_eq!(stages.list[0].base, Base::Image("app".into()));
        assert_eq!(stages.list[1].base, Base::Image("alpine".into()));
        assert!(!stages.list[0].built);
    }

    #[test]
    fn from_flags_name_stages_anywhere_by_name_or_index() {
        let text = "FROM alpine AS tools\n\
                    FROM scratch AS unused\n\
                    FROM busybox AS app\n\
                    COPY --from=TOOLS /a /a\n\
                    COPY --from=1 /b /b\n\
                    RUN --mount=type=bind,from=later,target=/x true\n\
                    COPY --from=nginx:latest /c /c\n\
                    FROM alpine AS later\n";
        let df = Dockerfile::parse(text);
        let stages = Stages::new(&df, Some("later"), &|_| None);
        assert_eq!(stages.target, Some(3));
        assert_eq!(stages.source("tools"), Source::Stage(0));
        assert_eq!(stages.source("1"), Source::Stage(1));
        assert_eq!(stages.source("7"), Source::Image("7".into()));
        assert_eq!(
            stages.source("nginx:latest"),
            Source::Image("nginx:latest".into())
        );
        assert_eq!(stages.dependencies(2), [0, 1, 3]);
        assert_eq!(stages.list[1].base, Base::Scratch);
        // --target later: only that stage is built and in the image.
        let built: Vec<bool> = stages.list.iter().map(|s| s.built).collect();
        assert_eq!(built, [false, false, false, true]);
        // Without a target the last stage is built; a stage is built with what it copies from.
        let stages = Stages::new(&df, None, &|_| None);
        assert_eq!(stages.target, Some(3));
        let stages = Stages::new(&df, Some("APP"), &|_| None);
        let built: Vec<bool> = stages.list.iter().map(|s| s.built).collect();
        assert_eq!(built, [true, true, true, true]);
        let in_image: Vec<bool> = stages.list.iter().map(|s| s.in_final_image).collect();
        assert_eq!(in_image, [false, false, true, false]);
        let unknown = Stages::new(&df, Some("no-such-stage"), &|_| None);
        assert_eq!(unknown.target, None);
        assert!(unknown.list.iter().all(|s| !s.built && !s.in_final_image));
    }

    #[test]
    fn duplicate_names_are_found() {
        let df = Dockerfile::parse("FROM a AS x\nFROM b AS X\nFROM x\n");
        let stages = Stages::new(&df, None, &|_| None);
        let dups: Vec<_> = stages.duplicate_names().collect();
        assert_eq!(dups, [("x", &[0, 1][..])]);
        assert_eq!(stages.list[2].parent, Some(1));
    }

    #[test]
    fn windows_images_and_the_backtick_escape_are_not_posix() {
        let df = Dockerfile::parse("FROM mcr.microsoft.com/windows/servercore:ltsc2022\n");
        assert!(!Stages::new(&df, None, &|_| None).list[0].posix_shell);
        let df = Dockerfile::parse("# escape=`\nFROM alpine\n");
        assert!(!Stages::new(&df, None, &|_| None).list[0].posix_shell);
    }

    #[test]
    fn a_chain_of_many_stages_links_each_to_the_one_before() {
        let mut text = String::from("FROM alpine AS s0\n");
        for i in 1..2000 {
            text.push_str(&format!("FROM s{} AS s{i}\n", i - 1));
        }
        let infos = resolved(&text, None);
        assert_eq!(infos.len(), 2000);
        assert!(
            infos
                .iter()
                .enumerate()
                .all(|(i, s)| s.0 == i.checked_sub(1) && s.1 && s.2)
        );
    }
}
