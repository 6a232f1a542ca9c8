//! Our Dockerfile parser: a lossless tree with exact byte spans, BuildKit's grammar, and error
//! recovery at instruction boundaries.
//!
//! The tree is flat at the top: a file is a sequence of [`Node`]s, each covering whole lines
//! (a comment, a blank line, one instruction with its continuations and heredoc bodies), with no
//! gaps, so printing the nodes back gives the file byte for byte. Inside an instruction, spans
//! point at its keyword, flags, arguments and heredocs.

mod mapped;
mod parser;
pub mod words;

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

pub use mapped::{InstructionLine, MappedText, SharedText};
pub use words::Word;

use crate::source::{LineIndex, Position, Span};

/// A parsed Dockerfile, owning its text.
#[derive(Clone, Debug)]
pub struct Dockerfile {
    /// Shared with the instructions' lines that are one piece of it.
    text: SharedText,
    lines: LineIndex,
    pub nodes: Vec<Node>,
    pub errors: Vec<SyntaxError>,
    /// The escape character: `\` unless an `# escape=` directive says `` ` ``.
    pub escape: char,
}

impl Dockerfile {
    /// Parses any text; problems end up in [`Dockerfile::errors`], never in a panic.
    pub fn parse(text: impl Into<String>) -> Dockerfile {
        let text: SharedText = Arc::new(text.into().into_boxed_str());
        let lines = LineIndex::new(&text);
        let parsed = parser::parse(&text, &lines);
        Dockerfile {
            text,
            lines,
            nodes: parsed.nodes,
            errors: parsed.errors,
            escape: parsed.escape,
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn lines(&self) -> &LineIndex {
        &self.lines
    }

    pub fn slice(&self, span: Span) -> &str {
        &self.text[span.range()]
    }

    pub fn position(&self, offset: usize) -> Position {
        self.lines.position(&self.text, offset)
    }

    /// 0-based first and last line of a span.
    pub fn line_range(&self, span: Span) -> (usize, usize) {
        let last = if span.is_empty() {
            span.start
        } else {
            span.end - 1
        };
        (self.lines.line_of(span.start), self.lines.line_of(last))
    }

    /// The nodes in order, each with its span: from its start to the next node's (the last one's
    /// to the end of the text).
    pub fn node_spans(&self) -> impl DoubleEndedIterator<Item = (Span, &NodeKind)> + '_ {
        self.nodes.iter().enumerate().map(|(i, n)| {
            let end = self
                .nodes
                .get(i + 1)
                .map_or(self.text.len(), |next| next.start);
            (Span::new(n.start, end), &n.kind)
        })
    }

    /// The instructions that parsed, in order.
    pub fn instructions(&self) -> impl Iterator<Item = &Instruction> + '_ {
        self.nodes.iter().filter_map(|n| match &n.kind {
            NodeKind::Instruction(i) => Some(i.as_ref()),
            _ => None,
        })
    }

    pub fn directives(&self) -> impl Iterator<Item = &Directive> + '_ {
        self.nodes.iter().filter_map(|n| match &n.kind {
            NodeKind::Directive(d) => Some(d.as_ref()),
            _ => None,
        })
    }

    /// The parse errors, or else what BuildKit refuses once a file parsed, in its words:
    /// anything but ARG before the first FROM, or no FROM at all. BuildKit's parser accepts
    /// such a file (its own test files include some); its build does not.
    pub fn build_errors(&self) -> Vec<SyntaxError> {
        if !self.errors.is_empty() {
            return self.errors.clone();
        }
        let mut first_arg = None;
        for inst in self.instructions() {
            match inst.keyword {
                Keyword::From => return Vec::new(),
                Keyword::Arg => {
                    first_arg.get_or_insert(inst.keyword_span());
                }
                _ => {
                    return vec![SyntaxError {
                        span: inst.keyword_span(),
                        message: "no build stage in current context (only ARG may come before \
                                  the first FROM)"
                            .into(),
                    }];
                }
            }
        }
        vec![SyntaxError {
            span: first_arg.unwrap_or_else(|| Span::empty(0)),
            message: "dockerfile contains no stages to build (there is no FROM)".into(),
        }]
    }

    /// The build stages: each FROM and the instructions after it.
    pub fn stages(&self) -> Vec<Stage<'_>> {
        let mut stages: Vec<Stage<'_>> = Vec::new();
        for inst in self.instructions() {
            if inst.keyword == Keyword::From {
                stages.push(Stage::new(stages.len(), inst));
            } else if let Some(stage) = stages.last_mut() {
                stage.instructions.push(inst);
            }
        }
        stages
    }
}

