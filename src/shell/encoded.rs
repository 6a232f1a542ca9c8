//! A parsed script in a few bytes, as the model keeps every RUN's while the rules run (issue
//! 17): a one-line RUN's script is 62 bytes encoded where it is some 440 parsed. Numbers
//! are LEB128 varints; spans are told from the one before (the first from the RUN's start), so
//! they take a byte or two wherever the RUN is in the file; a word's value is not written when
//! it is the file's text at its span (most are), and the variable lists the commands share are
//! written once each. Decoding, with the same file, gives back the very `Script` encoded.

use std::sync::Arc;

use super::{Command, LITERAL, OperatorKind, Script, ScriptWords, ShellWord};

/// The variables a script set before a command (`Command::script_vars`).
type Vars = Arc<[(String, Option<String>)]>;

/// A word's value is the file's text at its span.
const FROM_SOURCE: u64 = 1;
/// The word is literal (`Word::literal`).
const LITERAL_WORD: u64 = 2;
/// A word's value is not where the one before ended in the script's buffer: a redirection of a
/// compound command, which its commands share, or one after values no word holds.
const ELSEWHERE: u64 = 4;

/// A script of `source` (the file), encoded relative to `base` (its RUN's start).
pub fn encode(script: &Script, base: usize, source: &str) -> Box<[u8]> {
    let mut out = Writer(Vec::new());
    out.uint(u64::from(script.and_chain) | u64::from(script.ends_compound) << 1);
    // The variable lists, each once: commands in a row that see the same list share it.
    let mut lists: Vec<&Vars> = Vec::new();
    let mut list_of = Vec::with_capacity(script.commands.len());
    for c in &script.commands {
        let at = match lists.iter().position(|l| Arc::ptr_eq(*l, &c.script_vars)) {
            Some(at) => at,
            None => {
                lists.push(&c.script_vars);
                lists.len() - 1
            }
        };
        list_of.push(at);
    }
    out.uint(lists.len() as u64);
    for list in &lists {
        out.uint(list.len() as u64);
        for (name, value) in list.iter() {
            out.str(name);
            match value {
                None => out.uint(0),
                Some(v) => {
                    out.uint(v.len() as u64 + 1);
                    out.0.extend_from_slice(v.as_bytes());
                }
            }
        }
    }
    // The commands share one list of words (`joined`, `Script::moved`).
    let (text, words): (&str, &[ShellWord]) = match script.commands.first() {
        Some(c) => (&*c.script.text, &*c.script.words),
        None => ("", &[]),
    };
    out.uint(text.len() as u64);
    out.uint(words.len() as u64);
    // `written`: how much of the buffer the decoder has by then.
    let (mut next_at, mut last_end, mut written) = (0, base as i64, 0);
    for w in words {
        let len = w.len & !LITERAL;
        let (at, end_at) = (w.at as usize, w.at as usize + len as usize);
        let value = text.get(at..end_at).unwrap_or_default();
        let from_source =
            at == written && source.get(w.start as usize..w.end as usize) == Some(value);
        let elsewhere = i64::from(w.at) != next_at;
        let mut flags = u64::from(len) << 3;
        flags |= if from_source { FROM_SOURCE } else { 0 };
        flags |= if w.len & LITERAL != 0 {
            LITERAL_WORD
        } else {
            0
        };
        flags |= if elsewhere { ELSEWHERE } else { 0 };
        out.uint(flags);
        if elsewhere {
            out.int(i64::from(w.at) - next_at);
        }
        out.int(i64::from(w.start) - last_end);
        out.int(i64::from(w.end) - i64::from(w.start));
        if end_at > written {
            if !from_source {
                out.str(text.get(written..end_at).unwrap_or_default());
            }
            written = end_at;
        }
        next_at = i64::from(w.at) + i64::from(len);
        last_end = i64::from(w.end);
    }
    // Values no word holds (a redirection of a command the walk left out).
    out.str(text.get(written..).unwrap_or_default());
    out.uint(script.commands.len() as u64);
    let (mut next_first, mut last_end) = (0, base as i64);
    for (c, list) in script.commands.iter().zip(list_of) {
        out.int(i64::from(c.first) - next_first);
        for n in [c.assigns, c.words, c.writes, c.program] {
            out.uint(u64::from(n));
        }
        out.int(i64::from(c.start) - last_end);
        out.int(i64::from(c.end) - i64::from(c.start));
        match c.op {
            None => out.uint(0),
            Some((kind, start, end)) => {
                out.uint(kind_code(kind));
                out.int(i64::from(start) - i64::from(c.end));
                out.int(i64::from(end) - i64::from(start));
            }
        }
        out.uint(list as u64);
        next_first = i64::from(c.first) + i64::from(c.assigns + c.words + c.writes);
        last_end = i64::from(c.end);
    }
    out.0.into_boxed_slice()
}

