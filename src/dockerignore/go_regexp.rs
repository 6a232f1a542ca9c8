//! The Go regular expressions Docker's pattern matcher builds, compiled with the `regex` crate so
//! that they mean what Go's `regexp.Compile` makes of them.
//!
//! moby's `patternmatcher` turns a glob into Go syntax: `^`, then `*` → `[^/]*`, `?` → `[^/]`,
//! `**` → `(.*/)?` (or `.*` at the end), `.+()|{}$` escaped with `\`, a `\` and the character
//! after it passed through as they are, `[`, `]`, `^` and everything else as they are, then `$`.
//! So a pattern means what that expression means, quirks included: `[*]` becomes `[[^/]*]`, a
//! class of `[`, `^` and `/`, repeated, then a literal `]`; `\d` is a digit; a `^` is an anchor.
//!
//! Both Go and the `regex` crate implement RE2's syntax, but not the same dialect of it, so the
//! Go expression is not handed over as it is. [`translate`] reads it with the rules of Go's
//! parser (`regexp/syntax`, Perl flags) and writes the same expression in the crate's syntax,
//! every literal escaped; it refuses what Go refuses, with Go's reason. Where the two differ:
//! - **Classes.** Inside `[…]` the crate reads `[` as a nested class and `&&`, `--`, `~~` as
//!   set operations; Go reads all of them as characters. Go's `[[^/]*]` is one class in Go and
//!   a nested class in the crate. A POSIX name is found as Go finds it (the first `:]` after
//!   `[:`, even past the class's end), and an unknown one is an error in both.
//! - **Perl classes and `\b`.** Go's `\d`, `\s`, `\w` and `\b` are ASCII (`\s` is
//!   `[\t\n\f\r ]`, without `\v`); the crate's are Unicode. They are written out as ASCII
//!   classes, and `\b`, `\B` as `(?-u:\b)`, `(?-u:\B)`.
//! - **Escapes Go does not have.** The crate knows `\<`, `\>` (word starts and ends), `\u…`,
//!   `\U…`, and with its `octal` option a lone `\1`; Go reads `\<` and `\>` as the characters,
//!   and refuses `\u`, `\U`, and `\1`–`\7` not followed by an octal digit (backreferences).
//!   Octal, hexadecimal and C escapes are decoded here and written as the character itself.
//! - **`\Q…\E`.** Go quotes everything up to `\E` or the end of the expression (Docker's final
//!   `$` included, so `\Qa*` matches the file `a[^/]*$`); the crate has no `\Q`.
//! - **Unicode classes.** Go knows `\p` and `\P` with one letter only as `C L M N P S Z` (the
//!   braces of `\p{Greek}` are escaped by Docker's translation); the crate also takes `\pl` as
//!   `\pL`. Go's `C` has no unassigned code points and the crate's does, so `\pC` becomes
//!   `[\p{Cc}\p{Cf}\p{Co}]` (surrogates cannot appear in either's text).
//!
//! What differs and cannot be written away:
//! - **The Unicode version** of `\pL` and the like: Go's tables are those of the Go release that
//!   built the Docker CLI or BuildKit (Unicode 13 for Go 1.19, 15 for Go 1.21), the crate's its
//!   own. They disagree only on characters assigned between those versions, in a pattern that
//!   uses `\p`; Docker releases disagree among themselves on the same characters.
//! - **Size.** Go refuses an expression above about 3 million instructions or 33 million class
//!   bounds; the crate gets [`SIZE_LIMIT`] bytes for its automaton. Within a line Docker reads
//!   (64 KiB) Go accepts everything, and so does the crate except for thousands of Unicode
//!   classes (`\pL`, or `\W`, `[^a]` written thousands of times). Docker accepts those; here
//!   they are refused with a clear error, after seconds of trying.
//! - **Text that is not UTF-8.** Go matches bytes and reads each invalid byte as U+FFFD; this
//!   crate's callers hand over `&str` made with `from_utf8_lossy`, which replaces a run of
//!   invalid bytes with one U+FFFD. This is a difference of the callers, not of the engines, and
//!   concerns only file names that are not UTF-8 matched by `?` or `[^…]`.
//!
//! Constructs Docker's translation cannot produce are refused rather than translated: groups
//! other than `(` … `)` as it writes them (`(?i)`, named groups), and the `{` of `{n,m}`,
//! `\x{…}` and `\p{…}`, which it always escapes. Everything else — `*`, `+`, `?` and their lazy
//! forms, `(`, `)`, `|`, `^`, `$`, `.`, `\A`, `\z` — means the same in both and is passed on
//! after Go's checks (`**` is an error in Go and not in the crate).