impl fmt::Display for Dockerfile {
    /// Prints the tree back: the original text, byte for byte.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (span, _) in self.node_spans() {
            f.write_str(&self.text[span.range()])?;
        }
        Ok(())
    }
}

/// A run of whole lines of the file, up to the next node's start ([`Dockerfile::node_spans`]):
/// the tree keeps a node for every line while the file is linted, and an end of its own would
/// make it a third larger.
#[derive(Clone, Debug)]
pub struct Node {
    pub start: usize,
    pub kind: NodeKind,
}

#[derive(Clone, Debug)]
pub enum NodeKind {
    /// The UTF-8 byte order mark.
    Bom,
    /// Boxed, as instructions are: a node of every line of the file is two words.
    Directive(Box<Directive>),
    Comment,
    Blank,
    Instruction(Box<Instruction>),
    /// An instruction that did not parse; its error is in [`Dockerfile::errors`].
    Invalid,
}

/// A parser directive such as `# syntax=docker/dockerfile:1` or `# escape=``.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directive {
    pub span: Span,
    pub name: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub span: Span,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Keyword {
    Add,
    Arg,
    Cmd,
    Copy,
    Entrypoint,
    Env,
    Expose,
    From,
    Healthcheck,
    Label,
    Maintainer,
    Onbuild,
    Run,
    Shell,
    Stopsignal,
    User,
    Volume,
    Workdir,
}

impl Keyword {
    pub const ALL: [Keyword; 18] = [
        Keyword::Add,
        Keyword::Arg,
        Keyword::Cmd,
        Keyword::Copy,
        Keyword::Entrypoint,
        Keyword::Env,
        Keyword::Expose,
        Keyword::From,
        Keyword::Healthcheck,
        Keyword::Label,
        Keyword::Maintainer,
        Keyword::Onbuild,
        Keyword::Run,
        Keyword::Shell,
        Keyword::Stopsignal,
        Keyword::User,
        Keyword::Volume,
        Keyword::Workdir,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Keyword::Add => "ADD",
            Keyword::Arg => "ARG",
            Keyword::Cmd => "CMD",
            Keyword::Copy => "COPY",
            Keyword::Entrypoint => "ENTRYPOINT",
            Keyword::Env => "ENV",
            Keyword::Expose => "EXPOSE",
            Keyword::From => "FROM",
            Keyword::Healthcheck => "HEALTHCHECK",
            Keyword::Label => "LABEL",
            Keyword::Maintainer => "MAINTAINER",
            Keyword::Onbuild => "ONBUILD",
            Keyword::Run => "RUN",
            Keyword::Shell => "SHELL",
            Keyword::Stopsignal => "STOPSIGNAL",
            Keyword::User => "USER",
            Keyword::Volume => "VOLUME",
            Keyword::Workdir => "WORKDIR",
        }
    }

    /// Case-insensitive, as Docker reads keywords.
    pub fn from_name(name: &str) -> Option<Keyword> {
        Keyword::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(name))
    }

    /// Instructions that may open heredocs.
    pub fn takes_heredocs(self) -> bool {
        matches!(self, Keyword::Run | Keyword::Copy | Keyword::Add)
    }
}

impl fmt::Display for Keyword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A builder flag: `--mount=type=cache,target=/root/.cache`, `--link`, `--from=build`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flag {
    pub span: Span,
    pub name: String,
    pub value: Option<String>,
}

/// A heredoc: the `<<EOF` marker on the instruction line, its body lines and terminator line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heredoc {
    pub marker: Span,
    pub name: String,
    pub chomp: bool,
    pub expand: bool,
    /// Whole lines, from the line after the instruction (or the previous terminator) up to the
    /// terminator line.
    pub body: Span,
    /// The terminator line's text; empty at the end of the file when the heredoc is unterminated.
    pub terminator: Span,
}