/// The script `encode(script, base, source)` was made from; `None` only for bytes it did not
/// make.
pub fn decode(bytes: &[u8], base: usize, source: &str) -> Option<Script> {
    let mut input = Reader(bytes);
    let flags = input.uint()?;
    let list_count = input.len()?;
    let mut lists = Vec::with_capacity(list_count);
    for _ in 0..list_count {
        let len = input.len()?;
        let mut list = Vec::with_capacity(len);
        for _ in 0..len {
            let name = input.str()?.to_string();
            let value = match input.len()? {
                0 => None,
                n => Some(std::str::from_utf8(input.bytes(n - 1)?).ok()?.to_string()),
            };
            list.push((name, value));
        }
        lists.push(Vars::from(list));
    }
    // Sized first: the values are put together one at a time.
    let mut text = String::with_capacity(input.len()?);
    let word_count = input.len()?;
    let mut words = Vec::with_capacity(word_count);
    let (mut next_at, mut last_end) = (0, base as i64);
    for _ in 0..word_count {
        let flags = input.uint()?;
        let literal = if flags & LITERAL_WORD != 0 {
            LITERAL
        } else {
            0
        };
        let len = u32::try_from(flags >> 3).ok()?;
        let at = match flags & ELSEWHERE {
            0 => next_at,
            _ => next_at + input.int()?,
        };
        let at = u32::try_from(at).ok()?;
        let start = u32::try_from(last_end + input.int()?).ok()?;
        let end = u32::try_from(i64::from(start) + input.int()?).ok()?;
        let end_at = at as usize + len as usize;
        if end_at > text.len() {
            if flags & FROM_SOURCE != 0 {
                let value = source.get(start as usize..end as usize)?;
                if at as usize != text.len() || value.len() != len as usize {
                    return None;
                }
                text.push_str(value);
            } else {
                text.push_str(input.str()?);
            }
        }
        words.push(ShellWord {
            at,
            len: len | literal,
            start,
            end,
        });
        next_at = i64::from(at) + i64::from(len);
        last_end = i64::from(end);
    }
    text.push_str(input.str()?);
    let shared = Arc::new(ScriptWords {
        text: text.into_boxed_str(),
        words: words.into_boxed_slice(),
    });
    let command_count = input.len()?;
    let mut commands = Vec::with_capacity(command_count);
    let (mut next_first, mut last_end) = (0, base as i64);
    for _ in 0..command_count {
        let first = u32::try_from(next_first + input.int()?).ok()?;
        let [assigns, words, writes, program] = [(); 4].map(|_| input.u32());
        let (assigns, words, writes, program) = (assigns?, words?, writes?, program?);
        let start = u32::try_from(last_end + input.int()?).ok()?;
        let end = u32::try_from(i64::from(start) + input.int()?).ok()?;
        let op = match input.uint()? {
            0 => None,
            code => {
                let kind = kind_of(code)?;
                let op_start = u32::try_from(i64::from(end) + input.int()?).ok()?;
                let op_end = u32::try_from(i64::from(op_start) + input.int()?).ok()?;
                Some((kind, op_start, op_end))
            }
        };
        let script_vars = lists.get(input.len()?)?.clone();
        commands.push(Command {
            script: shared.clone(),
            script_vars,
            first,
            assigns,
            words,
            writes,
            program,
            start,
            end,
            op,
        });
        next_first = i64::from(first) + i64::from(assigns) + i64::from(words) + i64::from(writes);
        last_end = i64::from(end);
    }
    Some(Script {
        commands,
        and_chain: flags & 1 != 0,
        ends_compound: flags & 2 != 0,
    })
}

fn kind_code(kind: OperatorKind) -> u64 {
    match kind {
        OperatorKind::And => 1,
        OperatorKind::Or => 2,
        OperatorKind::Pipe => 3,
        OperatorKind::Sequence => 4,
        OperatorKind::Background => 5,
    }
}

fn kind_of(code: u64) -> Option<OperatorKind> {
    Some(match code {
        1 => OperatorKind::And,
        2 => OperatorKind::Or,
        3 => OperatorKind::Pipe,
        4 => OperatorKind::Sequence,
        5 => OperatorKind::Background,
        _ => return None,
    })
}

