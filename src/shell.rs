//! What a RUN command does, from a real shell parser (brush-parser): the simple commands with
//! their words and the operators (`&&`, `||`, `;`, `|`, `&`, newline) joining them, every piece
//! with its span in the Dockerfile.

use brush_parser::ast::{self, SourceLocation};
use brush_parser::word::{WordPiece, WordPieceWithSource};
use brush_parser::{ParserOptions, Token};

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::knowledge::shells::is_posix_shell;
use crate::source::Span;
use crate::syntax::{Instruction, Keyword, MappedText, words};

pub mod encoded;

/// The simple commands of a script, in source order (commands inside `if`, loops, groups and
/// subshells included, flattened).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Script {
    pub commands: Vec<Command>,
    /// The whole script is one `&&` chain of simple commands and pipelines (no `;`, `||`, `&`,
    /// `!`, newline-separated lists or compound commands). Only such a script may be followed
    /// by `&& more` with the same meaning: its exit status is its first failure either way, and
    /// errexit (`set -e`), which the shell ignores left of `&&`, could not change it.
    pub and_chain: bool,
    /// The script's last command is a compound one (`( … )`, `{ …; }`, `if`, a loop): after
    /// `&& more` it would sit left of `&&`, where the shell ignores `set -e` inside it.
    pub ends_compound: bool,
}

/// The model keeps every RUN's commands while the rules run, so a command is 64 bytes: its
/// words (assignments, then the words, then the files it writes) are a run of its script's
/// words, which with their values sit in one allocation its commands share, and its spans are
/// `u32`s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    script: Arc<ScriptWords>,
    /// Variables the script itself set before this command (`export X=1`, `X=1;`), latest
    /// last; `None` where the value is not known (set in a branch, `unset`, `read`). A `cd`
    /// sets `PWD`, as the shell does.
    script_vars: Arc<[(String, Option<String>)]>,
    /// Where the command's words start in the script's.
    first: u32,
    assigns: u32,
    words: u32,
    writes: u32,
    /// Where the program is in `words`.
    program: u32,
    start: u32,
    end: u32,
    /// The operator joining this command to the next one, and its span.
    op: Option<(OperatorKind, u32, u32)>,
}

/// The words of a script's commands, one command's after another's, and their values.
#[derive(Debug, PartialEq, Eq)]
struct ScriptWords {
    /// The values of the words, one after another.
    text: Box<str>,
    words: Box<[ShellWord]>,
}

/// A word as a command keeps it, in 16 bytes: where its value is in the script's buffer, and
/// its span in the file. Read it through its command ([`Word`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShellWord {
    /// The value's start in the script's buffer.
    at: u32,
    /// The value's length, and in the top bit whether it is literal.
    len: u32,
    start: u32,
    end: u32,
}

const LITERAL: u32 = 1 << 31;

impl ShellWord {
    fn span(&self) -> Span {
        Span::new(self.start as usize, self.end as usize)
    }
}

/// A word of a command: its value with quotes removed, expansions (`$X`, `$(…)`) kept as
/// written, and its span in the file.
#[derive(Clone, Copy)]
pub struct Word<'a> {
    text: &'a str,
    word: ShellWord,
}

impl<'a> Word<'a> {
    /// Quotes removed; expansions (`$X`, `$(…)`) kept as written.
    pub fn value(self) -> &'a str {
        let at = self.word.at as usize;
        &self.text[at..at + (self.word.len & !LITERAL) as usize]
    }

    /// No expansion in it: `value` is what the command receives.
    pub fn literal(self) -> bool {
        self.word.len & LITERAL != 0
    }

    pub fn span(self) -> Span {
        Span::new(self.word.start as usize, self.word.end as usize)
    }
}

impl std::fmt::Debug for Word<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Word")
            .field("value", &self.value())
            .field("literal", &self.literal())
            .field("span", &self.span())
            .finish()
    }
}

/// Some of a command's words, in order: a view of them with their script's buffer.
#[derive(Clone, Copy)]
pub struct Words<'a> {
    text: &'a str,
    words: &'a [ShellWord],
}

impl<'a> Words<'a> {
    pub fn len(self) -> usize {
        self.words.len()
    }

    pub fn is_empty(self) -> bool {
        self.words.is_empty()
    }

    pub fn get(self, at: usize) -> Option<Word<'a>> {
        let word = *self.words.get(at)?;
        Some(Word {
            text: self.text,
            word,
        })
    }

    pub fn first(self) -> Option<Word<'a>> {
        self.get(0)
    }

    pub fn last(self) -> Option<Word<'a>> {
        self.get(self.len().checked_sub(1)?)
    }

    /// The words in `range`, as `slice::get` gives them.
    pub fn slice(
        self,
        range: impl std::slice::SliceIndex<[ShellWord], Output = [ShellWord]>,
    ) -> Option<Words<'a>> {
        Some(Words {
            text: self.text,
            words: self.words.get(range)?,
        })
    }

    /// The words from `at` on (none when `at` is past the end).
    pub fn from(self, at: usize) -> Words<'a> {
        self.slice(at..).unwrap_or(Words {
            text: self.text,
            words: &[],
        })
    }

    /// Each word with the one after it.
    pub fn pairs(self) -> impl Iterator<Item = (Word<'a>, Word<'a>)> {
        self.iter().zip(self.from(1))
    }

    pub fn iter(self) -> WordIter<'a> {
        WordIter {
            text: self.text,
            words: self.words.iter(),
        }
    }
}

impl std::fmt::Debug for Words<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for Words<'a> {
    type Item = Word<'a>;
    type IntoIter = WordIter<'a>;

    fn into_iter(self) -> WordIter<'a> {
        self.iter()
    }
}

/// The words of a [`Words`], one at a time.
#[derive(Clone)]
pub struct WordIter<'a> {
    text: &'a str,
    words: std::slice::Iter<'a, ShellWord>,
}

impl<'a> Iterator for WordIter<'a> {
    type Item = Word<'a>;

    fn next(&mut self) -> Option<Word<'a>> {
        let word = *self.words.next()?;
        Some(Word {
            text: self.text,
            word,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.words.size_hint()
    }
}

impl DoubleEndedIterator for WordIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let word = *self.words.next_back()?;
        Some(Word {
            text: self.text,
            word,
        })
    }
}

