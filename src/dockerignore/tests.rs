use std::path::{Path, PathBuf};

use super::{Builder, DockerIgnore, DockerIgnoreError};

fn ignore(text: &str) -> DockerIgnore {
    DockerIgnore::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

/// Paths of `paths` that `text` excludes, for both senders; they must agree.
fn excluded<'a>(text: &str, paths: &[&'a str]) -> Vec<&'a str> {
    let buildkit = ignore(text);
    let classic = ignore(text).with_builder(Builder::Classic);
    let chosen: Vec<&str> = paths
        .iter()
        .copied()
        .filter(|p| buildkit.is_excluded(p))
        .collect();
    let by_classic: Vec<&str> = paths
        .iter()
        .copied()
        .filter(|p| classic.is_excluded(p))
        .collect();
    assert_eq!(chosen, by_classic, "the senders disagree on {text:?}");
    chosen
}

fn error_line(text: &str) -> usize {
    match DockerIgnore::parse(text) {
        Err(DockerIgnoreError::Pattern { line, .. } | DockerIgnoreError::LineTooLong { line }) => {
            line
        }
        Err(other) => panic!("{text:?}: unexpected {other}"),
        Ok(_) => panic!("{text:?} should be refused"),
    }
}

#[test]
fn double_star_spans_any_number_of_directories() {
    let paths = [
        "main.go",
        "cmd/app/main.go",
        "cmd/app/main.gox",
        "go",
        "cmd/.go",
    ];
    assert_eq!(
        excluded("**/*.go", &paths),
        ["main.go", "cmd/app/main.go", "cmd/.go"]
    );
    // `docs/**` is everything below docs, not docs itself
    let paths = ["docs", "docs/a.md", "docs/sub/b.md", "docsy/a.md"];
    assert_eq!(excluded("docs/**", &paths), ["docs/a.md", "docs/sub/b.md"]);
    // in the middle: zero or more directories
    let paths = ["a/b", "a/x/b", "a/x/y/b", "ab", "a/bc"];
    assert_eq!(excluded("a/**/b", &paths), ["a/b", "a/x/b", "a/x/y/b"]);
    // Docker's shortcuts: `x**` is a plain prefix and `**x` a plain suffix, across `/`
    assert_eq!(excluded("foo**", &["foobar/baz", "fo"]), ["foobar/baz"]);
    assert_eq!(
        excluded("**log", &["app.log", "x/catalog", "logs"]),
        ["app.log", "x/catalog"]
    );
}

#[test]
fn single_star_and_question_mark_stay_within_a_name() {
    let paths = ["a/temp", "a/temporary", "temp", "a/b/temp", "a/temp/deep"];
    assert_eq!(
        excluded("*/temp*", &paths),
        ["a/temp", "a/temporary", "a/temp/deep"]
    );
    let paths = ["temp1", "tempx", "temp", "temp12", "temp/"];
    assert_eq!(excluded("temp?", &paths), ["temp1", "tempx"]);
    assert_eq!(excluded("a?b", &["a/b", "axb"]), ["axb"]);
    assert_eq!(
        excluded("*", &["a", "a/b", ".hidden"]),
        ["a", "a/b", ".hidden"]
    );
}

#[test]
fn character_classes() {
    let paths = ["ax", "bx", "cx", "dx", "Ax", "x"];
    assert_eq!(excluded("[a-c]x", &paths), ["ax", "bx", "cx"]);
    assert_eq!(excluded("[^a-c]x", &paths), ["dx", "Ax"]);
    assert_eq!(
        excluded("[ab]*", &["alpha", "beta", "gamma"]),
        ["alpha", "beta"]
    );
    // a negated class is the one wildcard that matches `/`
    assert_eq!(excluded("a[^x]b", &["a/b", "axb", "ayb"]), ["a/b", "ayb"]);
    assert_eq!(excluded("[\\]]", &["]", "\\"]), ["]"]);
}

