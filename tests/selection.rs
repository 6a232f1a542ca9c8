//! Choosing rules on the command line (`--select`, `--ignore` on `lint` and `fix`), `explain`
//! for hadolint codes layerwise does not cover, and config errors as the user reads them.

mod common;

use std::path::Path;

use common::{layerwise, stderr, stdout};

/// LW101, LW102, LW104 and LW202 fire; LW103 twice, for pip (DL3042) and for npm (no hadolint
/// check).
const WASTEFUL: &str = "FROM debian\n\
                        RUN apt-get update\n\
                        RUN apt-get update && apt-get install -y python3-pip npm\n\
                        RUN pip install flask && npm install -g left-pad\n";

fn dir_with(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    std::fs::write(dir.path().join("Dockerfile"), text).unwrap();
    std::fs::write(dir.path().join(".dockerignore"), ".git\n").unwrap();
    dir
}

/// The rule of each finding, and LW103's hadolint-less findings marked `LW103/npm`.
fn rules(args: &[&str], dir: &Path) -> (Option<i32>, Vec<String>) {
    let mut all = vec!["lint", "--format", "json"];
    all.extend_from_slice(args);
    all.push("Dockerfile");
    let out = layerwise(&all, dir);
    let value: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    let mut found: Vec<String> = value["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let rule = f["rule"].as_str().unwrap();
            let npm = f["message"].as_str().unwrap().contains("npm");
            if rule == "LW103" && npm {
                "LW103/npm".into()
            } else {
                rule.into()
            }
        })
        .collect();
    found.sort();
    found.dedup();
    (out.status.code(), found)
}

#[test]
fn select_and_ignore_take_ids_names_and_hadolint_codes() {
    let dir = dir_with(WASTEFUL);
    let (_, all) = rules(&[], dir.path());
    assert_eq!(
        all,
        ["LW101", "LW102", "LW103", "LW103/npm", "LW104", "LW202"]
    );
    let (code, only) = rules(&["--select", "LW102,consecutive-run"], dir.path());
    assert_eq!(
        (code, only),
        (Some(1), vec!["LW101".into(), "LW102".into()])
    );
    // Repeated flags add up; a hadolint code that is all of a rule names the rule.
    let (_, repeated) = rules(&["--select", "DL3009", "--select", "DL3015"], dir.path());
    assert_eq!(repeated, ["LW102", "LW104"]);
    let (_, ignored) = rules(
        &["--ignore", "LW101", "--ignore", "apt-install-recommends"],
        dir.path(),
    );
    assert_eq!(ignored, ["LW102", "LW103", "LW103/npm", "LW202"]);
    // One hadolint check of LW103: only its findings, selected or ignored.
    let (_, pip) = rules(&["--select", "DL3042"], dir.path());
    assert_eq!(pip, ["LW103"]);
    let (_, no_pip) = rules(&["--ignore", "DL3042", "--select", "LW103"], dir.path());
    assert_eq!(no_pip, ["LW103/npm"]);
    // --ignore wins over --select; nothing left at the threshold is exit 0.
    let (code, none) = rules(&["--select", "LW101", "--ignore", "LW101"], dir.path());
    assert_eq!((code, none), (Some(0), Vec::<String>::new()));
    // The config's ignores stay.
    std::fs::write(dir.path().join(".layerwise.yaml"), "ignore: [LW202]\n").unwrap();
    let (_, with_config) = rules(&["--select", "LW202,LW101"], dir.path());
    assert_eq!(with_config, ["LW101"]);
}

