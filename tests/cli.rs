//! The `layerwise` binary as users and scripts meet it: output, exit codes, and what `fix`
//! does to files.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{cli_fixture, layerwise, stderr, stdout};

fn fixtures_dir() -> PathBuf {
    cli_fixture("")
}

#[test]
fn human_output_shows_snippets_rules_help_and_fixes() {
    let out = layerwise(&["lint", "wasteful.Dockerfile"], &fixtures_dir());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    insta::assert_snapshot!("human_wasteful", stdout(&out));
}

#[test]
fn json_output_is_the_documented_shape() {
    let out = layerwise(
        &[
            "lint",
            "--format",
            "json",
            "wasteful.Dockerfile",
            "broken.Dockerfile",
        ],
        &fixtures_dir(),
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "a file that does not parse makes it 2"
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["files_checked"], 2);
    let first = &json["findings"][0];
    for key in [
        "file",
        "rule",
        "name",
        "severity",
        "message",
        "line",
        "column",
        "end_line",
        "end_column",
        "fixable",
    ] {
        assert!(first.get(key).is_some(), "finding lacks {key}: {first}");
    }
    // The broken file is still linted past its errors.
    let broken_rules: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["file"] == "broken.Dockerfile")
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(broken_rules.contains(&"LW102"), "{broken_rules:?}");
    insta::assert_json_snapshot!("json_errors", json["errors"]);
}

#[test]
fn exit_codes_follow_the_threshold() {
    let dir = fixtures_dir();
    assert_eq!(
        layerwise(&["lint", "clean.Dockerfile"], &dir).status.code(),
        Some(0)
    );
    assert_eq!(
        layerwise(&["lint", "wasteful.Dockerfile"], &dir)
            .status
            .code(),
        Some(1)
    );
    let relaxed = layerwise(
        &[
            "lint",
            "--failure-threshold",
            "error",
            "wasteful.Dockerfile",
        ],
        &dir,
    );
    assert_eq!(relaxed.status.code(), Some(0));
    let none = layerwise(
        &["lint", "--failure-threshold", "none", "wasteful.Dockerfile"],
        &dir,
    );
    assert_eq!(none.status.code(), Some(0));
    assert_eq!(
        layerwise(&["lint", "--format", "yaml"], &dir).status.code(),
        Some(2)
    );
    assert_eq!(
        layerwise(&["lint", "no-such-file"], &dir).status.code(),
        Some(2)
    );
}

#[test]
fn bad_input_gets_a_clear_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8], &str); 4] = [
        ("binary.Dockerfile", b"FROM a\0\x01\x02", "binary file"),
        (
            "latin1.Dockerfile",
            b"FROM a\nLABEL x=\xe9t\xe9\n",
            "not UTF-8",
        ),
        ("empty.Dockerfile", b"", "no instructions"),
        (
            "comments.Dockerfile",
            b"# only a comment\n",
            "no instructions",
        ),
    ];
    for (name, bytes, message) in cases {
        std::fs::write(dir.path().join(name), bytes).unwrap();
        let out = layerwise(&["lint", "--format", "json", name], dir.path());
        assert_eq!(out.status.code(), Some(2), "{name}");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let error = json["errors"][0]["message"].as_str().unwrap();
        assert!(error.contains(message), "{name}: {error}");
    }
}

#[test]
fn folders_are_searched_and_output_is_sorted() {
    let dir = tempfile::tempdir().unwrap();
    for f in [
        "b/Dockerfile",
        "a/api.Dockerfile",
        "node_modules/x/Dockerfile",
        "a/Dockerfile.dockerignore",
    ] {
        let path = dir.path().join(f);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "FROM a\nRUN apt-get update && apt-get install -y x\n").unwrap();
    }
    let out = layerwise(&["lint", "--format", "json"], dir.path());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["files_checked"], 2);
    let files: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    let mut sorted = files.clone();
    sorted.sort();
    assert_eq!(files, sorted);
    assert_eq!(files.first(), Some(&"a/api.Dockerfile"));
}

#[test]
fn fix_writes_safe_fixes_and_a_second_run_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        cli_fixture("wasteful.Dockerfile"),
        dir.path().join("Dockerfile"),
    )
    .unwrap();
    let out = layerwise(&["fix", "Dockerfile"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("fixed Dockerfile"),
        "{}",
        stderr(&out)
    );
    let fixed = std::fs::read_to_string(dir.path().join("Dockerfile")).unwrap();
    insta::assert_snapshot!("fixed_wasteful", fixed);
    let again = layerwise(&["fix", "--diff", "Dockerfile"], dir.path());
    assert_eq!(
        again.status.code(),
        Some(0),
        "nothing left to fix: {}",
        stdout(&again)
    );
    assert!(stdout(&again).is_empty());
}