#[test]
fn escapes() {
    let paths = ["*star", "xstar", "star"];
    assert_eq!(excluded("\\*star", &paths), ["*star"]);
    assert_eq!(excluded("what\\?", &["what?", "whatx"]), ["what?"]);
    assert_eq!(excluded("\\[x]", &["[x]", "x"]), ["[x]"]);
    // regex punctuation is literal
    assert_eq!(excluded("a.b", &["a.b", "axb"]), ["a.b"]);
    assert_eq!(excluded("(x)+$", &["(x)+$", "xx"]), ["(x)+$"]);
}

#[test]
fn globs_mean_the_go_expression_docker_makes_of_them() {
    // `[`, `]` and `\` reach Go's `regexp` as they are, so a glob can spell Go's own syntax.
    let paths = ["a", "Z", "1", ":", "[", "[]", "é"];
    assert_eq!(excluded("[[:alpha:]]", &paths), ["a", "Z"], "a POSIX class");
    assert_eq!(excluded("[[:^alpha:]]", &paths), ["1", ":", "[", "é"]);
    // `?` inside a class: `[[^/]]` is a class of `[`, `^`, `/`, then a `]`
    let paths = ["[]", "^]", "?", "a", "]"];
    assert_eq!(excluded("[?]", &paths), ["[]", "^]"]);
    // and `[*]` repeats that class: any run of them, then a `]`
    let paths = ["]", "[]", "^[^]", "*", "a]"];
    assert_eq!(excluded("[*]", &paths), ["]", "[]", "^[^]"]);
    // `**` inside a class is its characters
    assert_eq!(
        excluded("x[**]", &["x(", "x.", "x?", "xa"]),
        ["x(", "x.", "x?"]
    );
    // the crate's set operators are characters to Go
    assert_eq!(excluded("[a&&b]", &["&", "a", "c"]), ["&", "a"]);
    assert_eq!(excluded("[a~~b]", &["~", "b", "c"]), ["~", "b"]);
    // Perl classes and word boundaries are ASCII, as in Go
    let paths = ["1.txt", "٣.txt", "d.txt", "_x", "é"];
    assert_eq!(excluded("\\d*", &paths), ["1.txt"]);
    assert_eq!(excluded("\\w?", &paths), ["_x"]);
    assert_eq!(excluded("\\W", &paths), ["é"]);
    assert_eq!(excluded("a\\bé*", &["aé", "ab"]), ["aé"]);
    // Unicode classes take Go's one-letter names
    assert_eq!(excluded("\\pL*", &["é.txt", "1.txt"]), ["é.txt"]);
    assert_eq!(excluded("\\PL*", &["é.txt", "1.txt"]), ["1.txt"]);
    // Go's escapes: octal, hex, C, and punctuation; `\<` and `\>` are characters
    assert_eq!(excluded("\\101*", &["A1", "a1", "101"]), ["A1"]);
    assert_eq!(excluded("\\x41?", &["Ab", "41b"]), ["Ab"]);
    assert_eq!(excluded("a\\tb*", &["a\tb", "atb"]), ["a\tb"]);
    assert_eq!(excluded("\\<x\\>*", &["<x>", "x"]), ["<x>"]);
    // `\Q` quotes everything after it up to `\E`, Docker's translation included: the `\.`
    // it writes for `.` and the `[^/]*\.go$` for `*.go`
    let paths = ["a.go", "[^/]*\\.go$"];
    assert_eq!(excluded("\\Q*.go", &paths), ["[^/]*\\.go$"]);
    let paths = ["a.", "a.go", "a\\.", "a\\.go"];
    assert_eq!(excluded("\\Qa.\\E*", &paths), ["a\\.", "a\\.go"]);
    // a `^` outside a class anchors: it never matches after the first character
    assert_eq!(excluded("a^*", &["a^", "a"]), Vec::<&str>::new());
}

