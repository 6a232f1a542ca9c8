//! LW106 permission-change-copies-files: a RUN changes the mode or owner of files an earlier
//! layer (or the base image) holds, and so stores every one of them again.

use std::path::Path;
use std::rc::Rc;

use crate::diagnostic::{Diagnostic, command_text};
use crate::findings::Findings;

use crate::fix::{Edit, Fix, Safety};
use crate::knowledge::toolchains;
use crate::knowledge::tools::PERMISSION_CHANGERS;
use crate::model::copies::{Copy, Origin};
use crate::model::effects::{Creation, EffectKind};
use crate::model::paths::within;
use crate::rules::Context;
use crate::rules::Rule;
use crate::rules::edit::{append_command, first_line, merge_runs, node_span, same_flags};
use crate::rules::held::Held;
use crate::shell::{Command, Script};
use crate::source::Span;
use crate::syntax::{Dockerfile, Instruction, Keyword};

pub struct PermissionChangeCopiesFiles;

/// What put a path into a layer.
#[derive(Clone, Debug)]
enum Made {
    /// A COPY or ADD, and which of its sources.
    Copied(usize),
    /// A command of a RUN.
    Ran,
    /// An empty folder (`mkdir`): changing it copies next to nothing.
    Empty,
}

#[derive(Clone, Debug)]
struct Created<'a> {
    path: Rc<str>,
    by: &'a Instruction,
    span: Span,
    what: Maker<'a>,
    tree: bool,
    made: Made,
}

impl Created<'_> {
    /// A change of `path` (of all below it when `recursive`) touches what this put there.
    fn touched_by(&self, path: &str, recursive: bool) -> bool {
        (within(path, &self.path) && (path == &*self.path || self.tree))
            || (recursive && within(&self.path, path))
    }

    fn empty(&self) -> bool {
        matches!(self.made, Made::Empty)
    }

    /// What tells this creation from another of the same path: a change or a removal touches
    /// all creations of one key or none (they read nothing else), and names the latest.
    fn key(&self) -> (Rc<str>, bool, bool) {
        (self.path.clone(), self.tree, self.empty())
    }
}

/// Folders that hold little in a base image (configuration, state, homes, scratch space): a
/// recursive change of them copies little, where no instruction of the file filled them.
const NEARLY_EMPTY: &[&str] = &[
    "/tmp", "/run", "/var", "/etc", "/dev", "/proc", "/sys", "/mnt", "/media", "/home", "/root",
    "/srv",
];

/// Commands that create no file, before a permission change in the same RUN.
const CREATE_NOTHING: &[&str] = &[
    "chmod", "chown", "chgrp", "find", "set", "echo", "printf", "true", ":", "cd", "export",
    "test", "[", "ls", "rm", "ln", "id", "whoami", "groupadd", "addgroup", "usermod", "groupmod",
    "sed", "grep", "cat",
];