use std::fmt::Write as _;

/// The most the crate may allocate for one expression's automaton. The crate's default (10 MiB)
/// refuses a line of a few thousand `?`, which Go and so Docker accept.
pub const SIZE_LIMIT: usize = 256 << 20;

/// Compile a Go expression (as `regexp.Compile` reads it) with the `regex` crate.
pub fn compile(go: &str) -> Result<regex::Regex, String> {
    compile_within(go, SIZE_LIMIT)
}

fn compile_within(go: &str, size_limit: usize) -> Result<regex::Regex, String> {
    let translated = translate(go)?;
    regex::RegexBuilder::new(&translated)
        .size_limit(size_limit)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) => format!(
                "the regular expression is too large for layerwise (over {} MiB compiled)",
                limit >> 20
            ),
            other => format!("the regular expression does not compile: {other}"),
        })
}

/// Go's expression in the `regex` crate's syntax (see the module docs), or Go's reason for
/// refusing it.
pub fn translate(go: &str) -> Result<String, String> {
    let mut out = String::with_capacity(go.len() * 2);
    let mut t = go;
    // What Go's parser checks a repetition operator against: whether the previous token was one
    // (`a**` is an error), and whether there is anything before it to repeat.
    let mut after_repeat = false;
    let mut operand = false;
    let mut depth = 0usize;
    while let Some(c) = t.chars().next() {
        let mut repeat = false;
        match c {
            '*' | '+' | '?' => {
                let lazy = t[1..].starts_with('?');
                let op = if lazy { &t[..2] } else { &t[..1] };
                if after_repeat {
                    return Err(format!("invalid nested repetition operator: `{op}`"));
                }
                if !operand {
                    return Err(format!("missing argument to repetition operator: `{op}`"));
                }
                out.push_str(op);
                t = &t[op.len()..];
                repeat = true;
            }
            '(' => {
                if t[1..].starts_with('?') {
                    return Err(unreachable("a group with flags or a name"));
                }
                out.push_str("(?:");
                depth += 1;
                operand = false;
                t = &t[1..];
            }
            ')' => {
                if depth == 0 {
                    return Err(format!("unexpected ): `{go}`"));
                }
                depth -= 1;
                out.push(')');
                operand = true;
                t = &t[1..];
            }
            '|' => {
                out.push('|');
                operand = false;
                t = &t[1..];
            }
            '{' => return Err(unreachable("`{`")),
            '^' | '$' | '.' => {
                out.push(c);
                operand = true;
                t = &t[1..];
            }
            '[' => {
                t = class(t, &mut out)?;
                operand = true;
            }
            '\\' => {
                let (rest, pushed) = escape(t, &mut out)?;
                t = rest;
                operand |= pushed;
            }
            _ => {
                push_literal(&mut out, c);
                operand = true;
                t = &t[c.len_utf8()..];
            }
        }
        after_repeat = repeat;
    }
    if depth > 0 {
        return Err(format!("missing closing ): `{go}`"));
    }
    Ok(out)
}

fn unreachable(what: &str) -> String {
    format!("{what} cannot come from a .dockerignore pattern")
}

