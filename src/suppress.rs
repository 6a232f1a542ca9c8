//! Inline ignore comments: `# layerwise ignore=LW101,LW102` above an instruction, `# layerwise
//! global ignore=…` anywhere for the whole file, and hadolint's own `# hadolint ignore=DL3059`
//! (and `global`) for the rules that have that hadolint alias.
//!
//! An ignore comment applies to the next instruction; other comment lines may sit between (so
//! comments stack), a blank line may not. A finding is suppressed when it starts on the lines
//! of that instruction.

use crate::catalog;
use crate::diagnostic::Diagnostic;
use crate::fix::Edit;
use crate::source::Span;
use crate::syntax::{Dockerfile, Instruction, NodeKind};

/// The rules about ignore comments themselves; inline comments never suppress them.
pub const COMMENT_RULES: [&str; 2] = ["LW901", "LW902"];

/// Whose comment it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    Layerwise,
    Hadolint,
}

/// One code in an ignore list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Code {
    pub text: String,
    pub span: Span,
    /// The layerwise rule it names. For a layerwise comment `None` means an unknown rule; for a
    /// hadolint comment, a hadolint rule layerwise has no equivalent of.
    pub rule: Option<&'static str>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IgnoreComment {
    pub tool: Tool,
    pub global: bool,
    /// The whole comment line, its line break included.
    pub line: Span,
    /// The comment's text without the line break.
    pub text: Span,
    /// The list after `ignore=`.
    pub list: Span,
    pub codes: Vec<Code>,
    /// The lines of the instruction it applies to: `None` for a global comment, or when no
    /// instruction follows.
    pub target: Option<Span>,
}

impl IgnoreComment {
    /// Whether this comment covers a finding (whatever its rule).
    pub fn covers(&self, span: Span) -> bool {
        if self.global {
            return true;
        }
        self.target
            .is_some_and(|t| t.start <= span.start && span.start <= t.end)
    }

    /// Whether this comment suppresses a finding.
    pub fn suppresses(&self, d: &Diagnostic) -> bool {
        !COMMENT_RULES.contains(&d.rule)
            && self.codes.iter().any(|c| self.names(c, d))
            && self.covers(d.span)
    }

    /// Whether one of this comment's codes names the finding: its rule, and for a hadolint code
    /// of a rule that covers several hadolint checks, the finding's own check.
    fn names(&self, code: &Code, d: &Diagnostic) -> bool {
        code.rule == Some(d.rule)
            && (self.tool == Tool::Layerwise || crate::catalog::hadolint_matches(d, &code.text))
    }
}

/// The ignore comments of a file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Suppressions {
    pub comments: Vec<IgnoreComment>,
}

impl Suppressions {
    pub fn parse(df: &Dockerfile) -> Suppressions {
        let text = df.text();
        let mut comments = Vec::new();
        for (i, (span, kind)) in df.node_spans().enumerate() {
            if !matches!(kind, NodeKind::Comment) {
                continue;
            }
            let Some(mut comment) = parse_comment(text, span) else {
                continue;
            };
            if !comment.global {
                comment.target = df.nodes[i + 1..]
                    .iter()
                    .find(|n| !matches!(n.kind, NodeKind::Comment))
                    .and_then(|n| match &n.kind {
                        NodeKind::Instruction(inst) => Some(Span::new(
                            df.lines().line_start(inst.lines().0),
                            inst.span().end,
                        )),
                        _ => None,
                    });
            }
            comments.push(comment);
        }
        for inst in df.instructions() {
            comments.extend(inner_comments(df, inst));
        }
        Suppressions { comments }
    }

    pub fn is_empty(&self) -> bool {
        self.comments.is_empty()
    }

    pub fn suppresses(&self, d: &Diagnostic) -> bool {
        self.comments.iter().any(|c| c.suppresses(d))
    }

    /// Whether an ignore comment, above it or inside it, applies to the instruction starting
    /// on the line at `line_start`. Merging such an instruction with others would widen what
    /// the comment covers.
    pub fn annotates(&self, line_start: usize) -> bool {
        self.comments
            .iter()
            .any(|c| !c.global && c.target.is_some_and(|t| t.start == line_start))
    }

    /// Every rule some comment names.
    pub fn named_rules(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.comments
            .iter()
            .flat_map(|c| c.codes.iter().filter_map(|code| code.rule))
    }
}

