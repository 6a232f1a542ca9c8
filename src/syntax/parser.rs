//! Line grouping and instruction parsing, following BuildKit's
//! `frontend/dockerfile/parser`: directives at the top, continuations (with comment and empty
//! lines inside them skipped), heredoc bodies read raw after the instruction line.

use std::ops::Range;

use super::words::{self, split_blanks, split_flags, split_words};
use super::{
    Directive, Flag, Heredoc, Instruction, InstructionLine, Keyword, MappedText, Node, NodeKind,
    Places, Rare, SharedText, SyntaxError,
};
use crate::source::{LineIndex, Span};

pub(super) struct Parsed {
    pub nodes: Vec<Node>,
    pub errors: Vec<SyntaxError>,
    pub escape: char,
}

/// One line of the file.
#[derive(Clone, Copy)]
struct Line {
    /// First byte (after the BOM on the first line).
    start: usize,
    /// End of the content, without the line break and any `\r` before it.
    content_end: usize,
    /// After the line break.
    end: usize,
}

const BOM: &str = "\u{feff}";

pub(super) fn parse(file: &SharedText, index: &LineIndex) -> Parsed {
    let text: &str = file;
    let mut parser = Parser {
        file,
        text,
        lines: split_lines(text, index),
        escape: '\\',
        nodes: Vec::new(),
        covered: 0,
        errors: Vec::new(),
    };
    parser.run();
    debug_assert_eq!(parser.covered, text.len(), "nodes cover the text");
    // The tree keeps its list while the file is linted: without the room it grew with.
    parser.nodes.shrink_to_fit();
    Parsed {
        nodes: parser.nodes,
        errors: parser.errors,
        escape: parser.escape,
    }
}

fn split_lines(text: &str, index: &LineIndex) -> Vec<Line> {
    let bom = if text.starts_with(BOM) { BOM.len() } else { 0 };
    (0..index.line_count())
        .map(|n| {
            let span = index.line_span(text, n);
            let start = if n == 0 { bom } else { span.start };
            let content = text[start..span.end].trim_end_matches('\r');
            let end = if span.end < text.len() {
                span.end + 1
            } else {
                span.end
            };
            Line {
                start,
                content_end: start + content.len(),
                end,
            }
        })
        // A file ending in a newline has no last line after it, and an empty file no line.
        .filter(|line| line.start < text.len())
        .collect()
}

struct Parser<'a> {
    file: &'a SharedText,
    text: &'a str,
    lines: Vec<Line>,
    escape: char,
    nodes: Vec<Node>,
    /// Where the last node ended.
    covered: usize,
    errors: Vec<SyntaxError>,
}

impl<'a> Parser<'a> {
    fn run(&mut self) {
        if self.text.starts_with(BOM) {
            self.push(Span::new(0, BOM.len()), NodeKind::Bom);
        }
        let mut at = self.directives();
        let mut saw_instruction = false;
        while at < self.lines.len() {
            let line = self.lines[at];
            let whole = Span::new(line.start, line.end);
            let content = &self.text[line.start..line.content_end];
            let trimmed = content.trim_start();
            if trimmed.starts_with('#') {
                self.push(whole, NodeKind::Comment);
                at += 1;
            } else if trimmed.is_empty() {
                self.push(whole, NodeKind::Blank);
                at += 1;
            } else {
                saw_instruction = true;
                at = self.instruction(at);
            }
        }
        if !saw_instruction {
            let end = self.text.len();
            self.errors.push(SyntaxError {
                span: Span::empty(end),
                message: "file with no instructions".into(),
            });
        }
    }

    /// Adds the node of `span`, which starts where the previous node ended.
    fn push(&mut self, span: Span, kind: NodeKind) {
        debug_assert_eq!(span.start, self.covered, "nodes leave no gap");
        self.covered = span.end;
        self.nodes.push(Node {
            start: span.start,
            kind,
        });
    }

