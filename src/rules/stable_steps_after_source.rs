//! LW203 stable-steps-after-source: a RUN that reads nothing of the build context (system
//! packages, downloads) comes after the whole context is copied, so every source edit runs it
//! again. Stable steps first, then the source.

use crate::diagnostic::{Diagnostic, command_text};
use crate::findings::Findings;
use crate::fix::{Edit, Fix, Safety};
use crate::rules::edit::{block_span, first_line, lead_start};
use crate::rules::{Context, Rule};
use crate::source::Span;
use crate::syntax::Instruction;

pub struct StableStepsAfterSource;

impl Rule for StableStepsAfterSource {
    fn id(&self) -> &'static str {
        "LW203"
    }

    /// Before LW201: the stable steps go above the source first, then the manifests go
    /// between them and the source.
    fn fix_order(&self) -> u8 {
        0
    }

    fn check(&self, cx: &Context<'_>, out: &mut Findings) {
        let steps = cx.stable_steps();
        for group in steps.chunk_by(|a, b| std::ptr::eq(a.copy, b.copy)) {
            let copy = group[0].copy;
            let movers: Vec<&Instruction> = group
                .iter()
                .filter(|s| s.moves.is_ok())
                .map(|s| s.run)
                .collect();
            let fix = move_above(cx, copy, &movers);
            let copy_line = cx.df.position(copy.span().start).line + 1;
            let copy_text = copy_words(cx, copy);
            for step in group {
                let mut help = format!(
                    "run it before `{copy_text}`, so that a source edit does not run it again"
                );
                if let Err(blocker) = &step.moves {
                    help.push_str(&format!("; no automatic fix: {blocker}"));
                }
                out.push(
                    Diagnostic::new(
                        "LW203",
                        first_line(cx.df, step.run),
                        format!(
                            "this RUN {} and reads nothing of the build context, but comes after `{copy_text}` (line {copy_line}): every source edit runs it again",
                            step.work
                        ),
                    )
                    .with_label(first_line(cx.df, copy), "the whole context is copied here")
                    .with_help(help)
                    .with_fix(if step.moves.is_ok() { fix.clone() } else { None }),
                );
            }
        }
    }
}

/// The COPY as written, cut for a message.
fn copy_words(cx: &Context<'_>, copy: &Instruction) -> String {
    command_text(cx.df.slice(first_line(cx.df, copy)).split_whitespace(), 40)
}

/// Moves the RUNs (with the comment lines above each) above the COPY, in their order.
fn move_above(cx: &Context<'_>, copy: &Instruction, movers: &[&Instruction]) -> Option<Fix> {
    let first = movers.first()?;
    let text = cx.df.text();
    let at = lead_start(cx.df, copy);
    let mut moved = String::new();
    let mut edits = Vec::new();
    for &inst in movers {
        let block: Span = block_span(cx.df, inst);
        let lines = &text[block.range()];
        moved.push_str(lines);
        if !lines.ends_with('\n') {
            moved.push_str(cx.style.newline);
        }
        edits.push(Edit::delete(block));
    }
    edits.push(Edit::insert(at, moved));
    let copy_text = copy_words(cx, copy);
    let title = match movers.len() {
        1 => format!(
            "move the RUN on line {} above `{copy_text}`",
            cx.df.position(first.span().start).line + 1
        ),
        n => format!("move the {n} RUNs that read nothing of the context above `{copy_text}`"),
    };
    Some(Fix::new(title, Safety::Unsafe, edits))
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{fix_rule, lint_rule};

    const FIRST_DAY: &str = "FROM debian:bookworm-slim\nWORKDIR /app\nCOPY . /app\n\
        RUN apt-get update\nRUN apt-get install -y python3\nRUN apt-get install -y python3-pip\n\
        RUN pip3 install --break-system-packages -r requirements.txt\nRUN apt-get clean\n\
        CMD [\"python3\", \"app.py\"]\n";

    #[test]
    fn package_runs_after_the_source_move_above_it_in_their_order() {
        let found = lint_rule("LW203", FIRST_DAY);
        assert_eq!(found.len(), 3, "{found:#?}");
        assert!(found.iter().all(|d| d.fix.is_some()));
        assert_eq!(
            fix_rule("LW203", FIRST_DAY, true),
            "FROM debian:bookworm-slim\nWORKDIR /app\nRUN apt-get update\n\
             RUN apt-get install -y python3\nRUN apt-get install -y python3-pip\nCOPY . /app\n\
             RUN pip3 install --break-system-packages -r requirements.txt\nRUN apt-get clean\n\
             CMD [\"python3\", \"app.py\"]\n"
        );
    }

    #[test]
    fn runs_that_read_the_source_or_do_unknown_things_are_left_alone() {
        for run in [
            "RUN make",
            "RUN apt-get install -y ./vendor/tool.deb",
            "RUN ./install.sh && apt-get install -y curl",
            "RUN apt-get clean",
            "RUN curl -o /app/model.bin https://example.com/model.bin",
            "RUN --mount=type=bind,target=/x apt-get install -y curl",
        ] {
            let text = format!("FROM debian\nWORKDIR /app\nCOPY . .\n{run}\n");
            assert!(lint_rule("LW203", &text).is_empty(), "{run}");
        }
        // A copy of one file is not the whole source.
        let one = "FROM debian\nCOPY app.py /app/\nRUN apt-get install -y python3\n";
        assert!(lint_rule("LW203", one).is_empty());
    }

    #[test]
    fn a_run_in_the_way_keeps_the_finding_and_says_why_there_is_no_fix() {
        let text = "FROM debian\nWORKDIR /app\nCOPY . .\nENV DEBIAN_FRONTEND=noninteractive\n\
                    RUN apt-get install -y curl\n";
        let found = lint_rule("LW203", text);
        assert_eq!(found.len(), 1);
        assert!(found[0].fix.is_none());
        let help = found[0].help.as_deref().unwrap();
        assert!(
            help.ends_with(
                "no automatic fix: the ENV on line 4 sets variables its programs may read"
            ),
            "{help}"
        );
    }

    #[test]
    fn comments_above_a_moved_run_go_with_it() {
        let text = "FROM debian\nWORKDIR /app\n# the source\nCOPY . .\n# layerwise ignore=LW104\nRUN apt-get install -y curl\nRUN make\n";
        assert_eq!(
            fix_rule("LW203", text, true),
            "FROM debian\nWORKDIR /app\n# layerwise ignore=LW104\nRUN apt-get install -y curl\n# the source\nCOPY . .\nRUN make\n"
        );
        let tool = "FROM debian\nCOPY . /src\nRUN wget -O /usr/local/bin/tool https://x/tool\n";
        assert_eq!(
            fix_rule("LW203", tool, true),
            "FROM debian\nRUN wget -O /usr/local/bin/tool https://x/tool\nCOPY . /src\n"
        );
        let last = "FROM debian\nCOPY . /src\nRUN apk add --no-cache git";
        assert_eq!(
            fix_rule("LW203", last, true),
            "FROM debian\nRUN apk add --no-cache git\nCOPY . /src\n"
        );
    }
}