#[test]
fn fix_diff_shows_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Dockerfile");
    std::fs::copy(cli_fixture("wasteful.Dockerfile"), &path).unwrap();
    let before = std::fs::read(&path).unwrap();
    let out = layerwise(&["fix", "--unsafe", "--diff", "Dockerfile"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(std::fs::read(&path).unwrap(), before);
    insta::assert_snapshot!("diff_wasteful_unsafe", stdout(&out));
}

#[test]
fn fix_leaves_unparseable_and_read_only_files_alone_and_fixes_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        cli_fixture("broken.Dockerfile"),
        dir.path().join("broken.Dockerfile"),
    )
    .unwrap();
    std::fs::copy(
        cli_fixture("wasteful.Dockerfile"),
        dir.path().join("locked.Dockerfile"),
    )
    .unwrap();
    std::fs::copy(
        cli_fixture("wasteful.Dockerfile"),
        dir.path().join("open.Dockerfile"),
    )
    .unwrap();
    let locked = dir.path().join("locked.Dockerfile");
    let mut perms = std::fs::metadata(&locked).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&locked, perms).unwrap();
    let out = layerwise(&["fix", "."], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("broken.Dockerfile: not fixed: it does not parse"),
        "{err}"
    );
    assert!(err.contains("locked.Dockerfile is read-only"), "{err}");
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    assert_eq!(
        read("broken.Dockerfile"),
        std::fs::read_to_string(cli_fixture("broken.Dockerfile")).unwrap()
    );
    assert_eq!(
        read("locked.Dockerfile"),
        std::fs::read_to_string(cli_fixture("wasteful.Dockerfile")).unwrap()
    );
    assert_ne!(
        read("open.Dockerfile"),
        read("locked.Dockerfile"),
        "the other file is still fixed"
    );
}

#[test]
fn fix_keeps_symlinks() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        cli_fixture("wasteful.Dockerfile"),
        dir.path().join("real.Dockerfile"),
    )
    .unwrap();
    std::os::unix::fs::symlink("real.Dockerfile", dir.path().join("Dockerfile")).unwrap();
    let out = layerwise(&["fix", "Dockerfile"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        std::fs::symlink_metadata(dir.path().join("Dockerfile"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let real = std::fs::read_to_string(dir.path().join("real.Dockerfile")).unwrap();
    assert!(real.contains("rm -rf /var/lib/apt/lists/*"), "{real}");
}

#[test]
fn rules_and_explain() {
    let dir = fixtures_dir();
    let out = layerwise(&["rules"], &dir);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).contains("LW102  apt-lists-not-cleaned"),
        "{}",
        stdout(&out)
    );
    let by_alias = layerwise(&["explain", "DL3009"], &dir);
    assert_eq!(by_alias.status.code(), Some(0));
    assert!(stdout(&by_alias).starts_with("LW102 apt-lists-not-cleaned"));
    assert!(stdout(&by_alias).contains("## Fix safety"));
    assert_eq!(
        layerwise(&["explain", "LW999"], &dir).status.code(),
        Some(2)
    );
}

#[test]
fn stdin_is_linted_with_dash() {
    let dir = tempfile::tempdir().unwrap();
    let out = with_stdin(
        &["lint", "--format", "json", "-"],
        dir.path(),
        b"FROM a\nRUN apk add curl\n",
    );
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["findings"][0]["rule"], "LW103");
}

/// Runs the binary in `dir` with `input` on stdin.
fn with_stdin(args: &[&str], dir: &std::path::Path, input: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_layerwise"))
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn fix_of_stdin_prints_the_fixed_text_and_writes_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = with_stdin(&["fix", "-"], dir.path(), b"FROM alpine\nRUN a\nRUN b\n");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "FROM alpine\nRUN a \\\n    && b\n");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "wrote a file"
    );
    // nothing to fix: the text comes back as it was
    let clean = with_stdin(&["fix", "-"], dir.path(), b"FROM alpine\n");
    assert_eq!(stdout(&clean), "FROM alpine\n");
    let diff = with_stdin(
        &["fix", "--diff", "-"],
        dir.path(),
        b"FROM alpine\nRUN a\nRUN b\n",
    );
    assert_eq!(diff.status.code(), Some(1));
    assert!(stdout(&diff).contains("+RUN a \\"), "{}", stdout(&diff));
}