impl Rule for PermissionChangeCopiesFiles {
    fn id(&self) -> &'static str {
        "LW106"
    }

    fn fix_order(&self) -> u8 {
        2
    }

    fn check(&self, cx: &Context<'_>, out: &mut Findings) {
        let Some(last) = cx.stages.len().checked_sub(1) else {
            return;
        };
        let instructions: Vec<&Instruction> = cx
            .lineage(last)
            .iter()
            .flat_map(|&s| cx.stages[s].stage.instructions.iter().copied())
            .collect();
        let mut created = Held::new(Created::key);
        for (at, &inst) in instructions.iter().enumerate() {
            if let Some(copy) = cx.copy(inst) {
                for (index, source) in copy.sources.iter().enumerate() {
                    let Some(path) = copy.landing(source).filter(|p| p != "/") else {
                        continue;
                    };
                    created.add(Created {
                        path: path.into(),
                        by: inst,
                        span: first_line(cx.df, inst),
                        what: Maker::Copy(inst),
                        tree: true,
                        made: Made::Copied(index),
                    });
                }
                continue;
            }
            if inst.keyword != Keyword::Run {
                continue;
            }
            let Some(script) = cx.script(inst) else {
                continue;
            };
            let effects = cx.effects(inst);
            let mut here: Vec<Created<'_>> = Vec::new();
            let mut fix_offered = false;
            for (index, command) in script.commands.iter().enumerate() {
                for effect in effects.iter().filter(|e| e.command == index) {
                    match &effect.kind {
                        EffectKind::Changes {
                            path, recursive, ..
                        } => {
                            let recursive = *recursive;
                            // Made in this very layer: changed in place, nothing copied.
                            if here.iter().any(|c| {
                                !matches!(c.made, Made::Empty) && c.touched_by(path, recursive)
                            }) {
                                continue;
                            }
                            // Removed later in this RUN: the changed copy never reaches the
                            // layer (what the earlier layer keeps is LW105's finding).
                            let removed_later = effects.iter().any(|e| {
                                e.command > index
                                    && matches!(&e.kind, EffectKind::Removes { path: gone }
                                        if within(path, gone.strip_suffix("/*").unwrap_or(gone)))
                            });
                            if removed_later {
                                continue;
                            }
                            // The last layer that put files there (an empty folder made
                            // since does not hide them).
                            let earlier =
                                created.latest(|c| !c.empty() && c.touched_by(path, recursive));
                            match earlier {
                                Some(c) => {
                                    let fix = if fix_offered {
                                        None
                                    } else {
                                        fix_for(cx, &instructions, at, &script, c)
                                    };
                                    fix_offered |= fix.is_some();
                                    out.push(
                                        finding(cx, command, effect.span, path, Some(c))
                                            .with_fix(fix),
                                    );
                                }
                                None => {
                                    // A folder made empty by this file holds only what it
                                    // shows being put there.
                                    let empty = here.iter().any(|c| c.touched_by(path, false))
                                        || created.any(|c| c.touched_by(path, false));
                                    if recursive
                                        && !empty
                                        && !NEARLY_EMPTY.iter().any(|d| within(path, d))
                                        && !may_create_before(&script, index, path)
                                    {
                                        out.push(finding(cx, command, effect.span, path, None));
                                    }
                                }
                            }
                        }
                        EffectKind::Creates { path, how } => here.push(Created {
                            path: path.as_str().into(),
                            by: inst,
                            span: command.span(),
                            what: Maker::Command(index),
                            tree: how.tree(),
                            made: if *how == Creation::Directory {
                                Made::Empty
                            } else {
                                Made::Ran
                            },
                        }),
                        EffectKind::Removes { path } => {
                            let base = path.strip_suffix("/*").unwrap_or(path);
                            let gone = |c: &Created<'_>| {
                                within(&c.path, base) && *c.path != *base
                                    || (!path.ends_with("/*") && *c.path == *base)
                            };
                            created.retain(|c| !gone(c));
                            here.retain(|c| !gone(c));
                        }
                        EffectKind::Packages { .. } => {}
                    }
                }
            }
            for c in here {
                created.add(c);
            }
        }
    }
}

/// What created a path. Most paths are never quoted in a message: their maker is put in words
/// when one is, not for each of the thousands a long file creates while the model is alive.
#[derive(Clone, Copy, Debug)]
enum Maker<'a> {
    Copy(&'a Instruction),
    /// The command's place in the script of the RUN that created the path (the model keeps
    /// scripts encoded: a command is decoded again when it is put in words).
    Command(usize),
}

impl Maker<'_> {
    fn words(self, cx: &Context<'_>, by: &Instruction) -> String {
        match self {
            Maker::Copy(inst) => match cx.copy(inst) {
                Some(copy) => format!("{} {}", inst.keyword, copy_sources(&copy)),
                None => inst.keyword.to_string(),
            },
            Maker::Command(index) => cx
                .script(by)
                .and_then(|s| s.commands.get(index).map(command_words))
                .unwrap_or_default(),
        }
    }
}

fn copy_sources(copy: &Copy) -> String {
    command_text(copy.sources.iter().map(|s| &s.path), 60)
}

/// A command as its words say it, cut.
fn command_words(command: &Command) -> String {
    command_text(command.words().iter().map(|w| w.value()), 60)
}

/// Whether a command before the `at`th of the script may have written `path` in this layer.
fn may_create_before(script: &Script, at: usize, path: &str) -> bool {
    script.commands[..at].iter().any(|c| match c.name() {
        None => false,
        Some("useradd" | "adduser") => within(path, "/home"),
        Some(name) => !CREATE_NOTHING.contains(&name),
    })
}

