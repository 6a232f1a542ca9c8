//! The word-level lexers BuildKit applies to an instruction's joined line: builder flags, quoted
//! words, whitespace-separated lists, and the heredoc markers (`<<EOF`) that open heredocs.

use std::ops::Range;

/// A builder flag such as `--mount=type=cache,target=/root/.cache` or `--link`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawFlag {
    /// The whole flag word in the joined line.
    pub range: Range<usize>,
    pub name: String,
    /// `None` for a flag without `=`.
    pub value: Option<String>,
}

/// Splits the leading `--flags` off an instruction's arguments, as BuildKit does: flags end at
/// the first word that does not start with `--`, or at a lone `--`. Returns the flags and the
/// offset where the arguments start.
pub fn split_flags(line: &str, base: usize) -> (Vec<RawFlag>, usize) {
    let bytes = line.as_bytes();
    let mut flags = Vec::new();
    let mut pos = 0;
    loop {
        while pos < bytes.len() && bytes[pos].is_ascii_whitespace() {
            pos += 1;
        }
        if pos + 1 >= bytes.len() || bytes[pos] != b'-' || bytes[pos + 1] != b'-' {
            return (flags, base + pos);
        }
        let start = pos;
        let mut word = String::new();
        let mut quote: Option<u8> = None;
        while pos < bytes.len() {
            let b = bytes[pos];
            match quote {
                None if b.is_ascii_whitespace() => break,
                None if b == b'\'' || b == b'"' => quote = Some(b),
                Some(q) if b == q => quote = None,
                _ if b == b'\\' => {
                    if pos + 1 < bytes.len() {
                        pos += 1;
                        push_byte_char(line, &mut pos, &mut word);
                        continue;
                    }
                }
                _ => {
                    push_byte_char(line, &mut pos, &mut word);
                    continue;
                }
            }
            pos += 1;
        }
        if word == "--" {
            // `--` ends the flags; the arguments start after it.
            return (flags, base + pos);
        }
        let body = word.strip_prefix("--").unwrap_or(&word);
        let (name, value) = match body.split_once('=') {
            Some((name, value)) => (name.to_string(), Some(value.to_string())),
            None => (body.to_string(), None),
        };
        flags.push(RawFlag {
            range: base + start..base + pos,
            name,
            value,
        });
    }
}

/// Pushes the (possibly multi-byte) char at `pos` and moves past it.
fn push_byte_char(line: &str, pos: &mut usize, word: &mut String) {
    match line[*pos..].chars().next() {
        Some(c) => {
            word.push(c);
            *pos += c.len_utf8();
        }
        None => *pos += 1,
    }
}

/// A word of an instruction's arguments, quotes and escapes resolved in `value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    pub range: Range<usize>,
    pub value: String,
}

/// Splits on whitespace outside quotes, as BuildKit's `parseWords` does for ENV, LABEL and ARG,
/// with `escape` as the escape character (it does nothing inside single quotes).
pub fn split_words(text: &str, base: usize, escape: char) -> Vec<Word> {
    let mut words = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut value = String::new();
        let mut quote: Option<char> = None;
        let mut end = start;
        while let Some(&(i, c)) = chars.peek() {
            if quote.is_none() && c.is_whitespace() {
                break;
            }
            chars.next();
            end = i + c.len_utf8();
            match quote {
                Some('\'') if c == '\'' => quote = None,
                Some('\'') => value.push(c),
                Some(q) if c == q => quote = None,
                _ if c == escape => {
                    if let Some(&(j, next)) = chars.peek() {
                        chars.next();
                        end = j + next.len_utf8();
                        // Inside double quotes only a few characters need escaping; keep the
                        // escape before others, as a shell would.
                        if quote.is_some() && !matches!(next, '"' | '$' | '`' | '\\') {
                            value.push(c);
                        }
                        value.push(next);
                    }
                }
                None if c == '\'' || c == '"' => quote = Some(c),
                _ => value.push(c),
            }
        }
        words.push(Word {
            range: base + start..base + end,
            value,
        });
    }
    words
}

/// BuildKit's `[\t\v\f\r ]+` split, used for FROM, EXPOSE and the shell form of COPY/ADD/VOLUME.
pub fn split_blanks(text: &str, base: usize) -> Vec<Word> {
    let is_blank = |c: char| matches!(c, '\t' | '\x0b' | '\x0c' | '\r' | ' ');
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        match (start, is_blank(c)) {
            (None, false) => start = Some(i),
            (Some(s), true) => {
                words.push(Word {
                    range: base + s..base + i,
                    value: text[s..i].to_string(),
                });
                start = None;
            }
            _ => {}
        }
    }
    words
}