impl ExactSizeIterator for WordIter<'_> {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperatorKind {
    And,
    Or,
    Pipe,
    Sequence,
    Background,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Operator {
    pub kind: OperatorKind,
    pub span: Span,
}

impl Command {
    /// The command's words from `from` (counted from its first assignment), `len` of them.
    fn view(&self, from: u32, len: u32) -> Words<'_> {
        let at = (self.first + from) as usize;
        Words {
            text: &self.script.text,
            words: &self.script.words[at..at + len as usize],
        }
    }

    /// Leading `NAME=value` assignments.
    pub fn assigns(&self) -> Words<'_> {
        self.view(0, self.assigns)
    }

    /// Every word, wrappers (`sudo`, `env X=1`) included.
    pub fn words(&self) -> Words<'_> {
        self.view(self.assigns, self.words)
    }

    /// The wrappers before the program (`sudo -E`, `env X=1`).
    pub fn wrappers(&self) -> Words<'_> {
        self.view(self.assigns, self.program.min(self.words))
    }

    /// Files the command writes through redirections (`> f`, `>> f`, `&> f`).
    pub fn writes(&self) -> Words<'_> {
        self.view(self.assigns + self.words, self.writes)
    }

    /// The operator joining this command to the next one.
    pub fn op(&self) -> Option<Operator> {
        self.op.map(|(kind, start, end)| Operator {
            kind,
            span: Span::new(start as usize, end as usize),
        })
    }

    /// From the first assignment or word to the last word.
    pub fn span(&self) -> Span {
        Span::new(self.start as usize, self.end as usize)
    }

    /// The words from the program on, wrappers such as `sudo` or `env X=1` skipped.
    pub fn program_words(&self) -> Words<'_> {
        self.words().from(self.program as usize)
    }

    /// The program, without its directory and wrappers: `sudo /usr/bin/apt-get` is `apt-get`.
    pub fn name(&self) -> Option<&str> {
        Some(basename(self.program_words().first()?.value()))
    }

    /// The arguments after the program.
    pub fn args(&self) -> Words<'_> {
        self.words().from(self.program as usize + 1)
    }

    pub fn has_arg(&self, value: &str) -> bool {
        self.args().iter().any(|w| w.value() == value)
    }

    /// A variable's value as this command sees it from its own prefix (`X=1 cmd`) or the
    /// script before it: `Some(Some(v))` known, `Some(None)` set to something unknown, `None`
    /// when the script does not set it (the instruction's environment decides then).
    pub fn var(&self, name: &str) -> Option<Option<&str>> {
        let prefix = self.assigns().iter().rev().find_map(|a| {
            let (n, v) = a.value().split_once('=')?;
            (n == name).then_some(if a.literal() { Some(v) } else { None })
        });
        prefix.or_else(|| {
            self.script_vars
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_deref())
        })
    }

    /// The first argument that is not an option: the subcommand of `apt-get install`,
    /// `pip install`, `npm ci`.
    pub fn subcommand(&self) -> Option<Word<'_>> {
        self.args().iter().find(|w| !w.value().starts_with('-'))
    }
}