fn finding(
    cx: &Context<'_>,
    command: &Command,
    word: Span,
    path: &str,
    created: Option<&Created<'_>>,
) -> Diagnostic {
    let verb = match command.name() {
        Some("chmod") => "mode",
        Some("chgrp") => "group",
        Some("chown") => "owner",
        _ => "mode or owner",
    };
    let head = match command.name() {
        Some(name @ ("chmod" | "chown" | "chgrp")) => name.to_string(),
        _ => "find … -exec".to_string(),
    };
    match created {
        Some(c) => {
            let line = cx.df.position(c.span.start).line + 1;
            let origin = match c.made {
                Made::Copied(_) => "copied",
                _ => "created",
            };
            let size = copied_size(cx, c)
                .map(|n| format!(" ({} here)", indicatif::HumanBytes(n)))
                .unwrap_or_default();
            Diagnostic::new(
                "LW106",
                word,
                format!(
                    "`{head}` changes the {verb} of `{path}`, {origin} in an earlier layer (line {line}, `{}`): this layer stores every file it changes again{size}",
                    c.what.words(cx, c.by)
                ),
            )
            .with_label(c.span, format!("{origin} in this layer"))
            .with_help(match c.made {
                Made::Copied(_) => "set the mode or owner where the files are copied: `COPY --chmod=…` / `--chown=…`",
                _ => "change the mode or owner in the RUN that creates the files",
            })
        }
        None => Diagnostic::new(
            "LW106",
            word,
            format!(
                "`{head}` changes the {verb} of everything below `{path}`, which the base image or an earlier layer holds: this layer stores every file it changes again"
            ),
        )
        .with_help(
            "set the permissions in the base image, or give the user a group the files already have, instead of changing them in a layer of their own",
        ),
    }
}

/// The bytes stored again, where the build context tells: a file copied from it by name (a
/// folder or a pattern would need a walk of the context, too slow for the editor).
fn copied_size(cx: &Context<'_>, created: &Created<'_>) -> Option<u64> {
    let Made::Copied(index) = created.made else {
        return None;
    };
    let copy = cx.copy(created.by)?;
    let source = copy.sources.get(index)?;
    if source.origin != Origin::Context || source.path.contains(['*', '?', '[']) {
        return None;
    }
    cx.context.as_ref()?.file_size(Path::new(&source.path))
}

/// The fix for a RUN that changes what `created` put in a layer: the change moved to where the
/// files are made.
fn fix_for(
    cx: &Context<'_>,
    instructions: &[&Instruction],
    at: usize,
    script: &Script,
    created: &Created<'_>,
) -> Option<Fix> {
    let run = instructions[at];
    if run.is_exec_form()
        || !run.heredocs().is_empty()
        || run.onbuild().is_some()
        || !script.and_chain
    {
        return None;
    }
    let from = instructions
        .iter()
        .position(|i| std::ptr::eq(*i, created.by))?;
    let same_stage = cx.stages.of(created.by) == cx.stages.of(run);
    if from >= at || !same_stage {
        return None;
    }
    match created.made {
        Made::Copied(source) => into_copy(
            cx,
            &instructions[..from],
            &instructions[from..=at],
            script,
            source,
        ),
        Made::Ran => into_run(cx, &instructions[from..=at], script),
        Made::Empty => None,
    }
}

/// A permission change as the fix reads it.
struct Change<'a> {
    tool: &'a str,
    value: &'a str,
    recursive: bool,
    paths: Vec<&'a str>,
}

/// Every command of the script as a plain `chmod`/`chown`/`chgrp` with literal words, or
/// `None`.
fn plain_changes(script: &Script) -> Option<Vec<Change<'_>>> {
    script
        .commands
        .iter()
        .map(|c| {
            let tool = c.name()?;
            if !PERMISSION_CHANGERS.iter().any(|(n, _)| *n == tool)
                || c.words().len() != c.wrappers().len() + c.args().len() + 1
                || !c.assigns().is_empty()
                || !c.writes().is_empty()
            {
                return None;
            }
            let mut recursive = false;
            let mut operands = Vec::new();
            for w in c.args() {
                if !w.literal() {
                    return None;
                }
                match w.value() {
                    "-R" | "--recursive" => recursive = true,
                    v if v.starts_with('-') && !is_symbolic_mode(v) => return None,
                    v => operands.push(v),
                }
            }
            let (value, paths) = operands.split_first()?;
            (!paths.is_empty()).then(|| Change {
                tool,
                value,
                recursive,
                paths: paths.to_vec(),
            })
        })
        .collect()
}

fn is_symbolic_mode(value: &str) -> bool {
    value.len() > 1
        && value.chars().all(|c| {
            matches!(
                c,
                'u' | 'g' | 'o' | 'a' | '+' | '-' | '=' | 'r' | 'w' | 'x' | 'X' | 's' | 't' | ','
            )
        })
}