struct Writer(Vec<u8>);

impl Writer {
    fn uint(&mut self, mut n: u64) {
        while n >= 0x80 {
            self.0.push(n as u8 | 0x80);
            n >>= 7;
        }
        self.0.push(n as u8);
    }

    /// A signed number, small either side of zero in a byte (zigzag).
    fn int(&mut self, n: i64) {
        self.uint(((n << 1) ^ (n >> 63)) as u64);
    }

    fn str(&mut self, s: &str) {
        self.uint(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn uint(&mut self) -> Option<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self.0.split_first()?;
            self.0 = rest;
            n |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(n);
            }
        }
        None
    }

    fn int(&mut self) -> Option<i64> {
        let n = self.uint()?;
        Some((n >> 1) as i64 ^ -((n & 1) as i64))
    }

    fn u32(&mut self) -> Option<u32> {
        u32::try_from(self.uint()?).ok()
    }

    fn len(&mut self) -> Option<usize> {
        usize::try_from(self.uint()?).ok()
    }

    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(taken)
    }

    fn str(&mut self) -> Option<&'a str> {
        let n = self.len()?;
        std::str::from_utf8(self.bytes(n)?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::{parse_with, run_script};
    use crate::syntax::{Dockerfile, Keyword};

    /// Each RUN's script of `text`, parsed with `env`, and where its RUN starts.
    fn scripts(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Vec<(usize, Script)> {
        let df = Dockerfile::parse(text);
        df.instructions()
            .filter(|i| i.keyword == Keyword::Run)
            .filter_map(|i| {
                let script = parse_with(&run_script(i, df.text())?, env).ok()?;
                Some((i.span().start, script))
            })
            .collect()
    }

    #[test]
    fn a_script_decodes_to_the_one_encoded() {
        // Far into the file, so that spans relative to the RUN matter; every kind of word,
        // operator and variable the walk keeps.
        let mut text = "FROM debian\n".to_string();
        for n in 0..3000 {
            text.push_str(&format!("# filler line {n}\n"));
        }
        text.push_str(
            "RUN export A=1 B=\"$(date)\" && X=2 Y=$HOME sudo -E apt-get install -y $PKGS \"a b\" \\\n\
             \x20   && cd /srv || echo é > /tmp/ö; { echo a; echo b; } >> ~/.cfg | tee /x & \\\n\
             \x20   if test -f f; then D=4; fi; unset A; rm -rf ${DIR}/* $A $D\n\
             RUN <<EOF\nset -e\napk add curl > /log\nEOF\n\
             RUN true\n\
             RUN > /tmp/x && echo hi\n\
             RUN echo hi; > /tmp/y\n",
        );
        let env = |name: &str| (name == "DIR").then(|| "/var/lib".to_string());
        let parsed = scripts(&text, &env);
        assert_eq!(parsed.len(), 5);
        assert!(parsed[0].0 > 40_000);
        for (base, script) in &parsed {
            let code = encode(script, *base, &text);
            assert_eq!(decode(&code, *base, &text).as_ref(), Some(script));
        }
        let (base, script) = &parsed[0];
        assert!(script.commands.len() >= 8);
        assert!(script.commands.iter().any(|c| !c.assigns().is_empty()));
        assert!(script.commands.iter().any(|c| !c.writes().is_empty()));
        assert!(script.commands.iter().any(|c| c.var("A").is_some()));
        let words = || script.commands.iter().flat_map(|c| c.words());
        assert!(words().any(|w| !w.literal()));
        assert!(words().any(|w| w.value() == "/var/lib/*"));
        // An empty script, and one moved to another place, come back too.
        let empty = Script::default();
        assert_eq!(decode(&encode(&empty, 7, &text), 7, &text), Some(empty));
        let moved = script.clone().moved(*base, 5);
        assert_eq!(
            decode(&encode(&moved, 5, &text), 5, &text).as_ref(),
            Some(&moved)
        );
    }

    #[test]
    fn a_one_line_run_is_some_dozens_of_bytes() {
        // The line of issue 17's memory figures: some 440 bytes parsed, 62 encoded.
        let text = "FROM a\nRUN echo 1 && apt-get update && apt-get install -y x\n";
        let parsed = scripts(text, &|_| None);
        let (base, script) = &parsed[0];
        let code = encode(script, *base, text);
        assert!(code.len() <= 62, "{} bytes", code.len());
    }
}