impl Heredoc {
    /// The body as the build sees it: lines without `\r`, each ending in `\n`, and with `<<-`
    /// their leading tabs removed.
    pub fn content(&self, text: &str) -> String {
        let mut out = String::with_capacity(self.body.len());
        for line in text[self.body.range()].split_inclusive('\n') {
            let line = line.strip_suffix('\n').unwrap_or(line);
            let line = line.strip_suffix('\r').unwrap_or(line);
            let line = if self.chomp {
                line.trim_start_matches('\t')
            } else {
                line
            };
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

/// One instruction, with its continuation lines joined into [`Instruction::line`].
///
/// The tree keeps every instruction while the file is linted, so an instruction is laid out
/// small (56 bytes): its places in `u32`s (a file past 4 GiB keeps them whole, boxed), and what
/// most instructions lack (flags, the exec form, heredocs, ONBUILD's instruction) in one box.
#[derive(Clone, Debug)]
pub struct Instruction {
    pub keyword: Keyword,
    /// The escape character, `\` or `` ` ``.
    escape: u8,
    /// Its places, unless they are in [`Rare::wide`].
    narrow: Narrow,
    /// The instruction as BuildKit reads it: continuations joined, comment lines dropped.
    pub line: InstructionLine,
    rare: Option<Box<Rare>>,
}

/// Where an instruction is, in the file and in its line.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Places {
    /// Where the keyword starts in the line: 0, or after `ONBUILD` for the instruction it wraps.
    keyword_at: usize,
    span: Span,
    lines: (usize, usize),
    /// Where the arguments sit in the line.
    args: Range<usize>,
}

/// [`Places`] in `u32`s, as every file under 4 GiB has them.
#[derive(Clone, Copy, Debug, Default)]
struct Narrow {
    keyword_at: u32,
    span: (u32, u32),
    lines: (u32, u32),
    args: (u32, u32),
}

impl Places {
    fn narrow(&self) -> Option<Narrow> {
        let fit = |n: usize| u32::try_from(n).ok();
        Some(Narrow {
            keyword_at: fit(self.keyword_at)?,
            span: (fit(self.span.start)?, fit(self.span.end)?),
            lines: (fit(self.lines.0)?, fit(self.lines.1)?),
            args: (fit(self.args.start)?, fit(self.args.end)?),
        })
    }
}

impl Narrow {
    fn places(self) -> Places {
        let wide = |n: u32| n as usize;
        Places {
            keyword_at: wide(self.keyword_at),
            span: Span::new(wide(self.span.0), wide(self.span.1)),
            lines: (wide(self.lines.0), wide(self.lines.1)),
            args: wide(self.args.0)..wide(self.args.1),
        }
    }
}

/// What few instructions have.
#[derive(Clone, Debug, Default)]
struct Rare {
    flags: Box<[Flag]>,
    /// The strings of the exec (JSON array) form.
    exec: Option<Box<[String]>>,
    heredocs: Box<[Heredoc]>,
    /// The instruction an ONBUILD wraps; its ranges are in this instruction's line.
    onbuild: Option<Box<Instruction>>,
    /// The places, when one of them does not fit in a `u32`.
    wide: Option<Box<Places>>,
}

impl Instruction {
    fn new(
        keyword: Keyword,
        escape: char,
        line: InstructionLine,
        places: Places,
        rare: Rare,
    ) -> Instruction {
        let mut inst = Instruction {
            keyword,
            // The parser knows two escape characters, both ASCII.
            escape: u8::try_from(escape).unwrap_or(b'\\'),
            narrow: Narrow::default(),
            line,
            rare: None,
        };
        if !rare.flags.is_empty() || rare.exec.is_some() || rare.onbuild.is_some() {
            inst.rare = Some(Box::new(rare));
        }
        inst.set_places(places);
        inst
    }

    fn rare_mut(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Box::default)
    }

    fn places(&self) -> Places {
        match self.rare.as_ref().and_then(|r| r.wide.as_deref()) {
            Some(wide) => wide.clone(),
            None => self.narrow.places(),
        }
    }

    fn set_places(&mut self, places: Places) {
        match places.narrow() {
            Some(narrow) => {
                self.narrow = narrow;
                if let Some(rare) = &mut self.rare {
                    rare.wide = None;
                }
            }
            None => self.rare_mut().wide = Some(Box::new(places)),
        }
    }

    /// Places the instruction in the file: its span and its lines, once the parser has read
    /// the lines after it (continuations, heredoc bodies).
    fn place(&mut self, span: Span, lines: (usize, usize)) {
        let places = Places {
            span,
            lines,
            ..self.places()
        };
        self.set_places(places);
    }

    fn set_heredocs(&mut self, heredocs: Vec<Heredoc>) {
        if !heredocs.is_empty() {
            self.rare_mut().heredocs = heredocs.into_boxed_slice();
        }
    }

    /// From the keyword to the end of the last line (the last heredoc terminator included),
    /// without the final line break.
    pub fn span(&self) -> Span {
        self.places().span
    }

    /// The keyword as written (in any case: it has the length of [`Keyword::as_str`]).
    pub fn keyword_span(&self) -> Span {
        let at = self.places().keyword_at;
        self.line.span(at..at + self.keyword.as_str().len())
    }

    /// 0-based first and last line, heredoc bodies and skipped continuation lines included.
    pub fn lines(&self) -> (usize, usize) {
        self.places().lines
    }

    /// Where the arguments (after keyword and flags, trimmed) sit in [`Instruction::line`].
    pub fn args(&self) -> Range<usize> {
        self.places().args
    }

    pub fn flags(&self) -> &[Flag] {
        self.rare.as_ref().map_or(&[], |r| &r.flags)
    }

    /// The strings of the exec (JSON array) form; `None` for the shell form.
    pub fn exec(&self) -> Option<&[String]> {
        self.rare.as_ref()?.exec.as_deref()
    }

    pub fn heredocs(&self) -> &[Heredoc] {
        self.rare.as_ref().map_or(&[], |r| &r.heredocs)
    }

    /// The instruction an ONBUILD wraps; its ranges are in this instruction's line.
    pub fn onbuild(&self) -> Option<&Instruction> {
        self.rare.as_ref()?.onbuild.as_deref()
    }

    pub fn args_text(&self) -> &str {
        &self.line.as_str()[self.args()]
    }

    pub fn args_span(&self) -> Span {
        self.line.span(self.args())
    }

    pub fn is_exec_form(&self) -> bool {
        self.exec().is_some()
    }

    pub fn flag(&self, name: &str) -> Option<&Flag> {
        self.flags()
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// All values of a repeatable flag such as `--mount`.
    pub fn flag_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.flags()
            .iter()
            .filter(move |f| f.name.eq_ignore_ascii_case(name))
            .filter_map(|f| f.value.as_deref())
    }

    /// Arguments split into words, quotes resolved (ENV, LABEL, ARG, COPY sources).
    pub fn words(&self) -> Vec<Word> {
        words::split_words(self.args_text(), self.args().start, char::from(self.escape))
    }

    /// The file span of a range of [`Instruction::line`].
    pub fn span_of(&self, range: Range<usize>) -> Span {
        self.line.span(range)
    }

    /// For COPY/ADD: the sources and the destination (exec or shell form), heredoc names
    /// included as sources.
    pub fn copy_paths(&self) -> Option<(Vec<String>, String)> {
        if !matches!(self.keyword, Keyword::Copy | Keyword::Add) {
            return None;
        }
        let mut paths: Vec<String> = match self.exec() {
            Some(values) => values.to_vec(),
            None => self.words().into_iter().map(|w| w.value).collect(),
        };
        let dest = paths.pop()?;
        Some((paths, dest))
    }

    /// For FROM: the image and the stage name (`AS name`).
    pub fn from_image(&self) -> Option<(String, Option<String>)> {
        if self.keyword != Keyword::From {
            return None;
        }
        let words = words::split_blanks(self.args_text(), 0);
        let image = words.first()?.value.clone();
        let name = match &words[..] {
            [_, as_, name] if as_.value.eq_ignore_ascii_case("as") => {
                Some(name.value.to_ascii_lowercase())
            }
            _ => None,
        };
        Some((image, name))
    }
}

/// A build stage: its FROM and the instructions up to the next FROM.
#[derive(Clone, Debug)]
pub struct Stage<'a> {
    pub index: usize,
    pub from: &'a Instruction,
    pub base: String,
    pub name: Option<String>,
    pub instructions: Vec<&'a Instruction>,
}

