//! One `.dockerignore` pattern, read and matched as moby's `patternmatcher` does: Go's
//! `filepath.Clean`, `filepath.Match` for the syntax check, then Docker's own translation into
//! an exact, prefix, suffix or regular-expression match.

use super::go_regexp;

/// Go's `filepath.Clean` on a `/`-separated path: drop empty and `.` elements, fold `..` into
/// its parent where there is one (a rooted path has none above `/`), `.` for nothing.
pub fn go_clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// Whether Go's `filepath.Match` accepts `pattern` (on a `/`-separated system). `Match` checks
/// the whole pattern even once the name has failed to match, so this is its error state alone:
/// a `\` at the end, and character classes that are empty, unterminated, or have a range with
/// a missing end. Everything else, `*` and `?` included, is well-formed.
pub fn go_match_syntax_ok(pattern: &str) -> bool {
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.next().is_none() => return false,
            '[' => {
                if chars.peek() == Some(&'^') {
                    chars.next();
                }
                let mut ranges = 0;
                loop {
                    if chars.peek() == Some(&']') && ranges > 0 {
                        chars.next();
                        break;
                    }
                    // getEsc for the low end, then for the high end after a `-`.
                    if !class_char(&mut chars) {
                        return false;
                    }
                    if chars.peek() == Some(&'-') {
                        chars.next();
                        if !class_char(&mut chars) {
                            return false;
                        }
                    }
                    ranges += 1;
                }
            }
            _ => {}
        }
    }
    true
}