    /// Reads the parser directives at the top of the file; returns the first line after them.
    fn directives(&mut self) -> usize {
        let mut seen: Vec<String> = Vec::new();
        for n in 0..self.lines.len() {
            let line = self.lines[n];
            let content = &self.text[line.start..line.content_end];
            let lead = content.len() - content.trim_start().len();
            let Some((name, value)) = parse_directive(&content[lead..]) else {
                return n;
            };
            let name = name.to_ascii_lowercase();
            if !matches!(name.as_str(), "syntax" | "escape" | "check") {
                // Unknown directives are comments, and end the directives.
                return n;
            }
            let value_start = line.start + lead + content[lead..].rfind(value).unwrap_or(0);
            let value_span = Span::new(value_start, value_start + value.len());
            if seen.contains(&name) {
                self.errors.push(SyntaxError {
                    span: value_span,
                    message: format!("only one {name} parser directive can be used"),
                });
            } else if name == "escape" {
                match value {
                    "\\" => self.escape = '\\',
                    "`" => self.escape = '`',
                    _ => self.errors.push(SyntaxError {
                        span: value_span,
                        message: format!("invalid escape token '{value}' does not match ` or \\"),
                    }),
                }
            }
            seen.push(name.clone());
            let whole = Span::new(line.start, line.end);
            self.push(
                whole,
                NodeKind::Directive(Box::new(Directive {
                    span: Span::new(line.start + lead, line.content_end),
                    name,
                    value: value.to_string(),
                })),
            );
        }
        self.lines.len()
    }

    /// Parses the instruction starting on line `first`; returns the line after it.
    fn instruction(&mut self, first: usize) -> usize {
        let text = self.text;
        let line = self.lines[first];
        let lead = text[line.start..line.content_end].len()
            - text[line.start..line.content_end].trim_start().len();
        let mut joined = MappedText::new();
        let (piece, mut continues) = strip_continuation(
            text,
            Span::new(line.start + lead, line.content_end),
            self.escape,
        );
        joined.push_source(text, piece);
        let mut last = first;
        let mut next = first + 1;
        while continues && next < self.lines.len() {
            let line = self.lines[next];
            last = next;
            next += 1;
            let trimmed = text[line.start..line.content_end].trim_start();
            // Comment lines and empty lines inside a continuation are skipped.
            if trimmed.starts_with('#') || trimmed.is_empty() {
                continue;
            }
            let (piece, more) =
                strip_continuation(text, Span::new(line.start, line.content_end), self.escape);
            joined.push_source(text, piece);
            continues = more;
        }
        let node_start = line.start;
        let mut end_line = last;
        let node = match parse_line(InstructionLine::new(joined, self.file), 0, self.escape) {
            Ok(mut inst) => {
                let host = inst.onbuild().unwrap_or(&inst);
                let takes_heredocs = host.keyword.takes_heredocs() && host.exec().is_none();
                if takes_heredocs && inst.line.as_str().contains("<<") {
                    let (heredocs, after) = self.heredocs(&inst, next);
                    inst.set_heredocs(heredocs);
                    if after > next {
                        end_line = after - 1;
                        next = after;
                    }
                }
                let start = line.start + lead;
                let span = Span::new(start, self.lines[end_line].content_end.max(start));
                inst.place(span, (first, end_line));
                NodeKind::Instruction(Box::new(inst))
            }
            Err(error) => {
                self.errors.push(error);
                NodeKind::Invalid
            }
        };
        self.push(Span::new(node_start, self.lines[end_line].end), node);
        next
    }

    /// Reads the bodies of the heredocs opened on `inst`'s line, starting at line `next`.
    fn heredocs(&mut self, inst: &Instruction, mut next: usize) -> (Vec<Heredoc>, usize) {
        let text = self.text;
        let mut heredocs = Vec::new();
        for marker in words::heredoc_markers(inst.line.as_str()) {
            let body_start = self.lines.get(next).map_or(text.len(), |l| l.start);
            let mut terminator = None;
            while next < self.lines.len() {
                let line = self.lines[next];
                next += 1;
                let content = &text[line.start..line.content_end];
                let candidate = if marker.chomp {
                    content.trim_start_matches('\t')
                } else {
                    content
                };
                if candidate == marker.name {
                    terminator = Some(line);
                    break;
                }
            }
            let marker_span = inst.line.span(marker.range.clone());
            let (body_end, terminator) = match terminator {
                Some(line) => (line.start, Span::new(line.start, line.content_end)),
                None => {
                    self.errors.push(SyntaxError {
                        span: marker_span,
                        message: format!("unterminated heredoc {}", marker.name),
                    });
                    (text.len(), Span::empty(text.len()))
                }
            };
            heredocs.push(Heredoc {
                marker: marker_span,
                name: marker.name,
                chomp: marker.chomp,
                expand: marker.expand,
                body: Span::new(body_start, body_end),
                terminator,
            });
        }
        (heredocs, next)
    }
}

/// `# name = value` at the very top of the file.
fn parse_directive(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix('#')?;
    let rest = rest.trim_start_matches([' ', '\t']);
    let name_len = rest
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
        .map_or(rest.len(), |(i, _)| i);
    if name_len == 0 {
        return None;
    }
    let (name, rest) = rest.split_at(name_len);
    let rest = rest.trim_start_matches([' ', '\t']).strip_prefix('=')?;
    let value = rest.trim_matches([' ', '\t']);
    (!value.is_empty()).then_some((name, value))
}

