//! LW107 archive-kept-in-layer: an archive, package or installer lands in one layer and is
//! unpacked or installed in a later one; the archive stays in its layer.

use crate::diagnostic::{Diagnostic, shorten};
use crate::findings::Findings;
use crate::fix::{Fix, Safety};
use crate::knowledge::tools::is_archive;
use crate::model::copies::Origin;
use crate::model::effects::{Creation, EffectKind};
use crate::model::paths::{resolve, within};
use crate::rules::Context;
use crate::rules::Rule;
use crate::rules::edit::{append_command, first_line, merge_runs, same_flags};
use crate::shell::{Command, Word};
use crate::source::Span;
use crate::syntax::{Instruction, Keyword};

pub struct ArchiveKeptInLayer;

/// An archive some instruction put into a layer.
struct Archive<'a> {
    path: String,
    by: &'a Instruction,
    span: Span,
    what: String,
    /// A RUN downloaded it (so the fix can move the download).
    downloaded: bool,
}

impl Rule for ArchiveKeptInLayer {
    fn id(&self) -> &'static str {
        "LW107"
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
        let mut archives: Vec<Archive<'_>> = Vec::new();
        for (at, &inst) in instructions.iter().enumerate() {
            if let Some(copy) = cx.copy(inst) {
                for source in &copy.sources {
                    // ADD unpacks a local tar itself; what it brings is the contents.
                    let kept = match source.origin {
                        Origin::Url => true,
                        Origin::Context => !source.unpacked && is_archive(&source.path),
                        _ => false,
                    };
                    if let Some(path) = copy.landing(source).filter(|_| kept) {
                        archives.retain(|a| a.path != path);
                        archives.push(Archive {
                            path,
                            by: inst,
                            span: first_line(cx.df, inst),
                            what: format!("{} {}", inst.keyword, short(&source.path)),
                            downloaded: false,
                        });
                    }
                }
                continue;
            }
            if inst.keyword != Keyword::Run {
                continue;
            }
            let (Some(script), Some(state)) = (cx.script(inst), cx.state(inst)) else {
                continue;
            };
            let effects = cx.effects(inst);
            let removed_here = |path: &str| {
                effects.iter().any(|e| match &e.kind {
                    EffectKind::Removes { path: p } => {
                        let base = p.strip_suffix("/*").unwrap_or(p);
                        within(path, base) && (path != base || !p.ends_with("/*"))
                    }
                    _ => false,
                })
            };
            let mut reported: Vec<String> = Vec::new();
            for (index, command) in script.commands.iter().enumerate() {
                let cwd = command.var("PWD").unwrap_or(state.workdir.as_deref());
                let Some(word) = consumed(command, cwd, &archives) else {
                    continue;
                };
                let (word_span, path) = word;
                // Removed in this RUN too: LW105 reports the removal, and the fix is its.
                if reported.contains(&path) || removed_here(&path) {
                    continue;
                }
                // Made earlier in this RUN: nothing kept from another layer.
                let made_here = effects.iter().any(|e| {
                    e.command < index
                        && matches!(&e.kind, EffectKind::Creates { path: p, .. } if *p == path)
                });
                if made_here {
                    continue;
                }
                let Some(archive) = archives.iter().rev().find(|a| a.path == path) else {
                    continue;
                };
                reported.push(path.clone());
                let line = cx.df.position(archive.span.start).line + 1;
                let verb = match command.name() {
                    Some(
                        "tar" | "bsdtar" | "unzip" | "7z" | "7za" | "gunzip" | "unxz" | "xz"
                        | "bunzip2" | "unzstd" | "zstd" | "gzip",
                    ) => "unpacked",
                    _ => "installed",
                };
                let fix = if archive.downloaded {
                    one_run(cx, &instructions, at, archive)
                } else {
                    None
                };
                let help = if archive.downloaded {
                    "download, unpack and remove the archive in one RUN"
                } else if archive.by.keyword == Keyword::Add && !archive.what.contains("://") {
                    "unpack it from a `RUN --mount=type=bind,source=…` instead of copying it into a layer"
                } else if archive.by.keyword == Keyword::Add {
                    "download it in the RUN that unpacks it (and remove it there), or use `ADD` of the URL without a later unpack when the tool allows"
                } else {
                    "unpack it from a `RUN --mount=type=bind,source=…` instead of copying it into a layer"
                };
                out.push(
                    Diagnostic::new(
                        "LW107",
                        word_span,
                        format!(
                            "`{path}` is {verb} here but came in an earlier layer (line {line}, `{}`): the archive stays in that layer next to what is {verb} from it",
                            archive.what
                        ),
                    )
                    .with_label(archive.span, "the archive lands in this layer")
                    .with_help(help)
                    .with_fix(fix),
                );
            }
            // What this RUN downloads and keeps is an archive later RUNs may unpack.
            for effect in &effects {
                match &effect.kind {
                    EffectKind::Creates {
                        path,
                        how: Creation::Download,
                    } if !removed_here(path) => {
                        let command = &script.commands[effect.command];
                        archives.retain(|a| a.path != *path);
                        archives.push(Archive {
                            path: path.clone(),
                            by: inst,
                            span: command.span(),
                            what: short(&words(command)),
                            downloaded: true,
                        });
                    }
                    EffectKind::Removes { path } => {
                        let base = path.strip_suffix("/*").unwrap_or(path);
                        archives.retain(|a| !within(&a.path, base));
                    }
                    _ => {}
                }
            }
        }
    }
}