fn basename(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// Where the program starts after wrappers such as `sudo`, `env X=1`, `nice`, so that
/// `sudo apt-get install` reads as `apt-get install`.
fn program_index(words: Words) -> usize {
    let mut at = 0;
    while let Some(first) = words.get(at) {
        let name = basename(first.value());
        if !matches!(
            name,
            "sudo" | "env" | "nice" | "nohup" | "time" | "command" | "exec"
        ) {
            break;
        }
        at += 1;
        while let Some(w) = words.get(at) {
            if w.value().starts_with('-') || (name == "env" && w.value().contains('=')) {
                at += 1;
            } else {
                break;
            }
        }
    }
    at
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShellError {
    #[error("the shell command is too deeply nested or unbalanced to analyse")]
    TooComplex,
    #[error("shell syntax: {0}")]
    Syntax(String),
}

/// The shell script a RUN runs, mapped to the file: its shell-form line, and the heredoc bodies
/// that the shell reads. `None` for the exec form, for non-RUN instructions and for RUNs whose
/// body is a script for another interpreter (`#!/usr/bin/env python3`).
pub fn run_script(inst: &Instruction, text: &str) -> Option<MappedText> {
    let inst = inst.onbuild().unwrap_or(inst);
    if inst.keyword != Keyword::Run || inst.is_exec_form() {
        return None;
    }
    let mut script = MappedText::new();
    if inst.heredocs().is_empty() {
        script.push_line(&inst.line, inst.args());
        return Some(script);
    }
    // `RUN <<EOF` (or `RUN <<EOF bash`, `RUN sh -e <<EOF`): the first body is the script.
    let others: Vec<String> = words::split_words(inst.args_text(), 0, '\\')
        .into_iter()
        .map(|w| w.value)
        .filter(|w| !w.contains("<<"))
        .collect();
    let runs_body = match others.split_first() {
        None => true,
        Some((shell, opts)) => is_posix_shell(shell) && opts.iter().all(|o| o.starts_with('-')),
    };
    if runs_body {
        let body = inst.heredocs()[0].body;
        let first_line = text[body.range()].lines().next().unwrap_or("");
        if first_line.starts_with("#!") && !first_line.split_whitespace().any(is_posix_shell) {
            return None;
        }
        script.push_source(text, body);
        return Some(script);
    }
    script.push_line(&inst.line, inst.args());
    for heredoc in inst.heredocs() {
        script.push_synthetic("\n");
        script.push_source(text, heredoc.body);
        script.push_source(text, heredoc.terminator);
    }
    script.push_synthetic("\n");
    Some(script)
}

/// Parses a script; spans in the result are file spans through `script`'s map. Variables are
/// left as written.
pub fn parse(script: &MappedText) -> Result<Script, ShellError> {
    parse_with(script, &|_| None)
}

/// Parses a script whose environment gives `env(name)` for the variables it knows: words that
/// use only known variables (and the script's own assignments before them) are expanded and
/// split into fields as the shell does.
pub fn parse_with(
    script: &MappedText,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Script, ShellError> {
    let src = script.as_str();
    if too_complex(src) {
        return Err(ShellError::TooComplex);
    }
    let options = ParserOptions::default();
    let tokens = brush_parser::uncached_tokenize_str(src, &options.tokenizer_options())
        .map_err(|e| ShellError::Syntax(e.to_string()))?;
    let program = brush_parser::parse_tokens(&tokens, &options)
        .map_err(|e| ShellError::Syntax(e.to_string()))?;
    let mut walk = Walk {
        src,
        map: script,
        char_to_byte: char_to_byte(src),
        tokens,
        options,
        commands: Vec::new(),
        text: String::new(),
        too_long: false,
        env,
        vars: Vec::new(),
        shared_vars: Arc::from(Vec::new()),
    };
    for list in &program.complete_commands {
        walk.list(list);
    }
    let commands = match walk.too_long {
        false => joined(walk.commands, walk.text),
        true => None,
    };
    let Some(commands) = commands else {
        return Err(ShellError::TooComplex);
    };
    Ok(Script {
        commands,
        and_chain: and_chain(&program),
        ends_compound: ends_compound(&program),
    })
}

fn ends_compound(program: &ast::Program) -> bool {
    let Some(ast::CompoundListItem(and_or, _)) = program
        .complete_commands
        .last()
        .and_then(|list| list.0.last())
    else {
        return false;
    };
    let last = match and_or.additional.last() {
        Some(ast::AndOr::And(p) | ast::AndOr::Or(p)) => p,
        None => &and_or.first,
    };
    last.seq
        .last()
        .is_some_and(|c| !matches!(c, ast::Command::Simple(_)))
}

fn and_chain(program: &ast::Program) -> bool {
    let [list] = &program.complete_commands[..] else {
        return false;
    };
    let [ast::CompoundListItem(and_or, separator)] = &list.0[..] else {
        return false;
    };
    let simple = |p: &ast::Pipeline| {
        !p.bang && p.timed.is_none() && p.seq.iter().all(|c| matches!(c, ast::Command::Simple(_)))
    };
    matches!(separator, ast::SeparatorOperator::Sequence)
        && simple(&and_or.first)
        && and_or
            .additional
            .iter()
            .all(|next| matches!(next, ast::AndOr::And(p) if simple(p)))
}

/// The parser's time grows fast with unbalanced nesting and its stack with deep nesting: leave
/// such scripts alone rather than stall an editor or overflow a worker's stack.
fn too_complex(src: &str) -> bool {
    const MAX_DEPTH: i64 = 48;
    const MAX_UNCLOSED: i64 = 12;
    if src.len() > 4 << 20 {
        return true;
    }
    let (mut depth, mut max_depth, mut unclosed) = (0i64, 0i64, 0i64);
    let (mut ifs, mut fis, mut cases, mut esacs) = (0i64, 0i64, 0i64, 0i64);
    let bytes = src.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_alphanumeric() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
                i += 1;
            }
            match &bytes[start..i] {
                b"if" => ifs += 1,
                b"fi" => fis += 1,
                b"case" => cases += 1,
                b"esac" => esacs += 1,
                _ => {}
            }
            continue;
        }
        match b {
            b'(' | b'{' => {
                depth += 1;
                unclosed += 1;
                max_depth = max_depth.max(depth);
            }
            b')' | b'}' => {
                depth -= 1;
                unclosed -= 1;
            }
            _ => {}
        }
        i += 1;
    }
    max_depth > MAX_DEPTH
        || unclosed > MAX_UNCLOSED
        || cases - esacs > 4
        || ifs - fis > MAX_UNCLOSED
        || ifs > 4 * MAX_DEPTH
}

/// Byte offsets of chars, for text that is not ASCII (in ASCII they are the same).
fn char_to_byte(src: &str) -> Vec<usize> {
    if src.is_ascii() {
        return Vec::new();
    }
    let mut table: Vec<usize> = src.char_indices().map(|(b, _)| b).collect();
    table.push(src.len());
    table
}

/// A command as the walk makes it, before its words join the script's.
struct Pending {
    assigns: Vec<ShellWord>,
    words: Vec<ShellWord>,
    writes: Vec<ShellWord>,
    program: usize,
    op: Option<Operator>,
    span: Span,
    script_vars: Arc<[(String, Option<String>)]>,
}

/// The commands with their words in one list of the script's, beside `text`, their values;
/// `None` when a count or a span does not fit a `u32`.
fn joined(pending: Vec<Pending>, text: String) -> Option<Vec<Command>> {
    let fits = |n: usize| u32::try_from(n).ok();
    let count = pending
        .iter()
        .map(|p| p.assigns.len() + p.words.len() + p.writes.len())
        .sum();
    let mut words = Vec::with_capacity(count);
    let mut places = Vec::with_capacity(pending.len());
    for p in &pending {
        places.push(fits(words.len())?);
        words.extend(p.assigns.iter().chain(&p.words).chain(&p.writes));
    }
    let script = Arc::new(ScriptWords {
        text: text.into_boxed_str(),
        words: words.into_boxed_slice(),
    });
    let mut commands = pending
        .into_iter()
        .zip(places)
        .map(|(p, first)| {
            let op = match p.op {
                Some(op) => Some((op.kind, fits(op.span.start)?, fits(op.span.end)?)),
                None => None,
            };
            Some(Command {
                script: script.clone(),
                script_vars: p.script_vars,
                first,
                assigns: fits(p.assigns.len())?,
                words: fits(p.words.len())?,
                writes: fits(p.writes.len())?,
                program: fits(p.program)?,
                start: fits(p.span.start)?,
                end: fits(p.span.end)?,
                op,
            })
        })
        .collect::<Option<Vec<Command>>>()?;
    // Collected through `Option`, the list grew without knowing its length.
    commands.shrink_to_fit();
    Some(commands)
}

/// Tokens that close a construct: an operator search stops at them.
const CLOSERS: [&str; 12] = [
    ")", "}", "fi", "done", "esac", "then", "do", "else", "elif", ";;", ";&", ";;&",
];

