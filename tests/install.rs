//! Installs without Rust: the wheel that `pypi/pyproject.toml` (maturin) builds, installed into
//! a fresh virtualenv and run from there, and the versions the Python side pins.
//!
//! `.ci/run` builds the wheel into `target/wheels/` right after the release build (maturin
//! reuses it: only the binary is linked again, stripped), because a `cargo` run from inside
//! `cargo test` would wait on the lock of the build folder the tests hold. To run these locally:
//!
//! ```sh
//! python3 -m venv .cache/maturin && .cache/maturin/bin/pip install maturin==1.16.0
//! (cd pypi && ../.cache/maturin/bin/maturin build --release --locked --out ../target/wheels)
//! ```
//!
//! A missing wheel, or one older than the sources, is skipped with a reason (a failure under
//! `CI`).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::SystemTime;

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn run(program: &Path, args: &[&str], dir: &Path) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("PIP_FIND_LINKS")
        .env_remove("PIP_INDEX_URL")
        .output()
        .unwrap_or_else(|e| panic!("{} runs: {e}", program.display()))
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The newest modification time of the files the binary is built from.
fn newest_source() -> SystemTime {
    let mut newest = SystemTime::UNIX_EPOCH;
    let roots = ["src", "rules", "templates", "Cargo.toml", "Cargo.lock"];
    for root in roots {
        for entry in walkdir::WalkDir::new(manifest_dir().join(root))
            .into_iter()
            .flatten()
        {
            if let Ok(modified) = entry.path().metadata().and_then(|m| m.modified()) {
                newest = newest.max(modified);
            }
        }
    }
    newest
}

/// This version's wheel in `LAYERWISE_WHEEL_DIR` (else `target/wheels/`), when it is there and
/// newer than every source; else skipped with a reason.
fn wheel() -> Option<PathBuf> {
    let dir = std::env::var_os("LAYERWISE_WHEEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir().join("target/wheels"));
    let prefix = format!("layerwise-{VERSION}-");
    let found = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".whl"))
        })
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok());
    let how = "build it with: (cd pypi && ../.cache/maturin/bin/maturin build --release --locked \
               --out ../target/wheels)";
    let Some(wheel) = found else {
        common::skip(format!(
            "no layerwise-{VERSION} wheel in {} ({how})",
            dir.display()
        ));
        return None;
    };
    let built = wheel.metadata().and_then(|m| m.modified()).ok()?;
    if built < newest_source() {
        common::skip(format!(
            "{} is older than the sources ({how})",
            wheel.display()
        ));
        return None;
    }
    Some(wheel)
}

const WASTEFUL: &str = "FROM debian:bookworm-slim\nRUN apt-get update\nRUN apt-get update && apt-get install -y curl\n";

#[test]
fn the_wheel_installs_in_a_fresh_virtualenv_and_its_layerwise_runs() {
    let Some(wheel) = wheel() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let venv = dir.path().join("venv");
    let out = run(
        Path::new("python3"),
        &["-m", "venv", venv.to_str().unwrap()],
        dir.path(),
    );
    assert!(out.status.success(), "python3 -m venv: {}", text(&out));
    // No index: everything the install needs is the wheel itself.
    let out = run(
        &venv.join("bin/pip"),
        &[
            "install",
            "--no-index",
            "--no-cache-dir",
            "--disable-pip-version-check",
            wheel.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(out.status.success(), "pip install: {}", text(&out));

    let installed = venv.join("bin/layerwise");
    let out = run(&installed, &["--version"], dir.path());
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("layerwise {VERSION}")
    );

    // The same findings as this build's binary, from the installed one.
    std::fs::write(dir.path().join("Dockerfile"), WASTEFUL).unwrap();
    let lint = ["lint", "--format", "json", "Dockerfile"];
    let from_wheel = run(&installed, &lint, dir.path());
    let from_build = run(
        Path::new(env!("CARGO_BIN_EXE_layerwise")),
        &lint,
        dir.path(),
    );
    assert_eq!(from_wheel.status.code(), Some(1), "{}", text(&from_wheel));
    let findings = String::from_utf8_lossy(&from_wheel.stdout);
    for id in ["LW101", "LW102", "LW202"] {
        assert!(findings.contains(id), "{id} missing: {findings}");
    }
    assert_eq!(findings, String::from_utf8_lossy(&from_build.stdout));

    // Stripped: the wheel is what users download.
    let size = installed.metadata().unwrap().len();
    let built = Path::new(env!("CARGO_BIN_EXE_layerwise"))
        .metadata()
        .unwrap()
        .len();
    assert!(size <= built, "{size} bytes installed, {built} built");
}

/// The `key = "value"` of a TOML file's line, first match.
fn toml_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?.trim_start().strip_prefix('=')?;
        Some(
            rest.trim()
                .trim_matches(|c| c == '"' || c == '[' || c == ']'),
        )
    })
}

