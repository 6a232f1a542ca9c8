//! LW105 deleted-in-later-layer: a RUN removes what an earlier layer created; the bytes stay.

use crate::diagnostic::Diagnostic;
use crate::fix::{Edit, Fix, Safety};
use crate::model::paths::{resolve, within};
use crate::rules::Context;
use crate::rules::Rule;
use crate::rules::edit::{append_command, first_line, merge_runs, node_span, same_flags};
use crate::rules::packages::{Action, Manager, classify};
use crate::shell::Command;
use crate::source::Span;
use crate::syntax::{Instruction, Keyword};

pub struct DeletedInLaterLayer;

/// A path some instruction put into a layer.
#[derive(Clone, Debug)]
struct Created<'a> {
    path: String,
    by: &'a Instruction,
    /// Where in the file it was created (the command or the COPY line).
    span: Span,
    what: String,
    /// What is below `path` came with it (a copied folder, a clone), not only the path itself.
    tree: bool,
}

impl Rule for DeletedInLaterLayer {
    fn id(&self) -> &'static str {
        "LW105"
    }

    fn fix_order(&self) -> u8 {
        2
    }

    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        let Some(last) = cx.stages.len().checked_sub(1) else {
            return;
        };
        // The final image holds the layers of the final stage and of the stages it is built on.
        let lineage = cx.lineage(last);
        let instructions: Vec<&Instruction> = lineage
            .iter()
            .flat_map(|&s| cx.stages[s].stage.instructions.iter().copied())
            .collect();
        let mut created: Vec<Created<'_>> = Vec::new();
        let mut workdir = "/".to_string();
        for (at, &inst) in instructions.iter().enumerate() {
            match inst.keyword {
                Keyword::Workdir => {
                    if let Some(w) = inst.words().first() {
                        workdir = resolve(&workdir, &w.value);
                    }
                }
                Keyword::Copy | Keyword::Add => {
                    if let Some((sources, dest)) = inst.copy_paths() {
                        let what = format!("{} {}", inst.keyword, sources.join(" "));
                        let into_dir = dest.ends_with('/') || dest == "." || sources.len() > 1;
                        let dest = resolve(&workdir, &dest);
                        for source in &sources {
                            let name = source
                                .trim_end_matches('/')
                                .rsplit('/')
                                .next()
                                .unwrap_or("");
                            let whole = matches!(name, "" | "." | "*");
                            let path = if into_dir && !whole {
                                resolve(&dest, name)
                            } else {
                                dest.clone()
                            };
                            if path == "/" {
                                continue;
                            }
                            created.push(Created {
                                path,
                                by: inst,
                                span: first_line(cx.df, inst),
                                what: what.clone(),
                                tree: true,
                            });
                        }
                    }
                }
                Keyword::Run => {
                    let Some(script) = cx.script(inst) else {
                        continue;
                    };
                    let mut here: Vec<Created<'_>> = Vec::new();
                    for command in &script.commands {
                        for path in removed_paths(command, &workdir) {
                            // Removed in the layer that made it: no waste.
                            here.retain(|c| !hits(c, &path));
                            let earlier: Vec<&Created<'_>> =
                                created.iter().filter(|c| hits(c, &path)).collect();
                            // The last layer that wrote there is where the removal belongs.
                            if let Some(last) = earlier.last() {
                                let word = command
                                    .args()
                                    .iter()
                                    .find(|w| resolve_keeping_glob(&workdir, &w.value) == path)
                                    .map_or(command.span, |w| w.span);
                                out.push(finding(cx, &instructions, at, word, &path, last));
                            }
                            created.retain(|c| !hits(c, &path));
                        }
                        here.extend(created_paths(command, inst, &workdir));
                    }
                    created.extend(here);
                }
                _ => {}
            }
        }
    }
}

/// Removing `removed` (a path, or `dir/*` for its contents) takes away something created.
fn hits(created: &Created<'_>, removed: &str) -> bool {
    let base = removed.strip_suffix("/*").unwrap_or(removed);
    if base.is_empty() || base == "/" {
        return false;
    }
    let below_removed = within(&created.path, base)
        && (created.path != base || !removed.ends_with("/*") || created.tree);
    let inside_created = created.tree && within(base, &created.path);
    below_removed || inside_created
}