/// Ignore comments on the comment lines inside an instruction's continuation (BuildKit drops
/// those lines): they apply to the instruction they sit in. Heredoc bodies are the script's,
/// not comments.
fn inner_comments<'a>(
    df: &'a Dockerfile,
    inst: &'a Instruction,
) -> impl Iterator<Item = IgnoreComment> + 'a {
    let text = df.text();
    let lines = df.lines();
    let target = Span::new(lines.line_start(inst.lines().0), inst.span().end);
    (inst.lines().0 + 1..=inst.lines().1).filter_map(move |line| {
        let content = lines.line_span(text, line);
        if !text[content.range()].trim_start().starts_with('#')
            || inst
                .heredocs()
                .iter()
                .any(|h| h.body.start <= content.start && content.start < h.body.end)
        {
            return None;
        }
        let end = if line + 1 < lines.line_count() {
            lines.line_start(line + 1)
        } else {
            text.len()
        };
        let mut comment = parse_comment(text, Span::new(content.start, end))?;
        if !comment.global {
            comment.target = Some(target);
        }
        Some(comment)
    })
}

/// `# layerwise [global] ignore=A,B` or `# hadolint [global] ignore=A,B`, with its spans.
fn parse_comment(text: &str, line: Span) -> Option<IgnoreComment> {
    let content = text[line.range()].trim_end_matches(['\n', '\r']);
    let body = content.trim_start().strip_prefix('#')?.trim_start();
    let (tool, rest) = if let Some(rest) = body.strip_prefix("layerwise") {
        (Tool::Layerwise, rest)
    } else if let Some(rest) = body.strip_prefix("hadolint") {
        (Tool::Hadolint, rest)
    } else {
        return None;
    };
    // The tool's name is a word of its own.
    let rest = rest.strip_prefix([' ', '\t'])?.trim_start();
    let (global, rest) = match rest.strip_prefix("global") {
        Some(after) if after.starts_with([' ', '\t']) => (true, after.trim_start()),
        _ => (false, rest),
    };
    let rest = rest
        .strip_prefix("ignore")?
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    // `rest` is a suffix of `content`, so its offset is what was cut. The list ends where a
    // code is followed by a blank and then no comma: what follows is a reason, for people.
    let list_text = &rest[..list_len(rest)];
    let list_start = line.start + content.len() - rest.len();
    let list = Span::new(list_start, list_start + list_text.len());
    let mut codes = Vec::new();
    let mut offset = 0;
    for part in list_text.split(',') {
        let lead = part.len() - part.trim_start().len();
        let code = part.trim();
        if !code.is_empty() {
            let start = list.start + offset + lead;
            codes.push(Code {
                text: code.to_string(),
                span: Span::new(start, start + code.len()),
                rule: resolve(tool, code),
            });
        }
        offset += part.len() + 1;
    }
    Some(IgnoreComment {
        tool,
        global,
        line,
        text: Span::new(line.start, line.start + content.len()),
        list,
        codes,
        target: None,
    })
}

/// The length of the code list at the start of `rest` (`LW101, LW102 because …` → 12): a word
/// that follows a code with no comma between starts the reason.
fn list_len(rest: &str) -> usize {
    let mut end = 0;
    let mut want_code = true;
    let mut in_code = false;
    for (i, c) in rest.char_indices() {
        match c {
            ',' => {
                want_code = true;
                in_code = false;
                end = i + 1;
            }
            ' ' | '\t' => in_code = false,
            _ if !in_code && !want_code => break,
            _ => {
                in_code = true;
                want_code = false;
                end = i + c.len_utf8();
            }
        }
    }
    end
}

/// The layerwise rule a code names: by ID, name or alias in our comments, by alias in
/// hadolint's.
fn resolve(tool: Tool, code: &str) -> Option<&'static str> {
    match tool {
        Tool::Layerwise => catalog::lookup(code).map(|m| m.id.as_str()),
        Tool::Hadolint => catalog::all_meta()
            .iter()
            .find(|m| m.aliases.iter().any(|a| a.eq_ignore_ascii_case(code)))
            .map(|m| m.id.as_str()),
    }
}