struct Walk<'a> {
    src: &'a str,
    map: &'a MappedText,
    /// brush counts positions in chars.
    char_to_byte: Vec<usize>,
    tokens: Vec<Token>,
    options: ParserOptions,
    /// The commands so far.
    commands: Vec<Pending>,
    /// The values of their words, one after another.
    text: String,
    /// A value or span past what a `ShellWord` holds (4 GiB): the script is not analysed.
    too_long: bool,
    /// The environment the script starts with.
    env: &'a dyn Fn(&str) -> Option<String>,
    /// Variables the script has set so far, latest last (`None`: value unknown).
    vars: Vec<(String, Option<String>)>,
    /// `vars` as the commands share it, rebuilt when it changes.
    shared_vars: Arc<[(String, Option<String>)]>,
}

impl Walk<'_> {
    fn byte(&self, char_index: usize) -> usize {
        if self.char_to_byte.is_empty() {
            return char_index.min(self.src.len());
        }
        self.char_to_byte[char_index.min(self.char_to_byte.len() - 1)]
    }

    /// A word's fields: one as written, or, when every expansion in it is known, the fields it
    /// expands to (`split`: unquoted expansions split at blanks, as for arguments but not for
    /// assignments). All share the word's span.
    fn word(&mut self, word: &ast::Word, split: bool) -> Vec<ShellWord> {
        let Some(loc) = word.loc.as_ref() else {
            return Vec::new();
        };
        let (mut start, end) = (self.byte(loc.start.index), self.byte(loc.end.index));
        // After a `\`+newline the parser's start includes the blanks before the word.
        while start < end && matches!(self.src.as_bytes()[start], b' ' | b'\t') {
            start += 1;
        }
        // The source slice, not `word.value`: the parser re-spaces text inside `$(…)`.
        let raw = &self.src[start..end];
        let span = self.map.span(start..end);
        if raw.contains('$') {
            let lookup = |name: &str| self.lookup(name);
            if let Some(fields) = expand(raw, &self.options, &lookup, split) {
                return fields
                    .into_iter()
                    .map(|value| self.stored(&value, true, span))
                    .collect();
            }
        }
        let (value, literal) = unquote(raw, &self.options);
        vec![self.stored(&value, literal, span)]
    }

    /// A word whose value is put at the end of the script's buffer.
    fn stored(&mut self, value: &str, literal: bool, span: Span) -> ShellWord {
        let at = self.text.len();
        self.text.push_str(value);
        let fits = |n: usize| u32::try_from(n).ok();
        match (
            fits(at),
            fits(value.len()),
            fits(span.start),
            fits(span.end),
        ) {
            (Some(at), Some(len), Some(start), Some(end)) if len < LITERAL && at < u32::MAX => {
                ShellWord {
                    at,
                    len: if literal { len | LITERAL } else { len },
                    start,
                    end,
                }
            }
            _ => {
                self.too_long = true;
                self.text.truncate(at);
                ShellWord {
                    at: 0,
                    len: 0,
                    start: 0,
                    end: 0,
                }
            }
        }
    }

    /// The file a redirection writes, if it writes one.
    fn written(&mut self, redirect: &ast::IoRedirect) -> Vec<ShellWord> {
        use ast::{IoFileRedirectKind as K, IoFileRedirectTarget as T, IoRedirect as R};
        match redirect {
            R::File(_, K::Write | K::Append | K::Clobber | K::ReadAndWrite, T::Filename(w))
            | R::OutputAndError(w, _) => self.word(w, false),
            _ => Vec::new(),
        }
    }

    /// A variable's value at this point of the script: its own assignments, then the
    /// environment it started with.
    fn lookup(&self, name: &str) -> Option<String> {
        match self.vars.iter().rev().find(|(n, _)| n == name) {
            Some((_, value)) => value.clone(),
            None => (self.env)(name),
        }
    }

    fn set_var(&mut self, name: &str, value: Option<String>) {
        if !is_name(name) {
            return;
        }
        self.vars.push((name.to_string(), value));
        self.shared_vars = Arc::from(self.vars.as_slice());
    }

    /// What a simple command does to the script's variables: a bare assignment, `export`,
    /// `unset`, `read`. (The command's own buffer is not set yet: its words are read from the
    /// walk's.)
    fn track_vars(&mut self, command: &Pending) {
        let text = std::mem::take(&mut self.text);
        let view = |words| Words { text: &text, words };
        let words = view(&command.words[..]).from(command.program);
        let args = words.from(1);
        match words.first().map(|w| basename(w.value())) {
            None => {
                for a in view(&command.assigns[..]) {
                    if let Some((name, value)) = a.value().split_once('=') {
                        self.set_var(name, a.literal().then(|| value.to_string()));
                    }
                }
            }
            Some("export" | "readonly" | "declare" | "typeset" | "local") => {
                for w in args.iter().filter(|w| !w.value().starts_with('-')) {
                    if let Some((name, value)) = w.value().split_once('=') {
                        self.set_var(name, w.literal().then(|| value.to_string()));
                    }
                }
            }
            Some("cd" | "pushd") => {
                let target = args.iter().find(|w| !w.value().starts_with('-'));
                let pwd = match (target, self.lookup("PWD")) {
                    (Some(t), _) if t.literal() && t.value().starts_with('/') => {
                        Some(crate::unixpath::resolve("/", t.value()))
                    }
                    (Some(t), Some(pwd)) if t.literal() && t.value() != "-" => {
                        Some(crate::unixpath::resolve(&pwd, t.value()))
                    }
                    _ => None,
                };
                self.set_var("PWD", pwd);
            }
            Some("unset" | "read" | "mapfile" | "readarray") => {
                for w in args.iter().filter(|w| !w.value().starts_with('-')) {
                    self.set_var(w.value(), None);
                }
            }
            Some(_) => {}
        }
        self.text = text;
    }

    /// Walks a branch or loop body: what it sets may or may not have happened afterwards.
    fn maybe(&mut self, walk: impl FnOnce(&mut Self)) {
        let before = self.vars.clone();
        walk(self);
        let after = std::mem::replace(&mut self.vars, before);
        for (name, value) in after.iter().skip(self.vars.len()) {
            let old = self
                .vars
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v);
            if old != Some(value) {
                self.vars.push((name.clone(), None));
            }
        }
        self.shared_vars = Arc::from(self.vars.as_slice());
    }

    /// Walks a subshell: nothing it sets survives it.
    fn scoped(&mut self, walk: impl FnOnce(&mut Self)) {
        let before = self.vars.clone();
        walk(self);
        self.vars = before;
        self.shared_vars = Arc::from(self.vars.as_slice());
    }

    /// The first operator in `want` at or after char `from`, unless a closer comes first.
    fn find_op(&self, from: usize, want: &[&str]) -> Option<Operator> {
        let first = self
            .tokens
            .partition_point(|t| token_loc(t).start.index < from);
        for token in &self.tokens[first..] {
            let (value, loc) = match token {
                Token::Operator(v, l) | Token::Word(v, l) => (v.as_str(), l),
            };
            if matches!(token, Token::Operator(..)) && want.contains(&value) {
                // The start is off by the blank after a heredoc delimiter; operators are ASCII.
                let end = self.byte(loc.end.index);
                let kind = match value {
                    "&&" => OperatorKind::And,
                    "||" => OperatorKind::Or,
                    "|" | "|&" => OperatorKind::Pipe,
                    "&" => OperatorKind::Background,
                    _ => OperatorKind::Sequence,
                };
                return Some(Operator {
                    kind,
                    span: self.map.span(end.saturating_sub(value.len())..end),
                });
            }
            if CLOSERS.contains(&value) {
                return None;
            }
        }
        None
    }

    fn end_list(&self, list: &ast::CompoundList) -> usize {
        list.0.last().map_or(0, |item| self.end_and_or(&item.0))
    }

    fn end_and_or(&self, and_or: &ast::AndOrList) -> usize {
        match and_or.additional.last() {
            Some(ast::AndOr::And(p) | ast::AndOr::Or(p)) => self.end_pipeline(p),
            None => self.end_pipeline(&and_or.first),
        }
    }

    fn end_pipeline(&self, pipeline: &ast::Pipeline) -> usize {
        pipeline.seq.last().map_or(0, |c| self.end_command(c))
    }

    fn end_command(&self, command: &ast::Command) -> usize {
        // An `if` clause's location covers only the `if` keyword: find its `fi`.
        if let ast::Command::Compound(ast::CompoundCommand::IfClause(clause), _) = command {
            let mut end = self.end_list(&clause.then);
            for other in clause.elses.iter().flatten() {
                end = end.max(self.end_list(&other.body));
            }
            let first = self
                .tokens
                .partition_point(|t| token_loc(t).start.index < end);
            return self.tokens[first..]
                .iter()
                .find(|t| matches!(t, Token::Word(v, _) if v == "fi"))
                .map_or(end, |t| token_loc(t).end.index);
        }
        command.location().map_or(0, |span| span.end.index)
    }

    fn set_op(&mut self, mark: usize, op: Option<Operator>) {
        if self.commands.len() > mark
            && let Some(last) = self.commands.last_mut()
        {
            last.op = op;
        }
    }

    fn list(&mut self, list: &ast::CompoundList) {
        for ast::CompoundListItem(and_or, separator) in &list.0 {
            let mark = self.commands.len();
            self.and_or(and_or);
            let want: &[&str] = match separator {
                ast::SeparatorOperator::Async => &["&"],
                ast::SeparatorOperator::Sequence => &[";", "\n"],
            };
            let op = self.find_op(self.end_and_or(and_or), want);
            self.set_op(mark, op);
        }
    }

    fn and_or(&mut self, and_or: &ast::AndOrList) {
        let mut previous = &and_or.first;
        let mut mark = self.commands.len();
        self.pipeline(previous);
        for next in &and_or.additional {
            let (op, pipeline) = match next {
                ast::AndOr::And(p) => ("&&", p),
                ast::AndOr::Or(p) => ("||", p),
            };
            let found = self.find_op(self.end_pipeline(previous), &[op]);
            self.set_op(mark, found);
            mark = self.commands.len();
            self.pipeline(pipeline);
            previous = pipeline;
        }
    }

    fn pipeline(&mut self, pipeline: &ast::Pipeline) {
        for (i, command) in pipeline.seq.iter().enumerate() {
            let mark = self.commands.len();
            self.command(command);
            if i + 1 < pipeline.seq.len() {
                let found = self.find_op(self.end_command(command), &["|", "|&"]);
                self.set_op(mark, found);
            }
        }
    }

    fn command(&mut self, command: &ast::Command) {
        match command {
            ast::Command::Simple(simple) => self.simple(simple),
            ast::Command::Compound(compound, redirects) => {
                let mark = self.commands.len();
                self.compound(compound);
                // `{ echo a; echo b; } > f`: each command in it writes f.
                let written: Vec<ShellWord> = redirects
                    .iter()
                    .flat_map(|list| &list.0)
                    .flat_map(|r| self.written(r))
                    .collect();
                if !written.is_empty() {
                    for command in &mut self.commands[mark..] {
                        command.writes.extend(&written);
                    }
                }
            }
            ast::Command::Function(function) => self.compound(&function.body.0),
            ast::Command::ExtendedTest(..) => {}
        }
    }

    fn compound(&mut self, compound: &ast::CompoundCommand) {
        use ast::CompoundCommand as C;
        match compound {
            C::BraceGroup(b) => self.list(&b.list),
            C::Subshell(s) => self.scoped(|w| w.list(&s.list)),
            C::ForClause(f) => self.maybe(|w| w.list(&f.body.list)),
            C::ArithmeticForClause(f) => self.maybe(|w| w.list(&f.body.list)),
            C::WhileClause(c) | C::UntilClause(c) => self.maybe(|w| {
                w.list(&c.0);
                w.list(&c.1.list);
            }),
            C::IfClause(clause) => self.maybe(|w| {
                w.list(&clause.condition);
                w.list(&clause.then);
                for other in clause.elses.iter().flatten() {
                    if let Some(condition) = &other.condition {
                        w.list(condition);
                    }
                    w.list(&other.body);
                }
            }),
            C::CaseClause(case) => self.maybe(|w| {
                for item in &case.cases {
                    if let Some(list) = &item.cmd {
                        w.list(list);
                    }
                }
            }),
            C::Coprocess(c) => self.scoped(|w| w.command(&c.body)),
            C::Arithmetic(_) => {}
        }
    }

    fn simple(&mut self, simple: &ast::SimpleCommand) {
        use ast::CommandPrefixOrSuffixItem as Item;
        let (mut assigns, mut words, mut writes) = (Vec::new(), Vec::new(), Vec::new());
        for item in simple.prefix.iter().flat_map(|p| p.0.iter()) {
            match item {
                Item::AssignmentWord(_, w) => assigns.extend(self.word(w, false)),
                Item::Word(w) => words.extend(self.word(w, true)),
                Item::IoRedirect(r) => writes.extend(self.written(r)),
                Item::ProcessSubstitution(..) => {}
            }
        }
        if let Some(w) = &simple.word_or_name {
            words.extend(self.word(w, true));
        }
        for item in simple.suffix.iter().flat_map(|s| s.0.iter()) {
            match item {
                // `make X=y`: an argument, not an assignment.
                Item::Word(w) | Item::AssignmentWord(_, w) => words.extend(self.word(w, true)),
                Item::IoRedirect(r) => writes.extend(self.written(r)),
                Item::ProcessSubstitution(..) => {}
            }
        }
        let spans = assigns.iter().chain(&words).map(ShellWord::span);
        let Some(span) = spans.reduce(Span::cover) else {
            return;
        };
        let program = program_index(Words {
            text: &self.text,
            words: &words,
        });
        let command = Pending {
            assigns,
            words,
            writes,
            program,
            op: None,
            span,
            script_vars: self.shared_vars.clone(),
        };
        self.track_vars(&command);
        self.commands.push(command);
    }
}