/// Paths an `rm` removes, absolute.
fn removed_paths(command: &Command, workdir: &str) -> Vec<String> {
    if command.name() != Some("rm") {
        return Vec::new();
    }
    command
        .args()
        .iter()
        .filter(|w| w.literal && !w.value.starts_with('-'))
        .map(|w| resolve_keeping_glob(workdir, &w.value))
        .collect()
}

fn resolve_keeping_glob(workdir: &str, path: &str) -> String {
    match path.strip_suffix("/*") {
        Some(dir) => format!("{}/*", resolve(workdir, dir).trim_end_matches('/')),
        None => resolve(workdir, path),
    }
}

/// What a command leaves on disk: package caches and index files, downloads, clones, folders.
fn created_paths<'a>(command: &Command, inst: &'a Instruction, workdir: &str) -> Vec<Created<'a>> {
    // its words, not its text: no continuation lines in a message
    let what = command
        .assigns
        .iter()
        .chain(&command.words)
        .map(|w| w.value.as_str())
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(60)
        .collect::<String>();
    let mut paths: Vec<String> = Vec::new();
    if let Some(pkg) = classify(command) {
        match (pkg.manager, pkg.action) {
            // the index is written by the update; an install only reads it
            (Manager::Apt, Action::Update) => {
                paths.push("/var/lib/apt/lists".into());
            }
            (Manager::Apk, Action::Update) => paths.push("/var/cache/apk".into()),
            (Manager::Apk, Action::Install) if !pkg.has_flag("--no-cache") => {
                paths.push("/var/cache/apk".into())
            }
            (Manager::Pip, Action::Install) if !pkg.has_flag("--no-cache-dir") => {
                paths.push("/root/.cache/pip".into())
            }
            (Manager::Npm, Action::Install) => paths.push("/root/.npm".into()),
            (Manager::Yum, Action::Install | Action::Update) => paths.push("/var/cache/yum".into()),
            (Manager::Dnf, Action::Install | Action::Update) => paths.push("/var/cache/dnf".into()),
            _ => {}
        }
    }
    let args = command.args();
    let value_after = |flags: &[&str]| {
        args.iter()
            .position(|w| flags.contains(&w.value.as_str()))
            .and_then(|i| args.get(i + 1))
            .map(|w| w.value.clone())
    };
    match command.name() {
        Some("wget") => paths.extend(value_after(&["-O", "--output-document"])),
        Some("curl") => paths.extend(value_after(&["-o", "--output"])),
        Some("git") if command.subcommand().is_some_and(|s| s.value == "clone") => {
            // Options that take a value as the next word.
            const VALUED: [&str; 10] = [
                "--depth",
                "-b",
                "--branch",
                "-c",
                "--config",
                "-o",
                "--origin",
                "--filter",
                "--reference",
                "-j",
            ];
            let mut plain: Vec<&str> = Vec::new();
            let mut skip = false;
            for w in args {
                if skip {
                    skip = false;
                } else if VALUED.contains(&w.value.as_str()) {
                    skip = true;
                } else if !w.value.starts_with('-') {
                    plain.push(&w.value);
                }
            }
            match plain.as_slice() {
                [_, _, dir, ..] => paths.push(dir.to_string()),
                [_, url] => {
                    let name = url.trim_end_matches('/').rsplit('/').next().unwrap_or(url);
                    paths.push(name.trim_end_matches(".git").to_string());
                }
                _ => {}
            }
        }
        Some("mkdir") => paths.extend(
            args.iter()
                .filter(|w| !w.value.starts_with('-'))
                .map(|w| w.value.clone()),
        ),
        Some("unzip") => paths.extend(value_after(&["-d"])),
        _ => {}
    }
    let tree = !matches!(command.name(), Some("mkdir" | "wget" | "curl"));
    paths
        .into_iter()
        .filter(|p| !p.is_empty() && !p.contains('$') && p != "-")
        .map(|p| resolve(workdir, &p))
        .filter(|p| p != "/")
        .map(|path| Created {
            path,
            by: inst,
            span: command.span,
            what: what.clone(),
            tree,
        })
        .collect()
}