/// A `\` sequence outside a class, at the start of `t`: what remains after it, and whether it
/// wrote anything a repetition can apply to (`\Q\E` writes nothing).
fn escape<'a>(t: &'a str, out: &mut String) -> Result<(&'a str, bool), String> {
    let after = &t[1..];
    match after.chars().next() {
        Some('A') => out.push_str(r"\A"),
        Some('z') => out.push_str(r"\z"),
        Some('b') => out.push_str(r"(?-u:\b)"),
        Some('B') => out.push_str(r"(?-u:\B)"),
        Some('C') => return Err(r"invalid escape sequence: `\C`".to_string()),
        Some('Q') => {
            let (quoted, rest) = after[1..].split_once(r"\E").unwrap_or((&after[1..], ""));
            quoted.chars().for_each(|c| push_literal(out, c));
            return Ok((rest, !quoted.is_empty()));
        }
        Some('p' | 'P') => return unicode_class(t, out, false).map(|rest| (rest, true)),
        Some(letter) if perl_class(letter).is_some() => {
            out.push_str(perl_class(letter).unwrap_or_default());
            return Ok((&after[1..], true));
        }
        _ => {
            let (c, rest) = escaped_char(t)?;
            push_literal(out, c);
            return Ok((rest, true));
        }
    }
    Ok((&after[1..], true))
}

/// Go's `parseEscape`: the character a `\` sequence at the start of `t` stands for.
fn escaped_char(t: &str) -> Result<(char, &str), String> {
    let after = &t[1..];
    let Some(c) = after.chars().next() else {
        return Err("trailing backslash at end of expression".to_string());
    };
    let rest = &after[c.len_utf8()..];
    let invalid = || Err(format!("invalid escape sequence: `\\{c}`"));
    let octal = |s: &str| {
        s.as_bytes()
            .first()
            .is_some_and(|b| (b'0'..=b'7').contains(b))
    };
    match c {
        // A lone `\1`–`\7` would be a backreference, which Go does not support.
        '1'..='7' if !octal(rest) => invalid(),
        '0'..='7' => {
            let mut value = c as u32 - '0' as u32;
            let mut rest = rest;
            for _ in 0..2 {
                if !octal(rest) {
                    break;
                }
                value = value * 8 + u32::from(rest.as_bytes()[0] - b'0');
                rest = &rest[1..];
            }
            // At most 0o777: always a character.
            Ok((
                char::from_u32(value).unwrap_or(char::REPLACEMENT_CHARACTER),
                rest,
            ))
        }
        'x' => {
            let mut digits = rest.chars();
            match (
                digits.next().and_then(|d| d.to_digit(16)),
                digits.next().and_then(|d| d.to_digit(16)),
            ) {
                // Two hex digits: below 0x100, always a character.
                (Some(high), Some(low)) => Ok((
                    char::from_u32(high * 16 + low).unwrap_or(char::REPLACEMENT_CHARACTER),
                    &rest[2..],
                )),
                _ => Err(format!(
                    "invalid escape sequence: `\\x{}`",
                    rest.chars().take(2).collect::<String>()
                )),
            }
        }
        'a' => Ok(('\x07', rest)),
        'f' => Ok(('\x0c', rest)),
        'n' => Ok(('\n', rest)),
        'r' => Ok(('\r', rest)),
        't' => Ok(('\t', rest)),
        'v' => Ok(('\x0b', rest)),
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok((c, rest)),
        _ => invalid(),
    }
}

/// Go's Perl classes, ASCII only, as classes of the crate (which nest inside a class too).
fn perl_class(letter: char) -> Option<&'static str> {
    Some(match letter {
        'd' => r"[0-9]",
        'D' => r"[^0-9]",
        's' => r"[\t\n\x0C\r ]",
        'S' => r"[^\t\n\x0C\r ]",
        'w' => r"[0-9A-Za-z_]",
        'W' => r"[^0-9A-Za-z_]",
        _ => return None,
    })
}