/// A shell variable name.
fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The fields a word expands to when every expansion in it is a variable whose value `lookup`
/// knows (`$X`, `${X}`, `${X:-word}`, `${X-word}`, `${X:+word}`, `${X+word}`); `None` for
/// anything else (command substitution, arithmetic, `~`, unknown variables). With `split`,
/// unquoted expansions split at blanks (the default IFS) and an empty one yields no field.
pub fn expand(
    raw: &str,
    options: &ParserOptions,
    lookup: &dyn Fn(&str) -> Option<String>,
    split: bool,
) -> Option<Vec<String>> {
    let pieces = brush_parser::word::parse(raw, options).ok()?;
    let mut fields = Fields::default();
    expand_pieces(&pieces, options, lookup, false, split, &mut fields)?;
    Some(fields.finish())
}

/// Fields being built: those done and the one being written (`None`: none started).
#[derive(Default)]
struct Fields {
    done: Vec<String>,
    current: Option<String>,
}

impl Fields {
    fn literal(&mut self, text: &str) {
        self.current.get_or_insert_default().push_str(text);
    }

    /// An expansion's value outside quotes: blanks end fields.
    fn splitting(&mut self, value: &str) {
        for c in value.chars() {
            if matches!(c, ' ' | '\t' | '\n') {
                if let Some(field) = self.current.take() {
                    self.done.push(field);
                }
            } else {
                self.current.get_or_insert_default().push(c);
            }
        }
    }

