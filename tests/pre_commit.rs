//! The pre-commit hooks (`.pre-commit-hooks.yaml`) with the real `pre-commit`: a scratch git
//! repository whose `.pre-commit-config.yaml` points at this clone, at its HEAD commit.
//!
//! `.ci/run` installs pre-commit into `.cache/pre-commit` and builds the hook once, reusing the
//! release build's dependencies; `PRE_COMMIT` may name another executable. The python hooks
//! install the wheel of `target/wheels/` (see `tests/install.rs`) with pip, offline: setuptools,
//! which builds the root's `pyproject.toml`, comes from `.cache/wheelhouse/`
//! (`.cache/pre-commit/bin/pip download --dest .cache/wheelhouse setuptools`). Missing: skipped
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
    let mut command = Command::new(pre_commit);
    command
        .env("PRE_COMMIT_HOME", home)
        .env("CARGO_TARGET_DIR", manifest_dir().join("target/pre-commit"));
    output(command, hook, repo)
}

fn output(mut command: Command, hook: &str, repo: &Path) -> (Option<i32>, String) {
    let out: Output = command
        .args(["run", hook, "--all-files", "--color", "never"])
        .current_dir(repo)
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

/// A scratch repository whose pre-commit config takes `hooks` from this clone at HEAD.
fn scratch_repo(hooks: [&str; 2]) -> tempfile::TempDir {
    let rev = git(&["rev-parse", "HEAD"], manifest_dir());
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    git(&["init", "-q"], repo);
    git(&["config", "user.email", "test@example.com"], repo);
    git(&["config", "user.name", "test"], repo);
    let config = format!(
        "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: {}\n      - id: {}\n",
        manifest_dir().display(),
        hooks[0],
        hooks[1]
    );
    std::fs::write(repo.join(".pre-commit-config.yaml"), config).unwrap();
    // Names pre-commit's type detection misses, and one that is not a Dockerfile.
    std::fs::create_dir_all(repo.join("svc")).unwrap();
    std::fs::write(repo.join("svc/api.Dockerfile"), WASTEFUL).unwrap();
    std::fs::write(repo.join("Containerfile.ci"), CLEAN).unwrap();
    std::fs::write(repo.join("Dockerfile.dockerignore"), "RUN apt-get update\n").unwrap();
    git(&["add", "."], repo);
    dir
}

#[test]
fn hooks_fail_on_waste_pass_when_clean_and_fix_safely() {
    let Some(pre_commit) = pre_commit() else {
        return;
    };
    let dir = scratch_repo(["layerwise", "layerwise-fix"]);
    let repo = dir.path();
    let run = |hook: &str, repo: &Path| run(&pre_commit, hook, repo);
    check_hooks(run, ["layerwise", "layerwise-fix"], repo);
}

/// Lint finds the waste, fix rewrites it safely, lint passes on the clean file.
fn check_hooks(
    run: impl Fn(&str, &Path) -> (Option<i32>, String),
    [lint, fix]: [&str; 2],
    repo: &Path,
) {
    let (code, text) = run(lint, repo);
    assert_eq!(code, Some(1), "{text}");
    for id in ["LW101", "LW102", "LW104", "LW202"] {
        assert!(text.contains(id), "{id} missing: {text}");
    }
    assert!(text.contains("svc/api.Dockerfile"), "{text}");
    assert!(!text.contains("Dockerfile.dockerignore"), "{text}");

    // Safe fixes only: the file is rewritten and pre-commit fails the run for it.
    let (code, text) = run(fix, repo);
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
    let (code, text) = run(lint, repo);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("Passed"), "{text}");
}

/// Every folder of PATH that holds no `cargo` or `rustc`.
fn path_without_rust() -> std::ffi::OsString {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let kept = std::env::split_paths(&path)
        .filter(|dir| !dir.join("cargo").exists() && !dir.join("rustc").exists());
    std::env::join_paths(kept).unwrap()
}

/// The wheel folder and the folder holding setuptools' wheel, when both are there.
fn offline_wheels() -> Option<(PathBuf, PathBuf)> {
    let has = |dir: &Path, prefix: &str| {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.starts_with(prefix) && name.ends_with(".whl")
            })
    };
    let wheels = manifest_dir().join("target/wheels");
    let wheelhouse = manifest_dir().join(".cache/wheelhouse");
    let version = env!("CARGO_PKG_VERSION");
    if !has(&wheels, &format!("layerwise-{version}-")) {
        common::skip(format!(
            "no layerwise-{version} wheel in target/wheels (see tests/install.rs)"
        ));
        return None;
    }
    if !has(&wheelhouse, "setuptools-") {
        common::skip(
            "no setuptools wheel in .cache/wheelhouse (.cache/pre-commit/bin/pip download \
             --dest .cache/wheelhouse setuptools)",
        );
        return None;
    }
    Some((wheels, wheelhouse))
}

#[test]
fn python_hooks_install_the_wheel_with_pip_and_no_rust() {
    let Some(pre_commit) = pre_commit() else {
        return;
    };
    let Some((wheels, wheelhouse)) = offline_wheels() else {
        return;
    };
    let dir = scratch_repo(["layerwise-py", "layerwise-fix-py"]);
    // A home of its own, so the hooks are installed afresh: pip builds the root's pyproject.toml
    // and takes the layerwise wheel it pins, with no index, no cargo and no rustc on PATH.
    let home = tempfile::tempdir().unwrap();
    let links = format!("{} {}", wheels.display(), wheelhouse.display());
    let run = |hook: &str, repo: &Path| {
        let mut command = Command::new(&pre_commit);
        command
            .env("PRE_COMMIT_HOME", home.path())
            .env("PATH", path_without_rust())
            .env("PIP_NO_INDEX", "1")
            .env("PIP_FIND_LINKS", &links)
            .env("PIP_NO_CACHE_DIR", "1")
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1");
        output(command, hook, repo)
    };
    check_hooks(run, ["layerwise-py", "layerwise-fix-py"], dir.path());
    // The hook ran the wheel's binary, installed into pre-commit's environment.
    let installed: Vec<PathBuf> = walkdir::WalkDir::new(home.path())
        .into_iter()
        .flatten()
        .map(|e| e.into_path())
        .filter(|p| p.ends_with("bin/layerwise"))
        .collect();
    assert_eq!(installed.len(), 1, "{installed:?}");
}
