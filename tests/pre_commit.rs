//! The pre-commit hooks (`.pre-commit-hooks.yaml`) with the real `pre-commit`: a scratch git
//! repository whose `.pre-commit-config.yaml` points at this clone, at its HEAD commit.
//!
//! `.ci/run` installs pre-commit into `.cache/pre-commit` and builds the hook once, reusing the
//! release build's dependencies; `PRE_COMMIT` may name another executable. Missing: skipped
//! with a reason, or a failure under CI.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn pre_commit() -> Option<PathBuf> {
    let found = std::env::var_os("PRE_COMMIT")
        .map(PathBuf::from)
        .or_else(|| Some(manifest_dir().join(".cache/pre-commit/bin/pre-commit")))
        .filter(|p| p.is_file());
    if found.is_none() {
        common::skip(
            "pre-commit is not installed in .cache/pre-commit (python3 -m venv .cache/pre-commit \
             && .cache/pre-commit/bin/pip install pre-commit)",
        );
    }
    found
}

fn git(args: &[&str], dir: &Path) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `pre-commit run HOOK --all-files` in `repo`; the combined output.
fn run(pre_commit: &Path, hook: &str, repo: &Path) -> (Option<i32>, String) {
    // The hook's build lives in PRE_COMMIT_HOME, which .ci/run warms up once; a target folder
    // of its own keeps a cold build from waiting on the lock of the one running these tests.
    let home = std::env::var_os("LAYERWISE_PRE_COMMIT_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir().join(".cache/pre-commit-home"));
    let out: Output = Command::new(pre_commit)
        .args(["run", hook, "--all-files", "--color", "never"])
        .current_dir(repo)
        .env("PRE_COMMIT_HOME", home)
        .env("CARGO_TARGET_DIR", manifest_dir().join("target/pre-commit"))
        .env_remove("NO_COLOR")
        .output()
        .expect("pre-commit runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

const WASTEFUL: &str = "FROM debian:bookworm-slim\nRUN apt-get update\nRUN apt-get update && apt-get install -y curl\n";
const CLEAN: &str = "FROM debian:bookworm-slim\nRUN apt-get update \\\n    && apt-get install -y --no-install-recommends curl \\\n    && rm -rf /var/lib/apt/lists/*\n";

#[test]
fn hooks_fail_on_waste_pass_when_clean_and_fix_safely() {
    let Some(pre_commit) = pre_commit() else {
        return;
    };
    let rev = git(&["rev-parse", "HEAD"], manifest_dir());
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    git(&["init", "-q"], repo);
    git(&["config", "user.email", "test@example.com"], repo);
    git(&["config", "user.name", "test"], repo);
    let config = format!(
        "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: layerwise\n      - id: layerwise-fix\n",
        manifest_dir().display()
    );
    std::fs::write(repo.join(".pre-commit-config.yaml"), config).unwrap();
    // Names pre-commit's type detection misses, and one that is not a Dockerfile.
    std::fs::create_dir_all(repo.join("svc")).unwrap();
    std::fs::write(repo.join("svc/api.Dockerfile"), WASTEFUL).unwrap();
    std::fs::write(repo.join("Containerfile.ci"), CLEAN).unwrap();
    std::fs::write(repo.join("Dockerfile.dockerignore"), "RUN apt-get update\n").unwrap();
    git(&["add", "."], repo);

    let (code, text) = run(&pre_commit, "layerwise", repo);
    assert_eq!(code, Some(1), "{text}");
    for id in ["LW101", "LW102", "LW104", "LW202"] {
        assert!(text.contains(id), "{id} missing: {text}");
    }
    assert!(text.contains("svc/api.Dockerfile"), "{text}");
    assert!(!text.contains("Dockerfile.dockerignore"), "{text}");

    // Safe fixes only: the file is rewritten and pre-commit fails the run for it.
    let (code, text) = run(&pre_commit, "layerwise-fix", repo);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("files were modified by this hook"), "{text}");
    let fixed = std::fs::read_to_string(repo.join("svc/api.Dockerfile")).unwrap();
    assert!(fixed.contains("rm -rf /var/lib/apt/lists/*"), "{fixed}");
    assert!(
        !fixed.contains("--no-install-recommends"),
        "that fix is unsafe: {fixed}"
    );

    std::fs::write(repo.join("svc/api.Dockerfile"), CLEAN).unwrap();
    git(&["add", "."], repo);
    let (code, text) = run(&pre_commit, "layerwise", repo);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("Passed"), "{text}");
}
