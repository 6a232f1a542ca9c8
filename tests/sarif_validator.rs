//! Real SARIF output through Microsoft's validator (`@microsoft/sarif-multitool`, rule kinds
//! `Sarif` and `Gh`, GitHub code scanning's own checks): no error, no warning.
//!
//! `.ci/run` installs the validator into `.cache/sarif` in the clone; `SARIF_MULTITOOL` may name
//! another binary. Missing: skipped with a reason, or a failure under CI.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn validator() -> Option<PathBuf> {
    let installed = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".cache/sarif/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool");
    let found = std::env::var_os("SARIF_MULTITOOL")
        .map(PathBuf::from)
        .or(Some(installed))
        .filter(|p| p.is_file());
    if found.is_none() {
        common::skip(
            "the SARIF validator is not installed in .cache/sarif (npm install --prefix \
             .cache/sarif @microsoft/sarif-multitool)",
        );
    }
    found
}

/// The error and warning results the validator reports on `log`.
fn problems(validator: &Path, log: &Path, dir: &Path) -> Vec<String> {
    let name = log.file_stem().unwrap().to_string_lossy();
    let report = dir.join(format!("{name}.validation.sarif"));
    let out = Command::new(validator)
        .args([
            "validate",
            "--rule-kind",
            "Sarif;Gh",
            "--level",
            "Error;Warning",
            "-o",
        ])
        .arg(&report)
        .arg(log)
        .output()
        .expect("the validator runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "validator failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let validation: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).expect("validation report")).unwrap();
    validation["runs"][0]["results"]
        .as_array()
        .map(|results| {
            results
                .iter()
                .filter(|r| matches!(r["level"].as_str(), Some("error" | "warning") | None))
                .map(|r| r.to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn sarif_output_passes_microsofts_validator_with_github_rules() {
    let Some(validator) = validator() else { return };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    // Findings with fixes, a UTF-16 column, parse errors; and the demo's context rules.
    let cases: [(&str, &Path, &[&str]); 2] = [
        (
            "formats",
            &root.join("fixtures/formats"),
            &["Dockerfile", "broken.Dockerfile"],
        ),
        ("demo", root, &["demo"]),
    ];
    for (name, cwd, paths) in cases {
        let log = dir.path().join(format!("{name}.sarif"));
        let out = Command::new(env!("CARGO_BIN_EXE_layerwise"))
            .args(["lint", "--format", "sarif", "-o"])
            .arg(&log)
            .args(paths)
            .current_dir(cwd)
            .output()
            .unwrap();
        assert!(matches!(out.status.code(), Some(1 | 2)), "{name}");
        let found = problems(&validator, &log, dir.path());
        assert!(found.is_empty(), "{name}: {found:#?}");
    }
    // The check can fail: a line 0 breaks the schema.
    let mut log: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("formats.sarif")).unwrap()).unwrap();
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        0.into();
    let broken = dir.path().join("broken.sarif");
    std::fs::write(&broken, log.to_string()).unwrap();
    assert!(!problems(&validator, &broken, dir.path()).is_empty());
}