/// `\p` or `\P` and one letter, at the start of `t` (Go's `parseUnicodeClass` for the names
/// Docker's translation can leave it: braces are always escaped).
fn unicode_class<'a>(t: &'a str, out: &mut String, in_class: bool) -> Result<&'a str, String> {
    let negated = t[1..].starts_with('P');
    let name = t[2..].chars().next();
    let rest = &t[2 + name.map_or(0, char::len_utf8)..];
    let sequence = &t[..t.len() - rest.len()];
    match name {
        Some('C') => {
            // Go's `C` lists its members; the crate's also has every unassigned code point.
            let class = r"\p{Cc}\p{Cf}\p{Co}";
            let open = match (negated, in_class) {
                (false, true) => "",
                (false, false) => "[",
                (true, _) => "[^",
            };
            let close = if open.is_empty() { "" } else { "]" };
            let _ = write!(out, "{open}{class}{close}");
        }
        Some('L' | 'M' | 'N' | 'P' | 'S' | 'Z') => out.push_str(sequence),
        Some('{') => return Err(unreachable("`\\p{`")),
        _ => return Err(format!("invalid character class range: `{sequence}`")),
    }
    Ok(rest)
}

const POSIX_CLASSES: &[&str] = &[
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
    "space", "upper", "word", "xdigit",
];

/// A class at the start of `t` (Go's `parseClass`), written as a class of the crate; what
/// follows it.
fn class<'a>(t: &'a str, out: &mut String) -> Result<&'a str, String> {
    let whole = t;
    let missing = || format!("missing closing ]: `{whole}`");
    let mut t = &t[1..];
    out.push('[');
    if let Some(rest) = t.strip_prefix('^') {
        out.push('^');
        t = rest;
    }
    let mut first = true;
    loop {
        if t.is_empty() {
            return Err(missing());
        }
        if !first && let Some(rest) = t.strip_prefix(']') {
            out.push(']');
            return Ok(rest);
        }
        first = false;
        // A POSIX class ends at the first `:]`, wherever that is.
        if t.len() > 2
            && t.starts_with("[:")
            && let Some(end) = t[2..].find(":]")
        {
            let name = &t[2..2 + end];
            if !POSIX_CLASSES.contains(&name.strip_prefix('^').unwrap_or(name)) {
                return Err(format!("invalid character class range: `[:{name}:]`"));
            }
            let _ = write!(out, "[:{name}:]");
            t = &t[end + 4..];
            continue;
        }
        if t.starts_with(r"\p") || t.starts_with(r"\P") {
            t = unicode_class(t, out, true)?;
            continue;
        }
        if let Some(perl) = t
            .strip_prefix('\\')
            .and_then(|r| r.chars().next().and_then(perl_class))
        {
            out.push_str(perl);
            t = &t[2..];
            continue;
        }
        let start = t;
        let lo;
        (lo, t) = class_char(t).map_err(|e| e.unwrap_or_else(missing))?;
        let mut hi = lo;
        if t.len() >= 2 && t.starts_with('-') && !t[1..].starts_with(']') {
            (hi, t) = class_char(&t[1..]).map_err(|e| e.unwrap_or_else(missing))?;
            if hi < lo {
                let range = &start[..start.len() - t.len()];
                return Err(format!("invalid character class range: `{range}`"));
            }
        }
        push_literal(out, lo);
        if hi != lo {
            out.push('-');
            push_literal(out, hi);
        }
    }
}

/// Go's `parseClassChar`: one character of a class, escaped or not. `Err(None)` at the end of
/// the expression (an unclosed class).
fn class_char(t: &str) -> Result<(char, &str), Option<String>> {
    match t.chars().next() {
        None => Err(None),
        Some('\\') => escaped_char(t).map_err(Some),
        Some(c) => Ok((c, &t[c.len_utf8()..])),
    }
}

/// A character that means itself, escaped where the crate would read it otherwise.
fn push_literal(out: &mut String, c: char) {
    let mut buf = [0; 4];
    out.push_str(&regex::escape(c.encode_utf8(&mut buf)));
}

#[cfg(test)]
mod tests {
    use super::{compile, compile_within, translate};

    fn matches(go: &str, text: &str) -> bool {
        compile(go)
            .unwrap_or_else(|e| panic!("{go}: {e}"))
            .is_match(text)
    }