#[test]
fn the_pre_commit_package_pins_the_wheel_of_this_version() {
    let root = std::fs::read_to_string(manifest_dir().join("pyproject.toml")).unwrap();
    assert_eq!(toml_value(&root, "version"), Some(VERSION));
    let pin = format!("layerwise=={VERSION}");
    assert_eq!(toml_value(&root, "dependencies"), Some(pin.as_str()));
    // The wheel takes its version from Cargo.toml and packages the binary.
    let wheel = std::fs::read_to_string(manifest_dir().join("pypi/pyproject.toml")).unwrap();
    assert_eq!(toml_value(&wheel, "name"), Some("layerwise"));
    assert_eq!(toml_value(&wheel, "bindings"), Some("bin"));
    assert_eq!(toml_value(&wheel, "manifest-path"), Some("../Cargo.toml"));
    assert!(wheel.contains("dynamic = [\"version\"]"), "{wheel}");
}

#[test]
fn the_projects_own_dockerfile_lints_clean_and_sends_only_what_the_build_reads() {
    let root = manifest_dir();
    let out = common::layerwise(&["lint", "--format", "json", "Dockerfile"], root);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", common::stderr(&out)));
    assert_eq!(report["files_checked"], 1, "{report:#}");
    assert_eq!(report["findings"], serde_json::json!([]), "{report:#}");
    assert_eq!(report["errors"], serde_json::json!([]), "{report:#}");
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));

    // Two stages, the image's on distroless, and every COPY's source is let through by the
    // .dockerignore (which keeps target/ and .git out of the context).
    let text = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    let froms: Vec<&str> = text.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(froms.len(), 2, "{froms:?}");
    assert!(froms[0].ends_with(" AS build"), "{froms:?}");
    assert_eq!(froms[1], "FROM gcr.io/distroless/cc-debian12");
    assert!(text.contains("COPY --from=build /usr/local/bin/layerwise /usr/local/bin/layerwise"));
    assert!(text.contains("ENTRYPOINT [\"/usr/local/bin/layerwise\"]"));
    let ignore = std::fs::read_to_string(root.join(".dockerignore")).unwrap();
    for line in text
        .lines()
        .filter(|l| l.starts_with("COPY ") && !l.contains("--from"))
    {
        let words: Vec<&str> = line.split_whitespace().collect();
        for source in &words[1..words.len() - 1] {
            assert!(root.join(source).exists(), "{source} is missing");
            let allowed = ignore.lines().any(|rule| {
                rule.strip_prefix('!')
                    .is_some_and(|kept| kept.trim_end_matches('/') == *source)
            });
            assert!(allowed, "{source} is not let through by .dockerignore");
        }
    }
    for kept_out in ["target", ".git", ".cache"] {
        assert!(
            !ignore
                .lines()
                .any(|rule| rule.trim_end_matches('/') == format!("!{kept_out}")),
            "{kept_out}"
        );
    }
    assert!(ignore.lines().any(|rule| rule == "*"), "{ignore}");
}