    fn finish(mut self) -> Vec<String> {
        self.done.extend(self.current.take());
        self.done
    }
}

fn expand_pieces(
    pieces: &[WordPieceWithSource],
    options: &ParserOptions,
    lookup: &dyn Fn(&str) -> Option<String>,
    quoted: bool,
    split: bool,
    out: &mut Fields,
) -> Option<()> {
    use brush_parser::word::{Parameter, ParameterExpr as P, ParameterTestType};
    for piece in pieces {
        match &piece.piece {
            WordPiece::Text(s) | WordPiece::SingleQuotedText(s) | WordPiece::AnsiCQuotedText(s) => {
                out.literal(s)
            }
            WordPiece::DoubleQuotedSequence(inner)
            | WordPiece::GettextDoubleQuotedSequence(inner) => {
                // A quoted part makes a field even when it is empty.
                out.literal("");
                expand_pieces(inner, options, lookup, true, split, out)?;
            }
            WordPiece::EscapeSequence(s) => out.literal(s.get(1..).unwrap_or_default()),
            WordPiece::ParameterExpansion(expr) => {
                let value = match expr {
                    P::Parameter {
                        parameter: Parameter::Named(name),
                        indirect: false,
                    } => lookup(name)?,
                    P::UseDefaultValues {
                        parameter: Parameter::Named(name),
                        indirect: false,
                        test_type,
                        default_value,
                    } => {
                        let value = lookup(name)?;
                        if value.is_empty() && matches!(test_type, ParameterTestType::UnsetOrNull) {
                            expand_text(default_value.as_deref(), options, lookup)?
                        } else {
                            value
                        }
                    }
                    P::UseAlternativeValue {
                        parameter: Parameter::Named(name),
                        indirect: false,
                        test_type,
                        alternative_value,
                    } => {
                        let value = lookup(name)?;
                        if value.is_empty() && matches!(test_type, ParameterTestType::UnsetOrNull) {
                            String::new()
                        } else {
                            expand_text(alternative_value.as_deref(), options, lookup)?
                        }
                    }
                    _ => return None,
                };
                if quoted || !split {
                    out.literal(&value);
                } else {
                    out.splitting(&value);
                }
            }
            WordPiece::TildeExpansion(_)
            | WordPiece::CommandSubstitution(_)
            | WordPiece::BackquotedCommandSubstitution(_)
            | WordPiece::ArithmeticExpression(_) => return None,
        }
    }
    Some(())
}