/// A COPY followed by a RUN that only changes mode or owner of exactly what it copied: the
/// change becomes the COPY's `--chmod`/`--chown` and the RUN goes. `earlier` are the
/// instructions of the stage's lineage before the COPY.
fn into_copy(
    cx: &Context<'_>,
    earlier: &[&Instruction],
    span: &[&Instruction],
    script: &Script,
    source: usize,
) -> Option<Fix> {
    let (copy_inst, run) = (span[0], *span.last()?);
    if copy_inst.keyword != Keyword::Copy {
        return None;
    }
    let copy = cx.copy(copy_inst)?;
    let landing = copy.landing(copy.sources.get(source)?)?;
    // One source only: a flag on the COPY would change every source.
    if copy.sources.len() != 1 || copy.sources[0].origin == Origin::Heredoc {
        return None;
    }
    // In between, nothing that could read, replace or hide the files.
    let quiet = span[1..span.len() - 1].iter().all(|i| {
        matches!(
            i.keyword,
            Keyword::Env
                | Keyword::Arg
                | Keyword::Label
                | Keyword::Expose
                | Keyword::Cmd
                | Keyword::Entrypoint
                | Keyword::Healthcheck
                | Keyword::Stopsignal
                | Keyword::Workdir
        )
    });
    if !quiet {
        return None;
    }
    let changes = plain_changes(script)?;
    let cwd = cx.state(run).and_then(|s| s.workdir.clone());
    let mut mode: Option<(String, bool)> = None;
    let mut owner: Option<String> = None;
    let mut recursive_all = true;
    for change in &changes {
        for path in &change.paths {
            let abs = match (path.starts_with('/'), &cwd) {
                (true, _) => crate::model::paths::resolve("/", path),
                (false, Some(w)) => crate::model::paths::resolve(w, path),
                (false, None) => return None,
            };
            if abs != landing {
                return None;
            }
        }
        recursive_all &= change.recursive;
        match change.tool {
            "chmod" => {
                let exact = change.value.len() >= 3
                    && change.value.len() <= 4
                    && change.value.chars().all(|c| ('0'..='7').contains(&c));
                let assumed = matches!(change.value, "+x" | "a+x" | "ugo+x");
                if exact {
                    mode = Some((change.value.to_string(), true));
                } else if assumed {
                    // A file from a git checkout is 644 or 755: both become 755.
                    mode = Some(("755".to_string(), false));
                } else {
                    return None;
                }
            }
            "chown" => {
                let (user, group) = change.value.split_once(':')?;
                if user.is_empty() || group.is_empty() || change.value.contains('$') {
                    return None;
                }
                // A name is looked up in the image's /etc/passwd; one the COPY brings is not
                // there yet when the COPY runs.
                if landing == "/etc" || landing.starts_with("/etc/") {
                    return None;
                }
                owner = Some(change.value.to_string());
            }
            _ => return None,
        }
    }
    if mode.is_some() && !frontend_has_chmod(cx.df) {
        return None;
    }
    // A folder's own mode and owner change without -R, its files' with it: COPY's flags set
    // both, so the change must be recursive, or the source a file.
    let source = &copy.sources[0];
    let known_file = match (&cx.context, &source.origin) {
        (Some(context), Origin::Context) => Some(context.is_file(Path::new(&source.path))),
        _ => None,
    };
    let name = source
        .path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("");
    let looks_like_file = !source.path.ends_with('/')
        && !name.contains(['*', '?', '['])
        && name
            .rsplit_once('.')
            .is_some_and(|(stem, ext)| !stem.is_empty() && ext != "d");
    let covered =
        known_file == Some(true) || (known_file.is_none() && (recursive_all || looks_like_file));
    if !covered {
        return None;
    }
    let exact_mode = mode.as_ref().is_none_or(|(_, exact)| *exact);
    // `COPY --chown` also owns the folders it creates for the destination (both builders do
    // it), where the RUN changed the file alone: safe only when the folder is already there.
    let parent = landing.rsplit_once('/').map_or("/", |(p, _)| p);
    let parent = if parent.is_empty() { "/" } else { parent };
    let folders_kept = owner.is_none() || folder_exists(cx, earlier, copy_inst, parent);
    let safety = if known_file == Some(true) && exact_mode && folders_kept {
        Safety::Safe
    } else {
        Safety::Unsafe
    };
    let mut edits = vec![Edit::delete(node_span(cx.df, run))];
    let mut flags = Vec::new();
    for (name, value) in [("chmod", mode.map(|m| m.0)), ("chown", owner)] {
        let Some(value) = value else {
            continue;
        };
        match copy_inst.flag(name) {
            Some(flag) => edits.push(Edit::replace(flag.span, format!("--{name}={value}"))),
            None => flags.push(format!("--{name}={value}")),
        }
    }
    let title_flags: Vec<String> = edits[1..]
        .iter()
        .map(|e| e.text.to_string())
        .chain(flags.iter().cloned())
        .collect();
    if !flags.is_empty() {
        edits.push(Edit::insert(
            copy_inst.keyword_span().end,
            format!(" {}", flags.join(" ")),
        ));
    }
    let buildkit = if title_flags.iter().any(|f| f.starts_with("--chmod")) {
        " (`--chmod` needs BuildKit)"
    } else {
        ""
    };
    Some(Fix::new(
        format!(
            "set `{}` on the COPY and drop the RUN{buildkit}",
            title_flags.join(" ")
        ),
        safety,
        edits,
    ))
}