/// A line ending in the escape character (then only blanks) continues on the next line; the
/// escape and the blanks are not part of the instruction. As in BuildKit, a doubled escape at
/// the end (`C:\\`) is an escaped escape, not a continuation.
fn strip_continuation(text: &str, span: Span, escape: char) -> (Span, bool) {
    let content = &text[span.range()];
    let body = content.trim_end_matches([' ', '\t']);
    match body.strip_suffix(escape) {
        Some(kept) if !kept.ends_with(escape) => {
            (Span::new(span.start, span.start + kept.len()), true)
        }
        _ => (span, false),
    }
}

/// Parses a joined instruction line from `from` on (after `ONBUILD`, the wrapped instruction).
fn parse_line(
    line: InstructionLine,
    from: usize,
    escape: char,
) -> Result<Instruction, SyntaxError> {
    let text = &line.as_str()[from..];
    let lead = text.len() - text.trim_start().len();
    let body = text.trim();
    let kw_len = body
        .find(['\t', '\x0b', '\x0c', '\r', ' '])
        .unwrap_or(body.len());
    let kw_range = from + lead..from + lead + kw_len;
    let name = &body[..kw_len];
    let error = |range: Range<usize>, message: String| SyntaxError {
        span: line.span(range),
        message,
    };
    let Some(keyword) = Keyword::from_name(name) else {
        let message = if name.is_empty() {
            "line continuation without an instruction".to_string()
        } else {
            format!("unknown instruction: {}", name.to_uppercase())
        };
        return Err(error(kw_range, message));
    };

    let after_kw = kw_range.end;
    let rest_end = from + lead + body.len();
    let (raw_flags, args_start) = split_flags(&line.as_str()[after_kw..rest_end], after_kw);
    let args_text = line.as_str()[args_start..rest_end].trim();
    let args_start = args_start
        + (line.as_str()[args_start..rest_end].len()
            - line.as_str()[args_start..rest_end].trim_start().len());
    let args = args_start..args_start + args_text.len();
    let flags = raw_flags
        .into_iter()
        .map(|f| Flag {
            span: line.span(f.range),
            name: f.name,
            value: f.value,
        })
        .collect();

    let mut exec = None;
    let mut onbuild = None;
    match keyword {
        Keyword::Run
        | Keyword::Cmd
        | Keyword::Entrypoint
        | Keyword::Shell
        | Keyword::Add
        | Keyword::Copy
        | Keyword::Volume => {
            exec = json_form(args_text)
                .map_err(|m| error(args.clone(), m))?
                .map(Vec::into_boxed_slice);
        }
        Keyword::Healthcheck => {
            // HEALTHCHECK [OPTIONS] CMD command: the command after the first word may be JSON.
            let first = args_text
                .find(char::is_whitespace)
                .unwrap_or(args_text.len());
            json_form(args_text[first..].trim_start()).map_err(|m| error(args.clone(), m))?;
        }
        Keyword::Env | Keyword::Label => {
            check_name_values(args_text, args.start, escape, keyword)
                .map_err(|(r, m)| error(r, m))?;
        }
        Keyword::Onbuild if !args_text.is_empty() => {
            let inner = parse_line(line.clone(), args.start, escape)?;
            onbuild = Some(Box::new(inner));
        }
        _ => {}
    }

    check_arguments(keyword, args_text, exec.as_deref(), onbuild.as_deref())
        .map_err(|m| error(kw_range.start..args.end.max(kw_range.end), m))?;

    // The span and lines of an instruction of the file are placed once its lines are read.
    let places = Places {
        keyword_at: kw_range.start,
        span: line.span(kw_range.start..rest_end),
        lines: (0, 0),
        args,
    };
    let rare = Rare {
        flags,
        exec,
        onbuild,
        ..Rare::default()
    };
    Ok(Instruction::new(keyword, escape, line, places, rare))
}