fn finding(
    cx: &Context<'_>,
    instructions: &[&Instruction],
    at: usize,
    word: Span,
    removed: &str,
    created: &Created<'_>,
) -> Diagnostic {
    let line = cx.df.position(created.span.start).line + 1;
    Diagnostic::new(
        "LW105",
        word,
        format!(
            "`{removed}` was created in an earlier layer (line {line}, `{}`); removing it here hides it, but its bytes stay in the image",
            created.what
        ),
    )
    .with_label(created.span, "created in this layer")
    .with_help("remove it in the same RUN that created it, or use a `RUN --mount` so it never lands in a layer")
    .with_fix(move_deletion(cx, instructions, at, created))
}

/// Puts the deletion in the RUN that created the path: merging the RUNs from there on when they
/// can be one, or else moving a RUN that only deletes, when nothing in between names the path.
fn move_deletion(
    cx: &Context<'_>,
    instructions: &[&Instruction],
    at: usize,
    created: &Created<'_>,
) -> Option<Fix> {
    let deleter = instructions[at];
    let from = instructions
        .iter()
        .position(|i| std::ptr::eq(*i, created.by))?;
    // One stage only: between stages sit FROM lines (a merge would swallow them), and the
    // earlier stage may be the base of others that still need the path.
    let same_stage = cx.stages.iter().any(|s| {
        let holds = |i: &Instruction| s.stage.instructions.iter().any(|x| std::ptr::eq(*x, i));
        holds(created.by) && holds(deleter)
    });
    if created.by.keyword != Keyword::Run || from >= at || !same_stage {
        return None;
    }
    let between = &instructions[from..=at];
    let all_runs = between.iter().all(|i| {
        i.keyword == Keyword::Run
            && i.heredocs.is_empty()
            && !i.is_exec_form()
            && same_flags(i, created.by)
    });
    if all_runs {
        let mut fix = merge_runs(cx, between)?;
        fix.safety = Safety::Unsafe;
        fix.title =
            "merge the RUNs from the one that creates the path to the one that removes it".into();
        return Some(fix);
    }
    let script = cx.script(deleter)?;
    let only_rm = script.commands.iter().all(|c| c.name() == Some("rm"));
    let name = created.path.rsplit('/').next().unwrap_or(&created.path);
    let mentioned = instructions[from + 1..at]
        .iter()
        .any(|i| i.keyword == Keyword::User || cx.df.slice(i.span).contains(name));
    // Appended to the creating RUN, a relative path would be read in whatever folder that
    // RUN's own `cd` left.
    let relative = script.commands.iter().any(|c| {
        c.args()
            .iter()
            .any(|w| !w.value.starts_with('-') && !w.value.starts_with(['/', '~', '$']))
    });
    let moves_dir = cx.script(created.by).is_none_or(|s| {
        s.commands
            .iter()
            .any(|c| matches!(c.name(), Some("cd" | "pushd" | "popd")))
    });
    let workdir_between = instructions[from + 1..at]
        .iter()
        .any(|i| i.keyword == Keyword::Workdir);
    if !only_rm
        || mentioned
        || !deleter.heredocs.is_empty()
        || (relative && (moves_dir || workdir_between))
    {
        return None;
    }
    let removal = cx.df.slice(deleter.args_span());
    let append = append_command(cx, created.by, removal)?;
    Some(Fix::new(
        "move the removal into the RUN that creates the path",
        Safety::Unsafe,
        vec![append, Edit::delete(node_span(cx.df, deleter))],
    ))
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{fix_rule, lint_rule};

    #[test]
    fn removal_in_a_later_layer() {
        let text = "FROM d\nRUN apt-get update && apt-get install -y x\nCOPY a /a\nRUN rm -rf /var/lib/apt/lists/*\n";
        let found = lint_rule("LW105", text);
        assert_eq!(found.len(), 1);
        assert!(
            found[0]
                .message
                .starts_with("`/var/lib/apt/lists/*` was created in an earlier layer (line 2")
        );
    }

    #[test]
    fn copied_then_removed_relative_to_workdir() {
        let text =
            "FROM d\nWORKDIR /tmp\nCOPY app.tgz .\nRUN tar xzf app.tgz -C /opt\nRUN rm app.tgz\n";
        let found = lint_rule("LW105", text);
        assert_eq!(found.len(), 1, "{found:#?}");
    }

    #[test]
    fn no_fix_reaches_across_stages() {
        let text = "FROM debian AS base\nRUN apt-get update && apt-get install -y curl\n\nFROM golang AS builder\nRUN go install example.com/app@latest\n\nFROM base\nRUN rm -rf /var/lib/apt/lists/*\nCOPY --from=builder /go/bin/app /usr/local/bin/app\n";
        assert_eq!(lint_rule("LW105", text).len(), 1);
        assert_eq!(fix_rule("LW105", text, true), text);
        let text = "FROM debian AS base\nRUN apt-get update && apt-get install -y curl\nFROM base AS final\nRUN rm -rf /var/lib/apt/lists/*\n";
        assert_eq!(fix_rule("LW105", text, true), text);
    }

    #[test]
    fn a_relative_removal_is_not_moved_after_a_cd() {
        let text = "FROM d\nWORKDIR /tmp\nRUN wget -O app.tgz https://x && mkdir /opt/app && cd /opt/app && tar xzf /tmp/app.tgz\nCOPY config /etc/app/config\nRUN rm app.tgz\n";
        assert_eq!(lint_rule("LW105", text).len(), 1);
        assert_eq!(fix_rule("LW105", text, true), text);
    }

    #[test]
    fn the_layer_blamed_is_the_one_that_wrote_the_path() {
        let text = "FROM d\nRUN apt-get update\nRUN wget -O /x \\\n    http://a && apt-get install -y x\nRUN rm -rf /var/lib/apt/lists/* /x\n";
        let found = lint_rule("LW105", text);
        let messages: Vec<&str> = found.iter().map(|d| d.message.as_str()).collect();
        assert!(
            messages
                .iter()
                .any(|m| m.contains("(line 2, `apt-get update`)")),
            "{messages:#?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("(line 3, `wget -O /x http://a`)")),
            "{messages:#?}"
        );
    }

    #[test]
    fn a_relative_removal_is_not_moved_across_a_workdir() {
        let text = "FROM debian\nRUN wget -O /tmp/a.tgz https://example.com/a.tgz\nWORKDIR /tmp\nRUN rm a.tgz\n";
        assert_eq!(lint_rule("LW105", text).len(), 1);
        assert_eq!(fix_rule("LW105", text, true), text);
    }

    #[test]
    fn same_layer_removal_is_fine() {
        let text = "FROM d\nRUN wget -O /tmp/x.tgz http://e/x.tgz && tar xzf /tmp/x.tgz && rm /tmp/x.tgz\nRUN rm -rf /tmp/other\n";
        assert!(lint_rule("LW105", text).is_empty());
    }

    #[test]
    fn builder_stages_do_not_count() {
        let text = "FROM d AS b\nRUN mkdir /x\nRUN rm -rf /x\nFROM scratch\nCOPY --from=b /y /y\n";
        assert!(lint_rule("LW105", text).is_empty());
    }

    #[test]
    fn fix_moves_a_lone_removal() {
        let text = "FROM d\nRUN git clone https://e/repo.git /src && make -C /src\nENV A=1\nRUN rm -rf /src\n";
        assert_eq!(
            fix_rule("LW105", text, true),
            "FROM d\nRUN git clone https://e/repo.git /src && make -C /src \\\n    && rm -rf /src\nENV A=1\n"
        );
    }

    #[test]
    fn fix_merges_runs_in_between() {
        let text = "FROM d\nRUN mkdir /w\nRUN touch /w/a\nRUN rm -rf /w\n";
        assert_eq!(
            fix_rule("LW105", text, true),
            "FROM d\nRUN mkdir /w \\\n    && touch /w/a \\\n    && rm -rf /w\n"
        );
    }
}
