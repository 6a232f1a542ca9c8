//! The part of Go's `regexp` syntax that Docker's pattern matcher can produce, and a matcher for
//! it.
//!
//! moby's `patternmatcher` turns a glob into a Go regular expression: `*` → `[^/]*`, `?` → `[^/]`,
//! `**` → `(.*/)?` or `.*`, escapes `.+()|{}$`, and passes `[`, `]`, `^` and `\x` through. So a
//! pattern means what that regular expression means, quirks included (`[*]` is not "a literal
//! star"; `\d` is a digit). This module parses those expressions with Go's rules — classes with
//! POSIX names and Perl escapes, octal and hex escapes, `\A` `\z` `\b` `\B` — and rejects, as an
//! error, the few Go constructs the translation cannot produce or that we do not model (`\p`,
//! `\Q`). Matching is whole-string (Docker anchors with `^…$`) over Unicode scalar values.

/// Why an expression does not compile, in Go's words where Go has them.
pub type RegexError = String;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Atom {
    Char(char),
    Set(CharSet),
    /// `.`: any character but `\n` (Go's default flags).
    Dot,
    /// `(.*/)`: the only group the translation emits.
    AnyDirs,
    /// `^` or `\A`.
    Start,
    /// `$` or `\z`.
    End,
    /// `\b` (true) or `\B` (false), ASCII word characters as in Go.
    WordBoundary(bool),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Repeat {
    One,
    Star,
    Optional,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Node {
    atom: Atom,
    repeat: Repeat,
}

/// A set of characters as sorted, non-overlapping inclusive ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct CharSet {
    ranges: Vec<(u32, u32)>,
}

const MAX_CHAR: u32 = char::MAX as u32;

impl CharSet {
    fn add(&mut self, lo: u32, hi: u32) {
        self.ranges.push((lo, hi));
    }

    fn add_set(&mut self, other: &CharSet) {
        self.ranges.extend_from_slice(&other.ranges);
    }

    fn normalized(mut self) -> CharSet {
        self.ranges.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(self.ranges.len());
        for (lo, hi) in self.ranges {
            match merged.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        CharSet { ranges: merged }
    }

    fn complement(self) -> CharSet {
        let set = self.normalized();
        let mut out = CharSet::default();
        let mut next = 0u32;
        for &(lo, hi) in &set.ranges {
            if lo > next {
                out.add(next, lo - 1);
            }
            next = hi.saturating_add(1);
        }
        if next <= MAX_CHAR {
            out.add(next, MAX_CHAR);
        }
        out
    }

    fn contains(&self, c: char) -> bool {
        let c = c as u32;
        self.ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi)
    }

    fn of(ranges: &[(u8, u8)]) -> CharSet {
        CharSet {
            ranges: ranges
                .iter()
                .map(|&(lo, hi)| (u32::from(lo), u32::from(hi)))
                .collect(),
        }
    }
}

/// Go's Perl classes (`\d`, `\s`, `\w` and their negations) and POSIX classes are ASCII-only.
fn perl_class(letter: char) -> Option<CharSet> {
    let set = match letter.to_ascii_lowercase() {
        'd' => CharSet::of(&[(b'0', b'9')]),
        's' => CharSet::of(&[(b'\t', b'\n'), (0x0c, b'\r'), (b' ', b' ')]),
        'w' => CharSet::of(&[(b'0', b'9'), (b'A', b'Z'), (b'_', b'_'), (b'a', b'z')]),
        _ => return None,
    };
    Some(if letter.is_ascii_uppercase() {
        set.complement()
    } else {
        set
    })
}

fn posix_class(name: &str) -> Option<CharSet> {
    let ranges: &[(u8, u8)] = match name {
        "alnum" => &[(b'0', b'9'), (b'A', b'Z'), (b'a', b'z')],
        "alpha" => &[(b'A', b'Z'), (b'a', b'z')],
        "ascii" => &[(0, 0x7f)],
        "blank" => &[(b'\t', b'\t'), (b' ', b' ')],
        "cntrl" => &[(0, 0x1f), (0x7f, 0x7f)],
        "digit" => &[(b'0', b'9')],
        "graph" => &[(b'!', b'~')],
        "lower" => &[(b'a', b'z')],
        "print" => &[(b' ', b'~')],
        "punct" => &[(b'!', b'/'), (b':', b'@'), (b'[', b'`'), (b'{', b'~')],
        "space" => &[(b'\t', b'\r'), (b' ', b' ')],
        "upper" => &[(b'A', b'Z')],
        "word" => &[(b'0', b'9'), (b'A', b'Z'), (b'_', b'_'), (b'a', b'z')],
        "xdigit" => &[(b'0', b'9'), (b'A', b'F'), (b'a', b'f')],
        _ => return None,
    };
    Some(CharSet::of(ranges))
}

/// A compiled expression: a sequence of atoms, each optionally repeated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Regex {
    nodes: Vec<Node>,
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    fn rest_starts_with(&self, text: &str) -> bool {
        (self.pos..)
            .zip(text.chars())
            .all(|(i, c)| self.chars.get(i) == Some(&c))
    }

    fn parse(mut self) -> Result<Regex, RegexError> {
        let mut nodes: Vec<Node> = Vec::new();
        // Whether the last repetition operator already took a `?` (Go's non-greedy marker).
        let mut lazy_taken = false;
        while let Some(c) = self.next() {
            let atom = match c {
                '*' | '?' => {
                    let Some(last) = nodes.last_mut() else {
                        return Err(format!("missing argument to repetition operator: `{c}`"));
                    };
                    if last.repeat == Repeat::One {
                        last.repeat = if c == '*' {
                            Repeat::Star
                        } else {
                            Repeat::Optional
                        };
                        lazy_taken = false;
                    } else if c == '?' && !lazy_taken {
                        // `x*?` and `x??` are non-greedy: the same strings match in full.
                        lazy_taken = true;
                    } else {
                        return Err(format!("invalid nested repetition operator: `{c}`"));
                    }
                    continue;
                }
                '+' | '{' | '|' | ')' => {
                    return Err(format!("`{c}` cannot come from a .dockerignore pattern"));
                }
                '^' => Atom::Start,
                '$' => Atom::End,
                '.' => Atom::Dot,
                '(' => {
                    if self.rest_starts_with(".*/)") {
                        self.pos += 4;
                        Atom::AnyDirs
                    } else {
                        return Err(
                            "a group other than `(.*/)` cannot come from a .dockerignore \
                                    pattern"
                                .to_string(),
                        );
                    }
                }
                '[' => Atom::Set(self.parse_class()?),
                '\\' => self.parse_escape_atom()?,
                other => Atom::Char(other),
            };
            nodes.push(Node {
                atom,
                repeat: Repeat::One,
            });
        }
        Ok(Regex { nodes })
    }

    /// After a `\` outside a class.
    fn parse_escape_atom(&mut self) -> Result<Atom, RegexError> {
        match self.peek() {
            Some('A') => {
                self.pos += 1;
                Ok(Atom::Start)
            }
            Some('z') => {
                self.pos += 1;
                Ok(Atom::End)
            }
            Some('b') => {
                self.pos += 1;
                Ok(Atom::WordBoundary(true))
            }
            Some('B') => {
                self.pos += 1;
                Ok(Atom::WordBoundary(false))
            }
            Some(letter @ ('p' | 'P' | 'Q')) => Err(format!(
                "the Go regular-expression escape `\\{letter}` is not supported by layerwise"
            )),
            Some(letter) if perl_class(letter).is_some() => {
                self.pos += 1;
                Ok(Atom::Set(perl_class(letter).unwrap_or_default()))
            }
            _ => Ok(Atom::Char(self.parse_escape()?)),
        }
    }

    /// Go's `parseEscape`: the character a `\` sequence stands for.
    fn parse_escape(&mut self) -> Result<char, RegexError> {
        let Some(c) = self.next() else {
            return Err("trailing backslash at end of expression".to_string());
        };
        let invalid = |text: String| Err(format!("invalid escape sequence: `\\{text}`"));
        let is_octal = |c: Option<char>| matches!(c, Some('0'..='7'));
        match c {
            '1'..='7' if !is_octal(self.peek()) => invalid(c.to_string()),
            '0'..='7' => {
                let mut value = c as u32 - '0' as u32;
                for _ in 0..2 {
                    match self.peek() {
                        Some(d @ '0'..='7') => {
                            value = value * 8 + (d as u32 - '0' as u32);
                            self.pos += 1;
                        }
                        _ => break,
                    }
                }
                char::from_u32(value).ok_or_else(|| "invalid escape sequence".to_string())
            }
            'x' => self.parse_hex(),
            'a' => Ok('\x07'),
            'f' => Ok('\x0c'),
            'n' => Ok('\n'),
            'r' => Ok('\r'),
            't' => Ok('\t'),
            'v' => Ok('\x0b'),
            c if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok(c),
            c => invalid(c.to_string()),
        }
    }

    /// After `\x`: two hex digits, or any number in braces.
    fn parse_hex(&mut self) -> Result<char, RegexError> {
        let bad = || "invalid escape sequence: `\\x…`".to_string();
        let mut value: u32 = 0;
        if self.peek() == Some('{') {
            self.pos += 1;
            let mut digits = 0;
            loop {
                let c = self.next().ok_or_else(bad)?;
                if c == '}' {
                    break;
                }
                let digit = c.to_digit(16).ok_or_else(bad)?;
                value = value * 16 + digit;
                if value > MAX_CHAR {
                    return Err(bad());
                }
                digits += 1;
            }
            if digits == 0 {
                return Err(bad());
            }
        } else {
            for _ in 0..2 {
                let digit = self.next().and_then(|c| c.to_digit(16)).ok_or_else(bad)?;
                value = value * 16 + digit;
            }
        }
        char::from_u32(value).ok_or_else(bad)
    }

    /// After a `[`: Go's `parseClass`.
    fn parse_class(&mut self) -> Result<CharSet, RegexError> {
        let unterminated = || "missing closing ]".to_string();
        let mut set = CharSet::default();
        let negated = self.peek() == Some('^');
        if negated {
            self.pos += 1;
        }
        let mut first = true;
        loop {
            let c = self.peek().ok_or_else(unterminated)?;
            if c == ']' && !first {
                self.pos += 1;
                break;
            }
            first = false;
            // `[:` without a closing `:]` is a plain `[`
            if c == '['
                && self.peek_at(1) == Some(':')
                && let Some(named) = self.parse_named_class()?
            {
                set.add_set(&named);
                continue;
            }
            if c == '\\' {
                match self.peek_at(1) {
                    Some(letter @ ('p' | 'P')) => {
                        return Err(format!(
                            "the Go regular-expression escape `\\{letter}` is not supported by \
                             layerwise"
                        ));
                    }
                    Some(letter) => {
                        if let Some(perl) = perl_class(letter) {
                            self.pos += 2;
                            set.add_set(&perl);
                            continue;
                        }
                    }
                    None => {}
                }
            }
            let lo = self.parse_class_char()?;
            let mut hi = lo;
            if self.peek() == Some('-') && self.peek_at(1).is_some_and(|c| c != ']') {
                self.pos += 1;
                hi = self.parse_class_char()?;
                if hi < lo {
                    return Err(format!("invalid character class range: `{lo}-{hi}`"));
                }
            }
            set.add(lo as u32, hi as u32);
        }
        let set = set.normalized();
        Ok(if negated { set.complement() } else { set })
    }

    fn parse_class_char(&mut self) -> Result<char, RegexError> {
        match self.next() {
            None => Err("missing closing ]".to_string()),
            Some('\\') => self.parse_escape(),
            Some(c) => Ok(c),
        }
    }

    /// At `[:`: a POSIX class such as `[:alpha:]` or `[:^digit:]`. `None` when there is no
    /// closing `:]`, in which case Go reads the `[` as a plain character.
    fn parse_named_class(&mut self) -> Result<Option<CharSet>, RegexError> {
        let start = self.pos + 2;
        let Some(len) = (start..self.chars.len().saturating_sub(1))
            .position(|i| self.chars[i] == ':' && self.chars[i + 1] == ']')
        else {
            return Ok(None);
        };
        let name: String = self.chars[start..start + len].iter().collect();
        let (negated, bare) = match name.strip_prefix('^') {
            Some(bare) => (true, bare),
            None => (false, name.as_str()),
        };
        let Some(set) = posix_class(bare) else {
            return Err(format!("invalid character class range: `[:{name}:]`"));
        };
        self.pos = start + len + 2;
        Ok(Some(if negated { set.complement() } else { set }))
    }
}