/// The exec form: a JSON array of strings. Other JSON or non-JSON text is the shell form, but a
/// JSON array holding anything other than strings is an error, as in BuildKit.
fn json_form(args: &str) -> Result<Option<Vec<String>>, String> {
    if !args.starts_with('[') {
        return Ok(None);
    }
    match serde_json::from_str::<Vec<serde_json::Value>>(args) {
        Ok(values) => values
            .into_iter()
            .map(|v| match v {
                serde_json::Value::String(s) => Ok(s),
                _ => Err(
                    "when using JSON array syntax, arrays must be comprised of strings only"
                        .to_string(),
                ),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Err(_) => Ok(None),
    }
}

/// ENV and LABEL take `name=value...`, or the legacy `name value` with exactly one pair.
fn check_name_values(
    args: &str,
    base: usize,
    escape: char,
    keyword: Keyword,
) -> Result<(), (Range<usize>, String)> {
    let words = split_words(args, base, escape);
    let Some(first) = words.first() else {
        return Ok(());
    };
    let raw = |w: &super::Word| args[w.range.start - base..w.range.end - base].to_string();
    if !raw(first).contains('=') {
        if split_blanks(args, base).len() < 2 {
            return Err((
                base..base + args.len(),
                format!("{keyword} must have two arguments"),
            ));
        }
        return Ok(());
    }
    for word in &words {
        if !raw(word).contains('=') {
            return Err((
                word.range.clone(),
                format!(
                    "Syntax error - can't find = in {:?}. Must be of the form: name=value",
                    raw(word)
                ),
            ));
        }
    }
    Ok(())
}

/// Argument counts the build itself would reject.
fn check_arguments(
    keyword: Keyword,
    args: &str,
    exec: Option<&[String]>,
    onbuild: Option<&Instruction>,
) -> Result<(), String> {
    let count = match exec {
        Some(values) => values.len(),
        None => split_blanks(args, 0).len(),
    };
    match keyword {
        Keyword::From => {
            let words = split_blanks(args, 0);
            match &words[..] {
                [_] => Ok(()),
                [_, as_, _] if as_.value.eq_ignore_ascii_case("as") => Ok(()),
                [] => Err("FROM requires an image".into()),
                _ => Err("FROM takes an image and optionally `AS name`".into()),
            }
        }
        Keyword::Onbuild if onbuild.is_none() => Err("ONBUILD requires an instruction".into()),
        Keyword::Onbuild => match onbuild.map(|i| i.keyword) {
            Some(Keyword::Onbuild | Keyword::From | Keyword::Maintainer) => {
                Err("ONBUILD cannot wrap ONBUILD, FROM or MAINTAINER".into())
            }
            _ => Ok(()),
        },
        Keyword::Cmd | Keyword::Entrypoint | Keyword::Healthcheck => Ok(()),
        _ if count == 0 => Err(format!("{keyword} requires at least one argument")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use crate::syntax::{Dockerfile, Keyword, NodeKind};

    fn keywords(df: &Dockerfile) -> Vec<(Keyword, usize, usize)> {
        df.instructions()
            .map(|i| (i.keyword, i.lines().0 + 1, i.lines().1 + 1))
            .collect()
    }

    #[test]
    fn continuations_skip_comments_and_blank_lines() {
        let text = "FROM a\nRUN x \\\n  # note\n\n  && y\nCMD z\n";
        let df = Dockerfile::parse(text);
        assert!(df.errors.is_empty(), "{:?}", df.errors);
        assert_eq!(
            keywords(&df),
            [
                (Keyword::From, 1, 1),
                (Keyword::Run, 2, 5),
                (Keyword::Cmd, 6, 6)
            ]
        );
        let run = df.instructions().nth(1).unwrap();
        assert_eq!(run.args_text(), "x   && y");
        assert_eq!(df.to_string(), text);
    }

    #[test]
    fn escape_directive_switches_to_backtick() {
        let text = "# escape=`\nFROM a\nRUN dir c:\\ `\n  && echo\n";
        let df = Dockerfile::parse(text);
        assert_eq!(df.escape, '`');
        assert!(matches!(df.nodes[0].kind, NodeKind::Directive(_)));
        assert_eq!(
            df.instructions().nth(1).unwrap().args_text(),
            "dir c:\\   && echo"
        );
    }

    #[test]
    fn directives_only_at_the_top() {
        let df = Dockerfile::parse("# hello\n# escape=`\nFROM a\n");
        assert_eq!(df.escape, '\\');
        let df = Dockerfile::parse("# escape=`\n# escape=\\\nFROM a\n");
        assert_eq!(df.errors.len(), 1);
        let df = Dockerfile::parse("# escape=x\nFROM a\n");
        assert!(df.errors[0].message.contains("invalid escape"));
    }

    #[test]
    fn heredocs_on_run_and_copy() {
        let text = "FROM a\nRUN <<EOF bash\nset -e\necho hi\nEOF\nCOPY <<-'A' <<B /x/\n\tone\n\tA\ntwo\nB\nRUN y\n";
        let df = Dockerfile::parse(text);
        assert!(df.errors.is_empty(), "{:?}", df.errors);
        assert_eq!(
            keywords(&df),
            [
                (Keyword::From, 1, 1),
                (Keyword::Run, 2, 5),
                (Keyword::Copy, 6, 10),
                (Keyword::Run, 11, 11)
            ]
        );
        let copy = df.instructions().nth(2).unwrap();
        let docs: Vec<_> = copy
            .heredocs()
            .iter()
            .map(|h| (h.name.as_str(), h.content(text), h.expand))
            .collect();
        assert_eq!(
            docs,
            [("A", "one\n".into(), false), ("B", "two\n".into(), true)]
        );
        assert_eq!(df.to_string(), text);
    }

    #[test]
    fn heredoc_inside_onbuild() {
        let df = Dockerfile::parse("FROM a\nONBUILD RUN <<EOF\necho\nEOF\n");
        assert!(df.errors.is_empty(), "{:?}", df.errors);
        let onbuild = df.instructions().nth(1).unwrap();
        assert_eq!(onbuild.heredocs().len(), 1);
        assert_eq!(onbuild.onbuild().unwrap().keyword, Keyword::Run);
    }

    #[test]
    fn json_in_exec_form_only_for_string_arrays() {
        let df = Dockerfile::parse("FROM a\nCMD [\"a\", \"b\"]\nRUN [ -f x ] && y\n");
        let forms: Vec<_> = df.instructions().map(|i| i.exec()).collect();
        assert_eq!(forms[1], Some(&["a".to_string(), "b".to_string()][..]));
        assert_eq!(forms[2], None);
        let df = Dockerfile::parse("FROM a\nCMD [\"a\", [\"b\"]]\nRUN ok\n");
        assert_eq!(df.errors.len(), 1);
        assert_eq!(
            df.instructions().count(),
            2,
            "parsing resumes after the error"
        );
    }

    #[test]
    fn errors_have_positions_and_parsing_resumes() {
        let df = Dockerfile::parse("FROM a\nENV PATH\nFOO bar\nENV a=b c\nRUN x\n");
        let lines: Vec<_> = df
            .errors
            .iter()
            .map(|e| df.position(e.span.start).line + 1)
            .collect();
        assert_eq!(lines, [2, 3, 4]);
        assert_eq!(df.instructions().count(), 2);
    }

    #[test]
    fn no_from_is_a_build_error_in_buildkit_words() {
        let messages = |text: &str| -> Vec<(usize, String)> {
            let df = Dockerfile::parse(text);
            df.build_errors()
                .iter()
                .map(|e| (df.position(e.span.start).line + 1, e.message.clone()))
                .collect()
        };
        let run = messages("# a fragment\nRUN make\n");
        assert_eq!(run.len(), 1);
        assert_eq!(run[0].0, 2);
        assert!(
            run[0].1.starts_with("no build stage in current context"),
            "{run:?}"
        );
        let args = messages("ARG A=1\nARG B\n");
        assert_eq!(args.len(), 1);
        assert_eq!(args[0].0, 1);
        assert!(
            args[0]
                .1
                .starts_with("dockerfile contains no stages to build"),
            "{args:?}"
        );
        assert!(messages("ARG V=1\nFROM a:$V\nRUN x\n").is_empty());
        // One error at a time, as BuildKit stops at the first.
        assert_eq!(messages("FORM a\nRUN x\n").len(), 1);
    }

    #[test]
    fn crlf_bom_and_case_insensitive_keywords() {
        let text = "\u{feff}from a\r\nrun b \\\r\n  c\r\n";
        let df = Dockerfile::parse(text);
        assert!(df.errors.is_empty(), "{:?}", df.errors);
        assert_eq!(keywords(&df), [(Keyword::From, 1, 1), (Keyword::Run, 2, 3)]);
        assert_eq!(df.instructions().nth(1).unwrap().args_text(), "b   c");
        assert_eq!(df.to_string(), text);
    }

    #[test]
    fn doubled_escape_at_the_end_does_not_continue() {
        let df = Dockerfile::parse("FROM a\nENV C x\\\\\nENV D y\n");
        assert_eq!(df.instructions().count(), 3);
    }

    #[test]
    fn unterminated_heredoc_is_an_error() {
        let df = Dockerfile::parse("FROM a\nRUN <<EOF\necho\n");
        assert_eq!(df.errors.len(), 1);
        assert!(df.errors[0].message.contains("unterminated"));
    }

    #[test]
    fn empty_file_has_no_instructions() {
        let df = Dockerfile::parse("");
        assert_eq!(df.errors[0].message, "file with no instructions");
        assert!(df.nodes.is_empty(), "no empty node: {:?}", df.nodes);
        assert_eq!(df.to_string(), "");
    }
}