/// Whether the folder `dir` exists when `at` runs: it is `/`, a WORKDIR made it, an earlier
/// instruction put something in it, or the base image is a distribution's and has it.
fn folder_exists(cx: &Context<'_>, earlier: &[&Instruction], at: &Instruction, dir: &str) -> bool {
    let holds = |path: &str| within(path, dir);
    let workdirs = earlier
        .iter()
        .chain(std::iter::once(&at))
        .filter_map(|i| cx.state(i).and_then(|s| s.workdir.as_deref()));
    if workdirs.into_iter().any(holds) {
        return true;
    }
    let made = earlier.iter().any(|&inst| match cx.copy(inst) {
        Some(copy) => copy
            .sources
            .iter()
            .filter_map(|s| copy.landing(s))
            .any(|l| holds(&l)),
        None => cx.effects(inst).iter().any(|e| match &e.kind {
            EffectKind::Creates { path, .. } => holds(path),
            _ => false,
        }),
    });
    if made {
        return true;
    }
    let Some(stage) = cx.stages.of(at) else {
        return false;
    };
    let root = cx.lineage(stage).first().copied().unwrap_or(stage);
    match &cx.stages[root].base {
        crate::model::Base::Image(image) => toolchains::has_standard_folder(image, dir),
        _ => false,
    }
}

/// Whether the `# syntax=` frontend (BuildKit's own when there is none) knows `COPY --chmod`:
/// `docker/dockerfile` 1.2 and later.
fn frontend_has_chmod(df: &Dockerfile) -> bool {
    let Some(syntax) = df
        .directives()
        .find(|d| d.name.eq_ignore_ascii_case("syntax"))
    else {
        return true;
    };
    let image = syntax.value.trim();
    let image = image.split('@').next().unwrap_or(image);
    let image = image.strip_prefix("docker.io/").unwrap_or(image);
    let (name, tag) = image.split_once(':').unwrap_or((image, "latest"));
    if !matches!(name, "docker/dockerfile" | "docker/dockerfile-upstream") {
        return false;
    }
    let version = tag.split('-').next().unwrap_or(tag);
    let mut parts = version.split('.');
    match (parts.next(), parts.next()) {
        (Some("latest" | "labs"), _) => true,
        (Some(major), minor) => match major.parse::<u32>() {
            Ok(1) => minor.is_none_or(|m| m.parse::<u32>().is_ok_and(|m| m >= 2)),
            Ok(m) => m > 1,
            Err(_) => false,
        },
        _ => false,
    }
}