/// The word of a `${X:-word}`, expanded to one string.
fn expand_text(
    text: Option<&str>,
    options: &ParserOptions,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Option<String> {
    let text = text.unwrap_or_default();
    if text.is_empty() {
        return Some(String::new());
    }
    let fields = expand(text, options, lookup, false)?;
    Some(fields.concat())
}

fn token_loc(token: &Token) -> &brush_parser::SourceSpan {
    match token {
        Token::Operator(_, loc) | Token::Word(_, loc) => loc,
    }
}

/// Quote removal. Plain words, and words with quotes but nothing to expand or escape, skip the
/// word parser (it sits behind a global lock).
fn unquote(raw: &str, options: &ParserOptions) -> (String, bool) {
    if !raw.contains(['\'', '"', '\\', '$', '`', '~']) {
        return (raw.to_string(), true);
    }
    if !raw.contains(['\\', '$', '`', '~']) {
        let mut out = String::with_capacity(raw.len());
        let mut quote = None;
        for c in raw.chars() {
            match (quote, c) {
                (None, '\'' | '"') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                _ => out.push(c),
            }
        }
        if quote.is_none() {
            return (out, true);
        }
    }
    match brush_parser::word::parse(raw, options) {
        Ok(pieces) => {
            let mut out = String::with_capacity(raw.len());
            let literal = unquote_pieces(&pieces, raw, &mut out);
            (out, literal)
        }
        Err(_) => (raw.to_string(), false),
    }
}

fn unquote_pieces(pieces: &[WordPieceWithSource], raw: &str, out: &mut String) -> bool {
    let mut literal = true;
    for piece in pieces {
        match &piece.piece {
            WordPiece::Text(s) | WordPiece::SingleQuotedText(s) | WordPiece::AnsiCQuotedText(s) => {
                out.push_str(s)
            }
            WordPiece::DoubleQuotedSequence(inner)
            | WordPiece::GettextDoubleQuotedSequence(inner) => {
                literal &= unquote_pieces(inner, raw, out)
            }
            WordPiece::EscapeSequence(s) => out.push_str(s.get(1..).unwrap_or_default()),
            WordPiece::TildeExpansion(_)
            | WordPiece::ParameterExpansion(_)
            | WordPiece::CommandSubstitution(_)
            | WordPiece::BackquotedCommandSubstitution(_)
            | WordPiece::ArithmeticExpression(_) => {
                out.push_str(
                    raw.get(piece.start_index..piece.end_index)
                        .unwrap_or_default(),
                );
                literal = false;
            }
        }
    }
    literal
}

/// Parsed scripts kept between lints of one file that changes, as the language server's does,
/// so that an edit parses again only the RUNs it touched. A script is reused when its text and
/// the layout of its lines are the same and every variable its parse looked up has the same
/// value; its spans move with the RUN. `sweep` drops what the lints since the sweep before did
/// not use.
#[derive(Default)]
pub struct ScriptCache {
    maps: Mutex<CacheMaps>,
}

#[derive(Default)]
struct CacheMaps {
    /// Used since the last sweep.
    used: HashMap<Layout, Vec<Cached>>,
    /// Used before it.
    old: HashMap<Layout, Vec<Cached>>,
}

/// A script's text and where its pieces sit relative to its start (`MappedText::layout`).
type Layout = (String, Vec<(usize, usize, usize)>);

struct Cached {
    /// Where the script started in the file it was parsed from.
    base: usize,
    /// The variables the parse asked for, with the answers it had.
    env: Vec<(String, Option<String>)>,
    parsed: Result<Script, ShellError>,
}

impl std::fmt::Debug for ScriptCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let maps = self.maps.lock().unwrap_or_else(|e| e.into_inner());
        let scripts = |m: &HashMap<Layout, Vec<Cached>>| m.values().map(Vec::len).sum::<usize>();
        f.debug_struct("ScriptCache")
            .field("used", &scripts(&maps.used))
            .field("old", &scripts(&maps.old))
            .finish()
    }
}