/// Go's `getEsc`: one class character, escaped or not, that must not be `-` or `]` and must be
/// followed by more pattern.
fn class_char(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> bool {
    match chars.next() {
        None | Some('-' | ']') => return false,
        Some('\\') => {
            if chars.next().is_none() {
                return false;
            }
        }
        Some(_) => {}
    }
    chars.peek().is_some()
}

/// How a compiled pattern matches, as `patternmatcher` decides from the pattern's shape.
#[derive(Clone, Debug)]
enum Matcher {
    /// No wildcard: the path equals the pattern.
    Exact(String),
    /// A plain pattern ending in `**`: the path starts with what comes before the `**`.
    Prefix(String),
    /// `**` then plain text: the path ends with the text (or, for `**/x`, is `x`).
    Suffix(String),
    Regex(regex::Regex),
}

/// A pattern after cleaning, without its `!`.
#[derive(Clone, Debug)]
pub struct Pattern {
    /// `!`: re-include what earlier lines excluded.
    pub exception: bool,
    /// The cleaned text without `!` (what Docker's `Pattern.String()` returns).
    pub text: String,
    matcher: Matcher,
}

impl Pattern {
    /// `patternmatcher.New` for one pattern as `ignorefile.ReadAll` hands it over: trimmed,
    /// cleaned, split from its `!`, checked with `filepath.Match`; and compiled at once, where
    /// Docker compiles on the first match and fails the build then.
    pub fn new(raw: &str) -> Result<Option<Pattern>, String> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        let cleaned = go_clean(trimmed);
        let (exception, text) = match cleaned.strip_prefix('!') {
            Some("") => return Err(r#"illegal exclusion pattern: "!""#.to_string()),
            Some(rest) => (true, rest.to_string()),
            None => (false, cleaned),
        };
        if !go_match_syntax_ok(&text) {
            return Err("syntax error in pattern".to_string());
        }
        let matcher = compile(&text).map_err(|e| format!("syntax error in pattern ({e})"))?;
        Ok(Some(Pattern {
            exception,
            text,
            matcher,
        }))
    }

    /// Whether this pattern matches `path` itself (not its parents).
    pub fn matches(&self, path: &str) -> bool {
        match &self.matcher {
            Matcher::Exact(text) => path == text,
            Matcher::Prefix(prefix) => path.starts_with(prefix.as_str()),
            Matcher::Suffix(suffix) => {
                path.ends_with(suffix.as_str())
                    || suffix.strip_prefix('/').is_some_and(|bare| path == bare)
            }
            Matcher::Regex(regex) => regex.is_match(path),
        }
    }

    /// Whether this pattern, or any parent directory of it, matches `path`.
    pub fn matches_or_parent(&self, path: &str) -> bool {
        self.matches(path)
            || path
                .match_indices('/')
                .any(|(slash, _)| self.matches(&path[..slash]))
    }
}

/// `Pattern.compile` from `patternmatcher`: build the Go regular expression character by
/// character, and keep the cheaper exact / prefix / suffix forms when the shape allows.
fn compile(pattern: &str) -> Result<Matcher, String> {
    #[derive(PartialEq)]
    enum Shape {
        Exact,
        Prefix,
        Suffix,
        Regex,
    }
    let mut chars: Vec<char> = pattern.chars().collect();
    // Go's text/scanner skips a byte-order mark at the start of its input.
    if chars.first() == Some(&'\u{feff}') {
        chars.remove(0);
    }
    let mut shape = Shape::Exact;
    let mut expr = String::from("^");
    let mut i = 0;
    let mut first = true;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' if chars.get(i) == Some(&'*') => {
                i += 1;
                // `**/` is read as `**`
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                if i == chars.len() {
                    if shape == Shape::Exact {
                        shape = Shape::Prefix;
                    } else {
                        expr.push_str(".*");
                        shape = Shape::Regex;
                    }
                } else {
                    // any number of directories, none included
                    expr.push_str("(.*/)?");
                    shape = Shape::Regex;
                }
                if first {
                    shape = Shape::Suffix;
                }
            }
            '*' => {
                expr.push_str("[^/]*");
                shape = Shape::Regex;
            }
            '?' => {
                expr.push_str("[^/]");
                shape = Shape::Regex;
            }
            '.' | '+' | '(' | ')' | '|' | '{' | '}' | '$' => {
                expr.push('\\');
                expr.push(c);
            }
            '\\' => match chars.get(i) {
                Some(&escaped) => {
                    i += 1;
                    expr.push('\\');
                    expr.push(escaped);
                    shape = Shape::Regex;
                }
                None => expr.push('\\'),
            },
            '[' | ']' => {
                expr.push(c);
                shape = Shape::Regex;
            }
            other => expr.push(other),
        }
        first = false;
    }
    Ok(match shape {
        Shape::Exact => Matcher::Exact(pattern.to_string()),
        Shape::Prefix => Matcher::Prefix(pattern.strip_suffix("**").unwrap_or(pattern).to_string()),
        Shape::Suffix => Matcher::Suffix(pattern.strip_prefix("**").unwrap_or(pattern).to_string()),
        Shape::Regex => {
            expr.push('$');
            Matcher::Regex(go_regexp::compile(&expr)?)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_like_go() {
        for (input, want) in [
            ("", "."),
            (".", "."),
            ("./foo", "foo"),
            ("foo/", "foo"),
            ("/foo", "/foo"),
            ("//foo//bar/", "/foo/bar"),
            ("a/./b/../c", "a/c"),
            ("../x", "../x"),
            ("a/../../x", "../x"),
            ("/../x", "/x"),
            ("/", "/"),
            ("!a/..", "."),
        ] {
            assert_eq!(go_clean(input), want, "{input:?}");
        }
    }

    #[test]
    fn match_syntax_like_go() {
        for good in [
            "*", "a?b", "[a-c]", "[^a]", "[\\]]", "\\*", "[*]", "a]", "[a-bc-d]",
        ] {
            assert!(go_match_syntax_ok(good), "{good}");
        }
        for bad in [
            "[", "[a", "[]", "[^]", "[a-]", "[-a]", "a\\", "[a-\\", "[\\", "[a-b-c]",
        ] {
            assert!(!go_match_syntax_ok(bad), "{bad}");
        }
    }

    fn pattern(text: &str) -> Pattern {
        Pattern::new(text)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .unwrap_or_else(|| panic!("{text}: empty"))
    }

    #[test]
    fn shapes_as_docker_compiles_them() {
        fn shape(text: &str) -> &'static str {
            match pattern(text).matcher {
                Matcher::Exact(_) => "exact",
                Matcher::Prefix(_) => "prefix",
                Matcher::Suffix(_) => "suffix",
                Matcher::Regex(_) => "regex",
            }
        }
        for (text, want) in [
            ("abc.def", "exact"),
            ("a(b)c/def", "exact"),
            ("a.|)$(}+{bc", "exact"),
            ("a^b", "exact"),
            ("dir/**", "prefix"),
            ("**", "suffix"),
            ("**file", "suffix"),
            ("**/foo/bar", "suffix"),
            // a wildcard after the leading `**` makes it a regular expression again
            ("**/*.go", "regex"),
            ("**/dir/**", "regex"),
            ("*", "regex"),
            ("a*/b", "regex"),
            ("abc?def", "regex"),
            ("a[b-d]e", "regex"),
            ("a]", "regex"),
            ("a\\b", "regex"),
            ("**/**", "regex"),
            ("a/*.txt**", "regex"),
        ] {
            assert_eq!(shape(text), want, "{text}");
        }
    }

    #[test]
    fn shapes_match_as_docker_decides() {
        // prefix: `foo**` reaches across `/`
        assert!(pattern("foo**").matches("foobar/baz"));
        assert!(pattern("docs/**").matches("docs/a/b"));
        assert!(!pattern("docs/**").matches("docs"));
        // suffix: `**foo` is a plain suffix, not `(.*/)?foo`
        assert!(pattern("**foo").matches("barfoo"));
        assert!(pattern("**/foo").matches("foo"));
        assert!(pattern("**/foo").matches("a/b/foo"));
        assert!(!pattern("**/foo").matches("a/bfoo"));
        assert!(pattern("**").matches("anything/at/all"));
        // exact, with regex punctuation taken literally
        assert!(pattern("a.b+c").matches("a.b+c"));
        assert!(!pattern("a.b+c").matches("aXb+c"));
        // `^` outside a class stays an anchor in the regular expression
        assert!(!pattern("a^b*").matches("a^bc"));
        assert!(pattern("a^b").matches("a^b"), "no wildcard: an exact match");
    }
}