impl<'a> Stage<'a> {
    fn new(index: usize, from: &'a Instruction) -> Self {
        let (base, name) = from.from_image().unwrap_or_default();
        Stage {
            index,
            from,
            base,
            name,
            instructions: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_spans_follow_the_written_keyword() {
        let text = "from a\nONBUILD  copy x y\nRU\\\nN b\n  \\\nRUN c\n";
        let df = Dockerfile::parse(text);
        assert!(df.errors.is_empty(), "{:?}", df.errors);
        let keywords: Vec<&str> = df
            .instructions()
            .map(|i| df.slice(i.keyword_span()))
            .collect();
        assert_eq!(keywords, ["from", "ONBUILD", "RU\\\nN", "RUN"]);
        let onbuild = df.instructions().nth(1).and_then(Instruction::onbuild);
        assert_eq!(onbuild.map(|i| df.slice(i.keyword_span())), Some("copy"));
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn places_past_4_gib_are_kept_whole() {
        let df = Dockerfile::parse("FROM a\nRUN b\n");
        let mut run = df.instructions().nth(1).unwrap().clone();
        let narrow = run.places();
        assert!(run.rare.is_none(), "a plain RUN has nothing rare");
        let far = 5 << 32;
        let wide = Places {
            span: Span::new(far, far + 5),
            lines: (far, far + 1),
            ..narrow.clone()
        };
        run.set_places(wide.clone());
        assert_eq!(run.places(), wide);
        assert_eq!((run.span(), run.lines()), (wide.span, wide.lines));
        assert_eq!((run.args(), run.keyword_span()), (4..5, Span::new(7, 10)));
        run.set_places(narrow.clone());
        assert_eq!(run.places(), narrow);
        assert!(run.rare.is_some_and(|r| r.wide.is_none()));
    }
}