fn words(command: &Command) -> String {
    command
        .words()
        .iter()
        .map(|w| w.value())
        .collect::<Vec<_>>()
        .join(" ")
}

fn short(text: &str) -> String {
    shorten(text, 60)
}

/// The word of `command` naming an archive it unpacks, installs or runs, and that archive's
/// path.
fn consumed(
    command: &Command,
    cwd: Option<&str>,
    archives: &[Archive<'_>],
) -> Option<(Span, String)> {
    let place = |w: Word| -> Option<String> {
        if !w.literal() || w.value().starts_with('-') || w.value().contains('$') {
            return None;
        }
        let value = w.value().strip_prefix("file://").unwrap_or(w.value());
        match (value.starts_with('/'), cwd) {
            (true, _) => Some(resolve("/", value)),
            (false, Some(cwd)) => Some(resolve(cwd, value)),
            (false, None) => None,
        }
    };
    let known = |w: Word| {
        place(w)
            .filter(|p| archives.iter().any(|a| a.path == *p))
            .map(|p| (w.span(), p))
    };
    // A self-unpacking installer, run: `./cuda.run`, `sh /tmp/setup.bin`. A plain script is
    // a few kilobytes; it is not what this rule is about.
    let installer = |w: Word| {
        known(w).filter(|(_, p)| [".run", ".bin", ".AppImage"].iter().any(|e| p.ends_with(e)))
    };
    if let Some(program) = command.program_words().first()
        && program.value().contains('/')
        && let Some(hit) = installer(program)
    {
        return Some(hit);
    }
    let name = command.name()?;
    let args = command.args();
    let unpacks = match name {
        "tar" | "bsdtar" => args.iter().any(|w| {
            w.value() == "--extract"
                || w.value() == "--get"
                || (!w.value().starts_with("--")
                    && w.value()
                        .chars()
                        .all(|c| c.is_ascii_alphabetic() || c == '-')
                    && w.value().contains('x')
                    && w.value().len() <= 8)
        }),
        "unzip" | "7z" | "7za" | "gunzip" | "unxz" | "bunzip2" | "unzstd" => true,
        "gzip" | "xz" | "zstd" | "bzip2" => args.iter().any(|w| w.value() == "-d"),
        "dpkg" => args
            .iter()
            .any(|w| w.value() == "-i" || w.value() == "--install"),
        "rpm" => args
            .iter()
            .any(|w| w.value().starts_with("-i") || w.value().starts_with("-U")),
        "apt-get" | "apt" | "yum" | "dnf" | "microdnf" | "zypper" | "apk" | "pip" | "pip3" => args
            .iter()
            .any(|w| matches!(w.value(), "install" | "localinstall" | "add" | "in")),
        "sh" | "bash" => return args.iter().find_map(installer),
        "java" => {
            let at = args.iter().position(|w| w.value() == "-jar")?;
            return args.get(at + 1).and_then(known);
        }
        _ => false,
    };
    if !unpacks {
        return None;
    }
    args.iter().find_map(known)
}

/// Download, unpack and remove in one RUN: the RUNs from the download to the unpack merged
/// (all RUNs, same flags) and the archive removed at the end, when nothing after needs it.
fn one_run(
    cx: &Context<'_>,
    instructions: &[&Instruction],
    at: usize,
    archive: &Archive<'_>,
) -> Option<Fix> {
    let from = instructions
        .iter()
        .position(|i| std::ptr::eq(*i, archive.by))?;
    if from >= at || cx.stages.of(archive.by) != cx.stages.of(instructions[at]) {
        return None;
    }
    let span = &instructions[from..=at];
    let all_runs = span.iter().all(|i| {
        i.keyword == Keyword::Run
            && i.heredocs().is_empty()
            && !i.is_exec_form()
            && same_flags(i, archive.by)
    });
    if !all_runs {
        return None;
    }
    // A later instruction that names the file (an `rm` without `-f`, another use) would fail
    // once it is gone.
    let name = archive.path.rsplit('/').next().unwrap_or(&archive.path);
    if instructions[at + 1..]
        .iter()
        .any(|i| cx.df.slice(i.span()).contains(name))
    {
        return None;
    }
    let mut fix = merge_runs(cx, span)?;
    // The removal goes after everything the merged RUN does: the last RUN's own end.
    let removal = append_command(cx, instructions[at], &format!("rm -f {}", archive.path))?;
    let last = span.last()?;
    let edit = fix.edits.first_mut()?;
    if removal.span.start != last.args_span().end || edit.span.end != last.span().end {
        return None;
    }
    // The merge replaces up to the last RUN's end; the removal follows it.
    let tail = cx.df.text().get(last.args_span().end..last.span().end)?;
    if !tail.is_empty() {
        return None;
    }
    edit.text = format!("{}{}", edit.text, removal.text).into();
    fix.safety = Safety::Unsafe;
    fix.title = format!("download, unpack and remove `{}` in one RUN", archive.path).into();
    Some(fix)
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{fix_rule, lint_rule};

    fn count(text: &str) -> usize {
        lint_rule("LW107", text).len()
    }

    #[test]
    fn archives_unpacked_or_installed_a_layer_later() {
        for text in [
            "FROM d\nADD https://x/tool-1.2.tar.gz /tmp/\nRUN tar -xzf /tmp/tool-1.2.tar.gz -C /opt\n",
            "FROM d\nWORKDIR /tmp\nRUN wget https://x/sdk.zip\nRUN unzip sdk.zip -d /opt\n",
            "FROM d\nCOPY pkg.deb /tmp/pkg.deb\nRUN dpkg -i /tmp/pkg.deb\n",
            "FROM d\nCOPY app.whl /w/\nRUN pip install /w/app.whl\n",
            "FROM d\nRUN curl -fsSLo /tmp/i.run https://x/install.run\nRUN sh /tmp/i.run --prefix /opt\n",
            "FROM d\nADD https://x/setup.run /opt/setup.run\nRUN chmod +x /opt/setup.run && /opt/setup.run\n",
            "FROM d\nRUN cd /tmp && curl -O https://x/a.tar.xz\nRUN tar xf /tmp/a.tar.xz\nRUN rm /tmp/a.tar.xz\n",
        ] {
            assert_eq!(count(text), 1, "{text}");
        }
    }

    #[test]
    fn archives_that_leave_nothing_behind() {
        for text in [
            // One RUN.
            "FROM d\nRUN curl -o /tmp/a.tgz https://x/a.tgz && tar xzf /tmp/a.tgz && rm /tmp/a.tgz\n",
            // Unpacked and removed in the same later RUN: LW105's finding.
            "FROM d\nCOPY a.tgz /tmp/\nRUN tar xzf /tmp/a.tgz -C /opt && rm /tmp/a.tgz\n",
            // ADD unpacks a local tar itself.
            "FROM d\nADD vendor.tar.gz /opt/\nRUN ls /opt\n",
            // A script: a few kilobytes.
            "FROM d\nCOPY setup.sh /tmp/setup.sh\nRUN bash /tmp/setup.sh\n",
            // Listed, not unpacked; a builder stage.
            "FROM d\nCOPY a.tgz /a.tgz\nRUN tar tzf /a.tgz\n",
            "FROM d AS b\nADD https://x/a.tgz /a.tgz\nRUN tar xzf /a.tgz\nFROM scratch\nCOPY --from=b /x /x\n",
        ] {
            assert_eq!(count(text), 0, "{text}");
        }
    }

    #[test]
    fn fix_downloads_unpacks_and_removes_in_one_run() {
        let text = "FROM d\nRUN wget -O /tmp/a.tgz https://x/a.tgz && echo 'abc  /tmp/a.tgz' | sha256sum -c -\nRUN tar xzf /tmp/a.tgz -C /opt\n";
        assert_eq!(
            fix_rule("LW107", text, true),
            "FROM d\nRUN wget -O /tmp/a.tgz https://x/a.tgz && echo 'abc  /tmp/a.tgz' | sha256sum -c - \\\n    && tar xzf /tmp/a.tgz -C /opt \\\n    && rm -f /tmp/a.tgz\n"
        );
        assert_eq!(fix_rule("LW107", text, false), text);
        // A later RUN still names the file: left alone.
        let later = "FROM d\nRUN wget -O /tmp/a.tgz https://x/a.tgz\nRUN tar xzf /tmp/a.tgz -C /opt\nRUN rm /tmp/a.tgz\n";
        assert_eq!(fix_rule("LW107", later, true), later);
        // ADD of a URL: the image may have no curl.
        let add = "FROM d\nADD https://x/a.tgz /tmp/a.tgz\nRUN tar xzf /tmp/a.tgz -C /opt\n";
        assert_eq!(fix_rule("LW107", add, true), add);
    }
}
