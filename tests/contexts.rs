//! Each Dockerfile's own build context in `lint` and `fix`: from the config's `contexts`, from a
//! `compose.yaml` or `docker-bake.hcl` that builds it, or its own folder; `--context` for all.
//!
//! The probe is LW401 (the whole context is copied and the context has no `.dockerignore`):
//! the repository root has one, `svc/` has none and holds a `.env`.

mod common;

use std::path::Path;

use common::{layerwise, stderr};

const COPIES_ALL: &str = "FROM debian\nWORKDIR /app\nCOPY . .\n";

/// A repository whose root, the context the Compose or Bake file names, has a `.dockerignore`.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join(".git")).unwrap();
    std::fs::create_dir_all(root.join("svc")).unwrap();
    std::fs::write(root.join(".dockerignore"), ".git\n").unwrap();
    // something for svc's own context to keep out (LW401 is quiet about a context with nothing)
    std::fs::write(root.join("svc/.env"), "TOKEN=x\n").unwrap();
    std::fs::write(root.join("svc/api.Dockerfile"), COPIES_ALL).unwrap();
    std::fs::write(root.join("svc/worker.Dockerfile"), COPIES_ALL).unwrap();
    dir
}

/// The files LW401 fires on.
fn missing_dockerignore(args: &[&str], dir: &Path) -> Vec<String> {
    let mut all = vec!["lint", "--format", "json", "--select", "LW401"];
    all.extend_from_slice(args);
    let out = layerwise(&all, dir);
    let value: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    assert!(value["errors"].as_array().unwrap().is_empty(), "{value}");
    value["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn without_a_declaration_each_file_is_built_from_its_folder() {
    let dir = repo();
    assert_eq!(
        missing_dockerignore(&["svc"], dir.path()),
        ["svc/api.Dockerfile", "svc/worker.Dockerfile"]
    );
    // --context gives every file the one named.
    assert!(missing_dockerignore(&["--context", ".", "svc"], dir.path()).is_empty());
}

#[test]
fn a_compose_file_names_the_context_of_the_files_it_builds() {
    let dir = repo();
    std::fs::write(
        dir.path().join("compose.yaml"),
        "services:\n  api:\n    build:\n      context: .\n      dockerfile: svc/api.Dockerfile\n  \
         db:\n    image: postgres:16\n",
    )
    .unwrap();
    assert_eq!(
        missing_dockerignore(&["svc"], dir.path()),
        ["svc/worker.Dockerfile"]
    );
    // From inside the folder, and by the file's own name, the same.
    assert_eq!(
        missing_dockerignore(
            &["api.Dockerfile", "worker.Dockerfile"],
            &dir.path().join("svc")
        ),
        ["worker.Dockerfile"]
    );
}

#[test]
fn a_bake_file_names_the_context_of_its_targets() {
    let dir = repo();
    std::fs::write(
        dir.path().join("docker-bake.hcl"),
        "variable \"SVC\" {\n  default = \"svc\"\n}\n\
         target \"worker\" {\n  context = \".\"\n  dockerfile = \"${SVC}/worker.Dockerfile\"\n}\n",
    )
    .unwrap();
    assert_eq!(
        missing_dockerignore(&["svc"], dir.path()),
        ["svc/api.Dockerfile"]
    );
    // A bake file that does not parse is said, and the files keep their own folders.
    std::fs::write(dir.path().join("docker-bake.hcl"), "target \"worker\" {\n").unwrap();
    let out = layerwise(&["lint", "--select", "LW401", "svc"], dir.path());
    assert!(
        stderr(&out).contains("warning: docker-bake.hcl: not read for build contexts"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_config_maps_globs_to_contexts_before_compose_and_bake() {
    let dir = repo();
    std::fs::write(
        dir.path().join("compose.yaml"),
        "services:\n  api:\n    build:\n      context: svc\n      dockerfile: api.Dockerfile\n",
    )
    .unwrap();
    assert_eq!(
        missing_dockerignore(&["svc"], dir.path()),
        ["svc/api.Dockerfile", "svc/worker.Dockerfile"]
    );
    std::fs::write(
        dir.path().join(".layerwise.yaml"),
        "contexts:\n  'svc/*.Dockerfile': .\n",
    )
    .unwrap();
    assert!(missing_dockerignore(&["svc"], dir.path()).is_empty());
}

#[test]
fn fix_writes_to_the_files_own_context() {
    let dir = repo();
    std::fs::remove_file(dir.path().join(".dockerignore")).unwrap();
    // A context with a secret: LW401's fix writes the .dockerignore that keeps it out, there.
    std::fs::write(dir.path().join(".env"), "TOKEN=x\n").unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        "services:\n  api:\n    build:\n      context: .\n      dockerfile: svc/api.Dockerfile\n",
    )
    .unwrap();
    let out = layerwise(
        &["fix", "--unsafe", "--select", "LW401", "svc/api.Dockerfile"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let written = std::fs::read_to_string(dir.path().join(".dockerignore")).unwrap();
    assert!(written.contains(".env"), "{written}");
    assert!(!dir.path().join("svc/.dockerignore").exists());
}
