//! LW105 deleted-in-later-layer: a RUN removes what an earlier layer created; the bytes stay.

use std::rc::Rc;
use std::sync::Arc;

use crate::diagnostic::{Diagnostic, command_text};
use crate::findings::Findings;

use crate::fix::{Edit, Fix, Safety};
use crate::model::effects::{Creation, EffectKind};
use crate::model::paths::{resolve, within};
use crate::rules::Context;
use crate::rules::Rule;
use crate::rules::edit::{append_command, first_line, merge_runs, node_span, same_flags};
use crate::rules::held::Held;
use crate::shell::Command;
use crate::source::Span;
use crate::syntax::{Instruction, Keyword};

pub struct DeletedInLaterLayer;

/// A path some instruction put into a layer.
#[derive(Clone, Debug)]
struct Created<'a> {
    path: Rc<str>,
    by: &'a Instruction,
    /// Where in the file it was created (the command or the COPY line).
    span: Span,
    what: Maker<'a>,
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

    fn check(&self, cx: &Context<'_>, out: &mut Findings) {
        let Some(last) = cx.stages.len().checked_sub(1) else {
            return;
        };
        // The final image holds the layers of the final stage and of the stages it is built on.
        let lineage = cx.lineage(last);
        let instructions: Vec<&Instruction> = lineage
            .iter()
            .flat_map(|&s| cx.stages[s].stage.instructions.iter().copied())
            .collect();
        let mut created = Held::new(|c: &Created<'_>| (c.path.clone(), c.tree));
        for (at, &inst) in instructions.iter().enumerate() {
            // A base image's own WORKDIR is taken to be `/`, as it is for most images.
            let workdir = cx
                .state(inst)
                .and_then(|s| s.workdir.clone())
                .unwrap_or_else(|| Arc::from("/"));
            let workdir: &str = &workdir;
            match inst.keyword {
                Keyword::Copy | Keyword::Add => {
                    if let Some((sources, dest)) = inst.copy_paths() {
                        let into_dir = dest.ends_with('/') || dest == "." || sources.len() > 1;
                        let dest = resolve(workdir, &dest);
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
                            created.add(Created {
                                path: path.into(),
                                by: inst,
                                span: first_line(cx.df, inst),
                                what: Maker::Copy(inst),
                                tree: true,
                            });
                        }
                    }
                }
                Keyword::Run => {
                    let Some(script) = cx.script(inst) else {
                        continue;
                    };
                    let effects = cx.effects(inst);
                    let mut here: Vec<Created<'_>> = Vec::new();
                    for (index, command) in script.commands.iter().enumerate() {
                        let own = effects.iter().filter(|e| e.command == index);
                        for effect in own.clone() {
                            let EffectKind::Removes { path } = &effect.kind else {
                                continue;
                            };
                            // Removed in the layer that made it: no waste. That the path
                            // was also made earlier is the earlier layer's finding (its own
                            // cleanup, LW102's lists), not this removal's: it is needed here.
                            let own = here.iter().any(|c| hits(c, path));
                            here.retain(|c| !hits(c, path));
                            // The last layer that wrote there is where the removal belongs.
                            if let Some(last) = created.latest(|c| hits(c, path))
                                && !own
                            {
                                out.push(finding(cx, &instructions, at, effect.span, path, last));
                            }
                            created.retain(|c| !hits(c, path));
                        }
                        for effect in own {
                            let EffectKind::Creates { path, how } = &effect.kind else {
                                continue;
                            };
                            // An empty folder holds no bytes; what goes into it is seen itself.
                            if *how == Creation::Directory {
                                continue;
                            }
                            here.push(Created {
                                path: path.as_str().into(),
                                by: inst,
                                span: command.span(),
                                what: Maker::Command(index),
                                tree: how.tree(),
                            });
                        }
                    }
                    for c in here {
                        created.add(c);
                    }
                }
                _ => {}
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
            Maker::Copy(inst) => {
                let sources = inst.copy_paths().map(|(s, _)| s).unwrap_or_default();
                format!("{} {}", inst.keyword, sources.join(" "))
            }
            Maker::Command(index) => cx
                .script(by)
                .and_then(|s| s.commands.get(index).map(command_words))
                .unwrap_or_default(),
        }
    }
}

/// A command as its words say it (not its text: no continuation lines in a message), cut.
fn command_words(command: &Command) -> String {
    let words = command.assigns().iter().chain(command.words());
    command_text(words.map(|w| w.value()), 60)
}