#[test]
fn a_context_that_is_not_a_folder_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM a\nCOPY . .\n").unwrap();
    for command in ["lint", "fix"] {
        let out = layerwise(&[command, "--context", "nowhere", "Dockerfile"], dir.path());
        assert_eq!(out.status.code(), Some(2), "{command}");
        assert!(
            stderr(&out).contains("--context nowhere: not a folder"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn columns_count_characters_in_every_format_and_a_bom_takes_none() {
    let dir = tempfile::tempdir().unwrap();
    let line =
        "RUN echo \"é😀\" && apt-get update && apt-get install -y --no-install-recommends curl\n";
    std::fs::write(dir.path().join("u.Dockerfile"), format!("FROM a\n{line}")).unwrap();
    // LW102 points at the install: its `apt-get` is the 36th character of the line, its 40th byte
    let gnu = layerwise(&["lint", "--format", "gnu", "u.Dockerfile"], dir.path());
    assert!(
        stdout(&gnu).contains("u.Dockerfile:2:36:"),
        "{}",
        stdout(&gnu)
    );
    let human = layerwise(&["lint", "u.Dockerfile"], dir.path());
    assert!(
        stdout(&human).contains("u.Dockerfile:2:36]"),
        "{}",
        stdout(&human)
    );

    std::fs::write(
        dir.path().join("b.Dockerfile"),
        "\u{feff}# layerwise ignore=LW999\nFROM a\n",
    )
    .unwrap();
    let json = layerwise(&["lint", "--format", "json", "b.Dockerfile"], dir.path());
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let unknown = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "LW901")
        .expect("LW901");
    assert_eq!(unknown["column"], 20, "{unknown}");
}

#[test]
fn one_file_named_twice_is_checked_and_fixed_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM a\nRUN a\nRUN b\n").unwrap();
    let out = layerwise(
        &[
            "lint",
            "--format",
            "json",
            "Dockerfile",
            "./Dockerfile",
            ".",
        ],
        dir.path(),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["files_checked"], 1, "{v}");
    assert_eq!(v["findings"].as_array().unwrap().len(), 1, "{v}");

    std::os::unix::fs::symlink("Dockerfile", dir.path().join("a.Dockerfile")).unwrap();
    std::os::unix::fs::symlink("a.Dockerfile", dir.path().join("b.Dockerfile")).unwrap();
    let fixed = layerwise(&["fix", "."], dir.path());
    assert_eq!(fixed.status.code(), Some(0), "{}", stderr(&fixed));
    assert_eq!(
        stderr(&fixed).matches("fixed ").count(),
        1,
        "{}",
        stderr(&fixed)
    );
    let text = std::fs::read_to_string(dir.path().join("Dockerfile")).unwrap();
    assert_eq!(text, "FROM a\nRUN a \\\n    && b\n");
    assert!(dir.path().join("b.Dockerfile").is_symlink());
}

#[test]
fn completions_cover_every_subcommand_in_each_shell() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = layerwise(&["completions", shell], dir.path());
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        // fish names long flags without their dashes (`-l failure-threshold`).
        for word in [
            "lint",
            "fix",
            "measure",
            "inspect",
            "explain",
            "failure-threshold",
        ] {
            assert!(script.contains(word), "{shell} lacks {word}");
        }
    }
    // The bash script is valid shell and completes a subcommand's flags (bash calls the
    // function with the command, the word being completed and the one before it).
    let out = layerwise(&["completions", "bash"], dir.path());
    let script = dir.path().join("layerwise.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    let completed = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {}; COMP_WORDS=(layerwise lint --for); COMP_CWORD=2; \
             _layerwise layerwise --for lint; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display()
        ))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&completed.stdout).contains("--format"),
        "{}",
        String::from_utf8_lossy(&completed.stderr)
    );
    let bad = layerwise(&["completions", "tcsh"], dir.path());
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn man_pages_are_roff_one_per_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = layerwise(&["man"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let page = stdout(&out);
    assert!(page.starts_with(".ie \\n(.g .ds Aq"), "{}", &page[..80]);
    assert!(page.contains(".TH layerwise 1"), "{page}");
    let pages = dir.path().join("man1");
    std::fs::create_dir(&pages).unwrap();
    let out = layerwise(&["man", "--dir", "man1"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut written: Vec<String> = std::fs::read_dir(&pages)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    for name in [
        "layerwise.1",
        "layerwise-lint.1",
        "layerwise-fix.1",
        "layerwise-measure.1",
    ] {
        assert!(written.iter().any(|w| w == name), "{written:?}");
    }
    let lint = std::fs::read_to_string(pages.join("layerwise-lint.1")).unwrap();
    assert!(lint.contains("\\-\\-select"), "{lint}");
    let missing = layerwise(&["man", "--dir", "nowhere"], dir.path());
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("nowhere: not a folder"));
}