impl ScriptCache {
    /// `parse_with(script, env)`, from the cache when it holds that script parsed with the
    /// same answers.
    pub fn parse_with(
        &self,
        script: &MappedText,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Script, ShellError> {
        let (base, pieces) = script.layout();
        let key = (script.as_str().to_string(), pieces);
        let same_env = |c: &Cached| c.env.iter().all(|(name, value)| env(name) == *value);
        {
            let mut maps = self.maps.lock().unwrap_or_else(|e| e.into_inner());
            let CacheMaps { used, old } = &mut *maps;
            let hit = used
                .get(&key)
                .and_then(|list| list.iter().find(|c| same_env(c)))
                .map(|c| c.parsed.clone().map(|s| (s, c.base)));
            let hit = hit.or_else(|| {
                let list = old.get_mut(&key)?;
                let at = list.iter().position(same_env)?;
                let cached = list.swap_remove(at);
                let out = cached.parsed.clone().map(|s| (s, cached.base));
                used.entry(key.clone()).or_default().push(cached);
                Some(out)
            });
            if let Some(parsed) = hit {
                return parsed.map(|(script, from)| script.moved(from, base));
            }
        }
        let asked = RefCell::new(Vec::new());
        let parsed = parse_with(script, &|name| {
            let value = env(name);
            asked.borrow_mut().push((name.to_string(), value.clone()));
            value
        });
        let mut maps = self.maps.lock().unwrap_or_else(|e| e.into_inner());
        maps.used.entry(key).or_default().push(Cached {
            base,
            env: asked.into_inner(),
            parsed: parsed.clone(),
        });
        parsed
    }

    /// Forgets the scripts no parse asked for since the sweep before.
    pub fn sweep(&self) {
        let mut maps = self.maps.lock().unwrap_or_else(|e| e.into_inner());
        maps.old = std::mem::take(&mut maps.used);
    }
}

impl Script {
    /// The same script in a copy of the file where it starts at `to` instead of `from`.
    fn moved(mut self, from: usize, to: usize) -> Script {
        if from == to {
            return self;
        }
        // A script's pieces sit at the same distance from its start wherever it is (and a
        // file the editor sends is far under 4 GiB).
        let at = |n: u32| u32::try_from(n as usize - from + to).unwrap_or(u32::MAX);
        let Some(first) = self.commands.first() else {
            return self;
        };
        let mut words = first.script.words.to_vec();
        for w in &mut words {
            (w.start, w.end) = (at(w.start), at(w.end));
        }
        let script = Arc::new(ScriptWords {
            text: first.script.text.clone(),
            words: words.into_boxed_slice(),
        });
        for c in &mut self.commands {
            c.script = script.clone();
            (c.start, c.end) = (at(c.start), at(c.end));
            if let Some((_, start, end)) = &mut c.op {
                (*start, *end) = (at(*start), at(*end));
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::Dockerfile;

    fn commands(dockerfile: &str) -> (Dockerfile, Script) {
        let parsed = parse(&run_script_of(dockerfile)).expect("parses");
        (Dockerfile::parse(dockerfile), parsed)
    }

    #[test]
    fn a_compound_commands_redirection_is_written_by_each_command_in_it() {
        let (_, script) = commands("FROM a\nRUN { echo a; echo b; } > ~/.cfg && echo c >> /log\n");
        let writes: Vec<Vec<&str>> = script
            .commands
            .iter()
            .map(|c| c.writes().iter().map(|w| w.value()).collect())
            .collect();
        assert_eq!(writes, [vec!["~/.cfg"], vec!["~/.cfg"], vec!["/log"]]);
    }

    #[test]
    fn commands_words_and_operators_map_to_the_file() {
        let (df, script) = commands(
            "FROM a\nRUN apt-get update \\\n && apt-get install -y \"a b\" ; rm -rf /var/lib/apt/lists/* | cat\n",
        );
        let names: Vec<_> = script.commands.iter().map(|c| c.name().unwrap()).collect();
        assert_eq!(names, ["apt-get", "apt-get", "rm", "cat"]);
        let ops: Vec<_> = script
            .commands
            .iter()
            .map(|c| c.op().map(|o| o.kind))
            .collect();
        assert_eq!(
            ops,
            [
                Some(OperatorKind::And),
                Some(OperatorKind::Sequence),
                Some(OperatorKind::Pipe),
                None
            ]
        );
        let install = &script.commands[1];
        let arg = install.args().get(2).unwrap();
        assert_eq!(arg.value(), "a b");
        assert_eq!(df.slice(arg.span()), "\"a b\"");
        assert_eq!(df.slice(install.span()), "apt-get install -y \"a b\"");
        assert_eq!(df.slice(script.commands[0].op().unwrap().span), "&&");
        assert_eq!(
            df.slice(script.commands[2].args().get(1).unwrap().span()),
            "/var/lib/apt/lists/*"
        );
    }

    #[test]
    fn words_and_commands_keep_their_size() {
        // The model holds every RUN's commands at once (issue 17's memory figures).
        assert_eq!(std::mem::size_of::<ShellWord>(), 16);
        assert_eq!(std::mem::size_of::<Command>(), 64);
    }

    #[test]
    fn heredoc_script_bodies_are_parsed() {
        let (df, script) = commands("FROM a\nRUN <<EOF\nset -e\napk add curl\nEOF\n");
        let names: Vec<_> = script.commands.iter().map(|c| c.name().unwrap()).collect();
        assert_eq!(names, ["set", "apk"]);
        assert_eq!(df.slice(script.commands[1].span()), "apk add curl");
    }

    #[test]
    fn heredoc_feeding_a_command_keeps_the_line() {
        let (_, script) = commands("FROM a\nRUN cat <<EOF > /x && echo done\nhello\nEOF\n");
        let names: Vec<_> = script.commands.iter().map(|c| c.name().unwrap()).collect();
        assert_eq!(names, ["cat", "echo"]);
    }

    #[test]
    fn python_heredocs_are_not_shell() {
        let df = Dockerfile::parse("FROM a\nRUN <<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF\n");
        let run = df.instructions().nth(1).unwrap();
        assert!(run_script(run, df.text()).is_none());
    }

    #[test]
    fn wrappers_are_unwrapped() {
        let (_, script) = commands("FROM a\nRUN sudo -E env A=1 apt-get install x\n");
        let cmd = &script.commands[0];
        assert_eq!(cmd.name(), Some("apt-get"));
        assert_eq!(cmd.subcommand().unwrap().value(), "install");
    }

    #[test]
    fn pathological_nesting_is_refused_not_parsed() {
        let mut m = MappedText::new();
        m.push_synthetic(&"(".repeat(40));
        assert_eq!(parse(&m).unwrap_err(), ShellError::TooComplex);
        let mut m = MappedText::new();
        m.push_synthetic(&"$(".repeat(100));
        assert_eq!(parse(&m).unwrap_err(), ShellError::TooComplex);
    }

    /// The first RUN's script of `dockerfile`, through `cache` with `env`.
    fn cached(
        cache: &ScriptCache,
        dockerfile: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Script {
        cache
            .parse_with(&run_script_of(dockerfile), env)
            .expect("parses")
    }

    fn word_spans(script: &Script) -> Vec<(String, Span)> {
        let words = script.commands.iter().flat_map(|c| c.words());
        words.map(|w| (w.value().to_string(), w.span())).collect()
    }

    #[test]
    fn a_cached_script_moves_with_its_run_and_is_parsed_again_when_a_variable_changes() {
        let cache = ScriptCache::default();
        let asked = std::cell::Cell::new(0);
        let env = |name: &str| {
            asked.set(asked.get() + 1);
            (name == "DIR").then(|| "/srv".to_string())
        };
        let text = "FROM a\nRUN cd $DIR && \\\n  make install\n";
        let first = cached(&cache, text, &env);
        let parses = asked.get();
        assert!(parses > 0, "the parse asks for DIR");
        // The same RUN two lines lower: from the cache, every span two lines on.
        let lower = format!("# a\n# b\n{text}");
        let moved = cached(&cache, &lower, &env);
        let fresh = parse_with(&run_script_of(&lower), &env).expect("parses");
        assert_eq!(word_spans(&moved), word_spans(&fresh));
        assert_ne!(word_spans(&moved), word_spans(&first));
        assert_eq!(moved.commands[0].words().get(1).unwrap().value(), "/srv");
        // The cache asked again only to check the answers it had (then the fresh parse asked).
        assert_eq!(asked.get(), parses * 3);
        assert_eq!(format!("{cache:?}"), "ScriptCache { used: 1, old: 0 }");
        // DIR now says something else: parsed again, with the new value.
        let other = |name: &str| (name == "DIR").then(|| "/opt".to_string());
        let changed = cached(&cache, &lower, &other);
        assert_eq!(changed.commands[0].words().get(1).unwrap().value(), "/opt");
        assert_eq!(format!("{cache:?}"), "ScriptCache { used: 2, old: 0 }");
        // A sweep keeps what the lints since the last one used; a second drops the rest.
        cache.sweep();
        assert_eq!(format!("{cache:?}"), "ScriptCache { used: 0, old: 2 }");
        cached(&cache, text, &env);
        cache.sweep();
        assert_eq!(format!("{cache:?}"), "ScriptCache { used: 0, old: 1 }");
    }

    /// The script of the first RUN of `dockerfile`.
    fn run_script_of(dockerfile: &str) -> MappedText {
        let df = Dockerfile::parse(dockerfile);
        let run = df
            .instructions()
            .find(|i| i.keyword == Keyword::Run)
            .expect("a RUN");
        run_script(run, df.text()).expect("a shell script")
    }
}