#[test]
fn globs_that_make_a_bad_go_expression_are_errors() {
    // Each is valid for `filepath.Match` (checked first), and refused by `regexp.Compile`.
    for text in [
        "[Local-Only]",
        "[z-a]*",
        "[[:foo:]]",
        "[[:a]b:]]",
        "\\p{L}",
        "\\pl*",
        "\\1*",
        "\\8*",
        "\\x4*",
        "\\x{41}",
        "\\u0041",
        "\\e*",
        "\\E*",
        "\\C*",
        "\\y*",
        "\\é",
        "[\\b]",
    ] {
        assert_eq!(error_line(&format!("ok\n{text}")), 2, "{text}");
    }
    // and the same characters where Go takes them
    for text in [
        "[[:alpha:]]",
        "\\pN",
        "\\12",
        "\\x41",
        "\\t",
        "\\Q(",
        "[\\d]",
        "\\Q",
        "\\Q\\E",
    ] {
        ignore(text);
    }
}

#[test]
fn docker_shortcuts_and_the_expression_agree() {
    // Docker matches some shapes without a regular expression; each is checked here beside
    // its expression form, which the same pattern takes once a `?` or `[` comes in.
    let paths = ["file", "dir/file", "dir/dir/file", "dirfile", "file/x"];
    assert_eq!(excluded("**file", &paths), paths);
    assert_eq!(
        excluded("**fil?", &paths),
        ["file", "dir/file", "dir/dir/file", "file/x"]
    );
    let paths = ["dir", "dir/a", "dir/a/b", "dirx"];
    assert_eq!(excluded("dir/**", &paths), ["dir/a", "dir/a/b"]);
    assert_eq!(excluded("di[r]/**", &paths), ["dir/a", "dir/a/b"]);
    let paths = [
        "a/file.txt",
        "a/d/file.txt",
        "a/d/e/file.txt",
        "b/file.txt",
        "a.txt",
    ];
    // `a**/` is `a(.*/)?`: any directories, or none at all
    assert_eq!(
        excluded("a**/*.txt", &paths),
        ["a/file.txt", "a/d/file.txt", "a/d/e/file.txt", "a.txt"]
    );
    assert_eq!(excluded("a/*.txt**", &paths), ["a/file.txt"]);
    assert_eq!(excluded("**/**", &["x", "x/y"]), ["x", "x/y"]);
    assert_eq!(excluded("**/**/*.txt2", &paths), Vec::<&str>::new());
    // no wildcard at all: an exact match, every character literal
    let name = "dist/pkg-2.4.0rc3.dev36+g08acad9-py3-none-any.whl";
    assert_eq!(excluded(name, &[name, "dist/pkg-2x4"]), [name]);
    assert_eq!(excluded("dist/*.whl", &[name]), [name]);
    assert_eq!(
        excluded("a.|)$(}+{bc", &["a.|)$(}+{bc", "a"]),
        ["a.|)$(}+{bc"]
    );
    assert_eq!(excluded("a\\\\", &["a\\", "a"]), ["a\\"]);
    assert_eq!(excluded(".*", &[".foo", "foo"]), [".foo"]);
}

#[test]
fn a_matching_parent_excludes_everything_below() {
    let paths = ["a/b", "a/b/c", "a/b/c/d.txt", "a/bc", "a", "b"];
    assert_eq!(excluded("a/b", &paths), ["a/b", "a/b/c", "a/b/c/d.txt"]);
    assert_eq!(excluded("*/b", &paths), ["a/b", "a/b/c", "a/b/c/d.txt"]);
    assert_eq!(
        excluded("node_modules", &["node_modules/x/y.js"]),
        ["node_modules/x/y.js"]
    );
}