/// A heredoc opened on an instruction line: `<<EOF`, `<<-EOF`, `<<'EOF'`, `3<<EOF`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeredocMarker {
    pub range: Range<usize>,
    pub name: String,
    /// `<<-`: leading tabs are stripped from the body lines and the terminator.
    pub chomp: bool,
    /// Unquoted delimiters let variables in the body expand.
    pub expand: bool,
}

/// Finds the heredoc markers on a line: shell words (split with `\` escapes and quotes kept raw)
/// that look like `N<<-NAME`, in order.
pub fn heredoc_markers(line: &str) -> Vec<HeredocMarker> {
    raw_shell_words(line)
        .into_iter()
        .filter_map(|range| {
            let word = &line[range.clone()];
            let at = word.find("<<")?;
            if !word[..at].bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let rest = &word[at + 2..];
            let (chomp, rest) = match rest.strip_prefix('-') {
                Some(r) => (true, r),
                None => (false, rest),
            };
            if rest.is_empty() || rest.contains('<') {
                return None;
            }
            let name = unquote(rest);
            if name.is_empty() {
                return None;
            }
            let quotes = |s: &str| s.chars().filter(|&c| c == '\'' || c == '"').count();
            let expand = quotes(rest) == 0;
            Some(HeredocMarker {
                range,
                name,
                chomp,
                expand,
            })
        })
        .collect()
}

/// Whitespace-separated words, quotes and `\` escapes kept raw inside them.
fn raw_shell_words(line: &str) -> Vec<Range<usize>> {
    let mut words = Vec::new();
    let mut start = None;
    let mut quote: Option<char> = None;
    let mut chars = line.char_indices();
    while let Some((i, c)) = chars.next() {
        if quote.is_none() && c.is_whitespace() {
            if let Some(s) = start.take() {
                words.push(s..i);
            }
            continue;
        }
        if start.is_none() {
            start = Some(i);
        }
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), _) if q == c => quote = None,
            (Some('\''), _) => {}
            (_, '\\') => {
                chars.next();
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push(s..line.len());
    }
    words
}

/// Removes shell quotes and `\` escapes from a word.
fn unquote(word: &str) -> String {
    split_words(word, 0, '\\')
        .into_iter()
        .map(|w| w.value)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_with_and_without_values() {
        let line = "--mount=type=cache,target=/x --link  --chmod=\"755\" echo --no";
        let (flags, rest) = split_flags(line, 10);
        let names: Vec<_> = flags
            .iter()
            .map(|f| (f.name.as_str(), f.value.as_deref()))
            .collect();
        assert_eq!(
            names,
            [
                ("mount", Some("type=cache,target=/x")),
                ("link", None),
                ("chmod", Some("755"))
            ]
        );
        assert_eq!(&line[rest - 10..], "echo --no");
        assert_eq!(
            &line[flags[2].range.start - 10..flags[2].range.end - 10],
            "--chmod=\"755\""
        );
    }

    #[test]
    fn double_dash_ends_flags() {
        let (flags, rest) = split_flags("--a -- --b", 0);
        assert_eq!(flags.len(), 1);
        assert_eq!(rest, 6);
    }

    #[test]
    fn words_resolve_quotes_and_escapes() {
        let words = split_words(r#"A="a b" B='c\d' C=e\ f D="g\"h""#, 0, '\\');
        let values: Vec<_> = words.iter().map(|w| w.value.as_str()).collect();
        assert_eq!(values, ["A=a b", r"B=c\d", "C=e f", "D=g\"h"]);
        let words = split_words("A=C:\\dir` x", 0, '`');
        assert_eq!(words[0].value, "A=C:\\dir x");
    }

    #[test]
    fn heredoc_markers_found_outside_quotes() {
        let markers = heredoc_markers(r#"RUN <<EOF cat <<-"B" 3<<'C' "<<X" a<<Y"#);
        let names: Vec<_> = markers
            .iter()
            .map(|m| (m.name.as_str(), m.chomp, m.expand))
            .collect();
        assert_eq!(
            names,
            [
                ("EOF", false, true),
                ("B", true, false),
                ("C", false, false)
            ]
        );
    }

    #[test]
    fn blanks_split_only_on_ascii_blanks() {
        let words = split_blanks(" a\tb  c ", 0);
        let values: Vec<_> = words.iter().map(|w| w.value.as_str()).collect();
        assert_eq!(values, ["a", "b", "c"]);
    }
}