    fn refused(go: &str) -> String {
        match compile(go) {
            Ok(re) => panic!("{go} compiled as {re:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn docker_translations() {
        assert!(matches(r"^[^/]*\.go$", "main.go"));
        assert!(!matches(r"^[^/]*\.go$", "cmd/main.go"));
        assert!(matches(r"^(.*/)?[^/]*\.go$", "cmd/x/main.go"));
        assert!(matches(r"^(.*/)?[^/]*\.go$", "main.go"));
        assert!(matches(r"^docs/.*$", "docs/a/b"));
        assert!(matches(r"^temp[^/]$", "temp1"));
        assert!(
            matches(r"^temp[^/]$", "tempé"),
            "one character, not one byte"
        );
        assert!(!matches(r"^temp[^/]$", "temp/"));
        assert!(!matches(r"^temp[^/]$", "temp12"));
        assert!(matches(r"^\(x\)\+\$$", "(x)+$"));
    }

    #[test]
    fn classes_are_read_as_go_reads_them() {
        assert!(matches(r"^[a-c]x$", "bx"));
        assert!(!matches(r"^[a-c]x$", "dx"));
        assert!(matches(r"^[^a-c]x$", "/x"), "a negated class matches `/`");
        assert!(matches(r"^[^a]$", "\n"), "and a newline (Go's ClassNL)");
        assert!(matches(r"^[[:digit:]]$", "7"));
        assert!(matches(r"^[[:^digit:]]$", "x"));
        assert!(matches(r"^[a\]]$", "]"));
        assert!(matches(r"^[]a]$", "]"), "`]` first is a character");
        assert!(matches(r"^[a-]$", "-"));
        // `[` is a character in Go, a nested class in the crate: `[*]` as Docker writes it.
        assert!(matches(r"^[[^/]*]$", "[^/]"));
        assert!(matches(r"^[[^/]*]$", "]"));
        assert!(!matches(r"^[[^/]*]$", "*"));
        assert!(!matches(r"^[[^/]*]$", "a"));
        // and so are the crate's set operations
        assert!(matches(r"^[a&&b]$", "&"));
        assert!(matches(r"^[a~~b]$", "~"));
        assert!(matches(r"^[!--]$", ","));
        // a POSIX name ends at the first `:]`, even past the class
        assert!(refused(r"^[[:a]b:]$").contains("[:a]b:]"));
        assert!(
            matches(r"^[[:x]$", ":"),
            "no `:]` at all: `[` and `:` are characters"
        );
        assert!(refused(r"^[[:foo:]]$").contains("[:foo:]"));
        assert!(refused("^[z-a]$").contains("z-a"));
        assert!(refused("^[a").contains("missing closing ]"));
        assert!(refused(r"^[a\").contains("trailing backslash"));
    }

    #[test]
    fn perl_classes_and_word_boundaries_are_ascii() {
        assert!(matches(r"^\d\w$", "1_"));
        assert!(
            !matches(r"^\d$", "٣"),
            "Arabic-Indic three is not Go's `\\d`"
        );
        assert!(!matches(r"^\w$", "é"));
        assert!(matches(r"^\W$", "é"));
        assert!(matches(r"^[\d]$", "7"));
        assert!(!matches(r"^[\d]$", "٣"));
        assert!(matches(r"^[^\D]$", "7"));
        assert!(!matches(r"^\s$", "\x0b"), "Go's `\\s` has no vertical tab");
        assert!(matches(r"^\s$", "\x0c"));
        assert!(matches(r"^[[:space:]]$", "\x0b"), "but `[:space:]` does");
        assert!(
            matches(r"^\S$", "\u{a0}"),
            "no-break space is not Go's `\\s`"
        );
        assert!(matches(r"^a\b$", "a"));
        assert!(
            matches(r"^a\bé$", "aé"),
            "`é` is not a word character to Go"
        );
        assert!(!matches(r"^\Ba$", "a"));
    }

    #[test]
    fn unicode_classes_take_go_names() {
        assert!(matches(r"^\pL+$", "héllo"));
        assert!(matches(r"^\PL$", "1"));
        assert!(matches(r"^[\pN]$", "٣"));
        assert!(matches(r"^\pC$", "\u{ad}"), "soft hyphen: format (Cf)");
        assert!(!matches(r"^\pC$", "\u{378}"), "unassigned: not in Go's C");
        assert!(matches(r"^\PC$", "\u{378}"));
        assert!(matches(r"^[^\pC]$", "\u{378}"));
        assert!(matches(r"^[\PC]$", "a"));
        for bad in [r"\pl", r"\pc", r"\pX", r"\p\{L\}", r"\pé", r"[\pz]"] {
            assert!(
                refused(bad).contains("invalid character class range"),
                "{bad}"
            );
        }
    }

    #[test]
    fn escapes_are_go_escapes() {
        assert!(matches(r"^\*$", "*"));
        assert!(matches(r"^a\ b$", "a b"));
        assert!(
            matches(r"^\<\>$", "<>"),
            "characters to Go, word edges to the crate"
        );
        assert!(matches(r"^\x41\101\0$", "AA\0"));
        assert!(matches(r"^\12$", "\n"), "two octal digits");
        assert!(matches(r"^\1234$", "S4"), "three at most");
        assert!(matches(r"^\_\#\&\~$", "_#&~"));
        assert!(matches(r"^\a\f\t\v$", "\x07\x0c\t\x0b"));
        assert!(matches(r"^\Aa\z$", "a"));
        assert!(matches(r"^[\x41-\x43]$", "B"));
        for bad in [
            r"\y",
            r"\é",
            r"\1",
            r"\7x",
            r"\8",
            r"\x4",
            r"\xg0",
            r"\u0041",
            r"\U00000041",
            r"\e",
            r"\Z",
            r"\E",
            r"\C",
            r"\K",
            r"[\b]",
            r"[\A]",
            r"[\Q]",
            "\\",
        ] {
            assert!(compile(bad).is_err(), "{bad} should not compile");
        }
    }

    #[test]
    fn quoting_runs_to_the_end() {
        // Docker's `\Q*.go` pattern: everything after `\Q`, its own `$` included, is literal.
        assert!(matches(r"^\Q[^/]*\.go$", r"[^/]*\.go$"));
        assert!(!matches(r"^\Q[^/]*\.go$", "a.go"));
        assert!(matches(r"^\Qa.\Eb*$", "a.bbb"));
        assert!(matches(r"^\Q\E$", ""));
        // `\Q\E` quotes nothing: a star after it repeats what came before, as in Go.
        assert_eq!(translate(r"^a\Q\E*").as_deref(), Ok("^a*"));
        assert!(
            translate(r"\Q\E*")
                .unwrap_err()
                .contains("missing argument")
        );
    }

    #[test]
    fn repetition_follows_go() {
        assert!(matches("^a*?b$", "aab"));
        assert!(matches("^^a$", "a"));
        assert!(
            !matches("^a^b$", "ab"),
            "a `^` in the middle never matches there"
        );
        assert!(refused("^a**").contains("nested repetition"));
        assert!(refused("^a*??").contains("nested repetition"));
        assert!(refused("*a").contains("missing argument"));
        assert!(refused("(*)").contains("missing argument"));
        assert!(refused("(?i)a").contains("cannot come from"));
        assert!(refused("a{2}").contains("cannot come from"));
    }

    #[test]
    fn dot_stops_at_newline() {
        assert!(!matches("^.*$", "a\nb"));
        assert!(!matches("^(.*/)?b$", "a\n/b"));
        assert!(matches("^(.*/)?b$", "a/c/b"));
    }

    #[test]
    fn long_expressions() {
        // A 64 KiB line of `?` (what Docker reads at most) compiles, as it does in Go.
        let expr = format!("^{}$", "[^/]".repeat(65_535));
        assert!(compile(&expr).is_ok());
        // Thousands of Unicode classes do not, with a reason (21,000 take seconds to refuse at
        // the real limit: the same path, at a smaller one).
        let expr = format!("^{}$", r"\pL".repeat(200));
        let refusal = compile_within(&expr, 1 << 20).expect_err("over 1 MiB");
        assert!(
            refusal.contains("too large for layerwise (over 1 MiB"),
            "{refusal}"
        );
        let expr = "^(.*/)?(.*/)?(.*/)?(.*/)?[^/]*[^/]*[^/]*x$";
        let text = "a/".repeat(200) + &"b".repeat(200);
        assert!(!matches(expr, &text));
    }
}