#[test]
fn exceptions_and_last_match_wins() {
    let paths = ["README.md", "CHANGES.md", "src/lib.rs"];
    assert_eq!(excluded("*.md\n!README.md", &paths), ["CHANGES.md"]);
    assert_eq!(
        excluded("!README.md\n*.md", &paths),
        ["README.md", "CHANGES.md"]
    );
    let paths = ["docs/a.md", "docs/keep.md", "docs/sub/keep.md", "src/x"];
    assert_eq!(
        excluded("docs\n!docs/keep.md", &paths),
        ["docs/a.md", "docs/sub/keep.md"]
    );
    // exclude everything, then bring back a tree
    let paths = ["Cargo.toml", "src/main.rs", "target/debug/x", "src"];
    assert_eq!(excluded("*\n!src\n!Cargo.toml", &paths), ["target/debug/x"]);
    // and exclude again inside it
    let paths = ["src/main.rs", "src/main_test.rs", "other"];
    assert_eq!(
        excluded("*\n!src\nsrc/*_test.rs", &paths),
        ["src/main_test.rs", "other"]
    );
    assert_eq!(excluded("! x.txt\n", &["x.txt"]), Vec::<&str>::new());
}

#[test]
fn patterns_are_cleaned() {
    let paths = ["foo", "foo/bar", "food", "bar/foo"];
    for text in [
        "foo",
        "/foo",
        "./foo",
        "foo/",
        "//foo//",
        "bar/../foo",
        "./foo/.",
    ] {
        assert_eq!(excluded(text, &paths), ["foo", "foo/bar"], "{text:?}");
    }
    // `!` is split off before cleaning
    assert_eq!(excluded("*\n!/foo/", &paths), ["food", "bar/foo"]);
    // a pattern above the context matches nothing
    assert_eq!(excluded("../foo", &paths), Vec::<&str>::new());
    assert_eq!(excluded("/", &paths), Vec::<&str>::new());
    // paths asked about are cleaned too
    let ignore = ignore("foo");
    assert!(ignore.is_excluded("./foo/x"));
    assert!(ignore.is_excluded("/foo"));
    assert!(!ignore.is_excluded("."));
    assert!(!ignore.is_excluded(""));
}

#[test]
fn comments_blank_lines_and_whitespace() {
    let text = "# a comment\n\n   \n  *.log  \r\n\t# indented: a pattern, not a comment\n";
    let paths = [
        "a.log",
        "# indented: a pattern, not a comment",
        "# a comment",
    ];
    assert_eq!(
        excluded(text, &paths),
        ["a.log", "# indented: a pattern, not a comment"]
    );
    assert_eq!(excluded("\u{feff}*.log", &["x.log"]), ["x.log"]);
    assert_eq!(excluded("\u{feff}#x\n*.log", &["x.log", "#x"]), ["x.log"]);
    assert!(ignore("# only\n\n").is_empty());
}

#[test]
fn errors_name_their_line() {
    assert_eq!(error_line("ok\n[abc"), 2);
    assert_eq!(error_line("a\nb\n!\n"), 3);
    assert_eq!(error_line("!   "), 1);
    assert_eq!(error_line("# c\n!/"), 2, "`!/` cleans to a bare `!`");
    assert_eq!(error_line("x\\"), 1);
    assert_eq!(error_line("[]"), 1);
    assert_eq!(error_line("a\n[a-]"), 2);
    // valid for filepath.Match but not for the regular expression Docker makes of it
    assert_eq!(error_line("[z-a]*"), 1);
    assert_eq!(error_line("x\\y*"), 1);
    let long = "a".repeat(70_000);
    assert_eq!(error_line(&format!("x\n{long}")), 2);
    let Err(DockerIgnoreError::Pattern {
        pattern, message, ..
    }) = DockerIgnore::parse(" [abc ")
    else {
        panic!("expected a pattern error");
    };
    assert_eq!(pattern, "[abc");
    assert_eq!(message, "syntax error in pattern");
    let message = DockerIgnore::parse("!")
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        ".dockerignore line 1: illegal exclusion pattern: \"!\": `!`"
    );
}