/// Removing `removed` (a path, or `dir/*` for its contents) takes away something created.
fn hits(created: &Created<'_>, removed: &str) -> bool {
    let base = removed.strip_suffix("/*").unwrap_or(removed);
    if base.is_empty() || base == "/" {
        return false;
    }
    let below_removed = within(&created.path, base)
        && (*created.path != *base || !removed.ends_with("/*") || created.tree);
    let inside_created = created.tree && within(base, &created.path);
    below_removed || inside_created
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
            created.what.words(cx, created.by)
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
            && i.heredocs().is_empty()
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
        .any(|i| i.keyword == Keyword::User || cx.df.slice(i.span()).contains(name));
    // Appended to the creating RUN, a relative path would be read in whatever folder that
    // RUN's own `cd` left.
    let relative = script.commands.iter().any(|c| {
        c.args()
            .iter()
            .any(|w| !w.value().starts_with('-') && !w.value().starts_with(['/', '~', '$']))
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
        || !deleter.heredocs().is_empty()
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
    fn a_removal_of_what_its_own_run_made_is_not_reported() {
        // The lists of line 3 stay (an ignore comment keeps LW102 quiet there); the cleanup
        // LW102's fix appends to line 5 removes that RUN's own lists, which it must.
        let text = "FROM debian\n# layerwise ignore=LW102\nRUN apt-get update && apt-get install -y curl\nCOPY x /x\nRUN apt-get update && apt-get install -y git && rm -rf /var/lib/apt/lists/*\n";
        assert!(lint_rule("LW105", text).is_empty());
        let other = "FROM debian\nRUN apt-get update && apt-get install -y curl\nCOPY x /x\nRUN rm -rf /var/lib/apt/lists/*\n";
        assert_eq!(lint_rule("LW105", other).len(), 1);
    }

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
        let text = "FROM d\nRUN curl -o /w/a https://x/a\nRUN touch /w/b\nRUN rm -rf /w\n";
        assert_eq!(
            fix_rule("LW105", text, true),
            "FROM d\nRUN curl -o /w/a https://x/a \\\n    && touch /w/b \\\n    && rm -rf /w\n"
        );
    }

    #[test]
    fn paths_named_through_variables_and_written_by_dd_downloads_and_redirects() {
        let lint = |t: &str| crate::rules::test_support::lint_rule("LW105", t);
        let dd = "FROM debian\nENV BIG=/opt/blob\nRUN dd if=/dev/zero of=$BIG bs=1M count=10\nRUN rm -f /opt/blob\n";
        assert_eq!(lint(dd).len(), 1, "dd of= through ENV");
        let download = "FROM debian\nWORKDIR /tmp\nRUN curl -fsSLO https://x/sdk.tar.gz\nRUN tar xzf sdk.tar.gz\nRUN rm sdk.tar.gz\n";
        assert_eq!(lint(download).len(), 1, "curl -O into the WORKDIR");
        let redirect = "FROM debian\nRUN cd /srv && env > dump.txt\nRUN rm /srv/dump.txt\n";
        assert_eq!(lint(redirect).len(), 1, "a redirection after cd");
        // An empty folder made in one layer and removed in another wastes nothing.
        let empty = "FROM debian\nRUN mkdir -p /tmp/work\nRUN rm -rf /tmp/work\n";
        assert!(lint(empty).is_empty());
    }

    /// The messages of the rule's findings, each with the line it is on.
    fn messages(text: &str) -> Vec<(usize, String)> {
        let df = crate::syntax::Dockerfile::parse(text);
        lint_rule("LW105", text)
            .into_iter()
            .map(|d| (df.position(d.span.start).line + 1, d.message.to_string()))
            .collect()
    }

    #[test]
    fn a_path_made_again_and_again_is_blamed_on_its_latest_maker() {
        // Each creation of `/x` takes the place of the one before: the removal names the last.
        let mut text = String::from("FROM d\n");
        for n in 0..50 {
            text.push_str(&format!("RUN echo {n} > /x\n"));
        }
        text.push_str("RUN curl -o /x http://b\nENV A=1\nRUN rm /x\n");
        let found = messages(&text);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].0, 54);
        assert!(
            found[0].1.contains("(line 52, `curl -o /x http://b`)"),
            "{found:#?}"
        );
        assert_eq!(
            fix_rule("LW105", &text, true),
            text.replace(
                "RUN curl -o /x http://b\nENV A=1\nRUN rm /x\n",
                "RUN curl -o /x http://b \\\n    && rm /x\nENV A=1\n"
            )
        );
    }

    #[test]
    fn the_latest_maker_is_named_whether_or_not_it_made_a_tree() {
        // A clone (a tree) and a download (a file) of one path are kept apart; the clone made
        // again on line 4 is later than the download, though the first clone is not.
        let text = "FROM d\nRUN git clone https://e/r.git /src\nRUN wget -O /src https://x\nRUN git clone https://e/r.git /src\nRUN rm -rf /src\n";
        let found = messages(text);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0]
                .1
                .contains("(line 4, `git clone https://e/r.git /src`)"),
            "{found:#?}"
        );
        assert_eq!(
            fix_rule("LW105", text, true),
            "FROM d\nRUN git clone https://e/r.git /src\nRUN wget -O /src https://x\nRUN git clone https://e/r.git /src \\\n    && rm -rf /src\n"
        );
        let without = "FROM d\nRUN git clone https://e/r.git /src\nRUN wget -O /src https://x\nRUN rm -rf /src\n";
        let found = messages(without);
        assert!(
            found[0].1.contains("(line 3, `wget -O /src https://x`)"),
            "{found:#?}"
        );
    }

    #[test]
    fn what_a_removal_took_is_gone_until_it_is_made_again() {
        // `/w/*` takes `/w/a` (made twice: the second is named) but not the file `/w`; what
        // is made again after it is named by the next removal, and then nothing is left.
        let text = "FROM d\nRUN curl -o /w/a https://x/a\nRUN curl -o /w/a https://x/b\nRUN wget -O /w https://x/w\nRUN rm -rf /w/*\nRUN curl -o /w/a https://x/c\nLABEL a=b\nRUN rm -rf /w/*\nRUN rm -rf /w/*\n";
        let found = messages(text);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert_eq!(found[0].0, 5);
        assert!(
            found[0].1.contains("(line 3, `curl -o /w/a https://x/b`)"),
            "{found:#?}"
        );
        assert_eq!(found[1].0, 8);
        assert!(
            found[1].1.contains("(line 6, `curl -o /w/a https://x/c`)"),
            "{found:#?}"
        );
    }

    #[test]
    fn nothing_written_below_a_mount_lands_in_a_layer() {
        let text = "FROM alpine\nWORKDIR /src\nRUN --mount=target=.,type=tmpfs rsync -a /context/. .\n\
                    RUN --mount=target=.,type=tmpfs rm -rf docs/*\n";
        assert!(lint_rule("LW105", text).is_empty());
    }
}