/// The edit that ignores `rule` on the instruction holding `offset`: the rule added to a
/// `# layerwise ignore=` comment already above it, or a new comment line. For an editor's
/// "ignore this rule here".
pub fn ignore_edit(df: &Dockerfile, offset: usize, rule: &str) -> Option<Edit> {
    let text = df.text();
    let inst = df
        .instructions()
        .find(|i| df.lines().line_start(i.lines().0) <= offset && offset <= i.span().end)?;
    let line_start = df.lines().line_start(inst.lines().0);
    let existing = Suppressions::parse(df).comments.into_iter().find(|c| {
        c.tool == Tool::Layerwise && !c.global && c.target.is_some_and(|t| t.start == line_start)
    });
    if let Some(comment) = existing {
        if comment.codes.iter().any(|c| c.rule == Some(rule)) {
            return None;
        }
        let separator = if comment.codes.is_empty() { "" } else { "," };
        return Some(Edit::insert(comment.list.end, format!("{separator}{rule}")));
    }
    let line = &text[line_start..inst.span().start];
    let indent = &line[..line.len() - line.trim_start().len()];
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    Some(Edit::insert(
        line_start,
        format!("{indent}# layerwise ignore={rule}{newline}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::{LintOptions, lint};

    fn comments(text: &str) -> Vec<IgnoreComment> {
        Suppressions::parse(&Dockerfile::parse(text)).comments
    }

    fn rules_found(text: &str) -> Vec<(usize, &'static str)> {
        let df = Dockerfile::parse(text);
        lint(&df, &LintOptions::default())
            .iter()
            .map(|d| (df.position(d.span.start).line + 1, d.rule))
            .collect()
    }

    const TWO_RUNS: &str = "FROM debian\nRUN touch /a\nRUN touch /b\n";

    #[test]
    fn parses_both_tools_global_and_spans() {
        let text = "# layerwise ignore=LW101, apt-lists-not-cleaned\n#hadolint global ignore=DL3009,DL3008\nFROM a\n";
        let found = comments(text);
        assert_eq!(found.len(), 2);
        let ours = &found[0];
        assert_eq!((ours.tool, ours.global), (Tool::Layerwise, false));
        let codes: Vec<_> = ours
            .codes
            .iter()
            .map(|c| (&text[c.span.range()], c.rule))
            .collect();
        assert_eq!(
            codes,
            [
                ("LW101", Some("LW101")),
                ("apt-lists-not-cleaned", Some("LW102"))
            ]
        );
        assert_eq!(
            ours.target,
            Some(Span::new(text.find("FROM").unwrap(), text.len() - 1))
        );
        let theirs = &found[1];
        assert_eq!((theirs.tool, theirs.global), (Tool::Hadolint, true));
        // DL3008 (pinning) is hadolint's alone: not ours, not unknown either.
        let rules: Vec<_> = theirs.codes.iter().map(|c| c.rule).collect();
        assert_eq!(rules, [Some("LW102"), None]);
    }

    #[test]
    fn a_reason_after_the_codes_is_not_a_code() {
        for (text, codes) in [
            (
                "# layerwise ignore=LW101 because it is cached apart\n",
                vec!["LW101"],
            ),
            (
                "# layerwise ignore=LW101, LW102 (see ADR 12)\n",
                vec!["LW101", "LW102"],
            ),
            (
                "# layerwise ignore=LW101 ,LW102 why\n",
                vec!["LW101", "LW102"],
            ),
            ("# layerwise ignore=LW101,\n", vec!["LW101"]),
            ("# layerwise ignore= LW101\n", vec!["LW101"]),
        ] {
            let found = comments(&format!("{text}FROM a\n"));
            let got: Vec<_> = found[0].codes.iter().map(|c| c.text.as_str()).collect();
            assert_eq!(got, codes, "{text}");
        }
        let text = "FROM a\nRUN a\n# layerwise ignore=LW101 because it is cached apart\nRUN b\n";
        assert_eq!(rules_found(text), []);
    }

    #[test]
    fn a_comment_inside_a_continuation_applies_to_its_instruction() {
        let text = "FROM debian\nRUN apt-get update && \\\n# layerwise ignore=LW102\n    apt-get install -y --no-install-recommends wget\n";
        assert_eq!(rules_found(text), []);
        let unknown = text.replace("LW102", "LW102,LW999");
        assert_eq!(rules_found(&unknown), [(3, "LW901")]);
        let unused = text.replace("LW102", "LW102,LW104");
        assert_eq!(rules_found(&unused), [(3, "LW902")]);
        // in a heredoc the line is the script's
        let heredoc = "FROM debian\nRUN <<EOF\n# layerwise ignore=LW102\napt-get update && apt-get install -y --no-install-recommends wget\nEOF\n";
        assert_eq!(rules_found(heredoc), [(4, "LW102")]);
    }

    #[test]
    fn an_unused_comment_says_why_it_reaches_nothing() {
        let message = |text: &str| {
            let df = Dockerfile::parse(text);
            lint(&df, &LintOptions::default())
                .into_iter()
                .find(|d| d.rule == "LW902")
                .map(|d| d.message)
                .unwrap_or_default()
        };
        assert!(
            message("FROM debian\n# layerwise ignore=LW104\n\nRUN echo\n")
                .ends_with("a blank line ends its reach before the next instruction")
        );
        assert!(
            message("FROM debian\n# layerwise ignore=LW104\n")
                .ends_with("no instruction follows it")
        );
        assert!(
            message("FROM debian\nRUN echo a \\\n# layerwise ignore=LW104\n  b\n")
                .ends_with("does not fire on the instruction it sits in")
        );
    }

    #[test]
    fn other_comments_are_not_pragmas() {
        for text in [
            "# layerwise is great\nFROM a\n",
            "# layerwise ignore LW101\nFROM a\n",
            "# layerwiseignore=LW101\nFROM a\n",
            "# hadolint-ignore=DL3009\nFROM a\n",
            "# ignore=LW101\nFROM a\n",
        ] {
            assert!(comments(text).is_empty(), "{text}");
        }
    }

    #[test]
    fn next_instruction_ignore_suppresses_only_there() {
        assert_eq!(rules_found(TWO_RUNS), [(3, "LW101")]);
        let ignored = "FROM debian\nRUN touch /a\n# layerwise ignore=LW101\nRUN touch /b\n";
        assert_eq!(rules_found(ignored), []);
        // Above the first RUN it covers the wrong instruction: still fires, and the comment is
        // reported as suppressing nothing.
        let misplaced = "FROM debian\n# layerwise ignore=LW101\nRUN touch /a\nRUN touch /b\n";
        assert_eq!(rules_found(misplaced), [(2, "LW902"), (4, "LW101")]);
    }

    #[test]
    fn stacked_comments_apply_and_blank_lines_break() {
        let stacked = "FROM debian\nRUN touch /a\n# layerwise ignore=LW101\n# why: kept apart for caching\nRUN touch /b\n";
        assert_eq!(rules_found(stacked), []);
        let broken = "FROM debian\nRUN touch /a\n# layerwise ignore=LW101\n\nRUN touch /b\n";
        assert_eq!(rules_found(broken), [(3, "LW902"), (5, "LW101")]);
    }

    #[test]
    fn global_ignore_suppresses_in_the_whole_file() {
        let text = "# layerwise global ignore=LW101\nFROM debian\nRUN touch /a\nRUN touch /a\nRUN touch /a\nFROM debian\nRUN a\nRUN b\n";
        assert_eq!(rules_found(text), []);
    }

    #[test]
    fn hadolint_comments_map_through_aliases() {
        let next = "FROM debian\nRUN touch /a\n# hadolint ignore=DL3059\nRUN touch /b\n";
        assert_eq!(rules_found(next), []);
        let global = "# hadolint global ignore=DL3009, DL3015\nFROM debian\nRUN apt-get update && apt-get install -y curl\n";
        assert_eq!(rules_found(global), []);
        // Codes layerwise does not have, and unused hadolint ignores, are hadolint's business.
        let theirs = "FROM debian\n# hadolint ignore=DL3008,DL3059\nRUN touch /b\n";
        assert_eq!(rules_found(theirs), []);
    }

    #[test]
    fn a_hadolint_code_of_one_check_of_a_rule_suppresses_only_that_check() {
        let text = "FROM alpine\n# hadolint ignore=DL3042\nRUN pip install flask && apk add curl && npm install\n";
        let df = Dockerfile::parse(text);
        let found: Vec<_> = lint(&df, &LintOptions::default())
            .into_iter()
            .map(|d| df.slice(d.span).to_string())
            .collect();
        // pip's is gone; apk's (DL3019) and npm's (no hadolint check) stay
        assert_eq!(found, ["apk add", "npm install"]);
        let ours = text.replace("hadolint ignore=DL3042", "layerwise ignore=LW103");
        assert_eq!(rules_found(&ours), []);
    }

    #[test]
    fn unknown_ids_are_reported_on_the_code() {
        let text = "FROM debian\nRUN touch /a\n# layerwise ignore=LW101,LW999\nRUN touch /b\n";
        let df = Dockerfile::parse(text);
        let found = lint(&df, &LintOptions::default());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].rule, "LW901");
        assert_eq!(df.slice(found[0].span), "LW999");
        assert!(found[0].message.contains("LW999"), "{}", found[0].message);
    }

    #[test]
    fn unused_ids_are_reported_and_the_fix_removes_them() {
        use crate::fix::Safety;
        use crate::fixer::fix_text;
        let text = "FROM debian\nRUN touch /a\n# layerwise ignore=LW101,LW104\nRUN touch /b\n";
        let df = Dockerfile::parse(text);
        let found = lint(&df, &LintOptions::default());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].rule, "LW902");
        assert_eq!(df.slice(found[0].span), "LW104");
        let fixed = fix_text(text, &LintOptions::default(), Safety::Safe);
        assert_eq!(
            fixed.text,
            "FROM debian\nRUN touch /a\n# layerwise ignore=LW101\nRUN touch /b\n"
        );
        let all_unused = "FROM debian\n# layerwise ignore=LW104\nRUN touch /b\n";
        let fixed = fix_text(all_unused, &LintOptions::default(), Safety::Safe);
        assert_eq!(fixed.text, "FROM debian\nRUN touch /b\n");
    }

    #[test]
    fn deleting_a_comment_that_would_turn_a_later_one_into_a_directive_is_not_offered() {
        let text = "# layerwise ignore=LW104\n# escape=`\nFROM debian\nRUN touch /b\n";
        let df = Dockerfile::parse(text);
        let found = lint(&df, &LintOptions::default());
        let unused: Vec<_> = found.iter().filter(|d| d.rule == "LW902").collect();
        assert_eq!(unused.len(), 1);
        assert!(unused[0].fix.is_none());
    }

    #[test]
    fn disabled_or_not_run_rules_are_not_called_unused() {
        use crate::config::Config;
        use std::sync::Arc;
        let text = "FROM debian\n# layerwise ignore=LW104\nRUN touch /b\n";
        let config = Config::parse(
            "ignore: [LW104]\n",
            std::path::Path::new("c.yaml"),
            Default::default(),
        )
        .unwrap();
        let options = LintOptions {
            config: Some(Arc::new(config)),
            ..LintOptions::default()
        };
        assert!(lint(&Dockerfile::parse(text), &options).is_empty());
        // Context rules cannot fire on stdin: their ignores are not called unused there.
        let context = "FROM debian\n# layerwise ignore=LW401\nCOPY . .\n";
        assert!(lint(&Dockerfile::parse(context), &LintOptions::default()).is_empty());
    }

    #[test]
    fn only_still_knows_what_the_named_rules_find() {
        let options = LintOptions {
            only: Some(vec!["LW902".into()]),
            ..LintOptions::default()
        };
        let used = "FROM debian\nRUN touch /a\n# layerwise ignore=LW101\nRUN touch /b\n";
        assert!(lint(&Dockerfile::parse(used), &options).is_empty());
        let unused = "FROM debian\n# layerwise ignore=LW101\nRUN touch /b\n";
        let found = lint(&Dockerfile::parse(unused), &options);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].rule, "LW902");
    }

    #[test]
    fn config_severity_applies_after_suppression() {
        use crate::config::Config;
        use crate::diagnostic::Severity;
        use std::sync::Arc;
        let config = Config::parse(
            "severity: {LW101: error}\n",
            std::path::Path::new("c.yaml"),
            Default::default(),
        )
        .unwrap();
        let options = LintOptions {
            config: Some(Arc::new(config)),
            ..LintOptions::default()
        };
        let found = lint(&Dockerfile::parse(TWO_RUNS), &options);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].severity, Severity::Error);
    }

    #[test]
    fn ignore_edit_adds_to_an_existing_comment_or_writes_one() {
        let text = "FROM debian\n  RUN touch /a\n";
        let df = Dockerfile::parse(text);
        let at = text.find("touch").unwrap();
        let edit = ignore_edit(&df, at, "LW101").unwrap();
        let (new, _) = crate::fix::apply(
            text,
            &[&crate::fix::Fix::new(
                "t",
                crate::fix::Safety::Safe,
                vec![edit],
            )],
        );
        assert_eq!(
            new,
            "FROM debian\n  # layerwise ignore=LW101\n  RUN touch /a\n"
        );
        let df = Dockerfile::parse(new.as_str());
        let edit = ignore_edit(&df, new.find("touch").unwrap(), "LW102").unwrap();
        let (again, _) = crate::fix::apply(
            &new,
            &[&crate::fix::Fix::new(
                "t",
                crate::fix::Safety::Safe,
                vec![edit],
            )],
        );
        assert_eq!(
            again,
            "FROM debian\n  # layerwise ignore=LW101,LW102\n  RUN touch /a\n"
        );
        let df = Dockerfile::parse(again.as_str());
        assert!(ignore_edit(&df, again.find("touch").unwrap(), "LW101").is_none());
    }
}