#[test]
fn walk_quirks_differ_between_senders() {
    // The classic CLI reads an excluded directory only for an exception whose text starts with
    // it; BuildKit reads all of them once an exception has a wildcard.
    let text = "docs\n!**/keep.md";
    let classic = ignore(text).with_builder(Builder::Classic);
    let buildkit = ignore(text);
    assert!(classic.is_excluded("docs/keep.md"));
    assert!(!buildkit.is_excluded("docs/keep.md"));
    assert!(!classic.may_reinclude_below("docs"));
    assert!(buildkit.may_reinclude_below("docs"));
    assert!(!classic.is_excluded("keep.md") && !buildkit.is_excluded("keep.md"));

    // Prefix exceptions: both descend exactly where the exception leads.
    let text = "docs\n!docs/sub/keep.md";
    for ignore in [ignore(text), ignore(text).with_builder(Builder::Classic)] {
        assert!(ignore.may_reinclude_below("docs"));
        assert!(ignore.may_reinclude_below("docs/sub"));
        assert!(!ignore.may_reinclude_below("docs/other"));
        assert!(!ignore.may_reinclude_below("other"));
        assert!(!ignore.is_excluded("docs/sub/keep.md"));
        assert!(ignore.is_excluded("docs/sub/x"));
    }
    // BuildKit strips a trailing `/**` or `/*` before deciding.
    let text = "build\n!build/out/*";
    assert!(ignore(text).may_reinclude_below("build/out"));
    assert!(!ignore(text).may_reinclude_below("build/tmp"));
    assert!(
        !ignore("a").may_reinclude_below("a"),
        "no exception, nothing to look for"
    );
}

#[test]
fn results_carried_from_the_parent_directory() {
    // Line 3 is skipped for `a` (already excluded), so the walk records it as not matching `a`
    // and never re-applies it to `a/x`: Docker sends `a/x`, though `a` is the last match.
    let text = "a\n!a/x\na";
    assert_eq!(excluded(text, &["a/x", "a/y", "a"]), ["a/y", "a"]);
}

#[test]
fn classic_daemon_hides_an_excluded_dockerfile_and_ignore_file() {
    let text = "Dockerfile\n.dockerignore\n*.log";
    let classic = ignore(text).with_builder(Builder::Classic);
    assert!(classic.is_excluded("Dockerfile"));
    assert!(classic.is_excluded(".dockerignore"));
    let kept = ignore("*.log").with_builder(Builder::Classic);
    assert!(!kept.is_excluded("Dockerfile"));
    let other = ignore("build.Dockerfile").with_builder(Builder::Classic);
    assert!(other.is_excluded("build.Dockerfile"));
    let other = other.with_dockerfile(Some("./build.Dockerfile"));
    assert!(other.is_excluded("build.Dockerfile"));
}

struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    fn new(files: &[&str]) -> Tree {
        let dir = tempfile::tempdir().expect("temp dir");
        for file in files {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, file.as_bytes()).expect("write");
        }
        Tree { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, file: &str, text: &str) {
        let path = self.path().join(file);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
}

fn listed(files: Vec<PathBuf>) -> Vec<String> {
    files
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect()
}

const TREE: &[&str] = &[
    "Dockerfile",
    "README.md",
    "docs/a.md",
    "docs/keep.md",
    "docs/sub/keep.md",
    "src/main.go",
    "src/util_test.go",
    "vendor/x/y.go",
];

#[test]
fn context_files_walk_like_docker() {
    let tree = Tree::new(TREE);
    let text = "docs\n!**/keep.md\n**/*_test.go\nvendor";
    tree.write(".dockerignore", text);
    let buildkit = ignore(text);
    assert_eq!(
        listed(buildkit.context_files(tree.path())),
        [
            ".dockerignore",
            "Dockerfile",
            "README.md",
            "docs/keep.md",
            "docs/sub/keep.md",
            "src/main.go"
        ]
    );
    let classic = ignore(text).with_builder(Builder::Classic);
    assert_eq!(
        listed(classic.context_files(tree.path())),
        [".dockerignore", "Dockerfile", "README.md", "src/main.go"]
    );
    for ignore in [buildkit, classic] {
        assert_consistent(&ignore, tree.path());
    }
}