/// A RUN that only changes mode or owner of what an earlier RUN of the stage created: merged
/// with it when only RUNs lie between, else moved to its end.
fn into_run(cx: &Context<'_>, span: &[&Instruction], script: &Script) -> Option<Fix> {
    let (maker, run) = (span[0], *span.last()?);
    plain_changes(script)?;
    let all_runs = span.iter().all(|i| {
        i.keyword == Keyword::Run
            && i.heredocs().is_empty()
            && !i.is_exec_form()
            && same_flags(i, maker)
    });
    if all_runs {
        let mut fix = merge_runs(cx, span)?;
        fix.safety = Safety::Unsafe;
        fix.title =
            "merge the RUNs from the one that creates the files to the one that changes them"
                .into();
        return Some(fix);
    }
    // Moved up past another RUN, a COPY, a USER or a WORKDIR, the change could meet another
    // user, other files or another folder.
    let between = &span[1..span.len() - 1];
    if between.iter().any(|i| {
        matches!(
            i.keyword,
            Keyword::Run | Keyword::Copy | Keyword::Add | Keyword::User | Keyword::Workdir
        )
    }) {
        return None;
    }
    let moves_dir = cx.script(maker).is_none_or(|s| {
        s.commands
            .iter()
            .any(|c| matches!(c.name(), Some("cd" | "pushd" | "popd")))
    });
    let relative = script.commands.iter().any(|c| {
        c.args()
            .iter()
            .skip(1)
            .any(|w| !w.value().starts_with('-') && !w.value().starts_with('/'))
    });
    if moves_dir && relative {
        return None;
    }
    let change = cx.df.slice(run.args_span());
    let append = append_command(cx, maker, change)?;
    Some(Fix::new(
        "move the permission change into the RUN that creates the files",
        Safety::Unsafe,
        vec![append, Edit::delete(node_span(cx.df, run))],
    ))
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{fix_rule, lint_rule};

    fn count(text: &str) -> usize {
        lint_rule("LW106", text).len()
    }

    #[test]
    fn changes_of_what_earlier_layers_hold() {
        let copy = "FROM d\nCOPY run.sh /run.sh\nRUN chmod +x /run.sh\n";
        let found = lint_rule("LW106", copy);
        assert_eq!(found.len(), 1);
        assert!(
            found[0]
                .message
                .contains("copied in an earlier layer (line 2, `COPY run.sh`)"),
            "{}",
            found[0].message
        );
        let workdir = "FROM d\nWORKDIR /app\nCOPY . .\nRUN chown -R app:app /app\n";
        assert_eq!(count(workdir), 1, "a tree copied into the WORKDIR");
        let download =
            "FROM d\nRUN wget -O /usr/bin/tool https://x/tool\nRUN chmod 755 /usr/bin/tool\n";
        assert_eq!(count(download), 1);
        let later_mkdir =
            "FROM d\nCOPY . /app\nRUN mkdir -p /app/logs\nRUN chown -R app:app /app\n";
        assert_eq!(
            count(later_mkdir),
            1,
            "an empty folder made since hides nothing"
        );
        let find =
            "FROM d\nCOPY site /srv/www/site\nRUN find /srv/www -type f -exec chmod 644 {} +\n";
        assert_eq!(count(find), 1, "find -exec chmod over a copied tree");
        let base = "FROM mcr.microsoft.com/dotnet/sdk:8.0\nRUN chmod -R a+w /usr/share/dotnet\n";
        let found = lint_rule("LW106", base);
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("base image or an earlier layer"));
        assert!(found[0].fix.is_none());
    }

    #[test]
    fn changes_that_copy_nothing() {
        for text in [
            // In the RUN that made the files.
            "FROM d\nRUN curl -o /usr/bin/t https://x/t && chmod +x /usr/bin/t\n",
            "FROM d\nCOPY a.tgz /tmp/\nRUN tar xzf /tmp/a.tgz -C /opt && chown -R app /opt/a\n",
            // An empty folder, a nearly empty one, one a package may have made in this RUN.
            "FROM d\nRUN mkdir -p /data\nRUN chown app /data\n",
            "FROM d\nRUN mkdir -p /opt/app\nRUN chown -R app /opt/app\n",
            "FROM d\nRUN chown -R app:app /tmp /var/log\n",
            "FROM d\nRUN apt-get install -y nginx && chown -R www-data /var/lib/nginx\n",
            "FROM d\nRUN useradd -m app && chown -R app /home/app\n",
            // A single file of the base image: a few bytes, and perhaps made by the base's install.
            "FROM d\nRUN chmod 644 /etc/crontab\n",
            // A builder stage.
            "FROM d AS b\nCOPY x /x\nRUN chmod +x /x\nFROM scratch\nCOPY --from=b /x /x\n",
            // Run and removed in the same RUN: the changed copy never lands.
            "FROM d\nCOPY i.sh /tmp/\nRUN chmod +x /tmp/i.sh && /tmp/i.sh && rm -f /tmp/i.sh\n",
            // Removed in between and made again.
            "FROM d\nCOPY x /x\nRUN rm /x && echo hi > /x && chmod 600 /x\n",
        ] {
            assert_eq!(count(text), 0, "{text}");
        }
    }

    /// The one finding's message.
    fn message(text: &str) -> String {
        let found = lint_rule("LW106", text);
        assert_eq!(found.len(), 1, "{text}\n{found:#?}");
        found[0].message.to_string()
    }

    #[test]
    fn the_latest_maker_of_what_is_changed_is_named() {
        // The COPY of line 4 takes the place of line 2's, after the download of line 3.
        let again = "FROM d\nCOPY a.sh /a.sh\nRUN curl -o /a.sh https://x\nCOPY a.sh /a.sh\nRUN chmod +x /a.sh\n";
        let named = message(again);
        assert!(
            named.contains("copied in an earlier layer (line 4, `COPY a.sh`)"),
            "{named}"
        );
        let once = "FROM d\nCOPY a.sh /a.sh\nRUN curl -o /a.sh https://x\nRUN chmod +x /a.sh\n";
        let named = message(once);
        assert!(
            named.contains("created in an earlier layer (line 3, `curl -o /a.sh https://x`)"),
            "{named}"
        );
        assert_eq!(
            fix_rule("LW106", once, true),
            "FROM d\nCOPY a.sh /a.sh\nRUN curl -o /a.sh https://x \\\n    && chmod +x /a.sh\n"
        );
        // Many times the same download: the last is named.
        let mut many = String::from("FROM d\n");
        for n in 0..50 {
            many.push_str(&format!("RUN curl -o /t https://x/{n}\n"));
        }
        many.push_str("RUN chmod +x /t\n");
        let named = message(&many);
        assert!(
            named.contains("(line 51, `curl -o /t https://x/49`)"),
            "{named}"
        );
    }

    #[test]
    fn empty_folders_made_again_hide_no_copy() {
        let text = "FROM d\nCOPY . /app\nRUN mkdir -p /app\nCOPY . /app\nRUN mkdir -p /app\nRUN mkdir -p /app\nRUN chown -R app /app\n";
        let named = message(text);
        assert!(
            named.contains("copied in an earlier layer (line 4, `COPY .`)"),
            "{named}"
        );
    }

    #[test]
    fn what_a_removal_took_counts_again_once_made_again() {
        let file =
            "FROM d\nCOPY x /x\nRUN rm /x\nRUN chmod 600 /x\nRUN echo hi > /x\nRUN chmod 600 /x\n";
        let named = message(file);
        assert!(
            named.contains("created in an earlier layer (line 5, `echo hi`)"),
            "{named}"
        );
        let contents = "FROM d\nRUN curl -o /w/a https://x\nRUN curl -o /w/a https://y\nRUN rm -rf /w/*\nRUN chmod 600 /w/a\nRUN wget -O /w/a https://z\nRUN chmod 600 /w/a\n";
        let named = message(contents);
        assert!(
            named.contains("created in an earlier layer (line 6, `wget -O /w/a https://z`)"),
            "{named}"
        );
    }

    #[test]
    fn copy_flags_take_the_change() {
        let text = "FROM d\nCOPY entrypoint.sh /entrypoint.sh\nENV A=1\nRUN chmod 755 /entrypoint.sh && chown app:app /entrypoint.sh\nCMD [\"/entrypoint.sh\"]\n";
        assert_eq!(
            fix_rule("LW106", text, true),
            "FROM d\nCOPY --chmod=755 --chown=app:app entrypoint.sh /entrypoint.sh\nENV A=1\nCMD [\"/entrypoint.sh\"]\n"
        );
        // Without the build context the source may be a folder: unsafe only.
        assert_eq!(fix_rule("LW106", text, false), text);
        let plus_x =
            "FROM d\nWORKDIR /app\nCOPY --chown=app:app start.sh ./\nRUN chmod +x start.sh\n";
        assert_eq!(
            fix_rule("LW106", plus_x, true),
            "FROM d\nWORKDIR /app\nCOPY --chmod=755 --chown=app:app start.sh ./\n"
        );
    }

    #[test]
    fn copy_chown_is_safe_only_where_the_copy_makes_no_folder() {
        // `COPY --chown` owns the folders it creates too (both builders do): measured on
        // busybox, whose image has no /usr/local/bin
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("a.sh"), "echo a\n").expect("write");
        let safety = |text: &str| {
            let df = crate::syntax::Dockerfile::parse(text);
            let options = crate::lint::LintOptions {
                path: Some(dir.path().join("Dockerfile")),
                context: Some(dir.path().to_path_buf()),
                only: Some(vec!["LW106".into()]),
                ..Default::default()
            };
            let found = crate::lint::lint(&df, &options);
            assert_eq!(found.len(), 1, "{text}");
            found[0].fix.as_ref().map(|f| f.safety)
        };
        let unsafe_fix = Some(crate::fix::Safety::Unsafe);
        let safe_fix = Some(crate::fix::Safety::Safe);
        for (text, want) in [
            (
                "FROM busybox\nCOPY a.sh /usr/local/bin/a.sh\nRUN chown 1:1 /usr/local/bin/a.sh\n",
                unsafe_fix,
            ),
            (
                "FROM debian:bookworm-slim\nCOPY a.sh /usr/local/bin/a.sh\nRUN chown 1:1 /usr/local/bin/a.sh\n",
                safe_fix,
            ),
            (
                "FROM busybox\nWORKDIR /app\nCOPY a.sh a.sh\nRUN chown 1:1 a.sh\n",
                safe_fix,
            ),
            (
                "FROM busybox\nCOPY b /srv/x/b\nCOPY a.sh /srv/x/a.sh\nRUN chown 1:1 /srv/x/a.sh\n",
                safe_fix,
            ),
            (
                "FROM busybox\nCOPY a.sh /a.sh\nRUN chown 1:1 /a.sh\n",
                safe_fix,
            ),
            // --chmod leaves the folders it creates as they are
            (
                "FROM busybox\nCOPY a.sh /usr/local/bin/a.sh\nRUN chmod 755 /usr/local/bin/a.sh\n",
                safe_fix,
            ),
        ] {
            assert_eq!(safety(text), want, "{text}");
        }
    }

    #[test]
    fn the_message_says_how_much_a_copied_file_holds() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("big.bin"), vec![0u8; 3 << 20]).expect("write");
        let options = crate::lint::LintOptions {
            path: Some(dir.path().join("Dockerfile")),
            context: Some(dir.path().to_path_buf()),
            only: Some(vec!["LW106".into()]),
            ..Default::default()
        };
        let message = |text: &str| {
            let df = crate::syntax::Dockerfile::parse(text);
            let found = crate::lint::lint(&df, &options);
            assert_eq!(found.len(), 1, "{text}");
            found[0].message.to_string()
        };
        let named = message("FROM d\nCOPY big.bin /data/big.bin\nRUN chmod 600 /data/big.bin\n");
        assert!(
            named.ends_with("stores every file it changes again (3.00 MiB here)"),
            "{named}"
        );
        // a pattern or a file the model does not see: no figure rather than a guess
        for text in [
            "FROM d\nCOPY *.bin /data/\nRUN chmod -R 600 /data\n",
            "FROM d\nRUN dd if=/dev/zero of=/big bs=1M count=3\nRUN chmod 600 /big\n",
        ] {
            assert!(message(text).ends_with("changes again"), "{text}");
        }
    }

    #[test]
    fn no_copy_flag_when_it_would_not_cover_the_change() {
        for text in [
            // A user alone: `--chown=app` also sets the group.
            "FROM d\nCOPY a.sh /a.sh\nRUN chown app /a.sh\n",
            // Two sources, one changed.
            "FROM d\nCOPY a.sh b.sh /bin/\nRUN chmod 755 /bin/a.sh\n",
            // More than the change in the RUN.
            "FROM d\nCOPY a.sh /a.sh\nRUN chmod 755 /a.sh && /a.sh\n",
            // A folder changed without -R.
            "FROM d\nCOPY conf /etc/app\nRUN chmod 700 /etc/app\n",
            // A RUN in between.
            "FROM d\nCOPY a.sh /a.sh\nRUN useradd app\nRUN chown app:app /a.sh\n",
            // A frontend without --chmod.
            "# syntax=docker/dockerfile:1.1\nFROM d\nCOPY a.sh /a.sh\nRUN chmod 755 /a.sh\n",
            // A mode COPY --chmod cannot say for sure.
            "FROM d\nCOPY a.sh /a.sh\nRUN chmod u+x /a.sh\n",
        ] {
            assert_eq!(count(text), 1, "{text}");
            assert_eq!(fix_rule("LW106", text, true), text, "{text}");
        }
        let pinned =
            "# syntax=docker/dockerfile:1.4\nFROM d\nCOPY a.sh /a.sh\nRUN chmod 755 /a.sh\n";
        assert_ne!(fix_rule("LW106", pinned, true), pinned);
    }

    #[test]
    fn a_change_moves_into_the_run_that_made_the_files() {
        let text = "FROM d\nRUN curl -fsSLo /usr/local/bin/t https://x/t\nLABEL a=b\nRUN chmod +x /usr/local/bin/t\n";
        assert_eq!(
            fix_rule("LW106", text, true),
            "FROM d\nRUN curl -fsSLo /usr/local/bin/t https://x/t \\\n    && chmod +x /usr/local/bin/t\nLABEL a=b\n"
        );
        let merged = "FROM d\nRUN git clone https://g/r.git /src\nRUN make -C /src\nRUN chown -R app:app /src\n";
        assert_eq!(
            fix_rule("LW106", merged, true),
            "FROM d\nRUN git clone https://g/r.git /src \\\n    && make -C /src \\\n    && chown -R app:app /src\n"
        );
        let user_between =
            "FROM d\nRUN curl -o /opt/t https://x/t\nUSER app\nRUN chmod +x /opt/t\n";
        assert_eq!(fix_rule("LW106", user_between, true), user_between);
    }
}