#[test]
fn an_unknown_rule_on_the_command_line_is_a_usage_error_with_the_nearest() {
    let dir = dir_with(WASTEFUL);
    for command in ["lint", "fix"] {
        let out = layerwise(&[command, "--select", "LW1O2", "Dockerfile"], dir.path());
        assert_eq!(out.status.code(), Some(2), "{command}");
        let said = stderr(&out);
        assert!(
            said.contains("unknown rule `LW1O2`: did you mean `LW102`?"),
            "{command}: {said}"
        );
    }
    let out = layerwise(&["lint", "--ignore", "DL3008", "Dockerfile"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is a hadolint rule layerwise does not cover"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn fix_applies_only_the_selected_rules() {
    let dir = dir_with(WASTEFUL);
    // The unsafe fixes except one rule's, without touching the config.
    let out = layerwise(
        &["fix", "--unsafe", "--ignore", "LW104", "Dockerfile"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let fixed = std::fs::read_to_string(dir.path().join("Dockerfile")).unwrap();
    assert!(!fixed.contains("--no-install-recommends"), "{fixed}");
    assert!(fixed.contains("rm -rf /var/lib/apt/lists/*"), "{fixed}");
    let (_, left) = rules(&[], dir.path());
    assert_eq!(left, ["LW104"], "{fixed}");

    let dir = dir_with(WASTEFUL);
    let out = layerwise(&["fix", "--select", "LW102", "Dockerfile"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let fixed = std::fs::read_to_string(dir.path().join("Dockerfile")).unwrap();
    assert_eq!(
        fixed,
        WASTEFUL.replace("npm\n", "npm \\\n    && rm -rf /var/lib/apt/lists/*\n")
    );
    // One hadolint check alone: pip's cache flag, not npm's clean.
    let dir = dir_with(WASTEFUL);
    let out = layerwise(&["fix", "--select", "DL3042", "Dockerfile"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let fixed = std::fs::read_to_string(dir.path().join("Dockerfile")).unwrap();
    assert!(
        fixed.contains("pip install --no-cache-dir flask"),
        "{fixed}"
    );
    assert!(!fixed.contains("npm cache clean"), "{fixed}");
}

#[test]
fn explain_says_a_hadolint_code_is_not_covered_and_what_it_checks() {
    let dir = tempfile::tempdir().unwrap();
    let out = layerwise(&["explain", "DL3008"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("DL3008 is a hadolint rule layerwise does not cover: `apt-get install` should pin package versions."),
        "{text}"
    );
    let shellcheck = stdout(&layerwise(&["explain", "sc2086"], dir.path()));
    assert!(
        shellcheck.starts_with("SC2086 is a hadolint rule layerwise does not cover: a ShellCheck"),
        "{shellcheck}"
    );
    // A code layerwise covers is explained as its rule.
    assert!(
        stdout(&layerwise(&["explain", "DL3059"], dir.path())).starts_with("LW101 consecutive-run")
    );
    // Neither: an error with the nearest rule.
    let out = layerwise(&["explain", "apt-list-not-cleaned"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("did you mean `apt-lists-not-cleaned`?"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn config_errors_read_as_the_user_wrote_and_never_cut_an_identifier() {
    let dir = dir_with("FROM debian\n");
    // A long path, so the message wraps in the 100 columns of the report.
    let deep = dir
        .path()
        .join("services/payments-gateway-with-a-long-name");
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(deep.join("Dockerfile"), "FROM debian\n").unwrap();
    std::fs::write(
        deep.join(".layerwise.yaml"),
        "ignore: []\nfailure_treshold: warning\n",
    )
    .unwrap();
    let out = layerwise(&["lint", "services"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let said = stderr(&out);
    assert!(said.contains("unknown key `failure_treshold`"), "{said}");
    assert!(said.contains("did you mean"), "{said}");
    for word in [
        "failure-threshold",
        "failure_treshold",
        "payments-gateway-with-a-long-name",
    ] {
        // Each identifier whole on one line, wherever the lines break.
        let joined: String = said
            .lines()
            .map(|l| l.trim_start_matches(['│', ' ', '×']))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(joined.contains(word), "{word}: {said}");
        for line in said.lines() {
            let cut = (1..word.len()).any(|at| {
                word.is_char_boundary(at)
                    && line.trim_end().ends_with(&word[..at])
                    && !line.contains(word)
            });
            assert!(!cut, "`{word}` cut at the end of `{line}`:\n{said}");
        }
    }
    assert!(
        !said.contains("variant") && !said.contains("usize"),
        "{said}"
    );
    // A tab is named as the cause.
    std::fs::write(deep.join(".layerwise.yaml"), "ignore:\n\t- LW101\n").unwrap();
    let said = stderr(&layerwise(&["lint", "services"], dir.path()));
    assert!(said.contains("a tab indents line 2"), "{said}");
}
