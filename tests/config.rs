//! The config file and ignore comments as users meet them through the binary: discovery up to
//! the repository root, `--config`, the failure threshold, `exclude` for lint and fix, errors
//! with file:line:column, `init`, and fixes that respect suppression.

mod common;

use std::path::Path;
use std::process::Output;

use common::layerwise;

fn write(dir: &Path, path: &str, text: &str) {
    let path = dir.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// (file, rule) of every finding, from `--format json`.
fn findings(out: &Output) -> Vec<(String, String)> {
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_string(),
                f["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

const WASTEFUL: &str = "FROM debian\nRUN apt-get update && apt-get install -y curl\n";

/// A repository with a config at its root and a Dockerfile two folders down.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".git")).unwrap();
    write(dir.path(), "svc/api/Dockerfile", WASTEFUL);
    dir
}

#[test]
fn the_nearest_config_up_to_the_repository_root_applies() {
    let dir = repo();
    let all = findings(&layerwise(&["lint", "--format", "json"], dir.path()));
    assert!(all.iter().any(|(_, r)| r == "LW102"), "{all:?}");
    write(
        dir.path(),
        ".layerwise.yaml",
        "ignore: [DL3009]\nseverity: {LW104: off}\n",
    );
    let configured = findings(&layerwise(&["lint", "--format", "json"], dir.path()));
    assert!(
        !configured.iter().any(|(_, r)| r == "LW102" || r == "LW104"),
        "{configured:?}"
    );
    // --config names another file instead.
    write(dir.path(), "other.yaml", "ignore: [LW104]\n");
    let other = findings(&layerwise(
        &["lint", "--format", "json", "--config", "other.yaml"],
        dir.path(),
    ));
    assert!(other.iter().any(|(_, r)| r == "LW102"), "{other:?}");
    assert!(!other.iter().any(|(_, r)| r == "LW104"), "{other:?}");
}

#[test]
fn failure_threshold_from_the_config_and_the_flag_wins() {
    let dir = repo();
    write(dir.path(), ".layerwise.yaml", "failure-threshold: error\n");
    assert_eq!(layerwise(&["lint"], dir.path()).status.code(), Some(0));
    let flagged = layerwise(&["lint", "--failure-threshold", "warning"], dir.path());
    assert_eq!(flagged.status.code(), Some(1));
    write(
        dir.path(),
        ".layerwise.yaml",
        "failure-threshold: error\nseverity: {LW102: error}\n",
    );
    assert_eq!(layerwise(&["lint"], dir.path()).status.code(), Some(1));
}

#[test]
fn exclude_keeps_files_from_lint_and_fix() {
    let dir = repo();
    write(dir.path(), "vendor/x/Dockerfile", WASTEFUL);
    write(dir.path(), "legacy/old.Dockerfile", WASTEFUL);
    write(
        dir.path(),
        ".layerwise.yaml",
        "exclude: [vendor, 'legacy/*.Dockerfile']\n",
    );
    let out = layerwise(&["lint", "--format", "json"], dir.path());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["files_checked"], 1);
    // Named on the command line (as pre-commit names files), still excluded.
    let named = layerwise(
        &[
            "lint",
            "--format",
            "json",
            "legacy/old.Dockerfile",
            "svc/api/Dockerfile",
        ],
        dir.path(),
    );
    let files: Vec<String> = findings(&named).into_iter().map(|(f, _)| f).collect();
    assert!(files.iter().all(|f| f == "svc/api/Dockerfile"), "{files:?}");
    let fixed = layerwise(&["fix"], dir.path());
    assert_eq!(fixed.status.code(), Some(0));
    let read = |p: &str| std::fs::read_to_string(dir.path().join(p)).unwrap();
    assert_eq!(read("vendor/x/Dockerfile"), WASTEFUL);
    assert_eq!(read("legacy/old.Dockerfile"), WASTEFUL);
    assert_ne!(read("svc/api/Dockerfile"), WASTEFUL);
}

#[test]
fn a_bad_config_is_an_error_with_file_line_and_column() {
    let dir = repo();
    write(
        dir.path(),
        ".layerwise.yaml",
        "ignore:\n  - LW101\n  - LW1O2\nseverity: {}\n",
    );
    for command in ["lint", "fix"] {
        let out = layerwise(&[command], dir.path());
        assert_eq!(out.status.code(), Some(2), "{command}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(".layerwise.yaml:3:5: ignore: unknown rule `LW1O2`"),
            "{command}: {err}"
        );
        assert!(err.contains("- LW1O2"), "the snippet: {err}");
    }
    write(dir.path(), ".layerwise.yaml", "severity:\n  LW101: loud\n");
    let err = String::from_utf8_lossy(&layerwise(&["lint"], dir.path()).stderr).into_owned();
    // The place, the choices in plain words, and the snippet.
    assert!(
        err.contains(".layerwise.yaml:2:10: severity.LW101: `loud` is not one of error,"),
        "{err}"
    );
    assert!(err.contains("LW101: loud"), "the snippet: {err}");
    write(dir.path(), ".layerwise.yaml", "ignore: []\nexcludes: [x]\n");
    let err = String::from_utf8_lossy(&layerwise(&["lint"], dir.path()).stderr).into_owned();
    assert!(
        err.contains(".layerwise.yaml:2:1: unknown key `excludes`: did you mean `exclude`?"),
        "{err}"
    );
}

#[test]
fn init_writes_a_starter_that_loads_and_refuses_to_overwrite() {
    let dir = repo();
    let out = layerwise(&["init"], dir.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = std::fs::read_to_string(dir.path().join(".layerwise.yaml")).unwrap();
    assert!(written.contains("failure-threshold: warning"), "{written}");
    // The starter changes nothing: same findings as without a config.
    let with = findings(&layerwise(&["lint", "--format", "json"], dir.path()));
    std::fs::write(
        dir.path().join(".layerwise.yaml"),
        "# mine\nignore: [LW102]\n",
    )
    .unwrap();
    let again = layerwise(&["init"], dir.path());
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".layerwise.yaml")).unwrap(),
        "# mine\nignore: [LW102]\n"
    );
    let forced = layerwise(&["init", "--force"], dir.path());
    assert_eq!(forced.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".layerwise.yaml")).unwrap(),
        written
    );
    std::fs::remove_file(dir.path().join(".layerwise.yaml")).unwrap();
    let without = findings(&layerwise(&["lint", "--format", "json"], dir.path()));
    assert_eq!(with, without);
}