#[test]
fn context_files_always_carry_the_dockerfile_and_ignore_file() {
    let tree = Tree::new(&["Dockerfile", "app/build.Dockerfile", "app/x", "y"]);
    let text = "Dockerfile\n.dockerignore\napp\n";
    tree.write(".dockerignore", text);
    let classic = ignore(text).with_builder(Builder::Classic);
    assert_eq!(
        listed(classic.context_files(tree.path())),
        [".dockerignore", "Dockerfile", "y"]
    );
    assert!(classic.is_excluded("Dockerfile"));
    // `-f app/build.Dockerfile`: the CLI's appended exception makes the walk enter `app`
    let classic = classic.with_dockerfile(Some("app/build.Dockerfile"));
    assert_eq!(
        listed(classic.context_files(tree.path())),
        [".dockerignore", "app/build.Dockerfile", "y"]
    );
    assert!(classic.is_excluded("app/build.Dockerfile"));
    assert!(
        classic.is_excluded("Dockerfile"),
        "no longer the Dockerfile, still excluded"
    );
    let buildkit = ignore(text).with_dockerfile(Some("app/build.Dockerfile"));
    assert_eq!(
        listed(buildkit.context_files(tree.path())),
        [".dockerignore", "app/build.Dockerfile", "y"]
    );
    for ignore in [classic, buildkit] {
        assert_consistent(&ignore, tree.path());
    }
}

/// Every file of the tree is either sent and visible, or not visible: `context_files` and
/// `is_excluded` tell one story.
fn assert_consistent(ignore: &DockerIgnore, root: &Path) {
    let sent = ignore.context_files(root);
    for entry in walkdir::WalkDir::new(root).min_depth(1) {
        let entry = entry.expect("walk");
        if entry.file_type().is_dir() {
            continue;
        }
        let relative = entry
            .path()
            .strip_prefix(root)
            .expect("inside")
            .to_path_buf();
        let name = relative.to_string_lossy().into_owned();
        if !ignore.is_excluded(&name) {
            assert!(sent.contains(&relative), "{name} visible but not sent");
        } else if sent.contains(&relative) {
            let special = name == ".dockerignore" || name.ends_with("Dockerfile");
            assert!(special, "{name} sent but excluded");
        }
    }
}

#[test]
fn find_prefers_the_dockerfile_specific_ignore_file() {
    let tree = Tree::new(&["Dockerfile"]);
    let root = tree.path();
    assert_eq!(DockerIgnore::find(root, None), None);
    tree.write(".dockerignore", "*.log\n");
    assert_eq!(
        DockerIgnore::find(root, None),
        Some(root.join(".dockerignore"))
    );
    tree.write("Dockerfile.dockerignore", "*.tmp\n");
    assert_eq!(
        DockerIgnore::find(root, None),
        Some(root.join("Dockerfile.dockerignore"))
    );
    assert_eq!(
        DockerIgnore::find_for(Builder::Classic, root, None),
        Some(root.join(".dockerignore"))
    );
    tree.write("build/app.Dockerfile", "FROM scratch\n");
    tree.write("build/app.Dockerfile.dockerignore", "secret\n");
    let dockerfile = root.join("build/app.Dockerfile");
    assert_eq!(
        DockerIgnore::find(root, Some(&dockerfile)),
        Some(root.join("build/app.Dockerfile.dockerignore"))
    );
    // a Dockerfile without its own ignore file falls back to the context's
    let other = root.join("build/other.Dockerfile");
    assert_eq!(
        DockerIgnore::find(root, Some(&other)),
        Some(root.join(".dockerignore"))
    );

    let (path, loaded) = DockerIgnore::load(root, Some(&dockerfile))
        .expect("readable")
        .expect("found");
    assert_eq!(path, root.join("build/app.Dockerfile.dockerignore"));
    assert!(loaded.is_excluded("secret"));
    assert!(!loaded.is_excluded("x.log"));
    assert_eq!(loaded.dockerfile.as_deref(), Some("build/app.Dockerfile"));
    assert_eq!(
        loaded.ignore_file.as_deref(),
        Some("build/app.Dockerfile.dockerignore")
    );
}