fn is_word(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Regex {
    /// Parse `expr` with Go's syntax (the subset described in the module docs).
    pub fn new(expr: &str) -> Result<Regex, RegexError> {
        Parser {
            chars: expr.chars().collect(),
            pos: 0,
        }
        .parse()
    }

    /// Whether the expression matches `text` from its first character; the match may end
    /// anywhere, as with Go's `MatchString` on an expression that starts with `^` (Docker's
    /// always do, and end with `$`).
    pub fn is_match(&self, text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        let n = chars.len();
        // Bottom-up over the nodes, last first: `next[pos]` says whether the nodes after the
        // current one match from `pos`. No recursion, and (nodes × positions) steps whatever the
        // stars, so no path can blow the stack or the clock.
        let mut next = vec![true; n + 1];
        let mut row = vec![false; n + 1];
        for node in self.nodes.iter().rev() {
            let mut dirs_run = false;
            for pos in (0..=n).rev() {
                let here = chars.get(pos).copied();
                row[pos] = match (&node.atom, node.repeat) {
                    (Atom::AnyDirs, repeat) => {
                        // One occurrence: a run without `\n` that ends in `/`; `dirs_run` is
                        // that answer for `pos + 1`, carried down as `pos` falls.
                        dirs_run = here.is_some_and(|c| c != '\n')
                            && ((here == Some('/') && next[pos + 1]) || dirs_run);
                        match repeat {
                            Repeat::One => dirs_run,
                            Repeat::Optional | Repeat::Star => next[pos] || dirs_run,
                        }
                    }
                    (atom, repeat) => {
                        let one = match single_end(atom, pos, &chars) {
                            Some(end) => next[end],
                            None => false,
                        };
                        match repeat {
                            Repeat::One => one,
                            Repeat::Optional => next[pos] || one,
                            Repeat::Star => {
                                // A consuming occurrence, then this node again (already known
                                // for the later position); an assertion repeated adds nothing.
                                next[pos]
                                    || single_end(atom, pos, &chars)
                                        .is_some_and(|end| end > pos && row[end])
                            }
                        }
                    }
                };
            }
            std::mem::swap(&mut next, &mut row);
        }
        next[0]
    }
}

/// Where one occurrence of a one-character atom or an assertion starting at `pos` ends.
fn single_end(atom: &Atom, pos: usize, chars: &[char]) -> Option<usize> {
    let here = chars.get(pos).copied();
    let consumed = |ok: bool| ok.then_some(pos + 1);
    let asserted = |ok: bool| ok.then_some(pos);
    match atom {
        Atom::Char(c) => consumed(here == Some(*c)),
        Atom::Set(set) => consumed(here.is_some_and(|c| set.contains(c))),
        Atom::Dot => consumed(here.is_some_and(|c| c != '\n')),
        Atom::Start => asserted(pos == 0),
        Atom::End => asserted(pos == chars.len()),
        Atom::WordBoundary(want) => {
            let before = pos.checked_sub(1).and_then(|i| chars.get(i).copied());
            asserted((is_word(before) != is_word(here)) == *want)
        }
        Atom::AnyDirs => None,
    }
}

#[cfg(test)]
mod tests {
    use super::Regex;

    fn matches(expr: &str, text: &str) -> bool {
        Regex::new(expr)
            .unwrap_or_else(|e| panic!("{expr}: {e}"))
            .is_match(text)
    }

    #[test]
    fn docker_translations() {
        assert!(matches("^[^/]*\\.go$", "main.go"));
        assert!(!matches("^[^/]*\\.go$", "cmd/main.go"));
        assert!(matches("^(.*/)?[^/]*\\.go$", "cmd/x/main.go"));
        assert!(matches("^(.*/)?[^/]*\\.go$", "main.go"));
        assert!(matches("^docs/.*$", "docs/a/b"));
        assert!(matches("^temp[^/]$", "temp1"));
        assert!(!matches("^temp[^/]$", "temp/"));
        assert!(!matches("^temp[^/]$", "temp12"));
    }

    #[test]
    fn classes_follow_go() {
        assert!(matches("^[a-c]x$", "bx"));
        assert!(!matches("^[a-c]x$", "dx"));
        assert!(matches("^[^a-c]x$", "dx"));
        assert!(
            matches("^[^a-c]x$", "/x"),
            "a negated class matches the separator"
        );
        assert!(matches("^[[:digit:]]$", "7"));
        assert!(matches("^[[:^digit:]]$", "x"));
        assert!(matches("^[\\d]$", "7"));
        assert!(matches("^[a\\]]$", "]"));
        assert!(
            matches("^[[:foo]$", ":"),
            "`[` without a closing `:]` is a character"
        );
        // What Docker makes of the glob `[*]`: a class of `[`, `^`, `/`, repeated, then `]`.
        assert!(matches("^[[^/]*]$", "[]"));
        assert!(!matches("^[[^/]*]$", "*"));
    }

    #[test]
    fn escapes_follow_go() {
        assert!(matches("^\\*$", "*"));
        assert!(matches("^a\\ b$", "a b"));
        assert!(matches("^\\x41\\x{42}\\101$", "ABA"));
        assert!(matches("^\\d\\w$", "1_"));
        assert!(matches("^a\\b$", "a"));
        assert!(!matches("^\\Ba$", "a"));
        for bad in [
            "\\y", "\\é", "\\1", "\\8", "\\x4", "\\x{}", "\\pL", "\\Q", "\\", "[z-a]",
        ] {
            assert!(Regex::new(bad).is_err(), "{bad} should not compile");
        }
    }

    #[test]
    fn anchors_and_repeats() {
        // A `^` in the middle of Docker's expression can never match there.
        assert!(!matches("^a^b$", "ab"));
        assert!(matches("^^[^/]*$", "anything"));
        assert!(matches("^a*?b$", "aab"));
        assert!(Regex::new("a**").is_err());
        assert!(Regex::new("*a").is_err());
    }

    #[test]
    fn dot_and_any_dirs_stop_at_newline() {
        assert!(!matches("^.*$", "a\nb"));
        assert!(!matches("^(.*/)?b$", "a\n/b"));
        assert!(matches("^(.*/)?b$", "a/c/b"));
    }

    #[test]
    fn many_stars_stay_fast() {
        let expr = "^(.*/)?(.*/)?(.*/)?(.*/)?[^/]*[^/]*[^/]*x$";
        let text = "a/".repeat(200) + &"b".repeat(200);
        assert!(!matches(expr, &text));
    }
}