#[test]
fn the_starter_s_examples_load_when_uncommented() {
    let dir = repo();
    assert_eq!(layerwise(&["init"], dir.path()).status.code(), Some(0));
    let starter = std::fs::read_to_string(dir.path().join(".layerwise.yaml")).unwrap();
    // An example line is `#  ` and the text; taking off the `#` keeps its indentation.
    let examples = starter.lines().filter(|l| l.starts_with("#  ")).count();
    assert!(examples >= 10, "{starter}");
    let uncommented: String = starter
        .lines()
        .map(|l| {
            l.strip_prefix('#')
                .filter(|_| l.starts_with("#  "))
                .unwrap_or(l)
        })
        .map(|l| format!("{l}\n"))
        .collect();
    write(dir.path(), ".layerwise.yaml", &uncommented);
    let out = layerwise(&["lint", "--format", "json"], dir.path());
    assert_eq!(
        out.status.code(),
        Some(1),
        "{uncommented}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The examples took effect: LW104 is off (`ignore: [DL3015]`, its hadolint code), LW102
    // is still reported.
    let rules: Vec<(String, String)> = findings(&out).into_iter().collect();
    assert!(rules.iter().any(|(_, r)| r == "LW102"), "{rules:?}");
    assert!(!rules.iter().any(|(_, r)| r == "LW104"), "{rules:?}");
}

#[test]
fn fix_leaves_suppressed_findings_alone() {
    let dir = tempfile::tempdir().unwrap();
    let text = "FROM debian\n# layerwise ignore=LW102\nRUN apt-get update && apt-get install -y --no-install-recommends curl\nWORKDIR /a\n# hadolint ignore=DL3009\nRUN apt-get update && apt-get install -y --no-install-recommends git\nWORKDIR /b\nRUN pip install requests\n";
    write(dir.path(), "Dockerfile", text);
    let out = layerwise(&["fix", "--diff", "Dockerfile"], dir.path());
    let diff = String::from_utf8_lossy(&out.stdout);
    assert!(!diff.contains("/var/lib/apt/lists"), "{diff}");
    assert!(diff.contains("--no-cache-dir"), "the rest is fixed: {diff}");
    let lint = findings(&layerwise(
        &["lint", "--format", "json", "Dockerfile"],
        dir.path(),
    ));
    assert!(!lint.iter().any(|(_, r)| r == "LW102"), "{lint:?}");
}

#[test]
fn fixes_beside_ignored_runs_make_no_new_findings() {
    let dir = tempfile::tempdir().unwrap();
    // LW102's cleanup on line 5 once raised LW105 (the lists line 3 keeps, on purpose).
    let lists = "FROM debian\n# layerwise ignore=LW102\nRUN apt-get update && apt-get install -y --no-install-recommends curl\nCOPY x /x\nRUN apt-get update && apt-get install -y --no-install-recommends git\n";
    // LW202 once moved the update into the RUN the comment covers.
    let update =
        "FROM debian\nRUN apt-get update\n# layerwise ignore=LW104\nRUN apt-get install -y jq\n";
    write(dir.path(), "a.Dockerfile", lists);
    write(dir.path(), "b.Dockerfile", update);
    write(dir.path(), "x", "");
    let files = ["lint", "--format", "json", "a.Dockerfile", "b.Dockerfile"];
    let before = findings(&layerwise(&files, dir.path()));
    let out = layerwise(&["fix", "a.Dockerfile", "b.Dockerfile"], dir.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fixed = std::fs::read_to_string(dir.path().join("a.Dockerfile")).unwrap();
    assert!(
        fixed.ends_with("git \\\n    && rm -rf /var/lib/apt/lists/*\n"),
        "{fixed}"
    );
    let fixed = std::fs::read_to_string(dir.path().join("b.Dockerfile")).unwrap();
    assert_eq!(fixed, update);
    let after = findings(&layerwise(&files, dir.path()));
    for finding in &after {
        assert!(before.contains(finding), "{finding:?} is new");
    }
}