#[test]
fn load_reports_bad_lines_and_missing_files() {
    let tree = Tree::new(&[]);
    assert!(matches!(DockerIgnore::load(tree.path(), None), Ok(None)));
    tree.write(".dockerignore", "ok\n\n[bad\n");
    match DockerIgnore::load(tree.path(), None) {
        Err(DockerIgnoreError::Pattern {
            line: 3, pattern, ..
        }) => assert_eq!(pattern, "[bad"),
        other => panic!("unexpected {other:?}"),
    }
    // a directory named .dockerignore is not an ignore file
    let tree = Tree::new(&[".dockerignore/x"]);
    assert!(matches!(DockerIgnore::load(tree.path(), None), Ok(None)));
}

/// A small deterministic generator (xorshift), so the test needs no crate and always runs the
/// same cases.
struct Random(u64);

impl Random {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    fn text(&mut self, alphabet: &[&str], max_len: usize) -> String {
        let len = self.below(max_len + 1);
        (0..len)
            .map(|_| alphabet[self.below(alphabet.len())])
            .collect()
    }
}

#[test]
fn random_patterns_and_paths_never_panic() {
    const PATTERN: &[&str] = &[
        "a",
        "b",
        "/",
        "*",
        "**",
        "?",
        "[",
        "]",
        "^",
        "!",
        "\\",
        "-",
        ".",
        "..",
        " ",
        "#",
        "\n",
        "\r",
        "é",
        ":",
        "(",
        "{",
        "$",
        "[:alpha:]",
        "\\x4",
        "\\d",
        "\u{feff}",
    ];
    const PATH: &[&str] = &["a", "b", "/", ".", "..", "-", "é", "\n", "*", "[", "ab/"];
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    let mut parsed = 0;
    for _ in 0..4000 {
        let text = random.text(PATTERN, 12);
        let Ok(ignore) = DockerIgnore::parse(&text) else {
            continue;
        };
        parsed += 1;
        let classic = ignore.clone().with_builder(Builder::Classic);
        for _ in 0..8 {
            let path = random.text(PATH, 8);
            for ignore in [&ignore, &classic] {
                let excluded = ignore.is_excluded(&path);
                ignore.may_reinclude_below(&path);
                // asking with a leading `./` or `/` changes nothing
                assert_eq!(
                    ignore.is_excluded(&format!("./{path}")),
                    excluded,
                    "{text:?} {path:?}"
                );
            }
        }
    }
    assert!(parsed > 1000, "only {parsed} random files parsed");
}

#[test]
fn random_patterns_ignore_slashes_around_them() {
    // `/p`, `./p` and `p/` are `p`: the same answers for every path.
    const PATTERN: &[&str] = &["a", "b", "*", "**", "?", "/", "[ab]", "[^a]"];
    const PATH: &[&str] = &["a", "b", "/", "ab", "ba"];
    let mut random = Random(42);
    for _ in 0..1500 {
        let pattern = random.text(PATTERN, 5);
        let Ok(plain) = DockerIgnore::parse(&pattern) else {
            continue;
        };
        for variant in [
            format!("/{pattern}"),
            format!("./{pattern}"),
            format!("{pattern}/"),
        ] {
            let Ok(variant_ignore) = DockerIgnore::parse(&variant) else {
                continue;
            };
            for _ in 0..6 {
                let path = random.text(PATH, 5);
                assert_eq!(
                    plain.is_excluded(&path),
                    variant_ignore.is_excluded(&path),
                    "{pattern:?} vs {variant:?} on {path:?}"
                );
            }
        }
    }
}
